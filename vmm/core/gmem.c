/*
 * Guest RAM backed by a memfd so that vhost-user back-ends can map it.
 * Sealing (F_SEAL_SHRINK | F_SEAL_GROW) protects the VMM and the back-ends from
 * a truncation that would turn guest accesses into SIGBUS.
 */
#include "gmem.h"
#include "layout.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE_SIZE (2ULL << 20)

unsigned int gmem_layout(uint64_t ram_size, struct gmem_region regions[GMEM_MAX_REGIONS])
{
    uint64_t low = ram_size < LAYOUT_MMIO_HOLE_START ? ram_size : LAYOUT_MMIO_HOLE_START;

    memset(regions, 0, sizeof(struct gmem_region) * GMEM_MAX_REGIONS);
    regions[0].gpa = 0;
    regions[0].size = low;
    regions[0].fd_offset = 0;
    if (ram_size == low)
        return 1;
    regions[1].gpa = LAYOUT_HIGH_RAM_START;
    regions[1].size = ram_size - low;
    regions[1].fd_offset = low;
    return 2;
}

int gmem_create(struct gmem *gm, uint64_t ram_size, bool hugepages)
{
    unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
    int ret;

    memset(gm, 0, sizeof(*gm));
    gm->fd = -1;
    gm->page_size = hugepages ? HUGE_PAGE_SIZE : 4096;
    if (ram_size == 0 || ram_size % gm->page_size)
        return -EINVAL;
    if (hugepages)
        flags |= MFD_HUGETLB | MFD_HUGE_2MB;
    gm->fd = memfd_create("minivmm-ram", flags);
    if (gm->fd < 0)
        return -errno;
    if (ftruncate(gm->fd, (off_t)ram_size) < 0)
        goto fail_errno;
    /* hugetlbfs does not support sealing; regular memfds do. */
    if (!hugepages && fcntl(gm->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
        goto fail_errno;
    gm->base = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, gm->fd, 0);
    if (gm->base == MAP_FAILED) {
        gm->base = NULL;
        goto fail_errno;
    }
    gm->ram_size = ram_size;
    gm->nregions = gmem_layout(ram_size, gm->regions);
    for (unsigned int i = 0; i < gm->nregions; i++)
        gm->regions[i].hva = gm->base + gm->regions[i].fd_offset;
    return 0;

fail_errno:
    ret = -errno;
    gmem_destroy(gm);
    return ret;
}

void gmem_destroy(struct gmem *gm)
{
    if (gm->base)
        munmap(gm->base, gm->ram_size);
    if (gm->fd >= 0)
        close(gm->fd);
    gm->base = NULL;
    gm->fd = -1;
    gm->nregions = 0;
}

void *gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
    for (unsigned int i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];

        if (gpa < r->gpa || gpa - r->gpa > r->size)
            continue;
        if (len > r->size - (gpa - r->gpa))
            return NULL;
        return r->hva + (gpa - r->gpa);
    }
    return NULL;
}

bool gmem_is_ram(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
    return gmem_ptr(gm, gpa, len) != NULL;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, uint64_t len)
{
    const void *src = gmem_ptr(gm, gpa, len);

    if (!src)
        return -EFAULT;
    memcpy(buf, src, len);
    return 0;
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *buf, uint64_t len)
{
    void *dst = gmem_ptr(gm, gpa, len);

    if (!dst)
        return -EFAULT;
    memcpy(dst, buf, len);
    return 0;
}

uint64_t gmem_end(const struct gmem *gm)
{
    if (gm->nregions == 0)
        return 0;
    const struct gmem_region *last = &gm->regions[gm->nregions - 1];
    return last->gpa + last->size;
}
