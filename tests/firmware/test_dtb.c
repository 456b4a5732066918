/*
 * Unit tests for vmm/dtb.c: build the machine's device tree, read it back
 * with libfdt, check every node and property the firmware relies on, and
 * have dtc decompile it without warnings.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dtb.h"
#include "layout.h"

static uint8_t blob[LAYOUT_DTB_MAX];

static const struct dtb_range ram[] = {
    {0, LAYOUT_MMIO_HOLE_START},
    {LAYOUT_HIGH_RAM_START, 1ULL << 30},
};
static const struct dtb_virtio virtio[] = {
    {LAYOUT_VIRTIO_MMIO_BASE, LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_IRQ_VIRTIO_BASE},
    {LAYOUT_VIRTIO_MMIO_BASE + LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_VIRTIO_MMIO_SIZE,
     LAYOUT_IRQ_VIRTIO_BASE + 1},
};

static struct dtb_machine machine(void)
{
    return (struct dtb_machine){
        .mem = ram,
        .nmem = 2,
        .virtio = virtio,
        .nvirtio = 2,
        .testdev = {LAYOUT_TESTDEV_BASE, LAYOUT_TESTDEV_SIZE},
        .ncpus = 2,
        .bootargs = "test=blk sectors=64",
    };
}

static int build(const struct dtb_machine *m)
{
    int len = dtb_build(m, blob, sizeof(blob));

    if (len > 0)
        cr_assert_eq(fdt_check_full(blob, (size_t)len), 0, "libfdt rejects the blob");
    return len;
}

static int node(const char *path)
{
    int off = fdt_path_offset(blob, path);

    cr_assert_geq(off, 0, "no node %s", path);
    return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
    const void *v = fdt_getprop(blob, node(path), name, len);

    cr_assert_not_null(v, "no %s in %s", name, path);
    return v;
}

static void check_reg(const char *path, uint64_t base, uint64_t size)
{
    int len;
    const void *reg = prop(path, "reg", &len);
    fdt64_t cells[2]; /* FDT properties are only 4-byte aligned: copy before reading */

    cr_assert_eq(len, 16);
    memcpy(cells, reg, sizeof(cells));
    cr_assert_eq(fdt64_to_cpu(cells[0]), base, "%s base", path);
    cr_assert_eq(fdt64_to_cpu(cells[1]), size, "%s size", path);
}

Test(dtb, describes_the_machine)
{
    int len;

    struct dtb_machine m = machine();
    cr_assert_gt(build(&m), 0);

    cr_assert_str_eq(prop("/chosen", "bootargs", &len), "test=blk sectors=64");
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/", "#address-cells", &len)), 2);
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/", "#size-cells", &len)), 2);
    cr_assert_str_eq(prop("/cpus/cpu@0", "device_type", &len), "cpu");
    cr_assert_eq(fdt32_to_cpu(*(const fdt32_t *)prop("/cpus/cpu@1", "reg", &len)), 1);
    cr_assert_lt(fdt_path_offset(blob, "/cpus/cpu@2"), 0);

    cr_assert_str_eq(prop("/memory@0", "device_type", &len), "memory");
    check_reg("/memory@0", 0, LAYOUT_MMIO_HOLE_START);
    check_reg("/memory@100000000", LAYOUT_HIGH_RAM_START, 1ULL << 30);

    cr_assert_str_eq(prop("/virtio@d0000000", "compatible", &len), "virtio,mmio");
    check_reg("/virtio@d0000000", LAYOUT_VIRTIO_MMIO_BASE, LAYOUT_VIRTIO_MMIO_SIZE);
    const fdt32_t *irq = prop("/virtio@d0001000", "interrupts", &len);
    cr_assert_eq(len, 8);
    cr_assert_eq(fdt32_to_cpu(irq[0]), LAYOUT_IRQ_VIRTIO_BASE + 1);
    cr_assert_eq(fdt32_to_cpu(irq[1]), DTB_IRQ_EDGE_RISING);

    cr_assert_str_eq(prop("/testdev@d1000000", "compatible", &len), "minivmm,testdev");
    check_reg("/testdev@d1000000", LAYOUT_TESTDEV_BASE, LAYOUT_TESTDEV_SIZE);

    /* Devices find their interrupt controller through the root's interrupt-parent. */
    uint32_t parent = fdt32_to_cpu(*(const fdt32_t *)prop("/", "interrupt-parent", &len));
    int ioapic = fdt_node_offset_by_phandle(blob, parent);
    cr_assert_eq(ioapic, node("/ioapic@fec00000"));
    cr_assert_not_null(fdt_getprop(blob, ioapic, "interrupt-controller", &len));
}

