/*
 * Dirty-page tracking and page transfer (migrate_ram.h). The order per round is: take the
 * dirty bits (KVM clears and write-protects as it hands them over), then copy the pages; a
 * page written after its bit was taken is dirty again for the next round.
 */
#include "migrate_ram.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MRAM_PAGE 4096u

void mram_bitmap_or(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t nbits)
{
    if (at % 64 == 0) {
        uint64_t words = nbits / 64;
        for (uint64_t i = 0; i < words; i++)
            dst[at / 64 + i] |= src[i];
        for (uint64_t b = words * 64; b < nbits; b++)
            if (src[b / 64] >> (b % 64) & 1)
                dst[(at + b) / 64] |= 1ULL << ((at + b) % 64);
        return;
    }
    for (uint64_t b = 0; b < nbits; b++)
        if (src[b / 64] >> (b % 64) & 1)
            dst[(at + b) / 64] |= 1ULL << ((at + b) % 64);
}

uint64_t mram_bitmap_take(uint64_t *dst, uint64_t *src, uint64_t nwords)
{
    uint64_t taken = 0;

    for (uint64_t i = 0; i < nwords; i++) {
        if (!__atomic_load_n(&src[i], __ATOMIC_RELAXED))
            continue;
        uint64_t w = __atomic_exchange_n(&src[i], 0, __ATOMIC_ACQ_REL);
        dst[i] |= w;
        taken += (uint64_t)__builtin_popcountll(w);
    }
    return taken;
}

uint64_t mram_bitmap_count(const uint64_t *map, uint64_t nbits)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i < nbits / 64; i++)
        n += (uint64_t)__builtin_popcountll(map[i]);
    if (nbits % 64)
        n += (uint64_t)__builtin_popcountll(map[nbits / 64] & ((1ULL << (nbits % 64)) - 1));
    return n;
}

bool mram_page_is_zero(const void *page)
{
    const uint64_t *w = page;
    uint64_t acc = 0;

    for (unsigned int i = 0; i < MRAM_PAGE / 8; i += 8) {
        acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7];
        if (acc)
            return false;
    }
    return true;
}

int mram_init(struct mram *r, const struct gmem *gm, struct kvm_vm *kvm)
{
    uint64_t words, max_slot = 0;

    memset(r, 0, sizeof(*r));
    r->gmem = gm;
    r->kvm = kvm;
    r->npages = gmem_end(gm) / MRAM_PAGE;
    words = (r->npages + 63) / 64;
    for (unsigned int i = 0; i < gm->nregions; i++)
        if (gm->regions[i].size / MRAM_PAGE > max_slot)
            max_slot = gm->regions[i].size / MRAM_PAGE;
    r->dirty = calloc(words ? words : 1, 8);
    r->scratch = calloc((max_slot + 63) / 64 + 1, 8);
    if (!r->dirty || !r->scratch) {
        mram_fini(r);
        return -ENOMEM;
    }
    return 0;
}

