/*
 * Unit tests for vmm/boot/lz4dec.c against liblz4, the reference: its blocks decode in one
 * call and in many small steps; corrupt blocks are refused. Buffers are exact-size heap
 * allocations so the ASan build catches any byte read or written outside them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lz4dec.h"

/* The guest bzImage (tools/test exports the one it built as MINIVMM_KERNEL). */
#define KERNEL "/root/.cache/minivmm/kernel-c0603b2e516637e5/bzImage"
#define BLOCK  (8u << 20) /* lz4 -l frames hold 8 MiB */

/* A decoder bug can loop forever (offset 0 in a pattern copy): fail, do not hang. */
TestSuite(lz4dec, .timeout = 60);

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    cr_assert(p);
    return p;
}

static void *dup(const void *src, size_t n)
{
    return memcpy(xmalloc(n), src, n);
}

/* Text-like bytes: words from a small vocabulary, spaces and line breaks. */
static void fill_text(uint8_t *b, size_t len, uint64_t *s)
{
    static const char *const words[] = {"the",    "kernel", "boots", "a",      "virtio", "queue",
                                        "device", "of",     "guest", "memory", "page",   "irq",
                                        "0x1f",   "static", "int",   "return", "{",      "};"};
    size_t i = 0;

    while (i < len) {
        const char *w = words[rnd(s) % (sizeof(words) / sizeof(words[0]))];

        for (; *w && i < len; w++)
            b[i++] = (uint8_t)*w;
        if (i < len)
            b[i++] = rnd(s) % 9 ? ' ' : '\n';
    }
}

/*
 * Everything a kernel image holds, in runs: random bytes, runs of one byte (offset 1), short
 * periods (overlapping matches, offsets 2..20 around the 8- and 16-byte chunk sizes), text,
 * and copies from far back (offsets up to 65535, long matches).
 */
static void fill_mixed(uint8_t *b, size_t len, uint64_t *s)
{
    size_t i = 0;

    while (i < len) {
        size_t n = 1 + rnd(s) % 600, k, p;

        n = n < len - i ? n : len - i;
        switch (rnd(s) % 5) {
        case 0:
            for (k = 0; k < n; k++)
                b[i + k] = (uint8_t)rnd(s);
            break;
        case 1:
            memset(b + i, (int)(rnd(s) & 0xff), n);
            break;
        case 2:
            p = 1 + rnd(s) % 20;
            for (k = 0; k < n; k++)
                b[i + k] = k < p ? (uint8_t)rnd(s) : b[i + k - p];
            break;
        case 3:
            fill_text(b + i, n, s);
            break;
        default:
            p = 1 + rnd(s) % (i < 65535 ? i + 1 : 65535);
            for (k = 0; k < n; k++)
                b[i + k] = i >= p ? b[i + k - p] : (uint8_t)k;
            break;
        }
        i += n;
    }
}

enum kind { RANDOM, RUN, PERIOD, TEXT, MIXED };

static uint8_t *sample(enum kind kind, size_t len, uint64_t seed)
{
    uint8_t *b = xmalloc(len);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;

    for (size_t i = 0; i < len; i++) {
        if (kind == RANDOM)
            b[i] = (uint8_t)rnd(&s);
        else if (kind == RUN)
            b[i] = 'z';
        else if (kind == PERIOD) /* seed is the period */
            b[i] = i < seed ? (uint8_t)rnd(&s) : b[i - seed];
    }
    if (kind == TEXT)
        fill_text(b, len, &s);
    if (kind == MIXED)
        fill_mixed(b, len, &s);
    return b;
}

/* liblz4's block for src, in an exact-size buffer. */
static uint8_t *compress(const uint8_t *src, size_t len, bool hc, size_t *clen)
{
    int bound = LZ4_compressBound((int)len), n;
    char *tmp = xmalloc((size_t)bound);

    n = hc ? LZ4_compress_HC((const char *)src, tmp, (int)len, bound, LZ4HC_CLEVEL_MAX)
           : LZ4_compress_default((const char *)src, tmp, (int)len, bound);
    cr_assert_gt(n, 0);
    *clen = (size_t)n;
    uint8_t *c = dup(tmp, *clen);
    free(tmp);
    return c;
}

