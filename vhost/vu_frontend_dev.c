/*
 * Whole-device vhost-user requests of a session: config space, inflight buffer, reset, status,
 * back-end state transfer and the net-only SEND_RARP / NET_SET_MTU. Each is gated on its
 * protocol feature, so the 2017 profile can never send them (vhost-user.md §4, §10, §11).
 */
#include "vu_frontend_int.h"
#include "vu_names.h"

#include <errno.h>

#define CONFIG_SPACE_MAX 0x1000u /* rust-vmm's bound on offset + size */

static int check_config(struct vu_frontend *fe, const char *req, uint32_t offset, uint32_t size)
{
    if (size == 0 || size > VU_CONFIG_MAX_SIZE || offset > CONFIG_SPACE_MAX - size)
        return vu_frontend_fail(fe, -EINVAL, "%s offset=%u size=%u: out of range", req, offset,
                                size);
    return 0;
}

int vu_frontend_get_config(struct vu_frontend *fe, uint32_t offset, void *buf, uint32_t size)
{
    int ret = vu_frontend_gate(fe, VU_PF_CONFIG, VU_REQ_GET_CONFIG);

    if (ret == 0)
        ret = check_config(fe, "GET_CONFIG", offset, size);
    if (ret < 0)
        return ret;
    ret = vu_req_get_config(&fe->conn, offset, size, buf);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_CONFIG offset=%u size=%u", offset, size);
    return 0;
}

int vu_frontend_set_config(struct vu_frontend *fe, uint32_t offset, const void *buf, uint32_t size,
                           uint32_t flags)
{
    int ret = vu_frontend_gate(fe, VU_PF_CONFIG, VU_REQ_SET_CONFIG);

    if (ret == 0)
        ret = check_config(fe, "SET_CONFIG", offset, size);
    if (ret < 0)
        return ret;
    if (flags != VU_CONFIG_FLAG_WRITABLE && flags != VU_CONFIG_FLAG_MIGRATION)
        return vu_frontend_fail(fe, -EINVAL, "SET_CONFIG: flags %u", flags);
    ret = vu_req_set_config(&fe->conn, offset, size, flags, buf, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_CONFIG offset=%u size=%u", offset, size);
    return 0;
}

int vu_frontend_get_inflight(struct vu_frontend *fe, uint16_t num_queues, uint16_t queue_size,
                             struct vu_inflight *out)
{
    struct vu_wire_inflight wire;
    int ret = vu_frontend_gate(fe, VU_PF_INFLIGHT_SHMFD, VU_REQ_GET_INFLIGHT_FD);

    out->fd = -1;
    if (ret < 0)
        return ret;
    /* The buffer layout depends on split vs packed: features must be set first (pitfall 16). */
    if (!fe->features_set)
        return vu_frontend_fail(fe, -EINVAL, "GET_INFLIGHT_FD before SET_FEATURES");
    if (num_queues == 0 || queue_size == 0)
        return vu_frontend_fail(fe, -EINVAL, "GET_INFLIGHT_FD: %u queues of %u", num_queues,
                                queue_size);
    ret = vu_req_get_inflight_fd(&fe->conn, num_queues, queue_size, &wire, &out->fd);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_INFLIGHT_FD");
    out->mmap_size = wire.mmap_size;
    out->mmap_offset = wire.mmap_offset;
    out->num_queues = num_queues;
    out->queue_size = queue_size;
    return 0;
}

int vu_frontend_set_inflight(struct vu_frontend *fe, const struct vu_inflight *in)
{
    struct vu_wire_inflight wire = {
        .mmap_size = in->mmap_size,
        .mmap_offset = in->mmap_offset,
        .num_queues = in->num_queues,
        .queue_size = in->queue_size,
    };
    int ret = vu_frontend_gate(fe, VU_PF_INFLIGHT_SHMFD, VU_REQ_SET_INFLIGHT_FD);

    if (ret < 0)
        return ret;
    if (in->fd < 0 || in->mmap_size == 0)
        return vu_frontend_fail(fe, -EINVAL, "SET_INFLIGHT_FD: no buffer");
    ret = vu_req_set_inflight_fd(&fe->conn, &wire, in->fd, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_INFLIGHT_FD");
    return 0;
}

int vu_frontend_reset(struct vu_frontend *fe)
{
    bool has_reset_device = fe->proto & VU_BIT(VU_PF_RESET_DEVICE);
    /* The seed reset with RESET_OWNER; it is deprecated since (DPDK tears down on it). */
    uint32_t req = has_reset_device ? VU_REQ_RESET_DEVICE : VU_REQ_RESET_OWNER;
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, req);

    if (ret < 0)
        return ret;
    if (!has_reset_device && fe->profile != VU_PROFILE_2017)
        return vu_frontend_fail(fe, -EOPNOTSUPP,
                                "RESET_DEVICE: protocol feature "
                                "RESET_DEVICE not negotiated");
    ret = vu_req_send(&fe->conn, req, vu_frontend_wait(fe, false), NULL, 0, NULL, 0);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "%s", vu_name_request(req));
    /* The back-end disabled every ring and dropped acked features. */
    vu_frontend_forget_rings(fe);
    fe->features_set = false;
    fe->mem_set = false;
    fe->logging = false;
    fe->acked = 0;
    return 0;
}

