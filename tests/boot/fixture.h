/*
 * Shared helpers for the vmm/boot unit tests: real memfd guest RAM, synthetic
 * bzImage and ELF images built byte by byte, temporary files, and a capture
 * of what the code under test logged (to check error messages).
 */
#ifndef MINIVMM_TEST_BOOT_FIXTURE_H
#define MINIVMM_TEST_BOOT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* gmem_create or fail the test. */
void fixture_gmem(struct gmem *gm, uint64_t size);

/* A synthetic bzImage: setup_sects sectors of setup, then kernel_len bytes of pattern. */
struct fixture_bz {
    uint8_t setup_sects; /* as stored (0 means 4 to the loader) */
    uint16_t version;    /* boot protocol */
    uint8_t loadflags;
    uint16_t xloadflags;
    uint8_t relocatable;
    uint32_t syssize; /* 16-byte units */
    uint32_t init_size;
    uint64_t pref_address;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint16_t boot_flag;
    const char *magic; /* "HdrS" */
};

/* Defaults: protocol 2.15, LOADED_HIGH, XLF_KERNEL_64, relocatable at 16 MiB, 64 KiB kernel. */
struct fixture_bz fixture_bz_default(void);
/* Builds the image (malloc'd); *len = (setup_sects + 1) * 512 + syssize * 16 - trunc. */
uint8_t *fixture_bz_build(const struct fixture_bz *o, size_t *len, size_t trunc);
/* Byte i of the synthetic kernel payload. */
uint8_t fixture_payload(uint64_t i);

/* A synthetic ELF with one PT_LOAD (filesz bytes of pattern + bss) and a PVH note. */
struct fixture_elf {
    bool is64;
    uint64_t paddr;
    uint64_t filesz, memsz;
    uint64_t entry;         /* e_entry */
    uint32_t pvh_entry;     /* 0: no note */
    unsigned int desc_size; /* 4 or 8 */
    bool note_in_section;   /* note reachable only through a SHT_NOTE section */
    bool extra_note_first;  /* an unrelated "GNU" note before the Xen one */
};
struct fixture_elf fixture_elf_default(bool is64);
uint8_t *fixture_elf_build(const struct fixture_elf *o, size_t *len);
/* Offsets inside a built ELF, for tests that corrupt it. */
size_t fixture_elf_phoff(const struct fixture_elf *o);
size_t fixture_elf_phentsize(const struct fixture_elf *o);

/* Writes data to a new temporary file; returns its malloc'd path. */
char *fixture_tmpfile(const void *data, size_t len);

/* Redirects fd 2 to a temporary file until fixture_capture_end, which returns what was written
 * (a static buffer, valid until the next capture). */
void fixture_capture_begin(void);
char *fixture_capture_end(void);

#endif
