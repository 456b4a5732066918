/*
 * Unit tests for vmm/boot/bzpayload.c: synthetic bzImages whose payload is an ELF, lz4
 * legacy frames (made here with liblz4, as the kernel build makes them with lz4 -l) or
 * another compression; corrupt frames, lying sizes and misplaced payloads are refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "bzpayload.h"
#include "fixture.h"

#define BLOCK (8u << 20)

/* Payload bytes compressible but not trivially: a pattern with a slow drift. */
static uint8_t *kernel_bytes(size_t len)
{
    uint8_t *b = malloc(len);

    cr_assert(b);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)((i % 251) ^ (i >> 13));
    memcpy(b, "\x7f" "ELF", 4);
    return b;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* lz4 -l: magic, then [le32 size][block] per 8 MiB, then the kernel build's size_append. */
static uint8_t *lz4_legacy(const uint8_t *src, size_t len, size_t *out_len)
{
    size_t cap = 8 + len + len / 200 + 64 * (len / BLOCK + 1), pos = 4;
    uint8_t *out = malloc(cap);

    cr_assert(out);
    put_le32(out, 0x184c2102);
    for (size_t done = 0; done < len;) {
        size_t n = len - done < BLOCK ? len - done : BLOCK;
        int c = LZ4_compress_default((const char *)src + done, (char *)out + pos + 4, (int)n,
                                     (int)(cap - pos - 8));
        cr_assert_gt(c, 0);
        put_le32(out + pos, (uint32_t)c);
        pos += 4 + (size_t)c;
        done += n;
    }
    put_le32(out + pos, (uint32_t)len);
    *out_len = pos + 4;
    return out;
}

/* A bzImage whose protected-mode kernel is `pad` bytes then the payload. */
static uint8_t *bz_with_payload(const uint8_t *payload, size_t len, size_t pad,
                                struct bzimage *bz, size_t *img_len)
{
    struct fixture_bz o = fixture_bz_default();
    size_t setup = ((size_t)(o.setup_sects ? o.setup_sects : 4) + 1) * 512;
    uint8_t *img;

    o.syssize = (uint32_t)((pad + len + 15) / 16);
    img = fixture_bz_build(&o, img_len, 0);
    memcpy(img + setup + pad, payload, len);
    put_le32(img + 0x248, (uint32_t)pad);
    put_le32(img + 0x24c, (uint32_t)len);
    cr_assert_eq(bzimage_parse(img, *img_len, "test.bz", bz), 0);
    return img;
}

/* bzpayload_open, everything decoded, and a copy the test owns. */
static int unpack(const struct bzimage *bz, const char *name, uint8_t **out, size_t *out_len)
{
    struct bzpayload *p;
    const uint8_t *v;
    size_t len;
    int ret = bzpayload_open(bz, name, &p);

    *out = NULL;
    *out_len = 0;
    if (ret < 0)
        return ret;
    v = bzpayload_vmlinux(p, &len);
    ret = bzpayload_need(p, 0, len);
    if (ret == 0) {
        *out = malloc(len);
        cr_assert(*out);
        memcpy(*out, v, len);
        *out_len = len;
    }
    bzpayload_close(p);
    return ret;
}

static void unpack_round_trip(size_t len)
{
    uint8_t *kernel = kernel_bytes(len), *out = NULL;
    size_t zlen, img_len, out_len = 0;
    uint8_t *z = lz4_legacy(kernel, len, &zlen);
    struct bzimage bz;
    uint8_t *img = bz_with_payload(z, zlen, 0x100, &bz, &img_len);

    cr_assert_str_eq(bzpayload_format(&bz), "lz4");
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), 0);
    cr_assert_eq(out_len, len);
    cr_assert_eq(memcmp(out, kernel, len), 0);
    free(out);
    free(img);
    free(z);
    free(kernel);
}

Test(bzpayload, lz4_one_frame)
{
    unpack_round_trip(300 * 1024);
}

Test(bzpayload, lz4_several_frames)
{
    unpack_round_trip(BLOCK * 2 + 12345);
}

