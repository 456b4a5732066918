/*
 * vhost-user-blk: a virtio block device (id 2) served by an external back-end such as
 * qemu-storage-daemon. --device vhost-user-blk,socket=PATH[,queues=N][,queue-size=N]
 * [,profile=modern][,server=on][,connect-timeout=MS][,reply-timeout=MS]
 * Capacity, geometry, block size and limits come from the back-end (GET_CONFIG); flush,
 * read-only and multiqueue are passed through as the back-end offers them.
 */
#ifndef MINIVMM_VHOST_USER_BLK_H
#define MINIVMM_VHOST_USER_BLK_H

#include "vhost_user_dev.h"

/* virtio 1.2, 5.2.3 feature bits (the ones passed through). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_F_LIFETIME     15

/* 5.2.4 struct virtio_blk_config, up to write_zeroes_may_unmap and its padding. */
#define VIRTIO_BLK_CONFIG_CAPACITY   0  /* le64, 512-byte sectors */
#define VIRTIO_BLK_CONFIG_BLK_SIZE   20 /* le32 */
#define VIRTIO_BLK_CONFIG_NUM_QUEUES 34 /* le16 */
#define VIRTIO_BLK_CONFIG_SIZE       60

#define VHOST_USER_BLK_MAX_QUEUES 16u

extern const struct vhost_user_type vhost_user_blk_type;

#endif
