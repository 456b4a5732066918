/*
 * Inside a session (be_dev.c, be_dev_vring.c): the request table's handler type and the ring
 * handlers. A handler checks what the generic code cannot, fills a reply if the request has
 * one, and on refusal writes one line to why and returns -errno.
 */
#ifndef BE_DEV_INT_H
#define BE_DEV_INT_H

#include <stdio.h>

#include "be_dev.h"
#include "be_msg.h"

#define BE_WHY_MAX 256

struct be_reply {
    uint32_t size;
    union vu_wire_payload payload;
};

typedef int be_handler(struct be_dev *d, struct be_msg *m, struct be_reply *r, char *why);

/* Refusal: one line into why, then the error code (a handler returns it). */
#define BE_REFUSE(why, err, ...) (snprintf(why, BE_WHY_MAX, __VA_ARGS__), (err))

/* Takes the message's fd i (the handler closes or keeps it). */
int be_take_fd(struct be_msg *m, unsigned int i);
/* The dirty log while the front-end has LOG_ALL set, else NULL. */
const struct be_dirty *be_dev_logging(const struct be_dev *d);

be_handler be_set_vring_num, be_set_vring_addr, be_set_vring_base, be_get_vring_base,
    be_set_vring_kick, be_set_vring_call, be_set_vring_err, be_set_vring_enable;

#endif
