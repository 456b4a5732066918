/*
 * Intel MultiProcessor Specification 1.4 table: how a Linux guest without
 * ACPI learns its CPUs, its IOAPIC and how ISA/virtio interrupts are routed.
 * The wire structs are here so the unit tests (and anyone curious) can parse
 * the table back.
 */
#ifndef MINIVMM_MPTABLE_H
#define MINIVMM_MPTABLE_H

#include <stdint.h>

#include "gmem.h"

#define MPTABLE_MAX_CPUS       255 /* APIC ids 0..254; the IOAPIC takes id ncpus */
#define MPTABLE_IOAPIC_PINS    24
#define MPTABLE_APIC_VERSION   0x14 /* integrated local APIC */
#define MPTABLE_IOAPIC_VERSION 0x11

/* Entry types (MP spec table 4-3). */
enum mptable_entry_type {
    MP_ENTRY_PROCESSOR = 0,
    MP_ENTRY_BUS = 1,
    MP_ENTRY_IOAPIC = 2,
    MP_ENTRY_IOINT = 3,
    MP_ENTRY_LOCALINT = 4,
};

/* Interrupt types (MP spec table 4-10). */
enum mptable_irq_type { MP_IRQ_INT = 0, MP_IRQ_NMI = 1, MP_IRQ_SMI = 2, MP_IRQ_EXTINT = 3 };

#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02
#define MP_ISA_BUS_ID  0

struct mp_floating {
    char signature[4];  /* "_MP_" */
    uint32_t physptr;   /* config table address */
    uint8_t length;     /* in 16-byte units: 1 */
    uint8_t specrev;    /* 4 = MP 1.4 */
    uint8_t checksum;   /* all 16 bytes sum to 0 */
    uint8_t feature[5]; /* feature[0] = 0: a config table is present */
} __attribute__((packed));

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;   /* header + base entries */
    uint8_t specrev;
    uint8_t checksum;
    char oem[8];
    char product[12];
    uint32_t oem_ptr;
    uint16_t oem_size;
    uint16_t entry_count;
    uint32_t lapic_addr;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
    uint8_t type;
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags;
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
    uint8_t type;
    uint8_t bus_id;
    char bus_type[6]; /* "ISA   " */
} __attribute__((packed));

struct mp_ioapic {
    uint8_t type;
    uint8_t apic_id;
    uint8_t version;
    uint8_t flags; /* 1 = usable */
    uint32_t addr;
} __attribute__((packed));

/* Shared by I/O interrupt and local interrupt entries (same layout). */
struct mp_irq {
    uint8_t type;
    uint8_t irq_type;
    uint16_t flags; /* 0: polarity and trigger conform to the bus (ISA: edge, active high) */
    uint8_t src_bus;
    uint8_t src_irq;
    uint8_t dst_apic; /* IOAPIC id, or 0xff = every local APIC */
    uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry is 8 bytes");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry is 8 bytes");
_Static_assert(sizeof(struct mp_irq) == 8, "MP interrupt entry is 8 bytes");

/* Bytes the whole table (floating pointer + config table) takes for ncpus. */
uint64_t mptable_size(unsigned int ncpus);

/*
 * Writes the floating pointer at LAYOUT_MPTABLE and the config table right
 * after it. Up to 37 CPUs it fits in the last KiB of base memory; beyond that
 * it runs into the reserved BIOS area above 0xA0000 (still reserved in E820
 * and still RAM in gmem), which Linux reads through the pointer just as well.
 * ncpus must be 1..MPTABLE_MAX_CPUS (-EINVAL otherwise).
 */
MUST_CHECK int mptable_write(struct gmem *gm, unsigned int ncpus);

/* Sum of len bytes, modulo 256: 0 for a correctly checksummed MP structure. */
uint8_t mptable_sum(const void *p, uint64_t len);

#endif