Test(bzpayload, uncompressed_elf_is_copied)
{
    uint8_t *kernel = kernel_bytes(4096), *out = NULL;
    size_t img_len, out_len = 0;
    struct bzimage bz;
    uint8_t *img = bz_with_payload(kernel, 4096, 0, &bz, &img_len);

    cr_assert_str_eq(bzpayload_format(&bz), "ELF (uncompressed)");
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), 0);
    cr_assert_eq(out_len, 4096);
    cr_assert_eq(memcmp(out, kernel, 4096), 0);
    free(out);
    free(img);
    free(kernel);
}

/* Another compression, or no payload in the header: the guest's decompressor must do it. */
Test(bzpayload, other_formats_are_left_to_the_guest)
{
    static const uint8_t gz[16] = {0x1f, 0x8b, 8, 0};
    static const uint8_t xz[16] = {0xfd, '7', 'z', 'X', 'Z', 0};
    struct bzimage bz;
    uint8_t *out;
    size_t img_len, out_len;
    uint8_t *img = bz_with_payload(gz, sizeof(gz), 0, &bz, &img_len);

    cr_assert_str_eq(bzpayload_format(&bz), "gzip");
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), -ENOTSUP);
    free(img);
    img = bz_with_payload(xz, sizeof(xz), 0, &bz, &img_len);
    cr_assert_str_eq(bzpayload_format(&bz), "xz");
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), -ENOTSUP);
    bz.hdr.payload_length = 0;
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), -ENOTSUP);
    free(img);
}

static void expect_corrupt(uint8_t *z, size_t zlen, const char *why)
{
    struct bzimage bz;
    uint8_t *out = (uint8_t *)1;
    size_t img_len, out_len = 1;
    uint8_t *img = bz_with_payload(z, zlen, 0, &bz, &img_len);

    fixture_capture_begin();
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), -EINVAL, "%s", why);
    cr_assert(strstr(fixture_capture_end(), "test.bz:"), "the error names the image");
    cr_assert_null(out);
    cr_assert_eq(out_len, 0);
    free(img);
}

Test(bzpayload, corrupt_lz4_is_refused)
{
    size_t len = 100000, zlen;
    uint8_t *kernel = kernel_bytes(len);
    uint8_t *z = lz4_legacy(kernel, len, &zlen);

    put_le32(z + zlen - 4, (uint32_t)len + 1);
    expect_corrupt(z, zlen, "appended size larger than the data");
    put_le32(z + zlen - 4, 0);
    expect_corrupt(z, zlen, "appended size 0");
    put_le32(z + zlen - 4, (uint32_t)len);
    put_le32(z + 4, (uint32_t)zlen); /* frame longer than the payload */
    expect_corrupt(z, zlen, "frame past the end");
    free(z);
    z = lz4_legacy(kernel, len, &zlen);
    put_le32(z + 4, (uint32_t)(zlen - 12 - 10)); /* the block cut short by 10 bytes */
    expect_corrupt(z, zlen, "block cut short");
    put_le32(z + 4, (uint32_t)(zlen - 12));
    memset(z + 8, 0, zlen - 12); /* zeros decode to fewer bytes than the appended size */
    expect_corrupt(z, zlen, "zeroed block");
    expect_corrupt(z, 9, "shorter than one frame");
    free(z);
    free(kernel);
}

Test(bzpayload, payload_outside_the_kernel_is_refused)
{
    uint8_t *kernel = kernel_bytes(4096), *out;
    size_t img_len, out_len;
    struct bzimage bz;
    uint8_t *img = bz_with_payload(kernel, 4096, 0, &bz, &img_len);

    bz.hdr.payload_offset = (uint32_t)bz.kernel_len - 100;
    fixture_capture_begin();
    cr_assert_eq(unpack(&bz, "test.bz", &out, &out_len), -EINVAL);
    cr_assert(strstr(fixture_capture_end(), "outside the kernel"));
    free(img);
    free(kernel);
}

/*
 * The loader decodes the frame holding the vmlinux's notes before the frames before it, and
 * the plan's producer then decodes the rest in order: ready() only ever covers decoded bytes.
 */
