/*
 * 8250/16550A UART model. Transmission is instantaneous (THR is always empty
 * again by the time the guest looks), reception goes through a 16-byte FIFO.
 * Register and interrupt rules follow the PC16550D data sheet.
 */
#include "serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Register offsets. With LCR.DLAB set, offsets 0 and 1 are the divisor latch. */
enum {
    REG_RBR_THR = 0,
    REG_IER = 1,
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDI  0x01 /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI  0x08 /* modem status */
#define IER_MASK 0x0f /* the upper nibble reads as zero on a 16550A */

#define IIR_NONE  0x01 /* "no interrupt pending" */
#define IIR_MSR   0x00
#define IIR_THRE  0x02
#define IIR_RDA   0x04
#define IIR_RLS   0x06
#define IIR_CTI   0x0c /* character timeout: data below the trigger level */
#define IIR_FIFOS 0xc0 /* both bits set when the FIFOs are enabled (16550A) */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER  0xc0

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

struct serial {
    pthread_mutex_t lock;
    struct serial_config cfg;
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    uint8_t fcr;        /* FCR_ENABLE and FCR_TRIGGER as last programmed */
    uint8_t lsr_errors; /* LSR_OE, sticky until LSR is read */
    uint8_t msr_delta;  /* MSR delta bits, cleared when MSR is read */
    bool thri_pending;  /* THR-empty event not yet acknowledged */
    bool level;         /* what the interrupt line was last set to */
    bool irq_failed;    /* set_level failed once: logged, not repeated */
    uint8_t rx[SERIAL_FIFO_SIZE];
    unsigned int rx_head, rx_count;
    uint8_t rx_last;           /* RBR keeps the last byte once the FIFO is empty */
    struct serial_stats stats; /* under the lock, except tx_errors: */
    uint64_t tx_errors;        /* atomic, counted outside the lock */
};

/* Modem status inputs; loopback wires them to MCR: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
static uint8_t serial_modem_inputs(const struct serial *s)
{
    uint8_t m = 0;

    if (!(s->mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD; /* a connected, ready terminal */
    if (s->mcr & MCR_RTS)
        m |= MSR_CTS;
    if (s->mcr & MCR_DTR)
        m |= MSR_DSR;
    if (s->mcr & MCR_OUT1)
        m |= MSR_RI;
    if (s->mcr & MCR_OUT2)
        m |= MSR_DCD;
    return m;
}

