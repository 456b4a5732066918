/*
 * vhost-user-net against the fake back-end, driven like a guest through the real transport:
 * the VMM-supplied config space (MAC, status, pairs, MTU), which features are offered and
 * which reach SET_FEATURES, NET_SET_MTU accepted and refused, GET_QUEUE_NUM and MQ errors,
 * the VMM-served control queue (VQ_PAIRS_SET -> SET_VRING_ENABLE, ANNOUNCE_ACK, garbage) and
 * the announcement after migration (GUEST_ANNOUNCE, else SEND_RARP, else nothing).
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vhost_user_harness.h"
#include "vhost_user_net.h"
#include "virtq_driver.h"

#define BIT(b) VIRTIO_BIT(b)
#define MAC    "52:54:00:aa:bb:cc"
#define CMD    0x100000ULL /* guest buffers of control commands */
#define ACK    0x100800ULL

/* A back-end like DPDK's vhost library: data-path features, MQ, CTRL_VQ/RX, announce, MTU. */
static struct fb_config net_cfg(void)
{
    struct fb_config cfg = vuh_cfg();

    cfg.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) | BIT(VU_F_PROTOCOL_FEATURES) |
                   BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
                   BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                   BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |
                   BIT(VIRTIO_NET_F_MTU);
    return cfg;
}

static uint64_t offered(struct vuh *h)
{
    vuh_wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return hi << 32 | vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void config_bytes(struct vuh *h, uint8_t out[VIRTIO_NET_CONFIG_SIZE])
{
    for (unsigned int off = 0; off < VIRTIO_NET_CONFIG_SIZE; off += 4) {
        uint32_t v = htole32(vuh_rd(h, VIRTIO_MMIO_CONFIG + off));

        memcpy(out + off, &v, 4);
    }
}

static uint16_t config16(struct vuh *h, unsigned int off)
{
    uint8_t c[VIRTIO_NET_CONFIG_SIZE];

    config_bytes(h, c);
    return (uint16_t)(c[off] | c[off + 1] << 8);
}

/* Queue q's rings laid out by a driver-side virtq at VUH_RING_GPA + q * 0x10000, then ready. */
static void net_queue(struct vuh *h, struct virtq_driver *drv, unsigned int q, uint16_t num)
{
    virtq_driver_init(drv, &h->gm, num, VUH_RING_GPA + q * 0x10000ULL, false);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_NUM, num);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)drv->desc);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)drv->avail);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)drv->used);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    vuh_wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
    cr_assert_eq(vuh_rd(h, VIRTIO_MMIO_QUEUE_READY), 1, "queue %u refused", q);
}

