/*
 * test=pingpong: kick -> call round-trip latency on queue 0 of one device,
 * one request in flight at a time; figures are min/median/p99 in ns.
 * The request is cheap for the back-end: VIRTIO_BLK_T_GET_ID on a block
 * device, otherwise one 8-byte device-readable buffer (a sequence number)
 * and one 8-byte device-writable buffer, into which an echo back-end
 * (tools/backend) copies the number back (checked). Parameters: iters=
 * (2000), mode=poll|irq (irq), dev= (virtio device ID; default: the first
 * modern device), warmup= (50).
 */
#include "args.h"
#include "blk.h"
#include "clock.h"
#include "fw_errno.h"
#include "heap.h"
#include "io.h"
#include "lib.h"
#include "report.h"
#include "tests.h"

#define VIRTIO_BLK_T_GET_ID 8
#define PINGPONG_MAX_ITERS  1000000

struct pingpong_req {
    struct blk_req_hdr hdr; /* block devices */
    uint64_t seq;           /* others: device-readable */
    uint8_t id[20];         /* block devices: the ID string; others: 8 bytes written */
    uint8_t status;
};

static bool find_device(const struct machine *m, uint64_t want, struct vmmio *d)
{
    for (unsigned int i = 0; i < m->nvirtio; i++) {
        struct vmmio c = {.base = m->virtio[i].base, .gsi = m->virtio[i].gsi};
        if (vmmio_read(&c, VMMIO_MAGIC) != VMMIO_MAGIC_VALUE || vmmio_read(&c, VMMIO_VERSION) != 2)
            continue;
        c.device_id = vmmio_read(&c, VMMIO_DEVICE_ID);
        if (c.device_id != 0 && (want == 0 || c.device_id == want)) {
            *d = c;
            return true;
        }
    }
    return false;
}

/* Shell sort: the sample is sorted once, at the end. */
static void sort(uint64_t *v, uint64_t n)
{
    for (uint64_t gap = n / 2; gap > 0; gap /= 2) {
        for (uint64_t i = gap; i < n; i++) {
            uint64_t x = v[i], j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

static int round_trip(struct vmmio *d, struct virtq *q, struct pingpong_req *r, bool poll,
                      uint64_t seq)
{
    struct virtq_buf bufs[3];
    unsigned int n = 0;
    void *cookie;
    uint32_t len;
    int err;

    if (d->device_id == VIRTIO_ID_BLOCK) {
        r->hdr = (struct blk_req_hdr){.type = VIRTIO_BLK_T_GET_ID};
        r->status = 0xff;
        bufs[n++] = (struct virtq_buf){&r->hdr, sizeof(r->hdr), false};
        bufs[n++] = (struct virtq_buf){r->id, sizeof(r->id), true};
        bufs[n++] = (struct virtq_buf){&r->status, 1, true};
    } else {
        r->seq = seq;
        bufs[n++] = (struct virtq_buf){&r->seq, sizeof(r->seq), false};
        bufs[n++] = (struct virtq_buf){r->id, 8, true};
    }
    err = virtq_add(q, bufs, n, r);
    if (err)
        return err;
    vmmio_kick(d, 0, q);
    do {
        err = vmmio_wait(d, q, poll, 0);
        if (err)
            return err;
        err = virtq_get(q, &cookie, &len);
    } while (err == 0);
    if (err < 0 || cookie != r)
        return -EIO;
    if (d->device_id == VIRTIO_ID_BLOCK && r->status != VIRTIO_BLK_S_OK)
        return -EIO;
    /* The echo back-end (tools/backend) returns the sequence number it was sent. */
    if (d->device_id != VIRTIO_ID_BLOCK &&
        (len != sizeof(r->seq) || memcmp(r->id, &r->seq, sizeof(r->seq)) != 0))
        return -EPROTO;
    return 0;
}

void prog_pingpong(const struct machine *m)
{
    uint64_t iters = args_get_u64(m->cmdline, "iters", 2000);
    uint64_t warmup = args_get_u64(m->cmdline, "warmup", 50);
    char mode[8] = "irq";
    struct vmmio d;
    struct virtq *q = heap_alloc(sizeof(*q), 64);
    size_t ring_size = virtq_mem_size(8);
    void *ring = heap_alloc(ring_size, 4096);
    struct pingpong_req *r = heap_alloc(sizeof(*r), 64);
    uint64_t *ns = heap_alloc(iters * sizeof(uint64_t), 64);
    bool poll;
    int err;

    args_get(m->cmdline, "mode", mode, sizeof(mode));
    poll = strcmp(mode, "poll") == 0;
    if (iters == 0 || iters > PINGPONG_MAX_ITERS || !q || !ring || !r || !ns) {
        report_fail("iters must be 1..%u and fit in RAM", PINGPONG_MAX_ITERS);
        return;
    }
    if (!clock_available()) {
        report_fail("no kvmclock: cannot time round trips");
        return;
    }
    if (!find_device(m, args_get_u64(m->cmdline, "dev", 0), &d)) {
        report_fail("no modern virtio-mmio device");
        return;
    }
    err = vmmio_negotiate(&d, 0);
    if (err == 0)
        err = virtq_init(q, 8, ring, ring_size);
    if (err == 0)
        err = vmmio_queue_setup(&d, 0, q);
    if (err) {
        report_fail("device %u at 0x%lx: set-up failed: %d", d.device_id, d.base, err);
        return;
    }
    vmmio_driver_ok(&d);
    virtq_set_interrupts(q, !poll);
    for (uint64_t i = 0; i < warmup + iters; i++) {
        uint64_t t0 = clock_ns();
        err = round_trip(&d, q, r, poll, i);
        if (err) {
            report_fail("round trip %lu failed: %d", i, err);
            return;
        }
        if (i >= warmup)
            ns[i - warmup] = clock_ns() - t0;
    }
    sort(ns, iters);
    report_figure("device_id", "%u", d.device_id);
    report_figure("mode", "%s", poll ? "poll" : "irq");
    report_figure("iters", "%lu", iters);
    report_figure("rtt_min_ns", "%lu", ns[0]);
    report_figure("rtt_median_ns", "%lu", ns[iters / 2]);
    report_figure("rtt_p99_ns", "%lu", ns[iters * 99 / 100]);
    report_pass("%lu round trips, median %lu ns", iters, ns[iters / 2]);
}
