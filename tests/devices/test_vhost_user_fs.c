/*
 * vhost-user-fs and the generic device as a file system, against the fake back-end: the tag
 * and num_request_queues the VMM puts in config space, the hiprio queue counted in
 * GET_QUEUE_NUM and started like the request queues, the SPEC's tag rules, and the generic
 * kind's config=HEX for back-ends without GET_CONFIG (virtiofsd).
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <string.h>

#include "vhost_user_fs.h"
#include "vhost_user_generic.h"
#include "vhost_user_harness.h"

#define BIT(b) VIRTIO_BIT(b)

/* A back-end like virtiofsd (libvhost-user): no CONFIG protocol feature, two queues. */
static struct fb_config fs_cfg(void)
{
    struct fb_config cfg = vuh_cfg();

    cfg.features = BIT(VIRTIO_F_VERSION_1) | BIT(VU_F_PROTOCOL_FEATURES) | BIT(0) /* NOTIF */;
    cfg.protocol_features &= ~BIT(VU_PF_CONFIG);
    cfg.queue_num = 2;
    return cfg;
}

static void config_bytes(struct vuh *h, uint8_t *out, unsigned int len)
{
    for (unsigned int off = 0; off < len; off += 4) {
        uint32_t v = htole32(vuh_rd(h, VIRTIO_MMIO_CONFIG + off));

        memcpy(out + off, &v, 4);
    }
}

static uint64_t offered(struct vuh *h)
{
    vuh_wr(h, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t hi = vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
    vuh_wr(h, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return hi << 32 | vuh_rd(h, VIRTIO_MMIO_DEVICE_FEATURES);
}

Test(vhost_user_fs, tag_and_request_queues_in_config_space)
{
    struct fb_config cfg = fs_cfg();
    struct vuh h;
    uint8_t c[VIRTIO_FS_CONFIG_SIZE];
    uint8_t want[36] = "hostshare";

    vuh_start(&h, &cfg, &vhost_user_fs_type, "tag=hostshare");
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_DEVICE_ID), 26);
    config_bytes(&h, c, sizeof(c));
    cr_expect_arr_eq(c, want, 36, "tag, NUL-padded");
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + VIRTIO_FS_CONFIG_NUM_REQUESTS), 1);
    /* No notification queue: VIRTIO_FS_F_NOTIFICATION is not passed. */
    cr_expect_eq(offered(&h), BIT(VIRTIO_F_VERSION_1));
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_CONFIG), 0);
    vuh_wr(&h, VIRTIO_MMIO_QUEUE_SEL, 1);
    cr_expect_neq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "hiprio + one request queue");
    vuh_wr(&h, VIRTIO_MMIO_QUEUE_SEL, 2);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    vuh_fini(&h, true);
}

Test(vhost_user_fs, a_36_byte_tag_has_no_terminator)
{
    struct fb_config cfg = fs_cfg();
    struct vuh h;
    uint8_t c[VIRTIO_FS_CONFIG_SIZE];
    const char *tag = "abcdefghijklmnopqrstuvwxyz0123456789";

    vuh_start(&h, &cfg, &vhost_user_fs_type, "tag=abcdefghijklmnopqrstuvwxyz0123456789");
    config_bytes(&h, c, sizeof(c));
    cr_expect_arr_eq(c, tag, 36);
    cr_expect_eq(c[36], 1, "num_request_queues follows at once");
    vuh_fini(&h, true);
}

Test(vhost_user_fs, hiprio_and_request_queues_start_at_the_backend)
{
    struct fb_config cfg = fs_cfg();
    struct vuh h;

    vuh_start(&h, &cfg, &vhost_user_fs_type, "tag=t");
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1), 2, 128);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1]);
    cr_expect(h.fb.ring_enabled[0] && h.fb.ring_enabled[1]);
    vuh_fini(&h, true);
}

