/*
 * Unit tests for vmm/migrate_ram.c: the dirty-bitmap merges (KVM's per-slot bitmap into the
 * guest-physical one at any offset; a back-end's shared log taken while it keeps writing),
 * zero-page detection, and pages sent through a real stream into another guest RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migrate_ram.h"

static bool bit(const uint64_t *m, uint64_t b)
{
    return m[b / 64] >> (b % 64) & 1;
}

Test(migrate_ram, or_at_aligned_and_unaligned_offsets)
{
    uint64_t src[3] = {0x8000000000000001ULL, 0x5, 0x1}; /* bits 0, 63, 64, 66, 128 */
    const uint64_t set[] = {0, 63, 64, 66, 128};

    for (uint64_t at = 0; at < 130; at++) {
        uint64_t dst[6] = {0};
        mram_bitmap_or(dst, at, src, 129);
        for (uint64_t b = 0; b < 6 * 64; b++) {
            bool want = false;
            for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
                want |= b == at + set[i];
            cr_assert_eq(bit(dst, b), want, "at %llu bit %llu", (unsigned long long)at,
                         (unsigned long long)b);
        }
    }
    /* Bits past nbits in the last source word are not copied. */
    uint64_t dst[2] = {0};
    uint64_t full = ~0ULL;
    mram_bitmap_or(dst, 64, &full, 10);
    cr_assert_eq(dst[0], 0);
    cr_assert_eq(dst[1], 0x3ff);
    /* OR keeps what was there. */
    dst[0] = 0x10;
    mram_bitmap_or(dst, 0, (uint64_t[]){0x1}, 64);
    cr_assert_eq(dst[0], 0x11);
}

Test(migrate_ram, count)
{
    uint64_t m[3] = {~0ULL, 0x3, ~0ULL};

    cr_assert_eq(mram_bitmap_count(m, 192), 130);
    cr_assert_eq(mram_bitmap_count(m, 130), 68);
    cr_assert_eq(mram_bitmap_count(m, 129), 67);
    cr_assert_eq(mram_bitmap_count(m, 128), 66);
    cr_assert_eq(mram_bitmap_count(m, 0), 0);
}

#define TAKE_WORDS 64

struct writer {
    uint64_t *log;
    int stop;
    uint64_t written[TAKE_WORDS]; /* every bit the writer set */
};

/* A back-end marking pages while the VMM takes the log. */
static void *writer_thread(void *arg)
{
    struct writer *w = arg;
    uint64_t x = 88172645463325252ULL;

    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t b = x % (TAKE_WORDS * 64);
        __atomic_fetch_or(&w->log[b / 64], 1ULL << (b % 64), __ATOMIC_RELAXED);
        w->written[b / 64] |= 1ULL << (b % 64);
    }
    return NULL;
}

Test(migrate_ram, take_loses_no_bit_set_concurrently)
{
    static uint64_t log[TAKE_WORDS], dst[TAKE_WORDS];
    static struct writer w = {.log = log};
    pthread_t t;
    uint64_t taken = 0;

    cr_assert_eq(pthread_create(&t, NULL, writer_thread, &w), 0);
    for (int i = 0; i < 20000; i++)
        taken += mram_bitmap_take(dst, log, TAKE_WORDS);
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    taken += mram_bitmap_take(dst, log, TAKE_WORDS);
    /* Every bit taken once at least; a bit set again after being taken is counted again. */
    cr_assert_geq(taken, mram_bitmap_count(dst, TAKE_WORDS * 64));
    for (int i = 0; i < TAKE_WORDS; i++) {
        cr_assert_eq(log[i], 0, "the log is cleared");
        cr_assert_eq(dst[i], w.written[i], "word %d: every written bit was taken", i);
    }
}

Test(migrate_ram, zero_pages)
{
    static uint64_t page[512];

    cr_assert(mram_page_is_zero(page));
    for (int i = 0; i < 512; i += 37) {
        page[i] = 1ULL << (i % 64);
        cr_assert_not(mram_page_is_zero(page), "word %d", i);
        page[i] = 0;
    }
    page[511] = 0x8000000000000000ULL;
    cr_assert_not(mram_page_is_zero(page));
}

/* Reads every RAM section of the stream in fd into gm; returns the section count or -errno. */
static int receive_all(int fd, struct gmem *gm, char *why, size_t whylen)
{
    struct mstream s;
    struct mstream_section sec;
    const uint8_t *p;
    int n = 0, ret;

    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&s, fd), 0);
    while ((ret = mstream_read_section(&s, &sec, &p)) == 0) {
        cr_assert_eq(sec.type, MSTREAM_RAM);
        ret = mram_receive(gm, &s, &sec, p);
        if (ret < 0)
            break;
        n++;
    }
    snprintf(why, whylen, "%s", mstream_error(&s));
    mstream_fini(&s);
    /* The stream has no END here: it ends with "truncated" after the last section. */
    return ret < 0 && !strstr(why, "ends in a section header (0 of") ? ret : n;
}

