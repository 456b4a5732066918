/*
 * Unit tests for vmm/boot/elfload.c on synthetic ELF32/ELF64 images: the PVH
 * note found wherever it lives, segments loaded by p_paddr with bss zeroed,
 * and crafted headers that must neither write outside RAM nor read outside
 * the file.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elfload.h"
#include "fixture.h"
#include "kload.h"
#include "layout.h"

/* elfload_plan carried out at once (a kload copy): what the tests check is guest RAM. */
static int elfload_copy_now(const struct elfload_image *elf, struct gmem *gm, const char *name,
                            uint64_t *end)
{
    struct kload l;
    int ret;

    kload_init(&l);
    ret = elfload_plan(elf, gm, name, &l, end);
    if (ret == 0)
        ret = kload_start(&l, gm, KLOAD_COPY, NULL, NULL);
    kload_close(&l);
    return ret;
}

static void check_loaded(const struct fixture_elf *o)
{
    struct gmem gm;
    struct elfload_image elf;
    uint8_t *img;
    size_t len;
    uint64_t entry = 0, end = 0;

    img = fixture_elf_build(o, &len);
    fixture_gmem(&gm, 16 * MiB);
    /* No bss clearing to check: a new VM's RAM is zeros, and the plan writes file bytes only. */
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    cr_assert_eq(elf.is64, o->is64);
    cr_assert_eq(elf.entry, o->entry);
    cr_assert(elfload_pvh_entry(&elf, &entry));
    cr_assert_eq(entry, o->pvh_entry);
    cr_assert_eq(elfload_copy_now(&elf, &gm, "elf", &end), 0);
    cr_assert_eq(end, o->paddr + o->memsz);
    const uint8_t *p = gmem_ptr(&gm, o->paddr, o->memsz);
    for (uint64_t i = 0; i < o->filesz; i++)
        cr_assert_eq(p[i], fixture_payload(i), "byte %llu", (unsigned long long)i);
    for (uint64_t i = o->filesz; i < o->memsz; i++)
        cr_assert_eq(p[i], 0, "bss byte %llu", (unsigned long long)i);
    free(img);
    gmem_destroy(&gm);
}

Test(elfload, elf64_with_note)
{
    struct fixture_elf o = fixture_elf_default(true);
    check_loaded(&o);
}

Test(elfload, elf32_with_note)
{
    struct fixture_elf o = fixture_elf_default(false);
    check_loaded(&o);
}

Test(elfload, linux_style_8_byte_note_after_another_note)
{
    struct fixture_elf o = fixture_elf_default(true);

    o.desc_size = 8; /* vmlinux: _ASM_PTR is .quad on x86_64 */
    o.extra_note_first = true;
    check_loaded(&o);
}

Test(elfload, note_only_in_a_section)
{
    for (int is64 = 0; is64 < 2; is64++) {
        struct fixture_elf o = fixture_elf_default(is64);
        o.note_in_section = true;
        check_loaded(&o);
    }
}

Test(elfload, no_note)
{
    struct fixture_elf o = fixture_elf_default(true);
    struct elfload_image elf;
    uint64_t entry;
    size_t len;
    uint8_t *img;

    o.pvh_entry = 0;
    o.extra_note_first = true;
    img = fixture_elf_build(&o, &len);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    cr_assert_not(elfload_pvh_entry(&elf, &entry));
    free(img);
}

Test(elfload, note_with_huge_sizes_is_ignored)
{
    struct fixture_elf o = fixture_elf_default(true);
    struct elfload_image elf;
    uint64_t entry;
    size_t len;
    uint8_t *img = fixture_elf_build(&o, &len);
    uint32_t huge = 0xfffffffe;

    memcpy(img + 0x200, &huge, 4); /* namesz of the Xen note */
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    cr_assert_not(elfload_pvh_entry(&elf, &entry));
    memcpy(img + 0x200, "\4\0\0\0", 4);
    memcpy(img + 0x204, &huge, 4); /* descsz */
    cr_assert_not(elfload_pvh_entry(&elf, &entry));
    free(img);
}

