/*
 * Internal to the fake back-end: the request checks (what strict back-ends reject) and the
 * request handlers, kept apart from the socket and thread plumbing in fake_backend.c.
 * fb_check_request, fb_handle and fb_reset_session run with fb->lock held.
 */
#ifndef MINIVMM_TESTS_FAKE_BACKEND_RULES_H
#define MINIVMM_TESTS_FAKE_BACKEND_RULES_H

#include "fake_backend.h"

void fb_violation(struct fake_backend *fb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* One sendmsg of header + payload with an optional fd. 0 or -1. */
int fb_send_raw(int fd, const struct vu_wire_hdr *hdr, const void *payload, size_t len,
                int pass_fd);
/* Sends a reply (flags REPLY|VERSION) on the main connection, with an optional fd. */
int fb_reply(struct fake_backend *fb, uint32_t req, const void *payload, uint32_t size,
             int pass_fd);
/* Records a violation for everything a strict back-end would refuse in this request. */
void fb_check_request(struct fake_backend *fb, uint32_t req, uint32_t flags, uint32_t size,
                      const union vu_wire_payload *p, unsigned int nfds);
/* Acts on the request and replies; takes ownership of fds. nack: ack with failure. */
void fb_handle(struct fake_backend *fb, uint32_t req, uint32_t flags,
               const union vu_wire_payload *p, uint32_t size, const int *fds, unsigned int nfds,
               bool nack);
/* Forgets the session: closes ring fds, the channel and log, unmaps memory. */
void fb_reset_session(struct fake_backend *fb);

#endif