static int mram_slot_flags(struct mram *r, uint32_t flags)
{
    for (unsigned int i = 0; i < r->gmem->nregions; i++) {
        const struct gmem_region *g = &r->gmem->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .flags = flags,
            .guest_phys_addr = g->gpa,
            .memory_size = g->size,
            .userspace_addr = (uint64_t)(uintptr_t)g->hva,
        };

        if (ioctl(r->kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
            int ret = -errno;
            log_err("dirty logging %s on slot %u: %s", flags ? "on" : "off", i, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

void mram_fini(struct mram *r)
{
    mram_log_stop(r);
    free(r->dirty);
    free(r->scratch);
    r->dirty = r->scratch = NULL;
}

int mram_log_start(struct mram *r)
{
    int ret = mram_slot_flags(r, KVM_MEM_LOG_DIRTY_PAGES);

    if (ret == 0)
        r->logging = true;
    return ret;
}

void mram_log_stop(struct mram *r)
{
    if (r->logging && mram_slot_flags(r, 0) == 0)
        r->logging = false;
}

int mram_sync(struct mram *r)
{
    for (unsigned int i = 0; i < r->gmem->nregions; i++) {
        const struct gmem_region *g = &r->gmem->regions[i];
        struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = r->scratch};

        if (ioctl(r->kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
            int ret = -errno;
            log_err("KVM_GET_DIRTY_LOG slot %u: %s", i, strerror(-ret));
            return ret;
        }
        mram_bitmap_or(r->dirty, g->gpa / MRAM_PAGE, r->scratch, g->size / MRAM_PAGE);
    }
    return 0;
}

void mram_mark_all(struct mram *r)
{
    for (unsigned int i = 0; i < r->gmem->nregions; i++) {
        const struct gmem_region *g = &r->gmem->regions[i];
        for (uint64_t p = g->gpa / MRAM_PAGE; p < (g->gpa + g->size) / MRAM_PAGE; p++)
            r->dirty[p / 64] |= 1ULL << (p % 64);
    }
}

uint64_t mram_dirty_count(const struct mram *r)
{
    return mram_bitmap_count(r->dirty, r->npages);
}

/* The run being gathered: contiguous dirty pages, all zero or all with data. */
struct mram_run {
    uint64_t gpa;
    uint32_t npages;
    bool zero;
    uint8_t *hva;
};

static int mram_flush_run(struct mram *r, struct mstream *s, struct mram_run *cur, bool skip_zero)
{
    uint32_t n = cur->npages;

    cur->npages = 0;
    if (n == 0)
        return 0;
    if (!cur->zero) {
        r->pages_sent += n;
        return mstream_write_ram(s, cur->gpa / MRAM_PAGE, cur->hva, n);
    }
    r->zero_pages += n;
    return skip_zero ? 0 : mstream_write_zero_run(s, cur->gpa / MRAM_PAGE, n);
}

/* Adds the dirty page at gpa to the run, sending the run first when it cannot grow. */
static int mram_add_page(struct mram *r, struct mstream *s, struct mram_run *cur, uint64_t gpa,
                         bool skip_zero)
{
    uint8_t *page = gmem_ptr(r->gmem, gpa, MRAM_PAGE);
    bool zero;
    int ret;

    if (!page) /* a back-end's bit outside RAM: nothing to send */
        return mram_flush_run(r, s, cur, skip_zero);
    zero = mram_page_is_zero(page);
    if (cur->npages && zero == cur->zero && gpa == cur->gpa + (uint64_t)cur->npages * MRAM_PAGE &&
        page == cur->hva + (size_t)cur->npages * MRAM_PAGE &&
        cur->npages < (zero ? MSTREAM_RAM_ZERO_MAX : MSTREAM_RAM_RUN_MAX)) {
        cur->npages++;
        return 0;
    }
    ret = mram_flush_run(r, s, cur, skip_zero);
    *cur = (struct mram_run){.gpa = gpa, .npages = 1, .zero = zero, .hva = page};
    return ret;
}

/*
 * Pages in the memfd's holes were never written by anyone (guest or back-end) and read as
 * zero, like the destination's fresh RAM: the first round skips them without reading them.
 * (hugetlbfs reports no holes: nothing is skipped there.)
 */
static void mram_skip_holes(struct mram *r)
{
    const struct gmem *gm = r->gmem;

    for (unsigned int i = 0; gm->fd >= 0 && i < gm->nregions; i++) {
        const struct gmem_region *g = &gm->regions[i];
        off_t off = (off_t)g->fd_offset, end = (off_t)(g->fd_offset + g->size);

        while (off < end) {
            off_t data = lseek(gm->fd, off, SEEK_DATA);
            if (data < 0 || data > end)
                data = end; /* ENXIO: no data after off */
            for (off_t p = off; p < data; p += MRAM_PAGE) {
                uint64_t pfn = (g->gpa + (uint64_t)(p - (off_t)g->fd_offset)) / MRAM_PAGE;
                if (r->dirty[pfn / 64] & 1ULL << (pfn % 64)) {
                    r->dirty[pfn / 64] &= ~(1ULL << (pfn % 64));
                    r->zero_pages++;
                }
            }
            if (data >= end)
                break;
            off = lseek(gm->fd, data, SEEK_HOLE);
            if (off < 0)
                break;
        }
    }
}

int mram_send(struct mram *r, struct mstream *s, bool skip_zero, const int *cancel)
{
    struct mram_run cur = {0};
    int ret = 0;

    if (skip_zero)
        mram_skip_holes(r);
    for (uint64_t w = 0; ret == 0 && w < (r->npages + 63) / 64; w++) {
        uint64_t bits = r->dirty[w];

        r->dirty[w] = 0;
        for (; bits && ret == 0; bits &= bits - 1)
            ret = mram_add_page(r, s, &cur, (w * 64 + (uint64_t)__builtin_ctzll(bits)) * MRAM_PAGE,
                                skip_zero);
        /* Every 4096 pages: a cancel need not wait for the whole RAM. */
        if (ret == 0 && w % 64 == 63 && cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE))
            ret = -ECANCELED;
    }
    if (ret == 0)
        ret = mram_flush_run(r, s, &cur, skip_zero);
    return ret;
}

int mram_receive(const struct gmem *gm, struct mstream *s, const struct mstream_section *sec,
                 const uint8_t *payload)
{
    uint64_t gpa = (uint64_t)sec->id * MRAM_PAGE;
    uint32_t npages;
    size_t len;
    uint8_t *dst;
    int ret;

    if (mstream_ram_is_data(s, sec)) {
        len = (size_t)mstream_ram_pages(s, sec) * MRAM_PAGE;
    } else {
        ret = mstream_ram_zero_run(s, sec, payload, &npages);
        if (ret < 0)
            return ret;
        len = (size_t)npages * MRAM_PAGE;
    }
    dst = gmem_ptr(gm, gpa, len);
    if (!dst)
        return mstream_fail(s, -EPROTO, "RAM pages 0x%llx+0x%zx lie outside this guest's RAM",
                            (unsigned long long)gpa, len);
    if (mstream_ram_is_data(s, sec))
        return mstream_read_data(s, dst, len);
    memset(dst, 0, len);
    return 0;
}
