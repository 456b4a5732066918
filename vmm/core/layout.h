/*
 * The minivmm x86 machine's physical address map and fixed resources.
 * Everything that must agree between the VMM, the boot code, the device tree
 * and the test firmware is named here, once. Plain #defines: the freestanding
 * firmware includes this file too.
 */
#ifndef MINIVMM_LAYOUT_H
#define MINIVMM_LAYOUT_H

/* Guest RAM below 4 GiB ends where the MMIO hole starts; the rest sits above 4 GiB. */
#define LAYOUT_MMIO_HOLE_START 0xC0000000ULL
#define LAYOUT_MMIO_HOLE_END   0x100000000ULL
#define LAYOUT_HIGH_RAM_START  LAYOUT_MMIO_HOLE_END

/* Low memory used by the boot code (all below 1 MiB, reported as reserved in E820). */
#define LAYOUT_ZERO_PAGE       0x7000ULL  /* Linux boot_params, or PVH hvm_start_info */
#define LAYOUT_PVH_MODLIST     0x7800ULL  /* PVH module list (initrd, device tree) */
#define LAYOUT_PVH_MEMMAP      0x8000ULL  /* PVH memory map entries */
#define LAYOUT_BOOT_GDT        0x9000ULL
#define LAYOUT_PML4            0xA000ULL  /* identity page tables for direct 64-bit entry */
#define LAYOUT_PDPT            0xB000ULL
#define LAYOUT_PD              0xC000ULL  /* 4 pages: first 4 GiB in 2 MiB pages */
#define LAYOUT_CMDLINE         0x20000ULL
#define LAYOUT_CMDLINE_MAX     0x10000ULL
#define LAYOUT_DTB             0x30000ULL /* flattened device tree for the test firmware */
#define LAYOUT_DTB_MAX         0x10000ULL
#define LAYOUT_MPTABLE         0x9FC00ULL /* MP floating pointer + table (EBDA) */
#define LAYOUT_EBDA_START      0x9FC00ULL
#define LAYOUT_BIOS_START      0xA0000ULL /* VGA hole + BIOS area: reserved up to 1 MiB */
#define LAYOUT_HIMEM_START     0x100000ULL /* protected-mode kernel load address */
#define LAYOUT_STACK_TOP       0x6FF0ULL /* initial stack, below the zero page */

/* Devices inside the MMIO hole. */
#define LAYOUT_VIRTIO_MMIO_BASE 0xD0000000ULL
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL /* one window per device */
#define LAYOUT_VIRTIO_MMIO_MAX  32
#define LAYOUT_TESTDEV_BASE     0xD1000000ULL /* test-result device (firmware tests) */
#define LAYOUT_TESTDEV_SIZE     0x1000ULL
#define LAYOUT_IOAPIC_BASE      0xFEC00000ULL
#define LAYOUT_LAPIC_BASE       0xFEE00000ULL

/* Interrupt lines (IOAPIC pins / GSIs). Legacy ISA lines below 16. */
#define LAYOUT_IRQ_SERIAL      4
#define LAYOUT_IRQ_VIRTIO_BASE 5  /* virtio-mmio device i gets GSI 5 + i (edge, like ISA) */
#define LAYOUT_IRQ_VIRTIO_LAST 23 /* last IOAPIC pin */

/* I/O ports. */
#define LAYOUT_PORT_COM1       0x3F8
#define LAYOUT_PORT_I8042_DATA 0x60
#define LAYOUT_PORT_I8042_CMD  0x64

#endif
