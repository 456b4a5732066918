/*
 * Tests for devices/virtio/virtio_mmio_queue.c: queue validation at QueueReady,
 * the window in which queue registers are writable, kick/call eventfd wiring
 * through the irq_chip, QueueNotify exits and used-buffer signalling.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <unistd.h>

#include "layout.h"
#include "mmio_harness.h"
#include "virtq.h"

#define RAM_SIZE (16ULL << 20)
#define Q        0x100000ULL /* a valid place for rings */

TestSuite(mmio_queue, .init = h_default_setup, .fini = harness_teardown);

static uint64_t eventfd_take(int fd)
{
    uint64_t v = 0;

    if (read(fd, &v, sizeof(v)) != sizeof(v))
        return 0;
    return v;
}

static void eventfd_signal(int fd)
{
    uint64_t one = 1;

    cr_assert_eq(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

struct bad_queue {
    const char *what;
    uint32_t num;
    uint64_t desc, driver, device;
};

Test(mmio_queue, invalid_queues_refused)
{
    const uint32_t n = 16;
    const struct bad_queue bad[] = {
        {"size 0", 0, Q, Q + 0x1000, Q + 0x2000},
        {"size 3", 3, Q, Q + 0x1000, Q + 0x2000},
        {"size 48", 48, Q, Q + 0x1000, Q + 0x2000},
        {"size > max", 2 * H_QMAX, Q, Q + 0x10000, Q + 0x20000},
        {"size 65536", 65536, Q, Q + 0x10000, Q + 0x20000},
        {"desc misaligned", n, Q + 8, Q + 0x1000, Q + 0x2000},
        {"avail misaligned", n, Q, Q + 0x1001, Q + 0x2000},
        {"used misaligned", n, Q, Q + 0x1000, Q + 0x2002},
        {"desc past RAM end", n, RAM_SIZE - 16 * n + 16, Q + 0x1000, Q + 0x2000},
        {"avail past RAM end", n, Q, RAM_SIZE - 2, Q + 0x2000},
        {"used past RAM end", n, Q, Q + 0x1000, RAM_SIZE - 8 * n},
        {"desc above 4 GiB, no RAM there", n, Q | (1ULL << 32), Q + 0x1000, Q + 0x2000},
        {"used in the MMIO hole", n, Q, Q + 0x1000, LAYOUT_VIRTIO_MMIO_BASE},
        {"desc wrapping the address space", n, UINT64_MAX - 15, Q + 0x1000, Q + 0x2000},
    };

    h_features_ok(H_DRIVER_FEATURES);
    for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t errors = h_guest_errors();

        h_queue_regs(0, bad[i].num, bad[i].desc, bad[i].driver, bad[i].device);
        cr_assert_eq(h_queue_ready(0), 0, "%s accepted", bad[i].what);
        cr_assert_eq(h_guest_errors(), errors + 1, "%s not reported", bad[i].what);
    }
    /* The same queue with good values is then accepted. */
    h_queue_regs(0, n, Q, Q + 0x1000, Q + 0x2000);
    cr_assert_eq(h_queue_ready(0), 1);
}

Test(mmio_queue, rings_ending_exactly_at_ram_end_accepted)
{
    const uint32_t n = 16;

    h_features_ok(H_DRIVER_FEATURES);
    h_queue_regs(0, n, RAM_SIZE - 16 * n, RAM_SIZE - 0x1000, RAM_SIZE - virtq_used_bytes(n, false));
    cr_assert_eq(h_queue_ready(0), 1);
    /* With EVENT_IDX the used ring is 2 bytes longer (2.7): the same place no longer fits. */
    wr(VIRTIO_MMIO_STATUS, 0);
    h_features_ok(H_DRIVER_FEATURES | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
    h_queue_regs(0, n, RAM_SIZE - 16 * n, RAM_SIZE - 0x1000, RAM_SIZE - virtq_used_bytes(n, false));
    cr_assert_eq(h_queue_ready(0), 0);
}

static void setup_big(void)
{
    harness_setup(LAYOUT_MMIO_HOLE_START + (64ULL << 20), true, false);
}

Test(mmio_queue_big_ram, ring_straddling_the_mmio_hole_refused, .init = setup_big,
     .fini = harness_teardown)
{
    const uint32_t n = 16;
    const uint64_t hole = LAYOUT_MMIO_HOLE_START;
    const uint64_t high = LAYOUT_HIGH_RAM_START;

    h_features_ok(H_DRIVER_FEATURES);
    h_queue_regs(0, n, hole - 128, Q + 0x1000, Q + 0x2000); /* desc: 256 bytes, half in the hole */
    cr_assert_eq(h_queue_ready(0), 0);
    h_queue_regs(0, n, Q, Q + 0x1000, hole - 64);
    cr_assert_eq(h_queue_ready(0), 0);
    /* Both sides exist, but a ring must lie in one region, not across the hole. */
    h_queue_regs(0, n, Q, hole - 16, Q + 0x2000);
    cr_assert_eq(h_queue_ready(0), 0);
    /* Rings in RAM above 4 GiB are fine. */
    h_queue_regs(0, n, high, high + 0x1000, high + 0x2000);
    cr_assert_eq(h_queue_ready(0), 1);
    cr_assert_eq(h_guest_errors(), 3);
}

Test(mmio_queue, queue_registers_only_in_their_window)
{
    /* Before FEATURES_OK (3.1.1 step 7 comes after step 5). */
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    h_queue_regs(0, 16, Q, Q + 0x1000, Q + 0x2000);
    cr_assert_eq(h_queue_ready(0), 0);
    cr_assert_eq(h_guest_errors(), 8); /* 7 register writes + QueueReady */
    wr(VIRTIO_MMIO_STATUS, 0);

    h_features_ok(H_DRIVER_FEATURES);
    h_queue_regs(0, 16, Q, Q + 0x1000, Q + 0x2000);
    cr_assert_eq(h_queue_ready(0), 1);
    /* 4.2.2.2: not while QueueReady is set. */
    wr(VIRTIO_MMIO_QUEUE_NUM, 32);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x200000);
    cr_assert_eq(h_guest_errors(), 10);
    /* A queue that does not exist. */
    wr(VIRTIO_MMIO_QUEUE_SEL, H_QUEUES);
    wr(VIRTIO_MMIO_QUEUE_NUM, 16);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    cr_assert_eq(h_guest_errors(), 12);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_READY, 2);
    cr_assert_eq(h_guest_errors(), 13);
    /* Before DRIVER_OK the driver may take a queue back and change it. */
    wr(VIRTIO_MMIO_QUEUE_READY, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    h_queue_regs(0, 32, Q, Q + 0x1000, Q + 0x2000);
    cr_assert_eq(h_queue_ready(0), 1);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    cr_assert_eq(h.dev.act_queues[0].size, 32);
    /* After DRIVER_OK (no RING_RESET): neither stopping nor rewriting a queue. */
    wr(VIRTIO_MMIO_QUEUE_READY, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    h_queue_regs(1, 16, Q, Q + 0x1000, Q + 0x2000);
    cr_assert_eq(h_queue_ready(1), 0);
    cr_assert_eq(h_guest_errors(), 13 + 1 + 7 + 1);
}

Test(mmio_queue, eventfds_wired_at_driver_ok)
{
    cr_assert_eq(h.irq.assigns, 0);
    h_driver_ok();
    cr_assert_eq(fake_irq_ioeventfds_at(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY), H_QUEUES);
    cr_assert_eq(h.irq.nirqfds, H_QUEUES);
    /* The driver's acknowledgement of used buffers needs no exit either (but nothing else). */
    const struct fake_ioeventfd *ack =
        fake_irq_ioeventfd_find(&h.irq, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    cr_assert_not_null(ack);
    cr_assert_eq(ack->addr, H_BASE + VIRTIO_MMIO_INTERRUPT_ACK);
    cr_assert_eq(ack->len, 4);
    cr_assert_eq(h.irq.nioeventfds, H_QUEUES + 1);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        const struct virtio_queue_config *c = &h.dev.act_queues[q];
        const struct fake_ioeventfd *io =
            fake_irq_ioeventfd_find(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY, q);
        const struct fake_irqfd *irq = NULL;

        for (unsigned int i = 0; i < h.irq.nirqfds; i++)
            if (h.irq.irqfds[i].efd == c->call_fd)
                irq = &h.irq.irqfds[i];
        cr_assert_not_null(io);
        cr_assert_eq(io->addr, H_BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
        cr_assert_eq(io->len, 4);
        cr_assert_eq(io->efd, c->kick_fd, "the ioeventfd is the back-end's kick fd");
        cr_assert_not_null(irq);
        cr_assert_eq(irq->gsi, H_GSI);
        /* What KVM would do on a matching guest write, seen from the back-end's side. */
        eventfd_signal(io->efd);
        cr_assert_eq(eventfd_take(c->kick_fd), 1);
    }
}

Test(mmio_queue, stale_kicks_drained_at_reset)
{
    int kick, call;

    h_driver_ok();
    kick = h.dev.act_queues[0].kick_fd;
    call = h.dev.act_queues[0].call_fd;
    eventfd_signal(kick);
    eventfd_signal(call);
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(eventfd_take(kick), 0);
    cr_assert_eq(eventfd_take(call), 0);
}

Test(mmio_queue, notify_exit_signals_kick_fd)
{
    struct virtio_mmio_stats s;

    h_driver_ok();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    cr_assert_eq(eventfd_take(h.dev.act_queues[1].kick_fd), 1);
    cr_assert_eq(eventfd_take(h.dev.act_queues[0].kick_fd), 0);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, H_QUEUES); /* no such queue */
    cr_assert_eq(h_guest_errors(), 1);
    virtio_mmio_get_stats(h.t, &s);
    cr_assert_eq(s.notifies, 2);
}

static void setup_notify(void)
{
    harness_setup(RAM_SIZE, true, true);
}

Test(mmio_queue_notify_op, notify_exit_goes_to_device_op, .init = setup_notify,
     .fini = harness_teardown)
{
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: nothing runs yet */
    cr_assert_eq(h.dev.notifies, 0);
    cr_assert_eq(h_guest_errors(), 1);
    h_driver_ok();
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    cr_assert_eq(h.dev.notifies, 1);
    cr_assert_eq(h.dev.last_notify, 1);
    cr_assert_eq(eventfd_take(h.dev.act_queues[1].kick_fd), 0);
}

Test(mmio_queue, signal_queue_writes_call_fd)
{
    cr_assert_eq(virtio_mmio_signal_queue(h.t, 0), -EINVAL, "not running yet");
    h_driver_ok();
    cr_assert_eq(h.dev.transport->ops->signal_queue(h.dev.transport->opaque, 1), 0);
    cr_assert_eq(eventfd_take(h.dev.act_queues[1].call_fd), 1);
    cr_assert_eq(h.irq.pulses, 0, "KVM injects through the irqfd, not the VMM");
    cr_assert_eq(virtio_mmio_signal_queue(h.t, H_QUEUES), -EINVAL);
}

static void setup_no_eventfds(void)
{
    harness_setup(RAM_SIZE, false, false);
}

Test(mmio_queue_no_eventfds, chip_without_eventfds, .init = setup_no_eventfds,
     .fini = harness_teardown)
{
    h_driver_ok();
    cr_assert_eq(h.dev.activations, 1);
    cr_assert_geq(h.dev.act_queues[0].kick_fd, 0);
    cr_assert_eq(h.dev.act_queues[0].call_fd, -1,
                 "no irqfd: the device must signal via the transport");
    wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
    cr_assert_eq(virtio_mmio_signal_queue(h.t, 0), 0);
    cr_assert_eq(h.irq.pulses, 1);
    cr_assert(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    cr_assert_eq(eventfd_take(h.dev.act_queues[0].kick_fd), 1);
}

Test(mmio_queue, ioeventfd_failure_fails_the_device)
{
    h.irq.fail_ioeventfd = ENOSPC;
    h_driver_ok();
    cr_assert_eq(h.dev.activations, 0);
    cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    cr_assert_eq(h.irq.nioeventfds + h.irq.nirqfds, 0);
}

Test(mmio_queue, irqfd_failure_unwires_everything)
{
    h.irq.fail_irqfd = EBUSY;
    h_driver_ok();
    cr_assert_eq(h.dev.activations, 0);
    cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    cr_assert_geq(h.irq.assigns, 1, "the first ioeventfd went in before the irqfd failed");
    cr_assert_eq(h.irq.nioeventfds + h.irq.nirqfds, 0);
    cr_assert_eq(h.irq.bad_deassigns, 0);
    /* Reset, and with KVM happy again the device runs. */
    h.irq.fail_irqfd = 0;
    wr(VIRTIO_MMIO_STATUS, 0);
    h_driver_ok();
    cr_assert_eq(h.dev.activations, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

Test(mmio_queue, destroy_while_running_unwires)
{
    h_driver_ok();
    virtio_mmio_destroy(h.t);
    h.t = NULL;
    cr_assert_eq(h.irq.nioeventfds + h.irq.nirqfds, 0);
    cr_assert_eq(h.irq.bad_deassigns, 0);
}