int vu_frontend_set_status(struct vu_frontend *fe, uint8_t status)
{
    int ret = vu_frontend_gate(fe, VU_PF_STATUS, VU_REQ_SET_STATUS);

    if (ret < 0)
        return ret;
    ret = vu_req_set_status(&fe->conn, status, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_STATUS 0x%x", status);
    return 0;
}

int vu_frontend_get_status(struct vu_frontend *fe, uint8_t *status)
{
    uint64_t val;
    int ret = vu_frontend_gate(fe, VU_PF_STATUS, VU_REQ_GET_STATUS);

    if (ret < 0)
        return ret;
    ret = vu_req_get_status(&fe->conn, &val);
    if (ret == 0 && val > 0xff)
        ret = -EPROTO; /* the VIRTIO status is one byte */
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_STATUS");
    *status = (uint8_t)val;
    return 0;
}

int vu_frontend_set_device_state_fd(struct vu_frontend *fe, uint32_t direction, int fd,
                                    int *reply_fd)
{
    int ret = vu_frontend_gate(fe, VU_PF_DEVICE_STATE, VU_REQ_SET_DEVICE_STATE_FD);

    *reply_fd = -1;
    if (ret < 0)
        return ret;
    if (direction != VU_DEVSTATE_DIR_SAVE && direction != VU_DEVSTATE_DIR_LOAD)
        return vu_frontend_fail(fe, -EINVAL, "SET_DEVICE_STATE_FD: direction %u", direction);
    /* State moves only while the device is suspended: every ring stopped. */
    if (vu_frontend_any_ring_started(fe))
        return vu_frontend_fail(fe, -EBUSY, "SET_DEVICE_STATE_FD: rings are running");
    ret = vu_req_set_device_state_fd(&fe->conn, direction, VU_DEVSTATE_PHASE_STOPPED, fd, reply_fd);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_DEVICE_STATE_FD direction=%u", direction);
    return 0;
}

int vu_frontend_check_device_state(struct vu_frontend *fe)
{
    int ret = vu_frontend_gate(fe, VU_PF_DEVICE_STATE, VU_REQ_CHECK_DEVICE_STATE);

    if (ret < 0)
        return ret;
    ret = vu_req_check_device_state(&fe->conn);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "CHECK_DEVICE_STATE");
    return 0;
}

int vu_frontend_send_rarp(struct vu_frontend *fe, const uint8_t mac[6])
{
    int ret = vu_frontend_gate(fe, VU_PF_RARP, VU_REQ_SEND_RARP);

    if (ret < 0)
        return ret;
    ret = vu_req_send_rarp(&fe->conn, mac, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SEND_RARP");
    return 0;
}

int vu_frontend_net_set_mtu(struct vu_frontend *fe, uint32_t mtu)
{
    int ret = vu_frontend_gate(fe, VU_PF_NET_MTU, VU_REQ_NET_SET_MTU);

    if (ret < 0)
        return ret;
    if (mtu < 68 || mtu > 65535) /* DPDK's accepted range */
        return vu_frontend_fail(fe, -EINVAL, "NET_SET_MTU %u: not in 68..65535", mtu);
    /* With REPLY_ACK the back-end validates the MTU and a refusal fails device start. */
    ret = vu_req_net_set_mtu(&fe->conn, mtu, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "NET_SET_MTU %u", mtu);
    return 0;
}
