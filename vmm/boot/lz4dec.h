/*
 * A resumable LZ4 block decoder: decodes one block (the LZ4 block format: sequences of token,
 * literals, 2-byte offset, match) a few sequences at a time, so a loader can stream a kernel
 * into guest RAM while the guest already runs. The block is hostile input.
 */
#ifndef MINIVMM_LZ4DEC_H
#define MINIVMM_LZ4DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/*
 * One LZ4 block being decoded into out[0, out_cap). Between calls the state is only these
 * pointers, always at a sequence boundary: the caller may read them but not move them.
 */
struct lz4dec {
    const uint8_t *in, *in_end;         /* compressed bytes not yet consumed */
    uint8_t *out_start, *out, *out_end; /* out: next byte to write */
    /*
     * Set by the caller when [out_start, out_end) reads as zeros until written (fresh
     * anonymous memory): runs of zeros are then not written, and their pages never
     * faulted in. Most of a vmlinux is such runs (2 MiB before .text alone).
     */
    bool out_zeroed;
};

/* in and out must not overlap. An empty input is an empty block (it decodes to nothing).
 * out_zeroed starts false. */
void lz4dec_init(struct lz4dec *d, const void *in, size_t in_len, void *out, size_t out_cap);

/*
 * Decodes whole sequences until at least `until` bytes are out (out - out_start >= until) or the
 * block ends. Returns 1 when the block has more to decode, 0 when it ended (every input byte
 * consumed, the last sequence being literals only), -EINVAL when the input is corrupt: a length
 * running past the input or the output, a match offset of 0 or reaching before out_start, a block
 * that ends inside a sequence. Hostile input never makes it read outside [in, in_end) or write
 * outside [out_start, out_end).
 *
 * Bytes before out are final once it returns. It may also have written bytes in [out, out_end),
 * never past out_end: chunk copies run up to 20 bytes ahead of out where there is room, and
 * sequences decoded before an error stay there. Those bytes are scratch until decoded again.
 * After -EINVAL the state is where the failed call found it, so calling again fails again;
 * after 0, it returns 0.
 */
MUST_CHECK int lz4dec_run(struct lz4dec *d, size_t until);

static inline size_t lz4dec_done(const struct lz4dec *d)
{
    return (size_t)(d->out - d->out_start);
}

#endif
