/*
 * Ring start and stop for a vhost-user session (vhost-user.md §7, §12 "Start"/"Stop"), and
 * turning dirty logging on and off, which re-sends every running ring's address.
 */
#include "vu_frontend_int.h"

#include <errno.h>
#include <unistd.h>

/* True if [addr, addr + len) lies inside one region's user-address range. */
static bool in_one_region(const struct vu_frontend *fe, uint64_t addr, uint64_t len)
{
    for (unsigned int i = 0; i < fe->nregions; i++) {
        const struct vu_region *r = &fe->regions[i];

        if (addr >= r->uaddr && addr - r->uaddr <= r->size && len <= r->size - (addr - r->uaddr))
            return true;
    }
    return false;
}

/*
 * A ring outside the table makes DPDK silently never start the device and libvhost-user
 * panic; rust-vmm rejects misaligned rings. Catch both here, with a message. Sizes include the
 * event-index fields (virtio 1.x split ring).
 */
static int check_ring(struct vu_frontend *fe, const struct vu_ring_cfg *c)
{
    const struct {
        const char *what;
        uint64_t addr, len, align;
    } parts[] = {
        {"descriptor table", c->desc_uaddr, 16ULL * c->num, 16},
        {"avail ring", c->avail_uaddr, 6 + 2ULL * c->num, 2},
        {"used ring", c->used_uaddr, 6 + 8ULL * c->num, 4},
    };

    if (c->index > VU_VRING_IDX_MASK)
        return vu_frontend_fail(fe, -EINVAL, "ring %u: index above %u", c->index,
                                VU_VRING_IDX_MASK);
    if (c->num == 0 || c->num > VU_MAX_RING_SIZE)
        return vu_frontend_fail(fe, -EINVAL, "ring %u: size %u not in 1..%u", c->index, c->num,
                                VU_MAX_RING_SIZE);
    for (unsigned int i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (parts[i].addr % parts[i].align)
            return vu_frontend_fail(fe, -EINVAL, "ring %u: %s 0x%llx not %llu-byte aligned",
                                    c->index, parts[i].what, (unsigned long long)parts[i].addr,
                                    (unsigned long long)parts[i].align);
        if (!in_one_region(fe, parts[i].addr, parts[i].len))
            return vu_frontend_fail(fe, -EINVAL, "ring %u: %s 0x%llx+%llu not inside one region",
                                    c->index, parts[i].what, (unsigned long long)parts[i].addr,
                                    (unsigned long long)parts[i].len);
    }
    return 0;
}

static struct vu_wire_vring_addr wire_addr(const struct vu_ring_cfg *c, bool logging)
{
    return (struct vu_wire_vring_addr){
        .index = c->index,
        .flags = logging ? VU_VRING_F_LOG : 0,
        .desc = c->desc_uaddr,
        .used = c->used_uaddr,
        .avail = c->avail_uaddr,
        .log = c->used_gpa,
    };
}

static int send_ring(struct vu_frontend *fe, const struct vu_ring_cfg *c)
{
    struct vu_wire_vring_addr addr = wire_addr(c, fe->logging);
    enum vu_wait wait = vu_frontend_wait(fe, false);
    uint32_t q = c->index;
    int ret;

    ret = vu_req_set_vring_num(&fe->conn, q, c->num, wait);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_NUM q=%u num=%u", q, c->num);
    ret = vu_req_set_vring_base(&fe->conn, q, c->base, wait);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_BASE q=%u base=%u", q, c->base);
    /* With F_LOG, QEMU waits: used-ring writes must be logged before migration trusts it. */
    ret = vu_req_set_vring_addr(&fe->conn, &addr, vu_frontend_wait(fe, fe->logging));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_ADDR q=%u", q);
    ret = vu_req_set_vring_kick(&fe->conn, q, c->kick_fd, wait);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_KICK q=%u", q);
    /* S-NEW: SET_VRING_KICK starts the ring; from here on it must be stopped to restart. */
    fe->rings[q].cfg = *c;
    fe->rings[q].started = true;
    ret = vu_req_set_vring_call(&fe->conn, q, c->call_fd, wait);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_CALL q=%u", q);
    if (c->err_fd >= 0) {
        ret = vu_req_set_vring_err(&fe->conn, q, c->err_fd, wait);
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "SET_VRING_ERR q=%u", q);
    }
    return 0;
}

