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
#include "pvh_abi.h"

#define PVH_MAX_MODULES 2 /* initrd and device tree */

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
