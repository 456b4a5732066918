/*
 * Unit tests for vmm/boot/mptable.c: write the table, find it the way Linux
 * does (a 16-byte aligned "_MP_" in the last KiB of base memory), then parse
 * it back checking checksums, entry counts and the interrupt routing.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "layout.h"
#include "mptable.h"

struct parsed {
    unsigned int cpus, buses, ioapics, ioints, localints;
    struct mp_processor cpu[MPTABLE_MAX_CPUS];
    struct mp_ioapic ioapic;
    struct mp_irq ioint[32];
    struct mp_irq localint[4];
};

/* Linux's smp_scan_config(639 * 0x400, 0x400): the last KiB of base memory. */
static const struct mp_floating *find_floating(const struct gmem *gm)
{
    const uint8_t *base = gmem_ptr(gm, 639 * 0x400, 0x400);

    cr_assert(base);
    for (unsigned int off = 0; off < 0x400; off += 16)
        if (memcmp(base + off, "_MP_", 4) == 0)
            return (const struct mp_floating *)(base + off);
    return NULL;
}

static void parse(const struct gmem *gm, struct parsed *p)
{
    const struct mp_floating *fp = find_floating(gm);
    const struct mp_config *mc;
    const uint8_t *e, *end;

    memset(p, 0, sizeof(*p));
    cr_assert(fp, "no MP floating pointer in the last KiB of base memory");
    cr_assert_eq(fp->length, 1);
    cr_assert_eq(fp->specrev, 4);
    cr_assert_eq(mptable_sum(fp, 16), 0, "floating pointer checksum");
    cr_assert_eq(fp->feature[0], 0, "a config table is present");
    mc = gmem_ptr(gm, fp->physptr, sizeof(*mc));
    cr_assert(mc);
    cr_assert_eq(memcmp(mc->signature, "PCMP", 4), 0);
    cr_assert_eq(mc->specrev, 4);
    cr_assert_eq(mc->lapic_addr, LAYOUT_LAPIC_BASE);
    cr_assert(gmem_ptr(gm, fp->physptr, mc->length));
    cr_assert_eq(mptable_sum(mc, mc->length), 0, "config table checksum");
    cr_assert_eq(mc->ext_length, 0);

    e = (const uint8_t *)(mc + 1);
    end = (const uint8_t *)mc + mc->length;
    for (unsigned int i = 0; i < mc->entry_count; i++) {
        cr_assert_lt(e, end, "entry %u past the table length", i);
        switch (e[0]) {
        case MP_ENTRY_PROCESSOR:
            memcpy(&p->cpu[p->cpus++], e, sizeof(struct mp_processor));
            e += sizeof(struct mp_processor);
            break;
        case MP_ENTRY_BUS:
            cr_assert_eq(memcmp(((const struct mp_bus *)e)->bus_type, "ISA   ", 6), 0);
            p->buses++;
            e += sizeof(struct mp_bus);
            break;
        case MP_ENTRY_IOAPIC:
            memcpy(&p->ioapic, e, sizeof(p->ioapic));
            p->ioapics++;
            e += sizeof(struct mp_ioapic);
            break;
        case MP_ENTRY_IOINT:
            cr_assert_lt(p->ioints, 32);
            memcpy(&p->ioint[p->ioints++], e, sizeof(struct mp_irq));
            e += sizeof(struct mp_irq);
            break;
        case MP_ENTRY_LOCALINT:
            cr_assert_lt(p->localints, 4);
            memcpy(&p->localint[p->localints++], e, sizeof(struct mp_irq));
            e += sizeof(struct mp_irq);
            break;
        default:
            cr_assert_fail("unknown entry type %u", e[0]);
        }
    }
    cr_assert_eq(e, end, "entries fill the table exactly");
}

