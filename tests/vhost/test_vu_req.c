/*
 * vu_req over a socketpair: the exact bytes and fds of every typed request, and the reply
 * checks (flags exactly 0x5, request echoed, exact sizes, fds only where allowed), with the
 * peer end written and read by hand.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vu_req.h"

struct pair {
    struct vu_conn c;
    int peer;
    int efd; /* an fd to pass around */
};

struct raw {
    struct vu_wire_hdr hdr;
    union vu_wire_payload p;
    int fds[VU_MAX_FDS];
    unsigned int nfds;
};

static void pair_open(struct pair *pp)
{
    int sv[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vu_conn_init(&pp->c, sv[0], 200);
    pp->peer = sv[1];
    pp->efd = eventfd(0, EFD_CLOEXEC);
    cr_assert_geq(pp->efd, 0);
}

static void pair_close(struct pair *pp)
{
    vu_conn_close(&pp->c);
    close(pp->peer);
    close(pp->efd);
}

/* Reads one request on the peer: the header in one recvmsg with its fds, then the payload. */
static void peer_read(struct pair *pp, struct raw *r)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {.iov_base = &r->hdr, .iov_len = sizeof(r->hdr)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctrl.buf,
                        .msg_controllen = sizeof(ctrl.buf)};

    memset(r, 0, sizeof(*r));
    cr_assert_eq(recvmsg(pp->peer, &mh, MSG_DONTWAIT), (ssize_t)sizeof(r->hdr));
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        r->nfds = (unsigned int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(r->fds, CMSG_DATA(cm), r->nfds * sizeof(int));
    }
    if (r->hdr.size)
        cr_assert_eq(recv(pp->peer, &r->p, r->hdr.size, MSG_DONTWAIT), (ssize_t)r->hdr.size);
    for (unsigned int i = 0; i < r->nfds; i++)
        close(r->fds[i]);
}

