/*
 * vhost-user-blk against the fake back-end: which block features reach the guest, the config
 * space from GET_CONFIG (capacity, num_queues fixed up to queues=N), and the multiqueue
 * consistency checks that make a bad pairing a start-up error.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <string.h>

#include "vhost_user_blk.h"
#include "vhost_user_harness.h"

#define BIT(b) VIRTIO_BIT(b)

static uint64_t offered(struct vuh *h)
{
    vuh_wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return hi << 32 | vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* A back-end like qemu-storage-daemon: capacity 2048 sectors, num_queues from the test. */
static void blk_init(struct vuh *h, struct fb_config *cfg, uint64_t blk_features, uint16_t nq)
{
    uint64_t cap = htole64(2048);
    uint16_t n = htole16(nq);

    cfg->features |= blk_features;
    vuh_init(h, cfg);
    pthread_mutex_lock(&h->fb.lock);
    memset(h->fb.config, 0, sizeof(h->fb.config));
    memcpy(h->fb.config + VIRTIO_BLK_CONFIG_CAPACITY, &cap, sizeof(cap));
    memcpy(h->fb.config + VIRTIO_BLK_CONFIG_NUM_QUEUES, &n, sizeof(n));
    pthread_mutex_unlock(&h->fb.lock);
}

Test(vhost_user_blk, block_features_pass_others_do_not)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    /* BARRIER (0) is legacy; SECURE_ERASE (16) and ZONED (17) need config beyond 60 bytes. */
    blk_init(&h, &cfg,
             BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(0) |
                 BIT(16) | BIT(17) | BIT(VIRTIO_F_RING_PACKED),
             1);
    cr_assert_not_null(vuh_create(&h, &vhost_user_blk_type, NULL));
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_DEVICE_ID), 2);
    cr_expect_eq(offered(&h), BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
                                  BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_RO) |
                                  BIT(VIRTIO_BLK_F_BLK_SIZE));
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CONFIG_CAPACITY), 2048);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CONFIG_CAPACITY + 4), 0);
    struct fb_msg m;
    cr_assert(fake_backend_last(&h.fb, VU_REQ_GET_CONFIG, &m));
    cr_expect_eq(((struct vu_wire_config_hdr *)m.payload)->size, VIRTIO_BLK_CONFIG_SIZE);
    vuh_fini(&h, true);
}

Test(vhost_user_blk, multiqueue_runs_every_queue)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    blk_init(&h, &cfg, BIT(VIRTIO_BLK_F_MQ), 4);
    cr_assert_not_null(vuh_create(&h, &vhost_user_blk_type, "queues=2"));
    /* The guest must not use more queues than the transport has. */
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + 32) >> 16, 2);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), VHOST_USER_DEFAULT_QUEUE_SIZE);
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_MQ), 2, 128);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1]);
    vuh_fini(&h, true);
}

Test(vhost_user_blk, queues_need_mq)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    blk_init(&h, &cfg, 0, 4);
    cr_expect_null(vuh_create(&h, &vhost_user_blk_type, "queues=2"));
    vuh_fini(&h, true);
}

Test(vhost_user_blk, queues_beyond_config_num_queues_are_refused)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    blk_init(&h, &cfg, BIT(VIRTIO_BLK_F_MQ), 1);
    cr_expect_null(vuh_create(&h, &vhost_user_blk_type, "queues=2"));
    vuh_fini(&h, true);
}

Test(vhost_user_blk, queues_beyond_get_queue_num_are_refused)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.queue_num = 1;
    blk_init(&h, &cfg, BIT(VIRTIO_BLK_F_MQ), 4);
    cr_expect_null(vuh_create(&h, &vhost_user_blk_type, "queues=2"));
    vuh_fini(&h, true);
}

Test(vhost_user_blk, queue_size_sets_queue_num_max)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    blk_init(&h, &cfg, 0, 1);
    cr_assert_not_null(vuh_create(&h, &vhost_user_blk_type, "queue-size=64"));
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
    vuh_fini(&h, true);
}
