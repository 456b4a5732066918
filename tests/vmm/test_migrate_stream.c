/*
 * Unit tests for vmm/migrate_stream.c: CRC-32C, a written stream read back, and every way
 * a stream can be refused: newer version, bad magic, corrupted header, section header or
 * payload, unknown section type, oversized section, truncation at every byte. Also the
 * record lists, RAM runs (read straight to their destination, checked there) and the
 * three-lane CRC against the table-driven reference.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migrate_crc.h"
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

/* The three-lane and copying CRCs equal the bytewise reference at every length and
 * alignment around the lane block (3 KiB), and chain. */
Test(migrate_stream, crc32c_lanes_match_reference)
{
    static uint8_t src[3 * 4096 + 64], dst[sizeof(src)];
    static const size_t lens[] = {0, 1, 7, 8, 3071, 3072, 3073, 4096, 6144, 6151, 3 * 4096};

    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 131 + (i >> 7));
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        for (size_t off = 0; off < 16; off += 5) {
            uint32_t want = mcrc_crc32c_soft(0x1234, src + off, lens[l]);
            cr_assert_eq(mcrc_crc32c(0x1234, src + off, lens[l]), want, "len %zu", lens[l]);
            memset(dst, 0, sizeof(dst));
            cr_assert_eq(mcrc_copy(0x1234, dst + off, src + off, lens[l]), want);
            cr_assert_eq(memcmp(dst + off, src + off, lens[l]), 0, "len %zu copied", lens[l]);
            cr_assert_eq(dst[off + lens[l]], 0, "len %zu: nothing past the end", lens[l]);
        }
    }
    cr_assert_eq(mcrc_crc32c(mcrc_crc32c(0, src, 5000), src + 5000, 7000),
                 mcrc_crc32c_soft(0, src, 12000));
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
    cr_assert(strstr(why, "stream version 3, this minivmm reads version 2"), "%s", why);
    /* Version 1 (batches of single pages) is refused too. */
    v = 1;
    memcpy(h + 8, &v, 4);
    crc = mstream_crc32c(0, h, 28);
    memcpy(h + 28, &crc, 4);
    cr_assert_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "stream version 1, this minivmm reads version 2"), "%s", why);
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

/* A stream with a zero run and a data run of two pages; returns its length. */
static size_t write_ram_sample(int fd, uint8_t *pages)
{
    struct mstream s;

    for (size_t i = 0; i < 2 * MSTREAM_PAGE; i++)
        pages[i] = (uint8_t)(i * 13 + 1);
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_header(&s), 0);
    cr_assert_eq(mstream_write_zero_run(&s, 1, 3), 0);
    cr_assert_eq(mstream_write_ram(&s, 4, pages, 2), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_END, 0, NULL, 0), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    size_t n = s.bytes;
    mstream_fini(&s);
    return n;
}

/* Where the data run's section header starts. */
#define DATA_OFF (MSTREAM_HEADER_SIZE + MSTREAM_SECTION_HDR + MSTREAM_RAM_ZERO_LEN)

/* Reads the RAM sample into out (pages 4-5; the data run twice when again); 0 or the
 * first error with its reason. */
static int read_ram(int fd, uint8_t *out, bool skip_data, char *why, size_t whylen)
{
    struct mstream s;
    struct mstream_section sec;
    const uint8_t *p;
    uint32_t n = 0;
    int ret;

    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&s, fd), 0);
    ret = mstream_read_header(&s);
    while (ret == 0 && (ret = mstream_read_section(&s, &sec, &p)) == 0 && sec.type != MSTREAM_END) {
        cr_assert_eq(sec.type, MSTREAM_RAM);
        if (!mstream_ram_is_data(&s, &sec)) {
            ret = mstream_ram_zero_run(&s, &sec, p, &n);
            cr_assert(ret || (sec.id == 1 && n == 3));
        } else if (!skip_data) {
            cr_assert_eq(sec.id, 4);
            cr_assert_null(p);
            cr_assert_eq(mstream_ram_pages(&s, &sec), 2);
            ret = mstream_read_data(&s, out, 2 * MSTREAM_PAGE);
        }
    }
    snprintf(why, whylen, "%s", ret ? mstream_error(&s) : "");
    mstream_fini(&s);
    return ret;
}

