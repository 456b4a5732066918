/*
 * Test fixtures for vmm/boot: images are written field by field from the
 * specs (boot.rst offsets, the ELF structs of <elf.h>), not by the code under
 * test, so a wrong offset in the loader shows up as a failure.
 */
#include "fixture.h"

#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fixture_gmem(struct gmem *gm, uint64_t size)
{
    cr_assert_eq(gmem_create(gm, size, false), 0, "gmem_create(%llu)", (unsigned long long)size);
}

uint8_t fixture_payload(uint64_t i)
{
    return (uint8_t)(i * 7 + 3 + (i >> 8));
}

struct fixture_bz fixture_bz_default(void)
{
    return (struct fixture_bz){
        .setup_sects = 8,
        .version = 0x020f,
        .loadflags = 0x01,  /* LOADED_HIGH */
        .xloadflags = 0x03, /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
        .relocatable = 1,
        .syssize = 0x10000 / 16,
        .init_size = 4 * MiB,
        .pref_address = 16 * MiB,
        .initrd_addr_max = 0x7fffffff,
        .cmdline_size = 2047,
        .boot_flag = 0xAA55,
        .magic = "HdrS",
    };
}

static void put(uint8_t *img, size_t off, const void *v, size_t n)
{
    memcpy(img + off, v, n);
}

uint8_t *fixture_bz_build(const struct fixture_bz *o, size_t *len, size_t trunc)
{
    size_t setup = ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
    size_t full = setup + (size_t)o->syssize * 16;
    size_t alloc = full < 0x1000 ? 0x1000 : full;
    uint8_t *img = calloc(1, alloc);
    uint8_t jump[2] = {0xeb, 0x6a}; /* header ends at 0x202 + 0x6a = 0x26c (protocol 2.15) */

    cr_assert(img);
    img[0x1f1] = o->setup_sects;
    put(img, 0x1f4, &o->syssize, 4);
    put(img, 0x1fe, &o->boot_flag, 2);
    put(img, 0x200, jump, 2);
    put(img, 0x202, o->magic, 4);
    put(img, 0x206, &o->version, 2);
    img[0x211] = o->loadflags;
    put(img, 0x22c, &o->initrd_addr_max, 4);
    uint32_t align = 2 * MiB;
    put(img, 0x230, &align, 4);
    img[0x234] = o->relocatable;
    put(img, 0x236, &o->xloadflags, 2);
    put(img, 0x238, &o->cmdline_size, 4);
    put(img, 0x258, &o->pref_address, 8);
    put(img, 0x260, &o->init_size, 4);
    for (size_t i = setup; i < full; i++)
        img[i] = fixture_payload(i - setup);
    *len = full > trunc ? full - trunc : 0;
    return img;
}

struct fixture_elf fixture_elf_default(bool is64)
{
    return (struct fixture_elf){
        .is64 = is64,
        .paddr = 2 * MiB,
        .filesz = 0x3000,
        .memsz = 0x5000,
        .entry = 2 * MiB + 0x100,
        .pvh_entry = 2 * MiB + 0x40,
        .desc_size = 4,
    };
}

size_t fixture_elf_phoff(const struct fixture_elf *o)
{
    return o->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
}

size_t fixture_elf_phentsize(const struct fixture_elf *o)
{
    return o->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
}

#define NOTES_OFF 0x200
#define DATA_OFF  0x1000

/* Writes the notes at NOTES_OFF; returns their size. */
static size_t fixture_notes(const struct fixture_elf *o, uint8_t *img)
{
    size_t pos = NOTES_OFF;

    if (o->extra_note_first) {
        uint32_t h[3] = {4, 8, 5 /* NT_GNU_PROPERTY_TYPE_0 */};
        put(img, pos, h, 12);
        put(img, pos + 12, "GNU", 4);
        pos += 12 + 4 + 8;
    }
    if (o->pvh_entry) {
        uint32_t h[3] = {4, o->desc_size, 18 /* XEN_ELFNOTE_PHYS32_ENTRY */};
        uint64_t v = o->pvh_entry;
        put(img, pos, h, 12);
        put(img, pos + 12, "Xen", 4);
        put(img, pos + 16, &v, o->desc_size);
        pos += 16 + ((o->desc_size + 3) & ~3U);
    }
    return pos - NOTES_OFF;
}

