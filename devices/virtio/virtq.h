/*
 * Split virtqueues (virtio 1.2, 2.7) for the queues the VMM serves itself
 * (e.g. a control queue) and for tests: the wire layout of the rings, and
 * bounded accessors that treat every index, length and chain as hostile.
 */
#ifndef MINIVMM_VIRTQ_H
#define MINIVMM_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"
#include "log.h"
#include "virtio_dev.h"

#include "virtq_wire.h"

/* The device's side of one split virtqueue. */
struct virtq {
    const struct gmem *gmem;
    uint16_t size;
    bool event_idx;
    bool indirect;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail;     /* next avail ring slot to consume */
    uint16_t used_idx;       /* our copy of used->idx */
    uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
};

/* One buffer of a chain, already translated; hva covers exactly len bytes of guest RAM. */
struct virtq_buf {
    uint64_t gpa;
    uint32_t len;
    bool device_writable;
    void *hva;
};

/*
 * Binds a queue the transport validated. -EINVAL if not ready or the size is not a
 * power of two, -ENOTSUP for packed rings, -EFAULT if a ring is not in guest RAM.
 */
MUST_CHECK int virtq_init(struct virtq *vq, const struct gmem *gm,
                          const struct virtio_queue_config *cfg, uint64_t features);

/*
 * The next available chain head: 0, -EAGAIN when the driver has made nothing new
 * available, -EPROTO when the ring is corrupt (idx ran ahead by more than size, or
 * a head index out of range).
 */
MUST_CHECK int virtq_pop(struct virtq *vq, uint16_t *head);

/*
 * Walks the chain starting at head into bufs (at most max_bufs), following one level
 * of indirect table when negotiated. Bounded: a chain longer than the queue (or the
 * indirect table) is a loop. -EPROTO for a loop, a bad index, a readable buffer after
 * a writable one, a nested or chained indirect table, or more than 4 GiB in total;
 * -EFAULT for a buffer outside guest RAM; -ENOBUFS when max_bufs is too small.
 */
MUST_CHECK int virtq_walk(const struct virtq *vq, uint16_t head, struct virtq_buf *bufs,
                          unsigned int max_bufs, unsigned int *nbufs);

/* Returns the chain to the driver: writes the used element, then publishes used->idx. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);

/* Whether the driver wants an interrupt for what was pushed since the last one (2.7.7). */
bool virtq_should_signal(struct virtq *vq);

#endif
