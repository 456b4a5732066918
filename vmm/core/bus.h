/*
 * Address-space dispatch for vCPU exits: one bus for port I/O, one for MMIO.
 * Devices register ranges before the vCPUs start; lookups afterwards take no
 * lock. A device serialises its own state (vCPU threads and the event loop may
 * call it concurrently). Accesses nobody claims read as all-ones and are
 * counted, never fatal.
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"

#define BUS_MAX_DEVICES 64

struct bus_device {
    const char *name;
    uint64_t base;
    uint64_t size;
    void *opaque;
    /* offset is relative to base; len is 1, 2, 4 or 8. */
    void (*read)(void *opaque, uint64_t offset, void *data, unsigned int len);
    void (*write)(void *opaque, uint64_t offset, const void *data, unsigned int len);
};

struct bus {
    const char *name; /* "pio" or "mmio", for logs */
    unsigned int ndevices;
    struct bus_device devices[BUS_MAX_DEVICES];
    uint64_t unclaimed; /* accesses to addresses no device owns */
};

void bus_init(struct bus *bus, const char *name);
/* -EEXIST on overlap, -ENOSPC when full, -EINVAL on an empty range. */
MUST_CHECK int bus_register(struct bus *bus, const struct bus_device *dev);
/* Returns false when no device claims addr (reads are then filled with 0xff). */
bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len);
bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len);

#endif
