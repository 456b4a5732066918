/*
 * Unit tests for vmm/migrate_stream.c: CRC-32C, a written stream read back, and every way
 * a stream can be refused: newer version, bad magic, corrupted header, section header or
 * payload, unknown section type, oversized section, truncation at every byte. Also the
 * record lists and RAM batch parsing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migrate_stream.h"

/* A stream in a memfd: written, then read back from offset 0. */
static int stream_fd(void)
{
    int fd = memfd_create("stream", MFD_CLOEXEC);
    cr_assert(fd >= 0);
    return fd;
}

static size_t write_sample(int fd)
{
    struct mstream s;
    uint8_t big[10000];
    char small[] = "hello";
    struct iovec two[2] = {{small, 5}, {big, sizeof(big)}};

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_header(&s), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_CONFIG, 0, two, 1), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_CPU, 3, two, 2), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_END, 0, NULL, 0), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    size_t n = s.bytes;
    mstream_fini(&s);
    return n;
}

/* Reads the whole stream; returns 0 or the first error, with its reason in why. */
static int read_all(int fd, char *why, size_t whylen, unsigned int *sections)
{
    struct mstream s;
    struct mstream_section sec;
    const uint8_t *p;
    int ret;

    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&s, fd), 0);
    *sections = 0;
    ret = mstream_read_header(&s);
    while (ret == 0) {
        ret = mstream_read_section(&s, &sec, &p);
        if (ret == 0 && ++*sections && sec.type == MSTREAM_END)
            break;
    }
    snprintf(why, whylen, "%s", ret ? mstream_error(&s) : "");
    mstream_fini(&s);
    return ret;
}

static void poke(int fd, off_t off, uint8_t xor)
{
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, off), 1);
    b ^= xor;
    cr_assert_eq(pwrite(fd, &b, 1, off), 1);
}

Test(migrate_stream, crc32c_known_value)
{
    cr_assert_eq(mstream_crc32c(0, "123456789", 9), 0xE3069283u);
    /* Chained calls equal one call over the concatenation. */
    cr_assert_eq(mstream_crc32c(mstream_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    cr_assert_eq(mstream_crc32c(0, "", 0), 0);
}

Test(migrate_stream, round_trip)
{
    int fd = stream_fd();
    size_t n = write_sample(fd);
    struct mstream s;
    struct mstream_section sec;
    const uint8_t *p;

    cr_assert_eq(n, MSTREAM_HEADER_SIZE + 3 * MSTREAM_SECTION_HDR + 5 + 5 + 10000);
    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_read_header(&s), 0);
    cr_assert_eq(mstream_read_section(&s, &sec, &p), 0);
    cr_assert_eq(sec.type, MSTREAM_CONFIG);
    cr_assert_eq(sec.length, 5);
    cr_assert_eq(memcmp(p, "hello", 5), 0);
    cr_assert_eq(mstream_read_section(&s, &sec, &p), 0);
    cr_assert_eq(sec.type, MSTREAM_CPU);
    cr_assert_eq(sec.id, 3);
    cr_assert_eq(sec.length, 10005);
    cr_assert_eq(p[5 + 9999], (uint8_t)(9999 * 7));
    cr_assert_eq(mstream_read_section(&s, &sec, &p), 0);
    cr_assert_eq(sec.type, MSTREAM_END);
    cr_assert_eq(s.bytes, n);
    mstream_fini(&s);
    close(fd);
}

Test(migrate_stream, newer_version_is_refused)
{
    int fd = stream_fd();
    uint8_t h[MSTREAM_HEADER_SIZE];
    uint32_t v = MSTREAM_VERSION + 1, crc;
    char why[256];
    unsigned int n;

    write_sample(fd);
    cr_assert_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    memcpy(h + 8, &v, 4);
    crc = mstream_crc32c(0, h, 28); /* a well-formed header of a future version */
    memcpy(h + 28, &crc, 4);
    cr_assert_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "stream version 2, this minivmm reads version 1"), "%s", why);
    close(fd);
}

Test(migrate_stream, bad_magic_and_corrupted_header)
{
    int fd = stream_fd();
    char why[256];
    unsigned int n;

    write_sample(fd);
    poke(fd, 0, 0x20);
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "bad magic"), "%s", why);
    poke(fd, 0, 0x20);
    poke(fd, 12, 0x01); /* flags: covered by the header CRC */
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "header is corrupted"), "%s", why);
    close(fd);
}

Test(migrate_stream, every_corrupted_byte_is_caught)
{
    int fd = stream_fd();
    size_t len = write_sample(fd);
    char why[256];
    unsigned int n;

    /* Flip one bit at a time everywhere: the stream must never read back as valid. */
    for (size_t off = 0; off < len; off += off < 200 ? 1 : 97) {
        poke(fd, (off_t)off, 0x10);
        cr_assert_neq(read_all(fd, why, sizeof(why), &n), 0, "byte %zu", off);
        poke(fd, (off_t)off, 0x10);
    }
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), 0);
    cr_assert_eq(n, 3);
    /* A payload byte: the section is named. */
    poke(fd, MSTREAM_HEADER_SIZE + 2 * MSTREAM_SECTION_HDR + 5 + 100, 0x01);
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "corrupted CPU section 3 (checksum mismatch)"), "%s", why);
    close(fd);
}

