/*
 * Where a migration goes or comes from: "unix:PATH", "tcp:HOST:PORT", "fd:N" (an open,
 * connected socket inherited from the caller) and, for snapshots, "file:PATH".
 */
#ifndef MINIVMM_MIGRATE_CONN_H
#define MINIVMM_MIGRATE_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

enum mconn_kind { MCONN_UNIX, MCONN_TCP, MCONN_FD, MCONN_FILE };

/* Socket buffers asked for on a migration connection (both directions, both ends). */
#define MCONN_SOCKET_BUF (4 << 20)

struct mconn_uri {
    enum mconn_kind kind;
    char path[108]; /* unix, file */
    char host[128]; /* tcp */
    char port[16];  /* tcp */
    int fd;         /* fd */
};

/* -EINVAL with a reason in err for a malformed or unknown URI. */
MUST_CHECK int mconn_parse(const char *uri, struct mconn_uri *out, char *err, size_t errlen);
/* Source: connects (or creates the file). Returns an fd or -errno with err. */
int mconn_open_out(const struct mconn_uri *u, char *err, size_t errlen);
/* Destination: listens and accepts one peer (or opens the file). Returns an fd or -errno. */
int mconn_open_in(const struct mconn_uri *u, char *err, size_t errlen);
/* The same in two steps (unix: and tcp: only), so that a wait in accept can be ended from
 * another thread with shutdown() on the listening fd. accept closes lfd in any case. */
int mconn_listen_in(const struct mconn_uri *u, char *err, size_t errlen);
int mconn_accept_in(int lfd, const struct mconn_uri *u, char *err, size_t errlen);
/* Send and receive timeouts on a socket (no-op on a file). */
void mconn_set_timeout(int fd, int ms);

/* The destination's answers on the same connection: u32 kind | u32 length | text. */
enum mconn_msg { MCONN_READY = 1, MCONN_ERROR = 2, MCONN_GO = 3 };
#define MCONN_MSG_TEXT_MAX 256

MUST_CHECK int mconn_send_msg(int fd, enum mconn_msg kind, const char *text);
/* Waits up to timeout_ms (< 0: the socket's own timeout). 0 and *kind, text filled; -errno. */
MUST_CHECK int mconn_recv_msg(int fd, int timeout_ms, enum mconn_msg *kind, char *text,
                              size_t textlen);
/* True when the peer has sent something (or closed) without blocking. */
bool mconn_readable(int fd);
#endif
