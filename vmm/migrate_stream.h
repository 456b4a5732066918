/*
 * The migration and snapshot stream: plain data, the same on a socket and in a file.
 *   header:  "MVMSTATE" | u32 version | u32 flags | u64 reserved | u32 reserved | u32 crc
 *   section: u32 type | u32 id | u64 length | u32 payload crc | u32 header crc, then payload
 * The stream ends with an END section. All integers little-endian (x86 only); CRCs are
 * CRC-32C. Readers refuse a newer version, an unknown section type, a length past
 * MSTREAM_SECTION_MAX, a CRC mismatch and a stream that ends early, each with one clear
 * reason (mstream_error()). State sections (VM, CPU, DEVICE, PLATFORM) are lists of records
 * (u32 tag | u32 length | data) so that a record can be added without a new version.
 */
#ifndef MINIVMM_MIGRATE_STREAM_H
#define MINIVMM_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"

#define MSTREAM_MAGIC       "MVMSTATE"
#define MSTREAM_VERSION     1u
#define MSTREAM_HEADER_SIZE 32u
#define MSTREAM_SECTION_HDR 24u
#define MSTREAM_SECTION_MAX (64u << 20)
#define MSTREAM_PAGE        4096u
#define MSTREAM_RAM_BATCH   256u /* pages per RAM section */
#define MSTREAM_PAGE_ZERO   1ull /* low bit of a RAM entry: the page is all zeroes */

enum mstream_type {
    MSTREAM_CONFIG = 1,   /* the machine's shape: must match the destination's */
    MSTREAM_RAM = 2,      /* a batch of pages */
    MSTREAM_VM = 3,       /* irqchip, PIT, clock */
    MSTREAM_CPU = 4,      /* one vCPU (id = index) */
    MSTREAM_DEVICE = 5,   /* one virtio device (id = index) */
    MSTREAM_PLATFORM = 6, /* UART, test device */
    MSTREAM_END = 7,
};
#define MSTREAM_TYPE_MAX MSTREAM_END

struct mstream_section {
    uint32_t type;
    uint32_t id;
    uint64_t length;
};

/* The machine's shape, sent first: a destination built differently refuses the stream. */
struct mstream_config {
    uint64_t ram_size;
    uint32_t ncpus;
    uint32_t ndevices;
    uint32_t device_ids[32]; /* virtio device ids in window order */
};

struct mstream {
    int fd;
    uint8_t *buf; /* write: pending output; read: the current section's payload */
    size_t cap;
    size_t len;
    uint64_t bytes; /* moved through fd so far */
    int err;        /* first error, sticky */
    char why[256];
};

uint32_t mstream_crc32c(uint32_t crc, const void *data, size_t len);

MUST_CHECK int mstream_init(struct mstream *s, int fd);
void mstream_fini(struct mstream *s); /* does not close fd */
const char *mstream_error(const struct mstream *s);
/* Records the first failure (later ones keep the first reason); returns err. */
int mstream_fail(struct mstream *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writing: buffered; mstream_flush() pushes everything to fd. */
MUST_CHECK int mstream_write_header(struct mstream *s);
MUST_CHECK int mstream_write_section(struct mstream *s, uint32_t type, uint32_t id,
                                     const struct iovec *iov, unsigned int n);
MUST_CHECK int mstream_flush(struct mstream *s);

/* Reading: the payload stays valid until the next read. */
MUST_CHECK int mstream_read_header(struct mstream *s);
MUST_CHECK int mstream_read_section(struct mstream *s, struct mstream_section *sec,
                                    const uint8_t **payload);

/* Records inside a state section. */
struct mstream_rec_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err;
};
void mstream_rec_put(struct mstream_rec_buf *b, uint32_t tag, const void *data, uint32_t len);
void mstream_rec_free(struct mstream_rec_buf *b);
/* Finds tag; -ENOENT if absent, -EPROTO if the list is malformed, -EMSGSIZE if the length
 * differs from want (want 0: any length, returned in *len). */
MUST_CHECK int mstream_rec_get(const uint8_t *payload, size_t size, uint32_t tag, const void **data,
                               size_t *len, size_t want);

/* RAM batches: parse and check one payload against the RAM size (gpa < ram_end). */
struct mstream_ram_page {
    uint64_t gpa;
    const uint8_t *data; /* NULL: a zero page */
};
MUST_CHECK int mstream_ram_parse(const uint8_t *payload, size_t size,
                                 struct mstream_ram_page *pages, unsigned int *count);

#endif
