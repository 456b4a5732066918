/*
 * vhost-user-net (see vhost_user_net.h): which features pass and which the VMM adds, the
 * VMM-supplied config space, NET_SET_MTU once per session, ring pairs turned on and off at
 * the back-end, and the announcement after a migration with the seed's rule.
 */
#include "vhost_user_net_int.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_spec.h"

#define BIT(b) VIRTIO_BIT(b)

/* Data-path features the back-end implements: passed to the guest as offered. */
#define VUN_PASS                                                                                   \
    (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |        \
     BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_GUEST_UFO) |    \
     BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN) |      \
     BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_MRG_RXBUF))

/*
 * Config space and control queue: the VMM's alone, never in SET_FEATURES (as QEMU). MQ, MTU
 * and GUEST_ANNOUNCE are the VMM's too, but go to a back-end that offers them: DPDK drops
 * every pair past the first without MQ, and GUEST_ANNOUNCE tells it no RARP is needed.
 */
#define VUN_VMM_ONLY (BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ))

/* Without mac=: locally administered 52:54:00:xx:xx:xx from the socket path (FNV-1a), so
 * that two VMs on one switch differ and a VM keeps its address across runs. */
static void vun_default_mac(const char *socket, uint8_t mac[6])
{
    uint32_t h = 2166136261u;

    for (const char *p = socket; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

static void *vun_new(const struct vhost_user_spec *spec, const char *name)
{
    struct vun *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    snprintf(n->name, sizeof(n->name), "%s", name);
    if (spec->has_mac)
        memcpy(n->mac, spec->mac, sizeof(n->mac));
    else
        vun_default_mac(spec->socket, n->mac);
    n->pairs = spec->queues ? spec->queues : 1;
    n->mtu = spec->mtu;
    n->status = VIRTIO_NET_S_LINK_UP;
    return n;
}

static void vun_free(void *priv)
{
    free(priv);
}

static void vun_put16(uint8_t *config, unsigned int off, unsigned int v)
{
    uint16_t le = htole16((uint16_t)v);

    memcpy(config + off, &le, sizeof(le));
}

static void vun_fill_config(const struct vun *n, uint8_t *config)
{
    memcpy(config + VIRTIO_NET_CONFIG_MAC, n->mac, sizeof(n->mac));
    vun_put16(config, VIRTIO_NET_CONFIG_STATUS, n->status);
    vun_put16(config, VIRTIO_NET_CONFIG_MAX_PAIRS, n->pairs);
    vun_put16(config, VIRTIO_NET_CONFIG_MTU, n->mtu);
}

int vun_put_status(struct vhost_user_dev *d, struct vun *n, bool notify)
{
    uint16_t le = htole16(n->status);

    return vhost_user_dev_config_update(d, VIRTIO_NET_CONFIG_STATUS, &le, sizeof(le), notify);
}

/* The seed's one-time request: NET_SET_MTU once per session, a refusal fails start-up. */
static int vun_send_mtu(const struct vhost_user_setup *s, const struct vun *n)
{
    int ret;

    if (!n->mtu)
        return 0;
    if (!vu_frontend_has_protocol_feature(s->fe, VU_PF_NET_MTU)) {
        log_warn("%s: the back-end at %s lacks the NET_MTU protocol feature: it is not told "
                 "mtu=%u (the guest is)",
                 s->name, s->spec->socket, n->mtu);
        return 0;
    }
    ret = vu_frontend_net_set_mtu(s->fe, n->mtu);
    if (ret == -EIO)
        log_err("%s: the back-end at %s refused mtu=%u (NET_SET_MTU)", s->name, s->spec->socket,
                n->mtu);
    else if (ret < 0)
        log_err("%s: NET_SET_MTU %u to %s failed: %s", s->name, n->mtu, s->spec->socket,
                strerror(-ret));
    else if (!vu_frontend_has_protocol_feature(s->fe, VU_PF_REPLY_ACK))
        log_info("%s: mtu=%u sent without REPLY_ACK: the back-end could not refuse it", s->name,
                 n->mtu);
    return ret;
}

static void vun_describe(const struct vhost_user_setup *s, const struct vun *n)
{
    char mtu[24] = "";

    if (n->mtu)
        snprintf(mtu, sizeof(mtu), ", mtu %u", n->mtu);
    log_info("%s: %s: mac %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s)%s%s%s%s", s->name,
             s->spec->socket, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
             n->pairs, mtu,
             virtio_has_feature(s->features, VIRTIO_NET_F_MRG_RXBUF) ? ", mergeable rx buffers"
                                                                     : "",
             virtio_has_feature(s->features, VIRTIO_NET_F_CSUM) ? ", checksum offload" : "",
             virtio_has_feature(s->features, VIRTIO_NET_F_HOST_TSO4) ? ", TSO" : "");
}

static int vun_on_connect(struct vhost_user_setup *s)
{
    struct vun *n = s->priv;
    uint64_t offer = vu_frontend_device_features(s->fe);
    int ret;

    if (n->pairs > 1 && !virtio_has_feature(offer, VIRTIO_NET_F_MQ)) {
        log_err("%s: queues=%u, but the back-end at %s does not offer VIRTIO_NET_F_MQ", s->name,
                n->pairs, s->spec->socket);
        return -EOPNOTSUPP;
    }
    /* The VMM's part: config space, link status, the control queue and what it carries. */
    s->features |= BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                   BIT(VIRTIO_NET_F_GUEST_ANNOUNCE);
    if (n->pairs > 1)
        s->features |= BIT(VIRTIO_NET_F_MQ);
    if (n->mtu)
        s->features |= BIT(VIRTIO_NET_F_MTU);
    vun_fill_config(n, s->config);
    if (s->config_change)
        return 0;
    ret = vun_send_mtu(s, n);
    if (ret == 0)
        vun_describe(s, n);
    return ret;
}

int vun_ctrl_queue(const struct vun *n, uint64_t features)
{
    /* 5.1.2: the control queue follows the last receive/transmit pair the driver may use. */
    if (!virtio_has_feature(features, VIRTIO_NET_F_CTRL_VQ))
        return -1;
    return virtio_has_feature(features, VIRTIO_NET_F_MQ) ? (int)(2 * n->pairs) : 2;
}

static uint64_t vun_vmm_queue_mask(void *priv, uint64_t features, unsigned int nqueues)
{
    int q = vun_ctrl_queue(priv, features);

    return q >= 0 && (unsigned int)q < nqueues ? 1ULL << q : 0;
}

/* Turns one started pair's two rings on or off; -EOPNOTSUPP: no bit 30, they stay on. */
static int vun_enable_pair(struct vu_frontend *fe, unsigned int p, bool on)
{
    for (unsigned int r = 2 * p; r < 2 * p + 2; r++) {
        int ret;

        if (!vu_frontend_ring_started(fe, r))
            continue;
        ret = vu_frontend_enable_ring(fe, r, on);
        if (ret < 0)
            return ret;
    }
    return 0;
}

int vun_set_pairs(struct vhost_user_dev *d, struct vun *n, unsigned int pairs)
{
    struct vu_frontend *fe = vhost_user_dev_frontend(d);
    unsigned int lo = pairs < n->active_pairs ? pairs : n->active_pairs;
    unsigned int hi = pairs < n->active_pairs ? n->active_pairs : pairs;

    if (!vu_frontend_connected(fe))
        return -ENOTCONN;
    for (unsigned int p = lo; p < hi; p++) {
        int ret = vun_enable_pair(fe, p, p < pairs);

        if (ret == -EOPNOTSUPP) {
            log_info("%s: the back-end did not negotiate bit 30: all %u pairs stay enabled",
                     n->name, n->active_pairs);
            return 0;
        }
        if (ret < 0) {
            if (!vu_frontend_connected(fe))
                vhost_user_dev_backend_failed(d, "SET_VRING_ENABLE: %s", strerror(-ret));
            return ret;
        }
    }
    n->active_pairs = pairs;
    return 0;
}

static int vun_activate(struct vhost_user_dev *d, const struct virtio_activation *act)
{
    struct vun *n = vhost_user_dev_priv(d);
    int q = vun_ctrl_queue(n, act->features);
    int ret = 0;

    unsigned int want = 1;

    n->acked = act->features;
    n->ctrl_running = false;
    /* Every started ring is enabled now (vu_frontend_start_ring). */
    n->active_pairs = virtio_has_feature(act->features, VIRTIO_NET_F_MQ) ? n->pairs : 1;
    /* 5.1.6.5.5: multiqueue stays off until the driver sends VQ_PAIRS_SET; after a
     * migration, the pairs the driver had chosen on the source. */
    if (n->restore && n->saved.active_pairs && n->saved.active_pairs <= n->active_pairs)
        want = n->saved.active_pairs;
    if (n->active_pairs != want)
        ret = vun_set_pairs(d, n, want);
    if (ret == 0 && q >= 0 && (unsigned int)q < act->nqueues && act->queues[q].ready) {
        ret = virtq_init(&n->ctrl, act->gmem, &act->queues[q], act->features);
        if (ret < 0)
            log_err("%s: control queue %d unusable: %s", n->name, q, strerror(-ret));
        n->ctrl_q = (unsigned int)q;
        n->ctrl_used_gpa = act->queues[q].device;
        n->ctrl_used_len = virtq_used_bytes(n->ctrl.size, n->ctrl.event_idx);
        n->ctrl_running = ret == 0;
    }
    if (ret == 0 && n->restore) {
        ret = vun_restore(d, n);
        if (ret < 0)
            log_err("%s: the source's control queue position does not fit the ring", n->name);
    }
    n->restore = false;
    return ret;
}

static void vun_reset(struct vhost_user_dev *d)
{
    struct vun *n = vhost_user_dev_priv(d);

    n->acked = 0;
    n->active_pairs = 0;
    n->ctrl_running = false;
    n->restore = false;
    n->status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
    if (vun_put_status(d, n, false) < 0)
        log_warn("%s: cannot clear the announce status", n->name);
}

/*
 * After migration (seed `migration_done`): a guest that negotiated GUEST_ANNOUNCE announces
 * itself when the config says so; otherwise the back-end broadcasts a RARP for the MAC if it
 * can (protocol feature RARP); otherwise nothing can, and the log says so.
 */
static int vun_migration_done(struct vhost_user_dev *d)
{
    struct vun *n = vhost_user_dev_priv(d);
    struct vu_frontend *fe = vhost_user_dev_frontend(d);
    const struct vhost_user_spec *spec = vhost_user_dev_spec(d);
    int ret;

    if (virtio_has_feature(n->acked, VIRTIO_NET_F_GUEST_ANNOUNCE)) {
        log_info("%s: asking the guest to announce itself (VIRTIO_NET_S_ANNOUNCE)", n->name);
        n->status |= VIRTIO_NET_S_ANNOUNCE;
        n->announce_requested++;
        return vun_put_status(d, n, true);
    }
    if (vu_frontend_connected(fe) && vu_frontend_has_protocol_feature(fe, VU_PF_RARP)) {
        ret = vu_frontend_send_rarp(fe, n->mac);
        if (ret < 0 && !vu_frontend_connected(fe))
            vhost_user_dev_backend_failed(d, "SEND_RARP: %s", strerror(-ret));
        n->rarp_sent += ret == 0;
        if (ret == 0)
            log_info("%s: SEND_RARP: the back-end at %s announces %02x:%02x:%02x:%02x:%02x:%02x",
                     n->name, spec->socket, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
                     n->mac[5]);
        return ret;
    }
    log_info("%s: nothing announces the guest after migration: it did not negotiate "
             "GUEST_ANNOUNCE and the back-end at %s has no RARP protocol feature",
             n->name, spec->socket);
    return 0;
}

static const struct vhost_user_kind_ops vun_ops = {
    .priv_new = vun_new,
    .priv_free = vun_free,
    .vmm_features = VUN_VMM_ONLY,
    .vmm_queue_mask = vun_vmm_queue_mask,
    .activate = vun_activate,
    .reset = vun_reset,
    .kick = vunc_kick,
    .migration_done = vun_migration_done,
    .save_state = vun_save_state,
    .load_state = vun_load_state,
};

const struct vhost_user_type vhost_user_net_type = {
    .kind = "vhost-user-net",
    .type = "net",
    .device_id = 1,
    .keys = VHOST_USER_KEYS_COMMON | VHOST_USER_KEY_MAC | VHOST_USER_KEY_MTU,
    .max_queues = VHOST_USER_NET_MAX_PAIRS,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .config_from_backend = false,
    .device_features = VUN_PASS,
    .on_connect = vun_on_connect,
    .rings_per_queue = 2,
    .vmm_queues = 1,
    .ops = &vun_ops,
};