Test(migrate_stream, truncated_anywhere_is_refused)
{
    int fd = stream_fd();
    size_t len = write_sample(fd);
    uint8_t *all = malloc(len);
    char why[256];
    unsigned int n;

    cr_assert_eq(pread(fd, all, len, 0), (ssize_t)len);
    for (size_t cut = 0; cut < len; cut += cut < 300 ? 1 : 101) {
        int t = stream_fd();
        cr_assert_eq(write(t, all, cut), (ssize_t)cut);
        cr_assert_eq(read_all(t, why, sizeof(why), &n), -EPROTO, "cut at %zu", cut);
        cr_assert(strstr(why, "truncated"), "cut at %zu: %s", cut, why);
        close(t);
    }
    free(all);
    close(fd);
}

/* A section header with valid checksums but a bad type or length. */
static void forge_section(int fd, uint32_t type, uint64_t length)
{
    uint8_t h[MSTREAM_SECTION_HDR] = {0};
    uint32_t crc;

    memcpy(h, &type, 4);
    memcpy(h + 8, &length, 8);
    crc = mstream_crc32c(0, h, 20);
    memcpy(h + 20, &crc, 4);
    cr_assert_eq(pwrite(fd, h, sizeof(h), MSTREAM_HEADER_SIZE), (ssize_t)sizeof(h));
}

Test(migrate_stream, unknown_type_and_oversized_section)
{
    int fd = stream_fd();
    char why[256];
    unsigned int n;

    write_sample(fd);
    forge_section(fd, 99, 5);
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "unknown section type 99"), "%s", why);
    forge_section(fd, MSTREAM_RAM, (uint64_t)MSTREAM_SECTION_MAX + 1);
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "too long"), "%s", why);
    close(fd);
}

Test(migrate_stream, records)
{
    struct mstream_rec_buf b = {0};
    uint64_t v = 42;
    const void *data;
    size_t len;

    mstream_rec_put(&b, 1, &v, sizeof(v));
    mstream_rec_put(&b, 7, "abc", 3);
    cr_assert_eq(b.err, 0);
    cr_assert_eq(mstream_rec_get(b.data, b.len, 7, &data, &len, 0), 0);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(data, "abc", 3), 0);
    cr_assert_eq(mstream_rec_get(b.data, b.len, 1, &data, NULL, 8), 0);
    cr_assert_eq(*(const uint64_t *)data, 42);
    cr_assert_eq(mstream_rec_get(b.data, b.len, 1, &data, NULL, 4), -EMSGSIZE);
    cr_assert_eq(mstream_rec_get(b.data, b.len, 2, &data, NULL, 0), -ENOENT);
    /* A record whose length runs past the list, and a list cut mid-header. */
    cr_assert_eq(mstream_rec_get(b.data, b.len - 1, 7, &data, NULL, 0), -EPROTO);
    cr_assert_eq(mstream_rec_get(b.data, 12, 7, &data, NULL, 0), -EPROTO);
    mstream_rec_free(&b);
}

Test(migrate_stream, ram_batches)
{
    static uint8_t buf[8 + 3 * 8 + 2 * MSTREAM_PAGE];
    struct mstream_ram_page pages[MSTREAM_RAM_BATCH];
    uint32_t count = 3;
    uint64_t e[3] = {0x1000, 0x5000 | MSTREAM_PAGE_ZERO, 0x200000};
    unsigned int n;

    memcpy(buf, &count, 4);
    memcpy(buf + 8, e, sizeof(e));
    memset(buf + 32, 0xaa, MSTREAM_PAGE);
    memset(buf + 32 + MSTREAM_PAGE, 0xbb, MSTREAM_PAGE);
    cr_assert_eq(mstream_ram_parse(buf, sizeof(buf), pages, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(pages[0].gpa, 0x1000);
    cr_assert_eq(pages[0].data[0], 0xaa);
    cr_assert_eq(pages[1].gpa, 0x5000);
    cr_assert_null(pages[1].data);
    cr_assert_eq(pages[2].data[MSTREAM_PAGE - 1], 0xbb);
    /* Data length must match the non-zero entries exactly. */
    cr_assert_eq(mstream_ram_parse(buf, sizeof(buf) - 1, pages, &n), -EPROTO);
    /* A misaligned address. */
    e[0] = 0x1008;
    memcpy(buf + 8, e, sizeof(e));
    cr_assert_eq(mstream_ram_parse(buf, sizeof(buf), pages, &n), -EPROTO);
    /* Counts: zero, and past the batch limit. */
    count = 0;
    memcpy(buf, &count, 4);
    cr_assert_eq(mstream_ram_parse(buf, sizeof(buf), pages, &n), -EPROTO);
    count = MSTREAM_RAM_BATCH + 1;
    memcpy(buf, &count, 4);
    cr_assert_eq(mstream_ram_parse(buf, sizeof(buf), pages, &n), -EPROTO);
}
