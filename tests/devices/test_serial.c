/*
 * Unit tests for devices/serial.c: the 16550A register file as Linux's 8250
 * driver uses it, and the interrupt line as an edge-triggered pin sees it
 * (a recording irq_chip stands in for KVM).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "serial.h"

/* Records every level the UART drives on its line. */
struct fake_chip {
    int levels[256];
    unsigned int n;
};

static int fake_set_level(void *opaque, unsigned int gsi, int level)
{
    struct fake_chip *fc = opaque;

    cr_assert_eq(gsi, LAYOUT_IRQ_SERIAL);
    if (fc->n < 256)
        fc->levels[fc->n++] = level;
    return 0;
}

static struct fake_chip chip;
static struct irq_chip irqchip = {.opaque = &chip, .set_level = fake_set_level};
static struct irq_line line = {.chip = &irqchip, .gsi = LAYOUT_IRQ_SERIAL};
static int out_pipe[2];
static unsigned int drained_calls;
static struct serial *s;

static void on_drained(void *opaque)
{
    drained_calls++;
}

static void setup(void)
{
    struct serial_config cfg = {.irq = &line, .on_rx_drained = on_drained};

    memset(&chip, 0, sizeof(chip));
    line.raised = 0;
    drained_calls = 0;
    cr_assert_eq(pipe2(out_pipe, O_NONBLOCK), 0);
    cfg.out_fd = out_pipe[1];
    s = serial_create(&cfg);
    cr_assert_not_null(s);
}

static void teardown(void)
{
    serial_destroy(s);
    close(out_pipe[0]);
    close(out_pipe[1]);
}

static uint8_t rd(unsigned int reg)
{
    uint8_t v = 0;

    serial_read(s, reg, &v, 1);
    return v;
}

static void wr(unsigned int reg, uint8_t v)
{
    serial_write(s, reg, &v, 1);
}

static int level(void)
{
    return chip.n ? chip.levels[chip.n - 1] : 0;
}

static size_t drain_output(char *buf, size_t len)
{
    ssize_t n = read(out_pipe[0], buf, len);

    return n < 0 ? 0 : (size_t)n;
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, reset_state)
{
    cr_assert_eq(rd(1), 0x00, "IER");
    cr_assert_eq(rd(2), 0x01, "IIR: no interrupt, FIFOs off");
    cr_assert_eq(rd(5), 0x60, "LSR: THRE and TEMT");
    cr_assert_eq(rd(6), 0xb0, "MSR: CTS, DSR, DCD");
    cr_assert_eq(chip.n, 0, "no line activity");
}

Test(serial, dlab_switches_offsets_0_and_1_to_the_divisor)
{
    char buf[8];

    wr(1, 0x05);
    wr(3, 0x83); /* DLAB + 8 bits */
    wr(0, 0x01);
    wr(1, 0x02);
    cr_assert_eq(rd(0), 0x01);
    cr_assert_eq(rd(1), 0x02);
    cr_assert_eq(drain_output(buf, sizeof(buf)), 0, "DLL write is not a transmit");
    wr(3, 0x03);
    cr_assert_eq(rd(1), 0x05, "IER untouched by DLM");
    wr(0, 'x');
    cr_assert_eq(drain_output(buf, sizeof(buf)), 1);
    cr_assert_eq(buf[0], 'x');
}

Test(serial, transmit_goes_to_out_fd_and_is_counted)
{
    struct serial_stats st;
    char buf[16];

    for (const char *p = "hello"; *p; p++)
        wr(0, (uint8_t)*p);
    cr_assert_eq(drain_output(buf, sizeof(buf)), 5);
    cr_assert_arr_eq(buf, "hello", 5);
    serial_get_stats(s, &st);
    cr_assert_eq(st.tx_bytes, 5);
    cr_assert_eq(st.tx_errors, 0);
    cr_assert_eq(rd(5) & 0x60, 0x60, "THR empty again at once");
}

Test(serial, scratch_register)
{
    wr(7, 0xa5);
    cr_assert_eq(rd(7), 0xa5);
}

