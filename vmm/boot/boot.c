/*
 * Boot orchestration: boot_image_read maps the kernel file and works out how to enter it
 * (for an lz4 bzImage, decoding its vmlinux's headers); boot_load then runs the loaders in
 * a fixed order (kernel, initrd above it, device tree, boot parameters, the MP table and CPU
 * tables every kind needs) and starts their plan: copied at once, or streamed while the
 * vCPUs run.
 */
#include "boot.h"

#include <elf.h>
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
#include "kload.h"
#include "layout.h"
#include "mptable.h"
#include "pvh.h"

#define PAGE_SIZE_4K 4096ULL

/* What boot_image_read found, and the load plan that owns the buffers it mapped. */
struct boot_image {
    const char *path;
    const char *initrd_path; /* NULL: none */
    bool bzimage_in_guest;
    bool read;           /* boot_image_read ran */
    int read_result;     /* what it returned */
    const uint8_t *file; /* the kernel file, mapped (the plan unmaps it) */
    size_t file_len;
    enum boot_kind kind;
    struct bzimage bz;
    struct bzpayload *payload; /* the bzImage's vmlinux, unpacked (the plan owns it) */
    struct elfload_image elf;  /* the ELF: a PVH file, or the payload's vmlinux */
    uint64_t entry32;
    const uint8_t *initrd; /* mapped (the plan unmaps it) */
    uint64_t initrd_size;
    struct kload load;
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
static int boot_map_file(struct boot_image *img)
{
    struct stat st;
    void *p;
    int fd, ret = 0;

    fd = open(img->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        log_err("kernel %s: %s", img->path, strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        ret = -ENOEXEC;
        log_err("not a kernel: %s is not a regular, non-empty file", img->path);
        goto out_close;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        ret = -errno;
        log_err("kernel %s: mmap: %s", img->path, strerror(-ret));
        goto out_close;
    }
    /*
     * Before the guest starts only a few scattered pages are read (setup header, the payload's
     * first bytes, its size at the end): no readahead, which on a cold page cache turns each
     * of them into a read of hundreds of KiB. The stream asks for sequential reading later.
     */
    (void)madvise(p, (size_t)st.st_size, MADV_RANDOM);
    ret = kload_keep_mapping(&img->load, p, (size_t)st.st_size);
    if (ret < 0) {
        munmap(p, (size_t)st.st_size);
        goto out_close;
    }
    img->file = p;
    img->file_len = (size_t)st.st_size;
out_close:
    close(fd);
    return ret;
}

/*
 * Decodes the vmlinux's ELF and program headers: all that is read before the vCPU starts
 * (it enters at e_entry, so the notes in the middle of the file need not be there yet).
 * 1 when it is an x86-64 ELF executable, 0 when not (the bzImage is entered then), -errno.
 */
static int boot_read_vmlinux(struct boot_image *img)
{
    size_t len;
    const uint8_t *v = bzpayload_vmlinux(img->payload, &len);
    int ret = bzpayload_need(img->payload, 0, sizeof(Elf64_Ehdr));

    if (ret < 0 || elfload_parse(v, len, NULL, &img->elf) < 0 || !img->elf.is64)
        return ret;
    ret = bzpayload_need(img->payload, img->elf.phoff, (size_t)img->elf.phnum * img->elf.phentsize);
    return ret < 0 ? ret : 1;
}

/*
 * A bzImage whose payload the host can unpack (lz4 or uncompressed) is entered the way its
 * decompressor would enter it, without the decompressor running in the guest. Leaves
 * img->payload NULL when that is not possible (the bzImage itself is entered then).
 */
static int boot_read_bzimage(struct boot_image *img)
{
    int ret = bzimage_parse(img->file, img->file_len, img->path, &img->bz);

    if (ret < 0 || img->bzimage_in_guest)
        return ret;
    ret = bzpayload_open(&img->bz, img->path, &img->payload);
    if (ret == -ENOTSUP) {
        if (img->bz.hdr.payload_length)
            log_info("%s: %s payload: the guest decompresses it", img->path,
                     bzpayload_format(&img->bz));
        return 0;
    }
    if (ret == 0)
        ret = boot_read_vmlinux(img);
    if (ret == 0)
        log_info("%s: its payload is not an x86-64 ELF: entering the bzImage", img->path);
    if (ret <= 0) {
        bzpayload_close(img->payload);
        img->payload = NULL;
        return ret;
    }
    struct kload_producer prod;
    bzpayload_to_producer(img->payload, &prod);
    kload_set_producer(&img->load, &prod); /* the plan frees the payload from now on */
    return 0;
}

static int boot_read(struct boot_image *img)
{
    int ret = boot_map_file(img);

    if (ret == 0 && img->initrd_path)
        ret = initrd_map(img->initrd_path, &img->load, &img->initrd, &img->initrd_size);
    if (ret < 0)
        return ret;
    img->kind = boot_detect(img->file, img->file_len);
    switch (img->kind) {
    case BOOT_KIND_BZIMAGE:
        return boot_read_bzimage(img);
    case BOOT_KIND_PVH:
        ret = elfload_parse(img->file, img->file_len, img->path, &img->elf);
        if (ret == 0 && !elfload_pvh_entry(&img->elf, &img->entry32))
            ret = -ENOEXEC; /* boot_detect found it: cannot happen */
        return ret;
    case BOOT_KIND_NONE:
        break;
    }
    log_err("not a kernel: %s is neither a bzImage nor an ELF with a PVH entry note", img->path);
    return -ENOEXEC;
}

int boot_image_open(const char *path, const char *initrd_path, bool bzimage_in_guest,
                    struct boot_image **out)
{
    struct boot_image *img = calloc(1, sizeof(*img));

    *out = NULL;
    if (!img)
        return -ENOMEM;
    img->path = path;
    img->initrd_path = initrd_path;
    img->bzimage_in_guest = bzimage_in_guest;
    kload_init(&img->load);
    *out = img;
    return 0;
}

int boot_image_read(struct boot_image *img)
{
    img->read_result = boot_read(img);
    img->read = true;
    return img->read_result;
}

static int boot_initrd(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                       uint64_t lo, uint64_t hi, uint64_t *addr, uint64_t *size)
{
    *addr = *size = 0;
    if (!img->initrd)
        return 0;
    *size = img->initrd_size;
    return initrd_plan(gm, img->initrd_path, img->initrd, img->initrd_size, lo, hi, &img->load,
                       addr);
}

/*
 * What both ways into a bzImage's kernel share once the kernel is placed at pl: the initrd
 * above it (and below the header's initrd_addr_max), the device tree as setup_data, the
 * zero page, and a 64-bit entry at rip with %rsi = boot_params.
 */
static int boot_linux64(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                        const struct e820_map *map, const struct bzimage_placement *pl,
                        uint64_t rip, struct boot_entry *out)
{
    struct bzimage_params p = {.cmdline = cfg->cmdline, .e820 = map};
    uint64_t hi = e820_low_ram_end(gm);
    int ret;

    if (bzimage_initrd_limit(&img->bz) < hi)
        hi = bzimage_initrd_limit(&img->bz);
    ret = boot_initrd(cfg, img, gm, pl->end, hi, &p.initrd_addr, &p.initrd_size);
    if (ret == 0 && cfg->dtb_size)
        ret = bzimage_write_dtb(gm, cfg->dtb, cfg->dtb_size, &p.setup_data);
    if (ret == 0)
        ret = bzimage_write_params(&img->bz, pl, gm, &p);
    if (ret < 0)
        return ret;
    out->mode = BOOT_CPU_LONG64;
    out->rip = rip;
    out->rsi = LAYOUT_ZERO_PAGE;
    return 0;
}

/* boot.rst, 64-bit boot protocol: startup_64 at load + 0x200, its decompressor in the guest. */
static int boot_bzimage(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                        const struct e820_map *map, struct boot_entry *out)
{
    struct bzimage_placement pl;
    int ret = bzimage_plan(&img->bz, gm, cfg->kernel_path, &img->load, &pl);

    if (ret < 0)
        return ret;
    return boot_linux64(cfg, img, gm, map, &pl, pl.load_addr + BZIMAGE_ENTRY64_OFFSET, out);
}

/*
 * The vmlinux unpacked from a bzImage, entered where the bzImage's decompressor jumps once
 * it has unpacked it: startup_64 (the ELF entry), in 64-bit mode with an identity map and
 * %rsi = boot_params built from the bzImage's setup header (head_64.S: "we come here
 * either directly from a 64bit bootloader, or from compressed/head_64.S").
 */
static int boot_unpacked(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                         const struct e820_map *map, struct boot_entry *out)
{
    struct bzimage_placement pl = {.load_addr = img->elf.entry};
    int ret = elfload_plan(&img->elf, gm, cfg->kernel_path, &img->load, &pl.end);

    if (ret < 0)
        return ret;
    pl.end = (pl.end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
    out->unpacked = true;
    return boot_linux64(cfg, img, gm, map, &pl, img->elf.entry, out);
}

static int boot_pvh(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                    const struct e820_map *map, struct boot_entry *out)
{
    struct pvh_params p = {.cmdline = cfg->cmdline, .e820 = map};
    uint64_t end;
    int ret = elfload_plan(&img->elf, gm, cfg->kernel_path, &img->load, &end);

    if (ret < 0)
        return ret;
    end = (end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
    ret = boot_initrd(cfg, img, gm, end, e820_low_ram_end(gm), &p.initrd_addr, &p.initrd_size);
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
    out->rip = cfg->pvh_entry64 ? img->elf.entry : img->entry32;
    out->rbx = LAYOUT_ZERO_PAGE;
    out->rdi = cfg->pvh_entry64 ? LAYOUT_ZERO_PAGE : 0;
    return 0;
}

int boot_load(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
              struct boot_entry *out)
{
    struct e820_map map;
    int ret = img->read ? img->read_result : -EINVAL;

    memset(out, 0, sizeof(*out));
    if (ret < 0)
        return ret;
    if (cfg->ncpus == 0 || cfg->ncpus > MPTABLE_MAX_CPUS) {
        log_err("%u CPUs: must be 1..%u", cfg->ncpus, MPTABLE_MAX_CPUS);
        return -EINVAL;
    }
    if (e820_build(gm, &map) < 0 || e820_low_ram_end(gm) <= LAYOUT_HIMEM_START) {
        log_err("guest RAM too small: at least 1 MiB plus the kernel is needed");
        return -ENOMEM;
    }
    out->kind = img->kind;
    if (img->payload)
        ret = boot_unpacked(cfg, img, gm, &map, out);
    else if (img->kind == BOOT_KIND_BZIMAGE)
        ret = boot_bzimage(cfg, img, gm, &map, out);
    else
        ret = boot_pvh(cfg, img, gm, &map, out);
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
    if (ret < 0) {
        log_err("guest RAM does not hold the boot tables below 1 MiB");
        return ret;
    }
    /* Last: from here on the pieces' pages may only be written by the plan. */
    return kload_start(&img->load, gm, cfg->load_mode, cfg->on_load_error, cfg->opaque);
}

int boot_image_go(struct boot_image *img)
{
    return kload_go(&img->load);
}

int boot_image_wait(struct boot_image *img)
{
    return kload_wait(&img->load);
}

struct kload_stats boot_image_stats(const struct boot_image *img)
{
    return img->load.stats;
}

void boot_image_stop(struct boot_image *img)
{
    if (img)
        kload_stop(&img->load);
}

void boot_image_close(struct boot_image *img)
{
    if (!img)
        return;
    boot_image_stop(img);
    kload_close(&img->load); /* frees the payload too: the plan owns it */
    free(img);
}

int boot_load_sync(const struct boot_config *cfg, bool bzimage_in_guest, struct gmem *gm,
                   struct boot_entry *out)
{
    struct boot_image *img;
    int ret = boot_image_open(cfg->kernel_path, cfg->initrd_path, bzimage_in_guest, &img);

    if (ret < 0)
        return ret;
    ret = boot_image_read(img);
    if (ret == 0)
        ret = boot_load(cfg, img, gm, out);
    if (ret == 0)
        ret = boot_image_go(img);
    if (ret == 0)
        ret = boot_image_wait(img);
    boot_image_close(img);
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
