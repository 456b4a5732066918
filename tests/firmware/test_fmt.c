/*
 * Unit tests for firmware/fmt.c, the firmware's vsnprintf subset, checked
 * against what the C library prints for the same format.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "fmt.h"

#define SAME(...)                                                                                  \
    do {                                                                                           \
        char mine[128], libc[128];                                                                 \
        size_t n = fmt_format(mine, sizeof(mine), __VA_ARGS__);                                    \
        int m = snprintf(libc, sizeof(libc), __VA_ARGS__);                                         \
        cr_assert_str_eq(mine, libc);                                                              \
        cr_assert_eq(n, (size_t)m);                                                                \
    } while (0)

Test(fw_fmt, matches_libc)
{
    SAME("plain text");
    SAME("%d %i %u", -42, 7, 4000000000U);
    SAME("%ld %lu %lld %llu", -1L, ~0UL, (long long)INT64_MIN, ~0ULL);
    SAME("%x %X %lx %08x %-6x|", 0xbeefU, 0xbeefU, 0xdeadbeefcafeUL, 0x12U, 0xaU);
    SAME("%zu %5d|%-5d|%05d", (size_t)12345, -3, -3, -3);
    SAME("%s|%8s|%-8s|%c%%", "abc", "right", "left", 'z');
    SAME("%p", (void *)0x1000);
}

Test(fw_fmt, truncates_and_terminates)
{
    char buf[8];

    cr_assert_eq(fmt_format(buf, sizeof(buf), "%s", "0123456789"), 10);
    cr_assert_str_eq(buf, "0123456");
    cr_assert_eq(fmt_format(buf, 0, "abc"), 3, "size 0 writes nothing, still counts");
}

/* Formats the compiler would reject at a checked call site. */
static void unchecked(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fmt_vformat(buf, size, fmt, ap);
    va_end(ap);
}

Test(fw_fmt, unknown_conversions_show_through)
{
    char buf[32];

    unchecked(buf, sizeof(buf), "a%qb%");
    cr_assert_str_eq(buf, "a%qb%");
    unchecked(buf, sizeof(buf), "%s", (const char *)NULL);
    cr_assert_str_eq(buf, "(null)");
}
