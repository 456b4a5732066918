/*
 * A read-only flattened-device-tree walker for the firmware: checks the
 * header, then reports nodes and properties in order through callbacks.
 * Everything is bounds-checked against the blob's own sizes. Host-compilable
 * (unit-tested in tests/firmware against libfdt-built blobs).
 *
 * Why not libfdt: Debian's libfdt.a is built for hosted user space (stack
 * protector, PIC, libc string functions); a walker this size is smaller than
 * the glue needed to link it freestanding.
 */
#ifndef FW_DT_H
#define FW_DT_H

#include <stddef.h>
#include <stdint.h>

#define DT_MAX_DEPTH 16

struct dt_visitor {
    void *ctx;
    /* depth 0 is the root (name ""). */
    void (*begin_node)(void *ctx, unsigned int depth, const char *name);
    void (*prop)(void *ctx, unsigned int depth, const char *name, const void *value, uint32_t len);
    void (*end_node)(void *ctx, unsigned int depth);
};

/* 0 when blob is a well-formed version 16/17 FDT of at most max bytes, else -EINVAL. */
int dt_check(const void *blob, size_t max);
/* Walks a dt_check()ed blob; -EINVAL at the first malformed token (callbacks may have run). */
int dt_walk(const void *blob, const struct dt_visitor *v);

/* Big-endian cell readers for property values. */
uint32_t dt_be32(const void *p);
uint64_t dt_be64(const void *p);
/* Reads an address or size of `cells` (1 or 2) cells at p. */
uint64_t dt_cells(const void *p, unsigned int cells);
/* Whether a "compatible" value (a list of NUL-terminated strings) contains s. */
int dt_compatible(const void *value, uint32_t len, const char *s);

#endif
