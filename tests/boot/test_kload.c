/*
 * Unit tests for vmm/boot/kload.c and kload_stream.c: the load plan copied at once, and
 * streamed with a real userfaultfd over real memfd guest RAM while another thread reads
 * pages that are not written yet (no KVM: a plain thread stands in for the vCPU).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "kload.h"

#define PAGE 4096u

static uint8_t *pattern(size_t len, unsigned int seed)
{
    uint8_t *p = malloc(len);

    cr_assert(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 12));
    return p;
}

/* A producer that makes its buffer ready `step` bytes at a time, slowly, failing at fail_at. */
struct slow {
    uint8_t *buf;
    size_t len, ready, step, fail_at;
    useconds_t delay;
    int released;
};

static int slow_step(void *ctx)
{
    struct slow *s = ctx;

    usleep(s->delay);
    if (s->ready >= s->fail_at)
        return -EINVAL;
    s->ready = s->ready + s->step < s->len ? s->ready + s->step : s->len;
    return s->ready < s->len;
}

static size_t slow_ready(void *ctx, size_t from)
{
    struct slow *s = ctx;

    (void)from;
    return s->ready;
}

static void slow_release(void *ctx)
{
    ((struct slow *)ctx)->released++;
}

static void slow_attach(struct kload *l, struct slow *s)
{
    struct kload_producer p = {.buf = s->buf,
                               .len = s->len,
                               .ctx = s,
                               .step = slow_step,
                               .ready = slow_ready,
                               .release = slow_release};
    kload_set_producer(l, &p);
}

struct reader {
    const volatile uint8_t *at;
    uint8_t seen;
};

static void *read_byte(void *arg)
{
    struct reader *r = arg;

    r->seen = *r->at; /* waits in the kernel until the stream writes the page */
    return NULL;
}

struct failure {
    int calls;
    char reason[128];
};

