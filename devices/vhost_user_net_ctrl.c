/*
 * The virtio-net control queue, served by the VMM (virtio 1.2, 5.1.6.5): each chain is a
 * class/command header and its data (device-readable) followed by an ack byte
 * (device-writable). VQ_PAIRS_SET turns ring pairs on and off at the back-end, ANNOUNCE_ACK
 * clears the announce status; anything else is answered VIRTIO_NET_ERR.
 */
#include "vhost_user_net_int.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/* A command is a few bytes; chains longer than this are a broken driver, not a command. */
#define VUNC_MAX_BUFS 8
#define VUNC_MAX_DATA 64

struct vunc_cmd {
    uint8_t cls;
    uint8_t cmd;
    uint32_t len; /* data bytes the driver gave (may exceed what is kept) */
    uint8_t data[VUNC_MAX_DATA];
};

/* 5.1.6.5.5: le16 virtqueue_pairs, 1..max_virtqueue_pairs. */
static uint8_t vunc_mq(struct vhost_user_dev *d, struct vun *n, const struct vunc_cmd *c)
{
    uint16_t pairs;

    if (!virtio_has_feature(n->acked, VIRTIO_NET_F_MQ) ||
        c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || c->len != sizeof(pairs))
        return VIRTIO_NET_ERR;
    memcpy(&pairs, c->data, sizeof(pairs));
    pairs = le16toh(pairs);
    if (pairs < 1 || pairs > n->pairs) {
        log_warn("%s: VQ_PAIRS_SET %u refused (1..%u)", n->name, pairs, n->pairs);
        return VIRTIO_NET_ERR;
    }
    if (vun_set_pairs(d, n, pairs) < 0)
        return VIRTIO_NET_ERR;
    log_debug("%s: %u queue pair(s) in use", n->name, pairs);
    return VIRTIO_NET_OK;
}

/* 5.1.6.5.4: the driver announced itself; the status bit goes back to 0 (no interrupt). */
static uint8_t vunc_announce(struct vhost_user_dev *d, struct vun *n, const struct vunc_cmd *c)
{
    if (!virtio_has_feature(n->acked, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
        c->cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK)
        return VIRTIO_NET_ERR;
    n->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
    n->announce_acked++;
    return vun_put_status(d, n, false) == 0 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static uint8_t vunc_exec(struct vhost_user_dev *d, struct vun *n, const struct vunc_cmd *c)
{
    switch (c->cls) {
    case VIRTIO_NET_CTRL_MQ:
        return vunc_mq(d, n, c);
    case VIRTIO_NET_CTRL_ANNOUNCE:
        return vunc_announce(d, n, c);
    default:
        /* RX filters, MAC, VLAN, offloads: none of their features is offered. */
        log_debug("%s: control class %u command %u refused", n->name, c->cls, c->cmd);
        return VIRTIO_NET_ERR;
    }
}

/* The device-readable part: the 2-byte header, then up to VUNC_MAX_DATA data bytes kept. */
static uint64_t vunc_gather(const struct virtq_buf *bufs, unsigned int nbufs, struct vunc_cmd *c)
{
    uint8_t keep[2 + VUNC_MAX_DATA] = {0};
    uint64_t total = 0;

    for (unsigned int i = 0; i < nbufs && !bufs[i].device_writable; i++) {
        if (total < sizeof(keep)) {
            uint64_t n = bufs[i].len < sizeof(keep) - total ? bufs[i].len : sizeof(keep) - total;

            memcpy(keep + total, bufs[i].hva, n);
        }
        total += bufs[i].len;
    }
    if (total >= 2) {
        c->cls = keep[0];
        c->cmd = keep[1];
        c->len = total - 2 > UINT32_MAX ? UINT32_MAX : (uint32_t)(total - 2);
        memcpy(c->data, keep + 2, sizeof(c->data));
    }
    return total;
}

/* One chain: read it, run it, write the ack. false: the driver broke the queue. */
static bool vunc_one(struct vhost_user_dev *d, struct vun *n, uint16_t head)
{
    struct virtq_buf bufs[VUNC_MAX_BUFS];
    struct vunc_cmd c = {0};
    unsigned int nbufs, i;
    uint64_t total;
    int ret = virtq_walk(&n->ctrl, head, bufs, VUNC_MAX_BUFS, &nbufs);

    if (ret < 0) {
        vhost_user_dev_guest_error(d, "control queue chain %u: %s", head, strerror(-ret));
        return false;
    }
    total = vunc_gather(bufs, nbufs, &c);
    for (i = 0; i < nbufs && !(bufs[i].device_writable && bufs[i].len >= 1); i++)
        ;
    /* 5.1.6.5: header first, ack last; QEMU fails the device the same way. */
    if (total < 2 || i == nbufs) {
        vhost_user_dev_guest_error(d, "control queue chain %u: no header or no ack byte", head);
        return false;
    }
    *(volatile uint8_t *)bufs[i].hva = vunc_exec(d, n, &c);
    vhost_user_dev_log_write(d, bufs[i].gpa, 1);
    virtq_push(&n->ctrl, head, 1);
    n->ctrl_cmds++;
    return true;
}

void vunc_kick(struct vhost_user_dev *d, unsigned int q)
{
    struct vun *n = vhost_user_dev_priv(d);
    unsigned int served = 0;

    if (!n->ctrl_running || q != n->ctrl_q)
        return;
    /* Bounded: a driver that keeps refilling waits for its next kick. */
    for (unsigned int i = 0; i < n->ctrl.size; i++) {
        uint16_t head;
        int ret = virtq_pop(&n->ctrl, &head);

        if (ret == -EAGAIN)
            break;
        if (ret < 0) {
            vhost_user_dev_guest_error(d, "control queue: %s", strerror(-ret));
            n->ctrl_running = false;
            break;
        }
        if (!vunc_one(d, n, head)) {
            n->ctrl_running = false;
            break;
        }
        served++;
    }
    /* The used ring (elements, idx, avail_event) is VMM-written guest memory. */
    if (served)
        vhost_user_dev_log_write(d, n->ctrl_used_gpa, n->ctrl_used_len);
    if (served && virtq_should_signal(&n->ctrl) && vhost_user_dev_signal_queue(d, q) < 0)
        log_warn("%s: cannot signal the control queue", n->name);
}
