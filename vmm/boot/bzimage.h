/*
 * Linux x86 boot protocol (Documentation/x86/boot.rst), 64-bit entry only:
 * validate a bzImage's setup header, copy its protected-mode kernel into
 * guest RAM and build the zero page (struct boot_params) around it.
 */
#ifndef MINIVMM_BZIMAGE_H
#define MINIVMM_BZIMAGE_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e820.h"
#include "gmem.h"
#include "kload.h"

/* Protocol 2.12 introduced xloadflags, which is how a kernel announces XLF_KERNEL_64. */
#define BZIMAGE_MIN_PROTOCOL   0x020c
#define BZIMAGE_ENTRY64_OFFSET 0x200 /* startup_64 = load address + 0x200 */

struct bzimage {
    struct setup_header hdr; /* the image's header; fields past hdr_len are zero */
    size_t hdr_len;          /* bytes of setup_header the image defines */
    const uint8_t *kernel;   /* protected-mode code, inside the caller's image buffer */
    uint64_t kernel_len;     /* syssize * 16 */
};

/* Where the kernel went: [load_addr, end) is what it may use while starting. */
struct bzimage_placement {
    uint64_t load_addr;
    uint64_t end;
};

struct bzimage_params {
    const char *cmdline;  /* final command line; "" for none */
    uint64_t initrd_addr; /* 0 when there is no initrd */
    uint64_t initrd_size;
    uint64_t setup_data; /* guest address of the first setup_data node, or 0 */
    const struct e820_map *e820;
};

/* True when img carries the "HdrS" magic at 0x202: it claims to be a bzImage. */
bool bzimage_probe(const void *img, size_t len);

/*
 * Validates the header (magic, boot flag, protocol >= 2.12, LOADED_HIGH,
 * XLF_KERNEL_64, setup_sects with 0 meaning 4, syssize against len) and fills
 * *bz, which points into img. Errors are logged prefixed with name:
 * -ENOEXEC for what is not a usable bzImage, -EINVAL for a truncated one.
 */
MUST_CHECK int bzimage_parse(const void *img, size_t len, const char *name, struct bzimage *bz);

/*
 * Plans the protected-mode kernel's copy to pref_address (relocatable kernels,
 * when it fits) or 1 MiB, after checking that init_size bytes from the start
 * address fit in low RAM. -ENOMEM (logged) when the guest is too small.
 */
MUST_CHECK int bzimage_plan(const struct bzimage *bz, struct gmem *gm, const char *name,
                            struct kload *l, struct bzimage_placement *pl);

/* Highest address + 1 an initrd may use for this kernel (initrd_addr_max is inclusive). */
uint64_t bzimage_initrd_limit(const struct bzimage *bz);

/*
 * Writes the command line at LAYOUT_CMDLINE (-E2BIG, logged, past the
 * kernel's cmdline_size or LAYOUT_CMDLINE_MAX) and the zero page at
 * LAYOUT_ZERO_PAGE: the image's header plus type_of_loader 0xff,
 * LOADED_HIGH | CAN_USE_HEAP, cmd_line_ptr, ramdisk, setup_data and E820.
 */
MUST_CHECK int bzimage_write_params(const struct bzimage *bz, const struct bzimage_placement *pl,
                                    struct gmem *gm, const struct bzimage_params *p);

/*
 * Puts a flattened device tree in a SETUP_DTB setup_data node at LAYOUT_DTB
 * (Linux with CONFIG_OF picks it up); *node gets the node's address for
 * bzimage_params.setup_data. -E2BIG when it exceeds LAYOUT_DTB_MAX.
 */
MUST_CHECK int bzimage_write_dtb(struct gmem *gm, const void *dtb, size_t size, uint64_t *node);

#endif
