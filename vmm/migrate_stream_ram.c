/*
 * RAM in the stream (migrate_stream.h): runs of pages sent straight from guest memory
 * (spliced on a pipe-capable socket), counted zero runs, and on the receiving side the
 * per-page checks with the "suspect" bitmap of pages that have not yet arrived intact.
 */
#include "migrate_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_crc.h"
#include "migrate_stream_int.h"

int mstream_write_ram(struct mstream *s, uint64_t pfn, const void *pages, uint32_t npages)
{
    size_t len = (size_t)npages * MSTREAM_PAGE;
    int ret;

    if (npages == 0 || npages > MSTREAM_RAM_RUN_MAX || pfn + npages - 1 > MSTREAM_PFN_MAX)
        return mstream_fail(s, -EINVAL, "RAM run 0x%llx+%u cannot be sent", (unsigned long long)pfn,
                            npages);
    if (s->len + MSTREAM_SECTION_HDR + 4 * (size_t)npages > s->cap && (ret = mstream_flush(s)) < 0)
        return ret;
    if (s->err)
        return s->err;
    /* Checked: the pages' CRCs follow the header, covered by its payload CRC. */
    uint8_t *hdr = s->buf + s->len, *crcs = hdr + MSTREAM_SECTION_HDR;
    size_t ncrcs = s->ram_unchecked ? 0 : npages;
    for (size_t i = 0; i < ncrcs; i++)
        put32(crcs + 4 * i,
              mcrc_crc32c(0, (const uint8_t *)pages + i * MSTREAM_PAGE, MSTREAM_PAGE));
    mstream_section_header(hdr, MSTREAM_RAM, (uint32_t)pfn, len + 4 * ncrcs,
                           ncrcs ? mcrc_crc32c(0, crcs, 4 * ncrcs) : 0);
    s->len += MSTREAM_SECTION_HDR + 4 * ncrcs;
    if (!s->splice.off) {
        ret = mstream_flush(s);
        if (ret < 0)
            return ret;
        ssize_t n = msplice_write(&s->splice, s->fd, pages, len, &s->bytes);
        if (n >= 0)
            return 0;
        if (n == -EAGAIN)
            return mstream_fail(s, -ETIMEDOUT, "the peer stopped reading (timed out)");
        if (n != -EOPNOTSUPP)
            return mstream_fail(s, (int)n, "write: %s", strerror((int)-n));
    }
    /* Whatever is buffered, this header and the pages in one system call. */
    struct iovec iov[2] = {{s->buf, s->len}, {(void *)pages, len}};
    s->len = 0;
    return mstream_write_fd(s, iov, 2);
}

int mstream_write_zero_run(struct mstream *s, uint64_t pfn, uint32_t npages)
{
    uint8_t count[MSTREAM_RAM_ZERO_LEN];
    struct iovec iov = {count, sizeof(count)};

    if (npages == 0 || npages > MSTREAM_RAM_ZERO_MAX || pfn + npages - 1 > MSTREAM_PFN_MAX)
        return mstream_fail(s, -EINVAL, "zero run 0x%llx+%u cannot be sent",
                            (unsigned long long)pfn, npages);
    put32(count, npages);
    return mstream_write_section(s, MSTREAM_RAM, (uint32_t)pfn, &iov, 1);
}

static uint64_t mstream_page_wire(const struct mstream *s)
{
    return s->ram_unchecked ? MSTREAM_PAGE : MSTREAM_RAM_PAGE_WIRE;
}

bool mstream_ram_is_data(const struct mstream *s, const struct mstream_section *sec)
{
    return sec->type == MSTREAM_RAM && sec->length && sec->length % mstream_page_wire(s) == 0;
}

uint64_t mstream_ram_pages(const struct mstream *s, const struct mstream_section *sec)
{
    return mstream_ram_is_data(s, sec) ? sec->length / mstream_page_wire(s) : 0;
}

/* Marks (bad) or clears pages [pfn, pfn + n) in the suspect bitmap. */
static int mstream_suspect(struct mstream *s, uint64_t pfn, uint64_t n, bool bad)
{
    if (bad && pfn + n > s->suspect_bits) {
        uint64_t words = (pfn + n + 63) / 64, old = (s->suspect_bits + 63) / 64;
        uint64_t *m = realloc(s->suspect, words * 8);
        if (!m)
            return mstream_fail(s, -ENOMEM, "out of memory");
        memset(m + old, 0, (words - old) * 8);
        s->suspect = m;
        s->suspect_bits = words * 64;
    }
    for (uint64_t p = pfn; p < pfn + n && p < s->suspect_bits; p++) {
        if (bad)
            s->suspect[p / 64] |= 1ULL << (p % 64);
        else
            s->suspect[p / 64] &= ~(1ULL << (p % 64));
    }
    return 0;
}

int mstream_suspect_check(struct mstream *s)
{
    uint64_t first = 0, count = 0;

    for (uint64_t w = 0; w < s->suspect_bits / 64; w++) {
        if (s->suspect[w] && !count)
            first = w * 64 + (uint64_t)__builtin_ctzll(s->suspect[w]);
        count += (uint64_t)__builtin_popcountll(s->suspect[w]);
    }
    if (count == 1)
        return mstream_fail(s, -EPROTO,
                            "corrupted RAM (checksum mismatch): page 0x%llx never arrived intact",
                            (unsigned long long)first * MSTREAM_PAGE);
    if (count)
        return mstream_fail(s, -EPROTO,
                            "corrupted RAM (checksum mismatch): page 0x%llx and %llu more never "
                            "arrived intact",
                            (unsigned long long)first * MSTREAM_PAGE,
                            (unsigned long long)count - 1);
    return 0;
}

/* Reads in pieces and checks each piece's pages at once, while the kernel's copy is in cache. */
int mstream_read_data(struct mstream *s, void *dst, size_t len)
{
    uint8_t *p = dst;
    size_t got = 0;
    int ret = 0;

    if (s->err)
        return s->err;
    if (len != s->pending)
        return mstream_fail(s, -EPROTO, "a RAM section holds %llu bytes of pages, not %zu",
                            (unsigned long long)s->pending, len);
    s->pending = 0;
    while (got < len && ret == 0) {
        size_t want = len - got < (256u << 10) ? len - got : 256u << 10;
        ret = mstream_read_fd(s, p + got, want, "a RAM section");
        for (size_t at = got; ret == 0 && !s->ram_unchecked && at < got + want;
             at += MSTREAM_PAGE) {
            uint64_t i = at / MSTREAM_PAGE;
            bool bad = mcrc_crc32c(0, p + at, MSTREAM_PAGE) != get32(s->buf + 4 * i);
            ret = mstream_suspect(s, s->pending_pfn + i, 1, bad);
        }
        got += want;
    }
    return ret;
}

int mstream_ram_zero_run(struct mstream *s, const struct mstream_section *sec,
                         const uint8_t *payload, uint32_t *npages)
{
    if (sec->type != MSTREAM_RAM || sec->length != MSTREAM_RAM_ZERO_LEN)
        return mstream_fail(s, -EPROTO, "a malformed RAM section (%llu bytes)",
                            (unsigned long long)sec->length);
    *npages = get32(payload);
    if (*npages == 0 || *npages > MSTREAM_RAM_ZERO_MAX)
        return mstream_fail(s, -EPROTO, "a zero run of %u pages", *npages);
    return mstream_suspect(s, sec->id, *npages, false);
}