/*
 * Decodes c into an exact out_cap buffer: one call when step is 0, else calls asking for step
 * more bytes each (random in 1..-step when step < 0). Checks each call's promise: at least
 * `until` bytes out unless it ended, the bytes newly before out already equal to want.
 * Returns lz4dec_run's last result, *done the bytes out then.
 */
static int decode(const uint8_t *c, size_t clen, uint8_t *out, size_t out_cap, long step,
                  uint64_t seed, const uint8_t *want, size_t want_len, size_t *done)
{
    struct lz4dec d;
    uint64_t s = seed + 1;
    size_t prev = 0, until;
    int r;

    lz4dec_init(&d, c, clen, out, out_cap);
    do {
        until = step == 0  ? SIZE_MAX
                : step > 0 ? prev + (size_t)step
                           : prev + 1 + rnd(&s) % (size_t)-step;
        r = lz4dec_run(&d, until);
        *done = lz4dec_done(&d);
        if (r < 0)
            return r;
        cr_assert(r == 0 || lz4dec_done(&d) >= until, "done %zu < until %zu", lz4dec_done(&d),
                  until);
        cr_assert_leq(lz4dec_done(&d), out_cap);
        if (want) {
            cr_assert_leq(lz4dec_done(&d), want_len);
            cr_assert(memcmp(out + prev, want + prev, lz4dec_done(&d) - prev) == 0,
                      "bytes [%zu, %zu) differ", prev, lz4dec_done(&d));
        }
        prev = lz4dec_done(&d);
    } while (r == 1);
    cr_assert_eq(d.in, d.in_end);
    return 0;
}

/* One input, both compressors, decoded with each of the steps (0: one call). */
static void round_trip(const uint8_t *src, size_t len, const long *steps, size_t nsteps)
{
    for (int hc = 0; hc < 2; hc++) {
        size_t clen;
        uint8_t *c = compress(src, len, hc, &clen);

        for (size_t i = 0; i < nsteps; i++) {
            uint8_t *out = xmalloc(len);
            size_t done;

            cr_assert_eq(decode(c, clen, out, len, steps[i], i, src, len, &done), 0,
                         "len %zu hc %d step %ld", len, hc, steps[i]);
            cr_assert_eq(done, len);
            cr_assert(memcmp(out, src, len) == 0);
            free(out);
        }
        free(c);
    }
}

static const long one_call[] = {0};
static const long steps[] = {1, 7, 1000, -64, -4096};

Test(lz4dec, round_trip_one_call_and_steps)
{
    static const struct {
        enum kind kind;
        size_t len;
        uint64_t seed;
    } cases[] = {
        {RANDOM, 65536, 1},  {RUN, 100000, 0},    {PERIOD, 20000, 2}, {PERIOD, 20000, 3},
        {PERIOD, 20000, 5},  {PERIOD, 20000, 7},  {PERIOD, 20000, 8}, {PERIOD, 20000, 9},
        {PERIOD, 20000, 15}, {PERIOD, 20000, 16}, {TEXT, 200000, 4},  {MIXED, 300000, 5},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *src = sample(cases[i].kind, cases[i].len, cases[i].seed);

        round_trip(src, cases[i].len, steps, sizeof(steps) / sizeof(steps[0]));
        round_trip(src, cases[i].len, one_call, 1);
        free(src);
    }
}

Test(lz4dec, tiny_blocks)
{
    for (size_t len = 1; len <= 20; len++) {
        for (enum kind k = RANDOM; k <= MIXED; k++) {
            uint8_t *src = sample(k, len, k == PERIOD ? 2 : len);

            round_trip(src, len, steps, sizeof(steps) / sizeof(steps[0]));
            round_trip(src, len, one_call, 1);
            free(src);
        }
    }
}

Test(lz4dec, eight_mib)
{
    static const long big_steps[] = {0, -65536, 4096};
    uint8_t *src = sample(MIXED, BLOCK, 8);

    round_trip(src, BLOCK, big_steps, sizeof(big_steps) / sizeof(big_steps[0]));
    free(src);
}

