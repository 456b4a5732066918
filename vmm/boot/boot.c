/*
 * Boot orchestration: maps the kernel file, dispatches on its kind and runs
 * the loaders in a fixed order (kernel, initrd above it, device tree, boot
 * parameters, then the MP table and CPU tables every kind needs).
 */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bzimage.h"
#include "bzpayload.h"
#include "cpumode.h"
#include "e820.h"
#include "elfload.h"
#include "initrd.h"
#include "layout.h"
#include "mptable.h"
#include "pvh.h"

#define PAGE_SIZE_4K 4096ULL

struct boot_file {
    const uint8_t *data;
    size_t len;
};

enum boot_kind boot_detect(const void *img, size_t len)
{
    struct elfload_image elf;
    uint64_t entry;

    if (bzimage_probe(img, len))
        return BOOT_KIND_BZIMAGE;
    if (elfload_parse(img, len, NULL, &elf) == 0 && elfload_pvh_entry(&elf, &entry))
        return BOOT_KIND_PVH;
    return BOOT_KIND_NONE;
}

/* Maps the kernel read-only: the loaders copy from it straight into guest RAM. */
static int boot_map_file(const char *path, struct boot_file *f)
{
    struct stat st;
    void *p;
    int fd, ret = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        log_err("kernel %s: %s", path, strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        ret = -ENOEXEC;
        log_err("not a kernel: %s is not a regular, non-empty file", path);
        goto out_close;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        ret = -errno;
        log_err("kernel %s: mmap: %s", path, strerror(-ret));
        goto out_close;
    }
    f->data = p;
    f->len = (size_t)st.st_size;
out_close:
    close(fd);
    return ret;
}

static int boot_initrd(const struct boot_config *cfg, struct gmem *gm, uint64_t lo, uint64_t hi,
                       uint64_t *addr, uint64_t *size)
{
    *addr = *size = 0;
    if (!cfg->initrd_path)
        return 0;
    return initrd_load(gm, cfg->initrd_path, lo, hi, addr, size);
}

static int boot_bzimage(const struct boot_config *cfg, struct gmem *gm, const struct boot_file *f,
                        const struct e820_map *map, struct boot_entry *out)
{
    struct bzimage bz;
    struct bzimage_placement pl;
    struct bzimage_params p = {.cmdline = cfg->cmdline, .e820 = map};
    uint64_t hi = e820_low_ram_end(gm);
    int ret;

    ret = bzimage_parse(f->data, f->len, cfg->kernel_path, &bz);
    if (ret == 0)
        ret = bzimage_load(&bz, gm, cfg->kernel_path, &pl);
    if (ret < 0)
        return ret;
    if (bzimage_initrd_limit(&bz) < hi)
        hi = bzimage_initrd_limit(&bz);
    ret = boot_initrd(cfg, gm, pl.end, hi, &p.initrd_addr, &p.initrd_size);
    if (ret == 0 && cfg->dtb_size)
        ret = bzimage_write_dtb(gm, cfg->dtb, cfg->dtb_size, &p.setup_data);
    if (ret == 0)
        ret = bzimage_write_params(&bz, &pl, gm, &p);
    if (ret < 0)
        return ret;
    /* boot.rst, 64-bit boot protocol: startup_64 at load + 0x200, %rsi = boot_params. */
    out->mode = BOOT_CPU_LONG64;
    out->rip = pl.load_addr + BZIMAGE_ENTRY64_OFFSET;
    out->rsi = LAYOUT_ZERO_PAGE;
    return 0;
}

