/*
 * Unpacking a bzImage's payload on the host. The payload is hostile input like the rest of
 * the image: its place is checked against the protected-mode kernel, every LZ4 frame
 * against the payload, and the output against the size the kernel build appended.
 */
#include "bzpayload.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* lz4 -l: every frame but the last holds 8 MiB */

/* What the host can unpack; everything else is left to the guest's decompressor. */
enum bzpayload_kind { BZPAYLOAD_OTHER, BZPAYLOAD_ELF, BZPAYLOAD_LZ4 };

static const struct {
    const char *name;
    enum bzpayload_kind kind;
    uint8_t magic[6];
    size_t len;
} bzpayload_magics[] = {
    {"ELF (uncompressed)", BZPAYLOAD_ELF, {0x7f, 'E', 'L', 'F'}, 4},
    {"lz4", BZPAYLOAD_LZ4, {0x02, 0x21, 0x4c, 0x18}, 4},
    {"gzip", BZPAYLOAD_OTHER, {0x1f, 0x8b}, 2},
    {"xz", BZPAYLOAD_OTHER, {0xfd, '7', 'z', 'X', 'Z', 0x00}, 6},
    {"zstd", BZPAYLOAD_OTHER, {0x28, 0xb5, 0x2f, 0xfd}, 4},
    {"lzo", BZPAYLOAD_OTHER, {0x89, 'L', 'Z', 'O'}, 4},
    {"bzip2", BZPAYLOAD_OTHER, {'B', 'Z', 'h'}, 3},
    {"lzma", BZPAYLOAD_OTHER, {0x5d, 0x00, 0x00}, 3},
};
#define BZPAYLOAD_NMAGICS (sizeof(bzpayload_magics) / sizeof(bzpayload_magics[0]))

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The payload's bytes, or NULL when the header places it outside the kernel. */
static const uint8_t *bzpayload_bytes(const struct bzimage *bz, size_t *len)
{
    uint64_t off = bz->hdr.payload_offset, n = bz->hdr.payload_length;

    if (n == 0 || off > bz->kernel_len || n > bz->kernel_len - off)
        return NULL;
    *len = (size_t)n;
    return bz->kernel + off;
}

/* Index in bzpayload_magics of the payload's format, or BZPAYLOAD_NMAGICS. */
static size_t bzpayload_match(const struct bzimage *bz)
{
    size_t len, i;
    const uint8_t *p = bzpayload_bytes(bz, &len);

    for (i = 0; p && i < BZPAYLOAD_NMAGICS; i++) {
        if (len >= bzpayload_magics[i].len &&
            memcmp(p, bzpayload_magics[i].magic, bzpayload_magics[i].len) == 0)
            return i;
    }
    return BZPAYLOAD_NMAGICS;
}

const char *bzpayload_format(const struct bzimage *bz)
{
    size_t i = bzpayload_match(bz);

    return i < BZPAYLOAD_NMAGICS ? bzpayload_magics[i].name : "unknown";
}

/* Faults a fresh buffer in with one call instead of one page fault per 4 KiB written. */
static void bzpayload_populate(void *buf, size_t len)
{
    uintptr_t start = ((uintptr_t)buf + 4095) & ~(uintptr_t)4095;
    uintptr_t end = ((uintptr_t)buf + len) & ~(uintptr_t)4095;

    if (end > start)
        (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

static int bzpayload_corrupt(const char *name, const char *why)
{
    log_err("%s: corrupt lz4 payload: %s", name, why);
    return -EINVAL;
}

/*
 * lz4 -l output followed by the uncompressed size (scripts/Makefile.lib, size_append):
 * magic, then frames of [le32 compressed size][block]; another magic may start a new
 * stream. Each block decompresses on its own (legacy frames have no cross-block matches).
 */
static int bzpayload_lz4(const uint8_t *p, size_t len, const char *name, uint8_t **out,
                         size_t *out_len)
{
    size_t pos = 4, end, done = 0, total;
    uint8_t *buf;

    if (len < 12)
        return bzpayload_corrupt(name, "shorter than one frame");
    end = len - 4;
    total = le32(p + end);
    if (total == 0 || total > BZPAYLOAD_MAX_SIZE)
        return bzpayload_corrupt(name, "implausible uncompressed size");
    buf = malloc(total);
    if (!buf)
        return -ENOMEM;
    bzpayload_populate(buf, total);
    while (pos < end && done < total) {
        uint32_t n;
        size_t room = total - done < LZ4_LEGACY_BLOCK ? total - done : LZ4_LEGACY_BLOCK;
        int got;

        if (end - pos < 4)
            goto corrupt;
        n = le32(p + pos);
        pos += 4;
        if (n == LZ4_LEGACY_MAGIC)
            continue;
        if (n == 0 || n > end - pos || n > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
            goto corrupt;
        got = LZ4_decompress_safe((const char *)p + pos, (char *)buf + done, (int)n, (int)room);
        if (got <= 0)
            goto corrupt;
        done += (size_t)got;
        pos += n;
    }
    if (done != total) {
        free(buf);
        return bzpayload_corrupt(name, "decompressed size differs from the size appended");
    }
    *out = buf;
    *out_len = total;
    return 0;
corrupt:
    free(buf);
    return bzpayload_corrupt(name, "bad frame");
}

int bzpayload_unpack(const struct bzimage *bz, const char *name, uint8_t **out, size_t *out_len)
{
    size_t len, i = bzpayload_match(bz);
    const uint8_t *p = bzpayload_bytes(bz, &len);
    enum bzpayload_kind kind = i < BZPAYLOAD_NMAGICS ? bzpayload_magics[i].kind : BZPAYLOAD_OTHER;

    *out = NULL;
    *out_len = 0;
    if (bz->hdr.payload_length == 0)
        return -ENOTSUP; /* the header does not say where the payload is */
    if (!p) {
        log_err("%s: header places the payload outside the kernel", name);
        return -EINVAL;
    }
    if (kind == BZPAYLOAD_LZ4)
        return bzpayload_lz4(p, len, name, out, out_len);
    if (kind != BZPAYLOAD_ELF)
        return -ENOTSUP;
    *out = malloc(len);
    if (!*out)
        return -ENOMEM;
    memcpy(*out, p, len);
    *out_len = len;
    return 0;
}
