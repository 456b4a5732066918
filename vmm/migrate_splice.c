/*
 * vmsplice + splice of guest pages into the migration socket (migrate_splice.h). The pipe
 * is ours alone and drained after every vmsplice, so neither call waits on anything but
 * the socket.
 */
#include "migrate_splice.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MSPLICE_PIPE (1u << 20) /* a whole RAM run at once (pipe-max-size's default) */

void msplice_init(struct msplice *p)
{
    p->pipe[0] = p->pipe[1] = -1;
    p->size = 0;
    p->off = false;
}

void msplice_fini(struct msplice *p)
{
    for (int i = 0; i < 2; i++)
        if (p->pipe[i] >= 0)
            close(p->pipe[i]);
    msplice_init(p);
}

static bool msplice_open(struct msplice *p, int fd)
{
    struct stat st;
    int size;

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) || pipe2(p->pipe, O_CLOEXEC) < 0) {
        p->off = true;
        return false;
    }
    /* Smaller is fine (an unprivileged user's limit): the loop goes by what it gets. */
    (void)fcntl(p->pipe[1], F_SETPIPE_SZ, MSPLICE_PIPE);
    size = fcntl(p->pipe[1], F_GETPIPE_SZ);
    p->size = size > 0 ? (size_t)size : 4096;
    return true;
}

ssize_t msplice_write(struct msplice *p, int fd, const void *data, size_t len, uint64_t *written)
{
    const uint8_t *at = data;
    size_t left = len;

    if (p->off || (p->pipe[0] < 0 && !msplice_open(p, fd)))
        return -EOPNOTSUPP;
    while (left) {
        struct iovec iov = {(void *)at, left < p->size ? left : p->size};
        ssize_t in = vmsplice(p->pipe[1], &iov, 1, 0);

        if (in < 0 && errno == EINTR)
            continue;
        if (in <= 0) {
            int err = in < 0 ? errno : EIO;
            if (left == len && (err == EINVAL || err == ENOSYS || err == EFAULT)) {
                p->off = true;
                return -EOPNOTSUPP;
            }
            return -err;
        }
        for (ssize_t out = 0; out < in;) {
            ssize_t n = splice(p->pipe[0], NULL, fd, NULL, (size_t)(in - out), SPLICE_F_MOVE);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return n < 0 ? -errno : -EPIPE; /* the pipe keeps the rest: the stream is dead */
            out += n;
            *written += (uint64_t)n;
        }
        at += in;
        left -= (size_t)in;
    }
    return (ssize_t)len;
}
