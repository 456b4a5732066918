/*
 * Unit tests for vmm/boot/bzimage.c on synthetic images: header validation
 * (good, truncated, bad magic, old protocol, no 64-bit entry, huge
 * setup_sects), placement, and the zero page read back field by field.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "fixture.h"
#include "kload.h"
#include "layout.h"

/* bzimage_plan carried out at once (a kload copy). */
static int bzimage_load_now(const struct bzimage *bz, struct gmem *gm, const char *name,
                            struct bzimage_placement *pl)
{
    struct kload l;
    int ret;

    kload_init(&l);
    ret = bzimage_plan(bz, gm, name, &l, pl);
    if (ret == 0)
        ret = kload_start(&l, gm, KLOAD_COPY, NULL, NULL);
    kload_close(&l);
    return ret;
}

static int parse(const struct fixture_bz *o, size_t trunc, struct bzimage *bz, uint8_t **img)
{
    size_t len;

    *img = fixture_bz_build(o, &len, trunc);
    return bzimage_parse(*img, len, "bz", bz);
}

Test(bzimage, good_image)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    cr_assert_eq(parse(&o, 0, &bz, &img), 0);
    cr_assert_eq(bz.kernel, img + 9 * 512, "protected-mode code after 1 + setup_sects sectors");
    cr_assert_eq(bz.kernel_len, 0x10000);
    cr_assert_eq(bz.hdr_len, 0x26c - 0x1f1);
    cr_assert_eq(bz.hdr.version, 0x020f);
    cr_assert_eq(bz.hdr.pref_address, 16 * MiB);
    free(img);
}

Test(bzimage, setup_sects_zero_means_four)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    o.setup_sects = 0;
    cr_assert_eq(parse(&o, 0, &bz, &img), 0);
    cr_assert_eq(bz.kernel, img + 5 * 512);
    free(img);
}

Test(bzimage, truncated_image)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    fixture_capture_begin();
    cr_assert_eq(parse(&o, 1, &bz, &img), -EINVAL);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "bz: kernel image truncated: 70143 bytes, header says 70144"), "%s", log);
    free(img);
}

Test(bzimage, truncated_inside_the_header)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;
    size_t len;

    img = fixture_bz_build(&o, &len, 0);
    fixture_capture_begin();
    cr_assert_eq(bzimage_parse(img, 0x210, "bz", &bz), -EINVAL);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "kernel image truncated: 528 bytes, header says 620"), "%s", log);
    free(img);
}

Test(bzimage, huge_setup_sects)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;
    size_t len;

    img = fixture_bz_build(&o, &len, 0);
    img[0x1f1] = 255; /* claims 128 KiB of setup in a 70 KiB file */
    fixture_capture_begin();
    cr_assert_eq(bzimage_parse(img, len, "bz", &bz), -EINVAL);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "kernel image truncated"), "%s", log);
    free(img);
}

Test(bzimage, huge_syssize)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;
    size_t len;
    uint32_t huge = 0xffffffff;

    img = fixture_bz_build(&o, &len, 0);
    memcpy(img + 0x1f4, &huge, 4);
    cr_assert_eq(bzimage_parse(img, len, "bz", &bz), -EINVAL);
    free(img);
}

Test(bzimage, bad_magic)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;
    size_t len;

    o.magic = "HdrX";
    img = fixture_bz_build(&o, &len, 0);
    cr_assert_not(bzimage_probe(img, len));
    cr_assert_eq(bzimage_parse(img, len, "bz", &bz), -ENOEXEC);
    cr_assert_not(bzimage_probe(img, 0x205), "too short to hold the magic");
    free(img);
}

Test(bzimage, bad_boot_flag)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    o.boot_flag = 0x1234;
    cr_assert_eq(parse(&o, 0, &bz, &img), -ENOEXEC);
    free(img);
}

Test(bzimage, too_old_protocol)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    o.version = 0x020a;
    fixture_capture_begin();
    cr_assert_eq(parse(&o, 0, &bz, &img), -ENOEXEC);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "boot protocol 2.10 is too old"), "%s", log);
    free(img);
}

Test(bzimage, no_64bit_entry)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    o.xloadflags = 0;
    cr_assert_eq(parse(&o, 0, &bz, &img), -ENOEXEC);
    free(img);
}