static void on_error(void *opaque, const char *reason)
{
    struct failure *f = opaque;

    f->calls++;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

/* s's buffer (made here) streamed to 8 MiB of a fresh 32 MiB guest, the stream running. */
static void slow_stream(struct gmem *gm, struct kload *l, struct slow *s, unsigned int seed,
                        struct failure *f)
{
    s->buf = pattern(s->len, seed);
    fixture_gmem(gm, 32 * MiB);
    kload_init(l);
    slow_attach(l, s);
    cr_assert_eq(kload_add(l, 8 * MiB, s->buf, s->len), 0);
    cr_assert_eq(kload_start(l, gm, KLOAD_STREAM, f ? on_error : NULL, f), 0);
    cr_assert_eq(kload_go(l), 0);
}

/* Pieces that start and end inside pages, one spanning many pages: every byte where it belongs,
 * the bytes around them still zero. */
static void check_unaligned_pieces(enum kload_mode mode, bool expect_stream)
{
    struct gmem gm;
    struct kload l;
    size_t big = 3 * MiB + 123;
    uint8_t *a = pattern(big, 1), *b = pattern(5000, 2);
    uint8_t *ram;

    fixture_gmem(&gm, 64 * MiB);
    kload_init(&l);
    cr_assert_eq(kload_add(&l, 16 * MiB + 100, a, big), 0);
    cr_assert_eq(kload_add(&l, 24 * MiB + 4000, b, 5000), 0);
    cr_assert_eq(kload_start(&l, &gm, mode, NULL, NULL), 0);
    cr_assert_eq(kload_go(&l), 0);
    cr_assert_eq(l.streaming, expect_stream);
    cr_assert_eq(kload_wait(&l), 0);
    ram = gmem_ptr(&gm, 0, 64 * MiB);
    cr_assert_eq(memcmp(ram + 16 * MiB + 100, a, big), 0);
    cr_assert_eq(memcmp(ram + 24 * MiB + 4000, b, 5000), 0);
    for (size_t i = 16 * MiB; i < 16 * MiB + 100; i++)
        cr_assert_eq(ram[i], 0);
    for (size_t i = 16 * MiB + 100 + big; i % PAGE; i++)
        cr_assert_eq(ram[i], 0, "byte 0x%zx after the piece", i);
    /* A stream writes whole pages: the pieces' bytes rounded out to the pages they touch. */
    if (expect_stream)
        cr_assert_eq(l.stats.bytes, (769 + 3) * (uint64_t)PAGE);
    else
        cr_assert_eq(l.stats.bytes, big + 5000);
    kload_close(&l);
    gmem_destroy(&gm);
    free(a);
    free(b);
}

Test(kload, copy_writes_every_piece)
{
    check_unaligned_pieces(KLOAD_COPY, false);
}

Test(kload, stream_writes_every_piece)
{
    check_unaligned_pieces(KLOAD_STREAM, true);
}

Test(kload, auto_streams_large_plans_and_copies_small_ones)
{
    struct gmem gm;
    struct kload l;
    uint8_t *small = pattern(KLOAD_STREAM_MIN - 1, 3);

    check_unaligned_pieces(KLOAD_AUTO, true);
    fixture_gmem(&gm, 32 * MiB);
    kload_init(&l);
    cr_assert_eq(kload_add(&l, 2 * MiB, small, KLOAD_STREAM_MIN - 1), 0);
    cr_assert_eq(kload_start(&l, &gm, KLOAD_AUTO, NULL, NULL), 0);
    cr_assert_eq(kload_go(&l), 0);
    cr_assert_not(l.streaming, "below KLOAD_STREAM_MIN a copy is cheaper");
    cr_assert_eq(memcmp(gmem_ptr(&gm, 2 * MiB, 1), small, KLOAD_STREAM_MIN - 1), 0);
    kload_close(&l);
    gmem_destroy(&gm);
    free(small);
}

/* Two pieces in one page: streaming whole pages would lose one, so AUTO copies, STREAM refuses. */
Test(kload, pieces_sharing_a_page_are_copied)
{
    struct gmem gm;
    struct kload l;
    uint8_t *a = pattern(2 * MiB + 10, 4), *b = pattern(100, 5);

    fixture_gmem(&gm, 32 * MiB);
    kload_init(&l);
    cr_assert_eq(kload_add(&l, 4 * MiB + 50, b, 100), 0);
    cr_assert_eq(kload_add(&l, 2 * MiB, a, 2 * MiB + 10), 0);
    cr_assert_eq(kload_start(&l, &gm, KLOAD_AUTO, NULL, NULL), 0);
    cr_assert_eq(kload_go(&l), 0);
    cr_assert_not(l.streaming);
    cr_assert_eq(memcmp(gmem_ptr(&gm, 2 * MiB, 1), a, 2 * MiB + 10), 0);
    cr_assert_eq(memcmp(gmem_ptr(&gm, 4 * MiB + 50, 1), b, 100), 0);
    kload_close(&l);

    kload_init(&l);
    cr_assert_eq(kload_add(&l, 4 * MiB + 50, b, 100), 0);
    cr_assert_eq(kload_add(&l, 2 * MiB, a, 2 * MiB + 10), 0);
    fixture_capture_begin();
    cr_assert_eq(kload_start(&l, &gm, KLOAD_STREAM, NULL, NULL), -ENOTSUP);
    cr_assert(strstr(fixture_capture_end(), "share a page"));
    kload_close(&l);
    gmem_destroy(&gm);
    free(a);
    free(b);
}

/* A page read before its bytes exist waits for them: the reader never sees the zeros. */
Test(kload, a_read_waits_for_its_page)
{
    struct gmem gm;
    struct kload l;
    struct slow s = {.len = 4 * MiB, .step = 256 * 1024, .fail_at = SIZE_MAX, .delay = 2000};
    struct reader r;
    pthread_t t;
    size_t last = s.len - PAGE + 17;

    slow_stream(&gm, &l, &s, 6, NULL);
    cr_assert_neq(s.buf[last], 0);
    r.at = (const volatile uint8_t *)gmem_ptr(&gm, 8 * MiB + last, 1);
    cr_assert_eq(pthread_create(&t, NULL, read_byte, &r), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(r.seen, s.buf[last]);
    cr_assert_eq(kload_wait(&l), 0);
    cr_assert_eq(memcmp(gmem_ptr(&gm, 8 * MiB, s.len), s.buf, s.len), 0);
    cr_assert_geq(l.stats.faults, 1, "the read had to wait");
    cr_assert_eq(s.released, 1, "the producer is released once its bytes are written");
    kload_close(&l);
    cr_assert_eq(s.released, 1);
    gmem_destroy(&gm);
    free(s.buf);
}

/* The producer fails half way: on_error says so, waiters are released (they read zeros). */
Test(kload, a_failed_stream_releases_its_waiters)
{
    struct gmem gm;
    struct kload l;
    struct slow s = {.len = 4 * MiB, .step = 256 * 1024, .fail_at = 2 * MiB, .delay = 500};
    struct failure f = {0};
    struct reader r;
    pthread_t t;

    slow_stream(&gm, &l, &s, 7, &f);
    r.at = (const volatile uint8_t *)gmem_ptr(&gm, 8 * MiB + 3 * MiB, 1);
    cr_assert_eq(pthread_create(&t, NULL, read_byte, &r), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert_eq(r.seen, 0, "never written: the page is a plain zero page now");
    cr_assert_eq(kload_wait(&l), -EINVAL);
    kload_close(&l);
    cr_assert_eq(f.calls, 1);
    cr_assert(strstr(f.reason, "loading the kernel"), "%s", f.reason);
    cr_assert_eq(memcmp(gmem_ptr(&gm, 8 * MiB, MiB), s.buf, MiB), 0, "what was ready is there");
    gmem_destroy(&gm);
    free(s.buf);
}

/* Stopping a stream half way: no hang, -ECANCELED, no error report (the VM is ending anyway). */
Test(kload, stop_ends_a_running_stream)
{
    struct gmem gm;
    struct kload l;
    struct slow s = {.len = 8 * MiB, .step = 64 * 1024, .fail_at = SIZE_MAX, .delay = 5000};
    struct failure f = {0};

    slow_stream(&gm, &l, &s, 8, &f);
    usleep(20000);
    kload_stop(&l);
    cr_assert_eq(kload_wait(&l), -ECANCELED);
    cr_assert_eq(f.calls, 0);
    kload_stop(&l); /* idempotent */
    kload_close(&l);
    cr_assert_eq(s.released, 1);
    gmem_destroy(&gm);
    free(s.buf);
}