/* Builds o, lets corrupt() patch the PT_LOAD header, and expects elfload_copy to fail. */
static void expect_copy_fails(bool is64, void (*corrupt)(struct elfload_segment *), int want,
                              const char *msg)
{
    struct fixture_elf o = fixture_elf_default(is64);
    struct gmem gm;
    struct elfload_image elf;
    struct elfload_segment s;
    size_t len;
    uint64_t end;
    uint8_t *img = fixture_elf_build(&o, &len);
    uint8_t *ph = img + fixture_elf_phoff(&o);

    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    elfload_segment(&elf, 0, &s);
    corrupt(&s);
    if (is64) {
        Elf64_Phdr p;
        memcpy(&p, ph, sizeof(p));
        p.p_offset = s.offset, p.p_paddr = s.paddr, p.p_filesz = s.filesz, p.p_memsz = s.memsz;
        memcpy(ph, &p, sizeof(p));
    } else {
        Elf32_Phdr p;
        memcpy(&p, ph, sizeof(p));
        p.p_offset = (Elf32_Off)s.offset, p.p_paddr = (Elf32_Addr)s.paddr;
        p.p_filesz = (Elf32_Word)s.filesz, p.p_memsz = (Elf32_Word)s.memsz;
        memcpy(ph, &p, sizeof(p));
    }
    fixture_gmem(&gm, 16 * MiB);
    fixture_capture_begin();
    cr_assert_eq(elfload_copy_now(&elf, &gm, "elf", &end), want);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, msg), "expected '%s' in '%s'", msg, log);
    free(img);
    gmem_destroy(&gm);
}

static void beyond_ram(struct elfload_segment *s)
{
    s->paddr = 16 * MiB - 0x1000; /* starts in RAM, ends past it */
}

static void paddr_wraps(struct elfload_segment *s)
{
    s->paddr = 0xfffff000;
    s->memsz = 0x4000;
}

static void offset_outside_file(struct elfload_segment *s)
{
    s->offset = 0x7ffff000;
}

static void filesz_outside_file(struct elfload_segment *s)
{
    s->filesz = s->memsz = 0x100000;
}

static void filesz_over_memsz(struct elfload_segment *s)
{
    s->memsz = s->filesz - 1;
}

static void below_1mib(struct elfload_segment *s)
{
    s->paddr = LAYOUT_ZERO_PAGE;
}

Test(elfload, segment_outside_ram)
{
    for (int is64 = 0; is64 < 2; is64++) {
        expect_copy_fails(is64, beyond_ram, -ENOMEM, "lies outside guest RAM");
        expect_copy_fails(is64, paddr_wraps, -ENOMEM, "lies outside guest RAM");
    }
}

Test(elfload, offset_outside_file)
{
    for (int is64 = 0; is64 < 2; is64++) {
        expect_copy_fails(is64, offset_outside_file, -ENOEXEC, "lies outside the file");
        expect_copy_fails(is64, filesz_outside_file, -ENOEXEC, "lies outside the file");
        expect_copy_fails(is64, filesz_over_memsz, -ENOEXEC, "exceeds its memory size");
    }
}

Test(elfload, segment_in_the_boot_area)
{
    expect_copy_fails(true, below_1mib, -ENOEXEC, "overlaps the boot area below 1 MiB");
}

Test(elfload, elf64_wrapping_paddr_rejected)
{
    struct fixture_elf o = fixture_elf_default(true);
    struct gmem gm;
    struct elfload_image elf;
    size_t len;
    uint64_t end;
    uint8_t *img = fixture_elf_build(&o, &len);
    Elf64_Phdr p;

    memcpy(&p, img + sizeof(Elf64_Ehdr), sizeof(p));
    p.p_paddr = 0xfffffffffffff000ULL; /* paddr + memsz overflows 64 bits */
    memcpy(img + sizeof(Elf64_Ehdr), &p, sizeof(p));
    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    cr_assert_eq(elfload_copy_now(&elf, &gm, "elf", &end), -ENOMEM);
    free(img);
    gmem_destroy(&gm);
}

