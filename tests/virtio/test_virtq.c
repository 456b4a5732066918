/*
 * Tests for devices/virtio/virtq.c: a split virtqueue built by a fake driver in
 * real (memfd) guest RAM, walked and completed by the device-side accessors,
 * including the hostile cases: loops, bad indices, buffers outside RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gmem.h"
#include "layout.h"
#include "virtio_spec.h"
#include "virtq.h"
#include "virtq_driver.h"

#define RAM_SIZE  (16ULL << 20)
#define RING_BASE 0x10000ULL
#define DATA_BASE 0x100000ULL
#define QSIZE     8

static struct gmem gm;
static struct virtq_driver drv;
static struct virtq vq;

static void setup(void)
{
    cr_assert_eq(gmem_create(&gm, RAM_SIZE, false), 0);
    virtq_driver_init(&drv, &gm, QSIZE, RING_BASE, false);
}

static void teardown(void)
{
    gmem_destroy(&gm);
}

static void bind(uint64_t features)
{
    struct virtio_queue_config cfg = virtq_driver_config(&drv);

    cr_assert_eq(virtq_init(&vq, &gm, &cfg, features), 0);
}

TestSuite(virtq, .init = setup, .fini = teardown);

Test(virtq, empty_ring_has_nothing)
{
    uint16_t head;

    bind(0);
    cr_assert_eq(virtq_pop(&vq, &head), -EAGAIN);
}

Test(virtq, chain_walked_and_completed)
{
    struct virtq_seg segs[] = {
        {DATA_BASE, 16, false},
        {DATA_BASE + 0x1000, 512, false},
        {DATA_BASE + 0x2000, 1, true},
    };
    struct virtq_buf bufs[4];
    unsigned int n;
    uint16_t head, expect;

    bind(0);
    memcpy(gmem_ptr(&gm, DATA_BASE, 5), "hello", 5);
    expect = virtq_driver_add_chain(&drv, segs, 3);
    virtq_driver_make_avail(&drv, expect);
    cr_assert_eq(virtq_pop(&vq, &head), 0);
    cr_assert_eq(head, expect);
    cr_assert_eq(virtq_walk(&vq, head, bufs, 4, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(bufs[0].gpa, DATA_BASE);
    cr_assert_eq(bufs[0].len, 16);
    cr_assert_not(bufs[0].device_writable);
    cr_assert_eq(memcmp(bufs[0].hva, "hello", 5), 0);
    cr_assert_eq(bufs[1].len, 512);
    cr_assert(bufs[2].device_writable);
    *(uint8_t *)bufs[2].hva = 0x5a;
    virtq_push(&vq, head, 1);
    cr_assert_eq(virtq_driver_used_idx(&drv), 1);
    cr_assert_eq(virtq_driver_used_elem(&drv, 0).id, head);
    cr_assert_eq(virtq_driver_used_elem(&drv, 0).len, 1);
    cr_assert_eq(*(uint8_t *)gmem_ptr(&gm, DATA_BASE + 0x2000, 1), 0x5a);
    cr_assert_eq(virtq_pop(&vq, &head), -EAGAIN);
}

Test(virtq, ring_wraps_around)
{
    struct virtq_seg seg = {DATA_BASE, 64, true};
    struct virtq_buf buf;
    unsigned int n;
    uint16_t head;

    bind(0);
    for (unsigned int round = 0; round < 3 * QSIZE; round++) {
        virtq_driver_make_avail(&drv, virtq_driver_add_chain(&drv, &seg, 1));
        cr_assert_eq(virtq_pop(&vq, &head), 0);
        cr_assert_eq(virtq_walk(&vq, head, &buf, 1, &n), 0);
        virtq_push(&vq, head, 64);
    }
    cr_assert_eq(virtq_driver_used_idx(&drv), 3 * QSIZE);
}

Test(virtq, looping_chain_rejected)
{
    struct virtq_buf bufs[64];
    unsigned int n;

    bind(0);
    /* 0 -> 1 -> 2 -> 0: never ends. */
    virtq_driver_set_desc(&drv, 0, DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 1);
    virtq_driver_set_desc(&drv, 1, DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 2);
    virtq_driver_set_desc(&drv, 2, DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 64, &n), -EPROTO);
    /* A descriptor pointing at itself. */
    virtq_driver_set_desc(&drv, 5, DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 5);
    cr_assert_eq(virtq_walk(&vq, 5, bufs, 64, &n), -EPROTO);
    cr_assert_eq(n, 0);
}

