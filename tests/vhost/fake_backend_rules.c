/*
 * The fake back-end's protocol knowledge: per-request checks modelled on DPDK, rust-vmm and
 * libvhost-user (vhost-user.md §15 and §14.3), and handlers that keep just enough state for
 * the tests (memory mappings, ring fds, negotiated features) and send the replies.
 */
#include "fake_backend_rules.h"

#include <string.h>

static bool has_pf(const struct fake_backend *fb, unsigned int bit)
{
    return fb->acked_protocol & VU_BIT(bit);
}

/* Protocol feature gating each request; -1 for none. */
static int request_gate(uint32_t req)
{
    switch (req) {
    case VU_REQ_GET_QUEUE_NUM:
        return VU_PF_MQ;
    case VU_REQ_SET_LOG_BASE:
        return VU_PF_LOG_SHMFD;
    case VU_REQ_SEND_RARP:
        return VU_PF_RARP;
    case VU_REQ_NET_SET_MTU:
        return VU_PF_NET_MTU;
    case VU_REQ_SET_BACKEND_REQ_FD:
        return VU_PF_BACKEND_REQ;
    case VU_REQ_GET_CONFIG:
    case VU_REQ_SET_CONFIG:
        return VU_PF_CONFIG;
    case VU_REQ_GET_INFLIGHT_FD:
    case VU_REQ_SET_INFLIGHT_FD:
        return VU_PF_INFLIGHT_SHMFD;
    case VU_REQ_RESET_DEVICE:
        return VU_PF_RESET_DEVICE;
    case VU_REQ_GET_MAX_MEM_SLOTS:
    case VU_REQ_ADD_MEM_REG:
    case VU_REQ_REM_MEM_REG:
        return VU_PF_CONFIGURE_MEM_SLOTS;
    case VU_REQ_SET_STATUS:
    case VU_REQ_GET_STATUS:
        return VU_PF_STATUS;
    case VU_REQ_SET_DEVICE_STATE_FD:
    case VU_REQ_CHECK_DEVICE_STATE:
        return VU_PF_DEVICE_STATE;
    default:
        return -1;
    }
}

/* Exact payload size a strict back-end (rust-vmm check_request_size) expects; -1: variable. */
static long expected_size(uint32_t req, uint32_t size, const union vu_wire_payload *p)
{
    switch (req) {
    case VU_REQ_SET_FEATURES:
    case VU_REQ_SET_PROTOCOL_FEATURES:
    case VU_REQ_SET_VRING_NUM:
    case VU_REQ_SET_VRING_BASE:
    case VU_REQ_GET_VRING_BASE:
    case VU_REQ_SET_VRING_KICK:
    case VU_REQ_SET_VRING_CALL:
    case VU_REQ_SET_VRING_ERR:
    case VU_REQ_SET_VRING_ENABLE:
    case VU_REQ_SEND_RARP:
    case VU_REQ_NET_SET_MTU:
    case VU_REQ_SET_STATUS:
    case VU_REQ_SET_DEVICE_STATE_FD:
        return 8;
    case VU_REQ_SET_VRING_ADDR:
    case VU_REQ_ADD_MEM_REG:
    case VU_REQ_REM_MEM_REG:
        return 40;
    case VU_REQ_SET_LOG_BASE:
        return 16;
    case VU_REQ_GET_INFLIGHT_FD:
    case VU_REQ_SET_INFLIGHT_FD:
        return 24;
    case VU_REQ_SET_MEM_TABLE:
        return size < 8 ? 8 : 8 + 32L * p->mem.nregions;
    case VU_REQ_GET_CONFIG:
    case VU_REQ_SET_CONFIG:
        return size < 12 ? 12 : 12L + p->config.hdr.size;
    default:
        return 0;
    }
}

