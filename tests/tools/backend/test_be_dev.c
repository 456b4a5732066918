/*
 * Unit tests for tools/backend/be_dev.c, be_dev_vring.c and be_msg.c: a hostile front-end
 * written here sends raw messages over a socketpair to a session running in a thread, and
 * checks the back-end's answer to each malformed or out-of-range request: a u64 1 when
 * REPLY_ACK lets it say no, the end of the session when nothing can carry the refusal.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "be_dev.h"
#include "be_print.h"
#include "be_session.h"

static int fe = -1; /* our end */
static pthread_t thread;
static int backend_ret;
static volatile sig_atomic_t stop;

static void *backend_main(void *arg)
{
    backend_ret = be_session_run(*(int *)arg, 1, false, &stop);
    return NULL;
}

static void setup(void)
{
    static int be_end;
    int sv[2];

    be_print_set(BE_QUIET);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fe = sv[0];
    be_end = sv[1];
    backend_ret = 1;
    cr_assert_eq(pthread_create(&thread, NULL, backend_main, &be_end), 0);
}

/* The session's result once we hang up (or once it hung up on us). */
static int finish(void)
{
    close(fe);
    fe = -1;
    cr_assert_eq(pthread_join(thread, NULL), 0);
    return backend_ret;
}

static void teardown(void)
{
    if (fe >= 0)
        finish();
}

TestSuite(be_dev, .init = setup, .fini = teardown);

