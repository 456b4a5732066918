/*
 * Interrupt controllers (ring 0): the legacy 8259 PICs masked, the local APIC
 * enabled, and every IOAPIC pin a virtio-mmio device may use routed, edge
 * triggered, to vector VEC_IRQ_BASE + pin on CPU 0.
 */
#ifndef FW_APIC_H
#define FW_APIC_H

#include <stdint.h>

/* The LAPIC EOI register's address, for trap.S. */
extern uint64_t lapic_eoi_reg;

void apic_init(void);

#endif
