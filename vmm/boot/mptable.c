/*
 * MP table writer. Interrupt routing mirrors what KVM's in-kernel irqchip
 * does by default: GSI 0 (the PIT) reaches IOAPIC pin 2, every other GSI n
 * reaches pin n; pin 0 carries the 8259's ExtINT.
 */
#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

#define MP_LOCAL_INTS 2

static uint64_t mptable_config_size(unsigned int ncpus)
{
    return sizeof(struct mp_config) + ncpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
           sizeof(struct mp_ioapic) + (MPTABLE_IOAPIC_PINS + MP_LOCAL_INTS) * sizeof(struct mp_irq);
}

uint64_t mptable_size(unsigned int ncpus)
{
    return sizeof(struct mp_floating) + mptable_config_size(ncpus);
}

uint8_t mptable_sum(const void *p, uint64_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (uint64_t i = 0; i < len; i++)
        sum += b[i];
    return sum;
}

/* Source ISA IRQ for an IOAPIC pin: pin 2 carries IRQ 0 (the PIT), as KVM routes it. */
static void mptable_pin(unsigned int pin, uint8_t ioapic_id, struct mp_irq *e)
{
    *e = (struct mp_irq){
        .type = MP_ENTRY_IOINT,
        .irq_type = pin == 0 ? MP_IRQ_EXTINT : MP_IRQ_INT,
        .flags = 0,
        .src_bus = MP_ISA_BUS_ID,
        .src_irq = (uint8_t)(pin == 2 ? 0 : pin),
        .dst_apic = ioapic_id,
        .dst_pin = (uint8_t)pin,
    };
}

/*
 * Pins 16..23 are announced as ISA sources too: Linux then treats the virtio
 * GSIs like ISA lines (edge, active high), which is what irqfd pulses need.
 */
static uint8_t *mptable_entries(uint8_t *p, unsigned int ncpus)
{
    const uint8_t ioapic_id = (uint8_t)ncpus;

    for (unsigned int i = 0; i < ncpus; i++) {
        struct mp_processor cpu = {
            .type = MP_ENTRY_PROCESSOR,
            .apic_id = (uint8_t)i,
            .apic_version = MPTABLE_APIC_VERSION,
            .flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
            .signature = 0x600, /* family 6: the CPUID the guest sees is the truth */
            .features = 0x201,  /* FPU | APIC */
        };
        memcpy(p, &cpu, sizeof(cpu));
        p += sizeof(cpu);
    }
    struct mp_bus bus = {.type = MP_ENTRY_BUS, .bus_id = MP_ISA_BUS_ID};
    memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
    memcpy(p, &bus, sizeof(bus));
    p += sizeof(bus);
    struct mp_ioapic ioapic = {
        .type = MP_ENTRY_IOAPIC,
        .apic_id = ioapic_id,
        .version = MPTABLE_IOAPIC_VERSION,
        .flags = 1,
        .addr = (uint32_t)LAYOUT_IOAPIC_BASE,
    };
    memcpy(p, &ioapic, sizeof(ioapic));
    p += sizeof(ioapic);
    for (unsigned int pin = 0; pin < MPTABLE_IOAPIC_PINS; pin++) {
        struct mp_irq e;
        mptable_pin(pin, ioapic_id, &e);
        memcpy(p, &e, sizeof(e));
        p += sizeof(e);
    }
    /* Virtual-wire mode: the 8259 on every LINT0, NMI on every LINT1. */
    for (unsigned int lint = 0; lint < MP_LOCAL_INTS; lint++) {
        struct mp_irq e = {
            .type = MP_ENTRY_LOCALINT,
            .irq_type = lint == 0 ? MP_IRQ_EXTINT : MP_IRQ_NMI,
            .src_bus = MP_ISA_BUS_ID,
            .src_irq = 0,
            .dst_apic = 0xff,
            .dst_pin = (uint8_t)lint,
        };
        memcpy(p, &e, sizeof(e));
        p += sizeof(e);
    }
    return p;
}

int mptable_write(struct gmem *gm, unsigned int ncpus)
{
    const uint64_t size = mptable_size(ncpus);
    uint8_t *base;

    if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS) {
        log_err("MP table: %u CPUs, must be 1..%u", ncpus, MPTABLE_MAX_CPUS);
        return -EINVAL;
    }
    /* The table must stay below the kernel at 1 MiB. */
    base = LAYOUT_MPTABLE + size <= LAYOUT_HIMEM_START ? gmem_ptr(gm, LAYOUT_MPTABLE, size) : NULL;
    if (!base) {
        log_err("MP table: guest RAM does not cover 0x%llx..0x%llx", LAYOUT_MPTABLE,
                (unsigned long long)(LAYOUT_MPTABLE + size));
        return -ENOMEM;
    }
    memset(base, 0, size);

    struct mp_floating *fp = (struct mp_floating *)base;
    struct mp_config *mc = (struct mp_config *)(base + sizeof(*fp));
    uint8_t *end = mptable_entries((uint8_t *)(mc + 1), ncpus);

    memcpy(mc->signature, "PCMP", 4);
    mc->length = (uint16_t)(end - (uint8_t *)mc);
    mc->specrev = 4;
    memcpy(mc->oem, "MINIVMM ", sizeof(mc->oem));
    memcpy(mc->product, "minivmm     ", sizeof(mc->product));
    mc->entry_count = (uint16_t)(ncpus + 2 + MPTABLE_IOAPIC_PINS + MP_LOCAL_INTS);
    mc->lapic_addr = (uint32_t)LAYOUT_LAPIC_BASE;
    mc->checksum = (uint8_t)-mptable_sum(mc, mc->length);

    memcpy(fp->signature, "_MP_", 4);
    fp->physptr = (uint32_t)(LAYOUT_MPTABLE + sizeof(*fp));
    fp->length = 1;
    fp->specrev = 4;
    fp->checksum = (uint8_t)-mptable_sum(fp, sizeof(*fp));
    return 0;
}
