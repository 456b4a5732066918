/*
 * Builds the test firmware's device tree (layout in fdt.h) with libfdt's
 * sequential-write API: nodes are emitted in order, each libfdt error is
 * mapped to -ENOSPC (out of room) or -EINVAL, and nothing is allocated.
 */
#include "dtb.h"

#include <errno.h>
#include <libfdt.h>
#include <stdbool.h>
#include <stdio.h>

#include "layout.h"

#define DTB_IOAPIC_PHANDLE 1
#define DTB_MAX_CPUS       255

/* libfdt returns 0 or -FDT_ERR_*; keep going only while everything succeeded. */
#define TRY(call)                                                                                  \
    do {                                                                                           \
        int err_ = (call);                                                                         \
        if (err_ < 0)                                                                              \
            return err_;                                                                           \
    } while (0)

static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = {cpu_to_fdt64(base), cpu_to_fdt64(size)};

    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int node_named(void *fdt, const char *kind, uint64_t addr)
{
    char name[48];

    snprintf(name, sizeof(name), "%s@%llx", kind, (unsigned long long)addr);
    return fdt_begin_node(fdt, name);
}

static int add_cpus(void *fdt, unsigned int ncpus)
{
    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_u32(fdt, "#address-cells", 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (unsigned int i = 0; i < ncpus; i++) {
        TRY(node_named(fdt, "cpu", i));
        TRY(fdt_property_string(fdt, "device_type", "cpu"));
        TRY(fdt_property_u32(fdt, "reg", i));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int add_memory(void *fdt, const struct dtb_range *r)
{
    TRY(node_named(fdt, "memory", r->base));
    TRY(fdt_property_string(fdt, "device_type", "memory"));
    TRY(prop_reg(fdt, r->base, r->size));
    return fdt_end_node(fdt);
}

static int add_ioapic(void *fdt)
{
    TRY(node_named(fdt, "ioapic", LAYOUT_IOAPIC_BASE));
    TRY(fdt_property_string(fdt, "compatible", "intel,ce4100-ioapic"));
    TRY(prop_reg(fdt, LAYOUT_IOAPIC_BASE, 0x1000));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
    TRY(fdt_property_u32(fdt, "#address-cells", 0)); /* dtc: interrupt providers state it */
    TRY(fdt_property_u32(fdt, "phandle", DTB_IOAPIC_PHANDLE));
    return fdt_end_node(fdt);
}

static int add_virtio(void *fdt, const struct dtb_virtio *v)
{
    fdt32_t irq[2] = {cpu_to_fdt32(v->gsi), cpu_to_fdt32(DTB_IRQ_EDGE_RISING)};

    TRY(node_named(fdt, "virtio", v->base));
    TRY(fdt_property_string(fdt, "compatible", DTB_COMPAT_VIRTIO));
    TRY(prop_reg(fdt, v->base, v->size));
    TRY(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
    return fdt_end_node(fdt);
}

static int add_testdev(void *fdt, const struct dtb_range *r)
{
    TRY(node_named(fdt, "testdev", r->base));
    TRY(fdt_property_string(fdt, "compatible", DTB_COMPAT_TESTDEV));
    TRY(prop_reg(fdt, r->base, r->size));
    return fdt_end_node(fdt);
}

static int build_tree(const struct dtb_machine *m, void *fdt, size_t size)
{
    TRY(fdt_create(fdt, (int)size));
    TRY(fdt_finish_reservemap(fdt));
    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_string(fdt, "compatible", "minivmm,machine"));
    TRY(fdt_property_string(fdt, "model", "minivmm"));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_u32(fdt, "interrupt-parent", DTB_IOAPIC_PHANDLE));

    TRY(fdt_begin_node(fdt, "chosen"));
    TRY(fdt_property_string(fdt, "bootargs", m->bootargs ? m->bootargs : ""));
    TRY(fdt_end_node(fdt));
    TRY(add_cpus(fdt, m->ncpus));
    for (unsigned int i = 0; i < m->nmem; i++)
        TRY(add_memory(fdt, &m->mem[i]));
    TRY(add_ioapic(fdt));
    for (unsigned int i = 0; i < m->nvirtio; i++)
        TRY(add_virtio(fdt, &m->virtio[i]));
    if (m->testdev.size)
        TRY(add_testdev(fdt, &m->testdev));

    TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

static bool machine_valid(const struct dtb_machine *m)
{
    if (m->nmem == 0 || !m->mem || m->ncpus == 0 || m->ncpus > DTB_MAX_CPUS ||
        m->nvirtio > LAYOUT_VIRTIO_MMIO_MAX || (m->nvirtio && !m->virtio))
        return false;
    for (unsigned int i = 0; i < m->nvirtio; i++) {
        if (m->virtio[i].gsi > LAYOUT_IRQ_VIRTIO_LAST || m->virtio[i].size == 0)
            return false;
    }
    return true;
}

int dtb_build(const struct dtb_machine *m, void *buf, size_t size)
{
    int err;

    if (!machine_valid(m)) {
        log_err("device tree: invalid machine description");
        return -EINVAL;
    }
    if (size > INT32_MAX)
        size = INT32_MAX;
    err = build_tree(m, buf, size);
    if (err == -FDT_ERR_NOSPACE) {
        log_err("device tree: does not fit in %zu bytes", size);
        return -ENOSPC;
    }
    if (err < 0) {
        log_err("device tree: %s", fdt_strerror(err));
        return -EINVAL;
    }
    return (int)fdt_totalsize(buf);
}
