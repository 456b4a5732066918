/*
 * What a device sees of interrupts and notifications. Devices never touch KVM:
 * the machine gives each device an irq_line (to assert/deassert its GSI from
 * the VMM, e.g. the UART) and wires eventfds (ioeventfd kicks, irqfd calls)
 * through struct irq_chip, implemented by the KVM VM (or by a test fake).
 */
#ifndef MINIVMM_IRQ_H
#define MINIVMM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct irq_chip {
    void *opaque;
    /* Sets the level of a GSI (level 1 = asserted). */
    int (*set_level)(void *opaque, unsigned int gsi, int level);
    /* Routes writes to an eventfd into an interrupt on gsi (KVM irqfd); assign=false undoes. */
    int (*irqfd)(void *opaque, int efd, unsigned int gsi, bool assign);
    /*
     * Makes a guest write of `len` bytes of `datamatch` to MMIO `addr` signal efd without
     * an exit to the VMM (KVM ioeventfd); assign=false undoes.
     */
    int (*ioeventfd)(void *opaque, int efd, uint64_t addr, unsigned int len, uint64_t datamatch,
                     bool assign);
};

struct irq_line {
    struct irq_chip *chip;
    unsigned int gsi;
    uint64_t raised; /* times the VMM injected this line (device counters) */
};

/* Edge-style pulse (ISA edge semantics: assert then deassert). */
int irq_line_pulse(struct irq_line *line);
int irq_line_set(struct irq_line *line, int level);

#endif
