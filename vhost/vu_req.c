/*
 * Typed vhost-user requests over a vu_conn. A handful of helpers per message shape build the
 * payload, send it, wait as asked (REPLY_ACK or a GET_FEATURES barrier, vhost-user.md §6.3) and
 * validate replies the way QEMU and rust-vmm do (§15, "Reply-side checks").
 */
#include "vu_req.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int vu_req_read_reply(struct vu_conn *c, uint32_t request, struct vu_msg *reply)
{
    int ret = vu_conn_recv(c, reply);

    if (ret < 0)
        return ret;
    if (reply->hdr.flags != VU_REPLY_FLAGS || reply->hdr.request != request) {
        vu_conn_drop_fds(reply);
        return -EPROTO;
    }
    return 0;
}

/* Reads a reply of exactly `size` bytes and no fds. */
static int read_fixed_reply(struct vu_conn *c, uint32_t request, struct vu_msg *reply,
                            uint32_t size)
{
    int ret = vu_req_read_reply(c, request, reply);

    if (ret < 0)
        return ret;
    if (reply->hdr.size != size || reply->nfds) {
        vu_conn_drop_fds(reply);
        return -EPROTO;
    }
    return 0;
}

static int read_u64_reply(struct vu_conn *c, uint32_t request, uint64_t *val)
{
    struct vu_msg reply;
    int ret = read_fixed_reply(c, request, &reply, sizeof(uint64_t));

    if (ret == 0)
        *val = reply.payload.u64;
    return ret;
}

static int send_msg(struct vu_conn *c, uint32_t request, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned int nfds)
{
    struct vu_wire_hdr hdr = {.request = request, .flags = VU_VERSION | flags, .size = size};

    /* Request 0 is VHOST_USER_NONE: libvhost-user exit(0)s on it. */
    if (request == VU_REQ_NONE || request > VU_REQ_MAX)
        return -EINVAL;
    return vu_conn_send(c, &hdr, payload, fds, nfds);
}

int vu_req_send(struct vu_conn *c, uint32_t request, enum vu_wait wait, const void *payload,
                uint32_t size, const int *fds, unsigned int nfds)
{
    uint32_t flags = wait == VU_WAIT_ACK ? VU_FLAG_NEED_REPLY : 0;
    uint64_t ack;
    int ret;

    ret = send_msg(c, request, flags, payload, size, fds, nfds);
    if (ret < 0)
        return ret;
    switch (wait) {
    case VU_WAIT_ACK:
        ret = read_u64_reply(c, request, &ack);
        if (ret == 0 && ack != 0)
            ret = -EIO; /* REPLY_ACK: non-zero means the back-end failed the request */
        return ret;
    case VU_WAIT_BARRIER:
        return vu_req_get_u64(c, VU_REQ_GET_FEATURES, &ack);
    case VU_WAIT_NONE:
        break;
    }
    return 0;
}

int vu_req_get_u64(struct vu_conn *c, uint32_t request, uint64_t *val)
{
    int ret = send_msg(c, request, 0, NULL, 0, NULL, 0);

    return ret < 0 ? ret : read_u64_reply(c, request, val);
}

int vu_req_set_u64(struct vu_conn *c, uint32_t request, uint64_t val, enum vu_wait wait)
{
    return vu_req_send(c, request, wait, &val, sizeof(val), NULL, 0);
}

int vu_req_vring_state(struct vu_conn *c, uint32_t request, uint32_t index, uint32_t num,
                       enum vu_wait wait)
{
    struct vu_wire_vring_state s = {.index = index, .num = num};

    return vu_req_send(c, request, wait, &s, sizeof(s), NULL, 0);
}

/* Kick/call/err: the NOFD bit is set exactly when no fd is attached (DPDK and rust-vmm check). */
int vu_req_vring_fd(struct vu_conn *c, uint32_t request, uint32_t index, int fd, enum vu_wait wait)
{
    uint64_t val = index & VU_VRING_IDX_MASK;

    if (index > VU_VRING_IDX_MASK)
        return -EINVAL;
    if (fd < 0)
        val |= VU_VRING_NOFD_MASK;
    return vu_req_send(c, request, wait, &val, sizeof(val), &fd, fd >= 0 ? 1 : 0);
}

