/*
 * Unit tests for vmm/boot/pvh.c: hvm_start_info, module list (initrd first,
 * device tree as the "dtb" module), memory map and command line read back
 * from guest RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "layout.h"
#include "pvh.h"

static void start_info(struct gmem *gm, struct hvm_start_info *si)
{
    cr_assert_eq(gmem_read(gm, LAYOUT_ZERO_PAGE, si, sizeof(*si)), 0);
    cr_assert_eq(si->magic, 0x336ec578);
    cr_assert_eq(si->version, 1);
    cr_assert_eq(si->rsdp_paddr, 0);
}

Test(pvh, start_info_with_initrd_and_dtb)
{
    struct gmem gm;
    struct e820_map map;
    struct hvm_start_info si;
    struct hvm_modlist_entry mods[2];
    uint8_t dtb[100];

    memset(dtb, 0xd7, sizeof(dtb));
    fixture_gmem(&gm, 64 * MiB);
    cr_assert_eq(e820_build(&gm, &map), 0);
    cr_assert_eq(pvh_write_dtb(&gm, dtb, sizeof(dtb)), 0);
    struct pvh_params p = {.cmdline = "console=ttyS0",
                           .initrd_addr = 32 * MiB,
                           .initrd_size = 777,
                           .dtb_addr = LAYOUT_DTB,
                           .dtb_size = sizeof(dtb),
                           .e820 = &map};
    cr_assert_eq(pvh_write_start_info(&gm, &p), 0);
    start_info(&gm, &si);
    cr_assert_str_eq((const char *)gmem_ptr(&gm, si.cmdline_paddr, 14), "console=ttyS0");
    cr_assert_eq(si.nr_modules, 2);
    cr_assert_eq(gmem_read(&gm, si.modlist_paddr, mods, sizeof(mods)), 0);
    cr_assert_eq(mods[0].paddr, 32 * MiB, "module 0 is the initrd");
    cr_assert_eq(mods[0].size, 777);
    cr_assert_eq(mods[0].cmdline_paddr, 0);
    cr_assert_eq(mods[1].paddr, LAYOUT_DTB);
    cr_assert_eq(mods[1].size, sizeof(dtb));
    cr_assert_str_eq((const char *)gmem_ptr(&gm, mods[1].cmdline_paddr, 4), "dtb");
    cr_assert_eq(memcmp(gmem_ptr(&gm, mods[1].paddr, sizeof(dtb)), dtb, sizeof(dtb)), 0);
    cr_assert_eq(si.memmap_entries, map.n);
    for (unsigned int i = 0; i < map.n; i++) {
        struct hvm_memmap_table_entry e;
        cr_assert_eq(gmem_read(&gm, si.memmap_paddr + i * sizeof(e), &e, sizeof(e)), 0);
        cr_assert_eq(e.addr, map.r[i].addr);
        cr_assert_eq(e.size, map.r[i].size);
        cr_assert_eq(e.type, map.r[i].type);
    }
    gmem_destroy(&gm);
}

Test(pvh, dtb_alone_is_module_zero)
{
    struct gmem gm;
    struct e820_map map;
    struct hvm_start_info si;
    struct hvm_modlist_entry mod;

    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(e820_build(&gm, &map), 0);
    struct pvh_params p = {.dtb_addr = LAYOUT_DTB, .dtb_size = 8, .e820 = &map};
    cr_assert_eq(pvh_write_start_info(&gm, &p), 0);
    start_info(&gm, &si);
    cr_assert_eq(si.nr_modules, 1);
    cr_assert_eq(gmem_read(&gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
    cr_assert_str_eq((const char *)gmem_ptr(&gm, mod.cmdline_paddr, 4), "dtb");
    cr_assert_str_eq((const char *)gmem_ptr(&gm, si.cmdline_paddr, 1), "", "NULL cmdline");
    gmem_destroy(&gm);
}

Test(pvh, no_modules)
{
    struct gmem gm;
    struct e820_map map;
    struct hvm_start_info si;

    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(e820_build(&gm, &map), 0);
    struct pvh_params p = {.cmdline = "x", .e820 = &map};
    cr_assert_eq(pvh_write_start_info(&gm, &p), 0);
    start_info(&gm, &si);
    cr_assert_eq(si.nr_modules, 0);
    gmem_destroy(&gm);
}

Test(pvh, limits)
{
    static char cmd[LAYOUT_CMDLINE_MAX + 1];
    static uint8_t dtb[LAYOUT_DTB_MAX + 1];
    struct gmem gm;
    struct e820_map map;

    memset(cmd, 'a', LAYOUT_CMDLINE_MAX);
    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(e820_build(&gm, &map), 0);
    struct pvh_params p = {.cmdline = cmd, .e820 = &map};
    fixture_capture_begin();
    cr_assert_eq(pvh_write_start_info(&gm, &p), -E2BIG);
    cmd[LAYOUT_CMDLINE_MAX - 1] = '\0';
    cr_assert_eq(pvh_write_start_info(&gm, &p), 0, "LAYOUT_CMDLINE_MAX - 1 bytes fit");
    cr_assert_eq(pvh_write_dtb(&gm, dtb, LAYOUT_DTB_MAX + 1), -E2BIG);
    cr_assert_eq(pvh_write_dtb(&gm, dtb, LAYOUT_DTB_MAX), 0);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "kernel command line is 65536 bytes, at most 65535 fit"), "%s", log);
    gmem_destroy(&gm);
}
