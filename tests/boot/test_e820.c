/*
 * Unit tests for vmm/boot/e820.c: the map a small guest and a guest split
 * around the MMIO hole get, checked for order, overlaps and total RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "e820.h"
#include "fixture.h"
#include "layout.h"

static void check_sorted_disjoint(const struct e820_map *m)
{
    for (unsigned int i = 1; i < m->n; i++)
        cr_assert_geq(m->r[i].addr, m->r[i - 1].addr + m->r[i - 1].size, "entry %u overlaps", i);
}

static uint64_t ram_total(const struct e820_map *m)
{
    uint64_t sum = 0;

    for (unsigned int i = 0; i < m->n; i++)
        if (m->r[i].type == E820_TYPE_RAM)
            sum += m->r[i].size;
    return sum;
}

static void check_range(const struct e820_map *m, unsigned int i, uint64_t addr, uint64_t size,
                        uint32_t type)
{
    cr_assert_lt(i, m->n);
    cr_assert_eq(m->r[i].addr, addr, "entry %u addr 0x%llx", i, (unsigned long long)m->r[i].addr);
    cr_assert_eq(m->r[i].size, size, "entry %u size 0x%llx", i, (unsigned long long)m->r[i].size);
    cr_assert_eq(m->r[i].type, type, "entry %u type", i);
}

Test(e820, small_guest)
{
    struct gmem gm;
    struct e820_map m;

    fixture_gmem(&gm, 256 * MiB);
    cr_assert_eq(e820_build(&gm, &m), 0);
    cr_assert_eq(m.n, 5);
    check_range(&m, 0, 0, 0x9fc00, E820_TYPE_RAM);
    check_range(&m, 1, 0x9fc00, 0x100000 - 0x9fc00, E820_TYPE_RESERVED);
    check_range(&m, 2, 0x100000, 256 * MiB - 0x100000, E820_TYPE_RAM);
    check_range(&m, 3, LAYOUT_IOAPIC_BASE, 0x1000, E820_TYPE_RESERVED);
    check_range(&m, 4, LAYOUT_LAPIC_BASE, 0x1000, E820_TYPE_RESERVED);
    check_sorted_disjoint(&m);
    /* The EBDA and the VGA/BIOS area are in RAM but not reported as usable RAM. */
    cr_assert_eq(ram_total(&m), 256 * MiB - (0x100000 - 0x9fc00));
    cr_assert_eq(e820_low_ram_end(&gm), 256 * MiB);
    gmem_destroy(&gm);
}

Test(e820, guest_split_around_the_hole)
{
    const uint64_t size = 3 * GiB + 512 * MiB; /* sparse memfd: costs nothing */
    struct gmem gm;
    struct e820_map m;

    fixture_gmem(&gm, size);
    cr_assert_eq(gm.nregions, 2);
    cr_assert_eq(e820_build(&gm, &m), 0);
    cr_assert_eq(m.n, 6);
    check_range(&m, 2, 0x100000, LAYOUT_MMIO_HOLE_START - 0x100000, E820_TYPE_RAM);
    check_range(&m, 5, LAYOUT_HIGH_RAM_START, size - LAYOUT_MMIO_HOLE_START, E820_TYPE_RAM);
    check_sorted_disjoint(&m);
    cr_assert_eq(ram_total(&m), size - (0x100000 - 0x9fc00));
    cr_assert_eq(e820_low_ram_end(&gm), LAYOUT_MMIO_HOLE_START);
    /* Nothing usable inside the hole. */
    for (unsigned int i = 0; i < m.n; i++)
        if (m.r[i].type == E820_TYPE_RAM)
            cr_assert(m.r[i].addr + m.r[i].size <= LAYOUT_MMIO_HOLE_START ||
                      m.r[i].addr >= LAYOUT_MMIO_HOLE_END);
    gmem_destroy(&gm);
}

Test(e820, exactly_the_hole_start_has_no_high_ram)
{
    struct gmem gm;
    struct e820_map m;

    fixture_gmem(&gm, LAYOUT_MMIO_HOLE_START);
    cr_assert_eq(e820_build(&gm, &m), 0);
    cr_assert_eq(m.n, 5);
    cr_assert_eq(ram_total(&m), LAYOUT_MMIO_HOLE_START - (0x100000 - 0x9fc00));
    gmem_destroy(&gm);
}

Test(e820, tiny_guest_gets_only_what_it_has)
{
    struct gmem gm;
    struct e820_map m;

    fixture_gmem(&gm, 512 * 1024);
    cr_assert_eq(e820_build(&gm, &m), 0);
    check_range(&m, 0, 0, 512 * 1024, E820_TYPE_RAM);
    cr_assert_eq(ram_total(&m), 512 * 1024);
    gmem_destroy(&gm);
}

Test(e820, no_ram_is_an_error)
{
    struct gmem gm = {.fd = -1};
    struct e820_map m;

    cr_assert_eq(e820_build(&gm, &m), -EINVAL);
}