static unsigned int serial_fifo_capacity(const struct serial *s)
{
    return (s->fcr & FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1; /* 16450 mode: one holding register */
}

static unsigned int serial_rx_trigger(const struct serial *s)
{
    static const unsigned int levels[4] = {1, 4, 8, 14};

    return (s->fcr & FCR_ENABLE) ? levels[s->fcr >> 6] : 1;
}

/* The highest-priority pending cause: line status > received data > THR empty > modem status. */
static uint8_t serial_iir_cause(const struct serial *s)
{
    if ((s->ier & IER_RLSI) && (s->lsr_errors & LSR_OE))
        return IIR_RLS;
    if ((s->ier & IER_RDI) && s->rx_count > 0)
        return s->rx_count >= serial_rx_trigger(s) ? IIR_RDA : IIR_CTI;
    if ((s->ier & IER_THRI) && s->thri_pending)
        return IIR_THRE;
    if ((s->ier & IER_MSI) && (s->msr_delta & MSR_DELTA))
        return IIR_MSR;
    return IIR_NONE;
}

/*
 * On a PC the UART's INTR pin reaches the PIC only through a buffer enabled by OUT2,
 * and loopback forces the OUT pins inactive, so no interrupt leaves the chip then.
 * Called after every state change, under the lock, so the line's level history
 * is the device's: a new cause after the guest cleared the last one is a new edge.
 */
static void serial_update_irq(struct serial *s)
{
    bool level = (s->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2 && serial_iir_cause(s) != IIR_NONE;
    int ret;

    if (level == s->level)
        return;
    s->level = level;
    if (level)
        s->stats.interrupts++;
    if (!s->cfg.irq)
        return;
    ret = irq_line_set(s->cfg.irq, level);
    if (ret < 0 && !s->irq_failed) {
        s->irq_failed = true;
        log_warn("serial: setting irq %u to %d: %s", s->cfg.irq->gsi, level, strerror(-ret));
    }
}

/* Queues one received byte; a full FIFO drops it and flags an overrun. */
static bool serial_rx_put(struct serial *s, uint8_t byte)
{
    if (s->rx_count >= serial_fifo_capacity(s)) {
        s->lsr_errors |= LSR_OE;
        s->stats.rx_overruns++;
        return false;
    }
    s->rx[(s->rx_head + s->rx_count) % SERIAL_FIFO_SIZE] = byte;
    s->rx_count++;
    s->stats.rx_bytes++;
    return true;
}

/* Returns true when this read emptied the FIFO. */
static bool serial_rx_get(struct serial *s, uint8_t *byte)
{
    if (s->rx_count == 0) {
        *byte = s->rx_last;
        return false;
    }
    *byte = s->rx_last = s->rx[s->rx_head];
    s->rx_head = (s->rx_head + 1) % SERIAL_FIFO_SIZE;
    s->rx_count--;
    return s->rx_count == 0;
}

static void serial_rx_clear(struct serial *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
}

static uint8_t serial_read_reg(struct serial *s, unsigned int reg, bool *drained)
{
    uint8_t v;

    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            return s->dll;
        *drained |= serial_rx_get(s, &v);
        return v;
    case REG_IER:
        return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
    case REG_IIR_FCR:
        v = serial_iir_cause(s);
        /* Reading IIR acknowledges a THR-empty interrupt only when it is the one reported. */
        if (v == IIR_THRE)
            s->thri_pending = false;
        return v | ((s->fcr & FCR_ENABLE) ? IIR_FIFOS : 0);
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        v = LSR_THRE | LSR_TEMT | s->lsr_errors | (s->rx_count > 0 ? LSR_DR : 0);
        s->lsr_errors = 0;
        return v;
    case REG_MSR:
        v = serial_modem_inputs(s) | s->msr_delta;
        s->msr_delta = 0;
        return v;
    default:
        return s->scr;
    }
}

static void serial_write_mcr(struct serial *s, uint8_t val)
{
    uint8_t before = serial_modem_inputs(s);
    uint8_t after, changed;

    s->mcr = val & MCR_MASK;
    after = serial_modem_inputs(s);
    changed = before ^ after;
    if (changed & MSR_CTS)
        s->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        s->msr_delta |= MSR_DDSR;
    if (changed & MSR_DCD)
        s->msr_delta |= MSR_DDCD;
    if ((before & MSR_RI) && !(after & MSR_RI)) /* TERI: trailing edge of RI only */
        s->msr_delta |= MSR_TERI;
}

static void serial_write_fcr(struct serial *s, uint8_t val)
{
    /* FCR bits other than ENABLE are only programmed together with ENABLE set. */
    uint8_t fcr = (val & FCR_ENABLE) ? (val & (FCR_ENABLE | FCR_TRIGGER)) : 0;

    if ((fcr ^ s->fcr) & FCR_ENABLE)
        serial_rx_clear(s); /* switching FIFO mode resets the FIFOs */
    else if (val & FCR_ENABLE && val & FCR_CLEAR_RX)
        serial_rx_clear(s);
    s->fcr = fcr;
}

/* THR: the byte is "sent" at once; returns true when it is for the host. */
static bool serial_write_thr(struct serial *s, uint8_t val)
{
    bool to_host = true;

    s->thri_pending = false;
    serial_update_irq(s);
    if (s->mcr & MCR_LOOP) {
        (void)serial_rx_put(s, val); /* loopback: transmitter feeds the receiver */
        to_host = false;
    } else {
        s->stats.tx_bytes++;
    }
    s->thri_pending = true; /* THR and shift register are empty again */
    return to_host;
}

static void serial_write_reg(struct serial *s, unsigned int reg, uint8_t val, uint8_t *out,
                             size_t *nout)
{
    uint8_t old;

    switch (reg) {
    case REG_RBR_THR:
        if (s->lcr & LCR_DLAB)
            s->dll = val;
        else if (serial_write_thr(s, val))
            out[(*nout)++] = val;
        break;
    case REG_IER:
        if (s->lcr & LCR_DLAB) {
            s->dlm = val;
            break;
        }
        old = s->ier;
        s->ier = val & IER_MASK;
        /* Enabling THRI while THR is empty raises it again (Linux's THRE test relies on it). */
        if (!(old & IER_THRI) && (s->ier & IER_THRI))
            s->thri_pending = true;
        break;
    case REG_IIR_FCR:
        serial_write_fcr(s, val);
        break;
    case REG_LCR:
        s->lcr = val;
        break;
    case REG_MCR:
        serial_write_mcr(s, val);
        break;
    case REG_SCR:
        s->scr = val;
        break;
    default: /* LSR and MSR writes are factory-test only: ignored */
        break;
    }
}

/* Delivers transmitted bytes outside the lock: a slow terminal must not stall input. */
static void serial_deliver(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t done = 0;

    if (len == 0)
        return;
    while (s->cfg.out_fd >= 0 && done < len) {
        ssize_t n = write(s->cfg.out_fd, buf + done, len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            __atomic_add_fetch(&s->tx_errors, len - done, __ATOMIC_RELAXED);
            break;
        }
        done += (size_t)n;
    }
    if (s->cfg.on_output)
        s->cfg.on_output(s->cfg.opaque, buf, len);
}

void serial_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct serial *s = opaque;
    uint8_t *bytes = data;
    bool drained = false;

    pthread_mutex_lock(&s->lock);
    for (unsigned int i = 0; i < len; i++) {
        bytes[i] = offset + i < SERIAL_NR_PORTS
                       ? serial_read_reg(s, (unsigned int)(offset + i), &drained)
                       : 0xff;
    }
    serial_update_irq(s);
    pthread_mutex_unlock(&s->lock);
    if (drained && s->cfg.on_rx_drained)
        s->cfg.on_rx_drained(s->cfg.opaque);
}

