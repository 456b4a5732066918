/*
 * Unit tests for firmware/virtq.c against fake guest memory: a fake device
 * below consumes the available ring and fills the used ring the way a
 * vhost-user back-end would, and can be told to misbehave.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtq.h"

static struct virtq q;
static void *mem;

/* The device's view: how far it has read the available ring. */
static uint16_t dev_avail;

static void setup_size(uint16_t size)
{
    size_t n = virtq_mem_size(size);

    mem = aligned_alloc(4096, n);
    cr_assert_not_null(mem);
    memset(mem, 0xa5, n); /* virtq_init must clear it */
    cr_assert_eq(virtq_init(&q, size, mem, n), 0);
    dev_avail = 0;
}

static void setup(void)
{
    setup_size(8);
}

static void teardown(void)
{
    free(mem);
}

TestSuite(virtq, .init = setup, .fini = teardown);

/*
 * Completes the next available request: checks the chain has `nbufs` buffers,
 * fills every device-writable buffer with `fill`, returns its head.
 */
static uint16_t dev_complete(unsigned int nbufs, uint8_t fill)
{
    uint16_t head, d;
    uint32_t written = 0;
    unsigned int n = 0;

    cr_assert_neq(q.avail->idx, dev_avail, "nothing available");
    head = q.avail->ring[dev_avail % q.size];
    dev_avail++;
    d = head;
    for (;;) {
        struct virtq_desc *desc = &q.desc[d];
        if (desc->flags & VIRTQ_DESC_F_WRITE) {
            memset((void *)(uintptr_t)desc->addr, fill, desc->len);
            written += desc->len;
        }
        n++;
        if (!(desc->flags & VIRTQ_DESC_F_NEXT))
            break;
        d = desc->next;
        cr_assert_lt(n, q.size, "descriptor loop");
    }
    cr_assert_eq(n, nbufs);
    q.used->ring[q.used->idx % q.size] = (struct virtq_used_elem){head, written};
    __atomic_store_n(&q.used->idx, (uint16_t)(q.used->idx + 1), __ATOMIC_RELEASE);
    return head;
}

Test(virtq, init_checks_its_arguments)
{
    static uint8_t unaligned[2 * 8192];

    cr_assert_eq(virtq_init(&q, 0, mem, virtq_mem_size(8)), -EINVAL);
    cr_assert_eq(virtq_init(&q, 6, mem, virtq_mem_size(8)), -EINVAL, "not a power of 2");
    cr_assert_eq(virtq_init(&q, 512, mem, 1 << 20), -EINVAL, "larger than VIRTQ_MAX_SIZE");
    cr_assert_eq(virtq_init(&q, 8, mem, virtq_mem_size(8) - 1), -EINVAL);
    cr_assert_eq(virtq_init(&q, 8, unaligned + ((uintptr_t)unaligned % 4096 ? 0 : 1), 8192),
                 -EINVAL);
    /* Rings respect the spec's alignment (desc 16, avail 2, used 4). */
    cr_assert_eq(virtq_init(&q, 8, mem, virtq_mem_size(8)), 0);
    cr_assert_eq((uintptr_t)q.desc % 16, 0);
    cr_assert_eq((uintptr_t)q.used % 4, 0);
    cr_assert_eq(q.avail->idx, 0);
    cr_assert_eq(q.used->idx, 0);
}

Test(virtq, request_round_trip)
{
    char out[16] = "header", in[32];
    uint8_t status = 0xff;
    struct virtq_buf bufs[] = {
        {out, sizeof(out), false},
        {in, sizeof(in), true},
        {&status, 1, true},
    };
    void *cookie;
    uint32_t len;

    cr_assert_eq(virtq_add(&q, bufs, 3, &status), 0);
    cr_assert_not(virtq_has_used(&q));
    cr_assert_eq(q.avail->idx, 0, "not visible before publish");
    virtq_publish(&q);
    cr_assert_eq(q.avail->idx, 1);
    cr_assert(virtq_kick_needed(&q));
    dev_complete(3, 0x3c);
    cr_assert(virtq_has_used(&q));
    cr_assert_eq(virtq_get(&q, &cookie, &len), 1);
    cr_assert_eq(cookie, &status);
    cr_assert_eq(len, sizeof(in) + 1);
    cr_assert_eq(status, 0x3c);
    cr_assert_eq((uint8_t)in[31], 0x3c);
    cr_assert_eq(virtq_get(&q, &cookie, &len), 0);
    cr_assert_eq(virtq_in_flight(&q), 0);
    cr_assert_eq(q.nfree, 8);
}

