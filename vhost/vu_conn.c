/*
 * vhost-user connection: AF_UNIX stream I/O with SCM_RIGHTS. Writes follow the S-NEW
 * "Communication" rule (fds ride on the sendmsg whose data starts at the header); reads mirror
 * what DPDK and libvhost-user do (header with one recvmsg, then the payload), bounded in time.
 */
#include "vu_conn.h"
#include "vu_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_RETRY_STEP_MS 20

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Waits for events on fd until the deadline (-1: none). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};

    for (;;) {
        int left = -1;
        int n;

        if (deadline >= 0) {
            int64_t d = deadline - now_ms();

            left = d > 0 ? (int)d : 0;
        }
        n = poll(&p, 1, left);
        if (n > 0)
            return 0; /* readable, or HUP/ERR: the following read reports it */
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

static void set_send_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {0};

    if (timeout_ms < 0)
        return;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    /* Bounds a write to a peer that stopped reading: sendmsg then fails with EAGAIN. */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void vu_conn_init(struct vu_conn *c, int fd, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->timeout_ms = timeout_ms;
    if (fd >= 0)
        set_send_timeout(fd, timeout_ms);
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path || !path[0])
        return -EINVAL;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, path);
    return 0;
}

int vu_conn_connect(struct vu_conn *c, const char *path, int retry_ms, int timeout_ms)
{
    int64_t give_up = now_ms() + (retry_ms > 0 ? retry_ms : 0);
    struct sockaddr_un sa;
    int ret = fill_addr(&sa, path);

    vu_conn_init(c, -1, timeout_ms);
    if (ret < 0)
        return ret;
    for (;;) {
        /* Non-blocking: connecting to a listener with a full backlog must not block. */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
                ret = -errno;
                close(fd);
                return ret;
            }
            vu_conn_init(c, fd, timeout_ms);
            return 0;
        }
        ret = -errno;
        close(fd);
        /* The back-end may not be listening yet (or is busy): only these are worth retrying. */
        if (ret != -ENOENT && ret != -ECONNREFUSED && ret != -EAGAIN && ret != -EINTR)
            return ret;
        if (retry_ms >= 0 && now_ms() >= give_up)
            return ret;
        nanosleep(&(struct timespec){.tv_nsec = CONNECT_RETRY_STEP_MS * 1000000L}, NULL);
    }
}

int vu_conn_listen(const char *path, int *listen_fd)
{
    struct sockaddr_un sa;
    struct stat st;
    int ret = fill_addr(&sa, path);
    int fd;

    *listen_fd = -1;
    if (ret < 0)
        return ret;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket from an earlier run; never remove other files */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    *listen_fd = fd;
    return 0;
}

int vu_conn_accept(struct vu_conn *c, int listen_fd, int wait_ms, int timeout_ms)
{
    int ret;
    int fd;

    vu_conn_init(c, -1, timeout_ms);
    ret = wait_fd(listen_fd, POLLIN, deadline_after(wait_ms));
    if (ret < 0)
        return ret;
    fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -errno;
    vu_conn_init(c, fd, timeout_ms);
    return 0;
}

void vu_conn_close(struct vu_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int vu_conn_send(struct vu_conn *c, const struct vu_wire_hdr *hdr, const void *payload,
                 const int *fds, unsigned int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov[2] = {
        {.iov_base = (void *)hdr, .iov_len = sizeof(*hdr)},
        {.iov_base = (void *)payload, .iov_len = hdr->size},
    };
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = hdr->size ? 2 : 1};

    if (c->fd < 0)
        return -ENOTCONN;
    if (nfds > VU_MAX_FDS || hdr->size > VU_PAYLOAD_MAX || (hdr->size && !payload))
        return -EINVAL;
    for (unsigned int i = 0; i < nfds; i++)
        if (fds[i] < 0)
            return -EBADF;
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
    if (c->trace)
        vu_trace_msg(c->trace, c->tag, true, c->backend_chan, hdr, payload, fds, nfds);
    while (mh.msg_iovlen) {
        ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        /* A short write: the fds went with the first byte, the rest goes without them. */
        mh.msg_control = NULL;
        mh.msg_controllen = 0;
        while (mh.msg_iovlen && (size_t)n >= mh.msg_iov->iov_len) {
            n -= (ssize_t)mh.msg_iov->iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen) {
            mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
            mh.msg_iov->iov_len -= (size_t)n;
        }
    }
    c->sent++;
    return 0;
}

void vu_conn_drop_fds(struct vu_msg *msg)
{
    for (unsigned int i = 0; i < msg->nfds; i++)
        close(msg->fds[i]);
    msg->nfds = 0;
}

/* Takes the SCM_RIGHTS fds of one recvmsg; fds beyond the message's room are closed. */
static int collect_fds(struct msghdr *mh, struct vu_msg *msg)
{
    int ret = (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;

    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t n;
        int fd;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (msg->nfds < VU_MAX_FDS) {
                msg->fds[msg->nfds++] = fd;
            } else {
                close(fd);
                ret = -EPROTO;
            }
        }
    }
    return ret;
}

/*
 * Reads exactly len bytes. Only the first read of a message may bring fds (back-ends attach
 * them to the header); fds that arrive later are collected too so that none leaks, and the
 * message is then refused.
 */
static int read_full(struct vu_conn *c, void *buf, size_t len, struct vu_msg *msg, bool first,
                     int64_t deadline)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        struct cmsghdr align;
    } ctrl;
    size_t done = 0;
    int ret = 0;

    while (done < len) {
        struct iovec iov = {.iov_base = (char *)buf + done, .iov_len = len - done};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        unsigned int had = msg->nfds;
        ssize_t n;
        int err;

        err = wait_fd(c->fd, POLLIN, deadline);
        if (err < 0)
            return err;
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = sizeof(ctrl.buf);
        n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return errno == ECONNRESET || errno == EPIPE ? -ECONNRESET : -errno;
        }
        err = collect_fds(&mh, msg);
        if (err < 0 && ret == 0)
            ret = err;
        if ((!first || done > 0) && msg->nfds > had && ret == 0)
            ret = -EPROTO; /* fds not on the first header byte */
        if (n == 0)
            return -ECONNRESET; /* EOF: the peer closed, possibly mid-message */
        done += (size_t)n;
    }
    return ret;
}

int vu_conn_recv(struct vu_conn *c, struct vu_msg *msg)
{
    int64_t deadline = deadline_after(c->timeout_ms);
    int ret;

    msg->nfds = 0;
    if (c->fd < 0)
        return -ENOTCONN;
    ret = read_full(c, &msg->hdr, sizeof(msg->hdr), msg, true, deadline);
    if (ret < 0)
        goto fail;
    if (msg->hdr.size > VU_PAYLOAD_MAX) {
        ret = -EPROTO; /* cannot resynchronise the stream: the caller closes it */
        goto fail;
    }
    ret = read_full(c, &msg->payload, msg->hdr.size, msg, false, deadline);
    if (ret < 0)
        goto fail;
    c->received++;
    if (c->trace)
        vu_trace_msg(c->trace, c->tag, false, c->backend_chan, &msg->hdr, &msg->payload, msg->fds,
                     msg->nfds);
    return 0;

fail:
    vu_conn_drop_fds(msg);
    return ret;
}
