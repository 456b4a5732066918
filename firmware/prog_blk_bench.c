/*
 * test=blk-bench: virtio-blk throughput at a fixed queue depth. Four timed
 * phases: 4 KiB random reads, 4 KiB random writes, sequential reads and
 * sequential writes of bs= bytes; figures are IOPS, MB/s and mean latency.
 * Parameters: qd= (16), ms= per phase (250), bs= (64K), span= bytes of disk
 * used (64M or the disk), mode=poll|irq (poll).
 */
#include "args.h"
#include "blk.h"
#include "clock.h"
#include "fmt.h"
#include "fw_errno.h"
#include "heap.h"
#include "io.h"
#include "lib.h"
#include "report.h"
#include "tests.h"

#define RANDOM_BS 4096

struct phase {
    const char *name;
    uint32_t type;
    bool random;
    uint32_t bs;
};

static struct blk blk;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Runs one phase for ms milliseconds at depth qd; returns completed requests or -errno. */
static int64_t run_phase(const struct phase *p, uint8_t *bufs, unsigned int qd, uint64_t ms,
                         uint64_t span_sectors, uint64_t *lat_ns)
{
    uint64_t per_io = p->bs / BLK_SECTOR, seq = 0, done = 0;
    uint64_t start = clock_ns(), deadline = start + ms * 1000000;
    bool stopping = false;

    *lat_ns = 0;
    while (!stopping || blk.inflight > 0) {
        while (!stopping && blk.inflight < qd) {
            uint64_t sector;
            if (p->random) {
                sector = next_random() % (span_sectors / per_io) * per_io;
            } else {
                sector = seq;
                seq = seq + per_io + per_io > span_sectors ? 0 : seq + per_io;
            }
            struct blk_req *r;
            int slot = blk_next_slot(&blk); /* each slot has its own buffer */
            int err = slot < 0 ? slot
                               : blk_queue(&blk, p->type, sector, bufs + (uint64_t)slot * p->bs,
                                           p->bs, &r);
            if (err)
                return err;
            r->submitted_ns = clock_ns();
        }
        blk_kick(&blk);
        struct blk_req *r;
        int err = blk_complete(&blk, &r, 0);
        if (err)
            return err;
        if (r->status != VIRTIO_BLK_S_OK) {
            report_fail("%s: sector %lu status %u", p->name, r->hdr.sector, r->status);
            return -EIO;
        }
        *lat_ns += clock_ns() - r->submitted_ns;
        blk_release(&blk, r);
        done++;
        if (clock_ns() >= deadline)
            stopping = true;
    }
    if (done)
        *lat_ns /= done;
    return (int64_t)done;
}

void prog_blk_bench(const struct machine *m)
{
    const char *args = m->cmdline;
    unsigned int qd = (unsigned int)args_get_u64(args, "qd", 16);
    uint64_t ms = args_get_u64(args, "ms", 250);
    uint32_t bs = (uint32_t)args_get_u64(args, "bs", 64 * 1024);
    uint64_t span = args_get_u64(args, "span", 64ULL << 20) / BLK_SECTOR;
    char mode[8] = "poll";
    uint8_t *bufs;
    int err;

    args_get(args, "mode", mode, sizeof(mode));
    if (qd == 0 || qd > BLK_MAX_INFLIGHT || bs < RANDOM_BS || bs % RANDOM_BS || bs > (1 << 20)) {
        report_fail("bad parameters: qd 1..%u, bs a multiple of 4K up to 1M", BLK_MAX_INFLIGHT);
        return;
    }
    if (!clock_available()) {
        report_fail("no kvmclock: cannot time the phases");
        return;
    }
    err = blk_init(&blk, m, 256);
    if (err) {
        report_fail("no usable virtio-blk device: %d", err);
        return;
    }
    blk.poll = strcmp(mode, "irq") != 0;
    if (span > blk.capacity)
        span = blk.capacity;
    bufs = heap_alloc((uint64_t)qd * bs, 4096);
    if (!bufs || span < 2 * bs / BLK_SECTOR) {
        report_fail("not enough RAM for %u x %u bytes, or a disk under %u bytes", qd, bs, 2 * bs);
        return;
    }
    const struct phase phases[] = {
        {"randread", VIRTIO_BLK_T_IN, true, RANDOM_BS},
        {"randwrite", VIRTIO_BLK_T_OUT, true, RANDOM_BS},
        {"seqread", VIRTIO_BLK_T_IN, false, bs},
        {"seqwrite", VIRTIO_BLK_T_OUT, false, bs},
    };
    report_figure("qd", "%u", qd);
    report_figure("mode", "%s", blk.poll ? "poll" : "irq");
    for (unsigned int i = 0; i < ARRAY_SIZE(phases); i++) {
        const struct phase *p = &phases[i];
        uint64_t t0 = clock_ns(), lat;
        int64_t n = run_phase(p, bufs, qd, ms, span, &lat);
        uint64_t ns = clock_ns() - t0;
        if (n < 0) {
            report_fail("%s: I/O failed: %ld", p->name, n);
            return;
        }
        char key[32];
        fmt_format(key, sizeof(key), "%s_iops", p->name);
        report_figure(key, "%lu", (uint64_t)n * 1000000000 / ns);
        fmt_format(key, sizeof(key), "%s_MBps", p->name);
        report_figure(key, "%lu", (uint64_t)n * p->bs * 1000 / ns);
        fmt_format(key, sizeof(key), "%s_lat_us", p->name);
        report_figure(key, "%lu", lat / 1000);
    }
    report_pass("4 phases of %lu ms at queue depth %u", ms, qd);
}
