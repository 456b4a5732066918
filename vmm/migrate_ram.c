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

struct mram_batch {
    uint32_t count;
    uint32_t reserved;
    uint64_t entry[MSTREAM_RAM_BATCH];
    struct iovec iov[MSTREAM_RAM_BATCH + 1];
    unsigned int niov;
};

static int mram_flush_batch(struct mstream *s, struct mram_batch *b)
{
    if (b->count == 0)
        return 0;
    b->iov[0] = (struct iovec){.iov_base = b, .iov_len = 8 + (size_t)b->count * 8};
    int ret = mstream_write_section(s, MSTREAM_RAM, 0, b->iov, b->niov);
    b->count = 0;
    b->niov = 1;
    return ret;
}

_Static_assert(offsetof(struct mram_batch, entry) == 8, "RAM batch header is count, reserved");

int mram_send(struct mram *r, struct mstream *s, bool skip_zero, const int *cancel)
{
    struct mram_batch *b = calloc(1, sizeof(*b));
    int ret = 0;

    if (!b)
        return -ENOMEM;
    b->niov = 1;
    for (uint64_t w = 0; ret == 0 && w < (r->npages + 63) / 64; w++) {
        uint64_t bits = r->dirty[w];

        r->dirty[w] = 0;
        while (bits && ret == 0) {
            uint64_t gpa = (w * 64 + (uint64_t)__builtin_ctzll(bits)) * MRAM_PAGE;
            uint8_t *page = gmem_ptr(r->gmem, gpa, MRAM_PAGE);

            bits &= bits - 1;
            if (!page) /* a back-end's bit outside RAM: nothing to send */
                continue;
            if (mram_page_is_zero(page)) {
                r->zero_pages++;
                if (skip_zero)
                    continue;
                b->entry[b->count++] = gpa | MSTREAM_PAGE_ZERO;
            } else {
                r->pages_sent++;
                b->entry[b->count++] = gpa;
                b->iov[b->niov++] = (struct iovec){.iov_base = page, .iov_len = MRAM_PAGE};
            }
            if (b->count == MSTREAM_RAM_BATCH) {
                ret = mram_flush_batch(s, b);
                if (ret == 0 && cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE))
                    ret = -ECANCELED;
            }
        }
    }
    if (ret == 0)
        ret = mram_flush_batch(s, b);
    free(b);
    return ret;
}

int mram_receive(const struct gmem *gm, const uint8_t *payload, size_t len)
{
    struct mstream_ram_page pages[MSTREAM_RAM_BATCH];
    unsigned int n;

    if (mstream_ram_parse(payload, len, pages, &n) < 0)
        return -EPROTO;
    for (unsigned int i = 0; i < n; i++) {
        uint8_t *dst = gmem_ptr(gm, pages[i].gpa, MRAM_PAGE);
        if (!dst)
            return -EPROTO;
        if (pages[i].data)
            memcpy(dst, pages[i].data, MRAM_PAGE);
        else
            memset(dst, 0, MRAM_PAGE);
    }
    return 0;
}
