/*
 * A misbehaving back-end must make the front-end return an error - never crash, hang or leak:
 * malformed replies, a hang (reply timeout), a refusal (REPLY_ACK non-zero), and a disconnect
 * at every message of the start-up and ring-start sequence, followed by a clean reconnect.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "fe_harness.h"

/* Connect with a fault on request `req`; returns what connect returned. */
static int connect_with_fault(struct harness *h, enum fb_fault f, uint32_t req)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();

    cfg.fault = f;
    cfg.fault_req = req;
    o.reply_timeout_ms = 300;
    h_init(h, &cfg, &o);
    return vu_frontend_connect(h->fe);
}

static void expect_reply_fault(enum fb_fault f, uint32_t req, int want)
{
    struct harness h;
    int ret = connect_with_fault(&h, f, req);

    cr_expect_eq(ret, want, "fault %d on %u: got %d (%s)", f, req, ret, strerror(-ret));
    cr_expect_not(vu_frontend_connected(h.fe));
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "GET_"), NULL, "%s",
                  vu_frontend_last_error(h.fe));
    /* The next connection is healthy and the session recovers. */
    cr_expect_eq(vu_frontend_connect(h.fe), 0, "%s", vu_frontend_last_error(h.fe));
    h_fini(&h);
}

Test(vu_frontend_faults, reply_without_reply_flag)
{
    expect_reply_fault(FB_FAULT_BAD_FLAGS, VU_REQ_GET_FEATURES, -EPROTO);
}

Test(vu_frontend_faults, reply_with_wrong_request_id)
{
    expect_reply_fault(FB_FAULT_WRONG_REQ, VU_REQ_GET_PROTOCOL_FEATURES, -EPROTO);
}

Test(vu_frontend_faults, reply_with_wrong_size)
{
    expect_reply_fault(FB_FAULT_BAD_SIZE, VU_REQ_GET_QUEUE_NUM, -EPROTO);
}

Test(vu_frontend_faults, garbage_reply)
{
    expect_reply_fault(FB_FAULT_GARBAGE, VU_REQ_GET_MAX_MEM_SLOTS, -EPROTO);
}

Test(vu_frontend_faults, short_reply_then_close)
{
    expect_reply_fault(FB_FAULT_SHORT, VU_REQ_GET_FEATURES, -ECONNRESET);
}

Test(vu_frontend_faults, hung_backend_times_out)
{
    struct timespec t0, t1;
    struct harness h;
    int ret;
    long ms;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ret = connect_with_fault(&h, FB_FAULT_HANG, VU_REQ_GET_QUEUE_NUM);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_expect_eq(ret, -ETIMEDOUT);
    cr_expect_geq(ms, 250, "gave up after %ld ms, before the 300 ms timeout", ms);
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "GET_QUEUE_NUM"), NULL);
    cr_expect_not(vu_frontend_connected(h.fe));
    h_fini_lenient(&h);
}

Test(vu_frontend_faults, refusal_keeps_the_session)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;

    cfg.fault = FB_FAULT_NACK;
    cfg.fault_req = VU_REQ_SET_MEM_TABLE;
    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_set_features(h.fe, 0), 0);
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, &h.region, 1), -EIO);
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "SET_MEM_TABLE"), NULL);
    cr_expect(vu_frontend_connected(h.fe), "a refusal is not a broken stream");
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, &h.region, 1), 0);
    h_fini(&h);
}

/* The whole bring-up a device does: connect, features, memory, two rings, stop one. */
static int bring_up(struct harness *h)
{
    struct vu_ring_cfg r0 = h_ring(h, 0), r1 = h_ring(h, 1);
    uint32_t base;
    int ret;

    ret = vu_frontend_connect(h->fe);
    if (ret == 0)
        ret = vu_frontend_set_features(h->fe, vu_frontend_device_features(h->fe));
    if (ret == 0)
        ret = vu_frontend_set_mem_table(h->fe, &h->region, 1);
    if (ret == 0)
        ret = vu_frontend_start_ring(h->fe, &r0);
    if (ret == 0)
        ret = vu_frontend_start_ring(h->fe, &r1);
    if (ret == 0)
        ret = vu_frontend_stop_ring(h->fe, 0, &base);
    return ret;
}

/* Messages a clean bring_up() sends with this configuration. */
static unsigned int bring_up_length(const struct fb_config *cfg)
{
    struct harness h;
    unsigned int n;

    h_init(&h, cfg, NULL);
    cr_assert_eq(bring_up(&h), 0, "%s", vu_frontend_last_error(h.fe));
    n = fake_backend_count(&h.fb, 0);
    h_fini(&h);
    return n;
}

static void disconnect_at_every_message(const struct fb_config *base_cfg, bool acked)
{
    unsigned int total = bring_up_length(base_cfg);

    cr_assert_gt(total, 15);
    for (unsigned int n = 1; n <= total; n++) {
        struct fb_config cfg = *base_cfg;
        struct harness h;
        int ret;

        cfg.fault = FB_FAULT_CLOSE;
        cfg.fault_at = n;
        h_init(&h, &cfg, NULL);
        ret = bring_up(&h);
        /* GET_VRING_BASE at the end has a reply in every mode, so the loss always shows. */
        cr_expect_lt(ret, 0, "disconnect at message %u of %u went unnoticed", n, total);
        cr_expect_not(vu_frontend_connected(h.fe), "message %u", n);
        cr_expect_neq(vu_frontend_last_error(h.fe)[0], '\0');
        if (acked) {
            struct fb_msg m;

            /* Every request waits for an answer: the failing call is the one hit. */
            cr_assert(fake_backend_msg(&h.fb, n - 1, &m));
            cr_expect_eq(fake_backend_count(&h.fb, 0), n, "message %u: front-end went on", n);
        }
        /* The back-end is back: a fresh bring-up on the same session object works. */
        ret = bring_up(&h);
        cr_expect_eq(ret, 0, "after disconnect at %u: %s", n, vu_frontend_last_error(h.fe));
        h_fini(&h);
    }
}

Test(vu_frontend_faults, disconnect_at_every_message_with_reply_ack)
{
    struct fb_config cfg = h_cfg_all();

    disconnect_at_every_message(&cfg, true);
}

Test(vu_frontend_faults, disconnect_at_every_message_without_reply_ack)
{
    struct fb_config cfg = h_cfg_all();

    cfg.protocol_features &= ~VU_BIT(VU_PF_REPLY_ACK);
    disconnect_at_every_message(&cfg, false);
}

Test(vu_frontend_faults, disconnect_at_every_message_2017_backend)
{
    struct fb_config cfg = h_cfg_2017();

    disconnect_at_every_message(&cfg, true);
}