int vu_req_mem_region(struct vu_conn *c, uint32_t request, const struct vu_wire_region *r, int fd,
                      enum vu_wait wait)
{
    struct vu_wire_single_region s = {.padding = 0, .region = *r};

    return vu_req_send(c, request, wait, &s, sizeof(s), &fd, fd >= 0 ? 1 : 0);
}

int vu_req_set_owner(struct vu_conn *c, enum vu_wait wait)
{
    return vu_req_send(c, VU_REQ_SET_OWNER, wait, NULL, 0, NULL, 0);
}

int vu_req_reset_owner(struct vu_conn *c, enum vu_wait wait)
{
    return vu_req_send(c, VU_REQ_RESET_OWNER, wait, NULL, 0, NULL, 0);
}

int vu_req_reset_device(struct vu_conn *c, enum vu_wait wait)
{
    return vu_req_send(c, VU_REQ_RESET_DEVICE, wait, NULL, 0, NULL, 0);
}

int vu_req_get_features(struct vu_conn *c, uint64_t *features)
{
    return vu_req_get_u64(c, VU_REQ_GET_FEATURES, features);
}

int vu_req_get_protocol_features(struct vu_conn *c, uint64_t *features)
{
    return vu_req_get_u64(c, VU_REQ_GET_PROTOCOL_FEATURES, features);
}

int vu_req_get_queue_num(struct vu_conn *c, uint64_t *num)
{
    return vu_req_get_u64(c, VU_REQ_GET_QUEUE_NUM, num);
}

int vu_req_get_max_mem_slots(struct vu_conn *c, uint64_t *slots)
{
    return vu_req_get_u64(c, VU_REQ_GET_MAX_MEM_SLOTS, slots);
}

int vu_req_get_status(struct vu_conn *c, uint64_t *status)
{
    return vu_req_get_u64(c, VU_REQ_GET_STATUS, status);
}

int vu_req_check_device_state(struct vu_conn *c)
{
    uint64_t result;
    int ret = vu_req_get_u64(c, VU_REQ_CHECK_DEVICE_STATE, &result);

    return ret < 0 ? ret : result ? -EIO : 0;
}

int vu_req_set_features(struct vu_conn *c, uint64_t features, enum vu_wait wait)
{
    return vu_req_set_u64(c, VU_REQ_SET_FEATURES, features, wait);
}

int vu_req_set_protocol_features(struct vu_conn *c, uint64_t features, enum vu_wait wait)
{
    return vu_req_set_u64(c, VU_REQ_SET_PROTOCOL_FEATURES, features, wait);
}

int vu_req_set_status(struct vu_conn *c, uint64_t status, enum vu_wait wait)
{
    return vu_req_set_u64(c, VU_REQ_SET_STATUS, status, wait);
}

int vu_req_net_set_mtu(struct vu_conn *c, uint64_t mtu, enum vu_wait wait)
{
    return vu_req_set_u64(c, VU_REQ_NET_SET_MTU, mtu, wait);
}

int vu_req_send_rarp(struct vu_conn *c, const uint8_t mac[6], enum vu_wait wait)
{
    uint64_t val = 0;

    memcpy(&val, mac, 6);
    return vu_req_set_u64(c, VU_REQ_SEND_RARP, val, wait);
}

int vu_req_set_vring_num(struct vu_conn *c, uint32_t index, uint32_t num, enum vu_wait wait)
{
    return vu_req_vring_state(c, VU_REQ_SET_VRING_NUM, index, num, wait);
}

int vu_req_set_vring_base(struct vu_conn *c, uint32_t index, uint32_t base, enum vu_wait wait)
{
    return vu_req_vring_state(c, VU_REQ_SET_VRING_BASE, index, base, wait);
}

int vu_req_set_vring_enable(struct vu_conn *c, uint32_t index, bool enable, enum vu_wait wait)
{
    return vu_req_vring_state(c, VU_REQ_SET_VRING_ENABLE, index, enable ? 1 : 0, wait);
}

