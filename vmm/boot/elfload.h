/*
 * ELF32/ELF64 x86 images with a Xen PVH entry note (Linux vmlinux, the
 * minivmm test firmware): header validation, the note lookup and PT_LOAD
 * placement by physical address. The file is hostile input: every offset and
 * size is checked against the file, every destination against guest RAM.
 */
#ifndef MINIVMM_ELFLOAD_H
#define MINIVMM_ELFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"
#include "kload.h"

/* xen/include/public/elfnote.h: 32-bit physical entry point, in a note named "Xen". */
#define ELFLOAD_XEN_PHYS32_ENTRY 18

struct elfload_image {
    const uint8_t *img; /* the whole file, owned by the caller */
    size_t len;
    bool is64;
    uint64_t entry; /* e_entry */
    uint64_t phoff;
    unsigned int phnum, phentsize;
    uint64_t shoff; /* section headers; shnum 0 when absent or unusable */
    unsigned int shnum, shentsize;
};

/* One program header, widened to 64 bits. */
struct elfload_segment {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz, align;
};

/* True when img starts with the ELF magic. */
bool elfload_probe(const void *img, size_t len);

/*
 * Checks the ELF header (class 32/64, little endian, x86, ET_EXEC, program
 * headers inside the file) and fills *elf. -ENOEXEC, logged with name
 * unless name is NULL (quiet probing).
 */
MUST_CHECK int elfload_parse(const void *img, size_t len, const char *name,
                             struct elfload_image *elf);

/* Program header i (< phnum), read without trusting alignment. */
void elfload_segment(const struct elfload_image *elf, unsigned int i, struct elfload_segment *seg);

/*
 * Looks for XEN_ELFNOTE_PHYS32_ENTRY in PT_NOTE segments, or failing that in SHT_NOTE
 * sections (a vmlinux's section table is at its end: an unpacked payload has its program
 * headers and notes ready long before). False when there is none (or it does not fit 32 bits).
 */
bool elfload_pvh_entry(const struct elfload_image *elf, uint64_t *entry);

/*
 * Plans every PT_LOAD segment's file bytes to its p_paddr (its bss needs nothing: a new
 * VM's RAM is zeros). A segment must lie in the file, in one RAM region, and at or above
 * 1 MiB (below is the boot area). *end = highest loaded address + 1. Errors logged with name.
 */
MUST_CHECK int elfload_plan(const struct elfload_image *elf, struct gmem *gm, const char *name,
                            struct kload *l, uint64_t *end);

#endif
