/*
 * The kernel inside a bzImage: its payload (boot.rst: payload_offset/payload_length) is
 * the vmlinux ELF, compressed or not. Unpacking it on the host lets minivmm enter the
 * kernel through its PVH note instead of running the bzImage's decompressor in the guest,
 * which PVM emulates instruction by instruction (seconds of a boot there). An lz4 payload
 * is decoded in steps, so the loader can read its headers first and stream the rest.
 */
#ifndef MINIVMM_BZPAYLOAD_H
#define MINIVMM_BZPAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "bzimage.h"
#include "kload.h"
#include "log.h"

/* Largest kernel minivmm unpacks (the vmlinux of a distribution kernel is ~60 MiB). */
#define BZPAYLOAD_MAX_SIZE (256u << 20)

struct bzpayload;

/* The payload's format, from its first bytes ("unknown" when none matches). */
const char *bzpayload_format(const struct bzimage *bz);

/*
 * Opens the payload. An uncompressed ELF is read in place (bz's bytes must outlive it); lz4
 * (the kernel's legacy frames, with the uncompressed size appended) gets a buffer of that
 * size and its first frame located, nothing decoded yet: the other frames are found (and
 * checked) as decoding reaches them, so a damaged one is reported then.
 * -ENOTSUP for any other compression or a header that does not place the payload (the
 * guest's own decompressor can still run it),
 * -EINVAL (logged, prefixed with name) for a payload that lies about its sizes or is corrupt.
 */
MUST_CHECK int bzpayload_open(const struct bzimage *bz, const char *name, struct bzpayload **out);

/* The vmlinux: len bytes, of which only what bzpayload_need made ready may be read yet. */
const uint8_t *bzpayload_vmlinux(const struct bzpayload *p, size_t *len);

/* Decodes, now, whatever [off, off + len) still lacks (clamped to the vmlinux). -EINVAL. */
MUST_CHECK int bzpayload_need(struct bzpayload *p, size_t off, size_t len);

/* Hands p to a load plan: the plan decodes the rest as it streams, then frees p. */
void bzpayload_to_producer(struct bzpayload *p, struct kload_producer *out);

/* Frees p (accepts NULL): only for a p not handed to a plan. */
void bzpayload_close(struct bzpayload *p);

#endif