static void check_table(unsigned int ncpus)
{
    struct gmem gm;
    static struct parsed p;
    bool pin_seen[MPTABLE_IOAPIC_PINS] = {false};

    fixture_gmem(&gm, 32 * MiB);
    cr_assert_eq(mptable_write(&gm, ncpus), 0);
    parse(&gm, &p);
    cr_assert_eq(p.cpus, ncpus);
    for (unsigned int i = 0; i < ncpus; i++) {
        cr_assert_eq(p.cpu[i].apic_id, i);
        cr_assert(p.cpu[i].flags & MP_CPU_ENABLED);
        cr_assert_eq(!!(p.cpu[i].flags & MP_CPU_BSP), i == 0, "BSP flag on cpu 0 only");
    }
    cr_assert_eq(p.buses, 1);
    cr_assert_eq(p.ioapics, 1);
    cr_assert_eq(p.ioapic.apic_id, ncpus);
    cr_assert_eq(p.ioapic.addr, LAYOUT_IOAPIC_BASE);
    cr_assert_eq(p.ioapic.flags & 1, 1);
    cr_assert_eq(p.ioints, MPTABLE_IOAPIC_PINS);
    for (unsigned int i = 0; i < p.ioints; i++) {
        const struct mp_irq *r = &p.ioint[i];

        cr_assert_eq(r->dst_apic, ncpus);
        cr_assert_lt(r->dst_pin, MPTABLE_IOAPIC_PINS);
        cr_assert_not(pin_seen[r->dst_pin], "pin %u twice", r->dst_pin);
        pin_seen[r->dst_pin] = true;
        cr_assert_eq(r->src_bus, MP_ISA_BUS_ID);
        cr_assert_eq(r->flags, 0, "ISA defaults: edge, active high");
        if (r->dst_pin == 0)
            cr_assert_eq(r->irq_type, MP_IRQ_EXTINT);
        else
            cr_assert_eq(r->irq_type, MP_IRQ_INT);
        /* The PIT (ISA IRQ 0) arrives on pin 2, like KVM's default routing. */
        if (r->dst_pin == 2)
            cr_assert_eq(r->src_irq, 0);
        else if (r->dst_pin != 0)
            cr_assert_eq(r->src_irq, r->dst_pin);
    }
    /* Every virtio GSI has a route. */
    for (unsigned int gsi = LAYOUT_IRQ_VIRTIO_BASE; gsi <= LAYOUT_IRQ_VIRTIO_LAST; gsi++)
        cr_assert(pin_seen[gsi]);
    cr_assert_eq(p.localints, 2);
    cr_assert_eq(p.localint[0].irq_type, MP_IRQ_EXTINT);
    cr_assert_eq(p.localint[0].dst_pin, 0);
    cr_assert_eq(p.localint[1].irq_type, MP_IRQ_NMI);
    cr_assert_eq(p.localint[1].dst_pin, 1);
    cr_assert_eq(p.localint[0].dst_apic, 0xff);
    gmem_destroy(&gm);
}

Test(mptable, one_cpu)
{
    check_table(1);
}

Test(mptable, two_cpus)
{
    check_table(2);
}

Test(mptable, four_cpus)
{
    check_table(4);
}

Test(mptable, fits_in_the_last_kib_up_to_37_cpus)
{
    cr_assert_leq(LAYOUT_MPTABLE + mptable_size(37), LAYOUT_BIOS_START);
    check_table(37);
}

Test(mptable, max_cpus_still_parses)
{
    cr_assert_leq(LAYOUT_MPTABLE + mptable_size(MPTABLE_MAX_CPUS), LAYOUT_HIMEM_START);
    check_table(MPTABLE_MAX_CPUS);
}

Test(mptable, bad_cpu_counts)
{
    struct gmem gm;

    fixture_gmem(&gm, 32 * MiB);
    cr_assert_eq(mptable_write(&gm, 0), -EINVAL);
    cr_assert_eq(mptable_write(&gm, MPTABLE_MAX_CPUS + 1), -EINVAL);
    gmem_destroy(&gm);
}

Test(mptable, guest_without_base_memory)
{
    struct gmem gm;

    fixture_gmem(&gm, 512 * 1024);
    cr_assert_eq(mptable_write(&gm, 1), -ENOMEM);
    gmem_destroy(&gm);
}
