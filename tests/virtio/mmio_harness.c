/*
 * The virtio-mmio test fixture: the test device's ops (config in an array,
 * activate/reset/notify recorded) and a guest driver's register accesses.
 */
#include "mmio_harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

struct harness h;

static uint64_t tdev_features(void *opaque)
{
    (void)opaque;
    return H_DEV_FEATURES;
}

static int tdev_config_read(void *opaque, uint32_t offset, void *data, unsigned int len)
{
    struct test_dev *d = opaque;

    d->config_reads++;
    if (offset > H_CONFIG_SIZE || len > H_CONFIG_SIZE - offset)
        return -EINVAL;
    memcpy(data, d->config + offset, len);
    return 0;
}

static int tdev_config_write(void *opaque, uint32_t offset, const void *data, unsigned int len)
{
    struct test_dev *d = opaque;

    if (offset > H_CONFIG_SIZE || len > H_CONFIG_SIZE - offset)
        return -EINVAL;
    memcpy(d->config + offset, data, len);
    return 0;
}

static int tdev_activate(void *opaque, const struct virtio_activation *act)
{
    struct test_dev *d = opaque;

    if (d->activate_ret < 0)
        return d->activate_ret;
    d->activations++;
    d->act_features = act->features;
    d->act_nqueues = act->nqueues;
    for (unsigned int i = 0; i < act->nqueues && i < H_QUEUES; i++)
        d->act_queues[i] = act->queues[i];
    d->transport = act->transport;
    return 0;
}

static void tdev_reset(void *opaque)
{
    struct test_dev *d = opaque;

    d->resets++;
}

static void tdev_notify(void *opaque, unsigned int queue)
{
    struct test_dev *d = opaque;

    d->notifies++;
    d->last_notify = queue;
}

static const struct virtio_dev_ops tdev_ops = {
    .type = "test",
    .device_id = H_DEVICE_ID,
    .features = tdev_features,
    .config_read = tdev_config_read,
    .config_write = tdev_config_write,
    .activate = tdev_activate,
    .reset = tdev_reset,
};

static const struct virtio_dev_ops tdev_ops_notify = {
    .type = "test",
    .device_id = H_DEVICE_ID,
    .features = tdev_features,
    .config_read = tdev_config_read,
    .config_write = tdev_config_write,
    .activate = tdev_activate,
    .reset = tdev_reset,
    .notify = tdev_notify,
};

void harness_setup(uint64_t ram_size, bool eventfds, bool notify)
{
    struct virtio_mmio_params p = {
        .name = "test-mmio",
        .base = H_BASE,
        .gsi = H_GSI,
        .irq = &h.irq.chip,
        .gmem = &h.gm,
        .dev_ops = notify ? &tdev_ops_notify : &tdev_ops,
        .dev = &h.dev,
        .num_queues = H_QUEUES,
        .queue_max_size = H_QMAX,
    };

    memset(&h, 0, sizeof(h));
    for (unsigned int i = 0; i < H_CONFIG_SIZE; i++)
        h.dev.config[i] = (uint8_t)(0xa0 + i);
    cr_assert_eq(gmem_create(&h.gm, ram_size, false), 0);
    fake_irq_chip_init(&h.irq, eventfds);
    h.t = virtio_mmio_create(&p);
    cr_assert_not_null(h.t);
}

void harness_teardown(void)
{
    virtio_mmio_destroy(h.t);
    h.t = NULL;
    gmem_destroy(&h.gm);
}

void h_default_setup(void)
{
    harness_setup(16ULL << 20, true, false);
}

uint32_t rd(uint64_t off)
{
    uint32_t v = 0xdeadbeef;

    virtio_mmio_read(h.t, off, &v, 4);
    return v;
}

void wr(uint64_t off, uint32_t val)
{
    virtio_mmio_write(h.t, off, &val, 4);
}

uint64_t h_guest_errors(void)
{
    struct virtio_mmio_stats s;

    virtio_mmio_get_stats(h.t, &s);
    return s.guest_errors;
}

void h_features_ok(uint64_t features)
{
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(VIRTIO_MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS),
                 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK,
                 "FEATURES_OK did not stick");
}

void h_queue_regs(unsigned int q, uint32_t num, uint64_t desc, uint64_t driver, uint64_t device)
{
    wr(VIRTIO_MMIO_QUEUE_SEL, q);
    wr(VIRTIO_MMIO_QUEUE_NUM, num);
    wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)driver);
    wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(driver >> 32));
    wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)device);
    wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(device >> 32));
}

void h_queue_valid(unsigned int q, uint32_t num)
{
    uint64_t base = 0x100000ULL * (q + 1);

    h_queue_regs(q, num, base, base + 0x10000, base + 0x20000);
}

uint32_t h_queue_ready(unsigned int q)
{
    wr(VIRTIO_MMIO_QUEUE_SEL, q);
    wr(VIRTIO_MMIO_QUEUE_READY, 1);
    return rd(VIRTIO_MMIO_QUEUE_READY);
}

void h_driver_ok(void)
{
    h_features_ok(H_DRIVER_FEATURES);
    for (unsigned int q = 0; q < H_QUEUES; q++) {
        h_queue_valid(q, H_QMAX);
        cr_assert_eq(h_queue_ready(q), 1, "queue %u refused", q);
    }
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                               VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}
