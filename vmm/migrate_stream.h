/*
 * The migration and snapshot stream: plain data, the same on a socket and in a file.
 *   header:  "MVMSTATE" | u32 version | u32 flags | u64 reserved | u32 reserved | u32 crc
 *   section: u32 type | u32 id | u64 length | u32 payload crc | u32 header crc, then payload
 * The stream ends with an END section. All integers little-endian (x86 only); CRCs are
 * CRC-32C. Readers refuse a newer version, an unknown section type, a length past
 * MSTREAM_SECTION_MAX, a CRC mismatch and a stream that ends early, each with one clear
 * reason (mstream_error()). State sections (VM, CPU, DEVICE, PLATFORM) are lists of records
 * (u32 tag | u32 length | data) so that a record can be added without a new version.
 * A RAM section is a run of contiguous guest pages starting at page frame `id` (gpa / 4096):
 * either, for n pages (1..MSTREAM_RAM_RUN_MAX), n u32 CRC-32Cs (one per page) then the n
 * pages (length n * 4100; the section's CRC covers the CRCs), or, for a run of zero pages, a
 * u32 page count (length 4). Version 2 (this one) has these runs; version 1 had batches of
 * single pages, and is refused.
 *
 * RAM data is sent straight from a running guest's memory, which may change between the
 * checksum and the copy into the socket; such a page is dirty again, so it is sent again
 * later (dirty bits are taken before pages are read). Hence a page that does not match its
 * CRC is only marked suspect; a later copy of it that matches (or a zero run over it) clears
 * the mark, and END refuses the stream while any page is still suspect. A stream that
 * cannot resend (a snapshot, or corruption on the wire) is refused all the same, at END,
 * naming the page. Section headers and all other payloads are checked where they are read.
 *
 * Header flag MSTREAM_F_RAM_UNCHECKED (set by the writer on an AF_UNIX socket): data runs
 * carry no page CRCs (length n * 4096). A UNIX socket is one kernel's memory copy between
 * two processes on one host, with no link to corrupt bytes; there the per-page CRCs cost
 * ~40% of the transfer rate (measured: tools/bench migrate, migrate_stream.c's history).
 * Section headers (page frame and length included) stay checked; TCP and snapshot files
 * keep every page's CRC.
 */
#ifndef MINIVMM_MIGRATE_STREAM_H
#define MINIVMM_MIGRATE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"
#include "migrate_splice.h"

#define MSTREAM_MAGIC           "MVMSTATE"
#define MSTREAM_VERSION         2u
#define MSTREAM_HEADER_SIZE     32u
#define MSTREAM_SECTION_HDR     24u
#define MSTREAM_SECTION_MAX     (64u << 20)
#define MSTREAM_PAGE            4096u
#define MSTREAM_RAM_RUN_MAX     256u                /* pages in a RAM section with data (1 MiB) */
#define MSTREAM_RAM_ZERO_MAX    (1u << 20)          /* pages in a zero run (4 GiB) */
#define MSTREAM_RAM_ZERO_LEN    4u                  /* a zero run's payload: u32 page count */
#define MSTREAM_RAM_PAGE_WIRE   (4u + MSTREAM_PAGE) /* a page and its CRC in a data run */
#define MSTREAM_F_RAM_UNCHECKED 1u                  /* header flag: data runs carry no page CRCs */
#define MSTREAM_PFN_MAX         0xffffffffull       /* page frames fit the section id */

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
    /* Reading a RAM data run: bytes still to be read, where, and its CRC. */
    uint64_t pending;
    uint64_t pending_pfn; /* the pages' CRCs wait in buf */
    /* Pages whose last copy did not match its CRC (see above): a bitmap by page frame. */
    uint64_t *suspect;
    uint64_t suspect_bits;
    struct msplice splice; /* RAM runs to a socket */
    bool ram_unchecked;    /* MSTREAM_F_RAM_UNCHECKED: from the header (or set before writing it) */
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

/*
 * RAM runs. Writing: npages pages starting at page frame pfn, straight from pages (no copy;
 * see above for pages that change meanwhile); a zero run is only counted.
 */
MUST_CHECK int mstream_write_ram(struct mstream *s, uint64_t pfn, const void *pages,
                                 uint32_t npages);
MUST_CHECK int mstream_write_zero_run(struct mstream *s, uint64_t pfn, uint32_t npages);
/* Reading: a RAM section with data has no payload from mstream_read_section; the caller
 * reads its mstream_ram_pages() pages with mstream_read_data before the next section. */
bool mstream_ram_is_data(const struct mstream *s, const struct mstream_section *sec);
uint64_t mstream_ram_pages(const struct mstream *s,
                           const struct mstream_section *sec); /* 0 unless data */
MUST_CHECK int mstream_read_data(struct mstream *s, void *dst, size_t len);
/* A zero run's page count; -EPROTO if the section is malformed. */
MUST_CHECK int mstream_ram_zero_run(struct mstream *s, const struct mstream_section *sec,
                                    const uint8_t *payload, uint32_t *npages);

#endif