Test(virtq, chain_of_exactly_queue_size_accepted)
{
    struct virtq_buf bufs[QSIZE];
    unsigned int n;

    bind(0);
    for (uint16_t i = 0; i < QSIZE; i++)
        virtq_driver_set_desc(&drv, i, DATA_BASE, 8, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, i + 1);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, QSIZE, &n), 0);
    cr_assert_eq(n, QSIZE);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, QSIZE - 1, &n), -ENOBUFS);
}

Test(virtq, out_of_ram_descriptor_rejected)
{
    struct virtq_buf buf;
    unsigned int n;

    bind(0);
    virtq_driver_set_desc(&drv, 0, RAM_SIZE - 8, 16, 0, 0); /* straddles the end of RAM */
    cr_assert_eq(virtq_walk(&vq, 0, &buf, 1, &n), -EFAULT);
    virtq_driver_set_desc(&drv, 0, LAYOUT_MMIO_HOLE_START, 4, 0, 0);
    cr_assert_eq(virtq_walk(&vq, 0, &buf, 1, &n), -EFAULT);
    virtq_driver_set_desc(&drv, 0, UINT64_MAX - 4, 16, 0, 0); /* wraps the address space */
    cr_assert_eq(virtq_walk(&vq, 0, &buf, 1, &n), -EFAULT);
}

Test(virtq, bad_indices_rejected)
{
    struct virtq_buf buf;
    unsigned int n;
    uint16_t head;

    bind(0);
    cr_assert_eq(virtq_walk(&vq, QSIZE, &buf, 1, &n), -EPROTO);
    virtq_driver_set_desc(&drv, 0, DATA_BASE, 8, VIRTQ_DESC_F_NEXT, QSIZE);
    cr_assert_eq(virtq_walk(&vq, 0, &buf, 2, &n), -EPROTO);
    /* A head out of range in the avail ring. */
    virtq_driver_make_avail(&drv, QSIZE + 3);
    cr_assert_eq(virtq_pop(&vq, &head), -EPROTO);
}

Test(virtq, avail_idx_running_ahead_rejected)
{
    uint16_t head;

    bind(0);
    virtq_driver_set_avail_idx(&drv, QSIZE + 1);
    cr_assert_eq(virtq_pop(&vq, &head), -EPROTO);
}

Test(virtq, readable_after_writable_rejected)
{
    struct virtq_seg segs[] = {{DATA_BASE, 8, true}, {DATA_BASE + 8, 8, false}};
    struct virtq_buf bufs[2];
    unsigned int n;
    uint16_t head = virtq_driver_add_chain(&drv, segs, 2);

    bind(0);
    cr_assert_eq(virtq_walk(&vq, head, bufs, 2, &n), -EPROTO);
}

Test(virtq, total_length_bounded)
{
    struct virtq_driver bdrv;
    struct virtq_buf bufs[2];
    struct virtio_queue_config cfg;
    struct virtq bvq;
    struct gmem big;
    unsigned int n;

    /* 5 GiB of sparse RAM: 3 GiB below the MMIO hole, 2 GiB above 4 GiB. */
    cr_assert_eq(gmem_create(&big, 5ULL << 30, false), 0);
    virtq_driver_init(&bdrv, &big, QSIZE, RING_BASE, false);
    cfg = virtq_driver_config(&bdrv);
    cr_assert_eq(virtq_init(&bvq, &big, &cfg, 0), 0);
    /* Both buffers are in RAM, but together they exceed what a used length can say. */
    virtq_driver_set_desc(&bdrv, 0, 0, 0xC0000000u, VIRTQ_DESC_F_NEXT, 1);
    virtq_driver_set_desc(&bdrv, 1, LAYOUT_HIGH_RAM_START, 0x80000000u, 0, 0);
    cr_assert_eq(virtq_walk(&bvq, 0, bufs, 2, &n), -EPROTO);
    virtq_driver_set_desc(&bdrv, 0, 0, 0x40000000u, VIRTQ_DESC_F_NEXT, 1);
    cr_assert_eq(virtq_walk(&bvq, 0, bufs, 2, &n), 0);
    cr_assert_eq(n, 2);
    gmem_destroy(&big);
}

