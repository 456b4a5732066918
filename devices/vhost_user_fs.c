/*
 * vhost-user-fs (see vhost_user_fs.h): the tag and request-queue count the VMM puts in the
 * config space, and the check that the SPEC names a tag.
 */
#include "vhost_user_fs.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static int vuf_check_spec(const struct vhost_user_spec *spec, char *err, size_t errlen)
{
    if (!spec->tag[0]) {
        snprintf(err, errlen, "tag=TAG is required (the name the guest mounts)");
        return -EINVAL;
    }
    return 0;
}

/* 5.11.4: tag is NUL-padded (not terminated when 36 bytes long); num_request_queues. */
static int vuf_on_connect(struct vhost_user_setup *s)
{
    uint32_t nreq = htole32(s->num_queues - 1); /* queue 0 is hiprio */

    memset(s->config, 0, VIRTIO_FS_CONFIG_SIZE);
    memcpy(s->config + VIRTIO_FS_CONFIG_TAG, s->spec->tag, strlen(s->spec->tag));
    memcpy(s->config + VIRTIO_FS_CONFIG_NUM_REQUESTS, &nreq, sizeof(nreq));
    if (!s->config_change)
        log_info("%s: %s: tag '%s', hiprio + %u request queue(s)", s->name, s->spec->socket,
                 s->spec->tag, s->num_queues - 1);
    return 0;
}

const struct vhost_user_type vhost_user_fs_type = {
    .kind = "vhost-user-fs",
    .type = "fs",
    .device_id = 26,
    .keys = VHOST_USER_KEYS_COMMON | VHOST_USER_KEY_TAG,
    .max_queues = VHOST_USER_FS_MAX_QUEUES,
    .config_size = VIRTIO_FS_CONFIG_SIZE,
    /* virtiofsd has no GET_CONFIG: the tag is the VMM's, as in QEMU's vhost-user-fs. */
    .config_from_backend = false,
    /* VIRTIO_FS_F_NOTIFICATION (0) needs a notification queue this device does not have. */
    .device_features = 0,
    .check_spec = vuf_check_spec,
    .on_connect = vuf_on_connect,
    .extra_rings = 1,
};
