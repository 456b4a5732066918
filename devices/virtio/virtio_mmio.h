/*
 * virtio-mmio version 2 transport (virtio 1.2, 4.2.2): a register file for one
 * device in one 4 KiB MMIO window. It checks access widths, enforces the legal
 * status transitions, validates queues at QueueReady, wires kick/call eventfds
 * through the machine's irq_chip at DRIVER_OK and never talks to KVM itself.
 */
#ifndef MINIVMM_VIRTIO_MMIO_H
#define MINIVMM_VIRTIO_MMIO_H

#include <stdint.h>

#include "bus.h"
#include "gmem.h"
#include "irq.h"
#include "layout.h"
#include "log.h"
#include "virtio_dev.h"

/* One device per window; the machine spaces windows LAYOUT_VIRTIO_MMIO_SIZE apart. */
#define VIRTIO_MMIO_WINDOW     0x1000
#define VIRTIO_MMIO_MAX_QUEUES 64
/* Messages (guest mistakes, failing activations) logged per device; later ones only counted. */
#define VIRTIO_MMIO_LOG_LIMIT 16

_Static_assert(VIRTIO_MMIO_WINDOW == LAYOUT_VIRTIO_MMIO_SIZE, "one device per layout window");

struct virtio_mmio;

struct virtio_mmio_params {
    const char *name;        /* for logs, e.g. "virtio-mmio@0xd0000000 (blk)" */
    uint64_t base;           /* guest-physical window start (QueueNotify = base + 0x50) */
    unsigned int gsi;        /* the device's interrupt line */
    struct irq_chip *irq;    /* line level, ioeventfd and irqfd wiring */
    const struct gmem *gmem; /* guest RAM: every ring is checked against it */
    const struct virtio_dev_ops *dev_ops;
    void *dev;                   /* passed to every dev_ops callback */
    unsigned int num_queues;     /* 1..VIRTIO_MMIO_MAX_QUEUES */
    unsigned int queue_max_size; /* QueueNumMax, 1..32768 */
};

/* Counters for the exit report and the control socket (read without the lock). */
struct virtio_mmio_stats {
    uint64_t accesses;     /* register reads and writes that reached the VMM */
    uint64_t notifies;     /* QueueNotify writes that reached the VMM (kicks not absorbed) */
    uint64_t interrupts;   /* interrupts the VMM injected (config changes, signal_queue) */
    uint64_t guest_errors; /* refused guest accesses, logged or not */
    uint64_t activations;  /* successful DRIVER_OK */
};

/* Allocates the register file and one kick and one call eventfd per queue. NULL on error. */
struct virtio_mmio *virtio_mmio_create(const struct virtio_mmio_params *params);
/*
 * Unwires the eventfds (the irq_chip must still be alive) and frees. Does not call the
 * device: destroy the transport first, then the device. Accepts NULL.
 */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* Bus callbacks: offset relative to base, len 1, 2, 4 or 8. opaque is the virtio_mmio. */
void virtio_mmio_read(void *opaque, uint64_t offset, void *data, unsigned int len);
void virtio_mmio_write(void *opaque, uint64_t offset, const void *data, unsigned int len);
/* Fills a bus_device for bus_register() covering [base, base + 0x1000). */
void virtio_mmio_bus_device(struct virtio_mmio *t, struct bus_device *out);

/* The handle a device uses to signal (also given in struct virtio_activation). */
const struct virtio_transport *virtio_mmio_transport(struct virtio_mmio *t);

/*
 * The device changed its configuration space: ConfigGeneration moves on and, once
 * the driver is running, InterruptStatus gets the config bit and the line is pulsed.
 */
int virtio_mmio_config_changed(struct virtio_mmio *t);
/*
 * The device cannot go on (e.g. its back-end died): Status shows DEVICE_NEEDS_RESET
 * until the driver resets, and once DRIVER_OK is set a config interrupt follows (2.1.2).
 */
void virtio_mmio_device_failed(struct virtio_mmio *t, const char *reason);
/* Used-buffer notification for a queue the VMM itself serves. */
int virtio_mmio_signal_queue(struct virtio_mmio *t, unsigned int queue);

void virtio_mmio_get_stats(struct virtio_mmio *t, struct virtio_mmio_stats *out);

#endif
