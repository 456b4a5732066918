/*
 * LZ4 block decoding in resumable steps (lz4_Block_format.md). Every length and offset is
 * checked against the input and the output before a byte moves; copies go in 16- or 8-byte
 * chunks while both buffers have room for the overshoot, exactly near their ends.
 */
#include "lz4dec.h"

#include <errno.h>
#include <string.h>

/* lz4_Block_format.md: a match is at least 4 bytes long (minmatch), its length field adds to it. */
#define LZ4DEC_MINMATCH 4
/* A length nibble of 15 means more length bytes follow; each 255 means yet another. */
#define LZ4DEC_LEN_MORE 15
#define LZ4DEC_CHUNK    16
/* Room (input and output) past which a sequence needs no end checks for its chunk copies. */
#define LZ4DEC_FAR 32
/* Matches up to this long copy in chunks; longer ones call libc. */
#define LZ4DEC_SHORT 64
/* A repeated pattern copies in pieces of up to this many bytes (a cache-hot source). */
#define LZ4DEC_SLIDE 4096
/* Chunk copies write at most 20 bytes past out: what a skipped zero run still clears. */
#define LZ4DEC_SCRATCH 32

void lz4dec_init(struct lz4dec *d, const void *in, size_t in_len, void *out, size_t out_cap)
{
    d->in = in;
    d->in_end = d->in + in_len;
    d->out_start = out;
    d->out = out;
    d->out_end = d->out_start + out_cap;
    d->out_zeroed = false;
}

/*
 * Adds the length bytes after a nibble of 15 to *len. They run until one below 255; the sum
 * is refused once it passes max (the room left), which also keeps it from overflowing.
 */
static int lz4dec_len(const uint8_t **ip, const uint8_t *iend, size_t *len, size_t max)
{
    uint8_t b;

    do {
        if (*ip == iend)
            return -EINVAL;
        b = *(*ip)++;
        *len += b;
        if (*len > max)
            return -EINVAL;
    } while (b == 255);
    return 0;
}

/*
 * Copies a match of len bytes from off bytes back (1 <= off <= op - out_start, len <= oend - op).
 * A chunk copy is exact only when off is at least the chunk size: every byte it reads is then
 * already out. Long matches go to libc, which copies faster than any loop here.
 */
static inline void lz4dec_match(uint8_t *op, size_t off, size_t len, const uint8_t *oend,
                                bool zeroed)
{
    const uint8_t *m = op - off;
    uint8_t *end = op + len;

    if (len <= LZ4DEC_SHORT && (size_t)(oend - end) >= LZ4DEC_CHUNK - 1) {
        if (off >= 16) {
            for (; op < end; op += 16, m += 16)
                memcpy(op, m, 16);
            return;
        }
        if (off >= 8) {
            for (; op < end; op += 8, m += 8)
                memcpy(op, m, 8);
            return;
        }
    }
    /* Runs of one byte are most of a kernel's bytes (its zero-filled sections). */
    if (off == 1) {
        if (*m == 0 && zeroed && len > LZ4DEC_SCRATCH)
            len = LZ4DEC_SCRATCH; /* the rest already reads as zeros */
        memset(op, *m, len);
        return;
    }
    /*
     * A pattern (or a match near the end): pieces as long as op - m, a multiple of the period,
     * doubling it while short, then sliding at that distance so the source stays in cache.
     */
    while (op < end) {
        size_t dist = (size_t)(op - m), n = dist < (size_t)(end - op) ? dist : (size_t)(end - op);

        memcpy(op, m, n);
        op += n;
        if (dist >= LZ4DEC_SLIDE)
            m += n;
    }
}

int lz4dec_run(struct lz4dec *d, size_t until)
{
    const uint8_t *ip = d->in, *const iend = d->in_end;
    uint8_t *op = d->out, *const ostart = d->out_start, *const oend = d->out_end;

    /* Only the last sequence ends the input (after its literals): nothing left means done. */
    if (ip == iend)
        return 0;
    while ((size_t)(op - ostart) < until) {
        unsigned token = *ip++;
        size_t lit = token >> 4, ml = token & 15, off;

        if (lit < LZ4DEC_LEN_MORE && iend - ip >= LZ4DEC_FAR && oend - op >= LZ4DEC_FAR) {
            /* Far from both ends: one chunk holds the literals, the offset follows them. */
            memcpy(op, ip, LZ4DEC_CHUNK);
            ip += lit;
            op += lit;
        } else {
            if (lit == LZ4DEC_LEN_MORE && lz4dec_len(&ip, iend, &lit, (size_t)(oend - op)) < 0)
                return -EINVAL;
            if (lit > (size_t)(iend - ip) || lit > (size_t)(oend - op))
                return -EINVAL;
            memcpy(op, ip, lit);
            ip += lit;
            op += lit;
            /* lz4_Block_format.md: the last sequence is literals only, and it ends the block. */
            if (ip == iend) {
                d->in = ip;
                d->out = op;
                return 0;
            }
            if (iend - ip < 2)
                return -EINVAL;
        }
        off = (size_t)ip[0] | (size_t)ip[1] << 8; /* little endian */
        ip += 2;
        /* Offset 0 is invalid; a block has no dictionary, so nothing before out_start. */
        if (off == 0 || off > (size_t)(op - ostart))
            return -EINVAL;
        if (ml < LZ4DEC_LEN_MORE && off >= 8 && oend - op >= LZ4DEC_FAR) {
            /* The common short match (at most 18 bytes): three chunks of 8, no loop. */
            memcpy(op, op - off, 8);
            memcpy(op + 8, op - off + 8, 8);
            memcpy(op + 16, op - off + 16, 8);
            op += ml + LZ4DEC_MINMATCH;
        } else {
            if (ml == LZ4DEC_LEN_MORE && lz4dec_len(&ip, iend, &ml, (size_t)(oend - op)) < 0)
                return -EINVAL;
            ml += LZ4DEC_MINMATCH;
            if (ml > (size_t)(oend - op))
                return -EINVAL;
            lz4dec_match(op, off, ml, oend, d->out_zeroed);
            op += ml;
        }
        if (ip == iend)
            return -EINVAL; /* ended on a match: the literals-only last sequence is missing */
    }
    d->in = ip;
    d->out = op;
    return 1;
}
