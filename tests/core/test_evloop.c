/* Unit tests for vmm/core/evloop.c: dispatch, stop from another thread. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"

struct counter {
    struct ev_handler h;
    struct evloop *loop;
    int hits;
};

static void on_event(struct ev_handler *h, uint32_t events)
{
    struct counter *c = container_of(h, struct counter, h);
    uint64_t v;

    cr_assert(events & EPOLLIN);
    cr_assert_eq(read(h->fd, &v, sizeof(v)), (ssize_t)sizeof(v));
    c->hits++;
    if (v < 10) {
        /* Re-arm: each callback feeds the next one until the count reaches 3. */
        uint64_t next = v + 1;
        if (c->hits < 3)
            cr_assert_eq(write(h->fd, &next, sizeof(next)), (ssize_t)sizeof(next));
    }
    if (c->hits == 3)
        evloop_stop(c->loop);
}

Test(evloop, dispatches_until_stopped)
{
    struct evloop loop;
    struct counter c = {.loop = &loop};
    uint64_t one = 1;

    cr_assert_eq(evloop_init(&loop), 0);
    c.h.fd = eventfd(0, EFD_NONBLOCK);
    c.h.cb = on_event;
    cr_assert_eq(evloop_add(&loop, &c.h, EPOLLIN), 0);
    cr_assert_eq(write(c.h.fd, &one, sizeof(one)), (ssize_t)sizeof(one));
    cr_assert_eq(evloop_run(&loop), 0);
    cr_assert_eq(c.hits, 3);
    cr_assert_eq(evloop_del(&loop, &c.h), 0);
    close(c.h.fd);
    evloop_destroy(&loop);
}

static void *stopper(void *arg)
{
    usleep(10000);
    evloop_stop(arg);
    return NULL;
}

Test(evloop, stop_from_another_thread_wakes_the_loop)
{
    struct evloop loop;
    pthread_t t;

    cr_assert_eq(evloop_init(&loop), 0);
    pthread_create(&t, NULL, stopper, &loop);
    cr_assert_eq(evloop_run(&loop), 0);
    pthread_join(t, NULL);
    evloop_destroy(&loop);
}

Test(evloop, destroy_accepts_a_half_built_loop)
{
    struct evloop loop = {.epfd = -1, .wake_fd = -1};

    evloop_destroy(&loop);
    cr_assert_eq(loop.epfd, -1);
}
