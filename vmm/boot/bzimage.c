/*
 * bzImage loader. Every size the image states (setup_sects, syssize,
 * init_size, cmdline_size) is checked against the file and guest RAM before
 * it is used: the image is untrusted input.
 */
#include "bzimage.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "layout.h"

#define HDR_OFFSET     0x1f1
#define HDR_MAGIC_OFF  0x202
#define HDR_JUMP_LEN   0x201 /* boot.rst: the header ends at 0x202 + this byte */
#define BOOT_FLAG      0xAA55
#define LOADER_UNKNOWN 0xff
#define SETUP_HEAP_END 0xfe00 /* heap_end_ptr: end of a 64 KiB setup segment, minus 0x200 */

/* boot.rst: "If this field is 0, the real value is 4." */
static unsigned int bzimage_setup_sects(const struct setup_header *h)
{
    return h->setup_sects ? h->setup_sects : 4;
}

bool bzimage_probe(const void *img, size_t len)
{
    return len >= HDR_MAGIC_OFF + 4 && memcmp((const uint8_t *)img + HDR_MAGIC_OFF, "HdrS", 4) == 0;
}

/* Protocol checks: everything that makes the image not bootable by this loader. */
static int bzimage_check_protocol(const struct bzimage *bz, const char *name)
{
    const struct setup_header *h = &bz->hdr;

    if (h->boot_flag != BOOT_FLAG) {
        log_err("%s: bad boot flag 0x%04x (expected 0xaa55)", name, h->boot_flag);
        return -ENOEXEC;
    }
    if (h->version < BZIMAGE_MIN_PROTOCOL) {
        log_err("%s: boot protocol %u.%02u is too old: 64-bit entry needs 2.12 or later", name,
                h->version >> 8, h->version & 0xff);
        return -ENOEXEC;
    }
    if (bz->hdr_len < offsetof(struct setup_header, handover_offset)) {
        log_err("%s: setup header is %zu bytes, too short for protocol %u.%02u", name, bz->hdr_len,
                h->version >> 8, h->version & 0xff);
        return -ENOEXEC;
    }
    if (!(h->loadflags & LOADED_HIGH)) {
        log_err("%s: not a bzImage (zImage kernels load low; not supported)", name);
        return -ENOEXEC;
    }
    if (!(h->xloadflags & XLF_KERNEL_64)) {
        log_err("%s: kernel has no 64-bit entry point (XLF_KERNEL_64 clear)", name);
        return -ENOEXEC;
    }
    return 0;
}

int bzimage_parse(const void *img, size_t len, const char *name, struct bzimage *bz)
{
    const uint8_t *b = img;
    uint64_t setup_len, need;
    int ret;

    memset(bz, 0, sizeof(*bz));
    if (!bzimage_probe(img, len)) {
        log_err("%s: not a bzImage (no HdrS magic)", name);
        return -ENOEXEC;
    }
    bz->hdr_len = HDR_MAGIC_OFF + (size_t)b[HDR_JUMP_LEN] - HDR_OFFSET;
    if (bz->hdr_len > sizeof(bz->hdr))
        bz->hdr_len = sizeof(bz->hdr);
    if (len < HDR_OFFSET + bz->hdr_len) {
        log_err("%s: kernel image truncated: %zu bytes, header says %zu", name, len,
                HDR_OFFSET + bz->hdr_len);
        return -EINVAL;
    }
    memcpy(&bz->hdr, b + HDR_OFFSET, bz->hdr_len);
    ret = bzimage_check_protocol(bz, name);
    if (ret < 0)
        return ret;

    setup_len = ((uint64_t)bzimage_setup_sects(&bz->hdr) + 1) * 512;
    bz->kernel_len = (uint64_t)bz->hdr.syssize * 16;
    need = setup_len + bz->kernel_len;
    if (bz->kernel_len == 0) {
        log_err("%s: header says the protected-mode kernel is empty (syssize 0)", name);
        return -ENOEXEC;
    }
    if (len < need) {
        log_err("%s: kernel image truncated: %zu bytes, header says %" PRIu64, name, len, need);
        return -EINVAL;
    }
    bz->kernel = b + setup_len;
    return 0;
}

uint64_t bzimage_initrd_limit(const struct bzimage *bz)
{
    return (uint64_t)bz->hdr.initrd_addr_max + 1;
}

int bzimage_plan(const struct bzimage *bz, struct gmem *gm, const char *name, struct kload *l,
                 struct bzimage_placement *pl)
{
    const struct setup_header *h = &bz->hdr;
    uint64_t low_end = e820_low_ram_end(gm);
    uint64_t init = h->init_size > bz->kernel_len ? h->init_size : bz->kernel_len;
    uint64_t pref = h->pref_address;
    uint64_t start;