Test(serial, ier_keeps_only_the_four_interrupt_bits)
{
    /* Linux's autoconfig: IER 0 reads 0, IER 0x0f reads 0x0f, UUE (bit 6) never sticks. */
    wr(1, 0x00);
    cr_assert_eq(rd(1) & 0x0f, 0x00);
    wr(1, 0xff);
    cr_assert_eq(rd(1), 0x0f);
    wr(1, 0x00);
}

Test(serial, fifo_bits_identify_a_16550a)
{
    wr(2, 0x01);
    cr_assert_eq(rd(2) >> 6, 3, "16550A: IIR FIFO bits");
    wr(2, 0x21); /* 64-byte FIFO bit: a 16750 would report it in IIR bit 5 */
    cr_assert_eq(rd(2) >> 5, 6);
    wr(2, 0x00);
    cr_assert_eq(rd(2), 0x01);
}

Test(serial, loopback_reflects_mcr_in_msr_and_feeds_rx)
{
    char buf[4];

    wr(4, 0x10 | 0x0a); /* LOOP + RTS + OUT2: Linux expects MSR & 0xf0 == 0x90 */
    cr_assert_eq(rd(6) & 0xf0, 0x90);
    wr(4, 0x10 | 0x05); /* LOOP + DTR + OUT1 */
    cr_assert_eq(rd(6) & 0xf0, 0x60);
    wr(0, 'z');
    cr_assert_eq(drain_output(buf, sizeof(buf)), 0, "loopback output stays inside");
    cr_assert_eq(rd(5) & 0x01, 0x01, "DR");
    cr_assert_eq(rd(0), 'z');
    cr_assert_eq(rd(5) & 0x01, 0x00);
    cr_assert_eq(serial_push_input(s, (const uint8_t *)"a", 1), 0, "line disconnected");
    wr(4, 0x00);
    cr_assert_eq(rd(6) & 0xf0, 0xb0);
}

Test(serial, loopback_mcr_changes_set_msr_deltas)
{
    wr(4, 0x10); /* entering loopback with all outputs off drops CTS, DSR, DCD */
    cr_assert_eq(rd(6), 0x0b, "DCTS | DDSR | DDCD");
    cr_assert_eq(rd(6), 0x00, "reading MSR clears the deltas");
    wr(4, 0x14); /* OUT1 -> RI up: no delta (TERI is the trailing edge) */
    cr_assert_eq(rd(6), 0x40);
    wr(4, 0x10);
    cr_assert_eq(rd(6), 0x04, "TERI");
}

Test(serial, rx_fifo_overrun_sets_oe)
{
    uint8_t in[20];
    struct serial_stats st;

    memset(in, 'q', sizeof(in));
    wr(2, 0x07); /* enable + clear */
    cr_assert_eq(serial_rx_room(s), 16);
    cr_assert_eq(serial_push_input(s, in, sizeof(in)), 16);
    cr_assert_eq(serial_rx_room(s), 0);
    cr_assert_eq(rd(5), 0x63, "DR | OE | THRE | TEMT");
    cr_assert_eq(rd(5), 0x61, "OE clears on read");
    serial_get_stats(s, &st);
    cr_assert_eq(st.rx_bytes, 16);
    cr_assert_eq(st.rx_overruns, 4);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(rd(0), 'q');
    cr_assert_eq(rd(5) & 0x01, 0);
    cr_assert_eq(drained_calls, 1, "drained once, on the last byte");
}

Test(serial, fifo_disabled_holds_one_byte)
{
    cr_assert_eq(serial_push_input(s, (const uint8_t *)"ab", 2), 1);
    cr_assert_eq(rd(5) & 0x03, 0x03);
    cr_assert_eq(rd(0), 'a');
    cr_assert_eq(rd(0), 'a', "RBR keeps the last byte");
}