static void peer_reply(struct pair *pp, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                       int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct vu_wire_hdr hdr = {.request = req, .flags = flags, .size = size};
    struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)p, size}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};

    if (fd >= 0) {
        struct cmsghdr *cm;

        memset(&ctrl, 0, sizeof(ctrl));
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = sizeof(ctrl.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    cr_assert_eq(sendmsg(pp->peer, &mh, 0), (ssize_t)(sizeof(hdr) + size));
}

static void reply_u64(struct pair *pp, uint32_t req, uint64_t v)
{
    peer_reply(pp, req, VU_REPLY_FLAGS, &v, sizeof(v), -1);
}

static void expect_msg(struct pair *pp, uint32_t req, uint32_t flags, uint32_t size,
                       unsigned int nfds, const void *payload)
{
    struct raw r;

    peer_read(pp, &r);
    cr_expect_eq(r.hdr.request, req);
    cr_expect_eq(r.hdr.flags, flags, "request %u: flags 0x%x", req, r.hdr.flags);
    cr_expect_eq(r.hdr.size, size, "request %u: size %u", req, r.hdr.size);
    cr_expect_eq(r.nfds, nfds, "request %u: %u fds", req, r.nfds);
    if (payload && size)
        cr_expect_arr_eq(&r.p, payload, size, "request %u payload", req);
}

static void expect_u64_msg(struct pair *pp, uint32_t req, uint64_t v, unsigned int nfds)
{
    expect_msg(pp, req, VU_VERSION, 8, nfds, &v);
}

Test(vu_req, encoding_no_payload_and_queries)
{
    struct pair pp;
    uint64_t v;

    pair_open(&pp);
    cr_assert_eq(vu_req_set_owner(&pp.c, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_OWNER, VU_VERSION, 0, 0, NULL);
    cr_assert_eq(vu_req_reset_owner(&pp.c, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_RESET_OWNER, VU_VERSION, 0, 0, NULL);
    cr_assert_eq(vu_req_reset_device(&pp.c, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_RESET_DEVICE, VU_VERSION, 0, 0, NULL);
    struct {
        int (*fn)(struct vu_conn *, uint64_t *);
        uint32_t req;
    } queries[] = {
        {vu_req_get_features, VU_REQ_GET_FEATURES},
        {vu_req_get_protocol_features, VU_REQ_GET_PROTOCOL_FEATURES},
        {vu_req_get_queue_num, VU_REQ_GET_QUEUE_NUM},
        {vu_req_get_max_mem_slots, VU_REQ_GET_MAX_MEM_SLOTS},
        {vu_req_get_status, VU_REQ_GET_STATUS},
    };
    for (unsigned int i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
        reply_u64(&pp, queries[i].req, 1000 + i);
        cr_assert_eq(queries[i].fn(&pp.c, &v), 0);
        cr_expect_eq(v, 1000 + i);
        expect_msg(&pp, queries[i].req, VU_VERSION, 0, 0, NULL);
    }
    reply_u64(&pp, VU_REQ_CHECK_DEVICE_STATE, 0);
    cr_expect_eq(vu_req_check_device_state(&pp.c), 0);
    expect_msg(&pp, VU_REQ_CHECK_DEVICE_STATE, VU_VERSION, 0, 0, NULL);
    reply_u64(&pp, VU_REQ_CHECK_DEVICE_STATE, 123);
    cr_expect_eq(vu_req_check_device_state(&pp.c), -EIO);
    pair_close(&pp);
}

Test(vu_req, encoding_u64_setters)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
    uint64_t macval = 0;
    struct pair pp;

    pair_open(&pp);
    cr_assert_eq(vu_req_set_features(&pp.c, 0x140000001ull, VU_WAIT_NONE), 0);
    expect_u64_msg(&pp, VU_REQ_SET_FEATURES, 0x140000001ull, 0);
    cr_assert_eq(vu_req_set_protocol_features(&pp.c, 0x1f, VU_WAIT_NONE), 0);
    expect_u64_msg(&pp, VU_REQ_SET_PROTOCOL_FEATURES, 0x1f, 0);
    cr_assert_eq(vu_req_set_status(&pp.c, 0xf, VU_WAIT_NONE), 0);
    expect_u64_msg(&pp, VU_REQ_SET_STATUS, 0xf, 0);
    cr_assert_eq(vu_req_net_set_mtu(&pp.c, 1500, VU_WAIT_NONE), 0);
    expect_u64_msg(&pp, VU_REQ_NET_SET_MTU, 1500, 0);
    cr_assert_eq(vu_req_send_rarp(&pp.c, mac, VU_WAIT_NONE), 0);
    memcpy(&macval, mac, 6);
    expect_u64_msg(&pp, VU_REQ_SEND_RARP, macval, 0);
    pair_close(&pp);
}

Test(vu_req, encoding_rings)
{
    struct vu_wire_vring_state s = {.index = 3, .num = 256};
    struct vu_wire_vring_addr a = {.index = 3,
                                   .flags = VU_VRING_F_LOG,
                                   .desc = 0x1000,
                                   .used = 0x3000,
                                   .avail = 0x2000,
                                   .log = 0x83000};
    struct pair pp;
    uint32_t base;

    pair_open(&pp);
    cr_assert_eq(vu_req_set_vring_num(&pp.c, 3, 256, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_VRING_NUM, VU_VERSION, 8, 0, &s);
    s.num = 9;
    cr_assert_eq(vu_req_set_vring_base(&pp.c, 3, 9, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_VRING_BASE, VU_VERSION, 8, 0, &s);
    s.num = 1;
    cr_assert_eq(vu_req_set_vring_enable(&pp.c, 3, true, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_VRING_ENABLE, VU_VERSION, 8, 0, &s);
    cr_assert_eq(vu_req_set_vring_addr(&pp.c, &a, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_VRING_ADDR, VU_VERSION, 40, 0, &a);
    s = (struct vu_wire_vring_state){.index = 3, .num = 77};
    peer_reply(&pp, VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS, &s, sizeof(s), -1);
    cr_assert_eq(vu_req_get_vring_base(&pp.c, 3, &base), 0);
    cr_expect_eq(base, 77);
    s.num = 0;
    expect_msg(&pp, VU_REQ_GET_VRING_BASE, VU_VERSION, 8, 0, &s);
    pair_close(&pp);
}

Test(vu_req, vring_fd_nofd_bit_exactly_without_fd)
{
    int (*fns[])(struct vu_conn *, uint32_t, int, enum vu_wait) = {
        vu_req_set_vring_kick, vu_req_set_vring_call, vu_req_set_vring_err};
    uint32_t reqs[] = {VU_REQ_SET_VRING_KICK, VU_REQ_SET_VRING_CALL, VU_REQ_SET_VRING_ERR};
    struct pair pp;

    pair_open(&pp);
    for (unsigned int i = 0; i < 3; i++) {
        cr_assert_eq(fns[i](&pp.c, 5, pp.efd, VU_WAIT_NONE), 0);
        expect_u64_msg(&pp, reqs[i], 5, 1);
        cr_assert_eq(fns[i](&pp.c, 5, -1, VU_WAIT_NONE), 0);
        expect_u64_msg(&pp, reqs[i], 5 | VU_VRING_NOFD_MASK, 0);
    }
    cr_expect_eq(vu_req_set_vring_kick(&pp.c, 256, pp.efd, VU_WAIT_NONE), -EINVAL);
    pair_close(&pp);
}

Test(vu_req, encoding_memory)
{
    struct vu_wire_region r[2] = {{0, 0x100000, 0x7f0000000000, 0},
                                  {0x100000000, 0x200000, 0x7f0000100000, 0x100000}};
    struct vu_wire_mem_table t = {.nregions = 2, .regions = {r[0], r[1]}};
    struct vu_wire_single_region single = {.region = r[1]};
    struct vu_wire_log log = {.mmap_size = 8192, .mmap_offset = 0};
    int fds[2];
    struct pair pp;

    pair_open(&pp);
    fds[0] = fds[1] = pp.efd;
    cr_assert_eq(vu_req_set_mem_table(&pp.c, r, fds, 2, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_MEM_TABLE, VU_VERSION, 8 + 2 * 32, 2, &t);
    cr_expect_eq(vu_req_set_mem_table(&pp.c, r, fds, 0, VU_WAIT_NONE), -EINVAL);
    cr_expect_eq(vu_req_set_mem_table(&pp.c, r, fds, 9, VU_WAIT_NONE), -EINVAL);
    cr_assert_eq(vu_req_add_mem_reg(&pp.c, &r[1], pp.efd, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_ADD_MEM_REG, VU_VERSION, 40, 1, &single);
    cr_expect_eq(vu_req_add_mem_reg(&pp.c, &r[1], -1, VU_WAIT_NONE), -EBADF);
    cr_assert_eq(vu_req_rem_mem_reg(&pp.c, &r[1], VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_REM_MEM_REG, VU_VERSION, 40, 0, &single);
    peer_reply(&pp, VU_REQ_SET_LOG_BASE, VU_REPLY_FLAGS, NULL, 0, -1);
    cr_assert_eq(vu_req_set_log_base(&pp.c, 8192, 0, pp.efd), 0);
    expect_msg(&pp, VU_REQ_SET_LOG_BASE, VU_VERSION, 16, 1, &log);
    cr_assert_eq(vu_req_set_log_fd(&pp.c, pp.efd, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_LOG_FD, VU_VERSION, 0, 1, NULL);
    pair_close(&pp);
}

Test(vu_req, encoding_config_inflight_state_channel)
{
    struct vu_wire_config cfg = {.hdr = {.offset = 0x10, .size = 4, .flags = 0}};
    struct vu_wire_inflight in = {.mmap_size = 4096, .num_queues = 2, .queue_size = 128};
    struct vu_wire_inflight out;
    struct vu_wire_device_state ds = {.direction = 1, .phase = 0};
    uint8_t data[4] = {9, 8, 7, 6}, got[4];
    struct pair pp;
    int fd;

    pair_open(&pp);
    memcpy(cfg.data, data, 4);
    cr_assert_eq(vu_req_set_config(&pp.c, 0x10, 4, 0, data, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_CONFIG, VU_VERSION, 16, 0, &cfg);
    peer_reply(&pp, VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, &cfg, 16, -1);
    cr_assert_eq(vu_req_get_config(&pp.c, 0x10, 4, got), 0);
    cr_expect_arr_eq(got, data, 4);
    memset(cfg.data, 0, 4);
    expect_msg(&pp, VU_REQ_GET_CONFIG, VU_VERSION, 16, 0, &cfg);
    cr_expect_eq(vu_req_get_config(&pp.c, 0, 0, got), -EINVAL);
    cr_expect_eq(vu_req_set_config(&pp.c, 0, 257, 0, got, VU_WAIT_NONE), -EINVAL);
    cr_assert_eq(vu_req_set_inflight_fd(&pp.c, &in, pp.efd, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_INFLIGHT_FD, VU_VERSION, 24, 1, &in);
    peer_reply(&pp, VU_REQ_GET_INFLIGHT_FD, VU_REPLY_FLAGS, &in, 24, pp.efd);
    cr_assert_eq(vu_req_get_inflight_fd(&pp.c, 2, 128, &out, &fd), 0);
    cr_expect_geq(fd, 0);
    cr_expect_eq(out.mmap_size, 4096);
    close(fd);
    in.mmap_size = 0;
    expect_msg(&pp, VU_REQ_GET_INFLIGHT_FD, VU_VERSION, 24, 0, &in);
    reply_u64(&pp, VU_REQ_SET_DEVICE_STATE_FD, VU_DEVSTATE_REPLY_NOFD);
    cr_assert_eq(vu_req_set_device_state_fd(&pp.c, 1, 0, pp.efd, &fd), 0);
    cr_expect_eq(fd, -1);
    expect_msg(&pp, VU_REQ_SET_DEVICE_STATE_FD, VU_VERSION, 8, 1, &ds);
    cr_assert_eq(vu_req_set_backend_req_fd(&pp.c, pp.efd, VU_WAIT_NONE), 0);
    expect_msg(&pp, VU_REQ_SET_BACKEND_REQ_FD, VU_VERSION, 0, 1, NULL);
    pair_close(&pp);
}

Test(vu_req, request_zero_and_unknown_never_sent)
{
    struct pair pp;
    char c;

    pair_open(&pp);
    cr_expect_eq(vu_req_send(&pp.c, VU_REQ_NONE, VU_WAIT_NONE, NULL, 0, NULL, 0), -EINVAL);
    cr_expect_eq(vu_req_send(&pp.c, VU_REQ_MAX + 1, VU_WAIT_NONE, NULL, 0, NULL, 0), -EINVAL);
    cr_expect_eq(recv(pp.peer, &c, 1, MSG_DONTWAIT), -1);
    pair_close(&pp);
}

Test(vu_req, wait_ack_sets_need_reply_and_checks_the_ack)
{
    struct pair pp;

    pair_open(&pp);
    reply_u64(&pp, VU_REQ_SET_OWNER, 0);
    cr_expect_eq(vu_req_set_owner(&pp.c, VU_WAIT_ACK), 0);
    expect_msg(&pp, VU_REQ_SET_OWNER, VU_VERSION | VU_FLAG_NEED_REPLY, 0, 0, NULL);
    reply_u64(&pp, VU_REQ_SET_VRING_NUM, 1);
    cr_expect_eq(vu_req_set_vring_num(&pp.c, 0, 64, VU_WAIT_ACK), -EIO);
    reply_u64(&pp, VU_REQ_SET_VRING_NUM, 0); /* ack for another request */
    cr_expect_eq(vu_req_set_vring_enable(&pp.c, 0, true, VU_WAIT_ACK), -EPROTO);
    pair_close(&pp);
}

Test(vu_req, wait_barrier_follows_with_get_features)
{
    struct pair pp;

    pair_open(&pp);
    reply_u64(&pp, VU_REQ_GET_FEATURES, 0);
    cr_assert_eq(vu_req_set_vring_enable(&pp.c, 1, true, VU_WAIT_BARRIER), 0);
    expect_msg(&pp, VU_REQ_SET_VRING_ENABLE, VU_VERSION, 8, 0, NULL);
    expect_msg(&pp, VU_REQ_GET_FEATURES, VU_VERSION, 0, 0, NULL);
    pair_close(&pp);
}

/* One GET_FEATURES against a crafted reply; returns vu_req's verdict. */
static int get_features_with_reply(uint32_t req, uint32_t flags, const void *p, uint32_t size,
                                   int fd)
{
    struct pair pp;
    uint64_t v;
    int ret;

    pair_open(&pp);
    peer_reply(&pp, req, flags, p, size, fd);
    ret = vu_req_get_features(&pp.c, &v);
    pair_close(&pp);
    return ret;
}

Test(vu_req, reply_validation)
{
    uint64_t v = 1;
    uint8_t big[16] = {0};
    int efd = eventfd(0, EFD_CLOEXEC);

    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS, &v, 8, -1), 0);
    cr_expect_eq(get_features_with_reply(1, VU_VERSION, &v, 8, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS | VU_FLAG_NEED_REPLY, &v, 8, -1),
                 -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_FLAG_REPLY | 2, &v, 8, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS | 0x10, &v, 8, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(2, VU_REPLY_FLAGS, &v, 8, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS, &v, 4, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS, big, 16, -1), -EPROTO);
    cr_expect_eq(get_features_with_reply(1, VU_REPLY_FLAGS, &v, 8, efd), -EPROTO);
    close(efd);
}

Test(vu_req, reply_short_eof_and_timeout)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_REPLY_FLAGS, .size = 8};
    struct pair pp;
    uint64_t v;

    pair_open(&pp); /* nothing comes back */
    cr_expect_eq(vu_req_get_features(&pp.c, &v), -ETIMEDOUT);
    pair_close(&pp);
    pair_open(&pp); /* half a payload, then nothing */
    cr_assert_eq(write(pp.peer, &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    cr_assert_eq(write(pp.peer, &v, 4), 4);
    cr_expect_eq(vu_req_get_features(&pp.c, &v), -ETIMEDOUT);
    pair_close(&pp);
    pair_open(&pp); /* half a payload, then EOF */
    cr_assert_eq(write(pp.peer, &hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    cr_assert_eq(write(pp.peer, &v, 4), 4);
    shutdown(pp.peer, SHUT_WR);
    cr_expect_eq(vu_req_get_features(&pp.c, &v), -ECONNRESET);
    pair_close(&pp);
    pair_open(&pp); /* EOF */
    shutdown(pp.peer, SHUT_WR);
    cr_expect_eq(vu_req_get_features(&pp.c, &v), -ECONNRESET);
    pair_close(&pp);
}

Test(vu_req, special_reply_shapes)
{
    struct vu_wire_config cfg = {.hdr = {.offset = 0x10, .size = 4}};
    struct vu_wire_vring_state s = {.index = 1, .num = 5};
    struct vu_wire_inflight in = {.mmap_size = 4096, .num_queues = 1, .queue_size = 64};
    uint8_t buf[4];
    uint64_t v = 0;
    uint32_t base;
    struct pair pp;
    int fd;

    pair_open(&pp);
    /* SET_LOG_BASE: 0 or 8 bytes accepted, anything else is not. */
    reply_u64(&pp, VU_REQ_SET_LOG_BASE, 0);
    cr_expect_eq(vu_req_set_log_base(&pp.c, 8, 0, pp.efd), 0);
    peer_reply(&pp, VU_REQ_SET_LOG_BASE, VU_REPLY_FLAGS, &v, 4, -1);
    cr_expect_eq(vu_req_set_log_base(&pp.c, 8, 0, pp.efd), -EPROTO);
    pair_close(&pp);
    pair_open(&pp); /* GET_CONFIG: offset and size must echo */
    cfg.hdr.offset = 0x14;
    peer_reply(&pp, VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, &cfg, 16, -1);
    cr_expect_eq(vu_req_get_config(&pp.c, 0x10, 4, buf), -EPROTO);
    cfg.hdr.offset = 0x10;
    peer_reply(&pp, VU_REQ_GET_CONFIG, VU_REPLY_FLAGS, &cfg, 14, -1);
    cr_expect_eq(vu_req_get_config(&pp.c, 0x10, 4, buf), -EPROTO);
    pair_close(&pp);
    pair_open(&pp); /* GET_VRING_BASE: the index must echo */
    peer_reply(&pp, VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS, &s, 8, -1);
    cr_expect_eq(vu_req_get_vring_base(&pp.c, 0, &base), -EPROTO);
    pair_close(&pp);
    pair_open(&pp); /* GET_INFLIGHT_FD: 24 bytes, fd iff a buffer */
    peer_reply(&pp, VU_REQ_GET_INFLIGHT_FD, VU_REPLY_FLAGS, &in, 20, pp.efd);
    cr_expect_eq(vu_req_get_inflight_fd(&pp.c, 1, 64, &in, &fd), -EPROTO);
    cr_expect_eq(fd, -1);
    pair_close(&pp);
    pair_open(&pp);
    peer_reply(&pp, VU_REQ_GET_INFLIGHT_FD, VU_REPLY_FLAGS, &in, 24, -1);
    cr_expect_eq(vu_req_get_inflight_fd(&pp.c, 1, 64, &in, &fd), -EPROTO);
    in.mmap_size = 0;
    peer_reply(&pp, VU_REQ_GET_INFLIGHT_FD, VU_REPLY_FLAGS, &in, 24, -1);
    cr_expect_eq(vu_req_get_inflight_fd(&pp.c, 1, 64, &in, &fd), 0);
    cr_expect_eq(fd, -1);
    pair_close(&pp);
    pair_open(&pp); /* SET_DEVICE_STATE_FD: error bits, fd iff bit 8 clear */
    reply_u64(&pp, VU_REQ_SET_DEVICE_STATE_FD, 1);
    cr_expect_eq(vu_req_set_device_state_fd(&pp.c, 0, 0, pp.efd, &fd), -EIO);
    reply_u64(&pp, VU_REQ_SET_DEVICE_STATE_FD, 0); /* no NOFD bit yet no fd */
    cr_expect_eq(vu_req_set_device_state_fd(&pp.c, 0, 0, pp.efd, &fd), -EPROTO);
    pair_close(&pp);
    pair_open(&pp);
    v = 0;
    peer_reply(&pp, VU_REQ_SET_DEVICE_STATE_FD, VU_REPLY_FLAGS, &v, 8, pp.efd);
    cr_expect_eq(vu_req_set_device_state_fd(&pp.c, 0, 0, pp.efd, &fd), 0);
    cr_expect_geq(fd, 0);
    close(fd);
    pair_close(&pp);
}