static int boot_pvh(const struct boot_config *cfg, struct gmem *gm, const struct boot_file *f,
                    const struct e820_map *map, struct boot_entry *out)
{
    struct elfload_image elf;
    struct pvh_params p = {.cmdline = cfg->cmdline, .e820 = map};
    uint64_t entry32 = 0, end;
    int ret;

    ret = elfload_parse(f->data, f->len, cfg->kernel_path, &elf);
    if (ret == 0 && !elfload_pvh_entry(&elf, &entry32))
        ret = -ENOEXEC; /* boot_detect found it: cannot happen */
    if (ret == 0)
        ret = elfload_copy(&elf, gm, cfg->kernel_path, &end);
    if (ret < 0)
        return ret;
    end = (end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
    ret = boot_initrd(cfg, gm, end, e820_low_ram_end(gm), &p.initrd_addr, &p.initrd_size);
    if (ret == 0 && cfg->dtb_size) {
        ret = pvh_write_dtb(gm, cfg->dtb, cfg->dtb_size);
        p.dtb_addr = LAYOUT_DTB;
        p.dtb_size = cfg->dtb_size;
    }
    if (ret == 0)
        ret = pvh_write_start_info(gm, &p);
    if (ret < 0)
        return ret;
    /* PVH ABI: 32-bit flat protected mode, paging off, EBX = hvm_start_info. */
    out->mode = cfg->pvh_entry64 ? BOOT_CPU_LONG64 : BOOT_CPU_PROT32;
    out->rip = cfg->pvh_entry64 ? elf.entry : entry32;
    out->rbx = LAYOUT_ZERO_PAGE;
    out->rdi = cfg->pvh_entry64 ? LAYOUT_ZERO_PAGE : 0;
    return 0;
}

/*
 * A bzImage whose payload the host can unpack (lz4 or uncompressed) and whose vmlinux has
 * a PVH note boots as that vmlinux would: no decompressor runs in the guest. Returns 1
 * when that is not possible (the caller then enters the bzImage itself), -errno when the
 * image is corrupt.
 */
static int boot_bzimage_unpacked(const struct boot_config *cfg, struct gmem *gm,
                                 const struct boot_file *f, const struct e820_map *map,
                                 struct boot_entry *out)
{
    struct bzimage bz;
    uint8_t *elf;
    size_t len;
    int ret = bzimage_parse(f->data, f->len, cfg->kernel_path, &bz);

    if (ret < 0)
        return ret;
    ret = bzpayload_unpack(&bz, cfg->kernel_path, &elf, &len);
    if (ret == -ENOTSUP) {
        if (bz.hdr.payload_length)
            log_info("%s: %s payload: the guest decompresses it", cfg->kernel_path,
                     bzpayload_format(&bz));
        return 1;
    }
    if (ret < 0)
        return ret;
    if (boot_detect(elf, len) == BOOT_KIND_PVH) {
        ret = boot_pvh(cfg, gm, &(struct boot_file){elf, len}, map, out);
        out->unpacked = ret == 0;
    } else {
        log_info("%s: its vmlinux has no PVH entry note: entering the bzImage", cfg->kernel_path);
        ret = 1;
    }
    free(elf);
    return ret;
}

int boot_load(const struct boot_config *cfg, struct gmem *gm, struct boot_entry *out)
{
    struct boot_file f = {0};
    struct e820_map map;
    int ret;

    memset(out, 0, sizeof(*out));
    if (cfg->ncpus == 0 || cfg->ncpus > MPTABLE_MAX_CPUS) {
        log_err("%u CPUs: must be 1..%u", cfg->ncpus, MPTABLE_MAX_CPUS);
        return -EINVAL;
    }
    if (e820_build(gm, &map) < 0 || e820_low_ram_end(gm) <= LAYOUT_HIMEM_START) {
        log_err("guest RAM too small: at least 1 MiB plus the kernel is needed");
        return -ENOMEM;
    }
    ret = boot_map_file(cfg->kernel_path, &f);
    if (ret < 0)
        return ret;
    out->kind = boot_detect(f.data, f.len);
    switch (out->kind) {
    case BOOT_KIND_BZIMAGE:
        ret = cfg->bzimage_in_guest ? 1 : boot_bzimage_unpacked(cfg, gm, &f, &map, out);
        if (ret > 0)
            ret = boot_bzimage(cfg, gm, &f, &map, out);
        break;
    case BOOT_KIND_PVH:
        ret = boot_pvh(cfg, gm, &f, &map, out);
        break;
    case BOOT_KIND_NONE:
        log_err("not a kernel: %s is neither a bzImage nor an ELF with a PVH entry note",
                cfg->kernel_path);
        ret = -ENOEXEC;
        break;
    }
    munmap((void *)f.data, f.len);
    if (ret < 0)
        return ret;
    if (!gmem_is_ram(gm, out->rip, 1)) {
        log_err("%s: entry point 0x%" PRIx64 " is not in guest RAM", cfg->kernel_path, out->rip);
        return -ENOEXEC;
    }
    out->rsp = LAYOUT_STACK_TOP;
    ret = mptable_write(gm, cfg->ncpus);
    if (ret == 0)
        ret = cpumode_write_tables(gm);
    if (ret < 0)
        log_err("guest RAM does not hold the boot tables below 1 MiB");
    return ret;
}

void boot_entry_apply(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
    memset(regs, 0, sizeof(*regs));
    regs->rflags =
        0x2; /* bit 1 is reserved-one; IF clear: both protocols enter with interrupts off */
    regs->rip = e->rip;
    regs->rsi = e->rsi;
    regs->rbx = e->rbx;
    regs->rdi = e->rdi;
    regs->rsp = e->rsp;
    if (e->mode == BOOT_CPU_LONG64)
        cpumode_set_long64(sregs);
    else
        cpumode_set_prot32(sregs);
}
