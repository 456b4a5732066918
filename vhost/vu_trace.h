/*
 * vhost-user message tracer behind `--trace vhost-user[,file=PATH]`: one line per message in
 * either direction, with the request name, flags, every payload field decoded, and the fds.
 */
#ifndef MINIVMM_VU_TRACE_H
#define MINIVMM_VU_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "vu_log.h"
#include "vu_wire.h"

/*
 * Writes one line for a message. sent: written by us (front-end); backend_chan: the message
 * travels on the back-end channel, whose request ids have their own table. payload holds
 * hdr->size bytes. The line is written with one stdio call, so lines from threads don't mix.
 */
void vu_trace_msg(FILE *f, const char *tag, bool sent, bool backend_chan,
                  const struct vu_wire_hdr *hdr, const void *payload, const int *fds,
                  unsigned int nfds);

/*
 * Parses a --trace argument "vhost-user" or "vhost-user,file=PATH": *out becomes stderr or the
 * opened file (append, line-buffered, CLOEXEC; the caller fcloses it unless it is stderr).
 * -EINVAL if the argument is not for vhost-user.
 */
VU_MUST_CHECK int vu_trace_open(const char *arg, FILE **out);

#endif