/* The whole driver init: nq queues (the last one the control queue when CTRL_VQ), DRIVER_OK. */
static void net_driver(struct vuh *h, uint64_t features, unsigned int nq, struct virtq_driver *ctrl)
{
    struct virtq_driver drv;

    vuh_features_ok(h, features);
    for (unsigned int q = 0; q < nq; q++)
        net_queue(h, q == nq - 1 && ctrl ? ctrl : &drv, q, 64);
    vuh_driver_ok(h);
    cr_assert_eq(vuh_status(h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0, "activation failed");
}

/* Sends one control command on queue q (MMIO QueueNotify) and returns the ack byte. */
static uint8_t net_ctrl(struct vuh *h, struct virtq_driver *ctrl, unsigned int q, uint8_t cls,
                        uint8_t cmd, const void *data, uint32_t len)
{
    uint8_t *buf = gmem_ptr(&h->gm, CMD, 2 + len);
    uint8_t *ack = gmem_ptr(&h->gm, ACK, 1);
    struct virtq_seg segs[] = {{CMD, 2 + len, false}, {ACK, 1, true}};
    uint16_t used = virtq_driver_used_idx(ctrl);

    buf[0] = cls;
    buf[1] = cmd;
    if (len)
        memcpy(buf + 2, data, len);
    *ack = 0xee;
    virtq_driver_make_avail(ctrl, virtq_driver_add_chain(ctrl, segs, 2));
    vuh_wr(h, VIRTIO_MMIO_QUEUE_NOTIFY, q);
    cr_assert_eq(virtq_driver_used_idx(ctrl), (uint16_t)(used + 1), "command not used");
    cr_expect_eq(virtq_driver_used_elem(ctrl, used).len, 1);
    return *ack;
}

static uint8_t pairs_set(struct vuh *h, struct virtq_driver *ctrl, unsigned int q, uint16_t n)
{
    uint16_t le = htole16(n);

    return net_ctrl(h, ctrl, q, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &le, 2);
}

Test(vhost_user_net, config_space_and_offered_features)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    uint8_t c[VIRTIO_NET_CONFIG_SIZE];
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};

    vuh_start(&h, &cfg, &vhost_user_net_type, "mac=" MAC);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_DEVICE_ID), 1);
    /* No MQ with one pair, no CTRL_RX (the VMM does not filter), no MTU without mtu=. */
    cr_expect_eq(offered(&h), BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
                                  BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
                                  BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MAC) |
                                  BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                                  BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));
    config_bytes(&h, c);
    cr_expect_arr_eq(c, mac, 6);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_STATUS), VIRTIO_NET_S_LINK_UP);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_MAX_PAIRS), 1);
    /* receive, transmit, control */
    vuh_wr(&h, VIRTIO_MMIO_QUEUE_SEL, 2);
    cr_expect_neq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    vuh_wr(&h, VIRTIO_MMIO_QUEUE_SEL, 3);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* The config space is the VMM's: no GET_CONFIG, and the guest cannot write it. */
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_CONFIG), 0);
    vuh_wr(&h, VIRTIO_MMIO_CONFIG, 0x11223344);
    config_bytes(&h, c);
    cr_expect_arr_eq(c, mac, 6);
    vuh_fini(&h, true);
}

Test(vhost_user_net, default_mac_is_local_unicast_and_stable)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    uint8_t a[VIRTIO_NET_CONFIG_SIZE], b[VIRTIO_NET_CONFIG_SIZE];

    vuh_start(&h, &cfg, &vhost_user_net_type, NULL);
    config_bytes(&h, a);
    vhost_user_dev_destroy(h.d);
    cr_assert_not_null(vuh_create(&h, &vhost_user_net_type, NULL));
    config_bytes(&h, b);
    cr_expect_eq(a[0], 0x52);
    cr_expect_eq(a[1], 0x54);
    cr_expect_eq(a[2], 0x00);
    cr_expect_arr_eq(a, b, 6, "same socket, same MAC");
    vuh_fini(&h, true);
}

Test(vhost_user_net, set_features_keeps_the_vmm_bits_and_the_control_queue)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    struct fb_msg m;

    vuh_start(&h, &cfg, &vhost_user_net_type, "mac=" MAC);
    net_driver(&h,
               BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_MAC) |
                   BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                   BIT(VIRTIO_NET_F_GUEST_ANNOUNCE),
               3, &ctrl);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_FEATURES, &m));
    uint64_t sent;
    memcpy(&sent, m.payload, 8);
    cr_expect_eq(sent, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CSUM) |
                           BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) | BIT(VU_F_PROTOCOL_FEATURES));
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1]);
    cr_expect_not(h.fb.ring_started[2], "the control queue is the VMM's");
    vuh_fini(&h, true);
}

Test(vhost_user_net, mtu_is_sent_once_with_reply_ack_and_offered)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct fb_msg m;
    uint64_t v;

    vuh_start(&h, &cfg, &vhost_user_net_type, "mtu=9000");
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_NET_SET_MTU), 1);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_NET_SET_MTU, &m));
    memcpy(&v, m.payload, 8);
    cr_expect_eq(v, 9000);
    cr_expect(m.flags & VU_FLAG_NEED_REPLY, "REPLY_ACK negotiated: the answer is awaited");
    cr_expect(offered(&h) & BIT(VIRTIO_NET_F_MTU));
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_MTU), 9000);
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MTU), 2, 64);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_NET_SET_MTU), 1, "one-time request");
    vuh_fini(&h, true);
}

