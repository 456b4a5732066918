/*
 * Internal to vhost_user_net*.c: one net device's VMM-side state, shared by the kind
 * (vhost_user_net.c: features, config space, MTU, activation, announcements) and the control
 * queue (vhost_user_net_ctrl.c). Every access is under the device lock.
 */
#ifndef MINIVMM_VHOST_USER_NET_INT_H
#define MINIVMM_VHOST_USER_NET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user_kind.h"
#include "vhost_user_net.h"
#include "virtq.h"

struct vun {
    char name[32];
    uint8_t mac[6];
    unsigned int pairs; /* queues=N: max_virtqueue_pairs */
    unsigned int mtu;   /* 0: none */
    uint16_t status;    /* VIRTIO_NET_S_*, as the guest reads it */

    /* The current activation (DRIVER_OK until reset). */
    uint64_t acked;            /* 0 when not running */
    unsigned int active_pairs; /* pairs whose rings are enabled at the back-end */
    bool ctrl_running;
    unsigned int ctrl_q; /* index of the control queue (2N with MQ, else 2) */
    struct virtq ctrl;
    uint64_t ctrl_used_gpa; /* the control queue's used ring (logged when the VMM writes it) */
    uint64_t ctrl_used_len;
    uint64_t ctrl_cmds; /* commands served, for tests and logs */

    /* Announcements after migrations (stats). */
    uint64_t announce_requested; /* VIRTIO_NET_S_ANNOUNCE set for the guest */
    uint64_t announce_acked;     /* the guest's ANNOUNCE_ACK */
    uint64_t rarp_sent;          /* SEND_RARP accepted by the back-end */

    /* Destination: the source's state (vhost_user_net_state.c), for the next activation. */
    bool restore;
    struct vun_saved {
        uint16_t active_pairs;
        bool ctrl_running;
        uint16_t last_avail;
        uint16_t used_idx;
        uint16_t signalled_used;
        uint64_t ctrl_cmds;
    } saved;
};

/* vhost_user_net.c */
/* The control queue's index for these acked features, or -1 without CTRL_VQ. */
int vun_ctrl_queue(const struct vun *n, uint64_t features);
/* Enables pairs [0, pairs) at the back-end and disables the rest: 0, or -errno (logged). */
MUST_CHECK int vun_set_pairs(struct vhost_user_dev *d, struct vun *n, unsigned int pairs);
/* Writes the status field into the config space; notify: config change notification. */
MUST_CHECK int vun_put_status(struct vhost_user_dev *d, struct vun *n, bool notify);

/* vhost_user_net_state.c: the migration hooks, and the activation's use of a loaded state. */
size_t vun_save_state(struct vhost_user_dev *d, void *buf, size_t cap);
MUST_CHECK int vun_load_state(struct vhost_user_dev *d, const void *buf, size_t len, char *why,
                              size_t whylen);
/* At activation (control queue bound): continue where the source stopped. -EPROTO if the
 * saved position does not fit the ring now in guest memory. */
MUST_CHECK int vun_restore(struct vhost_user_dev *d, struct vun *n);

/* vhost_user_net_ctrl.c: the kind's kick hook for the control queue. */
void vunc_kick(struct vhost_user_dev *d, unsigned int q);

#endif
