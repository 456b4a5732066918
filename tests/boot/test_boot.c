/*
 * Unit tests for vmm/boot/boot.c: boot_load_sync end to end on synthetic kernels
 * written to temporary files (kind detection, entry state, initrd placement,
 * MP table and page tables present, one clear error per bad input), plus the
 * real guest kernel when the guest build has left one in ~/.cache/minivmm.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "bzimage.h"
#include "cpumode.h"
#include "elfload.h"
#include "fixture.h"
#include "layout.h"
#include "pvh.h"

struct files {
    char *kernel, *initrd;
};

static struct files files;

static void cleanup(void)
{
    if (files.kernel)
        unlink(files.kernel);
    if (files.initrd)
        unlink(files.initrd);
    free(files.kernel);
    free(files.initrd);
    memset(&files, 0, sizeof(files));
}

TestSuite(boot, .fini = cleanup);

static char *bz_file(const struct fixture_bz *o, size_t trunc)
{
    size_t len;
    uint8_t *img = fixture_bz_build(o, &len, trunc);
    char *path = fixture_tmpfile(img, len);

    free(img);
    return path;
}

static char *initrd_file(size_t size)
{
    uint8_t *data = malloc(size);

    cr_assert(data);
    for (size_t i = 0; i < size; i++)
        data[i] = fixture_payload(i + 1);
    char *path = fixture_tmpfile(data, size);
    free(data);
    return path;
}

Test(boot, detect)
{
    struct fixture_bz bo = fixture_bz_default();
    struct fixture_elf eo = fixture_elf_default(true);
    size_t len;
    uint8_t *img;

    img = fixture_bz_build(&bo, &len, 0);
    cr_assert_eq(boot_detect(img, len), BOOT_KIND_BZIMAGE);
    free(img);
    img = fixture_elf_build(&eo, &len);
    cr_assert_eq(boot_detect(img, len), BOOT_KIND_PVH);
    free(img);
    eo.pvh_entry = 0;
    img = fixture_elf_build(&eo, &len);
    cr_assert_eq(boot_detect(img, len), BOOT_KIND_NONE, "ELF without the PVH note");
    free(img);
    cr_assert_eq(boot_detect("#!/bin/sh\n", 10), BOOT_KIND_NONE);
    cr_assert_eq(boot_detect("", 0), BOOT_KIND_NONE);
}

Test(boot, bzimage_with_initrd)
{
    struct fixture_bz o = fixture_bz_default();
    struct gmem gm;
    struct boot_entry e;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct boot_params bp;
    const size_t isize = 100000;

    o.initrd_addr_max = 48 * MiB - 1;
    files.kernel = bz_file(&o, 0);
    files.initrd = initrd_file(isize);
    struct boot_config cfg = {.kernel_path = files.kernel,
                              .initrd_path = files.initrd,
                              .cmdline = "console=ttyS0",
                              .ncpus = 2};
    fixture_gmem(&gm, 64 * MiB);
    cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), 0);
    cr_assert_eq(e.kind, BOOT_KIND_BZIMAGE);
    cr_assert_eq(e.mode, BOOT_CPU_LONG64);
    cr_assert_eq(e.rip, 16 * MiB + 0x200, "startup_64");
    cr_assert_eq(e.rsi, LAYOUT_ZERO_PAGE);

    cr_assert_eq(gmem_read(&gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)), 0);
    uint64_t ia = bp.hdr.ramdisk_image, is = bp.hdr.ramdisk_size;
    cr_assert_eq(is, isize);
    cr_assert_eq(ia % 4096, 0);
    cr_assert_leq(ia + is, 48 * MiB, "below initrd_addr_max");
    cr_assert_gt(ia + is + 4096, 48 * MiB, "as high as possible");
    cr_assert_geq(ia, 16 * MiB + o.init_size, "not over the kernel");
    for (size_t i = 0; i < isize; i += 997)
        cr_assert_eq(*(uint8_t *)gmem_ptr(&gm, ia + i, 1), fixture_payload(i + 1));
    cr_assert_eq(memcmp(gmem_ptr(&gm, LAYOUT_MPTABLE, 4), "_MP_", 4), 0, "MP table written");

    memset(&sregs, 0, sizeof(sregs));
    boot_entry_apply(&e, &regs, &sregs);
    cr_assert_eq(regs.rip, e.rip);
    cr_assert_eq(regs.rsi, LAYOUT_ZERO_PAGE);
    cr_assert_eq(regs.rflags, 2, "interrupts off");
    cr_assert_eq(sregs.cs.selector, CPUMODE_SEL_CODE64);
    cr_assert_eq(sregs.cr3, LAYOUT_PML4);
    uint64_t pml4e;
    cr_assert_eq(gmem_read(&gm, LAYOUT_PML4, &pml4e, 8), 0);
    cr_assert_eq(pml4e & ~0xfffULL, LAYOUT_PDPT, "page tables written");
    gmem_destroy(&gm);
}

Test(boot, initrd_limited_by_low_ram)
{
    struct fixture_bz o = fixture_bz_default();
    struct gmem gm;
    struct boot_entry e;
    struct boot_params bp;

    files.kernel = bz_file(&o, 0);
    files.initrd = initrd_file(5000);
    struct boot_config cfg = {.kernel_path = files.kernel, .initrd_path = files.initrd, .ncpus = 1};
    fixture_gmem(&gm, 32 * MiB);
    cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), 0);
    cr_assert_eq(gmem_read(&gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)), 0);
    cr_assert_eq(bp.hdr.ramdisk_image, 32 * MiB - 8192);
    gmem_destroy(&gm);
}

Test(boot, initrd_does_not_fit_above_the_kernel)
{
    struct fixture_bz o = fixture_bz_default();
    struct gmem gm;
    struct boot_entry e;

    o.init_size = 15 * MiB; /* kernel uses 16..31 MiB of a 32 MiB guest */
    files.kernel = bz_file(&o, 0);
    files.initrd = initrd_file(2 * MiB);
    struct boot_config cfg = {.kernel_path = files.kernel, .initrd_path = files.initrd, .ncpus = 1};
    fixture_gmem(&gm, 32 * MiB);
    fixture_capture_begin();
    cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), -ENOSPC);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "do not fit in guest RAM"), "%s", log);
    gmem_destroy(&gm);
}

