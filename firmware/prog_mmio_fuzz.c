/*
 * test=mmio-fuzz: adversarial and random register accesses to every
 * virtio-mmio device: wrong access widths, illegal status transitions,
 * features without VERSION_1, bad queue sizes and indices, rings outside RAM
 * or misaligned, then random writes. The VMM must refuse each bad value and
 * keep running; at the end every device must still negotiate and (a block
 * device) do I/O. Parameters: rounds= (random writes per device, 2000),
 * seed= (default: from the TSC, reported for reproduction).
 * Random writes never set DRIVER_OK, so no back-end is handed a random ring.
 */
#include "args.h"
#include "blk.h"
#include "heap.h"
#include "fw_errno.h"
#include "io.h"
#include "layout.h"
#include "lib.h"
#include "report.h"
#include "tests.h"
#include "vmmio.h"

static uint64_t rng;
static unsigned int refusals_missing;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool alive(const struct vmmio *d)
{
    return vmmio_read(d, VMMIO_MAGIC) == VMMIO_MAGIC_VALUE;
}

/* A check the device must pass: reports the failure, counts it, keeps going. */
static void expect(bool ok, const struct vmmio *d, const char *what)
{
    if (!ok) {
        refusals_missing++;
        report_fail("device at 0x%lx accepted %s", d->base, what);
    }
}

static void status_set(const struct vmmio *d, uint32_t status)
{
    vmmio_write(d, VMMIO_STATUS, status);
}

