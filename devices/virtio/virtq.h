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

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Followed by used_event (le16) when VIRTIO_F_EVENT_IDX is negotiated. */
struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct virtq_used_elem {
    uint32_t id;  /* head of the chain */
    uint32_t len; /* bytes written into the chain's device-writable buffers */
};

/* Followed by avail_event (le16) when VIRTIO_F_EVENT_IDX is negotiated. */
struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

_Static_assert(sizeof(struct virtq_desc) == 16, "2.7.5: descriptors are 16 bytes");
_Static_assert(offsetof(struct virtq_desc, flags) == 12, "2.7.5 layout");
_Static_assert(sizeof(struct virtq_avail) == 4 && offsetof(struct virtq_avail, ring) == 4, "2.7.6");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "2.7.8: used elements are 8 bytes");
_Static_assert(sizeof(struct virtq_used) == 4 && offsetof(struct virtq_used, ring) == 4, "2.7.8");

/* Ring sizes in bytes for a queue of n entries (2.7). */
static inline uint64_t virtq_desc_bytes(uint64_t n)
{
    return 16 * n;
}
static inline uint64_t virtq_avail_bytes(uint64_t n, bool event_idx)
{
    return 4 + 2 * n + (event_idx ? 2 : 0);
}
static inline uint64_t virtq_used_bytes(uint64_t n, bool event_idx)
{
    return 4 + 8 * n + (event_idx ? 2 : 0);
}

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
