/*
 * Split virtqueue, driver side (see virtq.h). Ordering rules from the virtio
 * spec 2.7.13: descriptors and the ring entry are written before avail->idx
 * (release), the used element is read after used->idx (acquire), and the
 * check for VRING_USED_F_NO_NOTIFY comes after a full barrier following the
 * avail->idx store.
 */
#include "fw_errno.h"
#include "lib.h"
#include "virtq.h"

#define RING_ALIGN 4096

static size_t align_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static size_t avail_offset(uint16_t size)
{
    return sizeof(struct virtq_desc) * size;
}

static size_t used_offset(uint16_t size)
{
    return align_up(avail_offset(size) + sizeof(struct virtq_avail) + 2 * (size_t)size + 2,
                    RING_ALIGN);
}

size_t virtq_mem_size(uint16_t size)
{
    return align_up(used_offset(size) + sizeof(struct virtq_used) +
                        sizeof(struct virtq_used_elem) * (size_t)size + 2,
                    RING_ALIGN);
}

int virtq_init(struct virtq *q, uint16_t size, void *mem, size_t mem_size)
{
    uint8_t *base = mem;

    if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) ||
        mem_size < virtq_mem_size(size) || (uintptr_t)mem % RING_ALIGN)
        return -EINVAL;
    memset(q, 0, sizeof(*q));
    memset(mem, 0, virtq_mem_size(size));
    q->size = size;
    q->desc = (struct virtq_desc *)base;
    q->avail = (struct virtq_avail *)(base + avail_offset(size));
    q->used = (struct virtq_used *)(base + used_offset(size));
    for (uint16_t i = 0; i < size; i++)
        q->desc[i].next = (uint16_t)(i + 1);
    q->nfree = size;
    q->free_head = 0;
    return 0;
}

int virtq_add(struct virtq *q, const struct virtq_buf *bufs, unsigned int n, void *cookie)
{
    uint16_t head = q->free_head, d = head, last = head;

    if (n == 0 || !cookie)
        return -EINVAL;
    if (n > q->nfree)
        return -ENOSPC;
    for (unsigned int i = 1; i < n; i++) {
        if (bufs[i - 1].device_writes && !bufs[i].device_writes)
            return -EINVAL; /* spec 2.7.4.2: readable buffers come before writable ones */
    }
    for (unsigned int i = 0; i < n; i++) {
        struct virtq_desc *desc = &q->desc[d];
        desc->addr = (uintptr_t)bufs[i].addr;
        desc->len = bufs[i].len;
        desc->flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                                 (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        last = d;
        d = desc->next;
    }
    q->free_head = q->desc[last].next;
    q->nfree = (uint16_t)(q->nfree - n);
    q->cookie[head] = cookie;
    q->chain[head] = (uint16_t)n;
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx++;
    return 0;
}

void virtq_publish(struct virtq *q)
{
    q->published = q->avail_idx;
    __atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

bool virtq_kick_needed(const struct virtq *q)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) & VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_has_used(const struct virtq *q)
{
    return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

/* Returns the chain starting at head to the free list (its length is ours, not the device's). */
static void free_chain(struct virtq *q, uint16_t head)
{
    uint16_t last = head;

    for (uint16_t i = 1; i < q->chain[head]; i++)
        last = q->desc[last].next;
    q->desc[last].next = q->free_head;
    q->free_head = head;
    q->nfree = (uint16_t)(q->nfree + q->chain[head]);
    q->cookie[head] = NULL;
    q->chain[head] = 0;
}

int virtq_get(struct virtq *q, void **cookie, uint32_t *len)
{
    uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
    struct virtq_used_elem e;

    if (used_idx == q->last_used)
        return 0;
    if ((uint16_t)(used_idx - q->last_used) > (uint16_t)(q->published - q->last_used))
        return -EIO;
    e = q->used->ring[q->last_used & (q->size - 1)];
    if (e.id >= q->size || !q->cookie[e.id])
        return -EIO;
    *cookie = q->cookie[e.id];
    *len = e.len;
    free_chain(q, (uint16_t)e.id);
    q->last_used++;
    return 1;
}

void virtq_set_interrupts(struct virtq *q, bool enable)
{
    uint16_t flags = enable ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;

    __atomic_store_n(&q->avail->flags, flags, __ATOMIC_RELAXED);
}

uint16_t virtq_in_flight(const struct virtq *q)
{
    /* Requests added (published or not) whose used entries we have not consumed. */
    return (uint16_t)(q->avail_idx - q->last_used);
}
