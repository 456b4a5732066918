/*
 * Tests for devices/vhost_user_net_state.c through vhost_user_migrate.c: a net device's
 * VMM-side state (announce status, pairs in use, MAC, control queue position) saved on one
 * device and installed on another that continues where the first stopped; the VMM's own
 * writes to guest RAM logged; the control queue waiting while the rings are stopped; and
 * state that is short, of another version or of another device shape refused with a reason.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user_harness.h"
#include "vhost_user_kind.h"
#include "vhost_user_migrate.h"
#include "vhost_user_net.h"
#include "virtq_driver.h"

#define BIT(b) VIRTIO_BIT(b)
#define MAC    "52:54:00:aa:bb:cc"
#define CMD    0x100000ULL /* guest buffers of control commands */
#define ACK    0x100800ULL
#define CTRLQ  4 /* rx0 tx0 rx1 tx1 ctrl */
#define FEATURES                                                                                   \
    (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MQ) |                   \
     BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE))

static struct fb_config net_cfg(void)
{
    struct fb_config cfg = vuh_cfg();

    cfg.features = BIT(VIRTIO_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) | BIT(VU_F_LOG_ALL) |
                   BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                   BIT(VIRTIO_NET_F_GUEST_ANNOUNCE);
    return cfg;
}

static void net_queue(struct vuh *h, struct virtq_driver *drv, unsigned int q)
{
    virtq_driver_init(drv, &h->gm, 64, VUH_RING_GPA + q * 0x10000ULL, false);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_NUM, 64);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)drv->desc);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv->avail);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)drv->used);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Puts one control command on the ring and kicks it through the transport. */
static void ctrl_send(struct vuh *h, struct virtq_driver *ctrl, uint8_t cls, uint8_t cmd,
                      const void *data, uint32_t len)
{
    uint8_t *buf = gmem_ptr(&h->gm, CMD, 2 + len);
    struct virtq_seg segs[] = {{CMD, 2 + len, false}, {ACK, 1, true}};

    buf[0] = cls;
    buf[1] = cmd;
    if (len)
        memcpy(buf + 2, data, len);
    *(uint8_t *)gmem_ptr(&h->gm, ACK, 1) = 0xee;
    virtq_driver_make_avail(ctrl, virtq_driver_add_chain(ctrl, segs, 2));
    vuh_wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, CTRLQ);
}

static uint8_t ack(struct vuh *h)
{
    return *(uint8_t *)gmem_ptr(&h->gm, ACK, 1);
}

static void pairs_set(struct vuh *h, struct virtq_driver *ctrl, uint16_t n)
{
    uint16_t le = htole16(n);

    ctrl_send(h, ctrl, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &le, 2);
}

static bool logged(const uint64_t *log, uint64_t gpa)
{
    return log[gpa / 4096 / 64] >> (gpa / 4096 % 64) & 1;
}

/* The source: 2 pairs, the driver enabled both, one announce pending, a few commands. */
struct source {
    struct vuh h;
    struct vumig *m;
    struct virtq_driver ctrl;
};

static void source_start(struct source *s, const char *spec)
{
    struct fb_config cfg = net_cfg();
    struct virtq_driver drv;

    vuh_start(&s->h, &cfg, &vhost_user_net_type, spec);
    s->m = vumig_create(s->h.d);
    cr_assert_not_null(s->m);
    vuh_features_ok(&s->h, FEATURES);
    for (unsigned int q = 0; q < CTRLQ; q++)
        net_queue(&s->h, &drv, q);
    net_queue(&s->h, &s->ctrl, CTRLQ);
    vuh_driver_ok(&s->h);
    pairs_set(&s->h, &s->ctrl, 2);
    cr_assert_eq(ack(&s->h), VIRTIO_NET_OK);
    cr_assert(s->h.fb.ring_enabled[2] && s->h.fb.ring_enabled[3]);
}

static void source_fini(struct source *s)
{
    vumig_destroy(s->m);
    vuh_fini(&s->h, true);
}

