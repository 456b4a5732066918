/*
 * The Xen PVH boot ABI's wire structs (xen/include/public/arch-x86/hvm/start_info.h,
 * version 1): hvm_start_info, the module list and the memory map. <stdint.h> only: the
 * VMM writes them (pvh.c) and the freestanding test firmware reads them (machine.c).
 */
#ifndef MINIVMM_PVH_ABI_H
#define MINIVMM_PVH_ABI_H

#include <stdint.h>

#define PVH_START_MAGIC        0x336ec578
#define PVH_START_VERSION      1
#define PVH_DTB_MODULE_CMDLINE "dtb"
#define PVH_MEMMAP_RAM         1 /* E820 RAM */

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

#endif
