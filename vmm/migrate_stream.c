/*
 * The stream's framing (migrate_stream.h): header, checksummed sections, records and RAM
 * batches. Reads and writes are blocking and whole; the caller bounds them with socket
 * timeouts or cancels them by shutting the socket down.
 */
#include "migrate_stream.h"

#include "migrate_crc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Room for a whole RAM run (1 MiB) and then some; small enough to stay in the L2 cache,
 * where the kernel's copy into the socket finds it. */
#define MSTREAM_WRITE_BUF (2u << 20)

static const char *const mstream_type_names[MSTREAM_TYPE_MAX + 1] = {
    [MSTREAM_CONFIG] = "CONFIG", [MSTREAM_RAM] = "RAM",       [MSTREAM_VM] = "VM",
    [MSTREAM_CPU] = "CPU",       [MSTREAM_DEVICE] = "DEVICE", [MSTREAM_PLATFORM] = "PLATFORM",
    [MSTREAM_END] = "END",
};

uint32_t mstream_crc32c(uint32_t crc, const void *data, size_t len)
{
    return mcrc_crc32c(crc, data, len);
}

int mstream_init(struct mstream *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    msplice_init(&s->splice);
    s->cap = MSTREAM_WRITE_BUF;
    s->buf = malloc(s->cap);
    return s->buf ? 0 : -ENOMEM;
}

void mstream_fini(struct mstream *s)
{
    free(s->buf);
    free(s->suspect);
    msplice_fini(&s->splice);
    s->buf = NULL;
    s->suspect = NULL;
    s->suspect_bits = 0;
}

const char *mstream_error(const struct mstream *s)
{
    return s->why[0] ? s->why : strerror(-s->err);
}

