/*
 * One vhost-user connection (a connected AF_UNIX stream socket): whole-message writes with the
 * fds on the header's first byte, whole-message reads with every received fd accounted for, and
 * a timeout so a hung peer returns -ETIMEDOUT instead of hanging the caller.
 *
 * What callers may rely on:
 * - every function returns 0 or -errno; fd 0 is a valid fd everywhere; all fds are CLOEXEC;
 * - a closed peer gives -ECONNRESET on read and -EPIPE on write (never SIGPIPE);
 * - vu_conn_recv() returns the message's fds in msg->fds (the caller owns them: keep what the
 *   message should carry, vu_conn_drop_fds() the rest); on error no fd is left open;
 * - the connection knows nothing about request semantics: that is vu_req.
 */
#ifndef MINIVMM_VU_CONN_H
#define MINIVMM_VU_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vu_log.h"
#include "vu_wire.h"

struct vu_conn {
    int fd;            /* -1 when closed */
    int timeout_ms;    /* bound on one whole read or write; < 0 waits forever */
    bool backend_chan; /* ids come from the back-end table (names in the trace) */
    FILE *trace;       /* NULL: tracing off */
    const char *tag;   /* label in trace lines, e.g. the device name; may be NULL */
    uint64_t sent;     /* messages written */
    uint64_t received; /* messages read */
};

struct vu_msg {
    struct vu_wire_hdr hdr;
    union vu_wire_payload payload;
    int fds[VU_MAX_FDS];
    unsigned int nfds;
};

/* Adopts an already connected socket (e.g. one end of a socketpair). */
void vu_conn_init(struct vu_conn *c, int fd, int timeout_ms);
/* Connects to a listening back-end; retries a missing, refusing or busy socket for up to
 * retry_ms (0: one attempt; < 0: until it works). */
VU_MUST_CHECK int vu_conn_connect(struct vu_conn *c, const char *path, int retry_ms,
                                  int timeout_ms);
/* Listens on path (a stale socket file there is replaced); returns the listening fd. */
VU_MUST_CHECK int vu_conn_listen(const char *path, int *listen_fd);
/* Accepts one back-end, waiting at most wait_ms (< 0: forever). */
VU_MUST_CHECK int vu_conn_accept(struct vu_conn *c, int listen_fd, int wait_ms, int timeout_ms);
void vu_conn_close(struct vu_conn *c);
static inline bool vu_conn_is_open(const struct vu_conn *c)
{
    return c->fd >= 0;
}

/*
 * Writes header + payload (hdr->size bytes) as one sendmsg carrying all nfds (<= 8) fds.
 * The fds stay owned by the caller.
 */
VU_MUST_CHECK int vu_conn_send(struct vu_conn *c, const struct vu_wire_hdr *hdr,
                               const void *payload, const int *fds, unsigned int nfds);
/* Reads one whole message. -EPROTO for an oversize header or truncated fd list. */
VU_MUST_CHECK int vu_conn_recv(struct vu_conn *c, struct vu_msg *msg);
/* Closes every fd still held by msg. */
void vu_conn_drop_fds(struct vu_msg *msg);

#endif
