/*
 * Unit tests for firmware/args.c: test=NAME and key=value words, numbers
 * with suffixes, and QEMU's virtio_mmio.device= device list.
 */
#include <criterion/criterion.h>

#include "args.h"

static const char line[] = "  test=blk-bench qd=8 size=4K  base=0x1000 verbose bad=12x "
                           "virtio_mmio.device=512@0xfeb00e00:12 "
                           "virtio_mmio.device=4K@0xd0001000:6:3 "
                           "virtio_mmio.device=junk virtio_mmio.device=0@0x1:5";

Test(fw_args, key_values)
{
    char buf[16];

    cr_assert(args_get(line, "test", buf, sizeof(buf)));
    cr_assert_str_eq(buf, "blk-bench");
    cr_assert(args_get(line, "verbose", buf, sizeof(buf)));
    cr_assert_str_eq(buf, "");
    cr_assert_not(args_get(line, "tes", buf, sizeof(buf)), "prefixes do not match");
    cr_assert_not(args_get(line, "qd=8", buf, sizeof(buf)));
    cr_assert(args_get(line, "test", buf, 4));
    cr_assert_str_eq(buf, "blk", "values are truncated to the buffer");
    cr_assert_not(args_get("", "test", buf, sizeof(buf)));
}

Test(fw_args, numbers)
{
    cr_assert_eq(args_get_u64(line, "qd", 1), 8);
    cr_assert_eq(args_get_u64(line, "size", 0), 4096);
    cr_assert_eq(args_get_u64(line, "base", 0), 0x1000);
    cr_assert_eq(args_get_u64(line, "bad", 77), 77, "trailing junk means the default");
    cr_assert_eq(args_get_u64(line, "verbose", 5), 5);
    cr_assert_eq(args_get_u64(line, "missing", 9), 9);
    cr_assert_eq(args_strtou64("2M", NULL), 2 << 20);
    cr_assert_eq(args_strtou64("1G", NULL), 1ULL << 30);
}

Test(fw_args, virtio_mmio_devices)
{
    struct args_virtio_mmio d;

    cr_assert(args_virtio_mmio(line, 0, &d));
    cr_assert_eq(d.size, 512);
    cr_assert_eq(d.base, 0xfeb00e00);
    cr_assert_eq(d.irq, 12);
    cr_assert(args_virtio_mmio(line, 1, &d));
    cr_assert_eq(d.size, 4096);
    cr_assert_eq(d.base, 0xd0001000);
    cr_assert_eq(d.irq, 6);
    cr_assert_not(args_virtio_mmio(line, 2, &d), "malformed and zero-sized words are skipped");
}
