/*
 * Tests for devices/virtio/virtio_mmio_status.c: the initialisation sequence,
 * every illegal status transition, feature negotiation, activation at
 * DRIVER_OK, DEVICE_NEEDS_RESET, reset and re-activation.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "mmio_harness.h"

#define A   VIRTIO_STATUS_ACKNOWLEDGE
#define D   VIRTIO_STATUS_DRIVER
#define FO  VIRTIO_STATUS_FEATURES_OK
#define DOK VIRTIO_STATUS_DRIVER_OK
#define NR  VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define F   VIRTIO_STATUS_FAILED

TestSuite(mmio_status, .init = h_default_setup, .fini = harness_teardown);

Test(mmio_status, full_init_sequence)
{
    h_driver_ok();
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | DOK);
    cr_assert_eq(h.dev.activations, 1);
    cr_assert_eq(h.dev.act_features, H_DRIVER_FEATURES);
    cr_assert_eq(h.dev.act_nqueues, H_QUEUES);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        const struct virtio_queue_config *c = &h.dev.act_queues[q];
        uint64_t base = 0x100000ULL * (q + 1);

        cr_assert(c->ready);
        cr_assert_eq(c->size, H_QMAX);
        cr_assert_eq(c->desc, base);
        cr_assert_eq(c->driver, base + 0x10000);
        cr_assert_eq(c->device, base + 0x20000);
        cr_assert_geq(c->kick_fd, 0);
        cr_assert_geq(c->call_fd, 0);
    }
    cr_assert_eq(h_guest_errors(), 0);
}

struct transition {
    uint32_t from;
    uint32_t to;
};

/* Brings the device to `from` (a step of 3.1.1, possibly with FAILED) by legal writes. */
static void reach(uint32_t from)
{
    uint32_t target = from & ~F;

    wr(VIRTIO_MMIO_STATUS, 0);
    if (target & A)
        wr(VIRTIO_MMIO_STATUS, A);
    if (target & D)
        wr(VIRTIO_MMIO_STATUS, A | D);
    if (target & FO) {
        for (uint32_t sel = 0; sel < 2; sel++) {
            wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
            wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(H_DRIVER_FEATURES >> (32 * sel)));
        }
        wr(VIRTIO_MMIO_STATUS, A | D | FO);
        for (unsigned int q = 0; q < H_QUEUES; q++) {
            h_queue_valid(q, 16);
            cr_assert_eq(h_queue_ready(q), 1);
        }
    }
    if (target & DOK)
        wr(VIRTIO_MMIO_STATUS, A | D | FO | DOK);
    if (from & F)
        wr(VIRTIO_MMIO_STATUS, from);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), from, "could not reach %#x", from);
}

Test(mmio_status, illegal_transitions_refused)
{
    /* clang-format off */
    static const struct transition bad[] = {
        /* skipping steps */
        {0, D}, {0, FO}, {0, DOK}, {0, A | FO}, {0, A | DOK}, {A, A | FO}, {A, A | DOK},
        {A, D}, {A | D, A | D | DOK}, {A | D, A | FO}, {A | D | FO, A | D | DOK},
        /* clearing bits without a reset */
        {A | D, A}, {A | D, D}, {A | D | FO, A | D}, {A | D | FO, A | FO},
        {A | D | FO | DOK, A | D | FO}, {A | D | FO | DOK, A | D | DOK}, {A | D | FO | DOK, A},
        /* bits the spec does not define */
        {0, 0x10}, {0, 0x20}, {A, A | 0x10}, {A | D | FO, A | D | FO | 0x20},
        /* after FAILED only a reset is accepted */
        {A | F, A | D}, {A | D | F, A | D | F}, {A | D | FO | F, A | D | FO | DOK},
    };
    /* clang-format on */

    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t errors, activations;

        reach(bad[i].from);
        errors = h_guest_errors();
        activations = h.dev.activations;
        wr(VIRTIO_MMIO_STATUS, bad[i].to);
        cr_assert_eq(rd(VIRTIO_MMIO_STATUS), bad[i].from, "%#x -> %#x was accepted", bad[i].from,
                     bad[i].to);
        cr_assert_eq(h_guest_errors(), errors + 1, "%#x -> %#x not reported", bad[i].from,
                     bad[i].to);
        cr_assert_eq(h.dev.activations, activations);
    }
}

Test(mmio_status, failed_accepted_any_time)
{
    static const uint32_t from[] = {0, A, A | D, A | D | FO, A | D | FO | DOK};

    for (unsigned int i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
        reach(from[i]);
        wr(VIRTIO_MMIO_STATUS, from[i] | F);
        cr_assert_eq(rd(VIRTIO_MMIO_STATUS), from[i] | F);
    }
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}

Test(mmio_status, features_without_version_1_refused)
{
    wr(VIRTIO_MMIO_STATUS, A);
    wr(VIRTIO_MMIO_STATUS, A | D);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)VIRTIO_BIT(H_DEV_FEATURE_BIT));
    wr(VIRTIO_MMIO_STATUS, A | D | FO);
    /* 3.1.1 step 6: the driver re-reads and sees FEATURES_OK did not stick. */
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D);
    cr_assert_eq(h_guest_errors(), 1);
    /* It may fix its features and try again. */
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 is bit 32 */
    wr(VIRTIO_MMIO_STATUS, A | D | FO);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO);
}

