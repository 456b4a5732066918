/*
 * The wire layout of a split virtqueue (virtio 1.2, 2.7): flags, the three rings and their
 * sizes. Plain C with <stdint.h> only, so the VMM's queues and the freestanding test
 * firmware's driver share one definition.
 */
#ifndef MINIVMM_VIRTQ_WIRE_H
#define MINIVMM_VIRTQ_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