static void pvh_boot(bool entry64)
{
    struct fixture_elf o = fixture_elf_default(false);
    struct gmem gm;
    struct boot_entry e;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct hvm_start_info si;
    uint8_t dtb[32] = {0xd0, 0x0d, 0xfe, 0xed};
    size_t len;
    uint8_t *img = fixture_elf_build(&o, &len);

    files.kernel = fixture_tmpfile(img, len);
    free(img);
    files.initrd = initrd_file(3000);
    struct boot_config cfg = {.kernel_path = files.kernel,
                              .initrd_path = files.initrd,
                              .cmdline = "fw",
                              .ncpus = 4,
                              .dtb = dtb,
                              .dtb_size = sizeof(dtb),
                              .pvh_entry64 = entry64};
    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), 0);
    cr_assert_eq(e.kind, BOOT_KIND_PVH);
    cr_assert_eq(e.rbx, LAYOUT_ZERO_PAGE);
    cr_assert_eq(gmem_read(&gm, LAYOUT_ZERO_PAGE, &si, sizeof(si)), 0);
    cr_assert_eq(si.magic, PVH_START_MAGIC);
    cr_assert_eq(si.nr_modules, 2);
    cr_assert_str_eq((const char *)gmem_ptr(&gm, si.cmdline_paddr, 3), "fw");
    cr_assert_eq(memcmp(gmem_ptr(&gm, LAYOUT_DTB, sizeof(dtb)), dtb, sizeof(dtb)), 0);
    memset(&sregs, 0, sizeof(sregs));
    boot_entry_apply(&e, &regs, &sregs);
    cr_assert_eq(regs.rbx, LAYOUT_ZERO_PAGE);
    if (entry64) {
        cr_assert_eq(e.rip, o.entry, "ELF e_entry");
        cr_assert_eq(regs.rdi, LAYOUT_ZERO_PAGE);
        cr_assert(sregs.cs.l);
        cr_assert(sregs.cr0 & CPUMODE_CR0_PG);
    } else {
        cr_assert_eq(e.rip, o.pvh_entry, "PVH note entry");
        cr_assert_not(sregs.cs.l);
        cr_assert(sregs.cs.db);
        cr_assert_not(sregs.cr0 & CPUMODE_CR0_PG);
        cr_assert_eq(sregs.efer, 0);
    }
    gmem_destroy(&gm);
}

Test(boot, pvh_32bit_entry)
{
    pvh_boot(false);
}

Test(boot, pvh_64bit_entry)
{
    pvh_boot(true);
}

static void expect_error(const struct boot_config *cfg, uint64_t ram, int want, const char *msg)
{
    struct gmem gm;
    struct boot_entry e;

    fixture_gmem(&gm, ram);
    fixture_capture_begin();
    cr_assert_eq(boot_load_sync(cfg, false, &gm, &e), want);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, msg), "expected '%s' in '%s'", msg, log);
    cr_assert_eq(strchr(log, '\n'), log + strlen(log) - 1, "exactly one line: %s", log);
    gmem_destroy(&gm);
}

