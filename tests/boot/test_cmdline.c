/*
 * Unit tests for vmm/boot/cmdline.c: the generated console and virtio-mmio
 * entries, the user's part appended last, and the length limit.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cmdline.h"
#include "fixture.h"

static const struct cmdline_dev devs[] = {
    {.base = 0xd0000000, .size = 0x1000, .gsi = 5},
    {.base = 0xd0001000, .size = 0x1000, .gsi = 6},
};

Test(cmdline, serial_devices_then_user)
{
    char buf[256];

    cr_assert_eq(cmdline_build(buf, sizeof(buf), true, devs, 2, "quiet init=/init"), 0);
    cr_assert_str_eq(buf, "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5 "
                          "virtio_mmio.device=4K@0xd0001000:6 quiet init=/init");
}

Test(cmdline, nothing_at_all_is_empty)
{
    char buf[16];

    cr_assert_eq(cmdline_build(buf, sizeof(buf), false, NULL, 0, NULL), 0);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(cmdline_build(buf, sizeof(buf), false, NULL, 0, ""), 0);
    cr_assert_str_eq(buf, "");
}

Test(cmdline, no_serial_user_only)
{
    char buf[64];

    cr_assert_eq(cmdline_build(buf, sizeof(buf), false, NULL, 0, "rdinit=/x"), 0);
    cr_assert_str_eq(buf, "rdinit=/x");
}

Test(cmdline, odd_window_size_in_bytes)
{
    const struct cmdline_dev odd = {.base = 0xd0000000, .size = 0x200, .gsi = 23};
    char buf[64];

    cr_assert_eq(cmdline_build(buf, sizeof(buf), false, &odd, 1, NULL), 0);
    cr_assert_str_eq(buf, "virtio_mmio.device=512@0xd0000000:23");
}

Test(cmdline, exact_fit_and_one_byte_over)
{
    const char *want = "console=ttyS0 abc";
    char buf[64];

    cr_assert_eq(cmdline_build(buf, strlen(want) + 1, true, NULL, 0, "abc"), 0);
    cr_assert_str_eq(buf, want);
    fixture_capture_begin();
    cr_assert_eq(cmdline_build(buf, strlen(want), true, NULL, 0, "abc"), -E2BIG);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "kernel command line too long: 17 bytes, at most 16 allowed"), "%s", log);
    cr_assert_str_eq(buf, "");
}

Test(cmdline, long_user_part_counts_full_length)
{
    char user[300], buf[100];

    memset(user, 'x', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    fixture_capture_begin();
    cr_assert_eq(cmdline_build(buf, sizeof(buf), true, devs, 2, user), -E2BIG);
    const char *log = fixture_capture_end();
    /* 13 + 1 + 34 + 1 + 34 + 1 + 299 */
    cr_assert(strstr(log, "383 bytes, at most 99 allowed"), "%s", log);
}