Test(serial, fcr_clear_rx_and_mode_switch_empty_the_fifo)
{
    wr(2, 0x01);
    cr_assert_eq(serial_push_input(s, (const uint8_t *)"abc", 3), 3);
    wr(2, 0x03);
    cr_assert_eq(rd(5) & 0x01, 0);
    cr_assert_eq(serial_push_input(s, (const uint8_t *)"abc", 3), 3);
    wr(2, 0x00);
    cr_assert_eq(rd(5) & 0x01, 0);
}

Test(serial, rx_trigger_level_and_character_timeout)
{
    wr(2, 0x81); /* FIFO on, trigger at 8 */
    wr(1, 0x01);
    serial_push_input(s, (const uint8_t *)"abc", 3);
    cr_assert_eq(rd(2), 0xcc, "below the trigger: character timeout");
    serial_push_input(s, (const uint8_t *)"defgh", 5);
    cr_assert_eq(rd(2), 0xc4, "at the trigger: data available");
}

Test(serial, iir_priorities)
{
    uint8_t in[17];

    memset(in, 'x', sizeof(in));
    wr(2, 0x01);
    wr(4, 0x10); /* loopback: make modem deltas */
    wr(4, 0x00);
    wr(1, 0x0f);                          /* all four causes enabled, THRI now pending */
    serial_push_input(s, in, sizeof(in)); /* full + overrun */
    cr_assert_eq(rd(2), 0xc6, "line status first");
    cr_assert_eq(rd(2), 0xc6, "IIR read does not clear line status");
    (void)rd(5);
    cr_assert_eq(rd(2), 0xc4, "then received data");
    for (int i = 0; i < 16; i++)
        (void)rd(0);
    cr_assert_eq(rd(2), 0xc2, "then THR empty");
    cr_assert_eq(rd(2), 0xc0, "IIR read cleared THRE; then modem status");
    (void)rd(6);
    cr_assert_eq(rd(2), 0xc1, "nothing pending");
}

Test(serial, thri_semantics_linux_relies_on)
{
    wr(1, 0x02);
    cr_assert_eq(rd(2), 0x02, "THRI enabled with THR empty: pending");
    cr_assert_eq(rd(2), 0x01, "the IIR read that reported it cleared it");
    /* Linux's THRE test: re-enabling THRI must re-assert it. */
    wr(1, 0x00);
    wr(1, 0x02);
    cr_assert_eq(rd(2), 0x02);
    /* Writing THR clears it; the instant transmit raises it again. */
    wr(0, 'a');
    cr_assert_eq(rd(2), 0x02);
    /* An IIR read reporting a higher cause leaves THRE pending. */
    wr(0, 'b');
    wr(1, 0x03);
    serial_push_input(s, (const uint8_t *)"r", 1);
    cr_assert_eq(rd(2), 0x04);
    (void)rd(0);
    cr_assert_eq(rd(2), 0x02);
    /* Disabled THRI is never reported. */
    wr(1, 0x00);
    cr_assert_eq(rd(2), 0x01);
}

Test(serial, irq_line_gated_by_out2)
{
    wr(1, 0x02);
    cr_assert_eq(chip.n, 0, "OUT2 clear: the line stays low");
    wr(4, 0x08);
    cr_assert_eq(chip.n, 1);
    cr_assert_eq(level(), 1, "OUT2 set with THRE pending");
    wr(4, 0x00);
    cr_assert_eq(level(), 0);
    wr(4, 0x18);
    cr_assert_eq(level(), 0, "loopback keeps the interrupt inside the chip");
}

Test(serial, irq_line_follows_causes)
{
    struct serial_stats st;

    wr(4, 0x0b); /* DTR RTS OUT2, as Linux sets them */
    wr(1, 0x02);
    cr_assert_eq(level(), 1);
    /* A THR write while THRE is pending is a fall and a rise: a new edge. */
    chip.n = 0;
    wr(0, 'a');
    cr_assert_eq(chip.n, 2);
    cr_assert_eq(chip.levels[0], 0);
    cr_assert_eq(chip.levels[1], 1);
    (void)rd(2);
    cr_assert_eq(level(), 0, "acknowledged by IIR read");
    wr(1, 0x01); /* THRI off, RDI on */
    wr(2, 0x01);
    cr_assert_eq(level(), 0);
    serial_push_input(s, (const uint8_t *)"xy", 2);
    cr_assert_eq(level(), 1, "input raises the line");
    (void)rd(0);
    cr_assert_eq(level(), 1, "still data");
    (void)rd(0);
    cr_assert_eq(level(), 0, "FIFO empty");
    serial_get_stats(s, &st);
    cr_assert_eq(st.interrupts, 3);
    cr_assert_eq(line.raised, st.interrupts, "every rise went to the chip");
}