int mstream_fail(struct mstream *s, int err, const char *fmt, ...)
{
    va_list ap;

    if (s->err)
        return s->err;
    s->err = err;
    va_start(ap, fmt);
    vsnprintf(s->why, sizeof(s->why), fmt, ap);
    va_end(ap);
    return err;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Writes every iov (consumed as it goes): one sendmsg for all of them on a socket. */
static int mstream_write_fd(struct mstream *s, struct iovec *iov, int n)
{
    for (;;) {
        for (; n > 0 && iov->iov_len == 0; n--)
            iov++;
        if (n == 0)
            return 0;
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t done = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
        if (done < 0 && errno == ENOTSOCK)
            done = writev(s->fd, iov, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0) {
            int err = done < 0 ? errno : EPIPE;
            if (err == EAGAIN)
                return mstream_fail(s, -ETIMEDOUT, "the peer stopped reading (timed out)");
            return mstream_fail(s, -err, "write: %s", strerror(err));
        }
        s->bytes += (uint64_t)done;
        for (; n > 0 && (size_t)done >= iov->iov_len; n--, iov++)
            done -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
}

static int mstream_write_buf(struct mstream *s, const void *data, size_t len)
{
    struct iovec iov = {(void *)data, len};

    return mstream_write_fd(s, &iov, 1);
}

int mstream_flush(struct mstream *s)
{
    if (s->err)
        return s->err;
    int ret = mstream_write_buf(s, s->buf, s->len);
    s->len = 0;
    return ret;
}

static int mstream_put(struct mstream *s, const void *data, size_t len)
{
    if (s->err)
        return s->err;
    if (s->len + len > s->cap) {
        int ret = mstream_flush(s);
        if (ret < 0)
            return ret;
        if (len >= s->cap)
            return mstream_write_buf(s, data, len);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

int mstream_write_header(struct mstream *s)
{
    uint8_t h[MSTREAM_HEADER_SIZE] = {0};

    int domain = 0;
    socklen_t dlen = sizeof(domain);

    /* Same host, kernel memory to kernel memory: see MSTREAM_F_RAM_UNCHECKED. */
    if (getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) == 0 && domain == AF_UNIX)
        s->ram_unchecked = true;
    memcpy(h, MSTREAM_MAGIC, 8);
    put32(h + 8, MSTREAM_VERSION);
    put32(h + 12, s->ram_unchecked ? MSTREAM_F_RAM_UNCHECKED : 0);
    put32(h + 28, mstream_crc32c(0, h, 28));
    return mstream_put(s, h, sizeof(h));
}

static void mstream_section_header(uint8_t *h, uint32_t type, uint32_t id, uint64_t len,
                                   uint32_t crc)
{
    put32(h, type);
    put32(h + 4, id);
    put64(h + 8, len);
    put32(h + 16, crc);
    put32(h + 20, mstream_crc32c(0, h, 20));
}

/*
 * A section that fits the buffer is copied and checksummed in one pass, the CRC taken from
 * the copy: guest pages change under a running guest, and the CRC must describe the bytes
 * that are sent.
 */
int mstream_write_section(struct mstream *s, uint32_t type, uint32_t id, const struct iovec *iov,
                          unsigned int n)
{
    uint8_t h[MSTREAM_SECTION_HDR];
    uint64_t len = 0;
    uint32_t crc = 0;
    int ret;

    for (unsigned int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (len > MSTREAM_SECTION_MAX)
        return mstream_fail(s, -EMSGSIZE, "section of %llu bytes", (unsigned long long)len);
    if (s->err)
        return s->err;
    if (MSTREAM_SECTION_HDR + len <= s->cap) {
        if (s->len + MSTREAM_SECTION_HDR + len > s->cap && (ret = mstream_flush(s)) < 0)
            return ret;
        uint8_t *hdr = s->buf + s->len, *p = hdr + MSTREAM_SECTION_HDR;
        for (unsigned int i = 0; i < n; i++) {
            crc = mcrc_copy(crc, p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }
        mstream_section_header(hdr, type, id, len, crc);
        s->len += MSTREAM_SECTION_HDR + len;
        return 0;
    }
    for (unsigned int i = 0; i < n; i++)
        crc = mstream_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
    mstream_section_header(h, type, id, len, crc);
    ret = mstream_put(s, h, sizeof(h));
    for (unsigned int i = 0; ret == 0 && i < n; i++)
        ret = mstream_put(s, iov[i].iov_base, iov[i].iov_len);
    return ret;
}

/* Reads exactly len bytes; what: for the "ends early" message. */
static int mstream_read_fd(struct mstream *s, void *data, size_t len, const char *what)
{
    uint8_t *p = data;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(s->fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return mstream_fail(s, -ETIMEDOUT, "the sender went quiet in %s (timed out)", what);
        if (n < 0)
            return mstream_fail(s, -errno, "read: %s", strerror(errno));
        if (n == 0)
            return mstream_fail(s, -EPROTO,
                                "the stream is truncated: it ends in %s (%zu of %zu bytes)", what,
                                got, len);
        got += (size_t)n;
        s->bytes += (uint64_t)n;
    }
    return 0;
}

static int mstream_suspect_check(struct mstream *s);

int mstream_read_header(struct mstream *s)
{
    uint8_t h[MSTREAM_HEADER_SIZE];
    int ret = mstream_read_fd(s, h, sizeof(h), "the header");

    if (ret < 0)
        return ret;
    if (memcmp(h, MSTREAM_MAGIC, 8) != 0)
        return mstream_fail(s, -EPROTO, "not a minivmm VM stream (bad magic)");
    if (get32(h + 28) != mstream_crc32c(0, h, 28))
        return mstream_fail(s, -EPROTO, "the stream header is corrupted (checksum mismatch)");
    if (get32(h + 8) != MSTREAM_VERSION)
        return mstream_fail(s, -EPROTO, "stream version %u, this minivmm reads version %u",
                            get32(h + 8), MSTREAM_VERSION);
    if (get32(h + 12) & ~MSTREAM_F_RAM_UNCHECKED)
        return mstream_fail(s, -EPROTO, "unknown stream flags 0x%x", get32(h + 12));
    s->ram_unchecked = get32(h + 12) & MSTREAM_F_RAM_UNCHECKED;
    return 0;
}

int mstream_read_section(struct mstream *s, struct mstream_section *sec, const uint8_t **payload)
{
    uint8_t h[MSTREAM_SECTION_HDR];
    char what[64];
    int ret;

    if (s->pending)
        return mstream_fail(s, -EPROTO, "a RAM section's pages were left unread");
    if (s->err)
        return s->err;
    ret = mstream_read_fd(s, h, sizeof(h), "a section header");
    if (ret < 0)
        return ret;
    if (get32(h + 20) != mstream_crc32c(0, h, 20))
        return mstream_fail(s, -EPROTO, "corrupted section header at byte %llu",
                            (unsigned long long)(s->bytes - sizeof(h)));
    sec->type = get32(h);
    sec->id = get32(h + 4);
    sec->length = get64(h + 8);
    if (sec->type == 0 || sec->type > MSTREAM_TYPE_MAX)
        return mstream_fail(s, -EPROTO, "unknown section type %u", sec->type);
    if (sec->length > MSTREAM_SECTION_MAX)
        return mstream_fail(s, -EPROTO, "%s section of %llu bytes is too long",
                            mstream_type_names[sec->type], (unsigned long long)sec->length);
    if (sec->length > s->cap) {
        uint8_t *p = realloc(s->buf, sec->length);
        if (!p)
            return mstream_fail(s, -ENOMEM, "out of memory");
        s->buf = p;
        s->cap = sec->length;
    }
    snprintf(what, sizeof(what), "a %s section", mstream_type_names[sec->type]);
    /* RAM data goes straight to guest memory: mstream_read_data. */
    if (mstream_ram_is_data(s, sec)) {
        uint64_t n = mstream_ram_pages(s, sec);
        if (n > MSTREAM_RAM_RUN_MAX)
            return mstream_fail(s, -EPROTO, "RAM section of %llu bytes is too long",
                                (unsigned long long)sec->length);
        s->pending = n * MSTREAM_PAGE;
        s->pending_pfn = sec->id;
        *payload = NULL;
        if (s->ram_unchecked)
            return 0;
        /* The pages' CRCs come first and are checked here, strictly. */
        ret = mstream_read_fd(s, s->buf, n * 4, what);
        if (ret < 0)
            return ret;
        if (get32(h + 16) != mstream_crc32c(0, s->buf, n * 4))
            return mstream_fail(s, -EPROTO, "corrupted RAM section 0x%x (checksum mismatch)",
                                sec->id);
        return 0;
    }
    ret = mstream_read_fd(s, s->buf, sec->length, what);
    if (ret < 0)
        return ret;
    if (get32(h + 16) != mstream_crc32c(0, s->buf, sec->length))
        return mstream_fail(s, -EPROTO, "corrupted %s section %u (checksum mismatch)",
                            mstream_type_names[sec->type], sec->id);
    *payload = s->buf;
    if (sec->type == MSTREAM_END)
        return mstream_suspect_check(s);
    return 0;
}

void mstream_rec_put(struct mstream_rec_buf *b, uint32_t tag, const void *data, uint32_t len)
{
    if (b->err)
        return;
    if (b->len + 8 + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + 8 + len)
            cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) {
            b->err = -ENOMEM;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    put32(b->data + b->len, tag);
    put32(b->data + b->len + 4, len);
    memcpy(b->data + b->len + 8, data, len);
    b->len += 8 + len;
}

void mstream_rec_free(struct mstream_rec_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int mstream_rec_get(const uint8_t *payload, size_t size, uint32_t tag, const void **data,
                    size_t *len, size_t want)
{
    size_t off = 0;

    while (off < size) {
        if (size - off < 8)
            return -EPROTO;
        uint32_t t = get32(payload + off), l = get32(payload + off + 4);
        if (l > size - off - 8)
            return -EPROTO;
        if (t == tag) {
            if (want && l != want)
                return -EMSGSIZE;
            *data = payload + off + 8;
            if (len)
                *len = l;
            return 0;
        }
        off += 8 + (size_t)l;
    }
    return -ENOENT;
}

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

static int mstream_suspect_check(struct mstream *s)
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