Test(mmio_status, features_not_offered_refused)
{
    static const uint64_t bad[] = {
        /* never offered */
        VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3),
        /* offered by the device, hidden by the transport */
        VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_RESET),
        VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA),
    };

    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr(VIRTIO_MMIO_STATUS, 0);
        wr(VIRTIO_MMIO_STATUS, A);
        wr(VIRTIO_MMIO_STATUS, A | D);
        for (uint32_t sel = 0; sel < 2; sel++) {
            wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
            wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(bad[i] >> (32 * sel)));
        }
        wr(VIRTIO_MMIO_STATUS, A | D | FO);
        cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D, "features %#llx accepted",
                     (unsigned long long)bad[i]);
    }
    /* Bits above 63 (selector 2) are never offered either. */
    wr(VIRTIO_MMIO_STATUS, 0);
    wr(VIRTIO_MMIO_STATUS, A);
    wr(VIRTIO_MMIO_STATUS, A | D);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(VIRTIO_MMIO_STATUS, A | D | FO);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D);
}

Test(mmio_status, features_frozen_outside_negotiation)
{
    /* Before DRIVER: refused. */
    wr(VIRTIO_MMIO_STATUS, A);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffffu);
    cr_assert_eq(h_guest_errors(), 1);
    wr(VIRTIO_MMIO_STATUS, 0);
    /* After FEATURES_OK: refused, and the device is activated with the acked set. */
    h_features_ok(H_DRIVER_FEATURES);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    cr_assert_eq(h_guest_errors(), 2);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        h_queue_valid(q, 16);
        cr_assert_eq(h_queue_ready(q), 1);
    }
    wr(VIRTIO_MMIO_STATUS, A | D | FO | DOK);
    cr_assert_eq(h.dev.act_features, H_DRIVER_FEATURES);
}

Test(mmio_status, needs_reset_bit_echoed_by_driver_is_ignored)
{
    h_features_ok(H_DRIVER_FEATURES);
    virtio_mmio_device_failed(h.t, "test");
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | NR);
    /* No DRIVER_OK yet: no config interrupt (2.1.2 asks for one only after DRIVER_OK). */
    cr_assert_eq(h.irq.pulses, 0);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        h_queue_valid(q, 16);
        cr_assert_eq(h_queue_ready(q), 1);
    }
    wr(VIRTIO_MMIO_STATUS, A | D | FO | DOK | NR);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | DOK | NR);
    /* A failed device is not started; the driver gets its config change now. */
    cr_assert_eq(h.dev.activations, 0);
    cr_assert_eq(h.irq.pulses, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    cr_assert_eq(h_guest_errors(), 0);
}

Test(mmio_status, activate_failure_sets_needs_reset)
{
    h.dev.activate_ret = -EIO;
    h_driver_ok();
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | DOK | NR);
    /* 2.1.2: a configuration change notification follows. */
    cr_assert_eq(h.irq.pulses, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    cr_assert_eq(h.irq.nioeventfds, 0, "wiring undone");
    cr_assert_eq(h.irq.nirqfds, 0);
    /* The driver resets and the device comes back. */
    h.dev.activate_ret = 0;
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(h.dev.resets, 1);
    h_driver_ok();
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | DOK);
    cr_assert_eq(h.dev.activations, 1);
}

Test(mmio_status, device_failed_after_activation)
{
    h_driver_ok();
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
    h.dev.transport->ops->device_failed(h.dev.transport->opaque, "back-end closed the socket");
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), A | D | FO | DOK | NR);
    cr_assert_eq(h.irq.pulses, 1);
    cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(mmio_status, reset_and_reactivation)
{
    int kick[H_QUEUES];

    h_driver_ok();
    for (unsigned int q = 0; q < H_QUEUES; q++)
        kick[q] = h.dev.act_queues[q].kick_fd;
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(h.dev.resets, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    cr_assert_eq(h.irq.nioeventfds, 0);
    cr_assert_eq(h.irq.nirqfds, 0);
    cr_assert_eq(h.irq.bad_deassigns, 0);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        wr(VIRTIO_MMIO_QUEUE_SEL, q);
        cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0, "4.2.2.1: reset clears QueueReady");
    }
    /* Linux deletes its queues after the reset: QueueReady=0 on a stopped queue is fine. */
    wr(VIRTIO_MMIO_QUEUE_READY, 0);
    cr_assert_eq(h_guest_errors(), 0);
    /* A reset of a device at status 0 does not bother the device. */
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(h.dev.resets, 1);

    h_driver_ok();
    cr_assert_eq(h.dev.activations, 2);
    cr_assert_eq(fake_irq_ioeventfds_at(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY), H_QUEUES);
    cr_assert_eq(h.irq.nirqfds, H_QUEUES);
    for (unsigned int q = 0; q < H_QUEUES; q++)
        cr_assert_eq(h.dev.act_queues[q].kick_fd, kick[q], "eventfds are kept for reuse");
}

Test(mmio_status, queue_only_partially_enabled)
{
    h_features_ok(H_DRIVER_FEATURES);
    h_queue_valid(1, 64);
    cr_assert_eq(h_queue_ready(1), 1);
    wr(VIRTIO_MMIO_STATUS, A | D | FO | DOK);
    cr_assert_eq(h.dev.activations, 1);
    cr_assert_not(h.dev.act_queues[0].ready);
    cr_assert_eq(h.dev.act_queues[0].kick_fd, -1);
    cr_assert(h.dev.act_queues[1].ready);
    cr_assert_eq(h.dev.act_queues[1].size, 64);
    cr_assert_eq(fake_irq_ioeventfds_at(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY), 1);
    cr_assert_not_null(fake_irq_ioeventfd_find(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY, 1));
}
