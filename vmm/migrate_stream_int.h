/*
 * What migrate_stream.c and migrate_stream_ram.c share and nobody else uses: little-endian
 * field access, the raw fd reads and writes, and the section header's layout.
 */
#ifndef MINIVMM_MIGRATE_STREAM_INT_H
#define MINIVMM_MIGRATE_STREAM_INT_H

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "migrate_stream.h"

static inline void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static inline uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Writes every iov (consumed as it goes): one sendmsg for all of them on a socket. */
MUST_CHECK int mstream_write_fd(struct mstream *s, struct iovec *iov, int n);
/* Reads exactly len bytes; what: for the "ends early" message. */
MUST_CHECK int mstream_read_fd(struct mstream *s, void *data, size_t len, const char *what);
/* Fills a section header (type, id, length, payload CRC, header CRC). */
void mstream_section_header(uint8_t *h, uint32_t type, uint32_t id, uint64_t len, uint32_t crc);
/* At END: -EPROTO (failing the stream) when a page never arrived intact. */
MUST_CHECK int mstream_suspect_check(struct mstream *s);

#endif
