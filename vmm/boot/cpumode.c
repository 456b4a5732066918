/*
 * Boot GDT, identity page tables and the matching segment/control register
 * state. The hidden segment state is decoded from the very descriptors in the
 * GDT so the two can never disagree.
 */
#include "cpumode.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7) /* 2 MiB page in a page directory entry */

const uint64_t cpumode_gdt[CPUMODE_GDT_ENTRIES] = {
    0,
    0x00cf9b000000ffffULL, /* 0x08: code, 32-bit, flat, execute/read */
    0x00af9b000000ffffULL, /* 0x10: code, 64-bit (L), flat, execute/read */
    0x00cf93000000ffffULL, /* 0x18: data, flat, read/write */
    0x0000890000000067ULL, /* 0x20: available TSS at 0, limit 0x67 (low half) */
    0,                     /* 0x28: TSS high half (base 63:32 = 0) */
};

int cpumode_write_tables(struct gmem *gm)
{
    uint64_t pml4[512] = {0}, pdpt[512] = {0};
    uint64_t *pd = gmem_ptr(gm, LAYOUT_PD, 4 * 4096);
    int ret;

    if (!pd)
        return -EFAULT;
    pml4[0] = LAYOUT_PDPT | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_PD + i * 4096) | PTE_P | PTE_RW;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
    ret = gmem_write(gm, LAYOUT_PML4, pml4, sizeof(pml4));
    if (ret == 0)
        ret = gmem_write(gm, LAYOUT_PDPT, pdpt, sizeof(pdpt));
    if (ret == 0)
        ret = gmem_write(gm, LAYOUT_BOOT_GDT, cpumode_gdt, sizeof(cpumode_gdt));
    return ret;
}

void cpumode_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg)
{
    uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));

    memset(seg, 0, sizeof(*seg));
    seg->selector = selector;
    seg->base = ((desc >> 16) & 0xffffff) | (((desc >> 56) & 0xff) << 24);
    seg->type = (desc >> 40) & 0xf;
    seg->s = (desc >> 44) & 1;
    seg->dpl = (desc >> 45) & 3;
    seg->present = (desc >> 47) & 1;
    seg->avl = (desc >> 52) & 1;
    seg->l = (desc >> 53) & 1;
    seg->db = (desc >> 54) & 1;
    seg->g = (desc >> 55) & 1;
    /* KVM wants the limit in bytes: scale 4 KiB granules. */
    seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
}

/* Common part: GDT, data segments, TR (a busy TSS, as VM entry requires), empty IDT. */
static void cpumode_common(struct kvm_sregs *sregs)
{
    struct kvm_segment data;

    cpumode_segment(cpumode_gdt[CPUMODE_SEL_DATA / 8], CPUMODE_SEL_DATA, &data);
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
    cpumode_segment(cpumode_gdt[CPUMODE_SEL_TSS / 8], CPUMODE_SEL_TSS, &sregs->tr);
    sregs->tr.type = 11; /* busy */
    sregs->gdt.base = LAYOUT_BOOT_GDT;
    sregs->gdt.limit = sizeof(cpumode_gdt) - 1;
    sregs->idt.base = 0;
    sregs->idt.limit = 0;
}

void cpumode_set_prot32(struct kvm_sregs *sregs)
{
    cpumode_common(sregs);
    cpumode_segment(cpumode_gdt[CPUMODE_SEL_CODE32 / 8], CPUMODE_SEL_CODE32, &sregs->cs);
    sregs->cr0 = CPUMODE_CR0_PE | CPUMODE_CR0_ET;
    sregs->cr3 = 0;
    sregs->cr4 = 0;
    sregs->efer = 0;
}

void cpumode_set_long64(struct kvm_sregs *sregs)
{
    cpumode_common(sregs);
    cpumode_segment(cpumode_gdt[CPUMODE_SEL_CODE64 / 8], CPUMODE_SEL_CODE64, &sregs->cs);
    sregs->cr0 = CPUMODE_CR0_PE | CPUMODE_CR0_ET | CPUMODE_CR0_PG;
    sregs->cr3 = LAYOUT_PML4;
    sregs->cr4 = CPUMODE_CR4_PAE;
    sregs->efer = CPUMODE_EFER_LME | CPUMODE_EFER_LMA;
}
