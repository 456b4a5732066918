/*
 * The generic vhost-user device driven like a guest would, through its real virtio-mmio
 * transport, against the fake back-end on a real socket: activation hands the transport's own
 * eventfds and the guest's RAM to the back-end, reset stops every ring, re-activation starts
 * clean, and config space comes from GET_CONFIG (and CONFIG_CHANGE_MSG).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhost_user_generic.h"
#include "vhost_user_harness.h"

#define DRV_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VUH_DEV_BIT))
#define GENERIC      "virtio-id=42,queues=2,config-size=16"

static uint64_t device_features(struct vuh *h)
{
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return hi << 32 | vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
}

static uint64_t efd_take(int fd)
{
    uint64_t v = 0;

    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

/* The transport's kick eventfd for queue q: the one assigned as ioeventfd with datamatch q. */
static int transport_kick(struct vuh *h, unsigned int q)
{
    for (unsigned int i = 0; i < h->irq.nioeventfds; i++)
        if (h->irq.ioeventfds[i].datamatch == q)
            return h->irq.ioeventfds[i].efd;
    return -1;
}

Test(vhost_user_dev, device_id_and_offered_features)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_DEVICE_ID), 42);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    /* Bit 30 belongs to vhost-user and never reaches the guest. */
    cr_expect_eq(device_features(&h), VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                                          VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VUH_DEV_BIT));
    vuh_fini(&h, true);
}

Test(vhost_user_dev, driver_ok_gives_the_backend_memory_rings_and_the_transport_eventfds)
{
    struct fb_config cfg = vuh_cfg();
    static const char pattern[] = "guest RAM seen through the memory table";
    struct vhost_user_stats st;
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    memcpy(gmem_ptr(&h.gm, 0x300000, sizeof(pattern)), pattern, sizeof(pattern));
    vuh_init_driver(&h, DRV_FEATURES, 2, 128);
    cr_assert_eq(vuh_status(&h) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET),
                 VIRTIO_STATUS_DRIVER_OK);

    cr_expect_eq(h.fb.acked_features, DRV_FEATURES | VU_BIT(VU_F_PROTOCOL_FEATURES));
    const char *seen = fake_backend_gpa(&h.fb, 0x300000, sizeof(pattern));
    cr_assert_not_null(seen, "the back-end did not map guest RAM");
    cr_expect_str_eq(seen, pattern);
    for (unsigned int q = 0; q < 2; q++) {
        int kick = transport_kick(&h, q);
        int fb_kick = fake_backend_kick_fd(&h.fb, q);
        int fb_call = fake_backend_call_fd(&h.fb, q);
        unsigned int hits = 0;

        cr_expect(h.fb.ring_started[q] && h.fb.ring_enabled[q], "ring %u not running", q);
        cr_expect_eq(h.fb.ring_num[q], 128);
        cr_assert(kick >= 0 && fb_kick >= 0 && fb_call >= 0);
        /* Same eventfd: the initial kick and ours arrive on the transport's ioeventfd. */
        cr_expect_geq(efd_take(kick), 1, "queue %u: no initial kick", q);
        cr_assert_eq(write(fb_kick, &(uint64_t){5}, 8), 8);
        cr_expect_eq(efd_take(kick), 5, "queue %u: the back-end's kick fd is not the ioeventfd", q);
        /* The back-end's call reaches exactly one of the transport's irqfds. */
        cr_assert_eq(write(fb_call, &(uint64_t){7}, 8), 8);
        for (unsigned int i = 0; i < h.irq.nirqfds; i++)
            hits += efd_take(h.irq.irqfds[i].efd) == 7;
        cr_expect_eq(hits, 1, "queue %u: the back-end's call fd is not an irqfd", q);
    }
    vhost_user_dev_get_stats(h.d, &st);
    cr_expect_eq(st.mmio.notifies, 0, "kicks reached the VMM");
    cr_expect_eq(st.mmio.activations, 1);
    cr_expect_gt(st.msgs.sent, 10);
    vuh_fini(&h, true);
}

