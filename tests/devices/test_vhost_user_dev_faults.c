/*
 * A dead or misbehaving back-end fails only its device: the guest sees DEVICE_NEEDS_RESET
 * (with a config interrupt once running), the transport keeps answering, and after a reset
 * the next DRIVER_OK reconnects. A missing or unfit back-end is a start-up error, not a hang.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "fake_backend_rules.h"
#include "vhost_user_generic.h"
#include "vhost_user_harness.h"

#define DRV_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VUH_DEV_BIT))
#define GENERIC      "virtio-id=42,queues=2,config-size=16"

static void still_answers(struct vuh *h)
{
    cr_expect_eq(vuh_rd(h, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    cr_expect_eq(vuh_rd(h, VIRTIO_MMIO_DEVICE_ID), 42);
    cr_expect_eq(vuh_rd(h, VIRTIO_MMIO_CONFIG), 0x13121110, "config copy lost");
}

static void running(struct vuh *h)
{
    vuh_init_driver(h, DRV_FEATURES, 2, 64);
    cr_assert_eq(vuh_status(h) & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET),
                 VIRTIO_STATUS_DRIVER_OK);
}

/* After a failure: reset, init again; the device reconnects and runs. */
static void recovers(struct vuh *h)
{
    struct vhost_user_stats st;

    vuh_wr(h, VIRTIO_MMIO_STATUS, 0);
    cr_expect_eq(vuh_status(h), 0);
    running(h);
    vhost_user_dev_get_stats(h->d, &st);
    cr_expect_eq(st.failures, 1);
    cr_expect_eq(st.reconnects, 1);
    cr_expect(h->fb.ring_started[0] && h->fb.ring_started[1]);
}

Test(vhost_user_dev_faults, backend_closing_mid_activation_means_needs_reset)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.fault = FB_FAULT_CLOSE;
    cfg.fault_req = VU_REQ_SET_VRING_KICK;
    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    cr_expect(vuh_needs_reset(&h), "status %#x", vuh_status(&h));
    cr_expect_eq(h.irq.nioeventfds, 0, "a failed activation left its wiring");
    still_answers(&h);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, garbage_reply_means_needs_reset)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.fault = FB_FAULT_GARBAGE;
    cfg.fault_req = VU_REQ_SET_MEM_TABLE;
    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    cr_expect(vuh_needs_reset(&h));
    still_answers(&h);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, silent_backend_times_out)
{
    struct fb_config cfg = vuh_cfg();
    struct timespec t0, t1;
    struct vuh h;

    cfg.fault = FB_FAULT_HANG;
    cfg.fault_req = VU_REQ_SET_VRING_ADDR;
    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_expect(vuh_needs_reset(&h));
    cr_expect_lt(t1.tv_sec - t0.tv_sec, 5, "reply-timeout=1000 not honoured");
    still_answers(&h);
    vuh_fini(&h, false);
}

Test(vhost_user_dev_faults, refused_request_means_needs_reset_and_rings_stopped)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.fault = FB_FAULT_NACK;
    cfg.fault_at = 0;
    cfg.fault_req = VU_REQ_SET_VRING_CALL;
    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    cr_expect(vuh_needs_reset(&h));
    /* Ring 0 counted as started once SET_VRING_KICK went out: it was stopped again. */
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_VRING_BASE), 1);
    vuh_wr(&h, VIRTIO_MMIO_STATUS, 0);
    running(&h); /* same session: no reconnect needed */
    vuh_fini(&h, true);
}

static bool needs_reset(struct vuh *h)
{
    return vuh_needs_reset(h);
}

/* The back-end goes away while the guest runs: noticed by the event loop alone. */
Test(vhost_user_dev_faults, hangup_while_running_fails_the_device_with_an_interrupt)
{
    struct fb_config cfg = vuh_cfg();
    unsigned int pulses;
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    running(&h);
    pulses = h.irq.pulses;
    pthread_mutex_lock(&h.fb.lock);
    shutdown(h.fb.conn_fd, SHUT_RDWR);
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert(vuh_until(needs_reset, &h), "the hangup went unnoticed");
    /* 2.1.2: DEVICE_NEEDS_RESET after DRIVER_OK comes with a config change interrupt. */
    cr_expect(vuh_rd(&h, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    cr_expect_gt(h.irq.pulses, pulses);
    still_answers(&h);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, unsolicited_message_is_a_protocol_error)
{
    struct fb_config cfg = vuh_cfg();
    struct vu_wire_hdr hdr = {.request = VU_REQ_GET_FEATURES, .flags = VU_REPLY_FLAGS, .size = 8};
    uint64_t zero = 0;
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    running(&h);
    pthread_mutex_lock(&h.fb.lock);
    cr_assert_eq(fb_send_raw(h.fb.conn_fd, &hdr, &zero, sizeof(zero), -1), 0);
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert(vuh_until(needs_reset, &h), "unsolicited data went unnoticed");
    still_answers(&h);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, backend_channel_eof_fails_the_device)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    running(&h);
    fake_backend_chan_close(&h.fb);
    cr_assert(vuh_until(needs_reset, &h), "channel EOF went unnoticed");
    still_answers(&h);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, failure_before_driver_ok_refuses_to_start)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_generic_type, GENERIC);
    vuh_features_ok(&h, DRV_FEATURES);
    fake_backend_chan_close(&h.fb);
    cr_assert(vuh_until(needs_reset, &h));
    vuh_queues(&h, 2, 64);
    vuh_driver_ok(&h);
    cr_expect(vuh_needs_reset(&h));
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_KICK), 0);
    recovers(&h);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, missing_backend_is_a_bounded_startup_error)
{
    struct fb_config cfg = vuh_cfg();
    struct vhost_user_machine m;
    struct vhost_user_spec spec;
    struct timespec t0, t1;
    char err[256];
    struct vuh h;

    vuh_init(&h, &cfg);
    m = (struct vhost_user_machine){
        .base = VUH_BASE, .gsi = VUH_GSI, .irq = &h.irq.chip, .gmem = &h.gm, .loop = &h.loop};
    cr_assert_eq(vhost_user_dev_parse(&vhost_user_generic_type,
                                      "virtio-id=1,socket=/nonexistent/vu.sock,connect-timeout=300",
                                      &spec, err, sizeof(err)),
                 0, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_null(vhost_user_dev_create(&vhost_user_generic_type, "test0", &spec, &m));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_expect(ms >= 250 && ms < 3000, "connect-timeout=300 took %ld ms", ms);
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, backend_without_version_1_is_refused)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.features &= ~VU_BIT(VU_F_VERSION_1);
    vuh_init(&h, &cfg);
    cr_expect_null(vuh_create(&h, &vhost_user_generic_type, GENERIC));
    vuh_fini(&h, true);
}

Test(vhost_user_dev_faults, config_space_needs_the_config_protocol_feature)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_CONFIG);
    vuh_init(&h, &cfg);
    cr_expect_null(vuh_create(&h, &vhost_user_generic_type, GENERIC));
    /* Without config space GET_CONFIG is never needed. */
    cr_expect_not_null(vuh_create(&h, &vhost_user_generic_type, "virtio-id=42"));
    vuh_fini(&h, true);
}
