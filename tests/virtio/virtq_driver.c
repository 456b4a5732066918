/*
 * Fake guest driver for split virtqueues (virtio 1.2, 2.7): every access goes
 * through gmem_ptr, like the device side, so a test with a wrong address fails
 * loudly instead of scribbling.
 */
#include "virtq_driver.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

static void *virtq_driver_ptr(const struct virtq_driver *d, uint64_t gpa, uint64_t len)
{
    void *p = gmem_ptr(d->gm, gpa, len);

    assert(p && "virtq_driver: address outside fake guest RAM");
    return p;
}

uint64_t virtq_driver_footprint(uint16_t size, bool event_idx)
{
    uint64_t used_off = (virtq_desc_bytes(size) + virtq_avail_bytes(size, event_idx) + 3) & ~3ULL;

    return used_off + virtq_used_bytes(size, event_idx);
}

void virtq_driver_init(struct virtq_driver *d, const struct gmem *gm, uint16_t size, uint64_t base,
                       bool event_idx)
{
    memset(d, 0, sizeof(*d));
    d->gm = gm;
    d->size = size;
    d->event_idx = event_idx;
    d->desc = base;
    d->avail = base + virtq_desc_bytes(size);
    d->used = (d->avail + virtq_avail_bytes(size, event_idx) + 3) & ~3ULL;
    memset(virtq_driver_ptr(d, base, virtq_driver_footprint(size, event_idx)), 0,
           virtq_driver_footprint(size, event_idx));
}

struct virtio_queue_config virtq_driver_config(const struct virtq_driver *d)
{
    return (struct virtio_queue_config){
        .ready = true,
        .size = d->size,
        .desc = d->desc,
        .driver = d->avail,
        .device = d->used,
        .kick_fd = -1,
        .call_fd = -1,
    };
}

void virtq_driver_set_desc(struct virtq_driver *d, uint16_t i, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next)
{
    struct virtq_desc desc = {.addr = addr, .len = len, .flags = flags, .next = next};

    memcpy(virtq_driver_ptr(d, d->desc + 16ULL * i, 16), &desc, sizeof(desc));
}

uint16_t virtq_driver_add_chain(struct virtq_driver *d, const struct virtq_seg *segs,
                                unsigned int n)
{
    uint16_t head = d->next_desc;

    for (unsigned int k = 0; k < n; k++) {
        uint16_t i = (uint16_t)((head + k) % d->size);
        uint16_t flags =
            (segs[k].writable ? VIRTQ_DESC_F_WRITE : 0) | (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

        virtq_driver_set_desc(d, i, segs[k].addr, segs[k].len, flags,
                              (uint16_t)((i + 1) % d->size));
    }
    d->next_desc = (uint16_t)((head + n) % d->size);
    return head;
}

void virtq_driver_set_avail_idx(struct virtq_driver *d, uint16_t idx)
{
    uint16_t *p = virtq_driver_ptr(d, d->avail + offsetof(struct virtq_avail, idx), 2);

    __atomic_store_n(p, idx, __ATOMIC_RELEASE);
}

void virtq_driver_make_avail(struct virtq_driver *d, uint16_t head)
{
    uint16_t slot = d->avail_idx % d->size;

    memcpy(virtq_driver_ptr(d, d->avail + 4 + 2ULL * slot, 2), &head, 2);
    d->avail_idx++;
    virtq_driver_set_avail_idx(d, d->avail_idx);
}

void virtq_driver_set_avail_flags(struct virtq_driver *d, uint16_t flags)
{
    memcpy(virtq_driver_ptr(d, d->avail, 2), &flags, 2);
}

void virtq_driver_set_used_event(struct virtq_driver *d, uint16_t event)
{
    assert(d->event_idx);
    memcpy(virtq_driver_ptr(d, d->avail + 4 + 2ULL * d->size, 2), &event, 2);
}

uint16_t virtq_driver_used_idx(const struct virtq_driver *d)
{
    const uint16_t *p = virtq_driver_ptr(d, d->used + offsetof(struct virtq_used, idx), 2);

    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

struct virtq_used_elem virtq_driver_used_elem(const struct virtq_driver *d, uint16_t i)
{
    struct virtq_used_elem e;

    memcpy(&e, virtq_driver_ptr(d, d->used + 4 + 8ULL * (i % d->size), 8), sizeof(e));
    return e;
}
