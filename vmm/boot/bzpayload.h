/*
 * The kernel inside a bzImage: its payload (boot.rst: payload_offset/payload_length) is
 * the vmlinux ELF, compressed or not. Unpacking it on the host lets minivmm enter the
 * kernel through its PVH note instead of running the bzImage's decompressor in the guest,
 * which PVM emulates instruction by instruction (seconds of a boot there).
 */
#ifndef MINIVMM_BZPAYLOAD_H
#define MINIVMM_BZPAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "bzimage.h"
#include "log.h"

/* Largest kernel minivmm unpacks (the vmlinux of a distribution kernel is ~60 MiB). */
#define BZPAYLOAD_MAX_SIZE (256u << 20)

/* The payload's format, from its first bytes ("unknown" when none matches). */
const char *bzpayload_format(const struct bzimage *bz);

/*
 * Unpacks the payload into a malloc'ed buffer (free() it): an uncompressed ELF is copied,
 * LZ4 (the kernel's legacy frames, with the uncompressed size appended) is decompressed.
 * -ENOTSUP for any other compression or a header that does not place the payload (the
 * guest's own decompressor can still run it),
 * -EINVAL (logged, prefixed with name) for a payload that lies about its sizes or is corrupt.
 */
MUST_CHECK int bzpayload_unpack(const struct bzimage *bz, const char *name, uint8_t **out,
                                size_t *out_len);

#endif