uint8_t *fixture_elf_build(const struct fixture_elf *o, size_t *len)
{
    size_t shoff = DATA_OFF + o->filesz;
    size_t full = shoff + 2 * sizeof(Elf64_Shdr);
    uint8_t *img = calloc(1, full);
    size_t notes, phoff = fixture_elf_phoff(o);
    unsigned int phnum = o->note_in_section ? 1 : 2;

    cr_assert(img);
    notes = fixture_notes(o, img);
    for (uint64_t i = 0; i < o->filesz; i++)
        img[DATA_OFF + i] = fixture_payload(i);
    if (o->is64) {
        Elf64_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = EM_X86_64,
                         .e_version = EV_CURRENT,
                         .e_entry = o->entry,
                         .e_phoff = phoff,
                         .e_ehsize = sizeof(eh),
                         .e_phentsize = sizeof(Elf64_Phdr),
                         .e_phnum = (Elf64_Half)phnum};
        Elf64_Phdr ph[2] = {
            {.p_type = PT_LOAD,
             .p_offset = DATA_OFF,
             .p_vaddr = o->paddr,
             .p_paddr = o->paddr,
             .p_filesz = o->filesz,
             .p_memsz = o->memsz,
             .p_align = 0x1000},
            {.p_type = PT_NOTE, .p_offset = NOTES_OFF, .p_filesz = notes, .p_align = 4},
        };
        Elf64_Shdr sh[2] = {
            {0},
            {.sh_type = SHT_NOTE, .sh_offset = NOTES_OFF, .sh_size = notes, .sh_addralign = 4}};
        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS64;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        if (o->note_in_section) {
            eh.e_shoff = shoff, eh.e_shnum = 2, eh.e_shentsize = sizeof(Elf64_Shdr);
            put(img, shoff, sh, sizeof(sh));
        }
        put(img, 0, &eh, sizeof(eh));
        put(img, phoff, ph, phnum * sizeof(ph[0]));
    } else {
        Elf32_Ehdr eh = {.e_type = ET_EXEC,
                         .e_machine = EM_386,
                         .e_version = EV_CURRENT,
                         .e_entry = (Elf32_Addr)o->entry,
                         .e_phoff = (Elf32_Off)phoff,
                         .e_ehsize = sizeof(eh),
                         .e_phentsize = sizeof(Elf32_Phdr),
                         .e_phnum = (Elf32_Half)phnum};
        Elf32_Phdr ph[2] = {
            {.p_type = PT_LOAD,
             .p_offset = DATA_OFF,
             .p_vaddr = (Elf32_Addr)o->paddr,
             .p_paddr = (Elf32_Addr)o->paddr,
             .p_filesz = (Elf32_Word)o->filesz,
             .p_memsz = (Elf32_Word)o->memsz,
             .p_align = 0x1000},
            {.p_type = PT_NOTE, .p_offset = NOTES_OFF, .p_filesz = (Elf32_Word)notes, .p_align = 4},
        };
        Elf32_Shdr sh[2] = {{0},
                            {.sh_type = SHT_NOTE,
                             .sh_offset = NOTES_OFF,
                             .sh_size = (Elf32_Word)notes,
                             .sh_addralign = 4}};
        memcpy(eh.e_ident, ELFMAG, SELFMAG);
        eh.e_ident[EI_CLASS] = ELFCLASS32;
        eh.e_ident[EI_DATA] = ELFDATA2LSB;
        if (o->note_in_section) {
            eh.e_shoff = (Elf32_Off)shoff, eh.e_shnum = 2, eh.e_shentsize = sizeof(Elf32_Shdr);
            put(img, shoff, sh, sizeof(sh));
        }
        put(img, 0, &eh, sizeof(eh));
        put(img, phoff, ph, phnum * sizeof(ph[0]));
    }
    *len = full;
    return img;
}

char *fixture_tmpfile(const void *data, size_t len)
{
    char *path = strdup("/tmp/minivmm-boot-test-XXXXXX");
    int fd;

    cr_assert(path);
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static int saved_stderr = -1;
static FILE *capture;

void fixture_capture_begin(void)
{
    capture = tmpfile();
    cr_assert(capture);
    fflush(stderr);
    saved_stderr = dup(2);
    cr_assert_geq(saved_stderr, 0);
    cr_assert_geq(dup2(fileno(capture), 2), 0);
}

char *fixture_capture_end(void)
{
    static char buf[4096];
    size_t n;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    rewind(capture);
    n = fread(buf, 1, sizeof(buf) - 1, capture);
    buf[n] = '\0';
    fclose(capture);
    capture = NULL;
    return buf;
}
