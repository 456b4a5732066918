/*
 * The fake back-end's request handlers: keep the state the tests inspect (mapped guest memory,
 * ring fds, negotiated features) and send replies like DPDK/libvhost-user would, including
 * closing kick/call fds on GET_VRING_BASE.
 */
#include "fake_backend_rules.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static bool has_pf_ack(const struct fake_backend *fb)
{
    return fb->acked_protocol & VU_BIT(VU_PF_REPLY_ACK);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void unmap_region(struct fb_region *r)
{
    if (r->map)
        munmap(r->map, r->map_len);
    r->map = NULL;
}

void fb_reset_session(struct fake_backend *fb)
{
    for (unsigned int i = 0; i < FB_MAX_RINGS; i++) {
        close_fd(&fb->kick_fd[i]);
        close_fd(&fb->call_fd[i]);
        close_fd(&fb->err_fd[i]);
        fb->ring_started[i] = fb->ring_enabled[i] = false;
    }
    for (unsigned int i = 0; i < fb->nregions; i++)
        unmap_region(&fb->regions[i]);
    fb->nregions = 0;
    close_fd(&fb->chan_fd);
    close_fd(&fb->log_fd);
    fb->acked_features = fb->acked_protocol = 0;
    fb->features_set = fb->owner_set = false;
}

/* Maps like back-ends do: mmap_offset + size bytes from offset 0 of the fd. */
static bool map_region(struct fake_backend *fb, const struct vu_wire_region *w, int fd)
{
    struct fb_region *r;

    if (fb->nregions >= VU_MEM_MAX_REGIONS) {
        fb_violation(fb, "more than %u regions", VU_MEM_MAX_REGIONS);
        return false;
    }
    r = &fb->regions[fb->nregions];
    r->r = *w;
    r->map_len = w->mmap_offset + w->size;
    r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        fb_violation(fb, "region gpa=0x%llx: mmap of fd %d failed", (unsigned long long)w->gpa, fd);
        return false;
    }
    fb->nregions++;
    return true;
}

static void set_mem_table(struct fake_backend *fb, const struct vu_wire_mem_table *t,
                          const int *fds, unsigned int nfds)
{
    for (unsigned int i = 0; i < fb->nregions; i++)
        unmap_region(&fb->regions[i]);
    fb->nregions = 0;
    for (unsigned int i = 0; i < t->nregions && i < nfds; i++)
        map_region(fb, &t->regions[i], fds[i]);
}

static void rem_mem_reg(struct fake_backend *fb, const struct vu_wire_region *w)
{
    for (unsigned int i = 0; i < fb->nregions; i++) {
        struct fb_region *r = &fb->regions[i];

        if (r->r.gpa == w->gpa && r->r.size == w->size && r->r.uaddr == w->uaddr) {
            unmap_region(r);
            fb->regions[i] = fb->regions[--fb->nregions];
            return;
        }
    }
    fb_violation(fb, "REM_MEM_REG gpa=0x%llx: no such region", (unsigned long long)w->gpa);
}

/* Kick/call/err: keep the fd (or none with NOFD), replacing the previous one. */
static void set_ring_fd(struct fake_backend *fb, uint32_t req, uint64_t val, int fd)
{
    uint32_t q = (uint32_t)(val & VU_VRING_IDX_MASK);
    int *slot;

    if (q >= FB_MAX_RINGS) {
        close_fd(&fd);
        return;
    }
    slot = req == VU_REQ_SET_VRING_KICK   ? &fb->kick_fd[q]
           : req == VU_REQ_SET_VRING_CALL ? &fb->call_fd[q]
                                          : &fb->err_fd[q];
    close_fd(slot);
    *slot = fd;
    if (req == VU_REQ_SET_VRING_KICK) {
        fb->kick_nofd[q] = val & VU_VRING_NOFD_MASK;
        fb->ring_started[q] = true; /* S-NEW: SET_VRING_KICK starts the ring */
    }
}

