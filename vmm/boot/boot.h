/*
 * The one call the machine makes to put a kernel in guest RAM: detect the
 * image kind, load kernel, initrd, command line, device tree, E820, MP table,
 * GDT and page tables, and describe the entry state as plain data.
 * boot_entry_apply() turns that into register values; the vCPU code does
 * KVM_GET_SREGS -> boot_entry_apply -> KVM_SET_SREGS + KVM_SET_REGS on the BSP.
 */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

enum boot_kind {
    BOOT_KIND_NONE,    /* neither: "not a kernel" */
    BOOT_KIND_BZIMAGE, /* Linux bzImage: its vmlinux through PVH, or the 64-bit boot protocol */
    BOOT_KIND_PVH,     /* ELF32/ELF64 with a Xen PVH entry note */
};

struct boot_config {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *cmdline;     /* final command line (cmdline_build), NULL = "" */
    unsigned int ncpus;      /* MP table: 1..255 */
    const void *dtb;         /* optional flattened device tree (dtb_size 0: none) */
    size_t dtb_size;
    /*
     * PVH images only: enter at the ELF e_entry in 64-bit mode (identity
     * paging of the first 4 GiB, RBX = RDI = hvm_start_info) instead of
     * the 32-bit PVH entry point. For the test firmware, not for vmlinux.
     */
    bool pvh_entry64;
    /*
     * bzImages only: enter through the 64-bit boot protocol and let the image's own
     * decompressor run in the guest, even when the host could unpack its vmlinux.
     */
    bool bzimage_in_guest;
};

enum boot_cpu_mode {
    BOOT_CPU_LONG64, /* 64-bit mode, paging on (identity map of 4 GiB) */
    BOOT_CPU_PROT32, /* 32-bit protected mode, paging off */
};

/* Everything the BSP's registers must say at the first KVM_RUN. */
struct boot_entry {
    enum boot_kind kind;
    enum boot_cpu_mode mode;
    uint64_t rip;
    uint64_t rsi; /* Linux: boot_params (zero page) */
    uint64_t rbx; /* PVH: hvm_start_info */
    uint64_t rdi;
    uint64_t rsp;
    bool unpacked; /* a bzImage whose vmlinux the host unpacked, entered through PVH */
};

/* What img looks like: bzImage, ELF carrying a PVH note, or neither. */
enum boot_kind boot_detect(const void *img, size_t len);

/*
 * Loads everything into gm and fills *out. Every failure is logged once as a
 * one-line reason naming the file, e.g. "not a kernel: PATH is neither a
 * bzImage nor an ELF with a PVH entry note", "PATH: kernel image truncated:
 * N bytes, header says M", "initrd PATH: No such file or directory".
 */
MUST_CHECK int boot_load(const struct boot_config *cfg, struct gmem *gm, struct boot_entry *out);

/*
 * Writes the entry state: general registers from scratch (RFLAGS = 0x2,
 * interrupts off), and in sregs the segments, GDT/IDT, CR0/CR3/CR4 and EFER
 * (APIC base, interrupt bitmap, CR2/CR8 and LDT are left as KVM reported).
 */
void boot_entry_apply(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif
