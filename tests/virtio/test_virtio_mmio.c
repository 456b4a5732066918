/*
 * Tests for devices/virtio/virtio_mmio.c: the identity registers, access widths,
 * device configuration space, ConfigGeneration and config interrupts, bus
 * hookup, rate-limited logging and concurrent signalling. No /dev/kvm.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mmio_harness.h"

TestSuite(virtio_mmio, .init = h_default_setup, .fini = harness_teardown);

Test(virtio_mmio, identity_registers)
{
    cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
    cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), H_DEVICE_ID);
    cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), H_QMAX);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
    /* No shared memory regions: length reads as -1 (4.2.2). */
    wr(VIRTIO_MMIO_SHM_SEL, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
    cr_assert_eq(rd(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
    cr_assert_eq(h_guest_errors(), 0);
}

Test(virtio_mmio, queue_num_max_zero_beyond_last_queue)
{
    wr(VIRTIO_MMIO_QUEUE_SEL, H_QUEUES);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}

Test(virtio_mmio, device_features_hide_unsupported_transport_bits)
{
    uint64_t f;

    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f |= (uint64_t)rd(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    cr_assert_eq(f, H_DEV_FEATURES & ~(VIRTIO_BIT(VIRTIO_F_RING_RESET) |
                                       VIRTIO_BIT(VIRTIO_F_NOTIFICATION_DATA)));
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, register_widths_other_than_32_refused)
{
    uint8_t buf[8];
    uint32_t val;

    for (unsigned int len = 1; len <= 8; len *= 2) {
        if (len == 4)
            continue;
        memset(buf, 0xee, sizeof(buf));
        virtio_mmio_read(h.t, VIRTIO_MMIO_MAGIC_VALUE, buf, len);
        for (unsigned int i = 0; i < len; i++)
            cr_assert_eq(buf[i], 0, "len %u byte %u", len, i);
    }
    /* A misaligned 32-bit read. */
    memset(buf, 0xee, sizeof(buf));
    virtio_mmio_read(h.t, VIRTIO_MMIO_MAGIC_VALUE + 2, buf, 4);
    cr_assert_eq(buf[0] | buf[1] | buf[2] | buf[3], 0);
    /* A 1-byte status write does nothing. */
    buf[0] = VIRTIO_STATUS_ACKNOWLEDGE;
    virtio_mmio_write(h.t, VIRTIO_MMIO_STATUS, buf, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    /* An 8-byte write to a register pair is refused too. */
    val = VIRTIO_STATUS_ACKNOWLEDGE;
    memcpy(buf, &val, 4);
    memset(buf + 4, 0, 4);
    virtio_mmio_write(h.t, VIRTIO_MMIO_STATUS, buf, 8);
    cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
    cr_assert_eq(h_guest_errors(), 6);
}

Test(virtio_mmio, read_only_and_unknown_registers)
{
    wr(VIRTIO_MMIO_MAGIC_VALUE, 0);
    wr(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    wr(0x0f0, 1);
    cr_assert_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    cr_assert_eq(rd(0x0f0), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
    cr_assert_eq(h_guest_errors(), 5);
}

Test(virtio_mmio, config_space_widths)
{
    uint8_t b = 0;
    uint16_t w = 0;
    uint32_t l = 0;
    uint64_t q = 0;

    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 1, &b, 1);
    cr_assert_eq(b, 0xa1);
    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 2, &w, 2);
    cr_assert_eq(w, 0xa3a2);
    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 4, &l, 4);
    cr_assert_eq(l, 0xa7a6a5a4);
    h.dev.config_reads = 0;
    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 8, &q, 8);
    cr_assert_eq(q, 0xafaeadacabaaa9a8ULL);
    cr_assert_eq(h.dev.config_reads, 2, "a 64-bit access is two 32-bit ones");
    cr_assert_eq(h_guest_errors(), 0);
}

Test(virtio_mmio, config_space_misaligned_or_outside_refused)
{
    uint32_t l = 0xeeeeeeee;
    uint16_t w = 0xeeee;

    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 1, &w, 2);
    cr_assert_eq(w, 0);
    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + 2, &l, 4);
    cr_assert_eq(l, 0);
    l = 0xeeeeeeee;
    virtio_mmio_read(h.t, VIRTIO_MMIO_CONFIG + H_CONFIG_SIZE, &l, 4); /* the device says no */
    cr_assert_eq(l, 0);
    virtio_mmio_read(h.t, VIRTIO_MMIO_WINDOW - 2, &l, 4); /* crosses the window end */
    cr_assert_eq(l, 0);
    cr_assert_eq(h_guest_errors(), 4);
}

