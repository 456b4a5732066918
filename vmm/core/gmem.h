/*
 * Guest RAM: one memfd (shareable with vhost-user back-ends), mapped once
 * MAP_SHARED in the VMM, laid out in up to two regions around the MMIO hole.
 * gmem is the only owner of guest addresses: everything else translates a
 * guest-physical range through gmem_ptr(), which checks it lies wholly in RAM.
 */
#ifndef MINIVMM_GMEM_H
#define MINIVMM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define GMEM_MAX_REGIONS 2

struct gmem_region {
    uint64_t gpa;       /* guest-physical start */
    uint64_t size;      /* bytes */
    uint8_t *hva;       /* where the VMM sees it */
    uint64_t fd_offset; /* offset of gpa inside the memfd */
};

struct gmem {
    int fd;             /* the memfd (or hugetlb memfd); -1 when not created */
    uint64_t ram_size;  /* total guest RAM */
    uint8_t *base;      /* mapping of the whole memfd */
    uint64_t page_size; /* 4 KiB, or the huge page size */
    unsigned int nregions;
    struct gmem_region regions[GMEM_MAX_REGIONS];
};

/* Splits ram_size around the MMIO hole; pure, no allocation. Returns region count. */
unsigned int gmem_layout(uint64_t ram_size, struct gmem_region regions[GMEM_MAX_REGIONS]);

/* Creates the memfd (hugetlb-backed when hugepages), sizes, seals against shrinking, maps. */
MUST_CHECK int gmem_create(struct gmem *gm, uint64_t ram_size, bool hugepages);
/* Accepts a half-built or zeroed gmem (fd -1 / base NULL). */
void gmem_destroy(struct gmem *gm);

/* Host pointer for [gpa, gpa+len) if it lies wholly inside one RAM region, else NULL. */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);
bool gmem_is_ram(const struct gmem *gm, uint64_t gpa, uint64_t len);
MUST_CHECK int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, uint64_t len);
MUST_CHECK int gmem_write(const struct gmem *gm, uint64_t gpa, const void *buf, uint64_t len);
/* Highest guest-physical address + 1 (sizes dirty bitmaps). */
uint64_t gmem_end(const struct gmem *gm);

#endif
