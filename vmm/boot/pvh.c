/*
 * PVH start-of-day data. Everything sits in the fixed low-memory boot area
 * (layout.h). E820 reports it as plain RAM: Linux keeps the first 1 MiB out
 * of its allocator, and PVH kernels copy what they need before reusing it.
 */
#include "pvh.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

/* Module cmdline strings follow the module entries inside the modlist area. */
#define PVH_MODLIST_STRINGS                                                                        \
    (LAYOUT_PVH_MODLIST + PVH_MAX_MODULES * sizeof(struct hvm_modlist_entry))
#define PVH_MEMMAP_MAX                                                                             \
    ((LAYOUT_BOOT_GDT - LAYOUT_PVH_MEMMAP) / sizeof(struct hvm_memmap_table_entry))

_Static_assert(PVH_MODLIST_STRINGS + sizeof(PVH_DTB_MODULE_CMDLINE) <= LAYOUT_PVH_MEMMAP,
               "PVH module list and its strings fit below the memory map");
_Static_assert(E820_MAX <= PVH_MEMMAP_MAX, "the PVH memory map area holds a full E820 map");

static int pvh_write_cmdline(struct gmem *gm, const char *cmdline)
{
    size_t len = strlen(cmdline);

    if (len > LAYOUT_CMDLINE_MAX - 1) {
        log_err("kernel command line is %zu bytes, at most %llu fit", len, LAYOUT_CMDLINE_MAX - 1);
        return -E2BIG;
    }
    return gmem_write(gm, LAYOUT_CMDLINE, cmdline, len + 1);
}

static int pvh_write_modules(struct gmem *gm, const struct pvh_params *p, uint32_t *count)
{
    struct hvm_modlist_entry mods[PVH_MAX_MODULES];
    uint32_t n = 0;

    memset(mods, 0, sizeof(mods));
    if (p->initrd_size)
        mods[n++] = (struct hvm_modlist_entry){.paddr = p->initrd_addr, .size = p->initrd_size};
    if (p->dtb_size) {
        mods[n++] = (struct hvm_modlist_entry){
            .paddr = p->dtb_addr, .size = p->dtb_size, .cmdline_paddr = PVH_MODLIST_STRINGS};
        if (gmem_write(gm, PVH_MODLIST_STRINGS, PVH_DTB_MODULE_CMDLINE,
                       sizeof(PVH_DTB_MODULE_CMDLINE)) < 0)
            return -EFAULT;
    }
    *count = n;
    return gmem_write(gm, LAYOUT_PVH_MODLIST, mods, sizeof(mods));
}

static int pvh_write_memmap(struct gmem *gm, const struct e820_map *map)
{
    struct hvm_memmap_table_entry e[E820_MAX];

    memset(e, 0, sizeof(e));
    for (unsigned int i = 0; i < map->n; i++)
        e[i] = (struct hvm_memmap_table_entry){map->r[i].addr, map->r[i].size, map->r[i].type, 0};
    return gmem_write(gm, LAYOUT_PVH_MEMMAP, e, map->n * sizeof(e[0]));
}

int pvh_write_start_info(struct gmem *gm, const struct pvh_params *p)
{
    struct hvm_start_info si = {
        .magic = PVH_START_MAGIC,
        .version = PVH_START_VERSION,
        .modlist_paddr = LAYOUT_PVH_MODLIST,
        .cmdline_paddr = LAYOUT_CMDLINE,
        .rsdp_paddr = 0,
        .memmap_paddr = LAYOUT_PVH_MEMMAP,
        .memmap_entries = p->e820->n,
    };
    int ret;

    if (p->e820->n > E820_MAX)
        return -EINVAL;
    ret = pvh_write_cmdline(gm, p->cmdline ? p->cmdline : "");
    if (ret == 0)
        ret = pvh_write_modules(gm, p, &si.nr_modules);
    if (ret == 0)
        ret = pvh_write_memmap(gm, p->e820);
    if (ret == 0)
        ret = gmem_write(gm, LAYOUT_ZERO_PAGE, &si, sizeof(si));
    return ret;
}

int pvh_write_dtb(struct gmem *gm, const void *dtb, size_t size)
{
    if (size > LAYOUT_DTB_MAX) {
        log_err("device tree is %zu bytes, at most %llu fit", size, LAYOUT_DTB_MAX);
        return -E2BIG;
    }
    return gmem_write(gm, LAYOUT_DTB, dtb, size);
}
