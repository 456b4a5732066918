/*
 * The stream's framing (migrate_stream.h): header, checksummed sections, records and RAM
 * batches. Reads and writes are blocking and whole; the caller bounds them with socket
 * timeouts or cancels them by shutting the socket down.
 */
#include "migrate_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for a whole RAM batch (256 pages and their entries) and then some. */
#define MSTREAM_WRITE_BUF (2u << 20)

static const char *const mstream_type_names[] = {
    [MSTREAM_CONFIG] = "CONFIG", [MSTREAM_RAM] = "RAM",       [MSTREAM_VM] = "VM",
    [MSTREAM_CPU] = "CPU",       [MSTREAM_DEVICE] = "DEVICE", [MSTREAM_PLATFORM] = "PLATFORM",
    [MSTREAM_END] = "END",
};

/* CRC-32C (Castagnoli, reflected 0x82F63B78): SSE4.2 when the CPU has it, else a table. */
static uint32_t mstream_crc_table[256];

static void mstream_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        mstream_crc_table[i] = c;
    }
}

__attribute__((target("sse4.2"))) static uint32_t mstream_crc_hw(uint32_t crc, const uint8_t *p,
                                                                 size_t len)
{
    uint64_t c = crc;

    for (; len >= 8; len -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    crc = (uint32_t)c;
    for (; len; len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}

uint32_t mstream_crc32c(uint32_t crc, const void *data, size_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    const uint8_t *p = data;

    crc = ~crc;
    if (__builtin_cpu_supports("sse4.2"))
        return ~mstream_crc_hw(crc, p, len);
    pthread_once(&once, mstream_crc_init);
    while (len--)
        crc = mstream_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int mstream_init(struct mstream *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->cap = MSTREAM_WRITE_BUF;
    s->buf = malloc(s->cap);
    return s->buf ? 0 : -ENOMEM;
}

void mstream_fini(struct mstream *s)
{
    free(s->buf);
    s->buf = NULL;
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

static int mstream_write_fd(struct mstream *s, const void *data, size_t len)
{
    const uint8_t *p = data;

    while (len) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            n = write(s->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EPIPE;
            if (err == EAGAIN)
                return mstream_fail(s, -ETIMEDOUT, "the peer stopped reading (timed out)");
            return mstream_fail(s, -err, "write: %s", strerror(err));
        }
        p += n;
        len -= (size_t)n;
        s->bytes += (uint64_t)n;
    }
    return 0;
}

int mstream_flush(struct mstream *s)
{
    if (s->err)
        return s->err;
    int ret = mstream_write_fd(s, s->buf, s->len);
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
            return mstream_write_fd(s, data, len);
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

int mstream_write_header(struct mstream *s)
{
    uint8_t h[MSTREAM_HEADER_SIZE] = {0};

    memcpy(h, MSTREAM_MAGIC, 8);
    put32(h + 8, MSTREAM_VERSION);
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
 * A section that fits the buffer is copied first and checksummed from the copy: guest pages
 * change under a running guest, and the CRC must describe the bytes that are sent.
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
            memcpy(p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }
        mstream_section_header(hdr, type, id, len,
                               mstream_crc32c(0, hdr + MSTREAM_SECTION_HDR, len));
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
    return 0;
}

int mstream_read_section(struct mstream *s, struct mstream_section *sec, const uint8_t **payload)
{
    uint8_t h[MSTREAM_SECTION_HDR];
    char what[64];
    int ret = mstream_read_fd(s, h, sizeof(h), "a section header");

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
    ret = mstream_read_fd(s, s->buf, sec->length, what);
    if (ret < 0)
        return ret;
    if (get32(h + 16) != mstream_crc32c(0, s->buf, sec->length))
        return mstream_fail(s, -EPROTO, "corrupted %s section %u (checksum mismatch)",
                            mstream_type_names[sec->type], sec->id);
    *payload = s->buf;
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

int mstream_ram_parse(const uint8_t *payload, size_t size, struct mstream_ram_page *pages,
                      unsigned int *count)
{
    uint32_t n;
    size_t data_off;

    if (size < 8)
        return -EPROTO;
    n = get32(payload);
    if (n == 0 || n > MSTREAM_RAM_BATCH || size < 8 + (size_t)n * 8)
        return -EPROTO;
    data_off = 8 + (size_t)n * 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = get64(payload + 8 + (size_t)i * 8);

        if (e & (MSTREAM_PAGE - 1) & ~MSTREAM_PAGE_ZERO)
            return -EPROTO;
        pages[i].gpa = e & ~(uint64_t)(MSTREAM_PAGE - 1);
        if (e & MSTREAM_PAGE_ZERO) {
            pages[i].data = NULL;
            continue;
        }
        if (size - data_off < MSTREAM_PAGE)
            return -EPROTO;
        pages[i].data = payload + data_off;
        data_off += MSTREAM_PAGE;
    }
    if (data_off != size)
        return -EPROTO;
    *count = n;
    return 0;
}
