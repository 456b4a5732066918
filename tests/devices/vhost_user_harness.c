/*
 * The vhost-user device fixture (see vhost_user_harness.h). Criterion runs each test in its
 * own process, so fd counts are per test.
 */
#include "vhost_user_harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int vuh_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

struct fb_config vuh_cfg(void)
{
    return (struct fb_config){
        .features = VU_BIT(VU_F_VERSION_1) | VU_BIT(VIRTIO_F_EVENT_IDX) | VU_BIT(VUH_DEV_BIT) |
                    VU_BIT(VU_F_PROTOCOL_FEATURES),
        .protocol_features = VU_BIT(VU_PF_COUNT) - 1,
        .queue_num = 8,
        .max_mem_slots = 8,
    };
}

static void *vuh_loop_main(void *arg)
{
    struct vuh *h = arg;

    h->loop_ret = evloop_run(&h->loop); /* checked by vuh_fini: asserts belong to the test thread */
    return NULL;
}

void vuh_init(struct vuh *h, const struct fb_config *cfg)
{
    memset(h, 0, sizeof(*h));
    h->gm.fd = -1;
    h->fds_before = vuh_count_fds();
    cr_assert_eq(gmem_create(&h->gm, VUH_RAM, false), 0);
    fake_irq_chip_init(&h->irq, true);
    cr_assert_eq(evloop_init(&h->loop), 0);
    cr_assert_eq(pthread_create(&h->loop_thread, NULL, vuh_loop_main, h), 0);
    h->loop_running = true;
    cr_assert_eq(fake_backend_start(&h->fb, cfg), 0);
    pthread_mutex_lock(&h->fb.lock);
    for (unsigned int i = 0; i < sizeof(h->fb.config); i++)
        h->fb.config[i] = (uint8_t)(0x10 + i);
    pthread_mutex_unlock(&h->fb.lock);
}

struct vhost_user_dev *vuh_create(struct vuh *h, const struct vhost_user_type *type,
                                  const char *extra)
{
    struct vhost_user_machine m = {
        .base = VUH_BASE,
        .gsi = VUH_GSI,
        .irq = &h->irq.chip,
        .gmem = &h->gm,
        .loop = &h->loop,
    };
    struct vhost_user_spec spec;
    char args[512], err[256];

    snprintf(args, sizeof(args), "socket=%s,connect-timeout=0,reply-timeout=1000%s%s", h->fb.path,
             extra && *extra ? "," : "", extra ? extra : "");
    cr_assert_eq(vhost_user_dev_parse(type, args, &spec, err, sizeof(err)), 0, "%s", err);
    h->d = vhost_user_dev_create(type, "test0", &spec, &m);
    h->t = h->d ? vhost_user_dev_mmio(h->d) : NULL;
    return h->d;
}

void vuh_start(struct vuh *h, const struct fb_config *cfg, const struct vhost_user_type *type,
               const char *extra)
{
    vuh_init(h, cfg);
    cr_assert_not_null(vuh_create(h, type, extra), "the device was not created");
}

void vuh_fini(struct vuh *h, bool strict)
{
    if (h->loop_running) {
        evloop_stop(&h->loop);
        pthread_join(h->loop_thread, NULL);
        cr_expect_eq(h->loop_ret, 0, "the event loop failed: %d", h->loop_ret);
    }
    vhost_user_dev_destroy(h->d);
    fake_backend_stop(&h->fb);
    if (strict) {
        for (unsigned int i = 0; i < h->fb.nviolations; i++)
            cr_log_error("back-end saw: %s", h->fb.violations[i]);
        cr_expect_eq(h->fb.nviolations, 0, "the fake back-end saw %u violations",
                     h->fb.nviolations);
    }
    evloop_destroy(&h->loop);
    gmem_destroy(&h->gm);
    cr_assert_eq(h->irq.nioeventfds, 0, "ioeventfds left assigned");
    cr_assert_eq(h->irq.nirqfds, 0, "irqfds left assigned");
    cr_assert_eq(vuh_count_fds(), h->fds_before, "fd leak: %d open, %d before", vuh_count_fds(),
                 h->fds_before);
}

uint32_t vuh_rd(struct vuh *h, uint64_t off)
{
    uint32_t v = 0xdeadbeef;

    virtio_mmio_read(h->t, off, &v, 4);
    return v;
}

void vuh_wr(struct vuh *h, uint64_t off, uint32_t val)
{
    virtio_mmio_write(h->t, off, &val, 4);
}

uint32_t vuh_status(struct vuh *h)
{
    return vuh_rd(h, VIRTIO_MMIO_STATUS);
}

void vuh_features_ok(struct vuh *h, uint64_t features)
{
    uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

    vuh_wr(h, VIRTIO_MMIO_STATUS, 0);
    vuh_wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vuh_wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vuh_wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    vuh_wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
    vuh_wr(h, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    vuh_wr(h, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    vuh_wr(h, VIRTIO_MMIO_STATUS, st);
    cr_assert_eq(vuh_status(h), st, "FEATURES_OK did not stick");
}

void vuh_queues(struct vuh *h, unsigned int nq, uint32_t num)
{
    for (unsigned int q = 0; q < nq; q++) {
        uint64_t base = VUH_RING_GPA + q * 0x10000ULL;

        vuh_wr(h, VIRTIO_MMIO_QUEUE_SEL, q);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_NUM, num);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x8000));
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0xc000));
        vuh_wr(h, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
        vuh_wr(h, VIRTIO_MMIO_QUEUE_READY, 1);
        cr_assert_eq(vuh_rd(h, VIRTIO_MMIO_QUEUE_READY), 1, "queue %u refused", q);
    }
}

void vuh_driver_ok(struct vuh *h)
{
    vuh_wr(h, VIRTIO_MMIO_STATUS,
           VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
               VIRTIO_STATUS_DRIVER_OK);
}

void vuh_init_driver(struct vuh *h, uint64_t features, unsigned int nq, uint32_t num)
{
    vuh_features_ok(h, features);
    vuh_queues(h, nq, num);
    vuh_driver_ok(h);
}

bool vuh_until(bool (*cond)(struct vuh *h), struct vuh *h)
{
    for (int i = 0; i < 200; i++) {
        if (cond(h))
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    return cond(h);
}

bool vuh_needs_reset(struct vuh *h)
{
    return vuh_status(h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}