Test(virtq, runs_out_of_descriptors_and_recovers_across_wraparound)
{
    uint8_t buf[4];
    struct virtq_buf two[] = {{buf, 2, false}, {buf + 2, 2, true}};
    void *cookie;
    uint32_t len;
    unsigned int completed = 0;

    for (unsigned int i = 0; i < 4; i++)
        cr_assert_eq(virtq_add(&q, two, 2, (void *)(uintptr_t)(i + 1)), 0);
    cr_assert_eq(virtq_add(&q, two, 1, buf), -ENOSPC);
    virtq_publish(&q);
    /* Keep 4 two-buffer requests in flight through more than 65536 ring indices. */
    for (unsigned int round = 0; round < 70000; round++) {
        dev_complete(2, 0);
        cr_assert_eq(virtq_get(&q, &cookie, &len), 1);
        completed++;
        cr_assert_eq(virtq_add(&q, two, 2, cookie), 0);
        virtq_publish(&q);
    }
    cr_assert_eq(completed, 70000);
    cr_assert_eq(virtq_in_flight(&q), 4);
    cr_assert_eq(q.nfree, 0);
}

Test(virtq, refuses_bad_requests)
{
    uint8_t buf[4];
    struct virtq_buf wrong_order[] = {{buf, 2, true}, {buf + 2, 2, false}};

    cr_assert_eq(virtq_add(&q, wrong_order, 2, buf), -EINVAL);
    cr_assert_eq(virtq_add(&q, wrong_order, 0, buf), -EINVAL);
    cr_assert_eq(virtq_add(&q, wrong_order, 1, NULL), -EINVAL);
    cr_assert_eq(q.nfree, 8, "a refused request takes no descriptors");
}

Test(virtq, notification_suppression_flags)
{
    uint8_t b;
    struct virtq_buf one = {&b, 1, true};

    cr_assert_eq(virtq_add(&q, &one, 1, &b), 0);
    virtq_publish(&q);
    q.used->flags = VIRTQ_USED_F_NO_NOTIFY;
    cr_assert_not(virtq_kick_needed(&q));
    virtq_set_interrupts(&q, false);
    cr_assert_eq(q.avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
    virtq_set_interrupts(&q, true);
    cr_assert_eq(q.avail->flags, 0);
}

/* A hostile device: every lie is caught and nothing is freed twice. */
Test(virtq, distrusts_the_used_ring)
{
    uint8_t b;
    struct virtq_buf one = {&b, 1, true};
    void *cookie;
    uint32_t len;

    cr_assert_eq(virtq_add(&q, &one, 1, &b), 0);
    cr_assert_eq(virtq_add(&q, &one, 1, &b + 0), 0);
    virtq_publish(&q);

    q.used->ring[0] = (struct virtq_used_elem){.id = 200, .len = 1};
    q.used->idx = 1;
    cr_assert_eq(virtq_get(&q, &cookie, &len), -EIO, "id past the table");

    q.used->ring[0] = (struct virtq_used_elem){.id = 5, .len = 1};
    cr_assert_eq(virtq_get(&q, &cookie, &len), -EIO, "id never made available");

    q.used->idx = 3;
    cr_assert_eq(virtq_get(&q, &cookie, &len), -EIO, "more used than published");

    q.used->ring[0] = (struct virtq_used_elem){.id = 0, .len = 1};
    q.used->ring[1] = (struct virtq_used_elem){.id = 0, .len = 1};
    q.used->idx = 2;
    cr_assert_eq(virtq_get(&q, &cookie, &len), 1);
    cr_assert_eq(virtq_get(&q, &cookie, &len), -EIO, "the same id twice");
    cr_assert_eq(q.nfree, 7);
}

Test(virtq, largest_queue)
{
    teardown();
    setup_size(VIRTQ_MAX_SIZE);
    cr_assert_eq(q.nfree, VIRTQ_MAX_SIZE);
}
