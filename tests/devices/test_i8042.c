/*
 * Unit tests for devices/i8042.c, driven through the port-I/O bus the way
 * Linux's i8042 driver and reboot code drive the controller.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "i8042.h"
#include "layout.h"

#define DATA LAYOUT_PORT_I8042_DATA
#define CMD  LAYOUT_PORT_I8042_CMD

static struct bus pio;
static struct i8042 *kbc;
static unsigned int resets;
static int levels[64];
static unsigned int nlevels;

static void on_reset(void *opaque)
{
    cr_assert_eq(opaque, &pio);
    resets++;
}

static int fake_set_level(void *opaque, unsigned int gsi, int level)
{
    cr_assert_eq(gsi, 1);
    if (nlevels < 64)
        levels[nlevels++] = level;
    return 0;
}

static struct irq_chip chip = {.set_level = fake_set_level};
static struct irq_line kbd_line = {.chip = &chip, .gsi = 1};

static void setup(void)
{
    struct i8042_config cfg = {.on_reset = on_reset, .opaque = &pio, .kbd_irq = &kbd_line};

    resets = 0;
    nlevels = 0;
    bus_init(&pio, "pio");
    kbc = i8042_create(&cfg);
    cr_assert_not_null(kbc);
    cr_assert_eq(i8042_attach(kbc, &pio), 0);
}

static void teardown(void)
{
    i8042_destroy(kbc);
}

static uint8_t in(uint16_t port)
{
    uint8_t v = 0;

    cr_assert(bus_read(&pio, port, &v, 1));
    return v;
}

static void out(uint16_t port, uint8_t v)
{
    cr_assert(bus_write(&pio, port, &v, 1));
}

/* Linux's __i8042_command for a command returning one byte. */
static uint8_t command(uint8_t cmd)
{
    out(CMD, cmd);
    cr_assert(in(CMD)&0x01, "answer ready at once (OBF)");
    return in(DATA);
}

TestSuite(i8042, .init = setup, .fini = teardown);

Test(i8042, status_is_sane_and_never_busy)
{
    uint8_t st = in(CMD);

    cr_assert_neq(st, 0xff, "0xff would read as 'no controller'");
    cr_assert_eq(st & 0x03, 0, "nothing to read, never busy (IBF)");
    cr_assert(st & 0x04, "system flag");
    cr_assert_not(bus_read(&pio, 0x61, &st, 1), "0x61 belongs to KVM's PIT speaker");
}

Test(i8042, linux_controller_init)
{
    uint8_t ctr;

    cr_assert_eq(command(0xaa), 0x55, "self-test passes");
    ctr = command(0x20);
    cr_assert_eq(ctr, command(0x20), "stable CTR");
    ctr = (uint8_t)((ctr | 0x10) & ~0x01); /* Linux: disable kbd interface and interrupt */
    out(CMD, 0x60);
    out(DATA, ctr);
    cr_assert_eq(in(CMD)&0x08, 0, "last write was data");
    cr_assert_eq(command(0x20), ctr);
    cr_assert_eq(in(CMD)&0x01, 0, "flush finds nothing left");
    cr_assert_eq(command(0xab), 0x00, "keyboard port test");
}

Test(i8042, aux_port_reported_absent_without_timeout)
{
    /* Linux's AUX loop test: the byte must come back without AUXDATA (0x20). */
    out(CMD, 0xd3);
    out(DATA, 0x5a);
    cr_assert_eq(in(CMD)&0x21, 0x01);
    /* ... then the AUX port test answers "clock stuck low": Linux gives up on AUX. */
    cr_assert_eq(command(0xa9), 0x01, "answer replaces the stale byte");
    out(CMD, 0xa7);
    cr_assert(command(0x20) & 0x20, "AUX disabled bit");
    out(CMD, 0xa8);
    cr_assert_not(command(0x20) & 0x20);
}

Test(i8042, keyboard_bytes_get_a_timeout_answer_on_irq1)
{
    uint8_t st;

    out(DATA, 0xf2); /* GET ID to an absent keyboard */
    st = in(CMD);
    cr_assert_eq(st & 0x41, 0x41, "OBF | TIMEOUT");
    cr_assert_eq(nlevels, 1);
    cr_assert_eq(levels[0], 1, "IRQ 1 raised (CTR.KBDINT set at reset)");
    cr_assert_eq(in(DATA), 0xfe);
    cr_assert_eq(levels[nlevels - 1], 0, "reading the byte lowers IRQ 1");
    cr_assert_eq(in(CMD)&0x41, 0);
}

Test(i8042, disabled_keyboard_interrupt_keeps_irq1_low)
{
    out(CMD, 0x60);
    out(DATA, 0x44); /* KBDINT off */
    out(CMD, 0xd2);
    out(DATA, 0x1c);
    cr_assert_eq(nlevels, 0);
    cr_assert_eq(in(DATA), 0x1c, "0xd2 echoes as keyboard data");
}

Test(i8042, reset_command_fires_once)
{
    cr_assert_not(i8042_reset_requested(kbc));
    for (int i = 0; i < 10; i++) { /* Linux's BOOT_KBD loop writes 0xfe ten times */
        cr_assert_eq(in(CMD)&0x02, 0, "kb_wait: input buffer empty");
        out(CMD, 0xfe);
    }
    cr_assert(i8042_reset_requested(kbc));
    cr_assert_eq(resets, 1);
}

Test(i8042, pulse_without_reset_bit_is_harmless)
{
    out(CMD, 0xff);
    out(CMD, 0xfd);
    cr_assert_eq(resets, 0);
    out(CMD, 0xf0);
    cr_assert_eq(resets, 1);
}

Test(i8042, output_port_write_can_reset)
{
    uint8_t op = command(0xd0);

    cr_assert_eq(op & 0x03, 0x03, "reset line high, A20 on");
    out(CMD, 0xd1);
    out(DATA, 0x03);
    cr_assert_eq(resets, 0);
    out(CMD, 0xd1);
    out(DATA, 0x02);
    cr_assert_eq(resets, 1);
}

Test(i8042, full_output_queue_drops_bytes)
{
    for (int i = 0; i < 20; i++) {
        out(CMD, 0xd2);
        out(DATA, (uint8_t)i);
    }
    for (int i = 0; i < 8; i++)
        cr_assert_eq(in(DATA), i);
    cr_assert_eq(in(CMD)&0x01, 0);
    cr_assert_eq(in(DATA), 7, "empty buffer reads the last byte again");
}

Test(i8042_config, works_without_callbacks)
{
    struct i8042_config cfg;
    struct i8042 *k;
    struct bus b;
    uint8_t v = 0xfe;

    memset(&cfg, 0, sizeof(cfg));
    k = i8042_create(&cfg);
    cr_assert_not_null(k);
    bus_init(&b, "pio");
    cr_assert_eq(i8042_attach(k, &b), 0);
    cr_assert_eq(i8042_attach(k, &b), -EEXIST);
    v = 0xf2;
    cr_assert(bus_write(&b, DATA, &v, 1));
    v = 0xfe;
    cr_assert(bus_write(&b, CMD, &v, 1));
    cr_assert(i8042_reset_requested(k));
    i8042_destroy(k);
    i8042_destroy(NULL);
}