Test(vhost_user_net_state, the_destination_continues_where_the_source_stopped)
{
    struct source s;
    struct vumig_state *st = calloc(1, sizeof(*st));
    uint8_t kind[VHOST_USER_KIND_STATE_MAX];
    uint8_t *ram = malloc(VUH_RAM);
    struct vhost_user_net_stats ns;
    struct fb_config cfg = net_cfg();
    struct virtq_driver ctrl;
    char why[160];
    size_t klen;
    struct vuh b;

    source_start(&s, "queues=2,mac=" MAC);
    cr_assert_eq(vhost_user_dev_migration_done(s.h.d), 0); /* an announce the guest has not acked */
    cr_assert_eq(vumig_log_start(s.m, VUH_RAM), 0);
    uint64_t nwords;
    uint64_t *log = vumig_log_words(s.m, &nwords);
    cr_assert_not_null(log);
    memset(log, 0, nwords * 8);
    pairs_set(&s.h, &s.ctrl, 2);
    cr_expect(logged(log, ACK), "the ack byte the VMM wrote is in the dirty log");
    cr_expect(logged(log, s.ctrl.used), "so is the control queue's used ring");
    cr_assert_eq(vumig_stop(s.m), 0);
    klen = vumig_save_kind(s.m, kind, sizeof(kind));
    cr_assert_gt(klen, 0);
    vumig_save(s.m, st);
    memcpy(ram, s.h.gm.base, VUH_RAM); /* the final copy of guest RAM */
    ctrl = s.ctrl;
    vumig_log_stop(s.m);
    source_fini(&s);

    /* The destination has no mac= (its default differs): the guest keeps the source's. */
    vuh_start(&b, &cfg, &vhost_user_net_type, "queues=2");
    struct vumig *mb = vumig_create(b.d);
    memcpy(b.gm.base, ram, VUH_RAM);
    cr_assert_eq(vumig_load(mb, st, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(vumig_load_kind(mb, kind, klen, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(vumig_go(mb), 0);
    uint8_t mac[6];
    for (unsigned int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(vuh_rd(&b, VIRTIO_MMIO_CONFIG + (i & ~3u)) >> (8 * (i & 3)));
    cr_expect_arr_eq(mac, ((uint8_t[]){0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc}), 6);
    cr_expect(b.fb.ring_enabled[2] && b.fb.ring_enabled[3],
              "pair 1 stays enabled (the source's VQ_PAIRS_SET 2), not reset to one pair");
    cr_assert_eq(vhost_user_net_get_stats(b.d, &ns), 0);
    cr_expect_eq(ns.status, VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE, "announce still pending");
    cr_expect_eq(ns.active_pairs, 2);
    cr_expect_eq(ns.ctrl_cmds, 2);

    /* The guest's next command lands at the right ring position and is answered. */
    ctrl.gm = &b.gm;
    uint16_t used = virtq_driver_used_idx(&ctrl);
    ctrl_send(&b, &ctrl, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0);
    cr_expect_eq(virtq_driver_used_idx(&ctrl), (uint16_t)(used + 1));
    cr_expect_eq(ack(&b), VIRTIO_NET_OK);
    cr_assert_eq(vhost_user_net_get_stats(b.d, &ns), 0);
    cr_expect_eq(ns.status, VIRTIO_NET_S_LINK_UP);
    cr_expect_eq(ns.announce_acked, 1);
    cr_expect_eq(ns.ctrl_cmds, 3);
    cr_expect_eq(vuh_status(&b) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    vumig_destroy(mb);
    vuh_fini(&b, true);
    free(ram);
    free(st);
}

Test(vhost_user_net_state, the_control_queue_waits_while_the_rings_are_stopped)
{
    struct source s;
    uint16_t used;
    unsigned int enables;

    source_start(&s, "queues=2");
    cr_assert_eq(vumig_stop(s.m), 0);
    used = virtq_driver_used_idx(&s.ctrl);
    enables = fake_backend_count(&s.h.fb, VU_REQ_SET_VRING_ENABLE);
    pairs_set(&s.h, &s.ctrl, 1);
    cr_expect_eq(virtq_driver_used_idx(&s.ctrl), used, "nothing served after the final sync");
    cr_expect_eq(fake_backend_count(&s.h.fb, VU_REQ_SET_VRING_ENABLE), enables,
                 "the back-end hears nothing of it");
    cr_assert_eq(vumig_restart(s.m), 0);
    cr_expect_eq(virtq_driver_used_idx(&s.ctrl), (uint16_t)(used + 1), "served at the restart");
    cr_expect_eq(ack(&s.h), VIRTIO_NET_OK);
    source_fini(&s);
}

/* A destination device, loaded with kind (after a valid transport state). */
static int load_kind(const char *spec, const void *kind, size_t len, char *why, size_t whylen)
{
    struct fb_config cfg = net_cfg();
    struct vuh b;
    int ret;

    vuh_start(&b, &cfg, &vhost_user_net_type, spec);
    struct vumig *mb = vumig_create(b.d);
    ret = vumig_load_kind(mb, kind, len, why, whylen);
    vumig_destroy(mb);
    vuh_fini(&b, true);
    return ret;
}

Test(vhost_user_net_state, short_foreign_or_mismatched_state_is_refused)
{
    struct source s;
    uint8_t kind[VHOST_USER_KIND_STATE_MAX], bad[VHOST_USER_KIND_STATE_MAX];
    char why[160];
    size_t klen;

    source_start(&s, "queues=2,mtu=1500");
    cr_assert_eq(vumig_stop(s.m), 0);
    klen = vumig_save_kind(s.m, kind, sizeof(kind));
    cr_assert_eq(vumig_save_kind(s.m, kind, 8), 0, "no room: nothing written");
    klen = vumig_save_kind(s.m, kind, sizeof(kind));
    source_fini(&s);

    cr_expect_eq(load_kind("queues=2,mtu=1500", kind, klen, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(load_kind("queues=2,mtu=1500", kind, 4, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "too short"), "%s", why);
    cr_expect_eq(load_kind("queues=2,mtu=1500", kind, klen - 1, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "bytes"), "%s", why);
    memcpy(bad, kind, klen);
    bad[0] = 9; /* version */
    cr_expect_eq(load_kind("queues=2,mtu=1500", bad, klen, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "version 9"), "%s", why);
    cr_expect_eq(load_kind("queues=1,mtu=1500", kind, klen, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "queue pair"), "%s", why);
    cr_expect_eq(load_kind("queues=2", kind, klen, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "mtu"), "%s", why);
    memcpy(bad, kind, klen);
    bad[14] |= 0x80; /* status: a bit no device sets */
    cr_expect_eq(load_kind("queues=2,mtu=1500", bad, klen, why, sizeof(why)), -EINVAL);
    cr_expect(strstr(why, "status"), "%s", why);
}
