/*
 * eventfd-rtt: the physical floor under a vhost-user round trip on this host. Two threads
 * bounce a count through two eventfds, as kick and call do; prints min/median/p99 in ns.
 *   eventfd-rtt [ITERS] [block|spin]   block: sleep in read() (default); spin: poll a
 *   non-blocking fd without sleeping, as a busy-polling back-end does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct rtt {
    int ping, pong;
    bool spin;
    long iters;
};

static uint64_t now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One event: blocking read, or spinning on EAGAIN. */
static int rtt_wait(int fd, bool spin)
{
    uint64_t v;

    for (;;) {
        ssize_t n = read(fd, &v, sizeof(v));

        if (n == sizeof(v))
            return 0;
        if (n < 0 && (errno == EINTR || (spin && errno == EAGAIN)))
            continue;
        return -1;
    }
}

static int rtt_signal(int fd)
{
    uint64_t one = 1;

    return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

static void *rtt_echo(void *arg)
{
    const struct rtt *r = arg;

    for (long i = 0; i < r->iters; i++)
        if (rtt_wait(r->ping, r->spin) < 0 || rtt_signal(r->pong) < 0)
            break;
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct rtt r = {.iters = argc > 1 ? atol(argv[1]) : 100000};
    pthread_t t;
    uint64_t *ns;

    r.spin = argc > 2 && strcmp(argv[2], "spin") == 0;
    if (r.iters < 1 || r.iters > 100000000)
        r.iters = 100000;
    ns = calloc((size_t)r.iters, sizeof(*ns));
    r.ping = eventfd(0, EFD_CLOEXEC | (r.spin ? EFD_NONBLOCK : 0));
    r.pong = eventfd(0, EFD_CLOEXEC | (r.spin ? EFD_NONBLOCK : 0));
    if (!ns || r.ping < 0 || r.pong < 0 || pthread_create(&t, NULL, rtt_echo, &r) != 0) {
        perror("eventfd-rtt");
        return 1;
    }
    for (long i = 0; i < r.iters; i++) {
        uint64_t t0 = now_ns();

        if (rtt_signal(r.ping) < 0 || rtt_wait(r.pong, r.spin) < 0) {
            perror("eventfd-rtt");
            return 1;
        }
        ns[i] = now_ns() - t0;
    }
    pthread_join(t, NULL);
    qsort(ns, (size_t)r.iters, sizeof(*ns), cmp_u64);
    printf("eventfd round trip (%s, %ld iterations): min %llu ns, median %llu ns, p99 %llu ns\n",
           r.spin ? "spin" : "block", r.iters, (unsigned long long)ns[0],
           (unsigned long long)ns[r.iters / 2], (unsigned long long)ns[r.iters * 99 / 100]);
    free(ns);
    return 0;
}
