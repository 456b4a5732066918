/*
 * Dirty-page log for vhost-user migration: a sealed-size memfd mapped shared, so the back-end
 * (which maps it from SET_LOG_BASE) and the VMM see the same bits.
 */
#include "vu_dirty_log.h"
#include "vu_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOG_CHUNK (VU_LOG_PAGE * 64ULL) /* guest bytes covered by one 64-bit log word */

uint64_t vu_dirty_log_size(uint64_t mem_end)
{
    if (mem_end == 0)
        return 0;
    return ((mem_end - 1) / LOG_CHUNK + 1) * sizeof(uint64_t);
}

int vu_dirty_log_create(struct vu_dirty_log *log, uint64_t mem_end)
{
    int ret;

    log->fd = -1;
    log->bitmap = NULL;
    log->size = vu_dirty_log_size(mem_end);
    if (log->size == 0)
        return -EINVAL;
    log->fd = memfd_create("minivmm-dirty-log", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (log->fd < 0)
        goto fail_errno;
    if (ftruncate(log->fd, (off_t)log->size) < 0)
        goto fail_errno;
    /* The back-end maps the whole size: it must never shrink under it. */
    if (fcntl(log->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        goto fail_errno;
    log->bitmap = mmap(NULL, log->size, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd, 0);
    if (log->bitmap == MAP_FAILED) {
        log->bitmap = NULL;
        goto fail_errno;
    }
    return 0;

fail_errno:
    ret = -errno;
    vu_dirty_log_destroy(log);
    return ret;
}

void vu_dirty_log_destroy(struct vu_dirty_log *log)
{
    if (log->bitmap)
        munmap(log->bitmap, log->size);
    if (log->fd >= 0)
        close(log->fd);
    log->bitmap = NULL;
    log->fd = -1;
    log->size = 0;
}

bool vu_dirty_log_test(const struct vu_dirty_log *log, uint64_t gpa)
{
    uint64_t page = gpa / VU_LOG_PAGE;

    if (!log->bitmap || page / 8 >= log->size)
        return false;
    return __atomic_load_n(&log->bitmap[page / 8], __ATOMIC_RELAXED) & (1u << (page % 8));
}

bool vu_dirty_log_clear(struct vu_dirty_log *log)
{
    bool dirty = false;

    for (uint64_t i = 0; log->bitmap && i < log->size; i++)
        dirty |= __atomic_exchange_n(&log->bitmap[i], 0, __ATOMIC_RELAXED) != 0;
    return dirty;
}
