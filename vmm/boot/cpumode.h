/*
 * The CPU state a kernel is entered in, as plain data: the boot GDT and
 * identity page tables written into guest RAM, and kvm_sregs edits for
 * 32-bit protected mode (paging off) or 64-bit long mode.
 * Never touches KVM: the vCPU code does GET_SREGS, these edits, SET_SREGS.
 */
#ifndef MINIVMM_CPUMODE_H
#define MINIVMM_CPUMODE_H

#include <linux/kvm.h>
#include <stdint.h>

#include "gmem.h"

/*
 * Boot GDT at LAYOUT_BOOT_GDT. Selectors 0x10/0x18 are what the Linux boot
 * protocol names __BOOT_CS/__BOOT_DS; the PVH entry uses the 32-bit code
 * segment at 0x08 and the same flat data segment.
 */
#define CPUMODE_SEL_CODE32  0x08
#define CPUMODE_SEL_CODE64  0x10
#define CPUMODE_SEL_DATA    0x18
#define CPUMODE_SEL_TSS     0x20
#define CPUMODE_GDT_ENTRIES 6 /* null, code32, code64, data, 16-byte TSS */

#define CPUMODE_CR0_PE   (1ULL << 0)
#define CPUMODE_CR0_ET   (1ULL << 4)
#define CPUMODE_CR0_PG   (1ULL << 31)
#define CPUMODE_CR4_PAE  (1ULL << 5)
#define CPUMODE_EFER_LME (1ULL << 8)
#define CPUMODE_EFER_LMA (1ULL << 10)

/* The boot GDT entries (what cpumode_write_tables stores). */
extern const uint64_t cpumode_gdt[CPUMODE_GDT_ENTRIES];

/*
 * Writes the boot GDT, and identity page tables (LAYOUT_PML4 -> LAYOUT_PDPT ->
 * four page directories at LAYOUT_PD of 2 MiB pages) mapping the first 4 GiB.
 * -EFAULT when guest RAM does not cover them.
 */
MUST_CHECK int cpumode_write_tables(struct gmem *gm);

/* Decodes a GDT descriptor into the hidden segment state KVM wants. */
void cpumode_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg);

/* Flat 32-bit protected mode, paging off, CR4 = 0, EFER = 0 (the PVH entry state). */
void cpumode_set_prot32(struct kvm_sregs *sregs);

/* 64-bit mode, paging on through the identity tables (the Linux 64-bit entry state). */
void cpumode_set_long64(struct kvm_sregs *sregs);

#endif
