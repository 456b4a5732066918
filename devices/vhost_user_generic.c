/*
 * The generic vhost-user device kind (see vhost_user_generic.h): no device-specific code at
 * all, the device id and config size come from the SPEC.
 */
#include "vhost_user_generic.h"

const struct vhost_user_type vhost_user_generic_type = {
    .kind = "vhost-user",
    .type = "vhost-user",
    .device_id = 0, /* virtio-id= */
    .keys = VHOST_USER_KEYS_COMMON | VHOST_USER_KEY_VIRTIO_ID | VHOST_USER_KEY_CONFIG_SIZE |
            VHOST_USER_KEY_CONFIG,
    .max_queues = VIRTIO_MMIO_MAX_QUEUES,
    .config_size = VHOST_USER_CONFIG_FROM_SPEC,
    .config_from_backend = true,
    .device_features = VHOST_USER_DEVICE_TYPE_BITS,
};
