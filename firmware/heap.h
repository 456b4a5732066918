/*
 * Memory for buffers and rings: a bump allocator over the RAM that follows
 * the firmware image (identity-mapped, ring-3 accessible). Nothing is freed:
 * a test runs once per boot.
 */
#ifndef FW_HEAP_H
#define FW_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "machine.h"

void heap_init(const struct machine *m);
/* Zeroed memory aligned to align (a power of 2), or NULL when RAM runs out. */
void *heap_alloc(size_t size, size_t align);
/* The first byte never handed out, and the end of the heap's RAM range. */
uint64_t heap_next(void);
uint64_t heap_end(void);

#endif
