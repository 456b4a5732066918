/*
 * i8042 keyboard controller at ports 0x60/0x64, with no keyboard or mouse
 * attached: enough for Linux's i8042 probe to finish at once and for its
 * reboot path (command 0xFE pulses the CPU reset line: the VM ends).
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include <stdbool.h>

#include "bus.h"
#include "irq.h"
#include "log.h"

struct i8042;

struct i8042_config {
    /*
     * The guest pulsed the reset line (0xFE, any 0xF0-0xFE pulse with bit 0 clear, or an
     * output-port write with bit 0 clear). Called once, from a vCPU thread, without the
     * device lock: the machine stops the VM ("guest requested reset"). May be NULL.
     */
    void (*on_reset)(void *opaque);
    void *opaque;
    /* IRQ 1 (keyboard data ready), optional: with it Linux's keyboard probe fails fast. */
    struct irq_line *kbd_irq;
};

/* Returns NULL on allocation failure. The config is copied. */
struct i8042 *i8042_create(const struct i8042_config *cfg);
void i8042_destroy(struct i8042 *k);

/* Registers the data port (LAYOUT_PORT_I8042_DATA) and command port (LAYOUT_PORT_I8042_CMD). */
MUST_CHECK int i8042_attach(struct i8042 *k, struct bus *pio);

bool i8042_reset_requested(struct i8042 *k);

#endif