void serial_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct serial *s = opaque;
    const uint8_t *bytes = data;
    uint8_t out[8];
    size_t nout = 0;

    pthread_mutex_lock(&s->lock);
    for (unsigned int i = 0; i < len && i < sizeof(out); i++) {
        if (offset + i < SERIAL_NR_PORTS)
            serial_write_reg(s, (unsigned int)(offset + i), bytes[i], out, &nout);
        serial_update_irq(s);
    }
    pthread_mutex_unlock(&s->lock);
    serial_deliver(s, out, nout);
}

size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len)
{
    size_t queued = 0;

    pthread_mutex_lock(&s->lock);
    if (!(s->mcr & MCR_LOOP)) {
        for (size_t i = 0; i < len; i++)
            queued += serial_rx_put(s, buf[i]);
        serial_update_irq(s);
    }
    pthread_mutex_unlock(&s->lock);
    return queued;
}

size_t serial_rx_room(struct serial *s)
{
    size_t room;

    pthread_mutex_lock(&s->lock);
    room = serial_fifo_capacity(s) - s->rx_count;
    pthread_mutex_unlock(&s->lock);
    return room;
}

void serial_get_stats(struct serial *s, struct serial_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->tx_errors = __atomic_load_n(&s->tx_errors, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->lock);
}

void serial_save(struct serial *s, struct serial_state *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    *out = (struct serial_state){s->ier, s->lcr, s->mcr, s->scr, s->dll, s->dlm, s->fcr,
                                 s->thri_pending, s->level, {0}};
    pthread_mutex_unlock(&s->lock);
}

/* From a stream: every byte is a register value the guest could have written itself. */
void serial_load(struct serial *s, const struct serial_state *in)
{
    pthread_mutex_lock(&s->lock);
    s->ier = in->ier;
    s->lcr = in->lcr;
    s->mcr = in->mcr;
    s->scr = in->scr;
    s->dll = in->dll;
    s->dlm = in->dlm;
    s->fcr = in->fcr;
    s->thri_pending = in->thri_pending != 0;
    s->level = in->level != 0;
    pthread_mutex_unlock(&s->lock);
}

struct serial *serial_create(const struct serial_config *cfg)
{
    struct serial *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    s->cfg = *cfg;
    s->dll = 0x0c; /* 9600 baud until the guest programs it */
    s->thri_pending = false;
    return s;
}

void serial_destroy(struct serial *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int serial_attach(struct serial *s, struct bus *pio, uint64_t base)
{
    struct bus_device dev = {
        .name = "serial",
        .base = base,
        .size = SERIAL_NR_PORTS,
        .opaque = s,
        .read = serial_read,
        .write = serial_write,
    };

    return bus_register(pio, &dev);
}
