/*
 * ELF loading for PVH. Headers are copied out of the image with memcpy
 * (never dereferenced in place: the buffer has no alignment guarantee) and
 * widened to 64-bit, so one code path serves ELF32 and ELF64.
 */
#include "elfload.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "layout.h"

bool elfload_probe(const void *img, size_t len)
{
    return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/* True when [off, off + size) lies inside a len-byte file. */
static bool elfload_in_file(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

static int elfload_parse_header(struct elfload_image *elf)
{
    if (elf->is64) {
        Elf64_Ehdr eh;

        if (elf->len < sizeof(eh))
            return -ENOEXEC;
        memcpy(&eh, elf->img, sizeof(eh));
        if (eh.e_type != ET_EXEC || eh.e_machine != EM_X86_64 ||
            eh.e_phentsize < sizeof(Elf64_Phdr))
            return -ENOEXEC;
        elf->entry = eh.e_entry;
        elf->phoff = eh.e_phoff;
        elf->phnum = eh.e_phnum;
        elf->phentsize = eh.e_phentsize;
        elf->shoff = eh.e_shoff;
        elf->shnum = eh.e_shentsize >= sizeof(Elf64_Shdr) ? eh.e_shnum : 0;
        elf->shentsize = eh.e_shentsize;
    } else {
        Elf32_Ehdr eh;

        if (elf->len < sizeof(eh))
            return -ENOEXEC;
        memcpy(&eh, elf->img, sizeof(eh));
        if (eh.e_type != ET_EXEC || eh.e_machine != EM_386 || eh.e_phentsize < sizeof(Elf32_Phdr))
            return -ENOEXEC;
        elf->entry = eh.e_entry;
        elf->phoff = eh.e_phoff;
        elf->phnum = eh.e_phnum;
        elf->phentsize = eh.e_phentsize;
        elf->shoff = eh.e_shoff;
        elf->shnum = eh.e_shentsize >= sizeof(Elf32_Shdr) ? eh.e_shnum : 0;
        elf->shentsize = eh.e_shentsize;
    }
    return 0;
}

/* elfload_parse's error path: a NULL name means the caller is only probing. */
#define elfload_reject(name, ...)                                                                  \
    do {                                                                                           \
        if (name)                                                                                  \
            log_err(__VA_ARGS__);                                                                  \
        return -ENOEXEC;                                                                           \
    } while (0)

int elfload_parse(const void *img, size_t len, const char *name, struct elfload_image *elf)
{
    const uint8_t *b = img;

    memset(elf, 0, sizeof(*elf));
    elf->img = b;
    elf->len = len;
    if (!elfload_probe(img, len) || len < EI_NIDENT)
        elfload_reject(name, "%s: not an ELF file", name);
    if ((b[EI_CLASS] != ELFCLASS32 && b[EI_CLASS] != ELFCLASS64) || b[EI_DATA] != ELFDATA2LSB)
        elfload_reject(name, "%s: not a little-endian ELF32/ELF64 file", name);
    elf->is64 = b[EI_CLASS] == ELFCLASS64;
    if (elfload_parse_header(elf) < 0)
        elfload_reject(name, "%s: not an x86 ELF executable (%s)", name,
                       elf->is64 ? "ELF64" : "ELF32");
    /* phnum and phentsize are 16-bit: their product cannot overflow. */
    if (elf->phnum == 0 || !elfload_in_file(len, elf->phoff, (uint64_t)elf->phnum * elf->phentsize))
        elfload_reject(name, "%s: ELF program headers lie outside the file", name);
    /* Sections only help find notes: ignore a table that does not fit. */
    if (!elfload_in_file(len, elf->shoff, (uint64_t)elf->shnum * elf->shentsize))
        elf->shnum = 0;
    return 0;
}

void elfload_segment(const struct elfload_image *elf, unsigned int i, struct elfload_segment *seg)
{
    const uint8_t *p = elf->img + elf->phoff + (uint64_t)i * elf->phentsize;

    if (elf->is64) {
        Elf64_Phdr ph;
        memcpy(&ph, p, sizeof(ph));
        *seg = (struct elfload_segment){ph.p_type,   ph.p_offset, ph.p_paddr,
                                        ph.p_filesz, ph.p_memsz,  ph.p_align};
    } else {
        Elf32_Phdr ph;
        memcpy(&ph, p, sizeof(ph));
        *seg = (struct elfload_segment){ph.p_type,   ph.p_offset, ph.p_paddr,
                                        ph.p_filesz, ph.p_memsz,  ph.p_align};
    }
}

/* Section i's type, file range and alignment (i < shnum, table known to be in the file). */
static void elfload_section(const struct elfload_image *elf, unsigned int i, uint32_t *type,
                            uint64_t *off, uint64_t *size, uint64_t *align)
{
    const uint8_t *p = elf->img + elf->shoff + (uint64_t)i * elf->shentsize;

    if (elf->is64) {
        Elf64_Shdr sh;
        memcpy(&sh, p, sizeof(sh));
        *type = sh.sh_type, *off = sh.sh_offset, *size = sh.sh_size, *align = sh.sh_addralign;
    } else {
        Elf32_Shdr sh;
        memcpy(&sh, p, sizeof(sh));
        *type = sh.sh_type, *off = sh.sh_offset, *size = sh.sh_size, *align = sh.sh_addralign;
    }
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/*
 * Walks the notes in [off, off + size). Notes are 4-byte aligned in practice
 * even in ELF64 files; 8 only where the container says so (GNU properties).
 */
static bool elfload_scan_notes(const struct elfload_image *elf, uint64_t off, uint64_t size,
                               uint64_t align, uint64_t *entry)
{
    const uint64_t a = align == 8 ? 8 : 4;
    uint64_t pos = 0;

    if (!elfload_in_file(elf->len, off, size))
        return false;
    while (size - pos >= 12) {
        const uint8_t *n = elf->img + off + pos;
        uint32_t namesz, descsz, type;

        memcpy(&namesz, n, 4);
        memcpy(&descsz, n + 4, 4);
        memcpy(&type, n + 8, 4);
        uint64_t name_len = align_up(namesz, a), desc_len = align_up(descsz, a);
        if (name_len > size - pos - 12 || desc_len > size - pos - 12 - name_len)
            return false;
        const uint8_t *desc = n + 12 + name_len;
        if (namesz == 4 && memcmp(n + 12, "Xen", 4) == 0 && type == ELFLOAD_XEN_PHYS32_ENTRY &&
            (descsz == 4 || descsz == 8)) {
            uint64_t v = 0;
            memcpy(&v, desc, descsz); /* little endian, checked in elfload_parse */
            if (v > UINT32_MAX)
                return false;
            *entry = v;
            return true;
        }
        pos += 12 + name_len + desc_len;
    }
    return false;
}

bool elfload_pvh_entry(const struct elfload_image *elf, uint64_t *entry)
{
    for (unsigned int i = 0; i < elf->phnum; i++) {
        struct elfload_segment seg;

        elfload_segment(elf, i, &seg);
        if (seg.type == PT_NOTE &&
            elfload_scan_notes(elf, seg.offset, seg.filesz, seg.align, entry))
            return true;
    }
    for (unsigned int i = 0; i < elf->shnum; i++) {
        uint32_t type;
        uint64_t off, size, align;

        elfload_section(elf, i, &type, &off, &size, &align);
        if (type == SHT_NOTE && elfload_scan_notes(elf, off, size, align, entry))
            return true;
    }
    return false;
}

static int elfload_plan_segment(const struct elfload_image *elf, struct gmem *gm, const char *name,
                                unsigned int i, const struct elfload_segment *s, struct kload *l)
{
    if (s->filesz > s->memsz || !elfload_in_file(elf->len, s->offset, s->filesz)) {
        log_err("%s: ELF segment %u: file range 0x%" PRIx64 "+0x%" PRIx64
                " lies outside the file (%zu bytes) or exceeds its memory size",
                name, i, s->offset, s->filesz, elf->len);
        return -ENOEXEC;
    }
    if (s->paddr < LAYOUT_HIMEM_START) {
        log_err("%s: ELF segment %u at 0x%" PRIx64 " overlaps the boot area below 1 MiB", name, i,
                s->paddr);
        return -ENOEXEC;
    }
    if (!gmem_ptr(gm, s->paddr, s->memsz)) {
        log_err("%s: ELF segment %u at 0x%" PRIx64 "+0x%" PRIx64 " lies outside guest RAM", name, i,
                s->paddr, s->memsz);
        return -ENOMEM;
    }
    /* The bss needs nothing: the guest RAM of a new VM is all zeros. */
    return kload_add(l, s->paddr, elf->img + s->offset, s->filesz);
}

int elfload_plan(const struct elfload_image *elf, struct gmem *gm, const char *name,
                 struct kload *l, uint64_t *end)
{
    unsigned int loaded = 0;

    *end = 0;
    for (unsigned int i = 0; i < elf->phnum; i++) {
        struct elfload_segment seg;
        int ret;

        elfload_segment(elf, i, &seg);
        if (seg.type != PT_LOAD || seg.memsz == 0)
            continue;
        ret = elfload_plan_segment(elf, gm, name, i, &seg, l);
        if (ret < 0)
            return ret;
        if (seg.paddr + seg.memsz > *end)
            *end = seg.paddr + seg.memsz;
        loaded++;
    }
    if (loaded == 0) {
        log_err("%s: ELF file has nothing to load", name);
        return -ENOEXEC;
    }
    return 0;
}
