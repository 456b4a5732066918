/*
 * The back-end channel: the fake back-end sends requests over the socket it got with
 * SET_BACKEND_REQ_FD and the front-end, called as an event loop would, answers every request
 * that wants an answer, refuses what it does not know, and reports EOF - never hangs or leaks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fe_harness.h"

static int config_changes;

static void on_config_change(void *opaque)
{
    config_changes++;
    cr_expect_eq(opaque, &config_changes);
}

static void chan_connect(struct harness *h)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();

    o.config_changed = on_config_change;
    o.opaque = &config_changes;
    config_changes = 0;
    h_connect(h, &cfg, &o);
    cr_assert_geq(vu_frontend_backend_fd(h->fe), 0);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 100) == 1;
}

Test(vu_frontend_chan, config_change_with_need_reply_is_answered)
{
    struct vu_wire_hdr hdr;
    struct harness h;
    uint64_t val = 99;
    struct vu_frontend_stats st;

    chan_connect(&h);
    cr_assert_eq(fake_backend_chan_send(&h.fb, VU_BREQ_CONFIG_CHANGE_MSG,
                                        VU_VERSION | VU_FLAG_NEED_REPLY, NULL, 0, -1),
                 0);
    cr_assert(readable(vu_frontend_backend_fd(h.fe)));
    cr_assert_eq(vu_frontend_handle_backend_msg(h.fe), 0);
    cr_expect_eq(config_changes, 1);
    cr_assert_eq(fake_backend_chan_reply(&h.fb, &hdr, &val), 0);
    cr_expect_eq(hdr.request, VU_BREQ_CONFIG_CHANGE_MSG);
    cr_expect_eq(hdr.flags, VU_REPLY_FLAGS);
    cr_expect_eq(val, 0);
    vu_frontend_get_stats(h.fe, &st);
    cr_expect_eq(st.chan_received, 1);
    cr_expect_eq(st.chan_sent, 1);
    h_fini(&h);
}

Test(vu_frontend_chan, config_change_without_need_reply_gets_no_reply)
{
    struct harness h;
    int chan;

    chan_connect(&h);
    cr_assert_eq(fake_backend_chan_send(&h.fb, VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION, NULL, 0, -1),
                 0);
    cr_assert_eq(vu_frontend_handle_backend_msg(h.fe), 0);
    cr_expect_eq(config_changes, 1);
    pthread_mutex_lock(&h.fb.lock);
    chan = h.fb.chan_fd;
    pthread_mutex_unlock(&h.fb.lock);
    cr_expect_not(readable(chan), "an unsolicited reply would confuse the back-end");
    h_fini(&h);
}

Test(vu_frontend_chan, unknown_requests_are_refused_and_fds_closed)
{
    static const uint32_t reqs[] = {VU_BREQ_IOTLB_MSG, VU_BREQ_VRING_HOST_NOTIFIER_MSG,
                                    VU_BREQ_SHMEM_MAP, 77};
    struct harness h;
    struct vu_wire_hdr hdr;
    uint64_t val;
    uint8_t payload[40] = {0};

    chan_connect(&h);
    for (unsigned int i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        int before, efd = eventfd(0, EFD_CLOEXEC);

        cr_assert_geq(efd, 0);
        before = h_count_fds();
        cr_assert_eq(fake_backend_chan_send(&h.fb, reqs[i], VU_VERSION | VU_FLAG_NEED_REPLY,
                                            payload, sizeof(payload), efd),
                     0);
        cr_assert_eq(vu_frontend_handle_backend_msg(h.fe), 0, "request %u", reqs[i]);
        cr_assert_eq(fake_backend_chan_reply(&h.fb, &hdr, &val), 0);
        cr_expect_eq(hdr.request, reqs[i]);
        cr_expect_eq(hdr.flags, VU_REPLY_FLAGS);
        cr_expect_neq(val, 0, "request %u should be refused", reqs[i]);
        cr_expect_eq(h_count_fds(), before, "the passed fd was not closed");
        close(efd);
    }
    cr_expect(vu_frontend_connected(h.fe));
    cr_expect_eq(config_changes, 0);
    h_fini(&h);
}

Test(vu_frontend_chan, shared_object_lookup_always_answered)
{
    struct harness h;
    struct vu_wire_hdr hdr;
    uint8_t uuid[16] = {1};
    uint64_t val;

    chan_connect(&h);
    cr_assert_eq(fake_backend_chan_send(&h.fb, VU_BREQ_SHARED_OBJECT_LOOKUP, VU_VERSION, uuid,
                                        sizeof(uuid), -1),
                 0);
    cr_assert_eq(vu_frontend_handle_backend_msg(h.fe), 0);
    cr_assert_eq(fake_backend_chan_reply(&h.fb, &hdr, &val), 0);
    cr_expect_neq(val, 0);
    h_fini(&h);
}

Test(vu_frontend_chan, malformed_flags_are_a_protocol_error)
{
    struct harness h;

    chan_connect(&h);
    cr_assert_eq(
        fake_backend_chan_send(&h.fb, VU_BREQ_CONFIG_CHANGE_MSG, VU_REPLY_FLAGS, NULL, 0, -1), 0);
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -EPROTO);
    cr_assert_eq(fake_backend_chan_send(&h.fb, VU_BREQ_CONFIG_CHANGE_MSG, 0x2, NULL, 0, -1), 0);
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -EPROTO);
    cr_expect_eq(config_changes, 0);
    h_fini(&h);
}

Test(vu_frontend_chan, eof_is_reported)
{
    struct harness h;

    chan_connect(&h);
    fake_backend_chan_close(&h.fb);
    cr_assert(readable(vu_frontend_backend_fd(h.fe)));
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -ECONNRESET);
    vu_frontend_disconnect(h.fe);
    cr_expect_eq(vu_frontend_backend_fd(h.fe), -1);
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -ENOTCONN);
    h_fini(&h);
}

Test(vu_frontend_chan, hung_sender_times_out)
{
    struct vu_frontend_opts o = h_opts();
    struct fb_config cfg = h_cfg_all();
    struct vu_wire_hdr hdr = {.request = VU_BREQ_CONFIG_CHANGE_MSG, .flags = VU_VERSION, .size = 8};
    struct harness h;
    int chan;

    o.reply_timeout_ms = 200;
    h_connect(&h, &cfg, &o);
    pthread_mutex_lock(&h.fb.lock);
    chan = h.fb.chan_fd;
    pthread_mutex_unlock(&h.fb.lock);
    /* A header announcing 8 bytes that never come. */
    cr_assert_eq(write(chan, &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -ETIMEDOUT);
    h_fini(&h);
}

Test(vu_frontend_chan, no_channel_without_backend_req)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_BACKEND_REQ);
    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_backend_fd(h.fe), -1);
    cr_expect_eq(vu_frontend_handle_backend_msg(h.fe), -ENOTCONN);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_BACKEND_REQ_FD), 0);
    h_fini(&h);
}
