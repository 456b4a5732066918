/*
 * 8250/16550A UART (COM1 on a PC): the guest's console. Enough of the chip for
 * Linux's 8250 driver to autodetect a 16550A and run it on interrupts.
 * Thread-safe: vCPU threads (register accesses) and the event loop (input) may
 * call it at the same time; a mutex inside the device serialises them.
 */
#ifndef MINIVMM_SERIAL_H
#define MINIVMM_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "irq.h"
#include "log.h"

#define SERIAL_NR_PORTS  8 /* I/O ports the UART decodes from its base */
#define SERIAL_FIFO_SIZE 16

struct serial;

struct serial_config {
    /*
     * The UART's interrupt line (may be NULL: the guest then has to poll). Its level
     * is kept at "an interrupt is pending and MCR.OUT2 is set" and changes only when
     * that does, so an edge-triggered IOAPIC/PIC pin sees one rising edge per new cause.
     */
    struct irq_line *irq;
    /* Transmitted bytes are written here (blocking writes, EINTR retried); -1 discards. */
    int out_fd;
    /*
     * Optional tap on transmitted bytes (e.g. a log or a test), called after the out_fd
     * write from the vCPU thread, without the lock. Must not block.
     */
    void (*on_output)(void *opaque, const uint8_t *buf, size_t len);
    /*
     * Optional: called (without the lock held) when the guest has read the last byte of
     * the RX FIFO, so a caller holding back input can push more. Must not block.
     */
    void (*on_rx_drained)(void *opaque);
    void *opaque;
};

struct serial_stats {
    uint64_t tx_bytes;    /* bytes the guest transmitted */
    uint64_t tx_errors;   /* bytes out_fd did not take */
    uint64_t rx_bytes;    /* bytes accepted into the RX FIFO */
    uint64_t rx_overruns; /* bytes dropped because the RX FIFO was full */
    uint64_t interrupts;  /* rising edges of the interrupt line */
};

/* Returns NULL on allocation failure. The config is copied. */
struct serial *serial_create(const struct serial_config *cfg);
void serial_destroy(struct serial *s);

/* Registers the UART's 8 ports at base (LAYOUT_PORT_COM1) on the port-I/O bus. */
MUST_CHECK int serial_attach(struct serial *s, struct bus *pio, uint64_t base);

/* The register file, as the bus calls it (offset 0..7, any access width: byte-wise). */
void serial_read(void *opaque, uint64_t offset, void *data, unsigned int len);
void serial_write(void *opaque, uint64_t offset, const void *data, unsigned int len);

/*
 * Host input (the event loop): queues bytes in the RX FIFO and raises the interrupt.
 * Bytes that do not fit are dropped and flagged as an overrun (LSR.OE), as on the
 * chip. Returns how many bytes were queued. While the guest has the UART in loopback
 * mode host input is dropped without an overrun (the line is disconnected).
 */
size_t serial_push_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free RX FIFO slots: a caller that wants no loss pushes at most this many. */
size_t serial_rx_room(struct serial *s);

void serial_get_stats(struct serial *s, struct serial_stats *out);

/* The guest-programmed registers migration and snapshots carry over (the FIFO is not). */
struct serial_state {
    uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
    uint8_t thri_pending;
    uint8_t level;
    uint8_t reserved[7];
};
void serial_save(struct serial *s, struct serial_state *out);
void serial_load(struct serial *s, const struct serial_state *in);

#endif