/* A hand-made block into an exact out_cap buffer: lz4dec_run's result, in one call. */
static int run_block(const uint8_t *blk, size_t len, size_t out_cap, uint8_t *want)
{
    uint8_t *in = dup(blk, len), *out = xmalloc(out_cap);
    struct lz4dec d;
    int r;

    lz4dec_init(&d, in, len, out, out_cap);
    r = lz4dec_run(&d, SIZE_MAX);
    if (r == 0 && want)
        cr_assert(memcmp(out, want, lz4dec_done(&d)) == 0);
    /* After an error the state stays where it was: a second call fails the same way. */
    if (r < 0)
        cr_assert_eq(lz4dec_run(&d, SIZE_MAX), r);
    free(in);
    free(out);
    return r;
}

Test(lz4dec, hand_made_blocks)
{
    /* 4 literals, a 4-byte match at offset 4, then 1 literal: "abcdabcde". */
    uint8_t ok[] = {0x40, 'a', 'b', 'c', 'd', 4, 0, 0x10, 'e'};
    uint8_t off0[] = {0x40, 'a', 'b', 'c', 'd', 0, 0, 0x10, 'e'};
    uint8_t off5[] = {0x40, 'a', 'b', 'c', 'd', 5, 0, 0x10, 'e'};
    uint8_t lit_past_in[] = {0xf0, 0x10, 'a', 'b', 'c'};   /* 31 literals, 3 there */
    uint8_t lit_255_past_in[] = {0xf0, 255, 255};          /* length bytes run out */
    uint8_t half_offset[] = {0x40, 'a', 'b', 'c', 'd', 4}; /* ends inside the offset */
    uint8_t ml_past_in[] = {0x4f, 'a', 'b', 'c', 'd', 4, 0};
    /* A run: 1 literal, match offset 1 of 4 + 15 + 200 bytes, then 1 literal. */
    uint8_t run[] = {0x1f, 'x', 1, 0, 200, 0x10, 'y'};
    uint8_t want_run[221];

    cr_assert_eq(run_block(ok, sizeof(ok), 9, (uint8_t *)"abcdabcde"), 0);
    cr_assert_eq(run_block(off0, sizeof(off0), 9, NULL), -EINVAL);
    cr_assert_eq(run_block(off5, sizeof(off5), 9, NULL), -EINVAL);
    cr_assert_eq(run_block(lit_past_in, sizeof(lit_past_in), 64, NULL), -EINVAL);
    cr_assert_eq(run_block(lit_255_past_in, sizeof(lit_255_past_in), 1024, NULL), -EINVAL);
    cr_assert_eq(run_block(half_offset, sizeof(half_offset), 9, NULL), -EINVAL);
    cr_assert_eq(run_block(ml_past_in, sizeof(ml_past_in), 64, NULL), -EINVAL);
    /* The match or the literals one byte past out_cap. */
    cr_assert_eq(run_block(ok, sizeof(ok), 8, NULL), -EINVAL);
    cr_assert_eq(run_block(ok, sizeof(ok), 7, NULL), -EINVAL);
    cr_assert_eq(run_block(ok, 5, 3, NULL), -EINVAL);
    memset(want_run, 'x', 220);
    want_run[220] = 'y';
    cr_assert_eq(run_block(run, sizeof(run), sizeof(want_run), want_run), 0);
    cr_assert_eq(run_block(run, sizeof(run), sizeof(want_run) - 2, NULL), -EINVAL);
    /* Literals only is a whole block; so is no input (nothing out). */
    cr_assert_eq(run_block(ok, 5, 4, (uint8_t *)"abcd"), 0);
    cr_assert_eq(run_block(ok, 0, 4, NULL), 0);
}