Test(bzimage, zimage_rejected)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage bz;
    uint8_t *img;

    o.loadflags = 0;
    cr_assert_eq(parse(&o, 0, &bz, &img), -ENOEXEC);
    free(img);
}

static void load(const struct fixture_bz *o, uint64_t ram, int want, struct bzimage_placement *pl)
{
    struct gmem gm;
    struct bzimage bz;
    uint8_t *img;

    fixture_gmem(&gm, ram);
    cr_assert_eq(parse(o, 0, &bz, &img), 0);
    cr_assert_eq(bzimage_load_now(&bz, &gm, "bz", pl), want);
    if (want == 0) {
        const uint8_t *k = gmem_ptr(&gm, pl->load_addr, bz.kernel_len);
        for (uint64_t i = 0; i < bz.kernel_len; i++)
            cr_assert_eq(k[i], fixture_payload(i), "kernel byte %llu", (unsigned long long)i);
    }
    free(img);
    gmem_destroy(&gm);
}

Test(bzimage, relocatable_loads_at_pref_address)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage_placement pl;

    load(&o, 64 * MiB, 0, &pl);
    cr_assert_eq(pl.load_addr, 16 * MiB);
    cr_assert_eq(pl.end, 16 * MiB + 4 * MiB);
}

Test(bzimage, non_relocatable_loads_at_1mib)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage_placement pl;

    o.relocatable = 0;
    load(&o, 64 * MiB, 0, &pl);
    cr_assert_eq(pl.load_addr, LAYOUT_HIMEM_START);
    /* It still decompresses at LOAD_PHYSICAL_ADDR (pref_address). */
    cr_assert_eq(pl.end, 16 * MiB + 4 * MiB);
}

Test(bzimage, init_size_must_fit)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage_placement pl;

    o.init_size = 17 * MiB;
    fixture_capture_begin();
    load(&o, 32 * MiB, -ENOMEM, &pl);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "guest RAM too small for the kernel"), "%s", log);
    /* Exactly fitting is fine. */
    o.init_size = 16 * MiB;
    load(&o, 32 * MiB, 0, &pl);
    cr_assert_eq(pl.end, 32 * MiB);
}

Test(bzimage, hostile_pref_address)
{
    struct fixture_bz o = fixture_bz_default();
    struct bzimage_placement pl;

    o.pref_address = 0xfffffffffffff000ULL;
    load(&o, 64 * MiB, -ENOMEM, &pl);
}

Test(bzimage, zero_page_and_cmdline)
{
    struct fixture_bz o = fixture_bz_default();
    struct gmem gm;
    struct bzimage bz;
    struct bzimage_placement pl;
    struct e820_map map;
    uint8_t *img;
    const char *cmd = "console=ttyS0 quiet";

    fixture_gmem(&gm, 64 * MiB);
    cr_assert_eq(parse(&o, 0, &bz, &img), 0);
    cr_assert_eq(bzimage_load_now(&bz, &gm, "bz", &pl), 0);
    cr_assert_eq(e820_build(&gm, &map), 0);
    struct bzimage_params p = {.cmdline = cmd,
                               .initrd_addr = 60 * MiB,
                               .initrd_size = 12345,
                               .setup_data = 0x30000,
                               .e820 = &map};
    cr_assert_eq(bzimage_write_params(&bz, &pl, &gm, &p), 0);

    /* Read back through raw offsets from boot.rst / zero-page.rst, not the struct. */
    const uint8_t *zp = gmem_ptr(&gm, LAYOUT_ZERO_PAGE, 4096);
    uint32_t u32;
    uint64_t u64;
    cr_assert_eq(memcmp(zp + 0x202, "HdrS", 4), 0, "setup header copied");
    cr_assert_eq(zp[0x210], 0xff, "type_of_loader");
    cr_assert_eq(zp[0x211] & 0x81, 0x81, "LOADED_HIGH | CAN_USE_HEAP");
    memcpy(&u32, zp + 0x228, 4);
    cr_assert_eq(u32, LAYOUT_CMDLINE, "cmd_line_ptr");
    memcpy(&u32, zp + 0x218, 4);
    cr_assert_eq(u32, 60 * MiB, "ramdisk_image");
    memcpy(&u32, zp + 0x21c, 4);
    cr_assert_eq(u32, 12345, "ramdisk_size");
    memcpy(&u64, zp + 0x250, 8);
    cr_assert_eq(u64, 0x30000, "setup_data");
    memcpy(&u64, zp + 0x258, 8);
    cr_assert_eq(u64, 16 * MiB, "pref_address kept");
    cr_assert_eq(zp[0x1ef], 0, "sentinel clear");
    cr_assert_eq(zp[0x1e8], map.n, "e820_entries");
    for (unsigned int i = 0; i < map.n; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        memcpy(&u64, e, 8);
        cr_assert_eq(u64, map.r[i].addr);
        memcpy(&u64, e + 8, 8);
        cr_assert_eq(u64, map.r[i].size);
        memcpy(&u32, e + 16, 4);
        cr_assert_eq(u32, map.r[i].type);
    }
    cr_assert_str_eq((const char *)gmem_ptr(&gm, LAYOUT_CMDLINE, strlen(cmd) + 1), cmd);
    free(img);
    gmem_destroy(&gm);
}

