/*
 * The session loop (see be_session.h). Blocking mode sleeps in poll() until a request or a
 * kick arrives, so a round trip includes one wake-up of this thread; busy-poll mode never
 * sleeps and has told the drivers not to kick at all (VRING_USED_F_NO_NOTIFY).
 */
#include "be_session.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "be_dev.h"
#include "be_print.h"

#define BE_RECV_TIMEOUT_S 5 /* a started message must arrive whole within this */

/* Empties a kick eventfd (its count says nothing we need: the ring says what is new). */
static void be_drain(int fd)
{
    uint64_t count;
    ssize_t n = read(fd, &count, sizeof(count));

    (void)n; /* EAGAIN: drained already */
}

int be_session_run(int sock, unsigned int queues, bool busy_poll, volatile sig_atomic_t *stop)
{
    struct timeval tv = {.tv_sec = BE_RECV_TIMEOUT_S};
    struct be_dev d;
    int ret = 0;

    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    be_dev_init(&d, sock, queues, busy_poll);
    while (!*stop) {
        struct pollfd p[1 + BE_MAX_QUEUES] = {{.fd = sock, .events = POLLIN}};
        nfds_t n = 1;

        for (unsigned int q = 0; q < d.nrings; q++)
            if (be_ring_ready(&d.rings[q]))
                p[n++] = (struct pollfd){.fd = d.rings[q].kick_fd, .events = POLLIN};
        if (poll(p, n, busy_poll ? 0 : -1) < 0) {
            if (errno == EINTR)
                continue;
            ret = -errno;
            be_err("poll: %s", strerror(-ret));
            break;
        }
        for (nfds_t i = 1; i < n; i++)
            if (p[i].revents & POLLIN)
                be_drain(p[i].fd);
        if (p[0].revents) {
            ret = be_dev_handle(&d);
            if (ret < 0)
                break;
        }
        be_dev_serve(&d);
    }
    be_info("session ended: %llu vhost-user requests, %llu echo requests (%llu bytes, %llu bad)",
            (unsigned long long)d.requests, (unsigned long long)d.stats.requests,
            (unsigned long long)d.stats.bytes, (unsigned long long)d.stats.bad);
    be_dev_destroy(&d);
    close(sock);
    return ret == -ECONNRESET ? 0 : ret;
}
