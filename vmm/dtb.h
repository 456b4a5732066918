/*
 * The machine description for the test firmware: a flattened device tree
 * built with libfdt from plain data. The machine places the blob at
 * LAYOUT_DTB and passes it as the PVH module named "dtb" (boot/pvh.h);
 * `minivmm --dump-dtb PATH` writes the same blob for `dtc -I dtb -O dts`.
 *
 * Tree (addresses and sizes are 2 cells each, interrupts are <gsi 1>, 1 =
 * edge rising, on the IOAPIC node):
 *   /                 compatible "minivmm,machine", model "minivmm"
 *   /chosen           bootargs = the guest command line ("test=NAME k=v ...")
 *   /cpus/cpu@N       device_type "cpu", reg N (N = 0 .. ncpus-1)
 *   /memory@BASE      device_type "memory", reg <BASE SIZE> (one per range)
 *   /ioapic@fec00000  the interrupt parent of the devices below
 *   /virtio@BASE      compatible "virtio,mmio", reg, interrupts <gsi 1>
 *   /testdev@BASE     compatible "minivmm,testdev", reg (when present)
 */
#ifndef MINIVMM_DTB_H
#define MINIVMM_DTB_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define DTB_COMPAT_VIRTIO   "virtio,mmio"
#define DTB_COMPAT_TESTDEV  "minivmm,testdev"
#define DTB_IRQ_EDGE_RISING 1

struct dtb_range {
    uint64_t base;
    uint64_t size;
};

struct dtb_virtio {
    uint64_t base;
    uint64_t size;
    uint32_t gsi;
};

struct dtb_machine {
    const struct dtb_range *mem; /* guest RAM ranges, at least one */
    unsigned int nmem;
    const struct dtb_virtio *virtio; /* virtio-mmio windows, any number up to 32 */
    unsigned int nvirtio;
    struct dtb_range testdev; /* size 0: no test-result device */
    unsigned int ncpus;       /* 1..255 */
    const char *bootargs;     /* NULL: "" */
};

/*
 * Writes the blob into buf (size bytes, e.g. LAYOUT_DTB_MAX) and returns its
 * length, or -EINVAL for a description that makes no sense (no memory, no
 * CPU, a GSI past the IOAPIC, too many devices) or -ENOSPC if it does not fit.
 */
MUST_CHECK int dtb_build(const struct dtb_machine *m, void *buf, size_t size);

#endif