Test(elfload, bad_headers)
{
    struct fixture_elf o = fixture_elf_default(true);
    struct elfload_image elf;
    size_t len;
    uint8_t *img = fixture_elf_build(&o, &len);
    uint64_t off;
    uint16_t half;

    cr_assert_eq(elfload_parse(img, 40, "elf", &elf), -ENOEXEC, "shorter than the ELF header");
    off = len - 10;
    memcpy(img + offsetof(Elf64_Ehdr, e_phoff), &off, 8);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), -ENOEXEC, "phdrs past the end");
    off = 0xffffffffffffffc0ULL;
    memcpy(img + offsetof(Elf64_Ehdr, e_phoff), &off, 8);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), -ENOEXEC, "phoff wraps");
    off = sizeof(Elf64_Ehdr);
    memcpy(img + offsetof(Elf64_Ehdr, e_phoff), &off, 8);
    half = 8;
    memcpy(img + offsetof(Elf64_Ehdr, e_phentsize), &half, 2);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), -ENOEXEC, "phentsize too small");
    half = sizeof(Elf64_Phdr);
    memcpy(img + offsetof(Elf64_Ehdr, e_phentsize), &half, 2);
    half = EM_AARCH64;
    memcpy(img + offsetof(Elf64_Ehdr, e_machine), &half, 2);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), -ENOEXEC, "not x86");
    half = EM_X86_64;
    memcpy(img + offsetof(Elf64_Ehdr, e_machine), &half, 2);
    img[EI_DATA] = ELFDATA2MSB;
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), -ENOEXEC, "big endian");
    img[EI_DATA] = ELFDATA2LSB;
    cr_assert_eq(elfload_parse(img, len, NULL, &elf), 0, "restored");
    memcpy(img,
           "\x7f"
           "ELG",
           4);
    cr_assert_not(elfload_probe(img, len));
    free(img);
}

Test(elfload, section_table_outside_file_is_ignored)
{
    struct fixture_elf o = fixture_elf_default(true);
    struct elfload_image elf;
    size_t len;
    uint64_t entry;
    uint8_t *img;

    o.note_in_section = true;
    img = fixture_elf_build(&o, &len);
    uint64_t off = len - 8;
    memcpy(img + offsetof(Elf64_Ehdr, e_shoff), &off, 8);
    cr_assert_eq(elfload_parse(img, len, "elf", &elf), 0);
    cr_assert_eq(elf.shnum, 0);
    cr_assert_not(elfload_pvh_entry(&elf, &entry), "the note was only reachable through it");
    free(img);
}

/*
 * Crafted input, many times over: random bytes in the headers, program
 * headers and notes of a valid image. Under the sanitizer build any read
 * outside the file or write outside RAM crashes the test.
 */
Test(elfload, random_corruption_stays_in_bounds)
{
    struct gmem gm;
    unsigned int seed = 12345, loaded = 0;

    fixture_gmem(&gm, 4 * MiB);
    fixture_capture_begin(); /* thousands of error lines */
    for (int iter = 0; iter < 4000; iter++) {
        struct fixture_elf o = fixture_elf_default(iter & 1);
        struct elfload_image elf;
        size_t len;
        uint64_t entry, end;
        uint8_t *img = fixture_elf_build(&o, &len);

        for (int k = 0; k < 1 + iter % 6; k++) {
            size_t at = (size_t)rand_r(&seed) % 0x240; /* ELF header, phdrs, notes */
            img[at] = (uint8_t)rand_r(&seed);
        }
        if (elfload_parse(img, len, NULL, &elf) == 0) {
            (void)elfload_pvh_entry(&elf, &entry);
            if (elfload_copy_now(&elf, &gm, "fuzz", &end) == 0) {
                cr_assert_leq(end, 4 * MiB);
                loaded++;
            }
        }
        free(img);
    }
    fixture_capture_end();
    cr_assert_gt(loaded, 0, "some mutations still load");
    gmem_destroy(&gm);
}