static unsigned int expected_fds(const struct fake_backend *fb, uint32_t req,
                                 const union vu_wire_payload *p)
{
    switch (req) {
    case VU_REQ_SET_VRING_KICK:
    case VU_REQ_SET_VRING_CALL:
    case VU_REQ_SET_VRING_ERR:
        return (p->u64 & VU_VRING_NOFD_MASK) ? 0 : 1;
    case VU_REQ_SET_MEM_TABLE:
        return p->mem.nregions;
    case VU_REQ_SET_LOG_BASE:
        return has_pf(fb, VU_PF_LOG_SHMFD) ? 1 : 0;
    case VU_REQ_ADD_MEM_REG:
    case VU_REQ_SET_LOG_FD:
    case VU_REQ_SET_BACKEND_REQ_FD:
    case VU_REQ_SET_INFLIGHT_FD:
    case VU_REQ_SET_DEVICE_STATE_FD:
        return 1;
    default:
        return 0;
    }
}

static bool is_ring_request(uint32_t req)
{
    return req == VU_REQ_SET_VRING_NUM || req == VU_REQ_SET_VRING_BASE ||
           req == VU_REQ_GET_VRING_BASE || req == VU_REQ_SET_VRING_ADDR ||
           req == VU_REQ_SET_VRING_ENABLE || req == VU_REQ_SET_VRING_KICK ||
           req == VU_REQ_SET_VRING_CALL || req == VU_REQ_SET_VRING_ERR;
}

static uint32_t ring_index(uint32_t req, const union vu_wire_payload *p)
{
    if (req == VU_REQ_SET_VRING_KICK || req == VU_REQ_SET_VRING_CALL || req == VU_REQ_SET_VRING_ERR)
        return (uint32_t)(p->u64 & VU_VRING_IDX_MASK);
    return p->state.index; /* also addr.index: both first */
}

static void check_mem_table(struct fake_backend *fb, const struct vu_wire_mem_table *t)
{
    if (t->nregions == 0 || t->nregions > VU_MEM_MAX_REGIONS)
        fb_violation(fb, "SET_MEM_TABLE: %u regions", t->nregions);
    if (t->padding)
        fb_violation(fb, "SET_MEM_TABLE: padding %u", t->padding);
    for (uint32_t i = 0; i < t->nregions && i < VU_MEM_MAX_REGIONS; i++) {
        const struct vu_wire_region *r = &t->regions[i];

        if (r->size == 0 || r->mmap_offset + r->size < r->mmap_offset ||
            r->gpa + r->size < r->gpa || r->uaddr + r->size < r->uaddr)
            fb_violation(fb, "SET_MEM_TABLE: region %u empty or wraps", i);
    }
}

