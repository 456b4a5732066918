/*
 * Unit tests for vmm/migrate_ram.c: the dirty-bitmap merges (KVM's per-slot bitmap into the
 * guest-physical one at any offset; a back-end's shared log taken while it keeps writing),
 * zero-page detection, and pages sent through a real stream into another guest RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
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

/* Pages written on one side arrive on the other through a real stream. */
Test(migrate_ram, send_and_receive)
{
    struct gmem a, b;
    struct mram r;
    struct mstream s;
    struct mstream_section sec;
    const uint8_t *p;
    int fd = memfd_create("stream", MFD_CLOEXEC);
    unsigned int sections = 0;

    cr_assert_eq(gmem_create(&a, 4 << 20, false), 0);
    cr_assert_eq(gmem_create(&b, 4 << 20, false), 0);
    for (uint64_t gpa = 0; gpa < (4 << 20); gpa += 3 * 4096)
        memset(gmem_ptr(&a, gpa, 4096), (int)(gpa >> 12) | 1, 4096);
    memset(gmem_ptr(&b, 0x1000, 4096), 0x77, 4096); /* stale: must be zeroed */
    cr_assert_eq(mram_init(&r, &a, NULL), 0);
    cr_assert_eq(mstream_init(&s, fd), 0);
    mram_mark_all(&r);
    cr_assert_eq(mram_dirty_count(&r), 1024);
    cr_assert_eq(mram_send(&r, &s, false, NULL), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    cr_assert_eq(mram_dirty_count(&r), 0);
    cr_assert_eq(r.pages_sent, 342);
    cr_assert_eq(r.zero_pages, 1024 - 342);
    mstream_fini(&s);

    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&s, fd), 0);
    while (mstream_read_section(&s, &sec, &p) == 0) {
        cr_assert_eq(sec.type, MSTREAM_RAM);
        cr_assert_eq(mram_receive(&b, p, sec.length), 0);
        sections++;
    }
    cr_assert_eq(sections, 4);
    cr_assert_eq(memcmp(a.base, b.base, 4 << 20), 0);

    /* A page outside the destination's RAM is refused. */
    uint8_t bad[8 + 8];
    uint32_t one = 1;
    uint64_t e = (8ULL << 20) | MSTREAM_PAGE_ZERO;
    memset(bad, 0, sizeof(bad));
    memcpy(bad, &one, 4);
    memcpy(bad + 8, &e, 8);
    cr_assert_eq(mram_receive(&b, bad, sizeof(bad)), -EPROTO);
    mstream_fini(&s);
    mram_fini(&r);
    gmem_destroy(&a);
    gmem_destroy(&b);
    close(fd);
}
