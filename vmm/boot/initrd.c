/*
 * Initrd loading. The file is read directly into guest memory (no bounce
 * buffer): the one copy a multi-MiB initramfs costs at start-up.
 */
#include "initrd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_MASK_4K (~0xfffULL)

int initrd_place(uint64_t size, uint64_t lo, uint64_t hi, uint64_t *addr)
{
    uint64_t a;

    if (size == 0 || hi < lo || size > hi - lo)
        return -ENOSPC;
    a = (hi - size) & PAGE_MASK_4K;
    if (a < lo)
        return -ENOSPC;
    *addr = a;
    return 0;
}

static int initrd_read_all(int fd, uint8_t *dst, uint64_t size)
{
    uint64_t done = 0;

    while (done < size) {
        size_t chunk = size - done > (1U << 30) ? (1U << 30) : (size_t)(size - done);
        ssize_t n = pread(fd, dst + done, chunk, (off_t)done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* shrank under us */
        done += (uint64_t)n;
    }
    return 0;
}

int initrd_load(struct gmem *gm, const char *path, uint64_t lo, uint64_t hi, uint64_t *addr,
                uint64_t *size)
{
    struct stat st;
    uint8_t *dst;
    int fd, ret;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ret = -errno;
        log_err("initrd %s: %s", path, strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        log_err("initrd %s: %s", path, strerror(-ret));
        goto out_close;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        ret = -EINVAL;
        log_err("initrd %s: not a regular, non-empty file", path);
        goto out_close;
    }
    ret = initrd_place((uint64_t)st.st_size, lo, hi, addr);
    dst = ret == 0 ? gmem_ptr(gm, *addr, (uint64_t)st.st_size) : NULL;
    if (!dst) {
        ret = -ENOSPC;
        log_err("initrd %s: %" PRIu64 " bytes do not fit in guest RAM between 0x%" PRIx64
                " and 0x%" PRIx64 " (more --memory?)",
                path, (uint64_t)st.st_size, lo, hi);
        goto out_close;
    }
    ret = initrd_read_all(fd, dst, (uint64_t)st.st_size);
    if (ret < 0) {
        log_err("initrd %s: read: %s", path, strerror(-ret));
        goto out_close;
    }
    *size = (uint64_t)st.st_size;
out_close:
    close(fd);
    return ret;
}
