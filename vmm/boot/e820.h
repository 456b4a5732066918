/*
 * The guest's E820 memory map, derived from the gmem regions and the fixed
 * layout. One map feeds both boot paths: the Linux zero page and PVH's memmap.
 */
#ifndef MINIVMM_E820_H
#define MINIVMM_E820_H

#include <stdint.h>

#include "gmem.h"

/* E820 types (ACPI "address range types"). */
#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2

/* RAM 0-EBDA, low reserved area, low RAM, IOAPIC, LAPIC, high RAM, with room to spare. */
#define E820_MAX 8

struct e820_range {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

struct e820_map {
    unsigned int n;
    struct e820_range r[E820_MAX];
};

/*
 * Fills *map, sorted by address, without overlaps:
 *   RAM [0, EBDA) | reserved [EBDA, 1 MiB) | RAM [1 MiB, low end) |
 *   reserved IOAPIC and LAPIC pages | RAM [4 GiB, 4 GiB + high size).
 * Ranges that gm does not back are left out (a guest smaller than 1 MiB gets
 * only what it has). Returns -EINVAL when gm has no RAM.
 */
MUST_CHECK int e820_build(const struct gmem *gm, struct e820_map *map);

/* RAM end below the MMIO hole: where low-memory placement (initrd, kernel) must stop. */
uint64_t e820_low_ram_end(const struct gmem *gm);

#endif
