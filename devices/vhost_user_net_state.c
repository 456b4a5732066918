/*
 * vhost-user-net's VMM-side state in a migration: what the back-end never sees (config
 * status with VIRTIO_NET_S_ANNOUNCE, the queue pairs VQ_PAIRS_SET left enabled, the MAC and
 * MTU the guest was given, the control queue's ring position) and its per-device counters.
 */
#include "vhost_user_net_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vhost_user_dev_int.h"

/* The stream's form, little-endian like the rest of the stream (x86 only). A new field
 * means a new version; a reader refuses versions it does not know by name. */
#define VUN_STATE_VERSION 1u

struct vun_wire {
    uint32_t version;
    uint32_t size; /* sizeof(struct vun_wire) of that version */
    uint8_t mac[6];
    uint16_t status;
    uint16_t pairs;
    uint16_t mtu;
    uint16_t active_pairs; /* 0: the device was not running on the source */
    uint16_t ctrl_running;
    uint16_t last_avail;
    uint16_t used_idx;
    uint16_t signalled_used;
    uint16_t reserved;
    uint64_t ctrl_cmds;
};
_Static_assert(sizeof(struct vun_wire) == 40, "vun_wire is stream format");

size_t vun_save_state(struct vhost_user_dev *d, void *buf, size_t cap)
{
    const struct vun *n = vhost_user_dev_priv(d);
    struct vun_wire w = {
        .version = VUN_STATE_VERSION,
        .size = sizeof(w),
        .status = n->status,
        .pairs = (uint16_t)n->pairs,
        .mtu = (uint16_t)n->mtu,
        .active_pairs = n->acked ? (uint16_t)n->active_pairs : 0,
        .ctrl_running = n->acked && n->ctrl_running,
        .ctrl_cmds = n->ctrl_cmds,
    };

    if (cap < sizeof(w))
        return 0;
    memcpy(w.mac, n->mac, sizeof(w.mac));
    if (w.ctrl_running) {
        w.last_avail = n->ctrl.last_avail;
        w.used_idx = n->ctrl.used_idx;
        w.signalled_used = n->ctrl.signalled_used;
    }
    memcpy(buf, &w, sizeof(w));
    return sizeof(w);
}

__attribute__((format(printf, 3, 4))) static int vun_state_bad(char *why, size_t whylen,
                                                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int vun_load_state(struct vhost_user_dev *d, const void *buf, size_t len, char *why, size_t whylen)
{
    struct vun *n = vhost_user_dev_priv(d);
    struct vun_wire w;

    if (len < 8)
        return vun_state_bad(why, whylen, "net state of %zu bytes is too short", len);
    memcpy(&w, buf, 8);
    if (w.version != VUN_STATE_VERSION)
        return vun_state_bad(why, whylen, "net state version %u; this minivmm reads version %u",
                             w.version, VUN_STATE_VERSION);
    if (len != sizeof(w) || w.size != sizeof(w))
        return vun_state_bad(why, whylen, "net state of %zu bytes, version 1 has %zu", len,
                             sizeof(w));
    memcpy(&w, buf, sizeof(w));
    if (w.pairs != n->pairs)
        return vun_state_bad(why, whylen, "the source has %u queue pair(s), this device %u",
                             w.pairs, n->pairs);
    /* The back-end here was told this device's MTU at connect (NET_SET_MTU). */
    if (w.mtu != n->mtu)
        return vun_state_bad(why, whylen, "the source's mtu is %u, this device's %u", w.mtu,
                             n->mtu);
    if (w.status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE))
        return vun_state_bad(why, whylen, "invalid status 0x%x", w.status);
    if (w.active_pairs > w.pairs || (w.ctrl_running && !w.active_pairs))
        return vun_state_bad(why, whylen, "%u active pair(s) of %u", w.active_pairs, w.pairs);
    /* The guest keeps its address: without mac= the default comes from the socket path,
     * which may differ here. The config space is the VMM's, so it follows. */
    if (memcmp(w.mac, n->mac, sizeof(n->mac))) {
        log_info("%s: keeping the source's mac %02x:%02x:%02x:%02x:%02x:%02x", n->name, w.mac[0],
                 w.mac[1], w.mac[2], w.mac[3], w.mac[4], w.mac[5]);
        memcpy(n->mac, w.mac, sizeof(n->mac));
        if (vhost_user_dev_config_update(d, VIRTIO_NET_CONFIG_MAC, n->mac, sizeof(n->mac), false) <
            0)
            return vun_state_bad(why, whylen, "cannot set the mac");
    }
    n->status = w.status;
    if (vun_put_status(d, n, false) < 0)
        return vun_state_bad(why, whylen, "cannot set the status");
    n->restore = w.active_pairs != 0;
    n->saved = (struct vun_saved){
        .active_pairs = w.active_pairs,
        .ctrl_running = w.ctrl_running != 0,
        .last_avail = w.last_avail,
        .used_idx = w.used_idx,
        .signalled_used = w.signalled_used,
        .ctrl_cmds = w.ctrl_cmds,
    };
    return 0;
}

int vun_restore(struct vhost_user_dev *d, struct vun *n)
{
    const struct vun_saved *s = &n->saved;
    uint16_t ring_used;

    (void)d;
    n->restore = false;
    n->ctrl_cmds = s->ctrl_cmds;
    if (!s->ctrl_running) {
        n->ctrl_running = false; /* the source's driver broke it: it stays broken */
        return 0;
    }
    if (!n->ctrl_running)
        return -EPROTO;
    /* 2.7.13: the device never consumes more than the driver made available. */
    if ((uint16_t)(s->last_avail - s->used_idx) > n->ctrl.size)
        return -EPROTO;
    ring_used = __atomic_load_n(&n->ctrl.used->idx, __ATOMIC_ACQUIRE);
    if (ring_used != s->used_idx)
        log_warn("%s: control queue used index %u in guest memory, %u at the source", n->name,
                 ring_used, s->used_idx);
    n->ctrl.last_avail = s->last_avail;
    n->ctrl.used_idx = s->used_idx;
    n->ctrl.signalled_used = s->signalled_used;
    return 0;
}

int vhost_user_net_get_stats(struct vhost_user_dev *d, struct vhost_user_net_stats *out)
{
    const struct vun *n;

    memset(out, 0, sizeof(*out));
    if (!d || d->type != &vhost_user_net_type)
        return -ENODEV;
    vud_lock(d);
    n = d->priv;
    out->status = n->status;
    out->active_pairs = n->acked ? n->active_pairs : 0;
    out->ctrl_cmds = n->ctrl_cmds;
    out->announce_requested = n->announce_requested;
    out->announce_acked = n->announce_acked;
    out->rarp_sent = n->rarp_sent;
    vud_unlock(d);
    return 0;
}