Test(serial, no_redundant_level_changes)
{
    wr(4, 0x08);
    wr(1, 0x01);
    serial_push_input(s, (const uint8_t *)"a", 1);
    serial_push_input(s, (const uint8_t *)"b", 1);
    (void)rd(5);
    (void)rd(6);
    cr_assert_eq(chip.n, 1, "one rise, no repeats while the level holds");
}

Test(serial, rls_interrupt_on_overrun)
{
    uint8_t in[2] = {1, 2};

    wr(4, 0x08);
    wr(1, 0x04);                 /* RLSI only */
    serial_push_input(s, in, 2); /* FIFO off: second byte overruns */
    cr_assert_eq(level(), 1);
    cr_assert_eq(rd(2), 0x06);
    (void)rd(5);
    cr_assert_eq(level(), 0, "LSR read clears the line status interrupt");
}

Test(serial, on_the_pio_bus)
{
    struct bus pio;
    uint8_t v = 0x80;
    uint16_t w = 0;
    char buf[4];

    bus_init(&pio, "pio");
    cr_assert_eq(serial_attach(s, &pio, LAYOUT_PORT_COM1), 0);
    cr_assert(bus_write(&pio, LAYOUT_PORT_COM1 + 3, &v, 1));
    w = 0x0201;
    cr_assert(bus_write(&pio, LAYOUT_PORT_COM1, &w, 2), "word write: DLL then DLM");
    w = 0;
    cr_assert(bus_read(&pio, LAYOUT_PORT_COM1, &w, 2));
    cr_assert_eq(w, 0x0201);
    v = 0x03;
    cr_assert(bus_write(&pio, LAYOUT_PORT_COM1 + 3, &v, 1));
    v = '!';
    cr_assert(bus_write(&pio, LAYOUT_PORT_COM1, &v, 1));
    cr_assert_eq(drain_output(buf, sizeof(buf)), 1);
    cr_assert_eq(buf[0], '!');
    cr_assert_not(bus_read(&pio, LAYOUT_PORT_COM1 + 8, &v, 1), "8 ports only");
}

static char tapped[8];
static size_t ntapped;

static void tap(void *opaque, const uint8_t *buf, size_t len)
{
    memcpy(tapped + ntapped, buf, len);
    ntapped += len;
}

Test(serial_config, output_tap_and_no_fd)
{
    struct serial_config cfg = {.out_fd = -1, .on_output = tap};
    struct serial *u = serial_create(&cfg);
    struct serial_stats st;
    uint8_t v = 'k';

    cr_assert_not_null(u);
    serial_write(u, 0, &v, 1);
    cr_assert_eq(ntapped, 1);
    cr_assert_eq(tapped[0], 'k');
    serial_get_stats(u, &st);
    cr_assert_eq(st.tx_bytes, 1);
    cr_assert_eq(st.tx_errors, 0);
    serial_destroy(u);
    serial_destroy(NULL);
}

Test(serial_config, write_errors_are_counted)
{
    int fd = open("/dev/null", O_RDONLY); /* writes fail with EBADF */
    struct serial_config cfg = {.out_fd = fd};
    struct serial *u = serial_create(&cfg);
    struct serial_stats st;
    uint8_t v = 'e';

    cr_assert_geq(fd, 0);
    serial_write(u, 0, &v, 1);
    serial_get_stats(u, &st);
    cr_assert_eq(st.tx_errors, 1);
    serial_destroy(u);
    close(fd);
}