Test(vhost_user_dev, reset_stops_every_started_ring_and_reactivation_starts_clean)
{
    struct fb_config cfg = vuh_cfg();
    struct fb_msg m;
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_VRING_BASE), 2);
    cr_expect(!h.fb.ring_started[0] && !h.fb.ring_started[1]);
    cr_expect_eq(h.irq.nioeventfds, 0);

    /* The driver comes back with only queue 0: only it starts, from index 0. */
    vuh_features_ok(&h, DRV_FEATURES);
    vuh_queues(&h, 1, 32);
    vuh_driver_ok(&h);
    cr_assert_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_KICK), 3);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_BASE, &m));
    cr_expect_eq(((struct vu_wire_vring_state *)m.payload)->num, 0);
    cr_expect(h.fb.ring_started[0] && !h.fb.ring_started[1]);
    cr_expect_eq(h.fb.ring_num[0], 32);

    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_VRING_BASE), 3, "stopped a ring twice");
    vuh_fini(&h, true);
}

Test(vhost_user_dev, reset_before_driver_ok_sends_nothing)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;
    unsigned int before;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    before = fake_backend_count(&h.fb, 0);
    vuh_features_ok(&h, DRV_FEATURES);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    cr_expect_eq(fake_backend_count(&h.fb, 0), before);
    vuh_fini(&h, true);
}

Test(vhost_user_dev, config_space_comes_from_get_config_once)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG), 0x13121110);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + 12), 0x1f1e1d1c);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_CONFIG), 1, "config reads must be cached");
    /* Past config-size: refused, read as 0 by the transport. */
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + 16), 0);
    vuh_fini(&h, true);
}

Test(vhost_user_dev, config_write_goes_to_set_config)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_features_ok(&h, DRV_FEATURES);
    vuh_wr(&h, VIRTIO_MMIO_CONFIG + 4, 0xcafef00d);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_CONFIG), 1);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + 4), 0xcafef00d);
    cr_expect_eq(h.fb.config[4], 0x0d);
    vuh_fini(&h, true);
}

static uint32_t generation_seen;

static bool generation_moved(struct vuh *h)
{
    return vuh_rd(h, VIRTIO_MMIO_CONFIG_GENERATION) != generation_seen;
}

Test(vhost_user_dev, config_change_message_means_new_config_generation_and_interrupt)
{
    struct fb_config cfg = vuh_cfg();
    struct vu_wire_hdr hdr;
    uint64_t val = 99;
    unsigned int pulses;
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_init_driver(&h, DRV_FEATURES, 1, 64);
    generation_seen = vuh_rd(&h, VIRTIO_MMIO_CONFIG_GENERATION);
    pulses = h.irq.pulses;
    pthread_mutex_lock(&h.fb.lock);
    h.fb.config[0] = 0xaa;
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert_eq(fake_backend_chan_send(&h.fb, VU_BREQ_CONFIG_CHANGE_MSG,
                                        VU_VERSION | VU_FLAG_NEED_REPLY, NULL, 0, -1),
                 0);
    /* The event loop answers the back-end before re-reading the config (it may wait). */
    cr_assert_eq(fake_backend_chan_reply(&h.fb, &hdr, &val), 0);
    cr_expect_eq(val, 0);
    cr_assert(vuh_until(generation_moved, &h), "ConfigGeneration did not change");
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG) & 0xff, 0xaa);
    cr_expect(vuh_rd(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    cr_expect_gt(h.irq.pulses, pulses);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    vuh_fini(&h, true);
}

/* server=on: minivmm listens and the back-end connects (a back-end started after the VMM). */
Test(vhost_user_dev, server_mode_accepts_the_backend)
{
    struct fb_config cfg = vuh_cfg();
    char path[128], args[300], err[256];
    struct vhost_user_spec spec;
    struct vuh h;

    snprintf(path, sizeof(path), "/tmp/vuh-server-%d.sock", (int)getpid());
    cfg.connect_to = path;
    vuh_init(&h, &cfg);
    snprintf(args, sizeof(args), "socket=%s,server=on,connect-timeout=3000,virtio-id=42", path);
    cr_assert_eq(vhost_user_dev_parse(&vhost_user_generic_type, args, &spec, err, sizeof(err)), 0,
                 "%s", err);
    struct vhost_user_machine m = {
        .base = VUH_BASE, .gsi = VUH_GSI, .irq = &h.irq.chip, .gmem = &h.gm, .loop = &h.loop};
    h.d = vhost_user_dev_create(&vhost_user_generic_type, "test0", &spec, &m);
    cr_assert_not_null(h.d);
    h.t = vhost_user_dev_mmio(h.d);
    vuh_init_driver(&h, DRV_FEATURES, 1, 64);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    cr_expect(h.fb.ring_started[0]);
    vuh_fini(&h, true);
    cr_expect_neq(access(path, F_OK), 0, "the listening socket was left behind");
}
