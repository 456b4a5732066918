/*
 * One vhost-user session, part 2: the ring requests (SET_VRING_* and GET_VRING_BASE). A ring
 * is started by SET_VRING_KICK and stopped by GET_VRING_BASE, which also closes its fds, as
 * libvhost-user and DPDK do (vhost-user.md §7); it is served while started and enabled.
 */
#include "be_dev_int.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "be_print.h"

/* The ring a vring-state request names, or NULL (why says so). */
static struct be_ring *be_ring_of(struct be_dev *d, uint32_t index, char *why)
{
    if (index >= d->nrings) {
        snprintf(why, BE_WHY_MAX, "ring %u does not exist (%u queues)", index, d->nrings);
        return NULL;
    }
    return &d->rings[index];
}

int be_set_vring_num(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_vring_state *s = &m->payload.state;
    struct be_ring *ring = be_ring_of(d, s->index, why);

    if (!ring)
        return -EINVAL;
    if (ring->started)
        return BE_REFUSE(why, -EBUSY, "ring %u is running", s->index);
    /* VIRTIO: a split ring's size is a power of two, at most 32768. */
    if (s->num == 0 || s->num > VU_MAX_RING_SIZE || (s->num & (s->num - 1)))
        return BE_REFUSE(why, -EINVAL, "ring %u: size %u is not a power of two in 1..%u", s->index,
                         s->num, VU_MAX_RING_SIZE);
    ring->num = s->num;
    return 0;
}

int be_set_vring_addr(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_vring_addr *a = &m->payload.addr;
    struct be_ring *ring = be_ring_of(d, a->index, why);
    const char *map_why;

    if (!ring)
        return -EINVAL;
    if (a->flags & ~VU_VRING_F_LOG)
        return BE_REFUSE(why, -EINVAL, "ring %u: unknown flags 0x%x", a->index, a->flags);
    ring->addr = *a;
    ring->has_addr = true;
    /* A running ring gets its address again when logging is switched: map it now. */
    if (ring->started && be_ring_map(ring, &d->mem, &map_why) < 0)
        return BE_REFUSE(why, -EINVAL, "ring %u: %s", a->index, map_why);
    return 0;
}

int be_set_vring_base(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_vring_state *s = &m->payload.state;
    struct be_ring *ring = be_ring_of(d, s->index, why);

    if (!ring)
        return -EINVAL;
    if (ring->started)
        return BE_REFUSE(why, -EBUSY, "ring %u is running", s->index);
    /* Split rings: bits 0-15 are the next available index, the rest is reserved (zero). */
    if (s->num > UINT16_MAX)
        return BE_REFUSE(why, -EINVAL, "ring %u: base 0x%x has reserved bits set", s->index,
                         s->num);
    ring->last_avail = (uint16_t)s->num;
    return 0;
}

int be_get_vring_base(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_vring_state *s = &m->payload.state;
    struct be_ring *ring = be_ring_of(d, s->index, why);

    if (!ring)
        return -EINVAL;
    /* Stops the ring: no request is in flight here, every chain was completed when taken. */
    if (ring->started)
        be_info("ring %u stopped at %u: %llu requests (%llu bad)", s->index, ring->last_avail,
                (unsigned long long)ring->chains, (unsigned long long)ring->bad_chains);
    uint16_t base = ring->last_avail;
    uint32_t num = ring->num;
    bool enabled = ring->enabled, has_addr = ring->has_addr;
    struct vu_wire_vring_addr addr = ring->addr;
    be_ring_reset(ring); /* closes kick, call and err */
    ring->last_avail = base;
    ring->num = num;
    ring->enabled = enabled; /* the enable state survives a stop (§7.1) */
    ring->has_addr = has_addr;
    ring->addr = addr;
    r->payload.state = (struct vu_wire_vring_state){.index = s->index, .num = base};
    r->size = sizeof(r->payload.state);
    return 0;
}

/* The u64 of SET_VRING_KICK/CALL/ERR: ring in bits 0-7, "no fd" in bit 8, nothing else. */
static struct be_ring *be_vring_fd_target(struct be_dev *d, uint64_t u64, char *why)
{
    if (u64 & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD_MASK)) {
        snprintf(why, BE_WHY_MAX, "reserved bits set in 0x%llx", (unsigned long long)u64);
        return NULL;
    }
    return be_ring_of(d, (uint32_t)(u64 & VU_VRING_IDX_MASK), why);
}

static void be_replace_fd(int *slot, int fd)
{
    if (*slot >= 0)
        close(*slot);
    *slot = fd;
}

int be_set_vring_kick(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    struct be_ring *ring = be_vring_fd_target(d, m->payload.u64, why);
    unsigned int q = (unsigned int)(m->payload.u64 & VU_VRING_IDX_MASK);
    const char *map_why;
    int fd;

    if (!ring)
        return -EINVAL;
    if (m->payload.u64 & VU_VRING_NOFD_MASK)
        return BE_REFUSE(why, -EOPNOTSUPP,
                         "ring %u: no kick fd (polling a ring is not implemented)", q);
    /* Ring start (S-NEW: SET_VRING_KICK starts the ring): the ring must be mappable now. */
    if (!ring->started && be_ring_map(ring, &d->mem, &map_why) < 0)
        return BE_REFUSE(why, -EINVAL, "ring %u: %s", q, map_why);
    fd = be_take_fd(m, 0);
    /* Non-blocking: the poll loop drains the counter and must never wait on it. */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        return BE_REFUSE(why, -EBADF, "ring %u: the kick fd is not usable", q);
    }
    be_replace_fd(&ring->kick_fd, fd);
    if (!ring->started)
        be_info("ring %u started: size %u, base %u, used index %u%s", q, ring->num,
                ring->last_avail, ring->used_idx, ring->enabled ? "" : " (disabled)");
    ring->started = true;
    ring->broken = false;
    if (d->busy_poll)
        be_ring_set_no_notify(ring, true); /* VIRTIO: the driver may then skip its kicks */
    return 0;
}

int be_set_vring_call(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    struct be_ring *ring = be_vring_fd_target(d, m->payload.u64, why);

    if (!ring)
        return -EINVAL;
    /* No fd: the front-end polls the used ring, so there is nobody to signal. */
    be_replace_fd(&ring->call_fd, m->payload.u64 & VU_VRING_NOFD_MASK ? -1 : be_take_fd(m, 0));
    ring->call_set = true;
    return 0;
}

int be_set_vring_err(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    struct be_ring *ring = be_vring_fd_target(d, m->payload.u64, why);

    if (!ring)
        return -EINVAL;
    be_replace_fd(&ring->err_fd, m->payload.u64 & VU_VRING_NOFD_MASK ? -1 : be_take_fd(m, 0));
    return 0;
}

int be_set_vring_enable(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_vring_state *s = &m->payload.state;
    struct be_ring *ring = be_ring_of(d, s->index, why);

    if (!ring)
        return -EINVAL;
    /* vhost-user.md §16 item 4: only after a SET_FEATURES carrying bit 30. */
    if (!(d->features & VU_BIT(VU_F_PROTOCOL_FEATURES)))
        return BE_REFUSE(why, -EINVAL, "VHOST_USER_F_PROTOCOL_FEATURES was not negotiated");
    if (s->num > 1)
        return BE_REFUSE(why, -EINVAL, "ring %u: enable must be 0 or 1, not %u", s->index, s->num);
    ring->enabled = s->num == 1;
    return 0;
}
