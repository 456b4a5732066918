/*
 * Unpacking a bzImage's payload on the host. The payload is hostile input like the rest of
 * the image: its place is checked against the protected-mode kernel, every LZ4 frame
 * against the payload, and each frame's output against the size the kernel build appended.
 */
#include "bzpayload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lz4dec.h"

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* lz4 -l: every frame but the last holds 8 MiB */
/* lz4.h LZ4_COMPRESSBOUND(8 MiB): no valid frame is larger. */
#define LZ4_LEGACY_FRAME_MAX (LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK / 255 + 16)
/* Output decoded per producer step, between two looks at what can be streamed. */
#define BZPAYLOAD_STEP (256u << 10)

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

struct bzpayload_frame {
    struct lz4dec dec; /* its input is the frame's block, its output its part of the vmlinux */
    size_t size;       /* bytes it must decode to */
};

struct bzpayload {
    const char *name;
    const uint8_t *vmlinux;
    size_t len;
    uint8_t *buf;     /* lz4: the decode buffer (vmlinux), anonymous memory; NULL: in place */
    const uint8_t *z; /* lz4: the payload; frames [4, zend), the next to locate at zpos */
    size_t zpos, zend;
    unsigned int nframes, located, next; /* next: first frame not fully decoded */
    int error;                           /* sticky: a frame that cannot be located */
    struct bzpayload_frame frames[];
};

static int bzpayload_corrupt(const char *name, const char *why)
{
    log_err("%s: corrupt lz4 payload: %s", name, why);
    return -EINVAL;
}

/* The next frame's size word, past any magic (another stream may start); 0 at the end. */
static uint32_t bzpayload_next_word(struct bzpayload *p)
{
    uint32_t n = LZ4_LEGACY_MAGIC;

    while (n == LZ4_LEGACY_MAGIC && p->zend - p->zpos >= 4) {
        n = le32(p->z + p->zpos);
        p->zpos += 4;
    }
    return n == LZ4_LEGACY_MAGIC ? 0 : n;
}

/*
 * Finds the frames up to i. A frame's place is only known from the one before, so they
 * are walked in order, and only as far as decoding needs: the loader reads the first
 * frame's headers before the guest starts, the rest of the payload as it streams.
 */
static int bzpayload_locate(struct bzpayload *p, unsigned int i)
{
    while (p->error == 0 && p->located <= i && p->located < p->nframes) {
        struct bzpayload_frame *f = &p->frames[p->located];
        uint32_t n = bzpayload_next_word(p);

        if (n == 0)
            p->error = bzpayload_corrupt(p->name, "fewer frames than the size appended needs");
        else if (n > p->zend - p->zpos || n > LZ4_LEGACY_FRAME_MAX)
            p->error = bzpayload_corrupt(p->name, "bad frame");
        if (p->error)
            break;
        lz4dec_init(&f->dec, p->z + p->zpos, n, p->buf + (size_t)p->located * LZ4_LEGACY_BLOCK,
                    f->size);
        f->dec.out_zeroed = true; /* fresh anonymous memory */
        p->zpos += n;
        if (++p->located == p->nframes && bzpayload_next_word(p) != 0)
            p->error = bzpayload_corrupt(p->name, "bad frame");
    }
    return p->error;
}

/*
 * lz4 -l output followed by the uncompressed size (scripts/Makefile.lib, size_append):
 * magic, then frames of [le32 compressed size][block]; another magic may start a new
 * stream. Each block decodes on its own (legacy frames have no cross-block matches), and
 * every one but the last to exactly 8 MiB: frame i's output starts at i * 8 MiB.
 */