Test(virtq, indirect_table_walked)
{
    struct virtq_buf bufs[4];
    struct virtq_desc table[3] = {
        {DATA_BASE, 32, VIRTQ_DESC_F_NEXT, 1},
        {DATA_BASE + 32, 32, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2},
        {DATA_BASE + 64, 32, VIRTQ_DESC_F_WRITE, 0},
    };
    const uint64_t table_gpa = DATA_BASE + 0x8000;
    unsigned int n;

    cr_assert_eq(gmem_write(&gm, table_gpa, table, sizeof(table)), 0);
    virtq_driver_set_desc(&drv, 0, table_gpa, sizeof(table), VIRTQ_DESC_F_INDIRECT, 0);
    bind(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 4, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(bufs[2].gpa, DATA_BASE + 64);
    cr_assert(bufs[2].device_writable);
    /* Not negotiated: refused. */
    bind(0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 4, &n), -EPROTO);
}

Test(virtq, hostile_indirect_tables_rejected)
{
    struct virtq_buf bufs[8];
    const uint64_t table_gpa = DATA_BASE + 0x8000;
    struct virtq_desc loop[2] = {
        {DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 1},
        {DATA_BASE, 8, VIRTQ_DESC_F_NEXT, 0},
    };
    struct virtq_desc nested = {table_gpa, 32, VIRTQ_DESC_F_INDIRECT, 0};
    unsigned int n;

    bind(VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
    cr_assert_eq(gmem_write(&gm, table_gpa, loop, sizeof(loop)), 0);
    virtq_driver_set_desc(&drv, 0, table_gpa, sizeof(loop), VIRTQ_DESC_F_INDIRECT, 0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 8, &n), -EPROTO, "loop inside the table");
    cr_assert_eq(gmem_write(&gm, table_gpa, &nested, sizeof(nested)), 0);
    virtq_driver_set_desc(&drv, 0, table_gpa, 16, VIRTQ_DESC_F_INDIRECT, 0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 8, &n), -EPROTO, "nested indirect");
    virtq_driver_set_desc(&drv, 0, table_gpa, 24, VIRTQ_DESC_F_INDIRECT, 0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 8, &n), -EPROTO, "length not a multiple of 16");
    virtq_driver_set_desc(&drv, 0, table_gpa, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 8, &n), -EPROTO, "indirect with NEXT");
    virtq_driver_set_desc(&drv, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    cr_assert_eq(virtq_walk(&vq, 0, bufs, 8, &n), -EFAULT, "table outside RAM");
}

Test(virtq, init_refuses_bad_configs)
{
    struct virtio_queue_config cfg = virtq_driver_config(&drv);
    struct virtio_queue_config bad;

    bad = cfg;
    bad.ready = false;
    cr_assert_eq(virtq_init(&vq, &gm, &bad, 0), -EINVAL);
    bad = cfg;
    bad.size = 6;
    cr_assert_eq(virtq_init(&vq, &gm, &bad, 0), -EINVAL);
    bad = cfg;
    bad.device = RAM_SIZE - 8;
    cr_assert_eq(virtq_init(&vq, &gm, &bad, 0), -EFAULT);
    cr_assert_eq(virtq_init(&vq, &gm, &cfg, VIRTIO_BIT(VIRTIO_F_RING_PACKED)), -ENOTSUP);
}

Test(virtq, interrupt_suppression_flag)
{
    struct virtq_seg seg = {DATA_BASE, 8, true};
    uint16_t head;

    bind(0);
    virtq_driver_make_avail(&drv, virtq_driver_add_chain(&drv, &seg, 1));
    cr_assert_eq(virtq_pop(&vq, &head), 0);
    virtq_push(&vq, head, 0);
    cr_assert(virtq_should_signal(&vq));
    virtq_driver_set_avail_flags(&drv, VIRTQ_AVAIL_F_NO_INTERRUPT);
    cr_assert_not(virtq_should_signal(&vq));
}

Test(virtq, event_idx_suppression)
{
    struct virtq_seg seg = {DATA_BASE, 8, true};
    uint16_t head;

    virtq_driver_init(&drv, &gm, QSIZE, RING_BASE, true);
    bind(VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    /* The driver wants an interrupt only once used idx passes 2 (used_event = 2). */
    virtq_driver_set_used_event(&drv, 2);
    for (int i = 0; i < 3; i++) {
        virtq_driver_make_avail(&drv, virtq_driver_add_chain(&drv, &seg, 1));
        cr_assert_eq(virtq_pop(&vq, &head), 0);
        virtq_push(&vq, head, 0);
        cr_assert_eq(virtq_should_signal(&vq), i == 2, "push %d", i);
    }
}
