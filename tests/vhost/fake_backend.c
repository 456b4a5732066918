/*
 * Fake vhost-user back-end used by the front-end tests (see fake_backend.h). Written separately
 * from vhost/vu_conn.c on purpose: a shared reader would hide the very framing bugs (fds off
 * the header, split headers) these tests must catch.
 */
#include "fake_backend.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_backend_rules.h"

struct rx {
    struct vu_wire_hdr hdr;
    union vu_wire_payload p;
    int fds[VU_MAX_FDS];
    unsigned int nfds;
};

void fb_violation(struct fake_backend *fb, const char *fmt, ...)
{
    va_list ap;

    if (fb->nviolations >= FB_MAX_VIOLATIONS)
        return;
    va_start(ap, fmt);
    vsnprintf(fb->violations[fb->nviolations++], sizeof(fb->violations[0]), fmt, ap);
    va_end(ap);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void drop_fds(struct rx *m)
{
    for (unsigned int i = 0; i < m->nfds; i++)
        close(m->fds[i]);
    m->nfds = 0;
}

static void collect(struct msghdr *mh, struct rx *m)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

        for (size_t i = 0; i < n; i++) {
            int fd;

            memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (m->nfds < VU_MAX_FDS)
                m->fds[m->nfds++] = fd;
            else
                close(fd);
        }
    }
}

/* The DPDK way: exactly 12 header bytes with one recvmsg (fds only there), then the payload.
 * Returns 1 for a message, 0 on EOF, -1 on a framing error (recorded). Called unlocked. */
static int read_msg(struct fake_backend *fb, int fd, struct rx *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov = {.iov_base = &m->hdr, .iov_len = sizeof(m->hdr)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctrl.buf,
                        .msg_controllen = sizeof(ctrl.buf)};
    size_t done = 0;
    ssize_t n;

    m->nfds = 0;
    n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return 0;
    collect(&mh, m);
    pthread_mutex_lock(&fb->lock);
    if (mh.msg_flags & MSG_CTRUNC)
        fb_violation(fb, "more than %u fds in one message", VU_MAX_FDS);
    if (n != (ssize_t)sizeof(m->hdr))
        fb_violation(fb, "header arrived in pieces (%zd bytes first)", n);
    if (n == (ssize_t)sizeof(m->hdr) && m->hdr.size > VU_PAYLOAD_MAX)
        fb_violation(fb, "%u: size %u too large", m->hdr.request, m->hdr.size);
    pthread_mutex_unlock(&fb->lock);
    if (n != (ssize_t)sizeof(m->hdr) || m->hdr.size > VU_PAYLOAD_MAX) {
        drop_fds(m);
        return -1;
    }
    while (done < m->hdr.size) {
        struct iovec piov = {.iov_base = m->p.raw + done, .iov_len = m->hdr.size - done};
        struct msghdr pmh = {.msg_iov = &piov,
                             .msg_iovlen = 1,
                             .msg_control = ctrl.buf,
                             .msg_controllen = sizeof(ctrl.buf)};
        unsigned int had = m->nfds;

        n = recvmsg(fd, &pmh, MSG_CMSG_CLOEXEC);
        if (n <= 0) {
            drop_fds(m);
            return 0;
        }
        collect(&pmh, m);
        if (m->nfds != had) {
            pthread_mutex_lock(&fb->lock);
            fb_violation(fb, "%u: fds not attached to the header", m->hdr.request);
            pthread_mutex_unlock(&fb->lock);
        }
        done += (size_t)n;
    }
    return 1;
}

