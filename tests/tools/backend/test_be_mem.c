/*
 * Unit tests for tools/backend/be_mem.c: the back-end's memory table over real memfds, both
 * translations at every edge (region ends, holes, wrapping lengths), and each table a
 * front-end must not be able to install.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "be_mem.h"

#define KIB 1024ULL

static struct be_mem mem;
static int ram_fd = -1;
static uint8_t *ram; /* the test's own view of the memfd */
static char why[256];

static void setup(void)
{
    ram_fd = memfd_create("be-mem-test", MFD_CLOEXEC);
    cr_assert_geq(ram_fd, 0);
    cr_assert_eq(ftruncate(ram_fd, 128 * KIB), 0);
    ram = mmap(NULL, 128 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
    cr_assert_neq(ram, MAP_FAILED);
    memset(&mem, 0, sizeof(mem));
}

static void teardown(void)
{
    be_mem_clear(&mem);
    munmap(ram, 128 * KIB);
    close(ram_fd);
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* Region A: gpa 0, 64K, fd offset 0. Region B: gpa 1M, 64K, fd offset 64K. */
static const struct vu_wire_region two[2] = {
    {.gpa = 0, .size = 64 * KIB, .uaddr = 0x10000000, .mmap_offset = 0},
    {.gpa = 1024 * KIB, .size = 64 * KIB, .uaddr = 0x20000000, .mmap_offset = 64 * KIB},
};

static int set(const struct vu_wire_region *w, unsigned int n)
{
    int fds[VU_MEM_MAX_REGIONS];

    for (unsigned int i = 0; i < VU_MEM_MAX_REGIONS; i++)
        fds[i] = i < n ? dup(ram_fd) : -1;
    int ret = be_mem_set(&mem, w, fds, n, why, sizeof(why));
    for (unsigned int i = 0; i < n; i++)
        cr_assert_not(fd_open(fds[i]), "be_mem_set closes every fd it was given");
    return ret;
}

TestSuite(be_mem, .init = setup, .fini = teardown);

Test(be_mem, translates_both_address_spaces_into_the_fd)
{
    cr_assert_eq(set(two, 2), 0, "%s", why);
    cr_assert_eq(mem.n, 2);
    uint8_t *a = be_mem_gpa(&mem, 0x10, 4);
    uint8_t *b = be_mem_gpa(&mem, 1024 * KIB + 0x20, 4);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    memcpy(a, "AAAA", 4);
    memcpy(b, "BBBB", 4);
    cr_assert_eq(memcmp(ram + 0x10, "AAAA", 4), 0, "gpa 0x10 is fd offset 0x10");
    cr_assert_eq(memcmp(ram + 64 * KIB + 0x20, "BBBB", 4), 0, "region B starts at mmap_offset");
    cr_assert_eq(be_mem_uva(&mem, 0x10000010, 4), (void *)a, "same byte through the user address");
    cr_assert_eq(be_mem_uva(&mem, 0x20000020, 4), (void *)b);
}

Test(be_mem, whole_range_must_fit_in_one_region)
{
    cr_assert_eq(set(two, 2), 0, "%s", why);
    cr_assert_not_null(be_mem_gpa(&mem, 64 * KIB - 8, 8), "last 8 bytes of A");
    cr_assert_null(be_mem_gpa(&mem, 64 * KIB - 8, 9), "one byte past A");
    cr_assert_null(be_mem_gpa(&mem, 64 * KIB, 1), "the hole after A");
    cr_assert_null(be_mem_gpa(&mem, 64 * KIB, 0), "an empty range still needs an address inside");
    cr_assert_null(be_mem_gpa(&mem, 1024 * KIB - 1, 2), "from the hole into B");
    cr_assert_not_null(be_mem_gpa(&mem, 1024 * KIB, 64 * KIB), "all of B");
    cr_assert_null(be_mem_gpa(&mem, 1024 * KIB, 64 * KIB + 1));
    cr_assert_null(be_mem_gpa(&mem, 0, 128 * KIB), "A and B are not contiguous in gpa");
    cr_assert_null(be_mem_uva(&mem, 0x10000000 + 64 * KIB - 4, 8));
    cr_assert_null(be_mem_uva(&mem, 0x0fffffff, 2), "below A's user address");
}

Test(be_mem, lengths_and_addresses_that_would_wrap)
{
    cr_assert_eq(set(two, 2), 0, "%s", why);
    cr_assert_null(be_mem_gpa(&mem, UINT64_MAX, 2));
    cr_assert_null(be_mem_gpa(&mem, 8, UINT64_MAX), "addr + len wraps to a small value");
    cr_assert_null(be_mem_gpa(&mem, 1024 * KIB + 8, UINT64_MAX - 1024 * KIB));
    cr_assert_null(be_mem_uva(&mem, 0x20000000 + 8, UINT64_MAX - 4));
    cr_assert_null(be_mem_gpa(&mem, UINT64_MAX - 4, 8));
}

Test(be_mem, empty_table_translates_nothing)
{
    cr_assert_null(be_mem_gpa(&mem, 0, 1));
    cr_assert_null(be_mem_uva(&mem, 0, 1));
    be_mem_clear(&mem); /* twice is fine */
}

static void refused(const struct vu_wire_region *w, unsigned int n, const char *want)
{
    cr_assert_eq(set(w, n), -EINVAL, "table accepted: want '%s'", want);
    cr_assert(strstr(why, want), "'%s' does not say '%s'", why, want);
    cr_assert_eq(mem.n, 1, "the old table stays");
    cr_assert_not_null(be_mem_gpa(&mem, 0, 64 * KIB));
}

Test(be_mem, refuses_bad_tables_and_keeps_the_old_one)
{
    struct vu_wire_region w[2] = {two[0], two[1]};

    cr_assert_eq(set(two, 1), 0, "%s", why);
    w[1].size = 0;
    refused(w, 2, "empty or wraps");
    w[1] = two[1];
    w[1].gpa = UINT64_MAX - 100;
    refused(w, 2, "empty or wraps");
    w[1] = two[1];
    w[1].uaddr = UINT64_MAX - 100;
    refused(w, 2, "empty or wraps");
    w[1] = two[1];
    w[1].mmap_offset = UINT64_MAX - 100;
    refused(w, 2, "empty or wraps");
    w[1] = two[1];
    w[1].gpa = 32 * KIB; /* overlaps A in gpa */
    refused(w, 2, "overlap");
    w[1] = two[1];
    w[1].uaddr = two[0].uaddr + 4 * KIB; /* overlaps A in user addresses */
    refused(w, 2, "overlap");
    w[1] = two[1];
    w[1].mmap_offset = 96 * KIB; /* 96K + 64K > the 128K memfd: SIGBUS territory */
    refused(w, 2, "holds 131072 bytes");
    refused(w, 0, "0 regions");
}

Test(be_mem, eight_regions_at_most)
{
    struct vu_wire_region w[VU_MEM_MAX_REGIONS + 1];
    int fds[VU_MEM_MAX_REGIONS + 1];

    for (unsigned int i = 0; i <= VU_MEM_MAX_REGIONS; i++) {
        w[i] = (struct vu_wire_region){.gpa = i * 8 * KIB,
                                       .size = 4 * KIB,
                                       .uaddr = 0x10000000 + i * 8 * KIB,
                                       .mmap_offset = i * 4 * KIB};
        fds[i] = dup(ram_fd);
    }
    cr_assert_eq(be_mem_set(&mem, w, fds, VU_MEM_MAX_REGIONS + 1, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "9 regions (1..8)"), "%s", why);
    for (unsigned int i = 0; i <= VU_MEM_MAX_REGIONS; i++)
        cr_assert_not(fd_open(fds[i]), "fd %u closed", i);
    cr_assert_eq(set(w, VU_MEM_MAX_REGIONS), 0, "%s", why);
    for (unsigned int i = 0; i < VU_MEM_MAX_REGIONS; i++) {
        uint8_t *p = be_mem_gpa(&mem, i * 8 * KIB, 4 * KIB);

        cr_assert_not_null(p);
        p[0] = (uint8_t)(0xa0 + i);
        cr_assert_eq(ram[i * 4 * KIB], 0xa0 + i, "region %u is at fd offset %uK", i, 4 * i);
        cr_assert_null(be_mem_gpa(&mem, i * 8 * KIB + 4 * KIB, 1), "hole after region %u", i);
    }
}