Test(vhost_user_fs, request_queues_plus_hiprio_must_fit_get_queue_num)
{
    struct fb_config cfg = fs_cfg();
    struct vuh h;

    cfg.queue_num = 3;
    vuh_init(&h, &cfg);
    cr_assert_not_null(vuh_create(&h, &vhost_user_fs_type, "tag=t,queues=2"));
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG + VIRTIO_FS_CONFIG_NUM_REQUESTS), 2);
    vhost_user_dev_destroy(h.d);
    cr_expect_null(vuh_create(&h, &vhost_user_fs_type, "tag=t,queues=3"));
    vuh_fini(&h, true);
}

Test(vhost_user_fs, spec_needs_a_tag_of_at_most_36_bytes)
{
    struct vhost_user_spec s;
    char err[256];

    cr_expect_neq(vhost_user_dev_parse(&vhost_user_fs_type, "socket=/s", &s, err, sizeof(err)), 0);
    cr_expect(strstr(err, "tag=TAG is required"), "%s", err);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_fs_type,
                                       "socket=/s,tag=abcdefghijklmnopqrstuvwxyz01234567890", &s,
                                       err, sizeof(err)),
                  0);
    cr_expect(strstr(err, "tag must be 1..36 bytes"), "%s", err);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_fs_type, "socket=/s,tag=", &s, err, sizeof(err)),
                  0);
    cr_expect_neq(vhost_user_dev_parse(&vhost_user_fs_type, "socket=/s,tag=a,mac=52:54:00:00:00:01",
                                       &s, err, sizeof(err)),
                  0, "mac is a net key");
    cr_assert_eq(
        vhost_user_dev_parse(&vhost_user_fs_type, "socket=/s,tag=my fs", &s, err, sizeof(err)), 0,
        "%s", err);
    cr_expect_str_eq(s.tag, "my fs");
}

Test(vhost_user_fs, generic_device_with_config_from_the_spec)
{
    struct fb_config cfg = fs_cfg();
    struct vuh h;
    uint8_t c[8];

    vuh_start(&h, &cfg, &vhost_user_generic_type, "virtio-id=26,queues=2,config=7461670001000000");
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_DEVICE_ID), 26);
    config_bytes(&h, c, sizeof(c));
    cr_expect_arr_eq(c, "tag\0\1\0\0\0", 8);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_CONFIG), 0, "not asked of the back-end");
    /* Read-only: the back-end cannot take a SET_CONFIG either. */
    vuh_wr(&h, VIRTIO_MMIO_CONFIG, 0);
    cr_expect_eq(vuh_rd(&h, VIRTIO_MMIO_CONFIG), 0x00676174);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_CONFIG), 0);
    /* Every device-type feature passes in the generic kind. */
    cr_expect_eq(offered(&h), BIT(VIRTIO_F_VERSION_1) | BIT(0));
    vuh_init_driver(&h, BIT(VIRTIO_F_VERSION_1), 2, 64);
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1]);
    vuh_fini(&h, true);
}

Test(vhost_user_fs, generic_config_spec_errors)
{
    struct vhost_user_spec s;
    char err[256];
    const struct vhost_user_type *g = &vhost_user_generic_type;

    cr_assert_eq(vhost_user_dev_parse(g, "virtio-id=26,socket=/s,config=00ff", &s, err, 256), 0,
                 "%s", err);
    cr_expect_eq(s.config_size, 2);
    cr_expect_eq(s.config[1], 0xff);
    cr_expect_neq(vhost_user_dev_parse(g, "virtio-id=26,socket=/s,config=0", &s, err, 256), 0);
    cr_expect_neq(vhost_user_dev_parse(g, "virtio-id=26,socket=/s,config=zz", &s, err, 256), 0);
    cr_expect_neq(vhost_user_dev_parse(g, "virtio-id=26,socket=/s,config=", &s, err, 256), 0);
    cr_expect_neq(
        vhost_user_dev_parse(g, "virtio-id=26,socket=/s,config=0011,config-size=4", &s, err, 256),
        0);
    cr_expect(strstr(err, "config-size=4, but config= gives 2 bytes"), "%s", err);
    cr_expect_neq(
        vhost_user_dev_parse(&vhost_user_fs_type, "socket=/s,tag=a,config=00", &s, err, 256), 0,
        "fs has its own config");
}