Test(lz4dec, until_already_reached_makes_no_progress)
{
    uint8_t blk[] = {0x40, 'a', 'b', 'c', 'd', 4, 0, 0x10, 'e'}, out[9];
    struct lz4dec d;

    lz4dec_init(&d, blk, sizeof(blk), out, sizeof(out));
    cr_assert_eq(lz4dec_run(&d, 0), 1);
    cr_assert_eq(lz4dec_done(&d), 0);
    cr_assert_eq(lz4dec_run(&d, 1), 1);
    cr_assert_eq(lz4dec_done(&d), 8); /* whole sequences: literals and their match */
    cr_assert_eq(lz4dec_run(&d, 8), 1);
    cr_assert_eq(lz4dec_run(&d, 9), 0);
    cr_assert_eq(lz4dec_run(&d, SIZE_MAX), 0);
    cr_assert(memcmp(out, "abcdabcde", 9) == 0);
}

Test(lz4dec, truncated_at_every_position)
{
    size_t len = 700, clen, refused = 0;
    uint8_t *src = sample(MIXED, len, 3), *c = compress(src, len, false, &clen);

    for (size_t n = 0; n < clen; n++) {
        uint8_t *in = dup(c, n), *out = xmalloc(len);
        struct lz4dec d;
        int r;

        lz4dec_init(&d, in, n, out, len);
        r = lz4dec_run(&d, SIZE_MAX);
        /* A cut right after some literals looks like a shorter block: only the size tells. */
        cr_assert(r == -EINVAL || (r == 0 && lz4dec_done(&d) < len), "cut at %zu: %d", n, r);
        refused += r < 0;
        free(in);
        free(out);
    }
    cr_assert_gt(refused, clen / 2);
    free(src);
    free(c);
}

/*
 * Random corruption: byte flips, random caps, plain garbage. Whatever it returns, it must
 * not touch memory outside the buffers (ASan), must agree with itself when run in steps,
 * and must decode exactly what liblz4 decodes whenever liblz4 accepts the block.
 */
static void corrupt_one(uint8_t *in, size_t clen, size_t cap, uint64_t seed)
{
    uint8_t *out = xmalloc(cap), *ref = xmalloc(cap), *stepped = xmalloc(cap);
    struct lz4dec d;
    size_t done;
    int r, rs, want;

    lz4dec_init(&d, in, clen, out, cap);
    r = lz4dec_run(&d, SIZE_MAX);
    cr_assert(r == 0 || r == -EINVAL);
    rs = decode(in, clen, stepped, cap, -32, seed, NULL, 0, &done);
    cr_assert_eq(rs, r, "seed %lu: stepped %d, one call %d", (unsigned long)seed, rs, r);
    if (r == 0) {
        cr_assert_eq(done, lz4dec_done(&d));
        cr_assert(memcmp(out, stepped, done) == 0);
    }
    want = LZ4_decompress_safe((const char *)in, (char *)ref, (int)clen, (int)cap);
    if (want >= 0) {
        cr_assert_eq(r, 0, "seed %lu: liblz4 decoded %d bytes", (unsigned long)seed, want);
        cr_assert_eq(lz4dec_done(&d), (size_t)want);
        cr_assert(memcmp(out, ref, (size_t)want) == 0);
        cr_assert(memcmp(stepped, ref, (size_t)want) == 0);
    }
    free(out);
    free(ref);
    free(stepped);
}

Test(lz4dec, random_corruption)
{
    size_t len = 3000, clen;
    uint8_t *src = sample(MIXED, len, 11), *c = compress(src, len, true, &clen);

    for (uint64_t seed = 1; seed <= 3000; seed++) {
        uint64_t s = seed;
        uint8_t *in = dup(c, clen);
        size_t flips = 1 + rnd(&s) % 4;
        size_t cap = seed % 3 ? len : rnd(&s) % (len + 64);

        for (size_t i = 0; i < flips; i++)
            in[rnd(&s) % clen] ^= (uint8_t)(1 + rnd(&s) % 255);
        corrupt_one(in, clen, cap, seed);
        free(in);
    }
    for (uint64_t seed = 1; seed <= 500; seed++) {
        uint64_t s = seed;
        size_t n = 1 + rnd(&s) % 200;
        uint8_t *in = sample(RANDOM, n, seed);

        corrupt_one(in, n, rnd(&s) % 4096, seed);
        free(in);
    }
    free(src);
    free(c);
}

