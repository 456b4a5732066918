/*
 * vu_conn: framing and fd passing (fds on the header's first byte, at most 8, fd 0 valid),
 * bounded reads (timeout, EOF, oversize), no leaked fds, no SIGPIPE, and connect / listen /
 * accept on real socket paths.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fd_zero.h"
#include "vu_conn.h"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void pair(struct vu_conn *c, int *peer, int timeout_ms)
{
    int sv[2];

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vu_conn_init(c, sv[0], timeout_ms);
    *peer = sv[1];
}

/* Sends raw bytes with optional fds from the peer side. */
static void peer_send(int peer, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    if (nfds) {
        struct cmsghdr *cm;

        memset(&ctrl, 0, sizeof(ctrl));
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    cr_assert_eq(sendmsg(peer, &mh, 0), (ssize_t)len);
}

Test(vu_conn, fds_ride_on_the_header_bytes)
{
    struct vu_wire_hdr hdr = {.request = VU_REQ_SET_VRING_KICK, .flags = VU_VERSION, .size = 8};
    uint64_t payload = 3;
    struct vu_conn c;
    int peer, efd = eventfd(0, EFD_CLOEXEC), fds[2];
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } ctrl;
    struct vu_wire_hdr got;
    struct iovec iov = {.iov_base = &got, .iov_len = sizeof(got)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctrl.buf,
                        .msg_controllen = sizeof(ctrl.buf)};
    struct cmsghdr *cm;

    pair(&c, &peer, 100);
    fds[0] = fds[1] = efd;
    cr_assert_eq(vu_conn_send(&c, &hdr, &payload, fds, 2), 0);
    /* What DPDK does: 12 bytes with one recvmsg, and the fds come with them. */
    cr_assert_eq(recvmsg(peer, &mh, 0), (ssize_t)sizeof(got));
    cm = CMSG_FIRSTHDR(&mh);
    cr_assert_not_null(cm);
    cr_expect_eq(cm->cmsg_type, SCM_RIGHTS);
    cr_expect_eq(cm->cmsg_len, CMSG_LEN(2 * sizeof(int)));
    cr_expect_eq(got.request, VU_REQ_SET_VRING_KICK);
    memcpy(fds, CMSG_DATA(cm), sizeof(fds));
    close(fds[0]);
    close(fds[1]);
    cr_expect_eq(read(peer, &payload, 8), 8);
    cr_expect_eq(payload, 3);
    cr_expect_eq(c.sent, 1);
    vu_conn_close(&c);
    close(peer);
    close(efd);
}

Test(vu_conn, send_refuses_bad_arguments)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_VERSION, .size = 0};
    int fds[9] = {0}, peer;
    struct vu_conn c;

    pair(&c, &peer, 100);
    cr_expect_eq(vu_conn_send(&c, &hdr, NULL, fds, 9), -EINVAL);
    fds[0] = -1;
    cr_expect_eq(vu_conn_send(&c, &hdr, NULL, fds, 1), -EBADF);
    hdr.size = 8;
    cr_expect_eq(vu_conn_send(&c, &hdr, NULL, NULL, 0), -EINVAL);
    hdr.size = VU_PAYLOAD_MAX + 1;
    cr_expect_eq(vu_conn_send(&c, &hdr, fds, NULL, 0), -EINVAL);
    vu_conn_close(&c);
    hdr.size = 0;
    cr_expect_eq(vu_conn_send(&c, &hdr, NULL, NULL, 0), -ENOTCONN);
    close(peer);
}

Test(vu_conn, fd_zero_is_a_real_fd)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_VERSION, .size = 0};
    struct vu_msg m;
    struct vu_conn a, b;
    int sv[2], zero = 0, saved;

    saved = fd_zero_take(eventfd(0, EFD_CLOEXEC));
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vu_conn_init(&a, sv[0], 100);
    vu_conn_init(&b, sv[1], 100);
    cr_assert_eq(vu_conn_send(&a, &hdr, NULL, &zero, 1), 0);
    cr_assert_eq(vu_conn_recv(&b, &m), 0);
    cr_expect_eq(m.nfds, 1);
    cr_expect_gt(m.fds[0], 0);
    vu_conn_drop_fds(&m);
    vu_conn_close(&a);
    vu_conn_close(&b);
    fd_zero_restore(saved);
}

