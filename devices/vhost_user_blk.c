/*
 * vhost-user-blk: the block-specific part of a vhost-user device (see vhost_user_blk.h): which
 * features pass, how big the config space is, and the multiqueue consistency checks.
 */
#include "vhost_user_blk.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "virtio_spec.h"

/*
 * SECURE_ERASE and ZONED are held back: their config fields lie past the 60 bytes read here
 * (older back-ends refuse GET_CONFIG for a size they do not know). The legacy bits (BARRIER,
 * SCSI) have no meaning for a VERSION_1 device.
 */
#define VUB_FEATURES                                                                               \
    (VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |                        \
     VIRTIO_BIT(VIRTIO_BLK_F_GEOMETRY) | VIRTIO_BIT(VIRTIO_BLK_F_RO) |                             \
     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |                          \
     VIRTIO_BIT(VIRTIO_BLK_F_TOPOLOGY) | VIRTIO_BIT(VIRTIO_BLK_F_CONFIG_WCE) |                     \
     VIRTIO_BIT(VIRTIO_BLK_F_MQ) | VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |                              \
     VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | VIRTIO_BIT(VIRTIO_BLK_F_LIFETIME))

static int vub_check_spec(const struct vhost_user_spec *spec, char *err, size_t errlen)
{
    if (spec->profile == VU_PROFILE_2017) {
        snprintf(err, errlen,
                 "profile=2017 has no GET_CONFIG, which vhost-user-blk needs for "
                 "the disk's capacity");
        return -EINVAL;
    }
    return 0;
}

static uint16_t vub_get16(const uint8_t *config, unsigned int off)
{
    uint16_t v;

    memcpy(&v, config + off, sizeof(v));
    return le16toh(v);
}

/* 5.2.5: with MQ the driver uses num_queues queues; the transport has exactly queues=N. */
static int vub_fix_queues(struct vhost_user_setup *s)
{
    uint16_t n = vub_get16(s->config, VIRTIO_BLK_CONFIG_NUM_QUEUES);
    uint16_t want = htole16((uint16_t)s->num_queues);

    if (!virtio_has_feature(s->features, VIRTIO_BLK_F_MQ)) {
        if (s->num_queues == 1)
            return 0;
        log_err("%s: queues=%u, but the back-end at %s does not offer VIRTIO_BLK_F_MQ", s->name,
                s->num_queues, s->spec->socket);
        return -EOPNOTSUPP;
    }
    if (n < s->num_queues) {
        log_err("%s: queues=%u, but the back-end at %s says num_queues=%u in its config", s->name,
                s->num_queues, s->spec->socket, n);
        return -EINVAL;
    }
    memcpy(s->config + VIRTIO_BLK_CONFIG_NUM_QUEUES, &want, sizeof(want));
    return 0;
}

static void vub_describe(const struct vhost_user_setup *s)
{
    uint64_t sectors;
    uint32_t blk_size = 512;

    memcpy(&sectors, s->config + VIRTIO_BLK_CONFIG_CAPACITY, sizeof(sectors));
    sectors = le64toh(sectors);
    if (virtio_has_feature(s->features, VIRTIO_BLK_F_BLK_SIZE)) {
        memcpy(&blk_size, s->config + VIRTIO_BLK_CONFIG_BLK_SIZE, sizeof(blk_size));
        blk_size = le32toh(blk_size);
    }
    log_info("%s: %s: %" PRIu64 " sectors (%" PRIu64 " MiB), block size %u, %u queue(s)%s%s",
             s->name, s->spec->socket, sectors, sectors >> 11, blk_size, s->num_queues,
             virtio_has_feature(s->features, VIRTIO_BLK_F_FLUSH) ? ", flush" : "",
             virtio_has_feature(s->features, VIRTIO_BLK_F_RO) ? ", read-only" : "");
}

static int vub_on_connect(struct vhost_user_setup *s)
{
    int ret = vub_fix_queues(s);

    if (ret == 0 && !s->config_change)
        vub_describe(s);
    return ret;
}

const struct vhost_user_type vhost_user_blk_type = {
    .kind = "vhost-user-blk",
    .type = "blk",
    .device_id = 2,
    .keys = VHOST_USER_KEYS_COMMON,
    .max_queues = VHOST_USER_BLK_MAX_QUEUES,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .config_from_backend = true,
    .device_features = VUB_FEATURES,
    .check_spec = vub_check_spec,
    .on_connect = vub_on_connect,
};
