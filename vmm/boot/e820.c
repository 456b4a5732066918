/*
 * Builds the E820 map from the gmem regions: the classic PC picture (base
 * memory, EBDA/VGA/BIOS hole, extended memory) plus the APIC windows and the
 * RAM relocated above 4 GiB when the guest is bigger than the MMIO hole start.
 */
#include "e820.h"

#include <errno.h>

#include "layout.h"

static void e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
    if (size == 0 || map->n >= E820_MAX)
        return;
    map->r[map->n++] = (struct e820_range){.addr = addr, .size = size, .type = type};
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t e820_low_ram_end(const struct gmem *gm)
{
    if (gm->nregions == 0 || gm->regions[0].gpa != 0)
        return 0;
    return gm->regions[0].size;
}

int e820_build(const struct gmem *gm, struct e820_map *map)
{
    uint64_t low_end = e820_low_ram_end(gm);

    map->n = 0;
    if (low_end == 0)
        return -EINVAL;
    /* Linux finds the MP table by scanning the last KiB of base memory (the EBDA). */
    e820_add(map, 0, min_u64(low_end, LAYOUT_EBDA_START), E820_TYPE_RAM);
    if (low_end > LAYOUT_EBDA_START)
        e820_add(map, LAYOUT_EBDA_START, LAYOUT_HIMEM_START - LAYOUT_EBDA_START,
                 E820_TYPE_RESERVED);
    if (low_end > LAYOUT_HIMEM_START)
        e820_add(map, LAYOUT_HIMEM_START, low_end - LAYOUT_HIMEM_START, E820_TYPE_RAM);
    /* The APIC windows are MMIO; marking them keeps the kernel from handing them out. */
    e820_add(map, LAYOUT_IOAPIC_BASE, 0x1000, E820_TYPE_RESERVED);
    e820_add(map, LAYOUT_LAPIC_BASE, 0x1000, E820_TYPE_RESERVED);
    for (unsigned int i = 1; i < gm->nregions; i++)
        e820_add(map, gm->regions[i].gpa, gm->regions[i].size, E820_TYPE_RAM);
    return 0;
}