Test(bzpayload, frames_decode_out_of_order)
{
    size_t len = BLOCK * 2 + 5000, zlen, img_len, vlen;
    uint8_t *kernel = kernel_bytes(len);
    uint8_t *z = lz4_legacy(kernel, len, &zlen);
    struct bzimage bz;
    uint8_t *img = bz_with_payload(z, zlen, 0x100, &bz, &img_len);
    struct bzpayload *p;
    struct kload_producer prod;
    const uint8_t *v;
    int ret;

    cr_assert_eq(bzpayload_open(&bz, "test.bz", &p), 0);
    v = bzpayload_vmlinux(p, &vlen);
    cr_assert_eq(vlen, len);
    cr_assert_eq(bzpayload_need(p, BLOCK + 100, 10), 0);
    cr_assert_eq(memcmp(v + BLOCK + 100, kernel + BLOCK + 100, 10), 0);
    bzpayload_to_producer(p, &prod);
    cr_assert_lt(prod.ready(prod.ctx, 0), BLOCK, "frame 1 decoded, frame 0 not");
    cr_assert_geq(prod.ready(prod.ctx, BLOCK), BLOCK + 110);
    while ((ret = prod.step(prod.ctx)) > 0)
        cr_assert_leq(prod.ready(prod.ctx, 0), len);
    cr_assert_eq(ret, 0);
    cr_assert_eq(prod.ready(prod.ctx, 0), len);
    cr_assert_eq(memcmp(v, kernel, len), 0);
    prod.release(prod.ctx);
    free(img);
    free(z);
    free(kernel);
}

/* Frame i's output starts at i * 8 MiB: a short frame before the last is refused, not misplaced. */
Test(bzpayload, short_frame_before_the_last_is_refused)
{
    size_t len = BLOCK + 1000, pos = 4;
    uint8_t *kernel = kernel_bytes(len);
    uint8_t *z = malloc(len + len / 100 + 1024);
    int c;

    cr_assert(z);
    put_le32(z, 0x184c2102);
    /* Frame 0 holds 1000 bytes, frame 1 the 8 MiB: the same bytes, framed as lz4 -l never does. */
    c = LZ4_compress_default((const char *)kernel, (char *)z + pos + 4, 1000, (int)len);
    put_le32(z + pos, (uint32_t)c);
    pos += 4 + (size_t)c;
    c = LZ4_compress_default((const char *)kernel + 1000, (char *)z + pos + 4, BLOCK, (int)len);
    put_le32(z + pos, (uint32_t)c);
    pos += 4 + (size_t)c;
    put_le32(z + pos, (uint32_t)len);
    expect_corrupt(z, pos + 4, "short first frame");
    free(z);
    free(kernel);
}

/*
 * Frames are located as decoding reaches them: a damaged second frame header does not stop
 * the open (the loader reads only the first frame before the guest starts), it stops the
 * decoding of that frame, with the reason, every time it is asked.
 */
Test(bzpayload, later_frames_are_located_as_decoding_reaches_them)
{
    size_t len = BLOCK + 5000, zlen, img_len, vlen;
    uint8_t *kernel = kernel_bytes(len);
    uint8_t *z = lz4_legacy(kernel, len, &zlen);
    struct bzimage bz;
    struct bzpayload *p;
    uint32_t first;

    memcpy(&first, z + 4, 4);
    put_le32(z + 8 + first, (uint32_t)zlen); /* frame 1 claims more than the payload holds */
    uint8_t *img = bz_with_payload(z, zlen, 0x100, &bz, &img_len);
    cr_assert_eq(bzpayload_open(&bz, "test.bz", &p), 0);
    bzpayload_vmlinux(p, &vlen);
    cr_assert_eq(bzpayload_need(p, 0, 100), 0, "frame 0 decodes");
    fixture_capture_begin();
    cr_assert_eq(bzpayload_need(p, BLOCK, 100), -EINVAL);
    cr_assert(strstr(fixture_capture_end(), "test.bz: corrupt lz4 payload: bad frame"));
    fixture_capture_begin();
    cr_assert_eq(bzpayload_need(p, 0, vlen), -EINVAL, "the error sticks");
    (void)fixture_capture_end();
    bzpayload_close(p);
    free(img);
    free(z);
    free(kernel);
}
