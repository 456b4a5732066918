/*
 * Unit tests for firmware/machine.c and firmware/dt.c: the firmware reads back
 * exactly what vmm/dtb.c describes, finds the tree through the PVH module
 * list, falls back to the command line without one, and survives corrupted
 * blobs (run under ASan: every walk is bounds-checked).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "dtb.h"
#include "layout.h"
#include "machine.h"
#include "pvh_abi.h"

static const struct dtb_range ram[] = {
    {0, LAYOUT_MMIO_HOLE_START},
    {LAYOUT_HIGH_RAM_START, 1ULL << 30},
};
static const struct dtb_virtio virtio[] = {
    {LAYOUT_VIRTIO_MMIO_BASE, LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_IRQ_VIRTIO_BASE},
    {LAYOUT_VIRTIO_MMIO_BASE + LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_VIRTIO_MMIO_SIZE, 23},
};

/* A blob in an allocation of exactly its size, so ASan sees any overrun. */
static uint8_t *build(size_t *size)
{
    static uint8_t tmp[LAYOUT_DTB_MAX];
    struct dtb_machine m = {
        .mem = ram,
        .nmem = 2,
        .virtio = virtio,
        .nvirtio = 2,
        .testdev = {LAYOUT_TESTDEV_BASE, LAYOUT_TESTDEV_SIZE},
        .ncpus = 3,
        .bootargs = "test=blk sectors=64",
    };
    int len = dtb_build(&m, tmp, sizeof(tmp));
    uint8_t *blob;

    cr_assert_gt(len, 0);
    blob = malloc((size_t)len);
    memcpy(blob, tmp, (size_t)len);
    *size = (size_t)len;
    return blob;
}

static void check_machine(const struct machine *m)
{
    cr_assert(m->from_dtb);
    cr_assert_str_eq(m->cmdline, "test=blk sectors=64");
    cr_assert_eq(m->ncpus, 3);
    cr_assert_eq(m->nmem, 2);
    cr_assert_eq(m->mem[1].base, LAYOUT_HIGH_RAM_START);
    cr_assert_eq(m->mem[1].size, 1ULL << 30);
    cr_assert_eq(m->nvirtio, 2);
    cr_assert_eq(m->virtio[0].base, LAYOUT_VIRTIO_MMIO_BASE);
    cr_assert_eq(m->virtio[0].size, LAYOUT_VIRTIO_MMIO_SIZE);
    cr_assert_eq(m->virtio[0].gsi, LAYOUT_IRQ_VIRTIO_BASE);
    cr_assert_eq(m->virtio[1].gsi, 23);
    cr_assert_eq(m->testdev.base, LAYOUT_TESTDEV_BASE);
    cr_assert_eq(m->testdev.size, LAYOUT_TESTDEV_SIZE);
}

Test(fw_machine, reads_what_the_vmm_describes)
{
    size_t size;
    uint8_t *blob = build(&size);
    struct machine m;

    cr_assert_eq(machine_from_dtb(&m, blob, size), 0);
    check_machine(&m);
    free(blob);
}

Test(fw_machine, finds_the_tree_through_the_pvh_module_list)
{
    size_t size;
    uint8_t *blob = build(&size);
    struct hvm_modlist_entry mods[2] = {
        {.paddr = 0x1234, .size = 10}, /* an initrd: no name */
        {.paddr = (uintptr_t)blob, .size = size, .cmdline_paddr = (uintptr_t) "dtb"},
    };
    struct hvm_start_info si = {
        .magic = PVH_START_MAGIC,
        .version = 1,
        .nr_modules = 2,
        .modlist_paddr = (uintptr_t)mods,
        .cmdline_paddr = (uintptr_t) "ignored when there is a tree",
    };
    struct machine m;

    cr_assert_eq(machine_discover(&m, (uintptr_t)&si), 0);
    check_machine(&m);
    free(blob);
}

Test(fw_machine, without_a_tree_uses_memmap_and_cmdline)
{
    struct hvm_memmap_table_entry map[3] = {
        {0, 0x9fc00, PVH_MEMMAP_RAM, 0},
        {0x9fc00, 0x400, 2, 0},
        {0x100000, 0x3f00000, PVH_MEMMAP_RAM, 0},
    };
    struct hvm_start_info si = {
        .magic = PVH_START_MAGIC,
        .version = 1,
        .cmdline_paddr = (uintptr_t) "test=blk virtio_mmio.device=512@0xfeb00e00:12",
        .memmap_paddr = (uintptr_t)map,
        .memmap_entries = 3,
    };
    struct machine m;

    cr_assert_eq(machine_discover(&m, (uintptr_t)&si), 0);
    cr_assert_not(m.from_dtb);
    cr_assert_eq(m.nmem, 2);
    cr_assert_eq(m.mem[1].base, 0x100000);
    cr_assert_eq(m.nvirtio, 1);
    cr_assert_eq(m.virtio[0].base, 0xfeb00e00);
    cr_assert_eq(m.virtio[0].gsi, 12);
    cr_assert_eq(m.testdev.size, 0);
    si.magic = 0;
    cr_assert_eq(machine_discover(&m, (uintptr_t)&si), -EINVAL);
}

Test(fw_machine, refuses_broken_headers)
{
    size_t size;
    uint8_t *blob = build(&size);
    struct machine m;

    cr_assert_eq(machine_from_dtb(&m, blob, size - 1), -EINVAL, "totalsize past the area");
    blob[0] ^= 1;
    cr_assert_eq(machine_from_dtb(&m, blob, size), -EINVAL, "bad magic");
    blob[0] ^= 1;
    fdt_set_off_dt_struct(blob, (uint32_t)size);
    cr_assert_eq(machine_from_dtb(&m, blob, size), -EINVAL, "struct block outside");
    cr_assert_str_eq(m.cmdline, "", "a failed parse leaves a usable empty command line");
    free(blob);
}

/* Random byte flips: the walker may reject or accept, never read outside the blob. */
Test(fw_machine, survives_corruption)
{
    size_t size;
    uint8_t *clean = build(&size);
    uint8_t *blob = malloc(size);
    struct machine m;
    unsigned int accepted = 0;

    srand(1);
    for (unsigned int round = 0; round < 20000; round++) {
        memcpy(blob, clean, size);
        for (unsigned int flips = 1 + (unsigned int)rand() % 4; flips; flips--)
            blob[(size_t)rand() % size] ^= (uint8_t)(1 + rand() % 255);
        if (machine_from_dtb(&m, blob, size) == 0) {
            accepted++;
            cr_assert_leq(m.nmem, MACHINE_MAX_MEM);
            cr_assert_leq(m.nvirtio, MACHINE_MAX_VIRTIO);
        }
    }
    cr_assert_gt(accepted, 0, "flips inside values leave a valid tree");
    free(blob);
    free(clean);
}