    /* The 64-bit entry is allowed anywhere; pref_address avoids a relocation copy. */
    pl->load_addr = LAYOUT_HIMEM_START;
    if (h->relocatable_kernel && pref >= LAYOUT_HIMEM_START && pref < low_end &&
        init <= low_end - pref)
        pl->load_addr = pref;
    /* Even when loaded low, the decompressor runs at max(load, LOAD_PHYSICAL_ADDR = pref). */
    start = pl->load_addr > pref ? pl->load_addr : pref;
    if (start >= low_end || init > low_end - start) {
        log_err("%s: guest RAM too small for the kernel: it needs 0x%" PRIx64
                " bytes from 0x%" PRIx64 ", RAM below the MMIO hole ends at 0x%" PRIx64,
                name, init, start, low_end);
        return -ENOMEM;
    }
    pl->end = start + init;
    if (!gmem_ptr(gm, pl->load_addr, bz->kernel_len)) {
        log_err("%s: cannot copy the kernel to 0x%" PRIx64, name, pl->load_addr);
        return -ENOMEM;
    }
    return kload_add(l, pl->load_addr, bz->kernel, bz->kernel_len);
}

static int bzimage_write_cmdline(const struct bzimage *bz, struct gmem *gm, const char *cmdline)
{
    size_t len = strlen(cmdline);
    uint64_t max = bz->hdr.cmdline_size;

    /* boot.rst: cmdline_size is the maximum without the terminating zero. */
    if (max > LAYOUT_CMDLINE_MAX - 1)
        max = LAYOUT_CMDLINE_MAX - 1;
    if (len > max) {
        log_err("kernel command line is %zu bytes, the kernel accepts at most %" PRIu64, len, max);
        return -E2BIG;
    }
    return gmem_write(gm, LAYOUT_CMDLINE, cmdline, len + 1);
}

int bzimage_write_params(const struct bzimage *bz, const struct bzimage_placement *pl,
                         struct gmem *gm, const struct bzimage_params *p)
{
    struct boot_params *bp = gmem_ptr(gm, LAYOUT_ZERO_PAGE, sizeof(*bp));
    int ret;

    if (!bp)
        return -EFAULT;
    ret = bzimage_write_cmdline(bz, gm, p->cmdline ? p->cmdline : "");
    if (ret < 0)
        return ret;
    if (p->e820->n > E820_MAX_ENTRIES_ZEROPAGE || p->initrd_addr + p->initrd_size > UINT32_MAX)
        return -EINVAL;

    /* boot.rst (64-bit protocol): zero the page, then copy the setup header into it. */
    memset(bp, 0, sizeof(*bp));
    memcpy(&bp->hdr, &bz->hdr, bz->hdr_len);
    bp->hdr.vid_mode = 0xffff; /* "normal" */
    bp->hdr.type_of_loader = LOADER_UNKNOWN;
    bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
    bp->hdr.heap_end_ptr = SETUP_HEAP_END;
    bp->hdr.code32_start = (uint32_t)pl->load_addr;
    bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
    bp->hdr.ramdisk_image = (uint32_t)p->initrd_addr;
    bp->hdr.ramdisk_size = (uint32_t)p->initrd_size;
    bp->hdr.setup_data = p->setup_data;
    bp->e820_entries = (uint8_t)p->e820->n;
    for (unsigned int i = 0; i < p->e820->n; i++) {
        bp->e820_table[i].addr = p->e820->r[i].addr;
        bp->e820_table[i].size = p->e820->r[i].size;
        bp->e820_table[i].type = p->e820->r[i].type;
    }
    return 0;
}

int bzimage_write_dtb(struct gmem *gm, const void *dtb, size_t size, uint64_t *node)
{
    struct setup_data hdr = {.next = 0, .type = SETUP_DTB, .len = (uint32_t)size};

    if (size > LAYOUT_DTB_MAX - sizeof(hdr)) {
        log_err("device tree is %zu bytes, at most %zu fit", size,
                (size_t)(LAYOUT_DTB_MAX - sizeof(hdr)));
        return -E2BIG;
    }
    if (gmem_write(gm, LAYOUT_DTB, &hdr, sizeof(hdr)) < 0 ||
        gmem_write(gm, LAYOUT_DTB + sizeof(hdr), dtb, size) < 0)
        return -EFAULT;
    *node = LAYOUT_DTB;
    return 0;
}
