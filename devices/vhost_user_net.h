/*
 * vhost-user-net: a virtio network device (id 1) whose packets are moved by an external
 * back-end (DPDK testpmd, OVS-DPDK...).
 * --device vhost-user-net,socket=PATH[,queues=N][,mac=XX:XX:XX:XX:XX:XX][,mtu=N]
 * [,queue-size=N][,profile=modern|2017][,server=on][,connect-timeout=MS][,reply-timeout=MS]
 *
 * The VMM supplies the config space (MAC, link status, max_virtqueue_pairs, MTU) and serves
 * the control queue itself (multiqueue pair selection, announcement acks); the back-end gets
 * the 2 x N data rings. Offloads and mergeable buffers pass through as the back-end offers.
 * mtu= is sent once per session with NET_SET_MTU; a refusal (REPLY_ACK) fails start-up.
 */
#ifndef MINIVMM_VHOST_USER_NET_H
#define MINIVMM_VHOST_USER_NET_H

#include "vhost_user_dev.h"

/* virtio 1.2, 5.1.3 feature bits. */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_GUEST_UFO      10
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_HOST_UFO       14
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_CTRL_RX        18
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21
#define VIRTIO_NET_F_MQ             22

/* 5.1.4 struct virtio_net_config, up to mtu (speed/duplex/RSS are not offered). */
#define VIRTIO_NET_CONFIG_MAC       0  /* u8[6] */
#define VIRTIO_NET_CONFIG_STATUS    6  /* le16 */
#define VIRTIO_NET_CONFIG_MAX_PAIRS 8  /* le16 */
#define VIRTIO_NET_CONFIG_MTU       10 /* le16 */
#define VIRTIO_NET_CONFIG_SIZE      12

#define VIRTIO_NET_S_LINK_UP  1
#define VIRTIO_NET_S_ANNOUNCE 2

/* 5.1.6.5 control queue: class, command, then data; the device writes one ack byte. */
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1
#define VIRTIO_NET_CTRL_ANNOUNCE        3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK    0
#define VIRTIO_NET_CTRL_MQ              4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0

/* Queue pairs a device may have: 2 x 16 rings + the control queue fit the transport. */
#define VHOST_USER_NET_MAX_PAIRS 16u

extern const struct vhost_user_type vhost_user_net_type;

/* A net device's VMM-side figures (the control socket's stats). */
struct vhost_user_net_stats {
    uint16_t status;             /* VIRTIO_NET_S_* as the guest reads it */
    unsigned int active_pairs;   /* 0 when the driver has not started the device */
    uint64_t ctrl_cmds;          /* control queue commands served */
    uint64_t announce_requested; /* after migrations: VIRTIO_NET_S_ANNOUNCE raised */
    uint64_t announce_acked;     /* ... and the guest's ANNOUNCE_ACK */
    uint64_t rarp_sent;          /* ... or SEND_RARP accepted by the back-end */
};

/* -ENODEV when d is not a vhost-user-net device. */
MUST_CHECK int vhost_user_net_get_stats(struct vhost_user_dev *d, struct vhost_user_net_stats *out);

#endif
