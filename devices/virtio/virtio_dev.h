/*
 * The contract between a virtio device and its transport: two ops tables,
 * never merged. The device owns a const struct virtio_dev_ops; the transport
 * owns struct virtio_transport_ops (signalling). Neither writes into the other.
 */
#ifndef MINIVMM_VIRTIO_DEV_H
#define MINIVMM_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "log.h"

/*
 * One queue as the driver set it up, validated by the transport (size legal,
 * rings aligned and wholly inside guest RAM) before the device ever sees it.
 */
struct virtio_queue_config {
    bool ready;      /* false: the driver did not enable this queue; ignore the rest */
    uint16_t size;   /* QueueNum */
    uint64_t desc;   /* guest-physical: descriptor table (packed: descriptor ring) */
    uint64_t driver; /* guest-physical: available ring (packed: driver event suppression) */
    uint64_t device; /* guest-physical: used ring (packed: device event suppression) */
    /*
     * Eventfds owned by the transport, valid until the device is reset. kick_fd is
     * signalled by guest QueueNotify writes of this queue's index (an ioeventfd: no VMM
     * exit); a vhost-user device hands it to the back-end as-is. Writing call_fd interrupts
     * the guest (an irqfd on the device's GSI). Either is -1 if not wired.
     */
    int kick_fd;
    int call_fd;
    /*
     * The avail index the device starts from: 0 after a reset; for a VM that migrated or
     * was restored mid-run, where the source's device stopped (vhost-user: its
     * GET_VRING_BASE), so that SET_VRING_BASE carries on rather than restarting the ring.
     */
    uint32_t base;
};

struct virtio_transport;

/* What the device receives at DRIVER_OK. Everything it points to lives until reset. */
struct virtio_activation {
    uint64_t features;                        /* negotiated (driver-acked) features */
    unsigned int nqueues;                     /* entries in queues[] (the device's queue count) */
    const struct virtio_queue_config *queues; /* index = virtqueue index */
    const struct gmem *gmem;
    const struct virtio_transport *transport;
};

/*
 * The device's side. All callbacks are called with the transport's register lock held
 * (from a vCPU thread); they may call the virtio_transport_ops, which never take it.
 */
struct virtio_dev_ops {
    const char *type;   /* "blk", "net", ... for logs */
    uint32_t device_id; /* 5 Device Types: 1 net, 2 blk, ... */
    /* Offered feature bits. Read when the driver sets ACKNOWLEDGE; must then stay stable. */
    uint64_t (*features)(void *dev);
    /* Device configuration space; offset is relative to 0x100; len 1, 2 or 4. */
    MUST_CHECK int (*config_read)(void *dev, uint32_t offset, void *data, unsigned int len);
    MUST_CHECK int (*config_write)(void *dev, uint32_t offset, const void *data, unsigned int len);
    /*
     * DRIVER_OK: start the device on these queues. On failure the transport sets
     * DEVICE_NEEDS_RESET and sends a configuration change interrupt (spec 2.1.2).
     */
    MUST_CHECK int (*activate)(void *dev, const struct virtio_activation *act);
    /*
     * The driver reset the device (status 0) after having started initialising it.
     * Called whether or not activate succeeded; stop using the rings (vhost-user:
     * GET_VRING_BASE) and forget the activation. The kick/call fds stay open.
     */
    void (*reset)(void *dev);
    /* Optional: a QueueNotify write reached the VMM (no ioeventfd matched it). */
    void (*notify)(void *dev, unsigned int queue);
};

/*
 * The transport's side, for the device to call from any thread (the event
 * loop, a vCPU). These never block on the transport's register lock.
 */
struct virtio_transport_ops {
    /* Used-buffer notification for a VMM-handled queue. */
    int (*signal_queue)(void *transport, unsigned int queue);
    /* The device changed its configuration: new ConfigGeneration + interrupt. */
    int (*config_changed)(void *transport);
    /* The device cannot go on (e.g. its back-end died): DEVICE_NEEDS_RESET. */
    void (*device_failed)(void *transport, const char *reason);
};

struct virtio_transport {
    const struct virtio_transport_ops *ops;
    void *opaque;
};

static inline bool virtio_has_feature(uint64_t features, unsigned int bit)
{
    return bit < 64 && (features >> bit) & 1;
}

#endif
