/*
 * vhost-user-fs: a virtio file system device (id 26) served by an external back-end such as
 * virtiofsd. --device vhost-user-fs,socket=PATH,tag=TAG[,queues=N][,queue-size=N]
 * [,profile=...][,server=on][,connect-timeout=MS][,reply-timeout=MS]
 * The VMM supplies the config space (the tag the guest mounts, num_request_queues = N); the
 * back-end serves the hiprio queue (0) and the N request queues (1..N).
 */
#ifndef MINIVMM_VHOST_USER_FS_H
#define MINIVMM_VHOST_USER_FS_H

#include "vhost_user_dev.h"

/* virtio 1.2, 5.11.4 struct virtio_fs_config. */
#define VIRTIO_FS_CONFIG_TAG          0  /* u8[36], NUL-padded UTF-8 */
#define VIRTIO_FS_CONFIG_NUM_REQUESTS 36 /* le32 */
#define VIRTIO_FS_CONFIG_SIZE         40

#define VHOST_USER_FS_MAX_QUEUES 16u /* request queues */

extern const struct vhost_user_type vhost_user_fs_type;

#endif
