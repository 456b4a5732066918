/*
 * vu_dirty_log: QEMU's sizing (one 64-bit word per 256 KiB of guest address space; 8192 bytes
 * for 256 MiB), and bits set through another mapping of the fd - as a back-end does - are seen.
 */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vu_dirty_log.h"

Test(vu_dirty_log, sizes)
{
    cr_expect_eq(vu_dirty_log_size(0), 0);
    cr_expect_eq(vu_dirty_log_size(1), 8);
    cr_expect_eq(vu_dirty_log_size(256ULL << 10), 8);
    cr_expect_eq(vu_dirty_log_size((256ULL << 10) + 1), 16);
    cr_expect_eq(vu_dirty_log_size(256ULL << 20), 8192);
}

Test(vu_dirty_log, backend_bits_are_seen)
{
    struct vu_dirty_log log;
    uint8_t *theirs;
    uint64_t page = 0x123456000ull / 4096;

    cr_assert_eq(vu_dirty_log_create(&log, 8ULL << 30), 0);
    cr_assert_geq(log.fd, 0);
    cr_expect_eq(log.size, vu_dirty_log_size(8ULL << 30));
    cr_expect_eq(ftruncate(log.fd, 1), -1, "size is sealed");
    theirs = mmap(NULL, log.size, PROT_READ | PROT_WRITE, MAP_SHARED, log.fd, 0);
    cr_assert_neq(theirs, MAP_FAILED);
    cr_expect_not(vu_dirty_log_clear(&log));
    theirs[page / 8] |= 1u << (page % 8);
    cr_expect(vu_dirty_log_test(&log, 0x123456000ull));
    cr_expect(vu_dirty_log_test(&log, 0x123456fffull));
    cr_expect_not(vu_dirty_log_test(&log, 0x123457000ull));
    cr_expect_not(vu_dirty_log_test(&log, 64ULL << 30), "beyond the log");
    cr_expect(vu_dirty_log_clear(&log));
    cr_expect_not(vu_dirty_log_test(&log, 0x123456000ull));
    munmap(theirs, log.size);
    vu_dirty_log_destroy(&log);
    cr_expect_eq(log.fd, -1);
    vu_dirty_log_destroy(&log); /* twice is harmless */
    cr_expect_neq(vu_dirty_log_create(&log, 0), 0);
}
