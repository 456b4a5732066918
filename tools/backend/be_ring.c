/*
 * The device side of a split virtqueue (see be_ring.h). Guest memory changes under us: every
 * ring and descriptor field is read once, into a local copy, before it is checked and used,
 * so a guest cannot pass a check and then change the value (no double fetch).
 */
#include "be_ring.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

void be_ring_init(struct be_ring *r)
{
    memset(r, 0, sizeof(*r));
    r->kick_fd = r->call_fd = r->err_fd = -1;
}

void be_ring_reset(struct be_ring *r)
{
    if (r->kick_fd >= 0)
        close(r->kick_fd);
    if (r->call_fd >= 0)
        close(r->call_fd);
    if (r->err_fd >= 0)
        close(r->err_fd);
    be_ring_init(r);
}

bool be_ring_ready(const struct be_ring *r)
{
    /* Until SET_VRING_CALL, a completion could not be signalled: it would be lost. */
    return r->started && r->enabled && r->call_set && r->desc && !r->broken;
}

void be_ring_unmap(struct be_ring *r)
{
    r->desc = NULL;
    r->avail = NULL;
    r->used = NULL;
}

int be_ring_map(struct be_ring *r, const struct be_mem *mem, const char **why)
{
    uint64_t num = r->num;

    be_ring_unmap(r);
    if (num == 0 || !r->has_addr) {
        *why = "ring size or addresses not set";
        return -EINVAL;
    }
    /* VIRTIO 2.7: the three parts, num entries each, each wholly inside one region. */
    struct be_desc *desc = be_mem_uva(mem, r->addr.desc, 16 * num);
    struct be_avail *avail = be_mem_uva(mem, r->addr.avail, 4 + 2 * num);
    struct be_used *used = be_mem_uva(mem, r->addr.used, 4 + 8 * num);
    if (!desc || !avail || !used) {
        *why = !desc    ? "descriptor table outside guest memory"
               : !avail ? "available ring outside guest memory"
                        : "used ring outside guest memory";
        return -EINVAL;
    }
    /* Atomic accesses need natural alignment (VIRTIO 2.7: 16, 2 and 4 bytes). */
    if ((uintptr_t)desc % 16 || (uintptr_t)avail % 2 || (uintptr_t)used % 4) {
        *why = "misaligned ring part";
        return -EINVAL;
    }
    r->desc = desc;
    r->avail = avail;
    r->used = used;
    r->used_idx = __atomic_load_n(&used->idx, __ATOMIC_RELAXED);
    return 0;
}

/* One descriptor, each field read once. */
static struct be_desc be_desc_read(const struct be_desc *d)
{
    return (struct be_desc){
        .addr = __atomic_load_n(&d->addr, __ATOMIC_RELAXED),
        .len = __atomic_load_n(&d->len, __ATOMIC_RELAXED),
        .flags = __atomic_load_n(&d->flags, __ATOMIC_RELAXED),
        .next = __atomic_load_n(&d->next, __ATOMIC_RELAXED),
    };
}

/* Follows the chain from head: at most min(num, BE_CHAIN_MAX) descriptors, so loops end. */
static void be_ring_walk(const struct be_ring *r, const struct be_mem *mem, uint16_t head,
                         struct be_chain *c)
{
    bool seen_writable = false;
    uint32_t i = head;

    *c = (struct be_chain){.head = head};
    if (head >= r->num) {
        c->bad = "head index outside the ring";
        return;
    }
    for (unsigned int count = 0;; count++) {
        if (count >= r->num || count >= BE_CHAIN_MAX) {
            c->bad = count >= r->num ? "chain longer than the ring (a loop)" : "chain too long";
            return;
        }
        struct be_desc d = be_desc_read(&r->desc[i]);
        bool writable = d.flags & BE_DESC_F_WRITE;
        if (d.flags & BE_DESC_F_INDIRECT) {
            c->bad = "indirect descriptor (VIRTIO_F_INDIRECT_DESC was not offered)";
            return;
        }
        /* VIRTIO 2.7.4.2: device-writable descriptors follow the device-readable ones. */
        if (!writable && seen_writable) {
            c->bad = "device-readable descriptor after a device-writable one";
            return;
        }
        seen_writable |= writable;
        if (d.len > 0) {
            uint8_t *host = be_mem_gpa(mem, d.addr, d.len);

            if (!host) {
                c->bad = "buffer outside guest memory";
                return;
            }
            c->bufs[c->n++] = (struct be_buf){host, d.addr, d.len, writable};
        }
        if (!(d.flags & BE_DESC_F_NEXT))
            return;
        if (d.next >= r->num) {
            c->bad = "next index outside the ring";
            return;
        }
        i = d.next;
    }
}

int be_ring_pop(struct be_ring *r, const struct be_mem *mem, struct be_chain *c)
{
    /* Acquire: the entries and descriptors the driver wrote before the index. */
    uint16_t avail_idx = __atomic_load_n(&r->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - r->last_avail);
    uint16_t head;

    if (pending == 0)
        return 0;
    if (pending > r->num) {
        r->broken = true;
        return -EPROTO;
    }
    head = __atomic_load_n(&r->avail->ring[r->last_avail % r->num], __ATOMIC_RELAXED);
    r->last_avail++;
    be_ring_walk(r, mem, head, c);
    r->chains++;
    if (c->bad)
        r->bad_chains++;
    return 1;
}

void be_ring_push(struct be_ring *r, uint16_t head, uint32_t len, const struct be_dirty *log)
{
    uint16_t slot = r->used_idx % r->num;
    struct be_used_elem *e = &r->used->ring[slot];

    __atomic_store_n(&e->id, head, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
    r->used_idx++;
    /* Release: the element before the index that publishes it. */
    __atomic_store_n(&r->used->idx, r->used_idx, __ATOMIC_RELEASE);
    /* vhost-user: with VHOST_VRING_F_LOG, used-ring writes are logged at addr.log (a gpa). */
    if (r->addr.flags & VU_VRING_F_LOG) {
        be_dirty_mark(log, r->addr.log + offsetof(struct be_used, ring) + slot * sizeof(*e),
                      sizeof(*e));
        be_dirty_mark(log, r->addr.log + offsetof(struct be_used, idx), sizeof(uint16_t));
    }
}

void be_ring_notify(struct be_ring *r)
{
    uint64_t one = 1;

    /* The used index is published before the driver's flags are read (full barrier). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->avail->flags, __ATOMIC_RELAXED) & BE_AVAIL_F_NO_INTERRUPT)
        return;
    if (r->call_fd >= 0) {
        /* Failure means a saturated counter: the driver has a call pending anyway. */
        ssize_t n = write(r->call_fd, &one, sizeof(one));
        (void)n;
    }
}

void be_ring_set_no_notify(struct be_ring *r, bool on)
{
    __atomic_store_n(&r->used->flags, on ? BE_USED_F_NO_NOTIFY : 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* before we look at the ring again */
}