int vu_frontend_start_ring(struct vu_frontend *fe, const struct vu_ring_cfg *cfg)
{
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, VU_REQ_SET_VRING_NUM);

    if (ret < 0)
        return ret;
    if (!fe->features_set || !fe->mem_set)
        return vu_frontend_fail(fe, -EINVAL,
                                "ring %u: start needs SET_FEATURES and a memory "
                                "table first",
                                cfg->index);
    ret = check_ring(fe, cfg);
    if (ret < 0)
        return ret;
    if (fe->rings[cfg->index].started)
        return vu_frontend_fail(fe, -EBUSY, "ring %u: already started", cfg->index);
    ret = send_ring(fe, cfg);
    if (ret < 0)
        return ret;
    /* vhost-user: with bit 30 rings start disabled; the enable must be known processed
     * before the guest's first kick can reach the back-end's data plane (QEMU waits too). */
    if (vu_frontend_rings_need_enable(fe)) {
        ret = vu_req_set_vring_enable(&fe->conn, cfg->index, true, vu_frontend_wait(fe, true));
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "SET_VRING_ENABLE q=%u on", cfg->index);
    }
    /* S-NEW: "the front-end SHOULD write the kick fd once right after SET_VRING_KICK" —
     * some back-ends only look at a ring when kicked, and buffers may already be queued. */
    if (cfg->kick_fd >= 0) {
        uint64_t one = 1;

        if (write(cfg->kick_fd, &one, sizeof(one)) != sizeof(one))
            vu_log(VU_LOG_WARN, "%s: ring %u: initial kick failed", fe->name, cfg->index);
    }
    return 0;
}

int vu_frontend_stop_ring(struct vu_frontend *fe, uint32_t index, uint32_t *base)
{
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, VU_REQ_GET_VRING_BASE);

    if (ret < 0)
        return ret;
    /* Only rings we set up: GET_VRING_BASE on others is an edge case back-ends get wrong. */
    if (index >= VU_MAX_RINGS || !fe->rings[index].started)
        return vu_frontend_fail(fe, -EINVAL, "GET_VRING_BASE q=%u: ring not started", index);
    /* QEMU >= 7.2 order: disable, then stop. */
    if (vu_frontend_rings_need_enable(fe)) {
        ret = vu_req_set_vring_enable(&fe->conn, index, false, vu_frontend_wait(fe, true));
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "SET_VRING_ENABLE q=%u off", index);
    }
    ret = vu_req_get_vring_base(&fe->conn, index, base);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_VRING_BASE q=%u", index);
    /* The back-end has closed its kick/call fds and forgotten the addresses (DPDK, LVU). */
    fe->rings[index].started = false;
    fe->rings[index].cfg.base = *base;
    return 0;
}

bool vu_frontend_ring_started(const struct vu_frontend *fe, uint32_t index)
{
    return index < VU_MAX_RINGS && fe->rings[index].started;
}

int vu_frontend_enable_ring(struct vu_frontend *fe, uint32_t index, bool enable)
{
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, VU_REQ_SET_VRING_ENABLE);

    if (ret < 0)
        return ret;
    if (index >= VU_MAX_RINGS || !fe->rings[index].started)
        return vu_frontend_fail(fe, -EINVAL, "SET_VRING_ENABLE q=%u: ring not started", index);
    /* vhost-user: SET_VRING_ENABLE only exists once bit 30 went out with SET_FEATURES. */
    if (!vu_frontend_rings_need_enable(fe))
        return -EOPNOTSUPP;
    ret = vu_req_set_vring_enable(&fe->conn, index, enable, vu_frontend_wait(fe, true));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_VRING_ENABLE q=%u %s", index,
                                      enable ? "on" : "off");
    return 0;
}

int vu_frontend_set_logging(struct vu_frontend *fe, bool on)
{
    uint64_t guest = fe->acked & ~(VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_LOG_ALL));
    int ret = vu_frontend_gate(fe, VU_PF_LOG_SHMFD, VU_REQ_SET_FEATURES);

    if (ret < 0)
        return ret;
    if (on == fe->logging)
        return 0;
    if (!(fe->features & VU_BIT(VU_F_LOG_ALL)))
        return vu_frontend_fail(fe, -EOPNOTSUPP, "SET_FEATURES: back-end lacks LOG_ALL");
    if (on && !fe->log_base_set)
        return vu_frontend_fail(fe, -EINVAL, "SET_FEATURES: logging needs SET_LOG_BASE first");
    if (!fe->features_set)
        return vu_frontend_fail(fe, -EINVAL, "SET_FEATURES: logging before feature negotiation");
    ret = vu_frontend_send_features(fe, guest, on);
    if (ret < 0)
        return ret;
    /* Used-ring writes are logged per ring (VHOST_VRING_F_LOG): re-send running rings. */
    for (unsigned int q = 0; q < VU_MAX_RINGS; q++) {
        struct vu_wire_vring_addr addr;

        if (!fe->rings[q].started)
            continue;
        addr = wire_addr(&fe->rings[q].cfg, on);
        ret = vu_req_set_vring_addr(&fe->conn, &addr, vu_frontend_wait(fe, true));
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "SET_VRING_ADDR q=%u log=%d", q, on);
    }
    return 0;
}