static void check_semantics(struct fake_backend *fb, uint32_t req, const union vu_wire_payload *p)
{
    switch (req) {
    case VU_REQ_GET_PROTOCOL_FEATURES:
    case VU_REQ_SET_PROTOCOL_FEATURES:
        if (!(fb->cfg.features & VU_BIT(VU_F_PROTOCOL_FEATURES)))
            fb_violation(fb, "protocol features without bit 30 offered");
        if (req == VU_REQ_SET_PROTOCOL_FEATURES && (p->u64 & ~fb->cfg.protocol_features))
            fb_violation(fb, "SET_PROTOCOL_FEATURES 0x%llx: not offered",
                         (unsigned long long)(p->u64 & ~fb->cfg.protocol_features));
        break;
    case VU_REQ_SET_FEATURES:
        if (p->u64 & ~fb->cfg.features)
            fb_violation(fb, "SET_FEATURES 0x%llx: not offered",
                         (unsigned long long)(p->u64 & ~fb->cfg.features));
        break;
    case VU_REQ_SET_OWNER:
        if (fb->owner_set)
            fb_violation(fb, "second SET_OWNER");
        break;
    case VU_REQ_SET_VRING_ENABLE:
        if (!fb->features_set || !(fb->acked_features & VU_BIT(VU_F_PROTOCOL_FEATURES)))
            fb_violation(fb, "SET_VRING_ENABLE before SET_FEATURES with bit 30");
        if (p->state.num > 1)
            fb_violation(fb, "SET_VRING_ENABLE num=%u", p->state.num);
        break;
    case VU_REQ_SET_VRING_NUM:
        if (p->state.num == 0 || p->state.num > 32768 || (p->state.num & (p->state.num - 1)))
            fb_violation(fb, "SET_VRING_NUM %u", p->state.num);
        break;
    case VU_REQ_SET_VRING_ADDR:
        if (fb->nregions == 0)
            fb_violation(fb, "SET_VRING_ADDR before any memory table");
        if ((p->addr.flags & ~VU_VRING_F_LOG) || p->addr.desc % 16 || p->addr.avail % 2 ||
            p->addr.used % 4)
            fb_violation(fb, "SET_VRING_ADDR: bad flags or alignment");
        break;
    case VU_REQ_GET_VRING_BASE:
        if (p->state.index < FB_MAX_RINGS && !fb->ring_started[p->state.index])
            fb_violation(fb, "GET_VRING_BASE on ring %u that was not started", p->state.index);
        break;
    case VU_REQ_SET_MEM_TABLE:
        check_mem_table(fb, &p->mem);
        break;
    case VU_REQ_SET_STATUS:
        if (p->u64 > 0xff)
            fb_violation(fb, "SET_STATUS 0x%llx", (unsigned long long)p->u64);
        break;
    case VU_REQ_NET_SET_MTU:
        if (p->u64 < 68 || p->u64 > 65535)
            fb_violation(fb, "NET_SET_MTU %llu", (unsigned long long)p->u64);
        break;
    case VU_REQ_SET_CONFIG:
        if (p->config.hdr.size == 0 || p->config.hdr.size > VU_CONFIG_MAX_SIZE)
            fb_violation(fb, "SET_CONFIG size %u", p->config.hdr.size);
        break;
    case VU_REQ_GET_INFLIGHT_FD:
    case VU_REQ_SET_INFLIGHT_FD:
        if (p->inflight.num_queues == 0 || p->inflight.queue_size == 0)
            fb_violation(fb, "INFLIGHT: zero queues or queue size");
        break;
    default:
        break;
    }
}

void fb_check_request(struct fake_backend *fb, uint32_t req, uint32_t flags, uint32_t size,
                      const union vu_wire_payload *p, unsigned int nfds)
{
    long want;
    int gate;

    if (req == VU_REQ_NONE || req > VU_REQ_MAX) {
        fb_violation(fb, "unknown request %u", req);
        return;
    }
    if ((flags & VU_FLAG_VERSION_MASK) != VU_VERSION || (flags & VU_FLAG_REPLY) ||
        (flags & VU_FLAGS_RESERVED))
        fb_violation(fb, "%u: bad flags 0x%x", req, flags);
    if ((flags & VU_FLAG_NEED_REPLY) && !has_pf(fb, VU_PF_REPLY_ACK))
        fb_violation(fb, "%u: NEED_REPLY without REPLY_ACK", req);
    want = expected_size(req, size, p);
    if (want >= 0 && (long)size != want) {
        fb_violation(fb, "%u: size %u, expected %ld", req, size, want);
        return; /* the payload cannot be trusted further */
    }
    if (nfds != expected_fds(fb, req, p))
        fb_violation(fb, "%u: %u fds, expected %u", req, nfds, expected_fds(fb, req, p));
    gate = request_gate(req);
    if (gate >= 0 && !has_pf(fb, (unsigned int)gate))
        fb_violation(fb, "%u: protocol feature %d not negotiated", req, gate);
    if (is_ring_request(req) && ring_index(req, p) >= FB_MAX_RINGS)
        fb_violation(fb, "%u: ring index %u out of range", req, ring_index(req, p));
    check_semantics(fb, req, p);
}