int vu_req_get_vring_base(struct vu_conn *c, uint32_t index, uint32_t *base)
{
    struct vu_wire_vring_state s = {.index = index, .num = 0};
    struct vu_msg reply;
    int ret;

    ret = send_msg(c, VU_REQ_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0);
    if (ret < 0)
        return ret;
    ret = read_fixed_reply(c, VU_REQ_GET_VRING_BASE, &reply, sizeof(s));
    if (ret < 0)
        return ret;
    if (reply.payload.state.index != index)
        return -EPROTO;
    *base = reply.payload.state.num;
    return 0;
}

int vu_req_set_vring_addr(struct vu_conn *c, const struct vu_wire_vring_addr *a, enum vu_wait wait)
{
    return vu_req_send(c, VU_REQ_SET_VRING_ADDR, wait, a, sizeof(*a), NULL, 0);
}

int vu_req_set_vring_kick(struct vu_conn *c, uint32_t index, int fd, enum vu_wait wait)
{
    return vu_req_vring_fd(c, VU_REQ_SET_VRING_KICK, index, fd, wait);
}

int vu_req_set_vring_call(struct vu_conn *c, uint32_t index, int fd, enum vu_wait wait)
{
    return vu_req_vring_fd(c, VU_REQ_SET_VRING_CALL, index, fd, wait);
}

int vu_req_set_vring_err(struct vu_conn *c, uint32_t index, int fd, enum vu_wait wait)
{
    return vu_req_vring_fd(c, VU_REQ_SET_VRING_ERR, index, fd, wait);
}

int vu_req_set_mem_table(struct vu_conn *c, const struct vu_wire_region *regions, const int *fds,
                         unsigned int n, enum vu_wait wait)
{
    struct vu_wire_mem_table t = {.nregions = n, .padding = 0};

    if (n == 0 || n > VU_MEM_MAX_REGIONS)
        return -EINVAL;
    memcpy(t.regions, regions, sizeof(regions[0]) * n);
    /* QEMU sends only the used entries: 8 + 32 * n bytes, the fds in region order. */
    return vu_req_send(c, VU_REQ_SET_MEM_TABLE, wait, &t, (uint32_t)(8 + sizeof(regions[0]) * n),
                       fds, n);
}

int vu_req_add_mem_reg(struct vu_conn *c, const struct vu_wire_region *r, int fd, enum vu_wait wait)
{
    if (fd < 0)
        return -EBADF; /* ADD_MEM_REG carries exactly one fd */
    return vu_req_mem_region(c, VU_REQ_ADD_MEM_REG, r, fd, wait);
}

int vu_req_rem_mem_reg(struct vu_conn *c, const struct vu_wire_region *r, enum vu_wait wait)
{
    return vu_req_mem_region(c, VU_REQ_REM_MEM_REG, r, -1, wait);
}

int vu_req_set_log_base(struct vu_conn *c, uint64_t size, uint64_t offset, int fd)
{
    struct vu_wire_log log = {.mmap_size = size, .mmap_offset = offset};
    struct vu_msg reply;
    int ret;

    ret = send_msg(c, VU_REQ_SET_LOG_BASE, 0, &log, sizeof(log), &fd, fd >= 0 ? 1 : 0);
    if (ret < 0 || fd < 0)
        return ret;
    /* LOG_SHMFD: the reply has no specified payload; DPDK sends 0 bytes, libvhost-user 8. */
    ret = vu_req_read_reply(c, VU_REQ_SET_LOG_BASE, &reply);
    if (ret < 0)
        return ret;
    if ((reply.hdr.size != 0 && reply.hdr.size != sizeof(uint64_t)) || reply.nfds) {
        vu_conn_drop_fds(&reply);
        return -EPROTO;
    }
    return 0;
}

int vu_req_set_log_fd(struct vu_conn *c, int fd, enum vu_wait wait)
{
    if (fd < 0)
        return -EBADF;
    return vu_req_send(c, VU_REQ_SET_LOG_FD, wait, NULL, 0, &fd, 1);
}

int vu_req_set_backend_req_fd(struct vu_conn *c, int fd, enum vu_wait wait)
{
    if (fd < 0)
        return -EBADF;
    return vu_req_send(c, VU_REQ_SET_BACKEND_REQ_FD, wait, NULL, 0, &fd, 1);
}

