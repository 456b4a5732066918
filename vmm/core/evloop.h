/*
 * The one epoll event loop (its own thread): serial input, vhost-user sockets,
 * back-end channels, the control socket. Owners embed a struct ev_handler and
 * recover themselves with container_of. Callbacks never block.
 */
#ifndef MINIVMM_EVLOOP_H
#define MINIVMM_EVLOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "log.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

struct ev_handler {
    int fd;
    void (*cb)(struct ev_handler *h, uint32_t events);
};

struct evloop {
    int epfd;
    int wake_fd; /* eventfd: evloop_stop() and evloop_call() wake the loop */
    int stopping;
};

MUST_CHECK int evloop_init(struct evloop *loop);
void evloop_destroy(struct evloop *loop); /* accepts a half-built loop */
MUST_CHECK int evloop_add(struct evloop *loop, struct ev_handler *h, uint32_t events);
int evloop_del(struct evloop *loop, struct ev_handler *h);
/* Runs until evloop_stop(); returns 0, or -errno if epoll itself fails. */
int evloop_run(struct evloop *loop);
/* Safe from any thread and from signal handlers. */
void evloop_stop(struct evloop *loop);
/* After evloop_run returned: clears the stop so that the loop can run again (the owner
 * runs it in phases, e.g. while a migration arrives and then while the VM runs). */
void evloop_rearm(struct evloop *loop);

#endif
