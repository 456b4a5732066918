/*
 * The virtio-mmio transport's state for migration and snapshots: the register file as the
 * driver left it (status, features, selectors, every queue's registers, InterruptStatus,
 * ConfigGeneration). Plain data with fixed-size fields: it goes into the stream as is.
 *
 * Source: virtio_mmio_save() with the VM paused. Destination: virtio_mmio_load() checks and
 * installs the registers without starting anything; virtio_mmio_resume() then wires the
 * eventfds and activates the device with the source's ring bases (vhost-user: SET_VRING_BASE
 * with them), as DRIVER_OK would have.
 */
#ifndef MINIVMM_VIRTIO_MMIO_STATE_H
#define MINIVMM_VIRTIO_MMIO_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "virtio_mmio.h"

struct virtio_mmio_queue_state {
    uint32_t num;
    uint32_t ready;
    uint64_t desc;
    uint64_t driver;
    uint64_t device;
};

struct virtio_mmio_state {
    uint32_t nqueues; /* must equal the destination's */
    uint32_t status;
    uint32_t activated; /* DRIVER_OK reached and the device started */
    uint32_t needs_reset;
    uint32_t isr;
    uint32_t generation;
    uint32_t dev_features_sel;
    uint32_t drv_features_sel;
    uint32_t queue_sel;
    uint32_t shm_sel;
    uint32_t features_valid;
    uint32_t acked_unknown;
    uint64_t offered;
    uint64_t acked;
    struct virtio_mmio_queue_state q[VIRTIO_MMIO_MAX_QUEUES];
};

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *out);
/*
 * Installs a saved register file (from a stream: checked like the driver's own writes —
 * queue count, legal status, offered features equal to this device's, rings in RAM).
 * -EINVAL with the reason in why. Nothing is wired or started.
 */
MUST_CHECK int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *in,
                                char *why, size_t whylen);
/* After load: if the source's device ran, wire and activate it from bases[queue]. */
MUST_CHECK int virtio_mmio_resume(struct virtio_mmio *t, const uint32_t *bases);
/* The queues as activation sees them (kick/call fds included); valid until reset. */
const struct virtio_queue_config *virtio_mmio_queues(struct virtio_mmio *t, unsigned int *n);

#endif
