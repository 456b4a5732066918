/*
 * Putting the kernel and initrd into guest RAM: the loaders list what goes where (pieces),
 * then kload either copies it all at once or streams it from a thread while the vCPUs
 * already run. Streaming registers the pieces' pages with userfaultfd, so any access to a
 * page not yet written (a vCPU through KVM, or the VMM) waits until the stream writes it:
 * the first KVM_RUN no longer waits for ~15 MB of kernel to be unpacked and copied.
 */
#ifndef MINIVMM_KLOAD_H
#define MINIVMM_KLOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

enum kload_mode {
    KLOAD_AUTO,   /* stream when it is possible and worth it (KLOAD_STREAM_MIN bytes or more) */
    KLOAD_COPY,   /* everything is in guest RAM when kload_start returns */
    KLOAD_STREAM, /* stream, or fail kload_start saying why it cannot */
};

/* Below this, a copy costs less than the thread and the userfaultfd set-up. */
#define KLOAD_STREAM_MIN (1u << 20)

/*
 * Fills a buffer that some pieces read from, in steps (an lz4 payload decoding). Pieces
 * whose source lies in [buf, buf + len) are written only once ready() covers them.
 */
struct kload_producer {
    const uint8_t *buf;
    size_t len;
    void *ctx;
    int (*step)(void *ctx);                  /* 1: more to come, 0: all filled, -errno */
    size_t (*ready)(void *ctx, size_t from); /* end of the filled run that starts at from */
    void (*release)(void *ctx); /* frees ctx and buf: once all is written, or by kload_close */
};

struct kload_piece {
    uint64_t gpa;
    const uint8_t *src;
    uint64_t len;
    uint64_t done; /* bytes already in guest RAM (streaming) */
};

struct kload_mapping {
    void *addr;
    size_t len;
};

#define KLOAD_MAX_MAPPINGS 4

/* What the stream did, for the exit report and the benchmark. */
struct kload_stats {
    uint64_t bytes;            /* written into guest RAM */
    uint64_t faults;           /* accesses that had to wait for a page */
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC: stream thread start and finish */
};

struct kload {
    struct kload_piece *pieces;
    unsigned int npieces, cap;
    struct kload_mapping maps[KLOAD_MAX_MAPPINGS]; /* munmap'ed by kload_close */
    unsigned int nmaps;
    struct kload_producer prod; /* prod.step NULL: none */

    /* Streaming. */
    struct gmem *gm;
    int uffd;
    pthread_t thread;
    bool streaming;      /* kload_start armed the stream (pages registered) */
    bool thread_started; /* kload_go started its thread, still to be joined */
    int stop;            /* atomic: kload_close wants the thread to finish */
    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    bool finished; /* under lock: the thread wrote everything or gave up */
    int result;    /* under lock: the thread's outcome, 0 or -errno */
    void (*on_error)(void *opaque, const char *reason);
    void *opaque;
    struct kload_stats stats;
};

void kload_init(struct kload *l);

/*
 * Plans len bytes from src to gpa. The caller has checked that [gpa, gpa + len) is RAM;
 * src must stay valid until kload_close (kload_keep_mapping, or the producer's buffer).
 * Pieces must not overlap in guest RAM. -ENOMEM.
 */
MUST_CHECK int kload_add(struct kload *l, uint64_t gpa, const void *src, uint64_t len);
/* Hands a mapping to the plan: unmapped by kload_close. -ENOSPC when too many. */
MUST_CHECK int kload_keep_mapping(struct kload *l, void *addr, size_t len);
/* Hands the producer to the plan (at most one). */
void kload_set_producer(struct kload *l, const struct kload_producer *p);

/*
 * Carries out the plan. KLOAD_COPY (or AUTO when streaming is not possible or not worth it)
 * runs the producer to its end and copies every piece before returning. Streaming arms the
 * stream: from here on any access to a piece's page waits until the stream writes it, which
 * starts with kload_go. on_error(opaque, reason) is called from the stream's thread if it
 * fails (a corrupt payload): the pages it did not write read as zeros then. Errors are
 * logged naming the cause.
 */
MUST_CHECK int kload_start(struct kload *l, struct gmem *gm, enum kload_mode mode,
                           void (*on_error)(void *opaque, const char *reason), void *opaque);
/*
 * Starts the armed stream's thread (nothing to do after a copy). Called once the vCPUs run,
 * so that it does not compete with them for a CPU before their first KVM_RUN.
 */
MUST_CHECK int kload_go(struct kload *l);
/* Waits until everything is in guest RAM (or the stream failed); returns the outcome. */
MUST_CHECK int kload_wait(struct kload *l);
/*
 * Stops a stream still running and waits for its thread: whatever it did not write reads as
 * zeros. kload_wait then returns -ECANCELED. Idempotent.
 */
void kload_stop(struct kload *l);
/* kload_stop, then frees every buffer. Accepts a kload_init'ed or zeroed kload. */
void kload_close(struct kload *l);

#endif