static void reply_u64(struct fake_backend *fb, uint32_t req, uint64_t v)
{
    fb_reply(fb, req, &v, sizeof(v), -1);
}

static void get_vring_base(struct fake_backend *fb, const struct vu_wire_vring_state *s)
{
    struct vu_wire_vring_state r = {.index = s->index, .num = 0};

    if (s->index < FB_MAX_RINGS) {
        r.num = fb->ring_base[s->index];
        /* DPDK and libvhost-user close the ring's fds and forget it. */
        close_fd(&fb->kick_fd[s->index]);
        close_fd(&fb->call_fd[s->index]);
        fb->ring_started[s->index] = false;
    }
    fb_reply(fb, VU_REQ_GET_VRING_BASE, &r, sizeof(r), -1);
}

static void get_config(struct fake_backend *fb, const struct vu_wire_config_hdr *h)
{
    struct vu_wire_config c = {.hdr = *h};
    uint32_t size = h->size <= VU_CONFIG_MAX_SIZE ? h->size : 0;

    if (h->offset < VU_CONFIG_MAX_SIZE && size <= VU_CONFIG_MAX_SIZE - h->offset)
        memcpy(c.data, fb->config + h->offset, size);
    fb_reply(fb, VU_REQ_GET_CONFIG, &c, (uint32_t)sizeof(c.hdr) + size, -1);
}

static void get_inflight(struct fake_backend *fb, const struct vu_wire_inflight *in)
{
    struct vu_wire_inflight out = *in;
    int fd = memfd_create("fb-inflight", MFD_CLOEXEC);

    out.mmap_size = 4096;
    out.mmap_offset = 0;
    if (fd < 0 || ftruncate(fd, 4096) < 0)
        out.mmap_size = 0;
    fb_reply(fb, VU_REQ_GET_INFLIGHT_FD, &out, sizeof(out), out.mmap_size ? fd : -1);
    close_fd(&fd);
}

/* Handles requests with their own reply; returns false for the others. */
static bool handle_query(struct fake_backend *fb, uint32_t req, const union vu_wire_payload *p)
{
    switch (req) {
    case VU_REQ_GET_FEATURES:
        reply_u64(fb, req, fb->cfg.features);
        return true;
    case VU_REQ_GET_PROTOCOL_FEATURES:
        reply_u64(fb, req, fb->cfg.protocol_features);
        return true;
    case VU_REQ_GET_QUEUE_NUM:
        reply_u64(fb, req, fb->cfg.queue_num);
        return true;
    case VU_REQ_GET_MAX_MEM_SLOTS:
        reply_u64(fb, req, fb->cfg.max_mem_slots);
        return true;
    case VU_REQ_GET_STATUS:
        reply_u64(fb, req, fb->status);
        return true;
    case VU_REQ_CHECK_DEVICE_STATE:
        reply_u64(fb, req, 0);
        return true;
    case VU_REQ_GET_VRING_BASE:
        get_vring_base(fb, &p->state);
        return true;
    case VU_REQ_GET_CONFIG:
        get_config(fb, &p->config.hdr);
        return true;
    case VU_REQ_GET_INFLIGHT_FD:
        get_inflight(fb, &p->inflight);
        return true;
    case VU_REQ_SET_LOG_BASE:
        if (fb->cfg.log_reply_u64)
            reply_u64(fb, req, 0);
        else
            fb_reply(fb, req, NULL, 0, -1);
        return true;
    case VU_REQ_SET_DEVICE_STATE_FD:
        if (fb->cfg.devstate_return_fd) {
            int pp[2];

            if (pipe2(pp, O_CLOEXEC) == 0) {
                uint64_t v = 0;

                fb_reply(fb, req, &v, sizeof(v), pp[0]);
                close(pp[0]);
                close(pp[1]);
            }
        } else {
            reply_u64(fb, req, VU_DEVSTATE_REPLY_NOFD);
        }
        return true;
    default:
        return false;
    }
}

