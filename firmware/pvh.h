/*
 * The PVH boot ABI as the firmware reads it: struct hvm_start_info (version 1,
 * with the memory map) and its module list. A VMM passes the device tree as
 * a module whose command line is "dtb".
 */
#ifndef FW_PVH_H
#define FW_PVH_H

#include <stdint.h>

#define PVH_START_MAGIC 0x336ec578U
#define PVH_DTB_MODULE  "dtb"
#define PVH_MEMMAP_RAM  1

struct pvh_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version >= 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct pvh_module {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info v1 layout");
_Static_assert(sizeof(struct pvh_module) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry layout");

#endif