int fb_send_raw(int fd, const struct vu_wire_hdr *hdr, const void *payload, size_t len, int pass_fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctrl;
    struct iovec iov[2] = {{.iov_base = (void *)hdr, .iov_len = sizeof(*hdr)},
                           {.iov_base = (void *)payload, .iov_len = len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

    if (pass_fd >= 0) {
        struct cmsghdr *cm;

        memset(&ctrl, 0, sizeof(ctrl));
        mh.msg_control = ctrl.buf;
        mh.msg_controllen = sizeof(ctrl.buf);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(*hdr) + len) ? 0 : -1;
}

int fb_reply(struct fake_backend *fb, uint32_t req, const void *payload, uint32_t size, int pass_fd)
{
    struct vu_wire_hdr hdr = {.request = req, .flags = VU_REPLY_FLAGS, .size = size};

    return fb_send_raw(fb->conn_fd, &hdr, payload, size, pass_fd);
}

/* Applies a reply fault; returns true if the normal handling must be skipped. */
static bool apply_fault(struct fake_backend *fb, const struct rx *m, enum fb_fault f)
{
    uint64_t zero = 0;
    struct vu_wire_hdr hdr = {.request = m->hdr.request, .flags = VU_REPLY_FLAGS, .size = 8};

    switch (f) {
    case FB_FAULT_CLOSE:
        close_fd(&fb->conn_fd);
        return true;
    case FB_FAULT_HANG:
        fb->hung = true;
        return true;
    case FB_FAULT_GARBAGE:
        hdr = (struct vu_wire_hdr){.request = 0xdeadbeef, .flags = 0x5a5a5a5a, .size = ~0u};
        fb_send_raw(fb->conn_fd, &hdr, NULL, 0, -1);
        return true;
    case FB_FAULT_WRONG_REQ:
        hdr.request = m->hdr.request + 1;
        fb_send_raw(fb->conn_fd, &hdr, &zero, 8, -1);
        return true;
    case FB_FAULT_BAD_FLAGS:
        hdr.flags = VU_VERSION;
        fb_send_raw(fb->conn_fd, &hdr, &zero, 8, -1);
        return true;
    case FB_FAULT_BAD_SIZE:
        hdr.size = 4;
        fb_send_raw(fb->conn_fd, &hdr, &zero, 4, -1);
        return true;
    case FB_FAULT_SHORT:
        fb_send_raw(fb->conn_fd, &hdr, &zero, 4, -1);
        close_fd(&fb->conn_fd);
        return true;
    case FB_FAULT_NACK:
    case FB_FAULT_NONE:
        return false;
    }
    return false;
}

static enum fb_fault take_fault(struct fake_backend *fb, const struct rx *m)
{
    enum fb_fault f = fb->cfg.fault;
    bool hit = fb->cfg.fault_at ? fb->msgs_on_conn == fb->cfg.fault_at
                                : fb->cfg.fault_req && m->hdr.request == fb->cfg.fault_req;

    if (f == FB_FAULT_NONE || !hit)
        return FB_FAULT_NONE;
    fb->cfg.fault = FB_FAULT_NONE; /* one shot */
    return f;
}

static void log_msg(struct fake_backend *fb, const struct rx *m)
{
    struct fb_msg *l;

    if (fb->nlog >= FB_LOG_MAX)
        return;
    l = &fb->log[fb->nlog++];
    l->request = m->hdr.request;
    l->flags = m->hdr.flags;
    l->size = m->hdr.size;
    l->nfds = m->nfds;
    memcpy(l->payload, m->p.raw, m->hdr.size < FB_PAYLOAD_KEEP ? m->hdr.size : FB_PAYLOAD_KEEP);
}

/* Handles one message under the lock. */
static void serve_one(struct fake_backend *fb, struct rx *m)
{
    enum fb_fault f;

    fb->msgs_on_conn++;
    log_msg(fb, m);
    fb_check_request(fb, m->hdr.request, m->hdr.flags, m->hdr.size, &m->p, m->nfds);
    f = take_fault(fb, m);
    if (apply_fault(fb, m, f)) {
        drop_fds(m);
    } else {
        fb_handle(fb, m->hdr.request, m->hdr.flags, &m->p, m->hdr.size, m->fds, m->nfds,
                  f == FB_FAULT_NACK);
        m->nfds = 0; /* fb_handle took or closed them */
    }
    pthread_cond_broadcast(&fb->cond);
}

static bool wait_readable(struct fake_backend *fb, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = fb->stop_fd, .events = POLLIN}};

    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (p[1].revents)
            return false;
        return true;
    }
}