Test(vhost_user_net, mtu_refused_by_the_backend_fails_start_up)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    cfg.fault = FB_FAULT_NACK;
    cfg.fault_req = VU_REQ_NET_SET_MTU;
    vuh_init(&h, &cfg);
    cr_expect_null(vuh_create(&h, &vhost_user_net_type, "mtu=9000"));
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_NET_SET_MTU), 1);
    vuh_fini(&h, true);
}

Test(vhost_user_net, mtu_without_the_net_mtu_protocol_feature_is_not_sent)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    cfg.protocol_features &= ~BIT(VU_PF_NET_MTU);
    vuh_start(&h, &cfg, &vhost_user_net_type, "mtu=1400");
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_NET_SET_MTU), 0);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_MTU), 1400);
    vuh_fini(&h, true);
}

Test(vhost_user_net, more_pairs_than_get_queue_num_is_an_error)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    cfg.queue_num = 2; /* pairs, for net */
    vuh_init(&h, &cfg);
    cr_expect_not_null(vuh_create(&h, &vhost_user_net_type, "queues=2"));
    vhost_user_dev_destroy(h.d);
    cr_expect_null(vuh_create(&h, &vhost_user_net_type, "queues=3"));
    vuh_fini(&h, true);
}

Test(vhost_user_net, pairs_need_the_backends_mq_feature)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    cfg.features &= ~BIT(VIRTIO_NET_F_MQ);
    vuh_init(&h, &cfg);
    cr_expect_null(vuh_create(&h, &vhost_user_net_type, "queues=2"));
    vuh_fini(&h, true);
}

Test(vhost_user_net, multiqueue_starts_with_one_pair_until_vq_pairs_set)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ);

    vuh_start(&h, &cfg, &vhost_user_net_type, "queues=2");
    cr_expect(offered(&h) & BIT(VIRTIO_NET_F_MQ));
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_MAX_PAIRS), 2);
    net_driver(&h, f, 5, &ctrl); /* rx0 tx0 rx1 tx1 ctrl */
    for (unsigned int r = 0; r < 4; r++)
        cr_expect(h.fb.ring_started[r], "ring %u", r);
    cr_expect_not(h.fb.ring_started[4]);
    /* 5.1.6.5.5: multiqueue is disabled until the driver enables it. */
    cr_expect(h.fb.ring_enabled[0] && h.fb.ring_enabled[1]);
    cr_expect(!h.fb.ring_enabled[2] && !h.fb.ring_enabled[3]);

    cr_expect_eq(pairs_set(&h, &ctrl, 4, 2), VIRTIO_NET_OK);
    cr_expect(h.fb.ring_enabled[2] && h.fb.ring_enabled[3]);
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 1), VIRTIO_NET_OK);
    cr_expect(h.fb.ring_enabled[0] && !h.fb.ring_enabled[2] && !h.fb.ring_enabled[3]);
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 3), VIRTIO_NET_ERR, "beyond max_virtqueue_pairs");
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 0), VIRTIO_NET_ERR);
    cr_expect_eq(net_ctrl(&h, &ctrl, 4, 0 /* RX */, 0, "\1", 1), VIRTIO_NET_ERR);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    vuh_fini(&h, true);
}