Test(migrate_stream, ram_runs)
{
    static uint8_t pages[2 * MSTREAM_PAGE], out[2 * MSTREAM_PAGE];
    int fd = stream_fd();
    size_t len = write_ram_sample(fd, pages);
    struct mstream s;
    char why[256];

    cr_assert_eq(len,
                 DATA_OFF + MSTREAM_SECTION_HDR + 2 * MSTREAM_RAM_PAGE_WIRE + MSTREAM_SECTION_HDR);
    cr_assert_eq(read_ram(fd, out, false, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(memcmp(out, pages, sizeof(pages)), 0);
    /* What a writer refuses: empty or oversized runs, frames past the id's range. */
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_ram(&s, 0, pages, 0), -EINVAL);
    s.err = 0;
    cr_assert_eq(mstream_write_ram(&s, 0, pages, MSTREAM_RAM_RUN_MAX + 1), -EINVAL);
    s.err = 0;
    cr_assert_eq(mstream_write_ram(&s, MSTREAM_PFN_MAX, pages, 2), -EINVAL);
    s.err = 0;
    cr_assert_eq(mstream_write_zero_run(&s, 0, MSTREAM_RAM_ZERO_MAX + 1), -EINVAL);
    mstream_fini(&s);
    close(fd);
}

/* A RAM run's payload that is not a whole number of pages, or a zero run's bad count. */
Test(migrate_stream, malformed_ram_runs)
{
    int fd = stream_fd();
    uint8_t pages[2 * MSTREAM_PAGE];
    uint32_t count = 0;
    char why[256];
    struct mstream s;
    struct iovec iov = {&count, 4};

    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_header(&s), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_RAM, 1, &iov, 1), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    mstream_fini(&s);
    cr_assert_eq(read_ram(fd, pages, false, why, sizeof(why)), -EPROTO);
    cr_assert(strstr(why, "zero run of 0 pages"), "%s", why);
    close(fd);
    fd = stream_fd();
    iov.iov_len = 3;
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_header(&s), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_RAM, 1, &iov, 1), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    mstream_fini(&s);
    cr_assert_eq(read_ram(fd, pages, false, why, sizeof(why)), -EPROTO);
    cr_assert(strstr(why, "malformed RAM section (3 bytes)"), "%s", why);
    close(fd);
}

Test(migrate_stream, ram_data_is_checked_where_it_lands)
{
    static uint8_t pages[2 * MSTREAM_PAGE], out[2 * MSTREAM_PAGE];
    int fd = stream_fd();
    size_t len = write_ram_sample(fd, pages);
    uint8_t *all = malloc(len);
    char why[256];

    /* Any flipped bit before the pages (the pages' CRCs included) fails where it is read;
     * in a page, at END, naming the page (it may have been a page the guest wrote meanwhile,
     * which is sent again). */
    size_t pages_at = DATA_OFF + MSTREAM_SECTION_HDR + 8;
    for (size_t off = 0; off < len; off += off < pages_at ? 1 : 1531) {
        poke(fd, (off_t)off, 0x04);
        cr_assert_eq(read_ram(fd, out, false, why, sizeof(why)), -EPROTO, "byte %zu", off);
        if (off >= pages_at && off < len - MSTREAM_SECTION_HDR)
            cr_assert(strstr(why, off < pages_at + MSTREAM_PAGE
                                      ? "corrupted RAM (checksum mismatch): page 0x4000 never"
                                      : "corrupted RAM (checksum mismatch): page 0x5000 never"),
                      "byte %zu: %s", off, why);
        poke(fd, (off_t)off, 0x04);
    }
    /* Cut anywhere. */
    cr_assert_eq(pread(fd, all, len, 0), (ssize_t)len);
    for (size_t cut = 0; cut < len; cut += cut < DATA_OFF + 40 ? 1 : 977) {
        int t = stream_fd();
        cr_assert_eq(write(t, all, cut), (ssize_t)cut);
        cr_assert_eq(read_ram(t, out, false, why, sizeof(why)), -EPROTO, "cut at %zu", cut);
        cr_assert(strstr(why, "truncated"), "cut at %zu: %s", cut, why);
        close(t);
    }
    /* A reader that skips the pages is stopped, not misled into reading page bytes as a
     * section header. */
    cr_assert_eq(read_ram(fd, out, true, why, sizeof(why)), -EPROTO);
    cr_assert(strstr(why, "left unread"), "%s", why);
    free(all);
    close(fd);
}

/* A run that failed its CRC and was sent again intact (the guest wrote the page meanwhile)
 * is accepted; so is one a zero run covered later. */
