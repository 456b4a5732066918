/*
 * What the firmware knows about its machine: RAM ranges, virtio-mmio windows
 * with their IOAPIC pins, the test-result device and the command line. From
 * the device tree when the VMM passes one (PVH module "dtb"), otherwise from
 * the PVH memory map and "virtio_mmio.device=" words (QEMU microvm).
 * Host-compilable: machine_from_dtb() is unit-tested on the host.
 */
#ifndef FW_MACHINE_H
#define FW_MACHINE_H

#include <stdbool.h>
#include <stdint.h>

#define MACHINE_MAX_MEM    8
#define MACHINE_MAX_VIRTIO 32

struct machine_range {
    uint64_t base, size;
};

struct machine_virtio {
    uint64_t base, size;
    uint32_t gsi;
};

struct machine {
    const char *cmdline; /* never NULL */
    unsigned int nmem;
    struct machine_range mem[MACHINE_MAX_MEM];
    unsigned int nvirtio;
    struct machine_virtio virtio[MACHINE_MAX_VIRTIO];
    struct machine_range testdev; /* size 0: none */
    unsigned int ncpus;
    bool from_dtb;
};

/* Fills m from a device tree blob of at most max bytes; -EINVAL if it is malformed. */
int machine_from_dtb(struct machine *m, const void *blob, uint64_t max);
/* Fills m from the PVH start info (device tree module if any, else memory map and cmdline). */
int machine_discover(struct machine *m, uint64_t start_info);

#endif
