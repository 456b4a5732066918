/*
 * Initrd mapping and placement. The file is mapped and handed to the load plan, which
 * copies it straight into guest RAM (no bounce buffer): the one copy an initramfs costs.
 */
#include "initrd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
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

int initrd_map(const char *path, struct kload *l, const uint8_t **data, uint64_t *size)
{
    struct stat st;
    void *src;
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
    src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (src == MAP_FAILED) {
        ret = -errno;
        log_err("initrd %s: mmap: %s", path, strerror(-ret));
        goto out_close;
    }
    ret = kload_keep_mapping(l, src, (size_t)st.st_size);
    if (ret < 0) {
        munmap(src, (size_t)st.st_size);
        goto out_close;
    }
    *data = src;
    *size = (uint64_t)st.st_size;
out_close:
    close(fd);
    return ret;
}

int initrd_plan(struct gmem *gm, const char *path, const uint8_t *data, uint64_t size, uint64_t lo,
                uint64_t hi, struct kload *l, uint64_t *addr)
{
    int ret = initrd_place(size, lo, hi, addr);

    if (ret < 0 || !gmem_ptr(gm, *addr, size)) {
        log_err("initrd %s: %" PRIu64 " bytes do not fit in guest RAM between 0x%" PRIx64
                " and 0x%" PRIx64 " (more --memory?)",
                path, size, lo, hi);
        return -ENOSPC;
    }
    return kload_add(l, *addr, data, size);
}