Test(boot, not_a_kernel)
{
    char want[256];

    files.kernel = fixture_tmpfile("#!/bin/sh\necho hello\n", 21);
    struct boot_config cfg = {.kernel_path = files.kernel, .ncpus = 1};
    snprintf(want, sizeof(want),
             "not a kernel: %s is neither a bzImage nor an ELF with a PVH entry note",
             files.kernel);
    expect_error(&cfg, 16 * MiB, -ENOEXEC, want);
}

Test(boot, elf_without_note_is_not_a_kernel)
{
    struct fixture_elf o = fixture_elf_default(true);
    size_t len;
    uint8_t *img;

    o.pvh_entry = 0;
    img = fixture_elf_build(&o, &len);
    files.kernel = fixture_tmpfile(img, len);
    free(img);
    struct boot_config cfg = {.kernel_path = files.kernel, .ncpus = 1};
    expect_error(&cfg, 16 * MiB, -ENOEXEC, "is neither a bzImage nor an ELF with a PVH entry note");
}

Test(boot, truncated_kernel)
{
    struct fixture_bz o = fixture_bz_default();

    files.kernel = bz_file(&o, 4096);
    struct boot_config cfg = {.kernel_path = files.kernel, .ncpus = 1};
    expect_error(&cfg, 64 * MiB, -EINVAL, "kernel image truncated: 66048 bytes, header says 70144");
}

Test(boot, missing_files)
{
    struct fixture_bz o = fixture_bz_default();
    struct boot_config cfg = {.kernel_path = "/nonexistent/bzImage", .ncpus = 1};

    expect_error(&cfg, 64 * MiB, -ENOENT, "kernel /nonexistent/bzImage: No such file or directory");
    files.kernel = bz_file(&o, 0);
    cfg.kernel_path = files.kernel;
    cfg.initrd_path = "/nonexistent/initrd";
    expect_error(&cfg, 64 * MiB, -ENOENT, "initrd /nonexistent/initrd: No such file or directory");
}

Test(boot, empty_kernel_file)
{
    files.kernel = fixture_tmpfile("", 0);
    struct boot_config cfg = {.kernel_path = files.kernel, .ncpus = 1};
    expect_error(&cfg, 16 * MiB, -ENOEXEC, "not a kernel");
}

Test(boot, bad_cpu_count_and_tiny_ram)
{
    struct fixture_bz o = fixture_bz_default();

    files.kernel = bz_file(&o, 0);
    struct boot_config cfg = {.kernel_path = files.kernel, .ncpus = 0};
    expect_error(&cfg, 64 * MiB, -EINVAL, "0 CPUs: must be 1..255");
    cfg.ncpus = 256;
    expect_error(&cfg, 64 * MiB, -EINVAL, "256 CPUs");
    cfg.ncpus = 1;
    expect_error(&cfg, 1 * MiB, -ENOMEM, "guest RAM too small");
    expect_error(&cfg, 8 * MiB, -ENOMEM, "guest RAM too small for the kernel");
}

