/*
 * vhost-user framing, back-end side: receive one request (header + fds + payload), send one
 * reply. Only the header is checked here; be_dev.c checks each request's size and fds.
 */
#ifndef BE_MSG_H
#define BE_MSG_H

#include <stdint.h>

#include "vu_wire.h"

struct be_msg {
    struct vu_wire_hdr hdr;
    union vu_wire_payload payload; /* hdr.size bytes are valid */
    int fds[VU_MAX_FDS];           /* -1 once a handler took one */
    unsigned int nfds;
};

/*
 * Reads one request. 0, or: -ECONNRESET when the front-end closed the connection,
 * -EPROTO for a malformed header (bad version or flags, size > VU_PAYLOAD_MAX, more than
 * VU_MAX_FDS fds), -ETIMEDOUT when a started message stalls (SO_RCVTIMEO), other -errno.
 * On failure no fd is left open.
 */
int be_msg_recv(int sock, struct be_msg *m);
/* Closes the fds no handler took. */
void be_msg_close_fds(struct be_msg *m);
/* Sends a reply to request `request`: flags REPLY | version 1, then size payload bytes. */
int be_msg_reply(int sock, uint32_t request, const void *payload, uint32_t size);

#endif
