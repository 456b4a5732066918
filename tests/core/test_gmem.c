/* Unit tests for vmm/core/gmem.c: layout around the MMIO hole, the checked accessor, memfd. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmem.h"
#include "layout.h"

Test(gmem, small_guest_is_one_region)
{
    struct gmem_region r[GMEM_MAX_REGIONS];

    cr_assert_eq(gmem_layout(256ULL << 20, r), 1);
    cr_assert_eq(r[0].gpa, 0);
    cr_assert_eq(r[0].size, 256ULL << 20);
    cr_assert_eq(r[0].fd_offset, 0);
}

Test(gmem, guest_up_to_the_hole_is_one_region)
{
    struct gmem_region r[GMEM_MAX_REGIONS];

    cr_assert_eq(gmem_layout(LAYOUT_MMIO_HOLE_START, r), 1);
    cr_assert_eq(r[0].size, LAYOUT_MMIO_HOLE_START);
}

Test(gmem, big_guest_is_split_around_the_hole)
{
    struct gmem_region r[GMEM_MAX_REGIONS];
    uint64_t ram = 3584ULL << 20; /* 3.5 GiB */

    cr_assert_eq(gmem_layout(ram, r), 2);
    cr_assert_eq(r[0].gpa, 0);
    cr_assert_eq(r[0].size, LAYOUT_MMIO_HOLE_START);
    cr_assert_eq(r[1].gpa, LAYOUT_HIGH_RAM_START);
    cr_assert_eq(r[1].size, ram - LAYOUT_MMIO_HOLE_START);
    cr_assert_eq(r[1].fd_offset, LAYOUT_MMIO_HOLE_START, "high RAM continues the memfd");
}

Test(gmem, create_maps_a_sealed_memfd)
{
    struct gmem gm;
    struct stat st;

    cr_assert_eq(gmem_create(&gm, 16ULL << 20, false), 0);
    cr_assert_geq(gm.fd, 0);
    cr_assert_eq(fstat(gm.fd, &st), 0);
    cr_assert_eq(st.st_size, 16 << 20);
    cr_assert(fcntl(gm.fd, F_GET_SEALS) & F_SEAL_SHRINK, "a back-end must not be able to shrink RAM");
    cr_assert_neq(ftruncate(gm.fd, 4096), 0);
    cr_assert(fcntl(gm.fd, F_GETFD) & FD_CLOEXEC);
    gmem_destroy(&gm);
    cr_assert_eq(gm.fd, -1);
    gmem_destroy(&gm); /* idempotent */
}

Test(gmem, writes_are_shared_through_the_fd)
{
    struct gmem gm;
    uint32_t v = 0x12345678, back = 0;

    cr_assert_eq(gmem_create(&gm, 4ULL << 20, false), 0);
    cr_assert_eq(gmem_write(&gm, 0x1000, &v, sizeof(v)), 0);
    cr_assert_eq(pread(gm.fd, &back, sizeof(back), 0x1000), (ssize_t)sizeof(back));
    cr_assert_eq(back, v);
    gmem_destroy(&gm);
}

Test(gmem, accessor_refuses_ranges_outside_ram)
{
    struct gmem gm;
    uint64_t size = 4ULL << 20;
    uint8_t b;

    cr_assert_eq(gmem_create(&gm, size, false), 0);
    cr_assert_not_null(gmem_ptr(&gm, 0, size));
    cr_assert_not_null(gmem_ptr(&gm, size - 1, 1));
    cr_assert_null(gmem_ptr(&gm, size - 1, 2), "straddles the end");
    cr_assert_null(gmem_ptr(&gm, size, 1));
    cr_assert_null(gmem_ptr(&gm, UINT64_MAX, 2), "wraps");
    cr_assert_null(gmem_ptr(&gm, 0, UINT64_MAX));
    cr_assert_eq(gmem_read(&gm, LAYOUT_IOAPIC_BASE, &b, 1), -EFAULT);
    cr_assert(gmem_is_ram(&gm, 0x1000, 4096));
    cr_assert_eq(gmem_end(&gm), size);
    gmem_destroy(&gm);
}

Test(gmem, split_guest_accessor_follows_the_regions)
{
    struct gmem gm;
    uint64_t ram = LAYOUT_MMIO_HOLE_START + (64ULL << 20);

    /* A sparse memfd: nothing is touched beyond a few pages. */
    cr_assert_eq(gmem_create(&gm, ram, false), 0);
    cr_assert_eq(gm.nregions, 2);
    cr_assert_null(gmem_ptr(&gm, LAYOUT_MMIO_HOLE_START, 1), "the hole is not RAM");
    cr_assert_null(gmem_ptr(&gm, LAYOUT_MMIO_HOLE_START - 8, 16), "no range crosses the hole");
    uint8_t *hi = gmem_ptr(&gm, LAYOUT_HIGH_RAM_START, 8);
    cr_assert_not_null(hi);
    cr_assert_eq(hi, gm.base + LAYOUT_MMIO_HOLE_START);
    cr_assert_eq(gmem_end(&gm), LAYOUT_HIGH_RAM_START + (64ULL << 20));
    gmem_destroy(&gm);
}

Test(gmem, rejects_zero_and_unaligned_sizes)
{
    struct gmem gm;

    cr_assert_eq(gmem_create(&gm, 0, false), -EINVAL);
    cr_assert_eq(gmem_create(&gm, 4097, false), -EINVAL);
    cr_assert_eq(gmem_create(&gm, 3ULL << 20, true), -EINVAL, "hugepages need 2 MiB multiples");
}