static int bzpayload_lz4(const uint8_t *z, size_t zlen, const char *name, struct bzpayload **out)
{
    size_t total, nframes;
    struct bzpayload *p;

    if (zlen < 12)
        return bzpayload_corrupt(name, "shorter than one frame");
    total = le32(z + zlen - 4);
    if (total == 0 || total > BZPAYLOAD_MAX_SIZE)
        return bzpayload_corrupt(name, "implausible uncompressed size");
    nframes = (total + LZ4_LEGACY_BLOCK - 1) / LZ4_LEGACY_BLOCK;
    p = calloc(1, sizeof(*p) + nframes * sizeof(p->frames[0]));
    if (!p)
        return -ENOMEM;
    p->name = name;
    p->len = total;
    p->z = z;
    p->zpos = 4;
    p->zend = zlen - 4;
    p->nframes = (unsigned int)nframes;
    for (size_t i = 0; i < nframes; i++)
        p->frames[i].size = total - i * LZ4_LEGACY_BLOCK < LZ4_LEGACY_BLOCK
                                ? total - i * LZ4_LEGACY_BLOCK
                                : LZ4_LEGACY_BLOCK;
    p->buf = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->buf == MAP_FAILED) {
        free(p);
        return -ENOMEM;
    }
    p->vmlinux = p->buf;
    if (bzpayload_locate(p, 0) < 0) {
        bzpayload_close(p);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

/* Decodes frame i until at least `until` of its bytes are out. */
static int bzpayload_decode(struct bzpayload *p, unsigned int i, size_t until)
{
    struct bzpayload_frame *f = &p->frames[i];
    char why[96];
    int ret;

    ret = bzpayload_locate(p, i);
    if (ret < 0)
        return ret;
    if (lz4dec_done(&f->dec) >= until && until < f->size)
        return 0;
    ret = lz4dec_run(&f->dec, until);
    if (ret == 0 && lz4dec_done(&f->dec) != f->size)
        ret = -EINVAL;
    if (ret >= 0)
        return 0;
    snprintf(why, sizeof(why), "frame %u of %u does not decode to the %zu bytes the sizes say",
             i + 1, p->nframes, f->size);
    return bzpayload_corrupt(p->name, why);
}

int bzpayload_need(struct bzpayload *p, size_t off, size_t len)
{
    size_t end = len > p->len || off > p->len - len ? p->len : off + len;
    int ret = 0;

    for (size_t i = off / LZ4_LEGACY_BLOCK; p->buf && i < p->nframes && ret == 0; i++) {
        size_t start = i * LZ4_LEGACY_BLOCK;

        if (start >= end)
            break;
        ret = bzpayload_decode(p, (unsigned int)i, end - start);
    }
    return ret;
}

/* Producer step: the next BZPAYLOAD_STEP bytes of the first frame not fully decoded. */
static int bzpayload_step(void *ctx)
{
    struct bzpayload *p = ctx;
    struct bzpayload_frame *f;
    int ret;

    while (p->next < p->nframes && lz4dec_done(&p->frames[p->next].dec) == p->frames[p->next].size)
        p->next++;
    if (p->next == p->nframes)
        return 0;
    f = &p->frames[p->next];
    ret = bzpayload_decode(p, p->next, lz4dec_done(&f->dec) + BZPAYLOAD_STEP);
    return ret < 0 ? ret : 1;
}

/* End of the decoded run starting at from: frames are contiguous in the vmlinux. */
static size_t bzpayload_ready(void *ctx, size_t from)
{
    const struct bzpayload *p = ctx;

    for (size_t i = from / LZ4_LEGACY_BLOCK; i < p->nframes; i++) {
        const struct bzpayload_frame *f = &p->frames[i];

        if (lz4dec_done(&f->dec) < f->size)
            return i * LZ4_LEGACY_BLOCK + lz4dec_done(&f->dec);
    }
    return p->len;
}

static void bzpayload_release(void *ctx)
{
    bzpayload_close(ctx);
}

void bzpayload_to_producer(struct bzpayload *p, struct kload_producer *out)
{
    *out = (struct kload_producer){
        .buf = p->vmlinux,
        .len = p->len,
        .ctx = p,
        .step = p->buf ? bzpayload_step : NULL,
        .ready = bzpayload_ready,
        .release = bzpayload_release,
    };
}

const uint8_t *bzpayload_vmlinux(const struct bzpayload *p, size_t *len)
{
    *len = p->len;
    return p->vmlinux;
}

void bzpayload_close(struct bzpayload *p)
{
    if (!p)
        return;
    if (p->buf)
        munmap(p->buf, p->len);
    free(p);
}

int bzpayload_open(const struct bzimage *bz, const char *name, struct bzpayload **out)
{
    size_t len, i = bzpayload_match(bz);
    const uint8_t *z = bzpayload_bytes(bz, &len);
    enum bzpayload_kind kind = i < BZPAYLOAD_NMAGICS ? bzpayload_magics[i].kind : BZPAYLOAD_OTHER;
    struct bzpayload *p;

    *out = NULL;
    if (bz->hdr.payload_length == 0)
        return -ENOTSUP; /* the header does not say where the payload is */
    if (!z) {
        log_err("%s: header places the payload outside the kernel", name);
        return -EINVAL;
    }
    if (kind == BZPAYLOAD_LZ4)
        return bzpayload_lz4(z, len, name, out);
    if (kind != BZPAYLOAD_ELF)
        return -ENOTSUP;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->name = name;
    p->vmlinux = z;
    p->len = len;
    *out = p;
    return 0;
}