Test(vu_conn, recv_collects_fds_and_payload)
{
    struct {
        struct vu_wire_hdr h;
        uint64_t v;
    } __attribute__((packed)) msg = {{VU_REQ_GET_INFLIGHT_FD, VU_REPLY_FLAGS, 8}, 42};
    int fds[3], peer, before = count_fds();
    struct vu_conn c;
    struct vu_msg m;

    pair(&c, &peer, 100);
    fds[0] = fds[1] = fds[2] = peer;
    peer_send(peer, &msg, sizeof(msg), fds, 3);
    cr_assert_eq(vu_conn_recv(&c, &m), 0);
    cr_expect_eq(m.hdr.request, VU_REQ_GET_INFLIGHT_FD);
    cr_expect_eq(m.payload.u64, 42);
    cr_expect_eq(m.nfds, 3);
    cr_expect_eq(c.received, 1);
    vu_conn_drop_fds(&m);
    cr_expect_eq(m.nfds, 0);
    vu_conn_close(&c);
    close(peer);
    cr_expect_eq(count_fds(), before);
}

Test(vu_conn, fds_after_the_header_are_refused_and_closed)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_REPLY_FLAGS, .size = 8};
    uint64_t v = 0;
    int peer, before = count_fds();
    struct vu_conn c;
    struct vu_msg m;

    pair(&c, &peer, 100);
    peer_send(peer, &hdr, sizeof(hdr), NULL, 0);
    peer_send(peer, &v, sizeof(v), &peer, 1);
    cr_expect_eq(vu_conn_recv(&c, &m), -EPROTO);
    cr_expect_eq(m.nfds, 0);
    vu_conn_close(&c);
    close(peer);
    cr_expect_eq(count_fds(), before);
}

Test(vu_conn, more_than_eight_fds_are_refused_and_closed)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_REPLY_FLAGS, .size = 0};
    int fds[12], peer, before = count_fds();
    struct vu_conn c;
    struct vu_msg m;

    pair(&c, &peer, 100);
    for (unsigned int i = 0; i < 12; i++)
        fds[i] = peer;
    peer_send(peer, &hdr, sizeof(hdr), fds, 12);
    cr_expect_eq(vu_conn_recv(&c, &m), -EPROTO);
    vu_conn_close(&c);
    close(peer);
    cr_expect_eq(count_fds(), before);
}

Test(vu_conn, bounded_reads)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_REPLY_FLAGS, .size = VU_PAYLOAD_MAX + 1};
    struct vu_conn c;
    struct vu_msg m;
    int peer;

    pair(&c, &peer, 50);
    cr_expect_eq(vu_conn_recv(&c, &m), -ETIMEDOUT);
    peer_send(peer, &hdr, 6, NULL, 0); /* half a header, then silence */
    cr_expect_eq(vu_conn_recv(&c, &m), -ETIMEDOUT);
    vu_conn_close(&c);
    close(peer);
    pair(&c, &peer, 50);
    peer_send(peer, &hdr, sizeof(hdr), NULL, 0);
    cr_expect_eq(vu_conn_recv(&c, &m), -EPROTO); /* oversize */
    vu_conn_close(&c);
    close(peer);
    pair(&c, &peer, 50);
    close(peer);
    cr_expect_eq(vu_conn_recv(&c, &m), -ECONNRESET);
    vu_conn_close(&c);
    cr_expect_eq(vu_conn_recv(&c, &m), -ENOTCONN);
}

