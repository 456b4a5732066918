/*
 * Driver side of a virtio 1.x split virtqueue (virtio spec 2.7): descriptor
 * table, available ring and used ring in memory the caller provides, a free
 * list of descriptors, and one cookie per request in flight. The device is
 * not trusted: every used entry is checked before it is believed.
 * Host-compilable: addresses are pointers converted with (uintptr_t), which
 * equals the guest-physical address in the firmware's identity mapping.
 */
#ifndef FW_VIRTQ_H
#define FW_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE 256

#include "virtq_wire.h"

/* One buffer of a request: the device reads it, or writes it when device_writes. */
struct virtq_buf {
    const void *addr;
    uint32_t len;
    bool device_writes;
};

struct virtq {
    uint16_t size;      /* entries, a power of 2 */
    uint16_t free_head; /* first free descriptor */
    uint16_t nfree;
    uint16_t avail_idx; /* our copy of avail->idx, including unpublished entries */
    uint16_t published; /* the avail->idx the device has seen */
    uint16_t last_used; /* used entries consumed so far (wraps like used->idx) */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    void *cookie[VIRTQ_MAX_SIZE];   /* per head descriptor; NULL: not in flight */
    uint16_t chain[VIRTQ_MAX_SIZE]; /* descriptors in the chain starting here */
};

/* Bytes of ring memory for `size` entries (desc, avail, used; 4 KiB aligned). */
size_t virtq_mem_size(uint16_t size);
/* Lays the rings out in mem (4 KiB aligned, virtq_mem_size bytes, zeroed here). */
int virtq_init(struct virtq *q, uint16_t size, void *mem, size_t mem_size);

/*
 * Queues a request of n buffers (device-readable ones first, as the spec
 * requires) without publishing it. -ENOSPC when descriptors run out,
 * -EINVAL for n == 0, a NULL cookie or a buffer order the spec forbids.
 */
int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, void *cookie);
/* Makes queued requests visible to the device. */
void virtq_publish(struct virtq *q);
/* After virtq_publish: whether the device wants a notification (no VRING_USED_F_NO_NOTIFY). */
bool virtq_kick_needed(const struct virtq *q);

/* Whether the device has returned a request we have not taken yet. */
bool virtq_has_used(const struct virtq *q);
/*
 * Takes one returned request: 1 with *cookie and *len set, 0 when there is
 * none, -EIO when the device returned something it was never given (bad id,
 * id not in flight, or used->idx running ahead of what was published).
 * *len is the device's claim of bytes written: callers bound it.
 */
int virtq_get(struct virtq *q, void **cookie, uint32_t *len);
/* Asks the device not to interrupt for this queue (polling), or to again. */
void virtq_set_interrupts(struct virtq *q, bool enable);

uint16_t virtq_in_flight(const struct virtq *q);

#endif
