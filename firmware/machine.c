/*
 * Machine discovery (see machine.h). The device-tree path collects each
 * node's properties and commits the node at its end, because "reg" may come
 * before "compatible". Anything that does not fit the fixed tables is dropped.
 */
#include "args.h"
#include "dt.h"
#include "fw_errno.h"
#include "lib.h"
#include "machine.h"
#include "pvh_abi.h"

/* The node being walked, at depth 1 (children of the root). */
struct dt_node {
    const char *name;
    bool is_memory, is_virtio, is_testdev;
    const uint8_t *reg, *irq;
    uint32_t reg_len, irq_len;
};

struct dt_ctx {
    struct machine *m;
    unsigned int addr_cells, size_cells;
    bool bad_cells; /* the root asked for cell counts other than 1 or 2 */
    struct dt_node node;
};

static void on_begin(void *opaque, unsigned int depth, const char *name)
{
    struct dt_ctx *c = opaque;

    if (depth == 1)
        c->node = (struct dt_node){.name = name};
    if (depth == 2 && strncmp(name, "cpu@", 4) == 0 && strcmp(c->node.name, "cpus") == 0)
        c->m->ncpus++;
}

static void on_prop(void *opaque, unsigned int depth, const char *name, const void *value,
                    uint32_t len)
{
    struct dt_ctx *c = opaque;
    struct dt_node *n = &c->node;

    if (depth == 0) {
        unsigned int *cells = strcmp(name, "#address-cells") == 0 ? &c->addr_cells
                              : strcmp(name, "#size-cells") == 0  ? &c->size_cells
                                                                  : NULL;
        if (!cells)
            return;
        if (len == 4 && (dt_be32(value) == 1 || dt_be32(value) == 2))
            *cells = dt_be32(value);
        else
            c->bad_cells = true;
        return;
    }
    if (depth != 1)
        return;
    if (strcmp(name, "bootargs") == 0 && strcmp(n->name, "chosen") == 0) {
        if (len > 0 && ((const char *)value)[len - 1] == '\0')
            c->m->cmdline = value;
    } else if (strcmp(name, "device_type") == 0) {
        n->is_memory = dt_compatible(value, len, "memory");
    } else if (strcmp(name, "compatible") == 0) {
        n->is_virtio = dt_compatible(value, len, "virtio,mmio");
        n->is_testdev = dt_compatible(value, len, "minivmm,testdev");
    } else if (strcmp(name, "reg") == 0) {
        n->reg = value;
        n->reg_len = len;
    } else if (strcmp(name, "interrupts") == 0) {
        n->irq = value;
        n->irq_len = len;
    }
}

/* The index-th (base, size) pair of the node's reg, if there is one. */
static bool node_reg(const struct dt_ctx *c, unsigned int index, struct machine_range *r)
{
    uint32_t entry = 4 * (c->addr_cells + c->size_cells);
    const uint8_t *p = c->node.reg + index * entry;

    if (!c->node.reg || (uint64_t)(index + 1) * entry > c->node.reg_len)
        return false;
    r->base = dt_cells(p, c->addr_cells);
    r->size = dt_cells(p + 4 * c->addr_cells, c->size_cells);
    return true;
}

static void on_end(void *opaque, unsigned int depth)
{
    struct dt_ctx *c = opaque;
    struct machine *m = c->m;
    struct machine_range r;

    if (depth != 1)
        return;
    if (c->node.is_memory) {
        for (unsigned int i = 0; node_reg(c, i, &r) && m->nmem < MACHINE_MAX_MEM; i++)
            m->mem[m->nmem++] = r;
    } else if (c->node.is_virtio && node_reg(c, 0, &r) && c->node.irq_len >= 4 &&
               m->nvirtio < MACHINE_MAX_VIRTIO) {
        m->virtio[m->nvirtio++] =
            (struct machine_virtio){.base = r.base, .size = r.size, .gsi = dt_be32(c->node.irq)};
    } else if (c->node.is_testdev && node_reg(c, 0, &r)) {
        m->testdev = r;
    }
}

int machine_from_dtb(struct machine *m, const void *blob, uint64_t max)
{
    struct dt_ctx c = {.m = m, .addr_cells = 2, .size_cells = 1};
    struct dt_visitor v = {.ctx = &c, .begin_node = on_begin, .prop = on_prop, .end_node = on_end};

    memset(m, 0, sizeof(*m));
    m->cmdline = "";
    if (dt_check(blob, max) != 0)
        return -EINVAL;
    if (dt_walk(blob, &v) != 0 || c.bad_cells)
        return -EINVAL;
    m->from_dtb = true;
    return 0;
}

static const struct hvm_modlist_entry *dtb_module(const struct hvm_start_info *si)
{
    const struct hvm_modlist_entry *mods = (const struct hvm_modlist_entry *)(uintptr_t)si->modlist_paddr;

    for (uint32_t i = 0; si->modlist_paddr && i < si->nr_modules && i < 8; i++) {
        const char *name = (const char *)(uintptr_t)mods[i].cmdline_paddr;
        if (name && strcmp(name, PVH_DTB_MODULE_CMDLINE) == 0)
            return &mods[i];
    }
    return NULL;
}

/* No device tree: RAM from the PVH memory map, devices from the command line. */
static void machine_from_pvh(struct machine *m, const struct hvm_start_info *si)
{
    const struct hvm_memmap_table_entry *e = (const struct hvm_memmap_table_entry *)(uintptr_t)si->memmap_paddr;
    struct args_virtio_mmio d;

    memset(m, 0, sizeof(*m));
    m->ncpus = 1;
    m->cmdline = si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
    for (uint32_t i = 0; si->version >= 1 && e && i < si->memmap_entries; i++) {
        if (e[i].type == PVH_MEMMAP_RAM && m->nmem < MACHINE_MAX_MEM)
            m->mem[m->nmem++] = (struct machine_range){e[i].addr, e[i].size};
    }
    for (unsigned int i = 0; m->nvirtio < MACHINE_MAX_VIRTIO && args_virtio_mmio(m->cmdline, i, &d);
         i++)
        m->virtio[m->nvirtio++] = (struct machine_virtio){d.base, d.size, d.irq};
}

int machine_discover(struct machine *m, uint64_t start_info)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info;
    const struct hvm_modlist_entry *dtb;

    if (!si || si->magic != PVH_START_MAGIC)
        return -EINVAL;
    dtb = dtb_module(si);
    if (dtb)
        return machine_from_dtb(m, (const void *)(uintptr_t)dtb->paddr, dtb->size);
    machine_from_pvh(m, si);
    return 0;
}