static void wait_stop(struct fake_backend *fb)
{
    struct pollfd p = {.fd = fb->stop_fd, .events = POLLIN};

    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

/* Serves one connection; false when the test asked the thread to stop. */
static bool serve_connection(struct fake_backend *fb, int fd)
{
    struct rx m;

    for (;;) {
        bool closed;
        bool hung;
        int r;

        if (!wait_readable(fb, fd))
            return false;
        r = read_msg(fb, fd, &m);
        pthread_mutex_lock(&fb->lock);
        if (r > 0)
            serve_one(fb, &m);
        closed = r <= 0 || fb->conn_fd < 0; /* EOF, framing error or a CLOSE fault */
        hung = fb->hung;
        if (closed) {
            close_fd(&fb->conn_fd);
            fb_reset_session(fb);
            pthread_cond_broadcast(&fb->cond);
        }
        pthread_mutex_unlock(&fb->lock);
        if (closed)
            return true;
        if (hung) {
            wait_stop(fb); /* HANG fault: never read or answer again */
            return false;
        }
    }
}

/* Client mode: keeps trying to reach a listening front-end until stopped. */
static int connect_out(struct fake_backend *fb)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct pollfd p = {.fd = fb->stop_fd, .events = POLLIN};

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fb->cfg.connect_to);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        close(fd);
        if (poll(&p, 1, 10) != 0)
            return -1; /* stop requested */
    }
}

/* The next connection to serve, or -1 when the test asked the thread to stop. */
static int next_connection(struct fake_backend *fb)
{
    if (fb->cfg.connect_to)
        return connect_out(fb);
    while (wait_readable(fb, fb->listen_fd)) {
        int fd = accept4(fb->listen_fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd >= 0)
            return fd;
    }
    return -1;
}

static void *serve(void *arg)
{
    struct fake_backend *fb = arg;

    for (;;) {
        int fd = next_connection(fb);

        if (fd < 0)
            break;
        pthread_mutex_lock(&fb->lock);
        fb->conn_fd = fd;
        fb->connections++;
        fb->msgs_on_conn = 0;
        fb->hung = false;
        fb_reset_session(fb);
        pthread_mutex_unlock(&fb->lock);
        if (!serve_connection(fb, fd))
            break;
    }
    return NULL;
}

int fake_backend_start(struct fake_backend *fb, const struct fb_config *cfg)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    memset(fb, 0, sizeof(*fb));
    fb->listen_fd = fb->stop_fd = fb->conn_fd = fb->chan_fd = fb->log_fd = -1;
    for (unsigned int i = 0; i < FB_MAX_RINGS; i++)
        fb->kick_fd[i] = fb->call_fd[i] = fb->err_fd[i] = -1;
    fb->cfg = *cfg;
    pthread_mutex_init(&fb->lock, NULL);
    pthread_cond_init(&fb->cond, NULL);
    snprintf(fb->dir, sizeof(fb->dir), "/tmp/vu-test-XXXXXX");
    if (!mkdtemp(fb->dir))
        return -errno;
    snprintf(fb->path, sizeof(fb->path), "%s/sock", fb->dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fb->path);
    fb->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fb->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (fb->listen_fd < 0 || fb->stop_fd < 0 ||
        bind(fb->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fb->listen_fd, 4) < 0)
        return -errno;
    if (pthread_create(&fb->thread, NULL, serve, fb) != 0)
        return -EAGAIN;
    fb->thread_started = true;
    return 0;
}

void fake_backend_stop(struct fake_backend *fb)
{
    uint64_t one = 1;

    if (fb->thread_started) {
        if (write(fb->stop_fd, &one, sizeof(one)) != sizeof(one))
            abort();
        pthread_join(fb->thread, NULL);
        fb->thread_started = false;
    }
    close_fd(&fb->conn_fd);
    fb_reset_session(fb);
    close_fd(&fb->listen_fd);
    close_fd(&fb->stop_fd);
    if (fb->path[0])
        unlink(fb->path);
    if (fb->dir[0])
        rmdir(fb->dir);
    pthread_cond_destroy(&fb->cond);
    pthread_mutex_destroy(&fb->lock);
}
