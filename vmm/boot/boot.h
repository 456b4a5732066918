/*
 * How the machine puts a kernel in guest RAM: boot_image_read reads the image (on another
 * core while the VM is built); boot_load then loads kernel, initrd, command
 * line, device tree, E820, MP table, GDT and page tables, and describes the entry state as
 * plain data. The kernel and initrd may still be streaming in when the vCPUs start (kload.h).
 * boot_entry_apply() turns the entry into register values; the vCPU code does
 * KVM_GET_SREGS -> boot_entry_apply -> KVM_SET_SREGS + KVM_SET_REGS on the BSP.
 */
#ifndef MINIVMM_BOOT_H
#define MINIVMM_BOOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"
#include "kload.h"

enum boot_kind {
    BOOT_KIND_NONE,    /* neither: "not a kernel" */
    BOOT_KIND_BZIMAGE, /* Linux bzImage: its vmlinux unpacked, or the image itself (64-bit entry) */
    BOOT_KIND_PVH,     /* ELF32/ELF64 with a Xen PVH entry note */
};

struct boot_config {
    const char *kernel_path; /* boot_load: the image's, for messages; boot_load_sync: read */
    const char *initrd_path; /* boot_load_sync only (boot_load has the image's); NULL: none */
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
    /* Copy the kernel and initrd before returning, or stream them (kload.h). */
    enum kload_mode load_mode;
    /* Called from the stream's thread if it fails after boot_load returned. */
    void (*on_load_error)(void *opaque, const char *reason);
    void *opaque;
};

struct boot_image;

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
    bool unpacked; /* a bzImage whose vmlinux the host unpacked, entered at startup_64 */
};

/* What img looks like: bzImage, ELF carrying a PVH note, or neither. */
enum boot_kind boot_detect(const void *img, size_t len);

/*
 * A kernel image to be read from path, with the initrd at initrd_path (NULL: none).
 * bzimage_in_guest: enter a bzImage through the 64-bit boot protocol and let its own
 * decompressor run in the guest, even when the host could unpack its vmlinux. -ENOMEM only.
 */
MUST_CHECK int boot_image_open(const char *path, const char *initrd_path, bool bzimage_in_guest,
                               struct boot_image **out);

/*
 * Maps the file (and the initrd), tells its kind and, for a bzImage whose payload the host unpacks
 * (lz4 or uncompressed), decodes its vmlinux's ELF headers: everything boot_load needs to know
 * before it can lay out guest RAM. It needs no VM, so the machine runs it on another core
 * while it builds one. Errors logged naming the file.
 */
MUST_CHECK int boot_image_read(struct boot_image *img);

/*
 * After boot_image_read: loads everything into gm and fills *out; the kernel and
 * initrd are in guest RAM on return, or streaming in (cfg->load_mode). Every failure is
 * logged once as a one-line reason naming the file, e.g. "not a kernel: PATH is neither a
 * bzImage nor an ELF with a PVH entry note", "PATH: kernel image truncated: N bytes,
 * header says M", "initrd PATH: No such file or directory".
 */
MUST_CHECK int boot_load(const struct boot_config *cfg, struct boot_image *img, struct gmem *gm,
                         struct boot_entry *out);

/* Starts streaming what boot_load armed, once the vCPUs run (kload_go). */
MUST_CHECK int boot_image_go(struct boot_image *img);
/* Waits until the kernel and initrd are wholly in guest RAM: 0, or why they are not. */
MUST_CHECK int boot_image_wait(struct boot_image *img);
/* What loading cost: bytes, accesses that waited for a page, stream start and end. */
struct kload_stats boot_image_stats(const struct boot_image *img);
/* Stops a stream still running (what it did not write reads as zeros). Idempotent. */
void boot_image_stop(struct boot_image *img);
/* Stops, then frees everything. Accepts NULL. */
void boot_image_close(struct boot_image *img);

/* boot_image_open, _read, boot_load, boot_image_go, _wait and _close in one call. */
MUST_CHECK int boot_load_sync(const struct boot_config *cfg, bool bzimage_in_guest, struct gmem *gm,
                              struct boot_entry *out);

/*
 * Writes the entry state: general registers from scratch (RFLAGS = 0x2,
 * interrupts off), and in sregs the segments, GDT/IDT, CR0/CR3/CR4 and EFER
 * (APIC base, interrupt bitmap, CR2/CR8 and LDT are left as KVM reported).
 */
void boot_entry_apply(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif
