/*
 * Shared fixture for the virtio-mmio transport tests: real guest RAM (memfd),
 * a recording irq_chip, a test device implementing virtio_dev_ops, and the
 * steps a guest driver takes (32-bit register accesses through the bus callbacks).
 */
#ifndef MINIVMM_TESTS_MMIO_HARNESS_H
#define MINIVMM_TESTS_MMIO_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_irq_chip.h"
#include "gmem.h"
#include "virtio_mmio.h"
#include "virtio_spec.h"

#define H_BASE            0xD0000000ULL
#define H_GSI             5
#define H_QUEUES          2
#define H_QMAX            256
#define H_DEVICE_ID       2
#define H_DEV_FEATURE_BIT 6 /* a device-type feature the test device offers */
/* What the test device offers: a device feature, ring features, VERSION_1, and two transport
 * bits the transport must hide (RING_RESET, NOTIFICATION_DATA). */
#define H_DEV_FEATURES                                                                             \
    (VIRTIO_BIT(H_DEV_FEATURE_BIT) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                              \
     VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_RESET) |                            \
     VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA))
#define H_DRIVER_FEATURES (VIRTIO_BIT(H_DEV_FEATURE_BIT) | VIRTIO_BIT(VIRTIO_F_VERSION_1))
#define H_CONFIG_SIZE     16

struct test_dev {
    uint8_t config[H_CONFIG_SIZE];
    unsigned int config_reads; /* calls, to see 64-bit accesses split in two */
    int activate_ret;          /* what activate() returns */
    unsigned int activations;
    unsigned int resets;
    unsigned int notifies;
    unsigned int last_notify;
    uint64_t act_features;
    unsigned int act_nqueues;
    struct virtio_queue_config act_queues[H_QUEUES];
    const struct virtio_transport *transport;
};

struct harness {
    struct gmem gm;
    struct fake_irq_chip irq;
    struct test_dev dev;
    struct virtio_mmio *t;
};

extern struct harness h;

/* ram_size: guest RAM; eventfds: whether the irq_chip offers ioeventfd/irqfd; notify: dev op. */
void harness_setup(uint64_t ram_size, bool eventfds, bool notify);
void harness_teardown(void);
void h_default_setup(void);

uint32_t rd(uint64_t off);
void wr(uint64_t off, uint32_t val);
uint64_t h_guest_errors(void);

/* Guest-driver steps; each asserts the device accepted it. */
void h_features_ok(uint64_t features);
/* Writes QueueSel, QueueNum and the three ring addresses (not QueueReady). */
void h_queue_regs(unsigned int q, uint32_t num, uint64_t desc, uint64_t driver, uint64_t device);
/* Sets queue q up with valid rings for num entries at the default place for q. */
void h_queue_valid(unsigned int q, uint32_t num);
/* Writes QueueReady=1 for q; returns what QueueReady reads back. */
uint32_t h_queue_ready(unsigned int q);
/* From reset to DRIVER_OK with every queue valid and ready. */
void h_driver_ok(void);

#endif
