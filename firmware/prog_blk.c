/*
 * test=blk: writes a known pattern over part of a virtio-blk disk, flushes,
 * reads it back and compares; the host test then checks the image file.
 * Parameters: start= (sector, 0), sectors= (256), chunk= (sectors per
 * request, 8), qd= (requests in flight, 4), seed= (0x5eed).
 * Writes complete by interrupt, reads by polling: both paths are exercised.
 */
#include "blk.h"
#include "args.h"
#include "clock.h"
#include "fw_errno.h"
#include "heap.h"
#include "lib.h"
#include "pattern.h"
#include "report.h"
#include "tests.h"

#define BLK_TIMEOUT_TSC (30ULL * 1000 * 1000 * 1000) /* ~10 s at 3 GHz: a stuck device */

static struct blk blk;

/* Moves [start, start+sectors) between the disk and buf in chunks, qd at a time. */
static int transfer(uint32_t type, uint8_t *buf, uint64_t start, uint64_t sectors, uint32_t chunk,
                    unsigned int qd, unsigned int *requests)
{
    uint64_t next = 0, done = 0;

    while (done < sectors) {
        while (next < sectors && blk.inflight < qd) {
            uint64_t n = sectors - next < chunk ? sectors - next : chunk;
            int err = blk_queue(&blk, type, start + next, buf + next * BLK_SECTOR,
                                (uint32_t)(n * BLK_SECTOR), NULL);
            if (err)
                return err;
            next += n;
            (*requests)++;
        }
        blk_kick(&blk);
        struct blk_req *r;
        int err = blk_complete(&blk, &r, BLK_TIMEOUT_TSC);
        if (err)
            return err;
        if (r->status != VIRTIO_BLK_S_OK) {
            report_fail("%s of sector %lu: status %u", type == VIRTIO_BLK_T_IN ? "read" : "write",
                        r->hdr.sector, r->status);
            return -EIO;
        }
        done += r->len / BLK_SECTOR;
        blk_release(&blk, r);
    }
    return 0;
}

void prog_blk(const struct machine *m)
{
    const char *args = m->cmdline;
    uint64_t start = args_get_u64(args, "start", 0);
    uint64_t sectors = args_get_u64(args, "sectors", 256);
    uint64_t chunk = args_get_u64(args, "chunk", 8);
    uint64_t qd = args_get_u64(args, "qd", 4);
    uint64_t seed = args_get_u64(args, "seed", 0x5eed);
    unsigned int writes = 0, reads = 0;
    uint8_t *wbuf, *rbuf;
    uint64_t t0, t1, t2, bad;
    int err;

    if (chunk == 0 || chunk > 256 || qd == 0 || qd > BLK_MAX_INFLIGHT || sectors == 0) {
        report_fail("bad parameters: chunk 1..256, qd 1..%u, sectors > 0", BLK_MAX_INFLIGHT);
        return;
    }
    err = blk_init(&blk, m, 128);
    if (err) {
        report_fail("no usable virtio-blk device: %d", err);
        return;
    }
    report_figure("capacity_sectors", "%lu", blk.capacity);
    if (start + sectors > blk.capacity) {
        report_fail("disk has %lu sectors, test needs %lu", blk.capacity, start + sectors);
        return;
    }
    wbuf = heap_alloc(sectors * BLK_SECTOR, 4096);
    rbuf = heap_alloc(sectors * BLK_SECTOR, 4096);
    if (!wbuf || !rbuf) {
        report_fail("not enough RAM for %lu sectors", sectors);
        return;
    }
    pattern_fill(wbuf, seed, start, sectors);

    t0 = clock_ns();
    blk.poll = false;
    err = transfer(VIRTIO_BLK_T_OUT, wbuf, start, sectors, (uint32_t)chunk, (unsigned int)qd,
                   &writes);
    if (err == 0 && blk_has_flush(&blk))
        err = blk_sync(&blk, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
    t1 = clock_ns();
    blk.poll = true;
    if (err == 0)
        err = transfer(VIRTIO_BLK_T_IN, rbuf, start, sectors, (uint32_t)chunk, (unsigned int)qd,
                       &reads);
    t2 = clock_ns();
    if (err) {
        report_fail("I/O failed: %d after %u writes, %u reads", err, writes, reads);
        return;
    }
    report_figure("write_requests", "%u", writes);
    report_figure("read_requests", "%u", reads);
    if (clock_available()) {
        report_figure("write_flush_us", "%lu", (t1 - t0) / 1000);
        report_figure("read_us", "%lu", (t2 - t1) / 1000);
    }
    bad = pattern_check(rbuf, seed, start, sectors);
    if (bad != sectors) {
        report_fail("sector %lu read back differs from what was written", start + bad);
        return;
    }
    report_pass("wrote%s and read back %lu sectors from %lu (seed 0x%lx)",
                blk_has_flush(&blk) ? ", flushed" : "", sectors, start, seed);
}