Test(virtio_mmio, config_write_needs_driver)
{
    uint8_t v = 0x11;

    virtio_mmio_write(h.t, VIRTIO_MMIO_CONFIG, &v, 1);
    cr_assert_eq(h.dev.config[0], 0xa0, "written before DRIVER");
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_mmio_write(h.t, VIRTIO_MMIO_CONFIG, &v, 1);
    cr_assert_eq(h.dev.config[0], 0x11);
}

Test(virtio_mmio, config_generation_and_interrupt)
{
    uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);

    /* Before DRIVER_OK: the generation moves, no interrupt. */
    cr_assert_eq(virtio_mmio_config_changed(h.t), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
    cr_assert_eq(h.irq.pulses, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);

    h_driver_ok();
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    cr_assert_eq(h.dev.transport->ops->config_changed(h.dev.transport->opaque), 0);
    cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
    cr_assert_eq(h.irq.pulses, 1);
    cr_assert_eq(h.irq.last_gsi, H_GSI);
    cr_assert_eq(h.irq.level, 0, "edge: asserted then deasserted");
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    /* The used-buffer bit stays: the VMM never sees the back-end's calls. */
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    /* Reset keeps the generation counting (a driver may compare across resets). */
    wr(VIRTIO_MMIO_STATUS, 0);
    cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen + 2);
    cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio, bus_device_covers_the_window)
{
    struct bus_device bd;
    struct bus bus;
    uint32_t v = 0;

    virtio_mmio_bus_device(h.t, &bd);
    cr_assert_eq(bd.base, H_BASE);
    cr_assert_eq(bd.size, 0x1000);
    bus_init(&bus, "mmio");
    cr_assert_eq(bus_register(&bus, &bd), 0);
    cr_assert(bus_read(&bus, H_BASE + VIRTIO_MMIO_MAGIC_VALUE, &v, 4));
    cr_assert_eq(v, 0x74726976);
}

Test(virtio_mmio, create_refuses_bad_params)
{
    struct virtio_mmio_params p = {
        .name = "bad",
        .base = H_BASE,
        .gsi = H_GSI,
        .irq = &h.irq.chip,
        .gmem = &h.gm,
        .dev_ops = NULL,
        .num_queues = 1,
        .queue_max_size = 8,
    };

    cr_assert_null(virtio_mmio_create(&p));
    virtio_mmio_destroy(NULL);
}

static void setup_redirected(void)
{
    cr_redirect_stderr();
    h_default_setup();
}

/* A fuzzing guest: every bad access is counted, only the first few are logged. */
Test(virtio_mmio_log, guest_errors_rate_limited, .init = setup_redirected, .fini = harness_teardown)
{
    char line[512];
    unsigned int logged = 0;
    FILE *err;

    for (unsigned int i = 0; i < 1000; i++)
        wr(0x0f0, i);
    cr_assert_eq(h_guest_errors(), 1000);
    fflush(stderr);
    err = cr_get_redirected_stderr();
    while (fgets(line, sizeof(line), err))
        logged += strstr(line, "guest error") != NULL;
    cr_assert_eq(logged, VIRTIO_MMIO_LOG_LIMIT);
}

static void *config_changer(void *arg)
{
    for (unsigned int i = 0; i < 20000; i++)
        virtio_mmio_config_changed(arg);
    return NULL;
}

/* The event loop signals while vCPUs read registers: no lost update, monotonic generation. */
Test(virtio_mmio, concurrent_config_changes)
{
    pthread_t thr;
    uint32_t gen0 = rd(VIRTIO_MMIO_CONFIG_GENERATION), last = gen0;

    h_driver_ok();
    cr_assert_eq(pthread_create(&thr, NULL, config_changer, h.t), 0);
    for (unsigned int i = 0; i < 20000; i++) {
        uint32_t g = rd(VIRTIO_MMIO_CONFIG_GENERATION);

        cr_assert_geq(g, last);
        last = g;
        wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    }
    pthread_join(thr, NULL);
    cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen0 + 20000);
}

/* A guest retrying DRIVER_OK against a device that cannot start cannot flood the log either. */
Test(virtio_mmio_log, failing_activations_rate_limited, .init = setup_redirected,
     .fini = harness_teardown)
{
    char line[512];
    unsigned int logged = 0;
    FILE *err;

    h.dev.activate_ret = -EIO;
    for (unsigned int i = 0; i < 100; i++) {
        wr(VIRTIO_MMIO_STATUS, 0);
        h_driver_ok();
        cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    }
    fflush(stderr);
    err = cr_get_redirected_stderr();
    while (fgets(line, sizeof(line), err))
        logged++;
    cr_assert_eq(logged, VIRTIO_MMIO_LOG_LIMIT);
    cr_assert_eq(h.irq.pulses, 100, "every failure still reaches the driver");
}
