/*
 * Unit tests for vmm/boot/cpumode.c: the GDT descriptors decode to the flat
 * segments the boot protocols require, the page tables identity-map 4 GiB
 * (checked by walking them like the MMU would), and the sregs edits.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cpumode.h"
#include "fixture.h"
#include "layout.h"

/* Translates a linear address through the guest's tables (4-level, 2 MiB pages). */
static uint64_t walk(const struct gmem *gm, uint64_t cr3, uint64_t va)
{
    uint64_t e;

    cr_assert_eq(gmem_read(gm, cr3 + ((va >> 39) & 511) * 8, &e, 8), 0);
    cr_assert(e & 1, "PML4E present");
    cr_assert_eq(gmem_read(gm, (e & ~0xfffULL) + ((va >> 30) & 511) * 8, &e, 8), 0);
    cr_assert(e & 1, "PDPTE present");
    cr_assert_not(e & 0x80, "no 1 GiB pages");
    cr_assert_eq(gmem_read(gm, (e & ~0xfffULL) + ((va >> 21) & 511) * 8, &e, 8), 0);
    cr_assert(e & 1, "PDE present");
    cr_assert(e & 0x80, "2 MiB page");
    cr_assert(e & 2, "writable");
    return (e & ~0x1fffffULL & 0xfffffffffffULL) | (va & 0x1fffff);
}

Test(cpumode, identity_map_of_4gib)
{
    const uint64_t probes[] = {0,          0x7000,     0x1000000 + 0x200, 0xbfffffff,
                               0xfec00000, 0xfee00000, 0xffffffff};
    struct gmem gm;
    uint64_t gdt[CPUMODE_GDT_ENTRIES];

    fixture_gmem(&gm, 64 * MiB);
    cr_assert_eq(cpumode_write_tables(&gm), 0);
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        cr_assert_eq(walk(&gm, LAYOUT_PML4, probes[i]), probes[i], "0x%llx",
                     (unsigned long long)probes[i]);
    cr_assert_eq(gmem_read(&gm, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)), 0);
    cr_assert_eq(memcmp(gdt, cpumode_gdt, sizeof(gdt)), 0);
    gmem_destroy(&gm);
}

Test(cpumode, tables_need_low_ram)
{
    struct gmem gm;

    fixture_gmem(&gm, 0x8000); /* ends below LAYOUT_PD */
    cr_assert_lt(gm.ram_size, LAYOUT_PD);
    cr_assert_eq(cpumode_write_tables(&gm), -EFAULT);
    gmem_destroy(&gm);
}

Test(cpumode, descriptors_decode_flat)
{
    struct kvm_segment s;

    cpumode_segment(cpumode_gdt[CPUMODE_SEL_CODE64 / 8], CPUMODE_SEL_CODE64, &s);
    cr_assert_eq(s.selector, 0x10, "Linux __BOOT_CS");
    cr_assert_eq(s.base, 0);
    cr_assert_eq(s.limit, 0xffffffff);
    cr_assert_eq(s.type, 0xb, "code, execute/read, accessed");
    cr_assert(s.present && s.s && s.g && s.l);
    cr_assert_eq(s.db, 0, "L=1 requires D=0");
    cr_assert_eq(s.dpl, 0);

    cpumode_segment(cpumode_gdt[CPUMODE_SEL_CODE32 / 8], CPUMODE_SEL_CODE32, &s);
    cr_assert(s.db && !s.l);
    cr_assert_eq(s.limit, 0xffffffff);

    cpumode_segment(cpumode_gdt[CPUMODE_SEL_DATA / 8], CPUMODE_SEL_DATA, &s);
    cr_assert_eq(s.selector, 0x18, "Linux __BOOT_DS");
    cr_assert_eq(s.type, 0x3, "data, read/write, accessed");
    cr_assert(s.db && s.g && s.present);

    cpumode_segment(cpumode_gdt[CPUMODE_SEL_TSS / 8], CPUMODE_SEL_TSS, &s);
    cr_assert_eq(s.limit, 0x67);
    cr_assert_eq(s.s, 0, "system segment");
    cr_assert_eq(s.g, 0);
}

Test(cpumode, long64_state)
{
    struct kvm_sregs sr;

    memset(&sr, 0xa5, sizeof(sr));
    cpumode_set_long64(&sr);
    cr_assert_eq(sr.cs.selector, CPUMODE_SEL_CODE64);
    cr_assert(sr.cs.l);
    cr_assert_eq(sr.ds.selector, CPUMODE_SEL_DATA);
    cr_assert_eq(sr.ss.selector, CPUMODE_SEL_DATA);
    cr_assert_eq(sr.es.selector, CPUMODE_SEL_DATA);
    cr_assert_eq(sr.tr.type, 11, "busy TSS");
    cr_assert(sr.cr0 & CPUMODE_CR0_PE);
    cr_assert(sr.cr0 & CPUMODE_CR0_PG);
    cr_assert_eq(sr.cr3, LAYOUT_PML4);
    cr_assert(sr.cr4 & CPUMODE_CR4_PAE);
    cr_assert_eq(sr.efer, CPUMODE_EFER_LME | CPUMODE_EFER_LMA);
    cr_assert_eq(sr.gdt.base, LAYOUT_BOOT_GDT);
    cr_assert_eq(sr.gdt.limit, CPUMODE_GDT_ENTRIES * 8 - 1);
    /* Fields the vCPU code owns are left alone. */
    cr_assert_eq(sr.apic_base, 0xa5a5a5a5a5a5a5a5ULL);
}

Test(cpumode, prot32_state)
{
    struct kvm_sregs sr;

    memset(&sr, 0, sizeof(sr));
    sr.efer = CPUMODE_EFER_LME;
    sr.cr4 = CPUMODE_CR4_PAE;
    cpumode_set_prot32(&sr);
    cr_assert_eq(sr.cs.selector, CPUMODE_SEL_CODE32);
    cr_assert(sr.cs.db && !sr.cs.l);
    cr_assert_eq(sr.ds.selector, CPUMODE_SEL_DATA);
    cr_assert(sr.cr0 & CPUMODE_CR0_PE);
    cr_assert_not(sr.cr0 & CPUMODE_CR0_PG, "PVH: paging off");
    cr_assert_eq(sr.cr4, 0);
    cr_assert_eq(sr.efer, 0);
}
