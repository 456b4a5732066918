/*
 * Opening a migration's connection: URI parsing, connect/listen/accept for unix and TCP
 * sockets, inherited fds and snapshot files. Everything here blocks (the job's own thread,
 * or the destination before its vCPUs start).
 */
#include "migrate_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int mconn_bad(char *err, size_t errlen, const char *uri, const char *why)
{
    snprintf(err, errlen, "URI '%s': %s", uri, why);
    return -EINVAL;
}

int mconn_parse(const char *uri, struct mconn_uri *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    if (!strncmp(uri, "unix:", 5) || !strncmp(uri, "file:", 5)) {
        out->kind = uri[0] == 'u' ? MCONN_UNIX : MCONN_FILE;
        if (!uri[5])
            return mconn_bad(err, errlen, uri, "empty path");
        if (snprintf(out->path, sizeof(out->path), "%s", uri + 5) >= (int)sizeof(out->path))
            return mconn_bad(err, errlen, uri, "path too long");
        return 0;
    }
    if (!strncmp(uri, "tcp:", 4)) {
        const char *colon = strrchr(uri + 4, ':');
        char *end;

        out->kind = MCONN_TCP;
        if (!colon || colon == uri + 4 || !colon[1])
            return mconn_bad(err, errlen, uri, "expected tcp:HOST:PORT");
        long port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535)
            return mconn_bad(err, errlen, uri, "bad port");
        size_t hlen = (size_t)(colon - (uri + 4));
        if (hlen >= sizeof(out->host))
            return mconn_bad(err, errlen, uri, "host name too long");
        /* [v6 address] */
        const char *h = uri + 4;
        if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
            h++;
            hlen -= 2;
        }
        memcpy(out->host, h, hlen);
        snprintf(out->port, sizeof(out->port), "%ld", port);
        return 0;
    }
    if (!strncmp(uri, "fd:", 3)) {
        char *end;
        long fd = strtol(uri + 3, &end, 10);

        out->kind = MCONN_FD;
        if (!uri[3] || *end || fd < 0 || fd > 65535)
            return mconn_bad(err, errlen, uri, "expected fd:N");
        if (fcntl((int)fd, F_GETFD) < 0)
            return mconn_bad(err, errlen, uri, "that fd is not open");
        out->fd = (int)fd;
        return 0;
    }
    return mconn_bad(err, errlen, uri, "use unix:PATH, tcp:HOST:PORT or fd:N");
}

void mconn_set_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    /* Fails harmlessly with ENOTSOCK on files. */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * Room for a few RAM runs in flight (the default is ~200 KiB): the sender checksums the next
 * run while the receiver copies this one. Capped by net.core.[rw]mem_max; no-op on files.
 */
static int mconn_tune(int fd)
{
    int size = MCONN_SOCKET_BUF;

    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return fd;
}

static int mconn_fail(char *err, size_t errlen, const char *what, const char *arg)
{
    int ret = -errno;

    snprintf(err, errlen, "%s %s: %s", what, arg, strerror(errno));
    return ret;
}

static int mconn_tcp(const struct mconn_uri *u, bool listening, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = listening ? AI_PASSIVE : 0};
    struct addrinfo *res, *ai;
    int fd = -1, one = 1, rc;

    rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc) {
        snprintf(err, errlen, "tcp:%s:%s: %s", u->host, u->port, gai_strerror(rc));
        return -EHOSTUNREACH;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (listening) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0)
                break;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        rc = errno;
        close(fd);
        fd = -1;
        errno = rc;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return mconn_fail(err, errlen, listening ? "listen on" : "connect to", u->host);
    if (!listening)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int mconn_unix(const struct mconn_uri *u, bool listening, char *err, size_t errlen)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return mconn_fail(err, errlen, "socket for", u->path);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", u->path);
    if (listening) {
        if (lstat(u->path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(u->path);
        if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 && listen(fd, 1) == 0)
            return fd;
    } else if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        return fd;
    }
    int ret = mconn_fail(err, errlen, listening ? "listen on" : "connect to", u->path);
    close(fd);
    return ret;
}

