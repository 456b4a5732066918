/*
 * Device-side split virtqueue accessors over guest RAM (virtio 1.2, 2.7).
 * The driver is hostile: every descriptor is copied once before use, every
 * index is bounded by the ring or table size, every walk by a descriptor count.
 */
#include "virtq.h"

#include <errno.h>
#include <string.h>

#include "virtio_spec.h"

int virtq_init(struct virtq *vq, const struct gmem *gm, const struct virtio_queue_config *cfg,
               uint64_t features)
{
    uint64_t n = cfg->size;

    memset(vq, 0, sizeof(*vq));
    if (!cfg->ready || n == 0 || n > VIRTIO_QUEUE_SIZE_MAX || (n & (n - 1)))
        return -EINVAL;
    if (virtio_has_feature(features, VIRTIO_F_RING_PACKED))
        return -ENOTSUP;
    vq->gmem = gm;
    vq->size = (uint16_t)n;
    vq->event_idx = virtio_has_feature(features, VIRTIO_F_EVENT_IDX);
    vq->indirect = virtio_has_feature(features, VIRTIO_F_INDIRECT_DESC);
    /* 2.7: alignment 16 / 2 / 4; the transport checked it, a direct caller may not have. */
    if (cfg->desc % 16 || cfg->driver % 2 || cfg->device % 4)
        return -EINVAL;
    vq->desc = gmem_ptr(gm, cfg->desc, virtq_desc_bytes(n));
    vq->avail = gmem_ptr(gm, cfg->driver, virtq_avail_bytes(n, vq->event_idx));
    vq->used = gmem_ptr(gm, cfg->device, virtq_used_bytes(n, vq->event_idx));
    if (!vq->desc || !vq->avail || !vq->used)
        return -EFAULT;
    vq->used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
    vq->last_avail = vq->used_idx;
    vq->signalled_used = vq->used_idx;
    return 0;
}

/* used_event and avail_event sit right after the rings (2.7.10). */
static uint16_t *virtq_used_event(const struct virtq *vq)
{
    return &vq->avail->ring[vq->size];
}

static uint16_t *virtq_avail_event(const struct virtq *vq)
{
    return (uint16_t *)&vq->used->ring[vq->size];
}

int virtq_pop(struct virtq *vq, uint16_t *head)
{
    uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    uint16_t h;

    if (pending == 0)
        return -EAGAIN;
    if (pending > vq->size)
        return -EPROTO;
    h = __atomic_load_n(&vq->avail->ring[vq->last_avail & (vq->size - 1)], __ATOMIC_RELAXED);
    if (h >= vq->size)
        return -EPROTO;
    vq->last_avail++;
    if (vq->event_idx)
        __atomic_store_n(virtq_avail_event(vq), vq->last_avail, __ATOMIC_RELEASE);
    *head = h;
    return 0;
}

/*
 * One copy of a descriptor the driver may be rewriting concurrently; the barrier
 * keeps the compiler from reading guest memory again instead of the copy.
 */
static void virtq_load_desc(const struct virtq_desc *table, uint32_t i, struct virtq_desc *out)
{
    memcpy(out, (const uint8_t *)table + (size_t)i * sizeof(*out), sizeof(*out));
    __asm__ volatile("" ::: "memory");
}

struct virtq_walk {
    const struct virtq_desc *table;
    uint32_t table_size;
    uint32_t budget; /* descriptors left before the chain must be a loop */
    bool in_indirect;
    bool seen_writable;
    uint64_t total;
};

/* 2.7.5.3: an indirect descriptor replaces the rest of the chain by a table. */
static int virtq_enter_indirect(const struct virtq *vq, struct virtq_walk *w,
                                const struct virtq_desc *d)
{
    if (!vq->indirect || w->in_indirect || (d->flags & VIRTQ_DESC_F_NEXT))
        return -EPROTO; /* not negotiated, nested, or chained: all forbidden by 2.7.5.3.1 */
    if (d->len == 0 || d->len % sizeof(struct virtq_desc))
        return -EPROTO;
    w->table = gmem_ptr(vq->gmem, d->addr, d->len);
    if (!w->table)
        return -EFAULT;
    w->table_size = d->len / sizeof(struct virtq_desc);
    w->budget = w->table_size;
    w->in_indirect = true;
    return 0;
}

static int virtq_add_buf(const struct virtq *vq, struct virtq_walk *w, const struct virtq_desc *d,
                         struct virtq_buf *buf)
{
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;

    /* 2.7.4.2: device-writable buffers come after all device-readable ones. */
    if (!writable && w->seen_writable)
        return -EPROTO;
    w->seen_writable |= writable;
    w->total += d->len;
    if (w->total > UINT32_MAX)
        return -EPROTO;
    buf->hva = gmem_ptr(vq->gmem, d->addr, d->len);
    if (!buf->hva)
        return -EFAULT;
    buf->gpa = d->addr;
    buf->len = d->len;
    buf->device_writable = writable;
    return 0;
}

int virtq_walk(const struct virtq *vq, uint16_t head, struct virtq_buf *bufs, unsigned int max_bufs,
               unsigned int *nbufs)
{
    struct virtq_walk w = {.table = vq->desc, .table_size = vq->size, .budget = vq->size};
    uint32_t i = head;
    unsigned int n = 0;
    int ret;

    *nbufs = 0;
    if (head >= vq->size)
        return -EPROTO;
    for (;;) {
        struct virtq_desc d;

        if (w.budget-- == 0)
            return -EPROTO; /* more links than descriptors: the chain loops */
        virtq_load_desc(w.table, i, &d);
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            ret = virtq_enter_indirect(vq, &w, &d);
            if (ret < 0)
                return ret;
            i = 0;
            continue;
        }
        if (n == max_bufs)
            return -ENOBUFS;
        ret = virtq_add_buf(vq, &w, &d, &bufs[n]);
        if (ret < 0)
            return ret;
        n++;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (d.next >= w.table_size)
            return -EPROTO;
        i = d.next;
    }
    *nbufs = n;
    return 0;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
    struct virtq_used_elem *e = &vq->used->ring[vq->used_idx & (vq->size - 1)];

    e->id = head;
    e->len = written;
    vq->used_idx++;
    /* 2.7.8: the element must be visible before the index that publishes it. */
    __atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_signal(struct virtq *vq)
{
    uint16_t old = vq->signalled_used;

    /* The used->idx store must be ordered before reading the driver's suppression state. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx)
        return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    vq->signalled_used = vq->used_idx;
    /* 2.7.10: interrupt when used_event lies in [old, new). */
    return (uint16_t)(vq->used_idx - __atomic_load_n(virtq_used_event(vq), __ATOMIC_RELAXED) - 1) <
           (uint16_t)(vq->used_idx - old);
}
