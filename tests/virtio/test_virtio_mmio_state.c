/*
 * Tests for devices/virtio/virtio_mmio_state.c: a running transport's registers saved and
 * installed into a fresh one (nothing starts until resume, which activates with the source's
 * ring bases and wires the eventfds), and every check on a hostile saved state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "mmio_harness.h"
#include "virtio_mmio_state.h"

#define DOK_ALL                                                                                    \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)

TestSuite(mmio_state, .init = h_default_setup, .fini = harness_teardown);

static struct virtio_mmio_state saved;
static char why[160];

/* A running device's state, then a fresh transport (the destination) to load it into. */
static void save_running_then_fresh(void)
{
    h_driver_ok();
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    virtio_mmio_save(h.t, &saved);
    harness_teardown();
    h_default_setup();
}

Test(mmio_state, save_records_the_registers)
{
    h_driver_ok();
    wr(VIRTIO_MMIO_QUEUE_SEL, 1);
    virtio_mmio_save(h.t, &saved);
    cr_assert_eq(saved.nqueues, H_QUEUES);
    cr_assert_eq(saved.status, DOK_ALL);
    cr_assert(saved.activated);
    cr_assert_eq(saved.acked, H_DRIVER_FEATURES);
    cr_assert_eq(saved.queue_sel, 1);
    cr_assert(saved.q[1].ready);
    cr_assert_eq(saved.q[1].num, H_QMAX);
    cr_assert_eq(saved.q[1].desc, 0x200000);
}

Test(mmio_state, load_installs_without_starting)
{
    save_running_then_fresh();
    cr_assert_eq(virtio_mmio_load(h.t, &saved, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), DOK_ALL);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1, "QueueSel 1 came back, and its queue is ready");
    cr_assert_eq(h.dev.activations, 0);
    cr_assert_eq(h.irq.nioeventfds, 0);
    cr_assert_eq(h.irq.nirqfds, 0);
}

Test(mmio_state, resume_activates_with_the_bases)
{
    uint32_t bases[H_QUEUES] = {17, 40000};

    save_running_then_fresh();
    cr_assert_eq(virtio_mmio_load(h.t, &saved, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(virtio_mmio_resume(h.t, bases), 0);
    cr_assert_eq(h.dev.activations, 1);
    cr_assert_eq(h.dev.act_features, H_DRIVER_FEATURES);
    cr_assert_eq(h.dev.act_queues[0].base, 17);
    cr_assert_eq(h.dev.act_queues[1].base, 40000);
    cr_assert_eq(h.dev.act_queues[1].desc, 0x200000);
    cr_assert_geq(h.dev.act_queues[1].kick_fd, 0);
    cr_assert_eq(fake_irq_ioeventfds_at(&h.irq, VIRTIO_MMIO_QUEUE_NOTIFY), H_QUEUES,
                 "kicks go to the back-end without an exit");
    cr_assert_eq(h.irq.nirqfds, H_QUEUES);
    /* The driver's next reset stops the device as usual. */
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(h.dev.resets, 1);
    cr_assert_eq(h.irq.nioeventfds, 0);
}

Test(mmio_state, resume_of_a_device_that_never_ran_starts_nothing)
{
    h_features_ok(H_DRIVER_FEATURES);
    virtio_mmio_save(h.t, &saved);
    harness_teardown();
    h_default_setup();
    cr_assert_eq(virtio_mmio_load(h.t, &saved, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(virtio_mmio_resume(h.t, NULL), 0);
    cr_assert_eq(h.dev.activations, 0);
    /* The driver carries on from FEATURES_OK. */
    h_queue_valid(0, 64);
    cr_assert_eq(h_queue_ready(0), 1);
}

Test(mmio_state, hostile_states_are_refused)
{
    struct virtio_mmio_state bad;

    save_running_then_fresh();
    bad = saved;
    bad.nqueues = H_QUEUES + 1;
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "number of queues"), "%s", why);
    bad = saved;
    bad.status |= 0x40; /* not a driver-writable bit */
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    bad = saved;
    bad.status &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL,
                 "running without DRIVER_OK");
    bad = saved;
    bad.acked |= 1ULL << 40;
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "never offered"), "%s", why);
    bad = saved;
    bad.offered ^= 1ULL << H_DEV_FEATURE_BIT;
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "other features"), "%s", why);
    bad = saved;
    bad.q[1].desc = (16ULL << 20) - 0x800; /* its 4 KiB run past the 16 MiB of RAM */
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "queue 1: descriptor table not wholly in guest RAM"), "%s", why);
    bad = saved;
    bad.q[0].num = 3;
    cr_assert_eq(virtio_mmio_load(h.t, &bad, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "power of two"), "%s", why);
    /* After all that, the good state still loads. */
    cr_assert_eq(virtio_mmio_load(h.t, &saved, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(h.dev.activations, 0);
}