Test(bzimage, cmdline_size_enforced)
{
    struct fixture_bz o = fixture_bz_default();
    struct gmem gm;
    struct bzimage bz;
    struct bzimage_placement pl = {.load_addr = 16 * MiB};
    struct e820_map map;
    uint8_t *img;

    o.cmdline_size = 10;
    fixture_gmem(&gm, 64 * MiB);
    cr_assert_eq(parse(&o, 0, &bz, &img), 0);
    cr_assert_eq(e820_build(&gm, &map), 0);
    struct bzimage_params p = {.cmdline = "0123456789", .e820 = &map};
    cr_assert_eq(bzimage_write_params(&bz, &pl, &gm, &p), 0, "10 bytes: exactly the limit");
    p.cmdline = "0123456789a";
    fixture_capture_begin();
    cr_assert_eq(bzimage_write_params(&bz, &pl, &gm, &p), -E2BIG);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "kernel command line is 11 bytes, the kernel accepts at most 10"), "%s",
              log);
    free(img);
    gmem_destroy(&gm);
}

Test(bzimage, dtb_setup_data)
{
    struct gmem gm;
    uint64_t node = 0;
    uint8_t dtb[64];
    struct setup_data sd;

    memset(dtb, 0xd7, sizeof(dtb));
    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(bzimage_write_dtb(&gm, dtb, sizeof(dtb), &node), 0);
    cr_assert_eq(node, LAYOUT_DTB);
    cr_assert_eq(gmem_read(&gm, node, &sd, sizeof(sd)), 0);
    cr_assert_eq(sd.type, SETUP_DTB);
    cr_assert_eq(sd.len, sizeof(dtb));
    cr_assert_eq(sd.next, 0);
    cr_assert_eq(memcmp(gmem_ptr(&gm, node + sizeof(sd), sizeof(dtb)), dtb, sizeof(dtb)), 0);
    cr_assert_eq(bzimage_write_dtb(&gm, dtb, LAYOUT_DTB_MAX, &node), -E2BIG);
    gmem_destroy(&gm);
}

/* Random bytes in the setup header of a valid image: every outcome stays in bounds. */
Test(bzimage, random_header_corruption_stays_in_bounds)
{
    struct gmem gm;
    unsigned int seed = 54321;
    struct fixture_bz o = fixture_bz_default();

    o.init_size = 1 * MiB;
    fixture_gmem(&gm, 24 * MiB);
    fixture_capture_begin(); /* thousands of error lines */
    for (int iter = 0; iter < 3000; iter++) {
        struct bzimage bz;
        struct bzimage_placement pl;
        size_t len;
        uint8_t *img = fixture_bz_build(&o, &len, (size_t)iter % 7 * 1000);

        for (int k = 0; k < 1 + iter % 5; k++) {
            size_t at = 0x1f1 + (size_t)rand_r(&seed) % (0x26c - 0x1f1);
            img[at] = (uint8_t)rand_r(&seed);
        }
        if (bzimage_parse(img, len, "fuzz", &bz) == 0 &&
            bzimage_load_now(&bz, &gm, "fuzz", &pl) == 0)
            cr_assert_leq(pl.end, 24 * MiB);
        free(img);
    }
    fixture_capture_end();
    gmem_destroy(&gm);
}
