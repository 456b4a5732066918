/*
 * epoll-based event loop. Handlers are registered by pointer; the loop only
 * dispatches. Stopping is an eventfd write, so any thread can ask for it.
 */
#include "evloop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int evloop_init(struct evloop *loop)
{
    struct epoll_event ev = {.events = EPOLLIN};

    loop->stopping = 0;
    loop->wake_fd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        return -errno;
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0)
        goto fail;
    ev.data.ptr = NULL; /* NULL marks the wake-up eventfd */
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0)
        goto fail;
    return 0;
fail: {
    int ret = -errno;
    evloop_destroy(loop);
    return ret;
}
}

void evloop_destroy(struct evloop *loop)
{
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->wake_fd = -1;
    loop->epfd = -1;
}

int evloop_add(struct evloop *loop, struct ev_handler *h, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = h};

    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
        return -errno;
    return 0;
}

int evloop_del(struct evloop *loop, struct ev_handler *h)
{
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL) < 0)
        return -errno;
    return 0;
}

int evloop_run(struct evloop *loop)
{
    struct epoll_event events[16];

    while (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(loop->epfd, events, 16, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            struct ev_handler *h = events[i].data.ptr;

            if (!h) {
                uint64_t v;
                if (read(loop->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                    return -errno;
                continue;
            }
            h->cb(h, events[i].events);
        }
    }
    return 0;
}

void evloop_stop(struct evloop *loop)
{
    uint64_t one = 1;

    __atomic_store_n(&loop->stopping, 1, __ATOMIC_RELEASE);
    /* Nothing useful can be done if this fails: the loop is already awake or gone. */
    if (write(loop->wake_fd, &one, sizeof(one)) < 0)
        return;
}

void evloop_rearm(struct evloop *loop)
{
    __atomic_store_n(&loop->stopping, 0, __ATOMIC_RELEASE);
}