/* Waits (up to 2 s) for the device to have used `idx` chains of q. */
static bool wait_used(const struct virtq_driver *q, uint16_t idx)
{
    for (int i = 0; i < 200 && virtq_driver_used_idx(q) != idx; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    return virtq_driver_used_idx(q) == idx;
}

Test(vhost_user_net, a_kick_through_the_ioeventfd_is_served_by_the_event_loop)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    uint64_t one = 1;
    uint16_t le = htole16(2);
    struct virtq_seg segs[] = {{CMD, 4, false}, {ACK, 1, true}};
    uint8_t *buf;
    int kick = -1;

    vuh_start(&h, &cfg, &vhost_user_net_type, "queues=2");
    net_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ), 5,
               &ctrl);
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 1), VIRTIO_NET_OK);
    /* As KVM would: the guest's QueueNotify write signals the queue's ioeventfd. */
    for (unsigned int i = 0; i < h.irq.nioeventfds; i++)
        if (h.irq.ioeventfds[i].datamatch == 4)
            kick = h.irq.ioeventfds[i].efd;
    cr_assert_geq(kick, 0, "the control queue keeps its ioeventfd");
    buf = gmem_ptr(&h.gm, CMD, 4);
    buf[0] = VIRTIO_NET_CTRL_MQ;
    buf[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
    memcpy(buf + 2, &le, 2);
    virtq_driver_make_avail(&ctrl, virtq_driver_add_chain(&ctrl, segs, 2));
    cr_assert_eq(write(kick, &one, sizeof(one)), sizeof(one));
    cr_expect(wait_used(&ctrl, 2), "the event loop did not serve the kick");
    cr_expect_eq(*(uint8_t *)gmem_ptr(&h.gm, ACK, 1), VIRTIO_NET_OK);
    cr_expect(h.fb.ring_enabled[2] && h.fb.ring_enabled[3]);
    vuh_fini(&h, true);
}

Test(vhost_user_net, without_mq_the_control_queue_is_queue_2)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;

    vuh_start(&h, &cfg, &vhost_user_net_type, "queues=2");
    net_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CTRL_VQ), 3, &ctrl);
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1] && !h.fb.ring_started[2]);
    cr_expect_eq(pairs_set(&h, &ctrl, 2, 1), VIRTIO_NET_ERR, "MQ not negotiated");
    vuh_fini(&h, true);
}

Test(vhost_user_net, a_control_chain_without_an_ack_byte_fails_the_device_only)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    struct virtq_seg seg = {CMD, 4, false};

    vuh_start(&h, &cfg, &vhost_user_net_type, NULL);
    net_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_CTRL_VQ), 3, &ctrl);
    virtq_driver_make_avail(&ctrl, virtq_driver_add_chain(&ctrl, &seg, 1));
    vuh_wr(&h, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
    cr_expect(vuh_needs_reset(&h));
    cr_expect_eq(h.fb.connections, 1, "the back-end session is not at fault");
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_FEATURES), 1);
    vuh_fini(&h, true);
}

Test(vhost_user_net, after_migration_a_guest_with_guest_announce_announces_itself)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    uint32_t gen;
    unsigned int pulses;

    vuh_start(&h, &cfg, &vhost_user_net_type, "mac=" MAC);
    net_driver(&h,
               BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) |
                   BIT(VIRTIO_NET_F_GUEST_ANNOUNCE),
               3, &ctrl);
    gen = vuh_rd(&h, VIRTIO_MMIO_CONFIG_GENERATION);
    pulses = h.irq.pulses;
    cr_expect_eq(vhost_user_dev_migration_done(h.d), 0);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_STATUS),
                 VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
    cr_expect_neq(vuh_rd(&h, VIRTIO_MMIO_CONFIG_GENERATION), gen);
    cr_expect_gt(h.irq.pulses, pulses, "a configuration change interrupt");
    cr_expect(vuh_rd(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SEND_RARP), 0, "the guest announces");
    /* 5.1.6.5.4: the driver acknowledges, the bit clears. */
    cr_expect_eq(
        net_ctrl(&h, &ctrl, 2, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
        VIRTIO_NET_OK);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_STATUS), VIRTIO_NET_S_LINK_UP);
    vuh_fini(&h, true);
}