/* Keeps or closes the fds of a state-changing request. */
static void handle_update(struct fake_backend *fb, uint32_t req, const union vu_wire_payload *p,
                          const int *fds, unsigned int nfds)
{
    int fd = nfds ? fds[0] : -1;

    switch (req) {
    case VU_REQ_SET_FEATURES:
        fb->acked_features = p->u64;
        fb->features_set = true;
        break;
    case VU_REQ_SET_PROTOCOL_FEATURES:
        fb->acked_protocol = p->u64 & fb->cfg.protocol_features;
        break;
    case VU_REQ_SET_OWNER:
        fb->owner_set = true;
        break;
    case VU_REQ_RESET_OWNER:
    case VU_REQ_RESET_DEVICE:
        for (unsigned int i = 0; i < FB_MAX_RINGS; i++)
            fb->ring_started[i] = fb->ring_enabled[i] = false;
        fb->features_set = false;
        fb->acked_features = 0;
        break;
    case VU_REQ_SET_MEM_TABLE:
        set_mem_table(fb, &p->mem, fds, nfds);
        break;
    case VU_REQ_ADD_MEM_REG:
        if (fd >= 0)
            map_region(fb, &p->single.region, fd);
        break;
    case VU_REQ_REM_MEM_REG:
        rem_mem_reg(fb, &p->single.region);
        break;
    case VU_REQ_SET_VRING_NUM:
        if (p->state.index < FB_MAX_RINGS)
            fb->ring_num[p->state.index] = p->state.num;
        break;
    case VU_REQ_SET_VRING_BASE:
        if (p->state.index < FB_MAX_RINGS)
            fb->ring_base[p->state.index] = p->state.num;
        break;
    case VU_REQ_SET_VRING_ENABLE:
        if (p->state.index < FB_MAX_RINGS)
            fb->ring_enabled[p->state.index] = p->state.num;
        break;
    case VU_REQ_SET_VRING_KICK:
    case VU_REQ_SET_VRING_CALL:
    case VU_REQ_SET_VRING_ERR:
        set_ring_fd(fb, req, p->u64, fd);
        return; /* fd kept */
    case VU_REQ_SET_BACKEND_REQ_FD:
        close_fd(&fb->chan_fd);
        fb->chan_fd = fd;
        return; /* fd kept */
    case VU_REQ_SET_CONFIG:
        if (p->config.hdr.offset < VU_CONFIG_MAX_SIZE &&
            p->config.hdr.size <= VU_CONFIG_MAX_SIZE - p->config.hdr.offset)
            memcpy(fb->config + p->config.hdr.offset, p->config.data, p->config.hdr.size);
        break;
    case VU_REQ_SET_STATUS:
        fb->status = p->u64;
        break;
    default:
        break;
    }
    for (unsigned int i = 0; i < nfds; i++)
        close(fds[i]);
}

void fb_handle(struct fake_backend *fb, uint32_t req, uint32_t flags,
               const union vu_wire_payload *p, uint32_t size, const int *fds, unsigned int nfds,
               bool nack)
{
    if (req == VU_REQ_SET_LOG_BASE && nfds == 1) {
        close_fd(&fb->log_fd);
        fb->log_fd = fds[0];
        fb->log_size = p->log.mmap_size;
        fds = NULL;
        nfds = 0;
    }
    if (handle_query(fb, req, p)) {
        for (unsigned int i = 0; i < nfds; i++)
            close(fds[i]);
        return;
    }
    handle_update(fb, req, p, fds, nfds);
    /* REPLY_ACK: ack only when negotiated and asked for (rust-vmm's rule). */
    if ((flags & VU_FLAG_NEED_REPLY) && has_pf_ack(fb))
        reply_u64(fb, req, nack ? 1 : 0);
    (void)size;
}
