/*
 * Initial ramdisk placement: a file copied straight into guest RAM, page
 * aligned, as high as possible inside a window the boot protocol allows.
 */
#ifndef MINIVMM_INITRD_H
#define MINIVMM_INITRD_H

#include <stdint.h>

#include "gmem.h"
#include "kload.h"

/*
 * Where a size-byte image goes: the highest page-aligned address a with
 * lo <= a and a + size <= hi. Returns -ENOSPC when it does not fit.
 */
MUST_CHECK int initrd_place(uint64_t size, uint64_t lo, uint64_t hi, uint64_t *addr);

/*
 * Opens and maps path read-only for the plan l (which unmaps it). Errors logged naming
 * the path: missing or unreadable file, not a regular file, empty file.
 */
MUST_CHECK int initrd_map(const char *path, struct kload *l, const uint8_t **data, uint64_t *size);

/*
 * Places size bytes with initrd_place(lo, hi) and plans their copy from data. -ENOSPC
 * (logged, naming path) when they do not fit between lo and hi or the window is not RAM.
 */
MUST_CHECK int initrd_plan(struct gmem *gm, const char *path, const uint8_t *data, uint64_t size,
                           uint64_t lo, uint64_t hi, struct kload *l, uint64_t *addr);

#endif
