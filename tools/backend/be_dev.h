/*
 * One vhost-user session of the echo back-end: the front-end's requests (be_dev.c, rings in
 * be_dev_vring.c) and the rings they set up. Single-threaded: the caller's poll loop calls
 * be_dev_handle() when the socket is readable and be_dev_serve() when a kick fd is.
 */
#ifndef BE_DEV_H
#define BE_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "be_dirty.h"
#include "be_echo.h"
#include "be_mem.h"
#include "be_ring.h"
#include "vu_wire.h"

#define BE_MAX_QUEUES 8

/* What GET_FEATURES / GET_PROTOCOL_FEATURES offer (vhost-user.md §3). */
#define BE_FEATURES (VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_LOG_ALL))
#define BE_PROTOCOL_FEATURES                                                                       \
    (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_LOG_SHMFD) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(VU_PF_CONFIG) | \
     VU_BIT(VU_PF_RESET_DEVICE))

struct be_dev {
    int sock;            /* the session's connection (the caller's) */
    unsigned int nrings; /* queues offered (GET_QUEUE_NUM), 1..BE_MAX_QUEUES */
    bool busy_poll;      /* rings are polled: drivers are told not to kick */
    uint64_t features;   /* SET_FEATURES: what the front-end acked */
    uint64_t protocol;   /* SET_PROTOCOL_FEATURES */
    bool owner;          /* SET_OWNER seen */
    struct be_mem mem;
    struct be_dirty log;
    struct be_ring rings[BE_MAX_QUEUES];
    struct be_echo_stats stats;
    uint64_t requests; /* vhost-user requests handled */
};

void be_dev_init(struct be_dev *d, int sock, unsigned int queues, bool busy_poll);
/* RESET_DEVICE: rings, features, memory table and log go; ownership and protocol stay. */
void be_dev_reset(struct be_dev *d);
/* End of the session: everything is released except sock (the caller closes it). */
void be_dev_destroy(struct be_dev *d);
/*
 * Reads and handles one request, replying as the protocol says. A negative return ends the
 * session: -ECONNRESET when the front-end hung up, else a failure that could not be
 * reported (no REPLY_ACK, or a request whose own reply cannot carry an error); logged.
 */
int be_dev_handle(struct be_dev *d);
/* Serves every ready ring once (at most one ring's worth of requests each). */
void be_dev_serve(struct be_dev *d);

#endif
