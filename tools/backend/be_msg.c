/*
 * vhost-user framing, back-end side. fds travel as SCM_RIGHTS with the first byte of a
 * header (vhost-user.md §1: DPDK and libvhost-user read 12 header bytes with one recvmsg and a
 * control buffer for 8 fds, then the payload with plain reads); this back-end does the same.
 */
#include "be_msg.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void be_msg_init(struct be_msg *m)
{
    m->nfds = 0;
    for (unsigned int i = 0; i < VU_MAX_FDS; i++)
        m->fds[i] = -1;
}

void be_msg_close_fds(struct be_msg *m)
{
    for (unsigned int i = 0; i < m->nfds; i++)
        if (m->fds[i] >= 0)
            close(m->fds[i]);
    be_msg_init(m);
}

/* Reads exactly len bytes: the rest of a message the front-end has started to send. */
static int be_read_full(int sock, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = read(sock, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Keeps the fds of every SCM_RIGHTS block; more than VU_MAX_FDS is a protocol error. */
static int be_take_fds(struct msghdr *mh, struct be_msg *m)
{
    int ret = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            if (m->nfds < VU_MAX_FDS) {
                m->fds[m->nfds++] = fd;
            } else {
                close(fd);
                ret = -EPROTO;
            }
        }
    }
    if (mh->msg_flags & MSG_CTRUNC)
        ret = -EPROTO; /* the kernel dropped fds that did not fit */
    return ret;
}

static int be_check_hdr(const struct vu_wire_hdr *h)
{
    /* vhost-user.md §2.1: version 1, REPLY clear on requests, reserved bits zero. */
    if ((h->flags & VU_FLAG_VERSION_MASK) != VU_VERSION || (h->flags & VU_FLAG_REPLY) ||
        (h->flags & VU_FLAGS_RESERVED))
        return -EPROTO;
    if (h->size > VU_PAYLOAD_MAX)
        return -EPROTO;
    return 0;
}

int be_msg_recv(int sock, struct be_msg *m)
{
    union {
        char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = &m->hdr, .iov_len = sizeof(m->hdr)};
    struct msghdr mh = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof(control.buf),
    };
    ssize_t n;
    int ret;

    be_msg_init(m);
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n == 0 ? -ECONNRESET : -errno;
    ret = be_take_fds(&mh, m);
    if (ret == 0 && (size_t)n < sizeof(m->hdr))
        ret = be_read_full(sock, (char *)&m->hdr + n, sizeof(m->hdr) - (size_t)n);
    if (ret == 0)
        ret = be_check_hdr(&m->hdr);
    if (ret == 0)
        ret = be_read_full(sock, m->payload.raw, m->hdr.size);
    if (ret < 0)
        be_msg_close_fds(m);
    return ret;
}

int be_msg_reply(int sock, uint32_t request, const void *payload, uint32_t size)
{
    struct vu_wire_hdr h = {.request = request, .flags = VU_REPLY_FLAGS, .size = size};
    struct iovec iov[2] = {
        {.iov_base = &h, .iov_len = sizeof(h)},
        {.iov_base = (void *)payload, .iov_len = size},
    };
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};

    /* A stream socket may take part of it: advance through the iovecs until all is sent. */
    while (mh.msg_iovlen > 0) {
        ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        while (mh.msg_iovlen > 0 && (size_t)n >= mh.msg_iov->iov_len) {
            n -= (ssize_t)mh.msg_iov->iov_len;
            mh.msg_iov++;
            mh.msg_iovlen--;
        }
        if (mh.msg_iovlen > 0) {
            mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
            mh.msg_iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}
