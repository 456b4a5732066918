/*
 * x86 constants shared by the firmware's assembly and C: segment selectors,
 * control-register and page-table bits, vectors, MSRs. Assembly-safe (no C
 * suffixes); the C part checks the static page tables against layout.h.
 */
#ifndef FW_X86_H
#define FW_X86_H

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_UDATA 0x18
#define GDT_UCODE 0x20
#define GDT_TSS   0x28
#define RPL_USER  3

#define CR0_PE   0x00000001
#define CR0_PG   0x80000000
#define CR4_PAE  0x00000020
#define MSR_EFER 0xC0000080
#define EFER_LME 0x00000100

#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_U   0x004
#define PTE_PCD 0x010
#define PTE_PS  0x080

/* Page-directory indices (2 MiB each from 0) of the IOAPIC and LAPIC pages. */
#define PD_IOAPIC_INDEX 2038 /* 0xFEC00000 >> 21 */
#define PD_LAPIC_INDEX  2039 /* 0xFEE00000 >> 21 */

#define RFLAGS_RESERVED 0x00000002
#define RFLAGS_IF       0x00000200
#define RFLAGS_IOPL3    0x00003000

/* Interrupt vectors: IOAPIC pin p arrives as VEC_IRQ_BASE + p. */
#define VEC_UD       6
#define VEC_IRQ_BASE 32
#define IOAPIC_PINS  24
#define VEC_SPURIOUS 255

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "layout.h"

_Static_assert(LAYOUT_MMIO_HOLE_START == 3ULL << 30, "entry.S maps RAM in the first 3 GiB");
_Static_assert(LAYOUT_IOAPIC_BASE >> 21 == PD_IOAPIC_INDEX, "IOAPIC page index");
_Static_assert(LAYOUT_LAPIC_BASE >> 21 == PD_LAPIC_INDEX, "LAPIC page index");

/* The entry the VMM used, set by entry.S: 32 (fw_entry32, PVH) or 64 (fw_entry64). */
extern volatile uint32_t fw_entry_bits;
#endif

#endif