/* Decodes c into out with d.out_zeroed set, in steps of step bytes (0: one call). */
static void decode_zeroed(const uint8_t *c, size_t clen, uint8_t *out, size_t len, size_t step)
{
    struct lz4dec d;
    int r;

    lz4dec_init(&d, c, clen, out, len);
    d.out_zeroed = true;
    do
        r = lz4dec_run(&d, step ? lz4dec_done(&d) + step : SIZE_MAX);
    while (r == 1);
    cr_assert_eq(r, 0);
    cr_assert_eq(lz4dec_done(&d), len);
}

/*
 * out_zeroed: zero runs over output that already reads as zeros are not written. Into zeroed
 * memory the result is the same, in one call and in steps (the chunk copies' scratch past out
 * is still cleared); over memory that is not zero the skipped part of a long run shows, which
 * proves that it was skipped.
 */
Test(lz4dec, zero_runs_skipped_over_zeroed_output)
{
    static const size_t step_sizes[] = {0, 7, 64, 4096};
    size_t len = 1 << 20;
    uint8_t *src = sample(MIXED, len, 42);

    memset(src + 1000, 0, 70000);
    memset(src + 300000, 0, 5000);
    memset(src + len - 9000, 0, 8000);
    for (int hc = 0; hc < 2; hc++) {
        size_t clen;
        uint8_t *c = compress(src, len, hc, &clen), *out;

        for (size_t i = 0; i < sizeof(step_sizes) / sizeof(step_sizes[0]); i++) {
            out = calloc(1, len);
            cr_assert(out);
            decode_zeroed(c, clen, out, len, step_sizes[i]);
            cr_assert(memcmp(out, src, len) == 0, "hc %d step %zu", hc, step_sizes[i]);
            free(out);
        }
        out = xmalloc(len);
        memset(out, 0xaa, len);
        decode_zeroed(c, clen, out, len, 0);
        cr_assert_eq(out[1000 + 60000], 0xaa, "a long zero run was written, not skipped");
        cr_assert(memcmp(out, src, 1000 + 32) == 0, "the run's first bytes are written");
        free(out);
        free(c);
    }
    free(src);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The real kernel's lz4 frames (boot.rst payload fields) decode as liblz4 decodes them. */
Test(lz4dec, real_kernel_payload)
{
    const char *path = getenv("MINIVMM_KERNEL") ? getenv("MINIVMM_KERNEL") : KERNEL;
    FILE *f = fopen(path, "rb");
    uint8_t *img, *out, *ref;
    size_t len, pm, off, plen, pos, frames = 0;

    if (!f) {
        cr_log_info("%s absent: real payload not checked", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    img = xmalloc(len);
    cr_assert_eq(fread(img, 1, len, f), len);
    fclose(f);
    pm = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
    off = le32(img + 0x248);
    plen = le32(img + 0x24c);
    cr_assert_leq(pm + off + plen, len);
    const uint8_t *p = img + pm + off;
    cr_assert_eq(le32(p), 0x184c2102u, "payload is not lz4 legacy");
    out = xmalloc(BLOCK);
    ref = xmalloc(BLOCK);
    for (pos = 4; pos < plen - 4; frames++) {
        uint32_t n = le32(p + pos);
        uint8_t *blk = dup(p + pos + 4, n);
        int want = LZ4_decompress_safe((const char *)blk, (char *)ref, (int)n, BLOCK);

        size_t done;

        cr_assert_gt(want, 0);
        cr_assert_eq(decode(blk, n, out, BLOCK, 0, 0, ref, (size_t)want, &done), 0);
        cr_assert_eq(done, (size_t)want);
        cr_assert_eq(decode(blk, n, out, BLOCK, -(1 << 16), frames, ref, (size_t)want, &done), 0);
        cr_assert_eq(done, (size_t)want);
        pos += 4 + n;
        free(blk);
    }
    cr_log_info("%zu lz4 frames decoded as liblz4 does", frames);
    cr_assert_gt(frames, 0);
    free(img);
    free(out);
    free(ref);
}