static void bad_widths(const struct vmmio *d)
{
    status_set(d, 0);
    mmio_write8(d->base + VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_write16(d->base + VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_write64(d->base + VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_write32(d->base + VMMIO_STATUS + 1, VIRTIO_STATUS_ACKNOWLEDGE); /* misaligned */
    expect(vmmio_read(d, VMMIO_STATUS) == 0, d, "a 1, 2, 8-byte or misaligned Status write");
    (void)mmio_read8(d->base + VMMIO_MAGIC);
    (void)mmio_read16(d->base + VMMIO_VERSION);
    (void)mmio_read64(d->base + VMMIO_DEVICE_ID);
    (void)mmio_read32(d->base + VMMIO_MAGIC + 2);
}

/* Runs the handshake up to FEATURES_OK with exactly the features the device must accept. */
static bool to_features_ok(struct vmmio *d)
{
    return vmmio_negotiate(d, 0) == 0;
}

static void bad_status(struct vmmio *d)
{
    status_set(d, 0);
    status_set(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
    expect(!(vmmio_read(d, VMMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK), d,
           "DRIVER_OK before FEATURES_OK");
    status_set(d, 0);
    status_set(d, VIRTIO_STATUS_DRIVER);
    expect(!(vmmio_read(d, VMMIO_STATUS) & VIRTIO_STATUS_DRIVER), d, "DRIVER before ACKNOWLEDGE");

    status_set(d, 0);
    status_set(d, VIRTIO_STATUS_ACKNOWLEDGE);
    status_set(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    for (uint32_t sel = 0; sel < 2; sel++) {
        vmmio_write(d, VMMIO_DRIVER_FEAT_SEL, sel);
        vmmio_write(d, VMMIO_DRIVER_FEATURES, 0);
    }
    status_set(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    expect(!(vmmio_read(d, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK), d,
           "FEATURES_OK without VERSION_1");
    vmmio_write(d, VMMIO_DRIVER_FEAT_SEL, 7); /* no such word */
    vmmio_write(d, VMMIO_DRIVER_FEATURES, ~0U);
    status_set(d, 0);
}

/*
 * From a fresh reset, offers queue 0 the given size and rings; true when the
 * device refused QueueReady (or flagged NEEDS_RESET). A reset per attempt, as
 * clearing QueueReady is not something every device must accept.
 */
static bool queue_refused(struct vmmio *d, uint32_t num, uint64_t desc, uint64_t avail,
                          uint64_t used)
{
    bool refused;

    if (!to_features_ok(d))
        return false;
    vmmio_write(d, VMMIO_QUEUE_SEL, 0);
    vmmio_write(d, VMMIO_QUEUE_NUM, num);
    vmmio_write(d, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    vmmio_write(d, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    vmmio_write(d, VMMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
    vmmio_write(d, VMMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
    vmmio_write(d, VMMIO_QUEUE_USED_LOW, (uint32_t)used);
    vmmio_write(d, VMMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
    vmmio_write(d, VMMIO_QUEUE_READY, 1);
    refused = vmmio_read(d, VMMIO_QUEUE_READY) == 0 ||
              (vmmio_read(d, VMMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    status_set(d, 0);
    return refused;
}

static void bad_queues(struct vmmio *d, const struct machine *m, uint64_t ring)
{
    uint64_t ram_end = 0;
    uint32_t max;

    for (unsigned int i = 0; i < m->nmem; i++) {
        if (m->mem[i].base + m->mem[i].size > ram_end)
            ram_end = m->mem[i].base + m->mem[i].size;
    }
    if (!to_features_ok(d)) {
        report_fail("device at 0x%lx: no VERSION_1 handshake", d->base);
        return;
    }
    vmmio_write(d, VMMIO_QUEUE_SEL, 0);
    max = vmmio_read(d, VMMIO_QUEUE_NUM_MAX);
    if (max < 8) {
        report_fail("device at 0x%lx: queue 0 max size %u", d->base, max);
        return;
    }
    status_set(d, 0);
    uint64_t avail = ring + 0x1000, used = ring + 0x2000;
    expect(!queue_refused(d, 8, ring, avail, used), d, "nothing: it refused a valid queue");
    expect(queue_refused(d, 0, ring, avail, used), d, "queue size 0");
    expect(queue_refused(d, 3, ring, avail, used), d, "queue size 3 (not a power of 2)");
    if (max < 0x8000)
        expect(queue_refused(d, max * 2, ring, avail, used), d, "queue size above QueueNumMax");
    expect(queue_refused(d, 8, ram_end, avail, used), d, "a descriptor table outside RAM");
    expect(queue_refused(d, 8, ring, LAYOUT_VIRTIO_MMIO_BASE, used), d,
           "an available ring in the MMIO hole");
    expect(queue_refused(d, 8, ring, avail, 0xfffffffffffff000ULL), d, "a used ring at 2^64-4K");
    expect(queue_refused(d, 8, ring + 1, avail, used), d, "a misaligned descriptor table");
    expect(queue_refused(d, 8, ring, avail, used + 2), d, "a misaligned used ring");
    if (!to_features_ok(d))
        return;
    vmmio_write(d, VMMIO_QUEUE_SEL, 0xffff);
    expect(vmmio_read(d, VMMIO_QUEUE_NUM_MAX) == 0, d, "QueueSel 0xffff (QueueNumMax not 0)");
    vmmio_write(d, VMMIO_QUEUE_NOTIFY, 0xffff);
    vmmio_write(d, VMMIO_QUEUE_NOTIFY, 0);
    status_set(d, 0);
}

/* Random offsets, widths and values; DRIVER_OK is masked out of Status writes. */
static void random_writes(const struct vmmio *d, unsigned int rounds)
{
    static const uint64_t widths[] = {1, 2, 4, 4, 4, 8};

    for (unsigned int i = 0; i < rounds; i++) {
        uint64_t r = next_random(), v = next_random();
        uint32_t off = (uint32_t)(r & 0x1ff);
        uint64_t w = widths[(r >> 12) % ARRAY_SIZE(widths)];
        if (!(r & 0x3000000))
            off &= ~3U; /* mostly aligned: those reach deeper into the register file */
        if (off == VMMIO_STATUS)
            v &= ~(uint64_t)VIRTIO_STATUS_DRIVER_OK;
        if (off + w > 0x200)
            continue;
        if (w == 1)
            mmio_write8(d->base + off, (uint8_t)v);
        else if (w == 2)
            mmio_write16(d->base + off, (uint16_t)v);
        else if (w == 4)
            mmio_write32(d->base + off, (uint32_t)v);
        else
            mmio_write64(d->base + off, v);
        if ((i & 63) == 0 && !alive(d)) {
            report_fail("device at 0x%lx stopped answering after %u random writes", d->base, i);
            return;
        }
    }
    status_set(d, 0);
}

/* After all that, a block device must still work end to end. */
static void recovery(const struct machine *m, uint8_t *sector)
{
    struct blk b;
    int err = blk_init(&b, m, 8);

    if (err == -ENODEV)
        return;
    memset(sector, 0x5a, BLK_SECTOR);
    if (err == 0)
        err = blk_sync(&b, VIRTIO_BLK_T_OUT, 0, sector, BLK_SECTOR);
    memset(sector, 0, BLK_SECTOR);
    if (err == 0)
        err = blk_sync(&b, VIRTIO_BLK_T_IN, 0, sector, BLK_SECTOR);
    if (err || sector[0] != 0x5a || sector[BLK_SECTOR - 1] != 0x5a)
        report_fail("block device unusable after the fuzzing: %d", err);
    else
        report_log("block device still does I/O");
}

void prog_mmio_fuzz(const struct machine *m)
{
    unsigned int rounds = (unsigned int)args_get_u64(m->cmdline, "rounds", 2000);
    uint8_t *ring = heap_alloc(0x3000, 4096), *sector = heap_alloc(BLK_SECTOR, 512);
    unsigned int ndev = 0;

    rng = args_get_u64(m->cmdline, "seed", io_rdtsc() | 1);
    report_figure("seed", "0x%lx", rng);
    if (!ring || !sector) {
        report_fail("out of memory");
        return;
    }
    for (unsigned int i = 0; i < m->nvirtio; i++) {
        struct vmmio d = {.base = m->virtio[i].base, .gsi = m->virtio[i].gsi};
        if (!alive(&d) || vmmio_read(&d, VMMIO_VERSION) != 2)
            continue;
        d.device_id = vmmio_read(&d, VMMIO_DEVICE_ID);
        ndev++;
        bad_widths(&d);
        bad_status(&d);
        bad_queues(&d, m, (uintptr_t)ring);
        random_writes(&d, rounds);
        if (!alive(&d))
            report_fail("device at 0x%lx stopped answering", d.base);
    }
    report_figure("devices", "%u", ndev);
    report_figure("refusals_missing", "%u", refusals_missing);
    if (ndev == 0) {
        report_fail("no modern virtio-mmio device to fuzz");
        return;
    }
    recovery(m, sector);
    report_pass("%u device(s) survived %u random writes each", ndev, rounds);
}