static void send_raw(const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    char control[CMSG_SPACE(16 * sizeof(int))] = {0};
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    if (nfds) {
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    cr_assert_eq(sendmsg(fe, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_msg(uint32_t req, uint32_t flags, const void *payload, uint32_t size,
                     const int *fds, unsigned int nfds)
{
    uint8_t buf[sizeof(struct vu_wire_hdr) + VU_PAYLOAD_MAX];
    struct vu_wire_hdr h = {.request = req, .flags = VU_VERSION | flags, .size = size};

    memcpy(buf, &h, sizeof(h));
    if (size)
        memcpy(buf + sizeof(h), payload, size);
    send_raw(buf, sizeof(h) + size, fds, nfds);
}

/* Reads one reply to req and returns its u64 (8-byte replies only). */
static uint64_t reply_u64(uint32_t req)
{
    struct vu_wire_hdr h;
    uint64_t v = 0;

    cr_assert_eq(read(fe, &h, sizeof(h)), (ssize_t)sizeof(h), "no reply to request %u", req);
    cr_assert_eq(h.request, req);
    cr_assert_eq(h.flags, VU_REPLY_FLAGS);
    cr_assert_eq(h.size, 8);
    cr_assert_eq(read(fe, &v, 8), 8);
    return v;
}

static uint64_t request_u64(uint32_t req, uint64_t arg, bool with_arg)
{
    send_msg(req, VU_FLAG_NEED_REPLY, &arg, with_arg ? 8 : 0, NULL, 0);
    return reply_u64(req);
}

/* GET_FEATURES, then REPLY_ACK (and MQ): refusals can now be acknowledged. */
static void negotiate(void)
{
    cr_assert_eq(request_u64(VU_REQ_GET_FEATURES, 0, false), BE_FEATURES);
    cr_assert_eq(request_u64(VU_REQ_GET_PROTOCOL_FEATURES, 0, false), BE_PROTOCOL_FEATURES);
    send_msg(VU_REQ_SET_PROTOCOL_FEATURES, 0,
             &(uint64_t){VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_MQ)}, 8, NULL, 0);
}

/* An acknowledged request: 0 accepted, 1 refused. */
static uint64_t acked(uint32_t req, const void *payload, uint32_t size, const int *fds,
                      unsigned int nfds)
{
    send_msg(req, VU_FLAG_NEED_REPLY, payload, size, fds, nfds);
    return reply_u64(req);
}

Test(be_dev, hang_up_is_a_clean_end)
{
    negotiate();
    cr_assert_eq(finish(), 0);
}

Test(be_dev, malformed_headers_end_the_session)
{
    struct vu_wire_hdr h = {.request = VU_REQ_GET_FEATURES, .flags = VU_VERSION | VU_FLAG_REPLY};

    send_raw(&h, sizeof(h), NULL, 0);
    cr_assert_eq(finish(), -EPROTO);
}

Test(be_dev, oversized_payload_ends_the_session)
{
    struct vu_wire_hdr h = {
        .request = VU_REQ_SET_FEATURES, .flags = VU_VERSION, .size = VU_PAYLOAD_MAX + 1};

    send_raw(&h, sizeof(h), NULL, 0);
    cr_assert_eq(finish(), -EPROTO);
}

Test(be_dev, wrong_version_ends_the_session)
{
    struct vu_wire_hdr h = {.request = VU_REQ_GET_FEATURES, .flags = 2};

    send_raw(&h, sizeof(h), NULL, 0);
    cr_assert_eq(finish(), -EPROTO);
}

Test(be_dev, header_split_across_writes_is_fine)
{
    struct vu_wire_hdr h = {.request = VU_REQ_GET_FEATURES, .flags = VU_VERSION};

    send_raw(&h, 5, NULL, 0);
    usleep(10000);
    send_raw((char *)&h + 5, sizeof(h) - 5, NULL, 0);
    cr_assert_eq(reply_u64(VU_REQ_GET_FEATURES), BE_FEATURES);
}

Test(be_dev, unknown_request_without_ack_ends_the_session)
{
    send_msg(99, 0, NULL, 0, NULL, 0);
    cr_assert_eq(finish(), -EOPNOTSUPP);
}

Test(be_dev, refusals_with_reply_ack)
{
    struct vu_wire_vring_state st = {.index = 1, .num = 8}; /* 1 queue: ring 1 does not exist */
    int efd = eventfd(0, EFD_CLOEXEC);

    negotiate();
    cr_assert_eq(acked(99, NULL, 0, NULL, 0), 1, "unknown request");
    cr_assert_eq(acked(VU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 1, "ring 1");
    st = (struct vu_wire_vring_state){.index = 0, .num = 3};
    cr_assert_eq(acked(VU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 1, "size 3");
    st.num = 65536;
    cr_assert_eq(acked(VU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 1, "size 65536");
    st.num = 256;
    cr_assert_eq(acked(VU_REQ_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 0, "size 256");
    cr_assert_eq(acked(VU_REQ_SET_VRING_NUM, &st, 4, NULL, 0), 1, "short payload");
    st.num = 0x10000; /* split base: bits 16-31 reserved */
    cr_assert_eq(acked(VU_REQ_SET_VRING_BASE, &st, sizeof(st), NULL, 0), 1, "base 0x10000");
    cr_assert_eq(
        acked(VU_REQ_SET_FEATURES, &(uint64_t){VU_BIT(0) | VU_BIT(VU_F_VERSION_1)}, 8, NULL, 0), 1,
        "bit 0 was not offered");
    cr_assert_eq(acked(VU_REQ_SET_FEATURES, &(uint64_t){0}, 8, NULL, 0), 1, "no VERSION_1");
    st = (struct vu_wire_vring_state){.index = 0, .num = 1};
    cr_assert_eq(acked(VU_REQ_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0), 1,
                 "enable before bit 30 is negotiated");
    cr_assert_eq(acked(VU_REQ_SET_VRING_KICK, &(uint64_t){VU_VRING_NOFD_MASK}, 8, &efd, 1), 1,
                 "an fd although bit 8 says none");
    cr_assert_eq(acked(VU_REQ_SET_VRING_KICK, &(uint64_t){0}, 8, NULL, 0), 1, "no fd");
    cr_assert_eq(acked(VU_REQ_SET_VRING_KICK, &(uint64_t){0}, 8, &efd, 1), 1,
                 "start without addresses or memory");
    cr_assert_eq(acked(VU_REQ_SET_VRING_CALL, &(uint64_t){0x200}, 8, NULL, 0), 1, "reserved bit 9");
    cr_assert_eq(acked(VU_REQ_SET_VRING_CALL, &(uint64_t){VU_VRING_NOFD_MASK}, 8, NULL, 0), 0,
                 "no call fd: the front-end polls");
    cr_assert_eq(acked(VU_REQ_RESET_DEVICE, NULL, 0, NULL, 0), 1,
                 "RESET_DEVICE was not negotiated");
    cr_assert_eq(request_u64(VU_REQ_GET_QUEUE_NUM, 0, false), 1, "still talking");
    close(efd);
    cr_assert_eq(finish(), 0);
}

Test(be_dev, memory_tables_that_do_not_add_up)
{
    struct vu_wire_mem_table t = {.nregions = 2};
    int efd = eventfd(0, EFD_CLOEXEC);
    int fds[2] = {efd, efd};

    negotiate();
    t.regions[0] = (struct vu_wire_region){.gpa = 0, .size = 4096};
    t.regions[1] = (struct vu_wire_region){.gpa = 8192, .size = 4096};
    cr_assert_eq(acked(VU_REQ_SET_MEM_TABLE, &t, 8 + 2 * 32, fds, 1), 1, "2 regions, 1 fd");
    cr_assert_eq(acked(VU_REQ_SET_MEM_TABLE, &t, 8 + 1 * 32, fds, 2), 1, "size for 1 region");
    t.nregions = 9;
    cr_assert_eq(acked(VU_REQ_SET_MEM_TABLE, &t, 8 + 2 * 32, fds, 2), 1, "9 regions");
    t.nregions = 0;
    cr_assert_eq(acked(VU_REQ_SET_MEM_TABLE, &t, 8, NULL, 0), 1, "0 regions");
    cr_assert_eq(acked(VU_REQ_SET_MEM_TABLE, &t, 4, NULL, 0), 1, "shorter than its header");
    close(efd);
}

Test(be_dev, more_than_eight_fds_end_the_session)
{
    int fds[9];
    int efd = eventfd(0, EFD_CLOEXEC);

    for (int i = 0; i < 9; i++)
        fds[i] = efd;
    negotiate();
    send_msg(VU_REQ_SET_LOG_FD, VU_FLAG_NEED_REPLY, NULL, 0, fds, 9);
    cr_assert_eq(finish(), -EPROTO);
    close(efd);
}

Test(be_dev, own_reply_requests_cannot_be_refused_softly)
{
    struct vu_wire_vring_state st = {.index = 7};

    negotiate();
    send_msg(VU_REQ_GET_VRING_BASE, VU_FLAG_NEED_REPLY, &st, sizeof(st), NULL, 0);
    cr_assert_eq(finish(), -EINVAL, "GET_VRING_BASE of ring 7: its reply has no error form");
}

Test(be_dev, gated_requests_need_their_protocol_feature)
{
    cr_assert_eq(request_u64(VU_REQ_GET_FEATURES, 0, false), BE_FEATURES);
    send_msg(VU_REQ_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0); /* MQ not negotiated */
    cr_assert_eq(finish(), -EOPNOTSUPP);
}
