/*
 * What kload.c and kload_stream.c share and nothing else needs: the page size streaming
 * works in, how much of a piece is ready to be written, and the stream's start.
 */
#ifndef MINIVMM_KLOAD_INT_H
#define MINIVMM_KLOAD_INT_H

#include "kload.h"

#define KLOAD_PAGE 4096u

/* Bytes of p, from its start, whose source is ready (all of them without a producer). */
uint64_t kload_ready(const struct kload *l, const struct kload_piece *p);

/* Frees the buffers the pieces read from: once they are written, or at close. */
void kload_release_sources(struct kload *l);

/* Registers the pieces' pages with a new userfaultfd: the stream is armed (kload_go runs it). */
MUST_CHECK int kload_stream_start(struct kload *l, struct gmem *gm);

#endif
