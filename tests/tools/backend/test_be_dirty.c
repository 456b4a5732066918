/*
 * Unit tests for tools/backend/be_dirty.c: the dirty log mapped from a memfd at an offset,
 * page arithmetic at the edges, and what is ignored (past the bitmap, no log, empty writes).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "be_dirty.h"

#define PAGE 4096ULL

static struct be_dirty dlog;
static int fd = -1;
static uint8_t *view; /* the front-end's view of the same memfd */

static void setup(void)
{
    fd = memfd_create("be-dirty-test", MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 4096), 0);
    view = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_neq(view, MAP_FAILED);
    memset(&dlog, 0, sizeof(dlog));
    /* 16 bytes of bitmap (128 pages) at offset 256 of the fd */
    cr_assert_eq(be_dirty_set(&dlog, dup(fd), 16, 256), 0);
}

static void teardown(void)
{
    be_dirty_clear(&dlog);
    munmap(view, 4096);
    close(fd);
}

static bool bit(uint64_t page)
{
    return view[256 + page / 8] & (1u << (page % 8));
}

static unsigned int bits_set(void)
{
    unsigned int n = 0;

    for (uint64_t p = 0; p < 128; p++)
        n += bit(p);
    return n;
}

TestSuite(be_dirty, .init = setup, .fini = teardown);

Test(be_dirty, marks_every_page_a_write_touches)
{
    be_dirty_mark(&dlog, 5 * PAGE + 100, 8);
    cr_assert(bit(5));
    cr_assert_eq(bits_set(), 1);
    be_dirty_mark(&dlog, 10 * PAGE - 1, 2); /* straddles pages 9 and 10 */
    cr_assert(bit(9) && bit(10));
    be_dirty_mark(&dlog, 20 * PAGE, 3 * PAGE); /* exactly pages 20..22 */
    cr_assert(bit(20) && bit(21) && bit(22));
    cr_assert_not(bit(23));
    cr_assert_eq(bits_set(), 6);
    cr_assert_eq(view[255], 0, "nothing before the offset");
    cr_assert_eq(view[256 + 16], 0, "nothing after the bitmap");
}

Test(be_dirty, ignores_what_it_cannot_mark)
{
    be_dirty_mark(&dlog, 3 * PAGE, 0);
    be_dirty_mark(&dlog, 128 * PAGE, 8);     /* first page past the bitmap */
    be_dirty_mark(&dlog, UINT64_MAX - 3, 8); /* wraps */
    be_dirty_mark(NULL, 0, 8);               /* logging off */
    cr_assert_eq(bits_set(), 0);
    be_dirty_mark(&dlog, 126 * PAGE, 100 * PAGE); /* runs off the end: only what fits */
    cr_assert(bit(126) && bit(127));
    cr_assert_eq(bits_set(), 2);
}

Test(be_dirty, refuses_a_log_larger_than_its_fd)
{
    struct be_dirty other = {0};

    cr_assert_eq(be_dirty_set(&other, dup(fd), 4096, 1), -EINVAL, "4097 bytes of a 4096-byte fd");
    cr_assert_eq(be_dirty_set(&other, dup(fd), 0, 0), -EINVAL, "empty");
    cr_assert_eq(be_dirty_set(&other, dup(fd), 16, UINT64_MAX - 8), -EINVAL, "wraps");
    cr_assert_null(other.bits);
    be_dirty_mark(&other, 0, 8); /* no dlog: nothing happens */
}
