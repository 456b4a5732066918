/*
 * Firmware entry points. fw_entry32 is the PVH entry (Xen ELF note
 * PHYS32_ENTRY: 32-bit protected mode, paging off, EBX = hvm_start_info);
 * fw_entry64 is the ELF entry for a VMM that starts us in long mode (any
 * identity mapping of the low 4 GiB, RBX = hvm_start_info). Both load the
 * firmware's own GDT and page tables and call kmain() on the ring-0 stack.
 */
#include "x86.h"

/* Xen ELF note: namesz, descsz, type, "Xen\0", then the 32-bit entry address. */
    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 4
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long fw_entry32

    .section .text.entry, "ax"
    .code32
    .globl fw_entry32
fw_entry32:
    cli
    cld
    movl $32, fw_entry_bits
    lgdt gdt_ptr
    mov $GDT_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $GDT_KCODE, $long_mode

    .code64
    .globl fw_entry64
fw_entry64:
    cli
    cld
    movl $64, fw_entry_bits
    mov $kstack_top, %esp       /* the VMM's stack may be anywhere */
    lgdt gdt_ptr
    mov $pml4, %eax
    mov %rax, %cr3
    pushq $GDT_KCODE
    pushq $long_mode
    lretq

long_mode:
    mov $GDT_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $kstack_top, %esp
    mov %ebx, %edi          /* hvm_start_info is below 4 GiB (PVH: 32-bit EBX) */
    call kmain
1:  cli
    hlt
    jmp 1b

/* Ring 3 reads it (test=boot reports the entry): not in the supervisor-only .kdata. */
    .data
    .balign 4
    .globl fw_entry_bits
fw_entry_bits:
    .long 0

/*
 * Static tables: nothing to compute at boot, which matters because ring-0
 * code is emulated instruction by instruction on PVM hosts.
 */
    .section .kdata, "aw"
    .balign 16
    .globl gdt
gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* GDT_KCODE: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff    /* GDT_KDATA: data, DPL 0 */
    .quad 0x00cff2000000ffff    /* GDT_UDATA: data, DPL 3 */
    .quad 0x00affa000000ffff    /* GDT_UCODE: 64-bit code, DPL 3 */
    .quad 0, 0                  /* GDT_TSS: 16-byte system descriptor, filled by kmain */
gdt_end:
    .balign 16
    /* 6 bytes are read in 32-bit mode, 10 in 64-bit mode: the base fits either way. */
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt

/*
 * Identity map of the low 4 GiB: PML4[0] -> PDPT -> 4 page directories of
 * 2 MiB pages, except the first 2 MiB, which use 4 KiB pages so that page 0
 * stays unmapped (NULL faults) and kmain can make the ring-0 pages
 * supervisor-only. RAM and device windows are user-accessible; the 2 MiB
 * pages holding the IOAPIC and LAPIC are not (x86.h checks the indices
 * against layout.h).
 */
    .balign 4096
    .globl pml4, pt0
pml4:
    .quad pdpt + PTE_P + PTE_W + PTE_U
    .fill 511, 8, 0
pdpt:
    .quad pd + 0 * 4096 + PTE_P + PTE_W + PTE_U
    .quad pd + 1 * 4096 + PTE_P + PTE_W + PTE_U
    .quad pd + 2 * 4096 + PTE_P + PTE_W + PTE_U
    .quad pd + 3 * 4096 + PTE_P + PTE_W + PTE_U
    .fill 508, 8, 0
pd:
    .quad pt0 + PTE_P + PTE_W + PTE_U
    .set i, 1
    .rept 3 * 512 - 1           /* RAM below the MMIO hole */
    .quad (i << 21) + PTE_P + PTE_W + PTE_U + PTE_PS
    .set i, i + 1
    .endr
    .rept PD_IOAPIC_INDEX - 3 * 512   /* MMIO hole up to the APICs: device windows */
    .quad (i << 21) + PTE_P + PTE_W + PTE_U + PTE_PCD + PTE_PS
    .set i, i + 1
    .endr
    .rept 2                     /* IOAPIC, LAPIC: ring 0 only */
    .quad (i << 21) + PTE_P + PTE_W + PTE_PCD + PTE_PS
    .set i, i + 1
    .endr
    .rept 4 * 512 - PD_LAPIC_INDEX - 1
    .quad (i << 21) + PTE_P + PTE_W + PTE_U + PTE_PCD + PTE_PS
    .set i, i + 1
    .endr
pt0:
    .quad 0                     /* page 0: not present */
    .set i, 1
    .rept 511
    .quad (i << 12) + PTE_P + PTE_W + PTE_U
    .set i, i + 1
    .endr

    .section .kbss, "aw", @nobits
    .balign 4096
    .globl kstack_top
kstack:
    .skip 4 * 4096
kstack_top:
