/*
 * Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h, version 1):
 * the hvm_start_info block, module list and memory map a PVH kernel finds
 * through EBX. Wire structs are here so tests and callers can read them back.
 *
 * Modules: module 0 is the initrd when one is given (Linux takes module 0 as
 * its initrd). A flattened device tree is passed as one more module whose
 * cmdline string is "dtb" (PVH_DTB_MODULE_CMDLINE): the minivmm test firmware
 * looks for that name. Do not give a DTB to Linux without an initrd: it would
 * take the DTB for its initrd.
 */
#ifndef MINIVMM_PVH_H
#define MINIVMM_PVH_H

#include <stdint.h>

#include "e820.h"
#include "gmem.h"

#define PVH_START_MAGIC        0x336ec578
#define PVH_START_VERSION      1
#define PVH_MAX_MODULES        2
#define PVH_DTB_MODULE_CMDLINE "dtb"

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;   /* 0: no ACPI */
    uint64_t memmap_paddr; /* version 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* E820 types */
    uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry is 24 bytes");

struct pvh_params {
    const char *cmdline;  /* final command line; "" for none */
    uint64_t initrd_addr; /* initrd_size 0: none */
    uint64_t initrd_size;
    uint64_t dtb_addr; /* dtb_size 0: none */
    uint64_t dtb_size;
    const struct e820_map *e820;
};

/*
 * Writes the command line (LAYOUT_CMDLINE, -E2BIG logged past
 * LAYOUT_CMDLINE_MAX), module list (LAYOUT_PVH_MODLIST), memory map
 * (LAYOUT_PVH_MEMMAP) and hvm_start_info (LAYOUT_ZERO_PAGE).
 */
MUST_CHECK int pvh_write_start_info(struct gmem *gm, const struct pvh_params *p);

/* Copies a device tree blob to LAYOUT_DTB; -E2BIG (logged) past LAYOUT_DTB_MAX. */
MUST_CHECK int pvh_write_dtb(struct gmem *gm, const void *dtb, size_t size);

#endif