/* The real guest kernel, when the guest build has produced one (skipped loudly otherwise). */
static const char *real_kernel(const char *name)
{
    static char path[4096];
    const char *home = getenv("HOME");
    const char *built = getenv("MINIVMM_KERNEL"); /* tools/test: the bzImage it built */
    glob_t g;

    if (built && strrchr(built, '/')) {
        snprintf(path, sizeof(path), "%.*s/%s", (int)(strrchr(built, '/') - built), built, name);
        if (access(path, R_OK) == 0)
            return path;
    }
    snprintf(path, sizeof(path), "%s/.cache/minivmm/kernel-*/%s", home ? home : "/root", name);
    if (glob(path, 0, NULL, &g) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
    globfree(&g);
    return path;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;

    cr_assert(f, "%s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    cr_assert_gt(n, 0);
    rewind(f);
    buf = malloc((size_t)n);
    cr_assert(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Every PT_LOAD segment of the vmlinux at path is in guest RAM, and rip is its ELF entry. */
static void expect_vmlinux_in_ram(const char *path, struct gmem *gm, uint64_t rip)
{
    size_t len;
    uint8_t *img = read_file(path, &len);
    struct elfload_image elf;

    cr_assert_eq(elfload_parse(img, len, path, &elf), 0);
    cr_assert_eq(rip, elf.entry, "startup_64, the vmlinux's ELF entry");
    for (unsigned int i = 0; i < elf.phnum; i++) {
        struct elfload_segment seg;

        elfload_segment(&elf, i, &seg);
        if (seg.type != PT_LOAD)
            continue;
        cr_assert_eq(memcmp(gmem_ptr(gm, seg.paddr, seg.filesz), img + seg.offset, seg.filesz), 0,
                     "segment %u at 0x%llx", i, (unsigned long long)seg.paddr);
    }
    free(img);
}

Test(boot, real_bzimage)
{
    const char *path = real_kernel("bzImage");
    struct gmem gm;
    struct boot_entry e;
    struct boot_params bp;

    if (!path) {
        /* tools/test builds the guest before any test runs: in CI a missing kernel is a failure. */
        cr_assert_str_neq(getenv("CI") ? getenv("CI") : "", "true", "no guest bzImage in CI");
        cr_skip_test("no guest bzImage in ~/.cache/minivmm (guest/ not built yet)");
    }
    /* --boot-entry linux64: the bzImage's own 64-bit entry, its decompressor in the guest. */
    struct boot_config cfg = {.kernel_path = path, .cmdline = "console=ttyS0", .ncpus = 1};
    fixture_gmem(&gm, 256 * MiB);
    cr_assert_eq(boot_load_sync(&cfg, true, &gm, &e), 0);
    cr_assert_eq(e.kind, BOOT_KIND_BZIMAGE);
    cr_assert_not(e.unpacked);
    cr_assert_eq(e.mode, BOOT_CPU_LONG64);
    cr_assert_eq(gmem_read(&gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)), 0);
    cr_assert_geq(bp.hdr.version, 0x020c);
    cr_assert(bp.hdr.xloadflags & XLF_KERNEL_64);
    cr_assert_eq(e.rip, bp.hdr.code32_start + 0x200);
    gmem_destroy(&gm);
}

/*
 * The guest kernel's bzImage (lz4) unpacked on the host: every segment of its vmlinux lands
 * where the vmlinux of the same build says, and the CPU enters at startup_64 with boot_params.
 */
Test(boot, real_bzimage_unpacked)
{
    const char *bz = real_kernel("bzImage");
    char vmlinux[4096];
    struct gmem gm;
    struct boot_entry e;
    struct boot_params bp;

    if (!bz) {
        cr_assert_str_neq(getenv("CI") ? getenv("CI") : "", "true", "no guest bzImage in CI");
        cr_skip_test("no guest bzImage in ~/.cache/minivmm (guest/ not built yet)");
    }
    snprintf(vmlinux, sizeof(vmlinux), "%.*s/vmlinux", (int)(strrchr(bz, '/') - bz), bz);
    struct boot_config cfg = {.kernel_path = bz, .cmdline = "console=ttyS0", .ncpus = 1};
    for (int mode = KLOAD_COPY; mode <= KLOAD_STREAM; mode++) {
        fixture_gmem(&gm, 256 * MiB);
        cfg.load_mode = (enum kload_mode)mode;
        cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), 0);
        cr_assert_eq(e.kind, BOOT_KIND_BZIMAGE);
        cr_assert(e.unpacked, "the guest kernel's lz4 bzImage is unpacked on the host");
        cr_assert_eq(e.mode, BOOT_CPU_LONG64);
        cr_assert_eq(e.rsi, LAYOUT_ZERO_PAGE);
        cr_assert_eq(gmem_read(&gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp)), 0);
        cr_assert_eq(bp.hdr.boot_flag, 0xaa55, "boot_params, from the bzImage's setup header");
        if (access(vmlinux, R_OK) == 0)
            expect_vmlinux_in_ram(vmlinux, &gm, e.rip);
        gmem_destroy(&gm);
    }
}

Test(boot, real_vmlinux)
{
    const char *path = real_kernel("vmlinux");
    struct gmem gm;
    struct boot_entry e;

    if (!path) {
        /* tools/test builds the guest before any test runs: in CI a missing kernel is a failure. */
        cr_assert_str_neq(getenv("CI") ? getenv("CI") : "", "true", "no guest vmlinux in CI");
        cr_skip_test("no guest vmlinux in ~/.cache/minivmm (guest/ not built yet)");
    }
    struct boot_config cfg = {.kernel_path = path, .cmdline = "console=ttyS0", .ncpus = 1};
    fixture_gmem(&gm, 256 * MiB);
    cr_assert_eq(boot_load_sync(&cfg, false, &gm, &e), 0);
    cr_assert_eq(e.kind, BOOT_KIND_PVH);
    cr_assert_eq(e.mode, BOOT_CPU_PROT32);
    cr_assert_geq(e.rip, LAYOUT_HIMEM_START);
    gmem_destroy(&gm);
}
