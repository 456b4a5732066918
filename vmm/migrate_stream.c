/*
 * The stream's framing (migrate_stream.h): header, checksummed sections and records (RAM
 * runs are in migrate_stream_ram.c). Reads and writes are blocking and whole; the caller bounds them with socket
 * timeouts or cancels them by shutting the socket down.
 */
#include "migrate_stream.h"

#include "migrate_crc.h"
#include "migrate_stream_int.h"

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

/* Writes every iov (consumed as it goes): one sendmsg for all of them on a socket. */
int mstream_write_fd(struct mstream *s, struct iovec *iov, int n)
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

void mstream_section_header(uint8_t *h, uint32_t type, uint32_t id, uint64_t len,
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
int mstream_read_fd(struct mstream *s, void *data, size_t len, const char *what)
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