int vu_req_get_config(struct vu_conn *c, uint32_t offset, uint32_t size, void *buf)
{
    struct vu_wire_config cfg = {.hdr = {.offset = offset, .size = size, .flags = 0}};
    uint32_t len = (uint32_t)sizeof(cfg.hdr) + size;
    struct vu_msg reply;
    int ret;

    if (size == 0 || size > VU_CONFIG_MAX_SIZE)
        return -EINVAL;
    ret = send_msg(c, VU_REQ_GET_CONFIG, 0, &cfg, len, NULL, 0);
    if (ret < 0)
        return ret;
    ret = read_fixed_reply(c, VU_REQ_GET_CONFIG, &reply, len);
    if (ret < 0)
        return ret;
    if (reply.payload.config.hdr.offset != offset || reply.payload.config.hdr.size != size)
        return -EPROTO;
    memcpy(buf, reply.payload.config.data, size);
    return 0;
}

int vu_req_set_config(struct vu_conn *c, uint32_t offset, uint32_t size, uint32_t flags,
                      const void *buf, enum vu_wait wait)
{
    struct vu_wire_config cfg = {.hdr = {.offset = offset, .size = size, .flags = flags}};

    if (size == 0 || size > VU_CONFIG_MAX_SIZE)
        return -EINVAL;
    memcpy(cfg.data, buf, size);
    return vu_req_send(c, VU_REQ_SET_CONFIG, wait, &cfg, (uint32_t)sizeof(cfg.hdr) + size, NULL, 0);
}

int vu_req_get_inflight_fd(struct vu_conn *c, uint16_t num_queues, uint16_t queue_size,
                           struct vu_wire_inflight *out, int *fd)
{
    struct vu_wire_inflight in = {.num_queues = num_queues, .queue_size = queue_size};
    struct vu_msg reply;
    int ret;

    *fd = -1;
    ret = send_msg(c, VU_REQ_GET_INFLIGHT_FD, 0, &in, sizeof(in), NULL, 0);
    if (ret < 0)
        return ret;
    ret = vu_req_read_reply(c, VU_REQ_GET_INFLIGHT_FD, &reply);
    if (ret < 0)
        return ret;
    /* One fd with a non-empty buffer; mmap_size 0 (no fd) means "no inflight buffer". */
    if (reply.hdr.size != sizeof(in) || reply.nfds > 1 ||
        (reply.payload.inflight.mmap_size != 0) != (reply.nfds == 1)) {
        vu_conn_drop_fds(&reply);
        return -EPROTO;
    }
    *out = reply.payload.inflight;
    if (reply.nfds)
        *fd = reply.fds[0];
    return 0;
}

int vu_req_set_inflight_fd(struct vu_conn *c, const struct vu_wire_inflight *in, int fd,
                           enum vu_wait wait)
{
    if (fd < 0)
        return -EBADF;
    return vu_req_send(c, VU_REQ_SET_INFLIGHT_FD, wait, in, sizeof(*in), &fd, 1);
}

int vu_req_set_device_state_fd(struct vu_conn *c, uint32_t direction, uint32_t phase, int fd,
                               int *reply_fd)
{
    struct vu_wire_device_state s = {.direction = direction, .phase = phase};
    struct vu_msg reply;
    uint64_t val;
    int ret;

    *reply_fd = -1;
    if (fd < 0)
        return -EBADF;
    ret = send_msg(c, VU_REQ_SET_DEVICE_STATE_FD, 0, &s, sizeof(s), &fd, 1);
    if (ret < 0)
        return ret;
    ret = vu_req_read_reply(c, VU_REQ_SET_DEVICE_STATE_FD, &reply);
    if (ret < 0)
        return ret;
    val = reply.payload.u64;
    if (reply.hdr.size != sizeof(val) || reply.nfds > 1) {
        vu_conn_drop_fds(&reply);
        return -EPROTO;
    }
    if (val & VU_DEVSTATE_REPLY_ERR_MASK) {
        vu_conn_drop_fds(&reply); /* an error together with an fd is forbidden: drop it */
        return -EIO;
    }
    /* Bit 8 says "no fd returned"; without it exactly one fd replaces ours. */
    if ((reply.nfds == 1) == !!(val & VU_DEVSTATE_REPLY_NOFD)) {
        vu_conn_drop_fds(&reply);
        return -EPROTO;
    }
    if (reply.nfds)
        *reply_fd = reply.fds[0];
    return 0;
}