Test(dtb, optional_parts_can_be_absent)
{
    struct dtb_machine m = machine();
    int len;

    m.nvirtio = 0;
    m.testdev.size = 0;
    m.bootargs = NULL;
    m.ncpus = 1;
    cr_assert_gt(build(&m), 0);
    cr_assert_str_eq(prop("/chosen", "bootargs", &len), "");
    cr_assert_lt(fdt_node_offset_by_compatible(blob, -1, "virtio,mmio"), 0);
    cr_assert_lt(fdt_node_offset_by_compatible(blob, -1, "minivmm,testdev"), 0);
}

Test(dtb, refuses_nonsense)
{
    struct dtb_machine m = machine();

    m.nmem = 0;
    cr_assert_eq(dtb_build(&m, blob, sizeof(blob)), -EINVAL);
    m = machine();
    m.ncpus = 0;
    cr_assert_eq(dtb_build(&m, blob, sizeof(blob)), -EINVAL);
    m = machine();
    struct dtb_virtio bad = {LAYOUT_VIRTIO_MMIO_BASE, LAYOUT_VIRTIO_MMIO_SIZE, 24};
    m.virtio = &bad;
    m.nvirtio = 1;
    cr_assert_eq(dtb_build(&m, blob, sizeof(blob)), -EINVAL, "GSI past the IOAPIC");
    m = machine();
    m.nvirtio = LAYOUT_VIRTIO_MMIO_MAX + 1;
    cr_assert_eq(dtb_build(&m, blob, sizeof(blob)), -EINVAL);
}

Test(dtb, too_small_a_buffer_is_enospc)
{
    struct dtb_machine m = machine();

    cr_assert_eq(dtb_build(&m, blob, 128), -ENOSPC);
}

Test(dtb, largest_machine_fits_in_the_dtb_area)
{
    static struct dtb_virtio many[LAYOUT_VIRTIO_MMIO_MAX];
    static char args[LAYOUT_DTB_MAX / 2]; /* far beyond any real command line */
    struct dtb_machine m = machine();

    for (unsigned int i = 0; i < LAYOUT_VIRTIO_MMIO_MAX; i++)
        many[i] = (struct dtb_virtio){LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE,
                                      LAYOUT_VIRTIO_MMIO_SIZE, LAYOUT_IRQ_VIRTIO_LAST};
    memset(args, 'a', sizeof(args) - 1);
    m.virtio = many;
    m.nvirtio = LAYOUT_VIRTIO_MMIO_MAX;
    m.ncpus = 255;
    m.bootargs = args;
    cr_assert_gt(build(&m), 0);
}

Test(dtb, dtc_decompiles_it_cleanly)
{
    char path[] = "/tmp/minivmm-test-fdt-XXXXXX", cmd[256], out[4096];
    struct dtb_machine m = machine();
    int len = build(&m);
    int fd = mkstemp(path);
    FILE *p;
    size_t n;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, blob, (size_t)len), len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts %s 2>&1", path);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    unlink(path);
    cr_assert_eq(status, 0, "dtc failed (is device-tree-compiler installed?): %s", out);
    cr_assert_null(strstr(out, "Warning"), "dtc warns: %s", out);
    cr_assert_not_null(strstr(out, "bootargs = \"test=blk sectors=64\";"), "%s", out);
    cr_assert_not_null(strstr(out, "virtio@d0000000 {"), "%s", out);
}