/* Pages 0-9 data, 10-19 written zeroes, 20-299 data, the rest never touched (a hole). */
static void fill_sample(struct gmem *a)
{
    for (uint64_t p = 0; p < 300; p++)
        memset(gmem_ptr(a, p * 4096, 4096), p >= 10 && p < 20 ? 0 : (int)(p | 1) & 0xff, 4096);
}

/* Pages written on one side arrive on the other through a real stream, in runs. */
Test(migrate_ram, send_and_receive)
{
    struct gmem a, b;
    struct mram r;
    struct mstream s;
    int fd = memfd_create("stream", MFD_CLOEXEC);
    char why[256];

    cr_assert_eq(gmem_create(&a, 4 << 20, false), 0);
    cr_assert_eq(gmem_create(&b, 4 << 20, false), 0);
    fill_sample(&a);
    memset(gmem_ptr(&b, 15 * 4096, 4096), 0x77, 4096);  /* stale: must be zeroed */
    memset(gmem_ptr(&b, 900 * 4096, 4096), 0x77, 4096); /* in the hole: too */
    cr_assert_eq(mram_init(&r, &a, NULL), 0);
    cr_assert_eq(mstream_init(&s, fd), 0);
    mram_mark_all(&r);
    cr_assert_eq(mram_dirty_count(&r), 1024);
    cr_assert_eq(mram_send(&r, &s, false, NULL), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    cr_assert_eq(mram_dirty_count(&r), 0);
    cr_assert_eq(r.pages_sent, 290);
    cr_assert_eq(r.zero_pages, 1024 - 290);
    mstream_fini(&s);
    /* Runs: data 0-9, zero 10-19, data 20-275 (the 256-page limit), 276-299, zero 300-1023. */
    cr_assert_eq(receive_all(fd, &b, why, sizeof(why)), 5, "%s", why);
    cr_assert_eq(memcmp(a.base, b.base, 4 << 20), 0);
    mram_fini(&r);
    gmem_destroy(&a);
    gmem_destroy(&b);
    close(fd);
}

/* The first round leaves zero pages out, and the memfd's holes without even reading them. */
Test(migrate_ram, first_round_skips_zeroes_and_holes)
{
    struct gmem a, b;
    struct mram r;
    struct mstream s;
    int fd = memfd_create("stream", MFD_CLOEXEC);
    char why[256];

    cr_assert_eq(gmem_create(&a, 4 << 20, false), 0);
    cr_assert_eq(gmem_create(&b, 4 << 20, false), 0);
    fill_sample(&a);
    cr_assert_eq(mram_init(&r, &a, NULL), 0);
    cr_assert_eq(mstream_init(&s, fd), 0);
    mram_mark_all(&r);
    cr_assert_eq(mram_send(&r, &s, true, NULL), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    cr_assert_eq(r.pages_sent, 290);
    cr_assert_eq(r.zero_pages, 1024 - 290);
    cr_assert_eq(s.bytes, 3 * MSTREAM_SECTION_HDR + 290 * MSTREAM_RAM_PAGE_WIRE);
    mstream_fini(&s);
    /* Reading a hole would have allocated it: the memfd still has no data past page 300. */
    cr_assert_eq(lseek(a.fd, 300 * 4096, SEEK_DATA), -1);
    cr_assert_eq(errno, ENXIO);
    cr_assert_eq(receive_all(fd, &b, why, sizeof(why)), 3, "%s", why);
    cr_assert_eq(memcmp(a.base, b.base, 4 << 20), 0);
    mram_fini(&r);
    gmem_destroy(&a);
    gmem_destroy(&b);
    close(fd);
}

/* A run outside the destination's RAM, or crossing its end, is refused by name. */
Test(migrate_ram, run_outside_ram_is_refused)
{
    struct gmem b;
    struct mstream s;
    int fd = memfd_create("stream", MFD_CLOEXEC);
    char why[256];

    cr_assert_eq(gmem_create(&b, 4 << 20, false), 0);
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_zero_run(&s, 1023, 2), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    mstream_fini(&s);
    cr_assert_eq(receive_all(fd, &b, why, sizeof(why)), -EPROTO);
    cr_assert(strstr(why, "outside this guest's RAM"), "%s", why);
    gmem_destroy(&b);
    close(fd);
}
