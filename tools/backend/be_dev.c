/*
 * One vhost-user session, part 1: the request table (payload size, fds, gate, own reply),
 * the generic checks and the reply rules (vhost-user.md §6), and the requests that concern
 * the whole device: features, ownership, memory table, dirty log, config space, reset.
 */
#include "be_dev_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "be_print.h"

#define BE_SIZE_VAR  UINT32_MAX /* the handler checks the payload size */
#define BE_FDS_VAR   0xfe       /* the handler checks the fds */
#define BE_FDS_VRING 0xff       /* one fd, unless the ring index has VU_VRING_NOFD_MASK */
#define BE_NO_GATE   (-1)

struct be_req {
    const char *name;
    be_handler *fn;
    uint32_t size; /* exact payload size, or BE_SIZE_VAR */
    uint8_t fds;   /* exact number of fds, BE_FDS_VAR or BE_FDS_VRING */
    int8_t gate;   /* protocol feature that must be negotiated, or BE_NO_GATE */
    bool replies;  /* the request has its own reply (then no REPLY_ACK ack) */
};

int be_take_fd(struct be_msg *m, unsigned int i)
{
    int fd = m->fds[i];

    m->fds[i] = -1;
    return fd;
}

const struct be_dirty *be_dev_logging(const struct be_dev *d)
{
    return d->features & VU_BIT(VU_F_LOG_ALL) ? &d->log : NULL;
}

static int be_get_features(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    r->payload.u64 = BE_FEATURES;
    r->size = sizeof(uint64_t);
    return 0;
}

static int be_set_features(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    uint64_t f = m->payload.u64, changed = f ^ d->features;

    if (f & ~BE_FEATURES)
        return BE_REFUSE(why, -EINVAL, "0x%llx were not offered",
                         (unsigned long long)(f & ~BE_FEATURES));
    if (!(f & VU_BIT(VU_F_VERSION_1)))
        return BE_REFUSE(why, -EINVAL, "VIRTIO_F_VERSION_1 missing: legacy rings not supported");
    /* Only logging may change under running rings (migration turns LOG_ALL on and off). */
    for (unsigned int q = 0; q < d->nrings; q++)
        if (d->rings[q].started && (changed & ~VU_BIT(VU_F_LOG_ALL)))
            return BE_REFUSE(why, -EBUSY, "ring %u is running", q);
    d->features = f;
    /* vhost-user: without bit 30, SET_FEATURES enables every ring (no SET_VRING_ENABLE). */
    if (!(f & VU_BIT(VU_F_PROTOCOL_FEATURES)))
        for (unsigned int q = 0; q < d->nrings; q++)
            d->rings[q].enabled = true;
    be_dbg("features 0x%llx%s", (unsigned long long)f,
           f & VU_BIT(VU_F_LOG_ALL) ? " (dirty logging on)" : "");
    return 0;
}

static int be_get_protocol_features(struct be_dev *d, struct be_msg *m, struct be_reply *r,
                                    char *why)
{
    r->payload.u64 = BE_PROTOCOL_FEATURES;
    r->size = sizeof(uint64_t);
    return 0;
}

static int be_set_protocol_features(struct be_dev *d, struct be_msg *m, struct be_reply *r,
                                    char *why)
{
    if (m->payload.u64 & ~BE_PROTOCOL_FEATURES)
        return BE_REFUSE(why, -EINVAL, "0x%llx were not offered",
                         (unsigned long long)(m->payload.u64 & ~BE_PROTOCOL_FEATURES));
    d->protocol = m->payload.u64;
    return 0;
}

static int be_set_owner(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    d->owner = true;
    return 0;
}

/* Deprecated (vhost-user.md §4): treated as a device reset, as libvhost-user does. */
static int be_reset(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    be_dev_reset(d);
    return 0;
}

static int be_get_queue_num(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    r->payload.u64 = d->nrings;
    r->size = sizeof(uint64_t);
    return 0;
}