Test(vu_conn, write_to_closed_peer_is_epipe_not_sigpipe)
{
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_VERSION, .size = 0};
    struct vu_conn c;
    int peer;

    pair(&c, &peer, 50);
    close(peer);
    cr_expect_eq(vu_conn_send(&c, &hdr, NULL, NULL, 0), -EPIPE);
    vu_conn_close(&c);
}

Test(vu_conn, stalled_reader_bounds_writes)
{
    static uint8_t big[VU_PAYLOAD_MAX];
    struct vu_wire_hdr hdr = {.request = 1, .flags = VU_VERSION, .size = sizeof(big)};
    struct vu_conn c;
    int peer, ret = 0;

    pair(&c, &peer, 50);
    /* The peer never reads: once the socket buffer is full the write gives up. */
    for (unsigned int i = 0; i < 10000 && ret == 0; i++)
        ret = vu_conn_send(&c, &hdr, big, NULL, 0);
    cr_expect_eq(ret, -ETIMEDOUT);
    vu_conn_close(&c);
    close(peer);
}

struct late_listener {
    char path[108];
    int fd;
};

static void *listen_later(void *arg)
{
    struct late_listener *l = arg;

    nanosleep(&(struct timespec){.tv_nsec = 150 * 1000000L}, NULL);
    cr_assert_eq(vu_conn_listen(l->path, &l->fd), 0);
    return NULL;
}

Test(vu_conn, connect_retries_until_the_backend_listens)
{
    char dir[] = "/tmp/vu-conn-XXXXXX";
    struct late_listener l;
    struct vu_conn c, s;
    pthread_t t;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(l.path, sizeof(l.path), "%s/sock", dir);
    cr_expect_eq(vu_conn_connect(&c, l.path, 0, 100), -ENOENT);
    cr_assert_eq(pthread_create(&t, NULL, listen_later, &l), 0);
    cr_assert_eq(vu_conn_connect(&c, l.path, 3000, 100), 0);
    pthread_join(t, NULL);
    cr_assert_eq(vu_conn_accept(&s, l.fd, 100, 100), 0);
    cr_expect_eq(vu_conn_accept(&s, l.fd, 50, 100), -ETIMEDOUT);
    vu_conn_close(&s);
    vu_conn_close(&c);
    close(l.fd);
    unlink(l.path);
    rmdir(dir);
}

Test(vu_conn, listen_replaces_a_stale_socket_only)
{
    char dir[] = "/tmp/vu-conn-XXXXXX";
    char path[108], file[108];
    char longpath[200];
    struct vu_conn c;
    FILE *f;
    int fd, fd2;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sock", dir);
    cr_assert_eq(vu_conn_listen(path, &fd), 0);
    close(fd); /* leaves a stale socket file behind */
    cr_assert_eq(vu_conn_listen(path, &fd2), 0);
    close(fd2);
    unlink(path);
    snprintf(file, sizeof(file), "%s/file", dir);
    f = fopen(file, "w");
    fclose(f);
    cr_expect_eq(vu_conn_listen(file, &fd), -EADDRINUSE, "a regular file is never removed");
    cr_expect_eq(access(file, F_OK), 0);
    unlink(file);
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    cr_expect_eq(vu_conn_connect(&c, longpath, 0, 100), -ENAMETOOLONG);
    cr_expect_eq(vu_conn_connect(&c, "", 0, 100), -EINVAL);
    rmdir(dir);
}

Test(vu_conn, busy_listener_does_not_block_connect)
{
    char dir[] = "/tmp/vu-conn-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct vu_conn first, second;
    int lfd;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(listen(lfd, 0), 0); /* a back-end that never accepts: backlog fills at once */
    cr_assert_eq(vu_conn_connect(&first, sa.sun_path, 0, 100), 0);
    cr_expect_eq(vu_conn_connect(&second, sa.sun_path, 100, 100), -EAGAIN);
    vu_conn_close(&first);
    close(lfd);
    unlink(sa.sun_path);
    rmdir(dir);
}