Test(migrate_stream, suspect_pages_cleared_by_a_good_copy)
{
    static uint8_t pages[2 * MSTREAM_PAGE], out[2 * MSTREAM_PAGE];
    int fd = stream_fd();
    size_t len = write_ram_sample(fd, pages);
    uint8_t *all = malloc(len);
    size_t run = MSTREAM_SECTION_HDR + 2 * MSTREAM_RAM_PAGE_WIRE, at = DATA_OFF;
    char why[256];

    cr_assert_eq(pread(fd, all, len, 0), (ssize_t)len);
    /* header, zero run, data run (corrupted), data run (intact), END */
    cr_assert_eq(pwrite(fd, all + at, run, (off_t)(at + run)), (ssize_t)run);
    cr_assert_eq(pwrite(fd, all + at + run, MSTREAM_SECTION_HDR, (off_t)(at + 2 * run)),
                 (ssize_t)MSTREAM_SECTION_HDR);
    poke(fd, (off_t)(at + MSTREAM_SECTION_HDR + 100), 0x01); /* page 0x4000 */
    cr_assert_eq(read_ram(fd, out, false, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(memcmp(out, pages, sizeof(pages)), 0);
    /* The other way round: the intact copy first, the corrupted one last: refused. */
    poke(fd, (off_t)(at + MSTREAM_SECTION_HDR + 100), 0x01);
    poke(fd, (off_t)(at + run + MSTREAM_SECTION_HDR + 100), 0x01);
    cr_assert_eq(read_ram(fd, out, false, why, sizeof(why)), -EPROTO);
    cr_assert(strstr(why, "corrupted RAM (checksum mismatch): page 0x4000"), "%s", why);
    free(all);
    close(fd);
}

/* Pages are judged one by one: resending only the page that changed clears a run. */
Test(migrate_stream, suspect_pages_are_per_page)
{
    static uint8_t pages[2 * MSTREAM_PAGE];
    int fd = stream_fd();
    struct mstream s, r;
    struct mstream_section sec;
    const uint8_t *p;
    int ret;

    memset(pages, 0x5a, sizeof(pages));
    cr_assert_eq(mstream_init(&s, fd), 0);
    cr_assert_eq(mstream_write_header(&s), 0);
    cr_assert_eq(mstream_write_ram(&s, 4, pages, 2), 0);
    cr_assert_eq(mstream_write_ram(&s, 5, pages + MSTREAM_PAGE, 1), 0);
    cr_assert_eq(mstream_write_section(&s, MSTREAM_END, 0, NULL, 0), 0);
    cr_assert_eq(mstream_flush(&s), 0);
    mstream_fini(&s);
    /* The second page of the first run "changed in flight". */
    poke(fd, MSTREAM_HEADER_SIZE + MSTREAM_SECTION_HDR + 8 + MSTREAM_PAGE + 7, 0x80);
    lseek(fd, 0, SEEK_SET);
    cr_assert_eq(mstream_init(&r, fd), 0);
    ret = mstream_read_header(&r);
    while (ret == 0 && (ret = mstream_read_section(&r, &sec, &p)) == 0 && sec.type != MSTREAM_END)
        ret = mstream_read_data(&r, pages, mstream_ram_pages(&r, &sec) * MSTREAM_PAGE);
    cr_assert_eq(ret, 0, "%s", mstream_error(&r));
    mstream_fini(&r);
    close(fd);
}

/* On an AF_UNIX socket the writer leaves page CRCs out (header flag); headers stay checked. */
Test(migrate_stream, unix_socket_streams_carry_no_page_crcs)
{
    static uint8_t pages[2 * MSTREAM_PAGE], out[2 * MSTREAM_PAGE];
    int sv[2];
    struct mstream w, r;
    struct mstream_section sec;
    const uint8_t *p;

    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(pages, 0x33, sizeof(pages));
    cr_assert_eq(mstream_init(&w, sv[0]), 0);
    cr_assert_eq(mstream_write_header(&w), 0);
    cr_assert(w.ram_unchecked);
    cr_assert_eq(mstream_write_ram(&w, 7, pages, 2), 0);
    cr_assert_eq(mstream_write_section(&w, MSTREAM_END, 0, NULL, 0), 0);
    cr_assert_eq(mstream_flush(&w), 0);
    cr_assert_eq(w.bytes, MSTREAM_HEADER_SIZE + 2 * MSTREAM_SECTION_HDR + 2 * MSTREAM_PAGE);
    mstream_fini(&w);
    cr_assert_eq(mstream_init(&r, sv[1]), 0);
    cr_assert_eq(mstream_read_header(&r), 0);
    cr_assert(r.ram_unchecked);
    cr_assert_eq(mstream_read_section(&r, &sec, &p), 0);
    cr_assert_eq(mstream_ram_pages(&r, &sec), 2);
    cr_assert_eq(sec.id, 7);
    cr_assert_eq(mstream_read_data(&r, out, sizeof(out)), 0);
    cr_assert_eq(memcmp(out, pages, sizeof(out)), 0);
    cr_assert_eq(mstream_read_section(&r, &sec, &p), 0);
    cr_assert_eq(sec.type, MSTREAM_END);
    mstream_fini(&r);
    close(sv[0]);
    close(sv[1]);
}

Test(migrate_stream, unknown_header_flags_are_refused)
{
    int fd = stream_fd();
    uint8_t h[MSTREAM_HEADER_SIZE];
    uint32_t flags = 2, crc;
    char why[256];
    unsigned int n;

    write_sample(fd);
    cr_assert_eq(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    memcpy(h + 12, &flags, 4);
    crc = mstream_crc32c(0, h, 28);
    memcpy(h + 28, &crc, 4);
    cr_assert_eq(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    cr_assert_eq(read_all(fd, why, sizeof(why), &n), -EPROTO);
    cr_assert(strstr(why, "unknown stream flags 0x2"), "%s", why);
    close(fd);
}
