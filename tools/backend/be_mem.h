/*
 * Guest memory as the back-end sees it: the regions of SET_MEM_TABLE, each mapped from its
 * fd, and the two translations a back-end needs, both bounds-checked over the whole range:
 * guest-physical (descriptor buffers) and front-end user address (ring addresses,
 * vhost-user.md §2.2 "Address spaces") -> pointer into our mapping.
 */
#ifndef BE_MEM_H
#define BE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "vu_wire.h"

struct be_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;
    uint8_t *host; /* gpa maps to host + (gpa - this.gpa) */
    void *map;     /* our mmap of the fd from offset 0: mmap_offset + size bytes */
    size_t map_len;
};

struct be_mem {
    struct be_region regions[VU_MEM_MAX_REGIONS];
    unsigned int n;
};

/*
 * Replaces the table with n regions (1..VU_MEM_MAX_REGIONS), mapping fds[i] for w[i]. Closes
 * every fd (a mapping keeps what it needs). Refuses, keeping the old table: an empty or
 * wrapping region, regions overlapping in either address space, an fd shorter than
 * mmap_offset + size (touching past its end would be SIGBUS here). Writes a reason to why.
 */
int be_mem_set(struct be_mem *mem, const struct vu_wire_region *w, const int *fds, unsigned int n,
               char *why, size_t whylen);
/* Unmaps everything (also a zeroed, never-set table). */
void be_mem_clear(struct be_mem *mem);

/* [gpa, gpa + len) wholly inside one region: its address in our mapping, else NULL. */
void *be_mem_gpa(const struct be_mem *mem, uint64_t gpa, uint64_t len);
/* The same for a front-end user address. */
void *be_mem_uva(const struct be_mem *mem, uint64_t uaddr, uint64_t len);

#endif
