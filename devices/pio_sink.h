/*
 * A port range that accepts and ignores everything, for ports a guest pokes
 * with nothing behind them on this machine (port 0x80, the POST/I/O-delay
 * port). Reads return 0xff like an empty ISA bus; accesses are counted.
 */
#ifndef MINIVMM_PIO_SINK_H
#define MINIVMM_PIO_SINK_H

#include <stdint.h>

#include "bus.h"
#include "log.h"

#define PIO_SINK_POST_PORT 0x80

struct pio_sink {
    uint64_t reads;
    uint64_t writes;
    uint8_t last; /* last byte written (a POST code, for debugging) */
};

/* Registers [base, base + size) on bus with sink as its state (owned by the caller). */
MUST_CHECK int pio_sink_attach(struct pio_sink *sink, struct bus *pio, const char *name,
                               uint64_t base, uint64_t size);

#endif