static int be_set_mem_table(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_mem_table *t = &m->payload.mem;
    int fds[VU_MEM_MAX_REGIONS];
    const char *ring_why;
    int ret;

    if (m->hdr.size < 8 || t->nregions == 0 || t->nregions > VU_MEM_MAX_REGIONS ||
        m->hdr.size != 8 + t->nregions * sizeof(struct vu_wire_region) || m->nfds != t->nregions)
        return BE_REFUSE(why, -EINVAL, "%u bytes and %u fds for %u regions", m->hdr.size, m->nfds,
                         m->hdr.size >= 8 ? t->nregions : 0);
    for (unsigned int i = 0; i < t->nregions; i++)
        fds[i] = be_take_fd(m, i);
    ret = be_mem_set(&d->mem, t->regions, fds, t->nregions, why, BE_WHY_MAX);
    if (ret < 0)
        return ret;
    for (unsigned int i = 0; i < t->nregions; i++)
        be_dbg("  region gpa 0x%llx size 0x%llx uaddr 0x%llx",
               (unsigned long long)t->regions[i].gpa, (unsigned long long)t->regions[i].size,
               (unsigned long long)t->regions[i].uaddr);
    /* Running rings now live in the new mappings. */
    for (unsigned int q = 0; q < d->nrings; q++)
        if (d->rings[q].started && be_ring_map(&d->rings[q], &d->mem, &ring_why) < 0)
            return BE_REFUSE(why, -EINVAL, "ring %u: %s in the new table", q, ring_why);
    return 0;
}

static int be_set_log_base(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_log *l = &m->payload.log;
    int ret = be_dirty_set(&d->log, be_take_fd(m, 0), l->mmap_size, l->mmap_offset);

    if (ret < 0)
        return BE_REFUSE(why, ret, "cannot map %llu bytes at offset %llu: %s",
                         (unsigned long long)l->mmap_size, (unsigned long long)l->mmap_offset,
                         strerror(-ret));
    /* LOG_SHMFD: always answered; libvhost-user sends a u64 0, which every front-end takes. */
    r->payload.u64 = 0;
    r->size = sizeof(uint64_t);
    be_dbg("  dirty log of %llu bytes", (unsigned long long)l->mmap_size);
    return 0;
}

/* The optional "log changed" eventfd: this back-end never needs to signal it. */
static int be_set_log_fd(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    close(be_take_fd(m, 0));
    return 0;
}

static int be_get_config(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    const struct vu_wire_config *c = &m->payload.config;
    struct be_echo_config cfg = {.num_queues = (uint16_t)d->nrings, .max_chain = BE_CHAIN_MAX};

    if (m->hdr.size < sizeof(c->hdr) || c->hdr.size > VU_CONFIG_MAX_SIZE ||
        m->hdr.size != sizeof(c->hdr) + c->hdr.size)
        return BE_REFUSE(why, -EINVAL, "payload of %u bytes for a config size of %u", m->hdr.size,
                         m->hdr.size >= sizeof(c->hdr) ? c->hdr.size : 0);
    r->payload.config.hdr = c->hdr;
    r->size = sizeof(c->hdr) + c->hdr.size;
    if (c->hdr.size == 0 || c->hdr.offset > sizeof(cfg) ||
        c->hdr.size > sizeof(cfg) - c->hdr.offset) {
        /* The spec's error answer: the same header with size 0. */
        r->payload.config.hdr.size = 0;
        r->size = sizeof(c->hdr);
        be_err("GET_CONFIG offset %u size %u: the echo config space is %zu bytes", c->hdr.offset,
               c->hdr.size, sizeof(cfg));
        return 0;
    }
    memcpy(r->payload.config.data, (const uint8_t *)&cfg + c->hdr.offset, c->hdr.size);
    return 0;
}