Test(vhost_user_net, after_migration_the_backend_sends_a_rarp_with_the_mac)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct fb_msg m;
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};

    vuh_start(&h, &cfg, &vhost_user_net_type, "mac=" MAC);
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC), 2, 64);
    cr_expect_eq(vhost_user_dev_migration_done(h.d), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SEND_RARP, &m), "no SEND_RARP");
    cr_expect_eq(m.size, 8);
    cr_expect_arr_eq(m.payload, mac, 6);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_STATUS), VIRTIO_NET_S_LINK_UP);
    vuh_fini(&h, true);
}

Test(vhost_user_net, after_migration_without_announce_or_rarp_nothing_is_sent)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    cfg.protocol_features &= ~BIT(VU_PF_RARP);
    vuh_start(&h, &cfg, &vhost_user_net_type, NULL);
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1), 2, 64);
    cr_expect_eq(vhost_user_dev_migration_done(h.d), 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SEND_RARP), 0);
    cr_expect_eq(config16(&h, VIRTIO_NET_CONFIG_STATUS), VIRTIO_NET_S_LINK_UP);
    vuh_fini(&h, true);
}

Test(vhost_user_net, reset_and_restart_serve_the_control_queue_again)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;
    struct virtq_driver ctrl;
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_CTRL_VQ);

    vuh_start(&h, &cfg, &vhost_user_net_type, "queues=2");
    net_driver(&h, f, 5, &ctrl);
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 2), VIRTIO_NET_OK);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    for (unsigned int r = 0; r < 4; r++)
        cr_expect_not(h.fb.ring_started[r], "ring %u still running after reset", r);
    net_driver(&h, f, 5, &ctrl);
    cr_expect(h.fb.ring_enabled[0] && !h.fb.ring_enabled[2], "back to one pair");
    cr_expect_eq(pairs_set(&h, &ctrl, 4, 2), VIRTIO_NET_OK);
    vuh_fini(&h, true);
}

Test(vhost_user_net, profile_2017_has_everything_net_needs)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_net_type, "profile=2017,queues=2,mtu=1500");
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_NET_SET_MTU), 1);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_QUEUE_NUM), 1);
    vuh_fini(&h, true);
}

Test(vhost_user_net, spec_keys)
{
    struct vhost_user_spec s;
    char err[256];

    cr_assert_eq(vhost_user_dev_parse(&vhost_user_net_type,
                                      "socket=/s,mac=02:AB:cd:00:00:01,mtu=9000", &s, err,
                                      sizeof(err)),
                 0, "%s", err);
    cr_expect(s.has_mac);
    cr_expect_eq(s.mac[1], 0xab);
    cr_expect_eq(s.mac[5], 0x01);
    cr_expect_eq(s.mtu, 9000);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,mac=01:00:5e:00:00:01", &s,
                                       err, sizeof(err)),
                  0, "a multicast MAC");
    cr_expect(strstr(err, "unicast"), "%s", err);
    cr_expect_neq(
        vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,mac=52:54:00:12:34", &s, err, 256),
        0);
    cr_expect_neq(
        vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,mac=52-54-00-12-34-56", &s, err, 256),
        0);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,mtu=67", &s, err, 256), 0);
    cr_expect(strstr(err, "mtu must be 68..65535"), "%s", err);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,mtu=65536", &s, err, 256),
                  0);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,queues=17", &s, err, 256),
                  0);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_net_type, "socket=/s,tag=x", &s, err, 256), 0);
    cr_expect(strstr(err, "unknown key 'tag'"), "%s", err);
}

/* DPDK starts a device only after SET_STATUS with DRIVER_OK when STATUS is negotiated. */
Test(vhost_user_net, the_backend_sees_driver_ok_and_reset_through_set_status)
{
    struct fb_config cfg = net_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_net_type, NULL);
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1), 2, 64);
    cr_expect_eq(h.fb.status, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    cr_expect_eq(h.fb.status, 0);
    vuh_fini(&h, true);
}
