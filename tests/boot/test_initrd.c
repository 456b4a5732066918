/*
 * Unit tests for vmm/boot/initrd.c: placement arithmetic (page aligned, as
 * high as possible, inside the window) and loading a real file into RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "initrd.h"
#include "kload.h"

/* initrd_map and initrd_plan carried out at once (a kload copy). */
static int initrd_load_now(struct gmem *gm, const char *path, uint64_t lo, uint64_t hi,
                           uint64_t *addr, uint64_t *size)
{
    const uint8_t *data;
    struct kload l;
    int ret;

    kload_init(&l);
    ret = initrd_map(path, &l, &data, size);
    if (ret == 0)
        ret = initrd_plan(gm, path, data, *size, lo, hi, &l, addr);
    if (ret == 0)
        ret = kload_start(&l, gm, KLOAD_COPY, NULL, NULL);
    kload_close(&l);
    return ret;
}

Test(initrd, place_highest_page_aligned)
{
    uint64_t a;

    cr_assert_eq(initrd_place(0x1234, 0x100000, 0x800000, &a), 0);
    cr_assert_eq(a, 0x7fe000);
    cr_assert_eq(a % 4096, 0);
    cr_assert_leq(a + 0x1234, 0x800000);
    /* hi not page aligned: still ends below it. */
    cr_assert_eq(initrd_place(0x1000, 0x100000, 0x800fff, &a), 0);
    cr_assert_eq(a, 0x7ff000);
}

Test(initrd, place_exact_fit_and_too_big)
{
    uint64_t a = 0;

    cr_assert_eq(initrd_place(0x2000, 0x100000, 0x102000, &a), 0);
    cr_assert_eq(a, 0x100000);
    cr_assert_eq(initrd_place(0x2001, 0x100000, 0x102000, &a), -ENOSPC);
    /* Fits by size, but alignment would put it below lo. */
    cr_assert_eq(initrd_place(0x1000, 0x100800, 0x101800, &a), -ENOSPC);
    cr_assert_eq(initrd_place(0x1000, 0x200000, 0x100000, &a), -ENOSPC);
    cr_assert_eq(initrd_place(0, 0x100000, 0x200000, &a), -ENOSPC);
}

Test(initrd, load_file_into_ram)
{
    uint8_t data[10000];
    struct gmem gm;
    uint64_t addr, size;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = fixture_payload(i);
    char *path = fixture_tmpfile(data, sizeof(data));
    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(initrd_load_now(&gm, path, 4 * MiB, 16 * MiB, &addr, &size), 0);
    cr_assert_eq(size, sizeof(data));
    cr_assert_eq(addr, (16 * MiB - sizeof(data)) & ~0xfffULL);
    cr_assert_eq(memcmp(gmem_ptr(&gm, addr, size), data, size), 0);
    unlink(path);
    free(path);
    gmem_destroy(&gm);
}

Test(initrd, missing_file_names_the_path)
{
    struct gmem gm;
    uint64_t addr, size;

    fixture_gmem(&gm, 16 * MiB);
    fixture_capture_begin();
    cr_assert_eq(initrd_load_now(&gm, "/nonexistent/initrd.img", 0, 16 * MiB, &addr, &size),
                 -ENOENT);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "initrd /nonexistent/initrd.img: No such file or directory"), "%s", log);
    gmem_destroy(&gm);
}

Test(initrd, empty_file_and_directory_rejected)
{
    struct gmem gm;
    uint64_t addr, size;
    char *path = fixture_tmpfile("", 0);

    fixture_gmem(&gm, 16 * MiB);
    cr_assert_eq(initrd_load_now(&gm, path, 0, 16 * MiB, &addr, &size), -EINVAL);
    cr_assert_eq(initrd_load_now(&gm, "/tmp", 0, 16 * MiB, &addr, &size), -EINVAL);
    unlink(path);
    free(path);
    gmem_destroy(&gm);
}

Test(initrd, too_big_for_the_window)
{
    uint8_t data[8192] = {1};
    struct gmem gm;
    uint64_t addr, size;
    char *path = fixture_tmpfile(data, sizeof(data));

    fixture_gmem(&gm, 16 * MiB);
    fixture_capture_begin();
    cr_assert_eq(initrd_load_now(&gm, path, 0x100000, 0x101000, &addr, &size), -ENOSPC);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "8192 bytes do not fit in guest RAM"), "%s", log);
    /* A window beyond RAM is refused, not written. */
    cr_assert_eq(initrd_load_now(&gm, path, 0, 64 * MiB, &addr, &size), -ENOSPC);
    unlink(path);
    free(path);
    gmem_destroy(&gm);
}