static int be_set_config(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    return BE_REFUSE(why, -EPERM, "the echo config space is read-only");
}

static int be_reset_device(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why)
{
    be_dev_reset(d);
    return 0;
}

/* Front-end requests this back-end implements; anything else is refused (§15 item 24). */
static const struct be_req be_reqs[] = {
    [VU_REQ_GET_FEATURES] = {"GET_FEATURES", be_get_features, 0, 0, BE_NO_GATE, true},
    [VU_REQ_SET_FEATURES] = {"SET_FEATURES", be_set_features, 8, 0, BE_NO_GATE, false},
    [VU_REQ_SET_OWNER] = {"SET_OWNER", be_set_owner, 0, 0, BE_NO_GATE, false},
    [VU_REQ_RESET_OWNER] = {"RESET_OWNER", be_reset, 0, 0, BE_NO_GATE, false},
    [VU_REQ_SET_MEM_TABLE] = {"SET_MEM_TABLE", be_set_mem_table, BE_SIZE_VAR, BE_FDS_VAR,
                              BE_NO_GATE, false},
    [VU_REQ_SET_LOG_BASE] = {"SET_LOG_BASE", be_set_log_base, 16, 1, VU_PF_LOG_SHMFD, true},
    [VU_REQ_SET_LOG_FD] = {"SET_LOG_FD", be_set_log_fd, 0, 1, BE_NO_GATE, false},
    [VU_REQ_SET_VRING_NUM] = {"SET_VRING_NUM", be_set_vring_num, 8, 0, BE_NO_GATE, false},
    [VU_REQ_SET_VRING_ADDR] = {"SET_VRING_ADDR", be_set_vring_addr, 40, 0, BE_NO_GATE, false},
    [VU_REQ_SET_VRING_BASE] = {"SET_VRING_BASE", be_set_vring_base, 8, 0, BE_NO_GATE, false},
    [VU_REQ_GET_VRING_BASE] = {"GET_VRING_BASE", be_get_vring_base, 8, 0, BE_NO_GATE, true},
    [VU_REQ_SET_VRING_KICK] = {"SET_VRING_KICK", be_set_vring_kick, 8, BE_FDS_VRING, BE_NO_GATE,
                               false},
    [VU_REQ_SET_VRING_CALL] = {"SET_VRING_CALL", be_set_vring_call, 8, BE_FDS_VRING, BE_NO_GATE,
                               false},
    [VU_REQ_SET_VRING_ERR] = {"SET_VRING_ERR", be_set_vring_err, 8, BE_FDS_VRING, BE_NO_GATE,
                              false},
    [VU_REQ_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", be_get_protocol_features, 0, 0,
                                      BE_NO_GATE, true},
    [VU_REQ_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", be_set_protocol_features, 8, 0,
                                      BE_NO_GATE, false},
    [VU_REQ_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", be_get_queue_num, 0, 0, VU_PF_MQ, true},
    [VU_REQ_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", be_set_vring_enable, 8, 0, BE_NO_GATE, false},
    [VU_REQ_GET_CONFIG] = {"GET_CONFIG", be_get_config, BE_SIZE_VAR, 0, VU_PF_CONFIG, true},
    [VU_REQ_SET_CONFIG] = {"SET_CONFIG", be_set_config, BE_SIZE_VAR, 0, VU_PF_CONFIG, false},
    [VU_REQ_RESET_DEVICE] = {"RESET_DEVICE", be_reset_device, 0, 0, VU_PF_RESET_DEVICE, false},
};

#define BE_NREQS (sizeof(be_reqs) / sizeof(be_reqs[0]))

/* What the table says about every request: payload size, fds, negotiated gate. */
static int be_check(const struct be_dev *d, const struct be_req *q, const struct be_msg *m,
                    char *why)
{
    unsigned int fds = q->fds;

    if (q->size != BE_SIZE_VAR && m->hdr.size != q->size)
        return BE_REFUSE(why, -EINVAL, "payload of %u bytes, expected %u", m->hdr.size, q->size);
    if (q->gate != BE_NO_GATE && !(d->protocol & VU_BIT(q->gate)))
        return BE_REFUSE(why, -EOPNOTSUPP, "its protocol feature (bit %d) was not negotiated",
                         q->gate);
    if (fds == BE_FDS_VRING)
        fds = m->payload.u64 & VU_VRING_NOFD_MASK ? 0 : 1;
    if (fds != BE_FDS_VAR && m->nfds != fds)
        return BE_REFUSE(why, -EINVAL, "%u fds attached, expected %u", m->nfds, fds);
    return 0;
}

static bool be_wants_ack(const struct be_dev *d, const struct be_msg *m)
{
    return (m->hdr.flags & VU_FLAG_NEED_REPLY) && (d->protocol & VU_BIT(VU_PF_REPLY_ACK));
}

int be_dev_handle(struct be_dev *d)
{
    struct be_msg m;
    struct be_reply r = {0};
    char why[BE_WHY_MAX] = "";
    const struct be_req *q;
    const char *name = "unknown request";
    int ret = be_msg_recv(d->sock, &m);

    if (ret < 0) {
        if (ret != -ECONNRESET)
            be_err("reading a request: %s", ret == -EPROTO ? "malformed header" : strerror(-ret));
        return ret;
    }
    d->requests++;
    q = m.hdr.request < BE_NREQS && be_reqs[m.hdr.request].fn ? &be_reqs[m.hdr.request] : NULL;
    if (!q) {
        ret = BE_REFUSE(why, -EOPNOTSUPP, "request %u is not implemented", m.hdr.request);
    } else {
        name = q->name;
        be_dbg("%s (%u bytes, %u fds)", name, m.hdr.size, m.nfds);
        ret = be_check(d, q, &m, why);
        if (ret == 0)
            ret = q->fn(d, &m, &r, why);
    }
    be_msg_close_fds(&m);
    if (ret < 0)
        be_err("%s: %s", name, why);
    if (ret == 0 && q && q->replies)
        return be_msg_reply(d->sock, m.hdr.request, &r.payload, r.size);
    /* vhost-user.md §6.1: with REPLY_ACK, NEED_REPLY asks for a u64, 0 = success. */
    if (!(q && q->replies) && be_wants_ack(d, &m)) {
        r.payload.u64 = ret < 0 ? 1 : 0;
        return be_msg_reply(d->sock, m.hdr.request, &r.payload, sizeof(uint64_t));
    }
    if (ret < 0)
        be_err("%s: ending the session: %s", name,
               q && q->replies ? "its reply cannot carry an error"
                               : "the front-end asked for no acknowledgement to carry the error");
    return ret;
}

void be_dev_init(struct be_dev *d, int sock, unsigned int queues, bool busy_poll)
{
    memset(d, 0, sizeof(*d));
    d->sock = sock;
    d->nrings = queues;
    d->busy_poll = busy_poll;
    for (unsigned int q = 0; q < BE_MAX_QUEUES; q++)
        be_ring_init(&d->rings[q]);
}

void be_dev_reset(struct be_dev *d)
{
    for (unsigned int q = 0; q < BE_MAX_QUEUES; q++)
        be_ring_reset(&d->rings[q]);
    be_mem_clear(&d->mem);
    be_dirty_clear(&d->log);
    d->features = 0;
}

void be_dev_destroy(struct be_dev *d)
{
    be_dev_reset(d);
    d->protocol = 0;
    d->owner = false;
}

void be_dev_serve(struct be_dev *d)
{
    for (unsigned int q = 0; q < d->nrings; q++)
        if (be_ring_ready(&d->rings[q]))
            (void)be_echo_serve(&d->rings[q], &d->mem, be_dev_logging(d), d->rings[q].num,
                                &d->stats);
}
