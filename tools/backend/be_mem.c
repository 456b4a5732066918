/*
 * Guest memory for the back-end (see be_mem.h). Every range is checked in full against one
 * region, with the arithmetic arranged so that nothing a front-end or guest sends can wrap:
 * "off < size && len <= size - off" rather than "addr + len <= end".
 */
#include "be_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "a 64-bit host maps any region length");

static bool be_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen; /* callers checked that neither range wraps */
}

static int be_check_region(const struct vu_wire_region *r, int fd, char *why, size_t whylen)
{
    struct stat st;

    if (r->size == 0 || r->gpa + r->size < r->gpa || r->uaddr + r->size < r->uaddr ||
        r->mmap_offset + r->size < r->mmap_offset) {
        snprintf(why, whylen, "region gpa=0x%llx size=0x%llx is empty or wraps",
                 (unsigned long long)r->gpa, (unsigned long long)r->size);
        return -EINVAL;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "region gpa=0x%llx: fstat: %s", (unsigned long long)r->gpa,
                 strerror(errno));
        return -EINVAL;
    }
    /* memfds and files have a size: mapping past it would fault on the first access. */
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->mmap_offset + r->size) {
        snprintf(why, whylen,
                 "region gpa=0x%llx: its fd holds %lld bytes, mmap_offset + size is %llu",
                 (unsigned long long)r->gpa, (long long)st.st_size,
                 (unsigned long long)(r->mmap_offset + r->size));
        return -EINVAL;
    }
    return 0;
}

static int be_check_table(const struct vu_wire_region *w, const int *fds, unsigned int n, char *why,
                          size_t whylen)
{
    if (n == 0 || n > VU_MEM_MAX_REGIONS) {
        snprintf(why, whylen, "%u regions (1..%u)", n, VU_MEM_MAX_REGIONS);
        return -EINVAL;
    }
    for (unsigned int i = 0; i < n; i++) {
        int ret = be_check_region(&w[i], fds[i], why, whylen);

        if (ret < 0)
            return ret;
        /* Overlaps would make a translation ambiguous (S-NEW: regions never overlap). */
        for (unsigned int j = 0; j < i; j++) {
            if (be_overlap(w[i].gpa, w[i].size, w[j].gpa, w[j].size) ||
                be_overlap(w[i].uaddr, w[i].size, w[j].uaddr, w[j].size)) {
                snprintf(why, whylen, "regions gpa=0x%llx and gpa=0x%llx overlap",
                         (unsigned long long)w[j].gpa, (unsigned long long)w[i].gpa);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int be_mem_set(struct be_mem *mem, const struct vu_wire_region *w, const int *fds, unsigned int n,
               char *why, size_t whylen)
{
    struct be_mem next = {0};
    int ret = be_check_table(w, fds, n, why, whylen);

    for (unsigned int i = 0; ret == 0 && i < n; i++) {
        struct be_region *r = &next.regions[i];
        size_t len = (size_t)(w[i].mmap_offset + w[i].size);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);

        if (p == MAP_FAILED) {
            ret = -errno;
            snprintf(why, whylen, "region gpa=0x%llx: mmap of %zu bytes: %s",
                     (unsigned long long)w[i].gpa, len, strerror(errno));
            break;
        }
        *r = (struct be_region){
            .gpa = w[i].gpa,
            .size = w[i].size,
            .uaddr = w[i].uaddr,
            .host = (uint8_t *)p + w[i].mmap_offset,
            .map = p,
            .map_len = len,
        };
        next.n = i + 1;
    }
    for (unsigned int i = 0; i < n; i++)
        close(fds[i]);
    if (ret < 0) {
        be_mem_clear(&next);
        return ret;
    }
    be_mem_clear(mem);
    *mem = next;
    return 0;
}

void be_mem_clear(struct be_mem *mem)
{
    for (unsigned int i = 0; i < mem->n && i < VU_MEM_MAX_REGIONS; i++)
        munmap(mem->regions[i].map, mem->regions[i].map_len);
    memset(mem, 0, sizeof(*mem));
}

/* base/size describe one region in the address space being looked up. */
static void *be_lookup(const struct be_region *r, uint64_t base, uint64_t addr, uint64_t len)
{
    if (addr < base)
        return NULL;
    uint64_t off = addr - base;
    if (off >= r->size || len > r->size - off)
        return NULL;
    return r->host + off;
}

void *be_mem_gpa(const struct be_mem *mem, uint64_t gpa, uint64_t len)
{
    for (unsigned int i = 0; i < mem->n; i++) {
        void *p = be_lookup(&mem->regions[i], mem->regions[i].gpa, gpa, len);

        if (p)
            return p;
    }
    return NULL;
}

void *be_mem_uva(const struct be_mem *mem, uint64_t uaddr, uint64_t len)
{
    for (unsigned int i = 0; i < mem->n; i++) {
        void *p = be_lookup(&mem->regions[i], mem->regions[i].uaddr, uaddr, len);

        if (p)
            return p;
    }
    return NULL;
}
