/*
 * Guest RAM for migration: KVM's dirty log on every RAM slot (KVM_MEM_LOG_DIRTY_PAGES +
 * KVM_GET_DIRTY_LOG, one bit per 4 KiB page), merged with the vhost-user back-ends' logs
 * into one bitmap indexed by guest-physical page (bit gpa/4096: the layout both KVM and
 * vhost-user use), and the RAM sections that carry pages. Slot i is gmem region i
 * (kvm_vm_create's numbering).
 *
 * Why the bitmap and not KVM's dirty ring: the ring must be enabled before the vCPUs are
 * created, for every VM, and harvested per vCPU with ring-full exits; the bitmap costs one
 * ioctl per slot per round (8 KiB of bits for 256 MiB, measured below 0.1 ms here), which is
 * nothing next to sending the pages.
 */
#ifndef MINIVMM_MIGRATE_RAM_H
#define MINIVMM_MIGRATE_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmem.h"
#include "kvm_vm.h"
#include "log.h"
#include "migrate_stream.h"

struct mram {
    const struct gmem *gmem;
    struct kvm_vm *kvm;
    uint64_t npages;   /* bits in dirty: gmem_end / 4096 */
    uint64_t *dirty;   /* pages to send */
    uint64_t *scratch; /* one slot's KVM bitmap */
    bool logging;
    /* Figures for the job's stats. */
    uint64_t pages_sent;
    uint64_t zero_pages;
    uint64_t device_dirty; /* bits the back-ends' logs contributed */
};

/* Bitmap helpers (words are little-endian bit order, as KVM and vhost-user write them). */
/* dst |= src over nbits, src starting at bit offset `at` of dst. */
void mram_bitmap_or(uint64_t *dst, uint64_t at, const uint64_t *src, uint64_t nbits);
/* dst |= src and src = 0, word by word with atomic exchanges (src is shared with a
 * back-end that sets bits concurrently: a bit set after its word was taken survives).
 * Returns how many bits were taken. */
uint64_t mram_bitmap_take(uint64_t *dst, uint64_t *src, uint64_t nwords);
uint64_t mram_bitmap_count(const uint64_t *map, uint64_t nbits);
bool mram_page_is_zero(const void *page);

MUST_CHECK int mram_init(struct mram *r, const struct gmem *gm, struct kvm_vm *kvm);
void mram_fini(struct mram *r); /* stops logging if on */

MUST_CHECK int mram_log_start(struct mram *r);
void mram_log_stop(struct mram *r);
/* Fetches (and clears) KVM's dirty bits into r->dirty. */
MUST_CHECK int mram_sync(struct mram *r);
void mram_mark_all(struct mram *r);
uint64_t mram_dirty_count(const struct mram *r);

/*
 * Sends every page marked in r->dirty and clears the marks: runs of contiguous pages, one
 * RAM section each, all-zero pages as zero runs (no data). skip_zero: leave all-zero pages
 * and the memfd's holes out entirely (the first round: the destination's RAM starts
 * zeroed). cancel is polled every 4096 pages (non-zero: stop with -ECANCELED).
 */
MUST_CHECK int mram_send(struct mram *r, struct mstream *s, bool skip_zero, const int *cancel);

/*
 * Destination: applies the RAM section mstream_read_section just returned, reading its
 * pages from s straight into guest memory. -EPROTO (reason in s) for a malformed run or one
 * outside gm's RAM. Data that does not match its CRC is judged at END (migrate_stream.h).
 */
MUST_CHECK int mram_receive(const struct gmem *gm, struct mstream *s,
                            const struct mstream_section *sec, const uint8_t *payload);

#endif