int mconn_open_out(const struct mconn_uri *u, char *err, size_t errlen)
{
    int fd;

    switch (u->kind) {
    case MCONN_UNIX:
        fd = mconn_unix(u, false, err, errlen);
        return fd < 0 ? fd : mconn_tune(fd);
    case MCONN_TCP:
        fd = mconn_tcp(u, false, err, errlen);
        return fd < 0 ? fd : mconn_tune(fd);
    case MCONN_FD:
        fd = fcntl(u->fd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? mconn_fail(err, errlen, "dup of fd", "") : mconn_tune(fd);
    case MCONN_FILE:
        fd = open(u->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        return fd < 0 ? mconn_fail(err, errlen, "cannot create", u->path) : fd;
    }
    return -EINVAL;
}

int mconn_listen_in(const struct mconn_uri *u, char *err, size_t errlen)
{
    switch (u->kind) {
    case MCONN_UNIX:
        return mconn_unix(u, true, err, errlen);
    case MCONN_TCP:
        return mconn_tcp(u, true, err, errlen);
    default:
        snprintf(err, errlen, "only unix: and tcp: listen");
        return -EINVAL;
    }
}

int mconn_accept_in(int lfd, const struct mconn_uri *u, char *err, size_t errlen)
{
    int fd;

    log_info("waiting for the migration on %s%s%s", u->kind == MCONN_UNIX ? u->path : u->host,
             u->kind == MCONN_TCP ? ":" : "", u->kind == MCONN_TCP ? u->port : "");
    do
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        fd = mconn_fail(err, errlen, "accept on", u->kind == MCONN_UNIX ? u->path : u->host);
    else
        mconn_tune(fd);
    close(lfd);
    if (u->kind == MCONN_UNIX)
        unlink(u->path);
    return fd;
}

int mconn_open_in(const struct mconn_uri *u, char *err, size_t errlen)
{
    int lfd, fd;

    switch (u->kind) {
    case MCONN_FD:
        return mconn_tune(u->fd);
    case MCONN_FILE:
        fd = open(u->path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? mconn_fail(err, errlen, "cannot open", u->path) : fd;
    default:
        lfd = mconn_listen_in(u, err, errlen);
        return lfd < 0 ? lfd : mconn_accept_in(lfd, u, err, errlen);
    }
}

static int mconn_io(int fd, void *buf, size_t len, bool writing)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mconn_send_msg(int fd, enum mconn_msg kind, const char *text)
{
    uint32_t hdr[2] = {kind, text ? (uint32_t)strnlen(text, MCONN_MSG_TEXT_MAX) : 0};
    int ret = mconn_io(fd, hdr, sizeof(hdr), true);

    if (ret == 0 && hdr[1])
        ret = mconn_io(fd, (void *)text, hdr[1], true);
    return ret;
}

int mconn_recv_msg(int fd, int timeout_ms, enum mconn_msg *kind, char *text, size_t textlen)
{
    uint32_t hdr[2];
    char buf[MCONN_MSG_TEXT_MAX + 1];
    int ret;

    if (timeout_ms >= 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ret = poll(&pfd, 1, timeout_ms);
        if (ret == 0)
            return -ETIMEDOUT;
        if (ret < 0)
            return -errno;
    }
    ret = mconn_io(fd, hdr, sizeof(hdr), false);
    if (ret < 0)
        return ret;
    if (hdr[1] > MCONN_MSG_TEXT_MAX || hdr[0] < MCONN_READY || hdr[0] > MCONN_GO)
        return -EPROTO;
    ret = mconn_io(fd, buf, hdr[1], false);
    if (ret < 0)
        return ret;
    buf[hdr[1]] = '\0';
    *kind = (enum mconn_msg)hdr[0];
    if (text && textlen)
        snprintf(text, textlen, "%s", buf);
    return 0;
}

bool mconn_readable(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    return poll(&pfd, 1, 0) > 0;
}
