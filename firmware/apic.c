/*
 * LAPIC/IOAPIC set-up. Pins are edge-triggered even where the device's line
 * is level (QEMU's virtio-mmio): ring-3 drivers acknowledge the device late,
 * and an edge pin needs no masking in the meantime. The device acknowledges
 * (InterruptACK) before it next waits, so no edge is lost.
 */
#include "apic.h"
#include "io.h"
#include "layout.h"
#include "x86.h"

#define LAPIC_TPR        0x080
#define LAPIC_EOI        0x0B0
#define LAPIC_SVR        0x0F0
#define LAPIC_LVT_LINT0  0x350
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_MASKED 0x10000

#define IOAPIC_REGSEL      0x00
#define IOAPIC_WIN         0x10
#define IOAPIC_REDTBL(pin) (0x10 + 2 * (pin))

#define PIC1_DATA 0x21
#define PIC2_DATA 0xA1

uint64_t lapic_eoi_reg = LAYOUT_LAPIC_BASE + LAPIC_EOI;

static void ioapic_write(uint32_t reg, uint32_t value)
{
    mmio_write32(LAYOUT_IOAPIC_BASE + IOAPIC_REGSEL, reg);
    mmio_write32(LAYOUT_IOAPIC_BASE + IOAPIC_WIN, value);
}

void apic_init(void)
{
    /* A PIC left unmasked would deliver ISA IRQs on vectors 8-15, i.e. as exceptions. */
    io_out8(PIC1_DATA, 0xff);
    io_out8(PIC2_DATA, 0xff);

    mmio_write32(LAYOUT_LAPIC_BASE + LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
    mmio_write32(LAYOUT_LAPIC_BASE + LAPIC_TPR, 0);
    mmio_write32(LAYOUT_LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);

    /*
     * Low dword only: fixed delivery, physical destination, active high, edge, unmasked;
     * the high dword (destination APIC 0) keeps its reset value.
     */
    for (unsigned int pin = LAYOUT_IRQ_VIRTIO_BASE; pin <= LAYOUT_IRQ_VIRTIO_LAST; pin++)
        ioapic_write(IOAPIC_REDTBL(pin), VEC_IRQ_BASE + pin);
}
