/*
 * The migration dirty log (see be_dirty.h). The front-end clears bits while we set them, so
 * each bit is set with an atomic OR on its byte, as QEMU's and DPDK's back-ends do.
 */
#include "be_dirty.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vu_wire.h"

int be_dirty_set(struct be_dirty *d, int fd, uint64_t size, uint64_t offset)
{
    size_t len = (size_t)(offset + size);
    struct stat st;
    void *p;

    /* A log shorter than it claims would fault here (SIGBUS) on the first mark. */
    if (size == 0 || offset + size < offset || fstat(fd, &st) < 0 ||
        (S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + size)) {
        close(fd);
        return -EINVAL;
    }
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -errno;
    be_dirty_clear(d);
    *d = (struct be_dirty){.bits = (uint8_t *)p + offset, .size = size, .map = p, .map_len = len};
    return 0;
}

void be_dirty_clear(struct be_dirty *d)
{
    if (d->map)
        munmap(d->map, d->map_len);
    memset(d, 0, sizeof(*d));
}

void be_dirty_mark(const struct be_dirty *d, uint64_t gpa, uint64_t len)
{
    if (!d || !d->bits || len == 0)
        return;
    uint64_t first = gpa / VU_LOG_PAGE;
    uint64_t last = (gpa + len - 1 < gpa ? UINT64_MAX : gpa + len - 1) / VU_LOG_PAGE;

    __atomic_thread_fence(__ATOMIC_RELEASE); /* the data before the bit */
    for (uint64_t page = first; page <= last && page / 8 < d->size; page++)
        __atomic_fetch_or(&d->bits[page / 8], (uint8_t)(1u << (page % 8)), __ATOMIC_RELAXED);
}
