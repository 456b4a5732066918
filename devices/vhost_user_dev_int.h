/*
 * Internal to vhost_user_dev*.c: the device's state and the helpers its files share.
 * vhost_user_dev.c builds the device and serves config space; vhost_user_dev_run.c starts and
 * stops the back-end's rings and watches its sockets.
 *
 * Locking: `lock` serialises the session (vu_frontend is single-threaded). vCPU threads take
 * it inside the transport's callbacks (transport lock -> device lock); the event loop only
 * ever try-locks it and otherwise leaves a "poke" for the holder, who services the sockets
 * when it unlocks (vud_unlock). With the device lock held we only call the transport's
 * lock-free signals (config_changed, device_failed), never its register functions.
 */
#ifndef MINIVMM_VHOST_USER_DEV_INT_H
#define MINIVMM_VHOST_USER_DEV_INT_H

#include <pthread.h>

#include "vhost_user_dev.h"

/* VMM-served queues watched at once (net: one control queue). */
#define VUD_VMMQ_WATCH_MAX 4

struct vhost_user_dev {
    char name[32];
    const struct vhost_user_type *type;
    struct vhost_user_spec spec;
    struct vhost_user_machine m;
    struct virtio_dev_ops ops; /* per device: the generic kind's device id comes from the SPEC */
    unsigned int num_queues;
    /* GET_QUEUE_NUM must allow this many (the back-end's unit; num_queues is the transport's). */
    unsigned int backend_queues;
    unsigned int queue_size;
    uint32_t config_size;
    struct virtio_mmio *mmio;
    struct vu_frontend *fe;

    pthread_mutex_t lock; /* protects everything below */
    bool lock_init;
    int poke;                 /* __atomic: the event loop saw activity while the lock was taken */
    struct ev_handler sock_h; /* the session's main socket */
    struct ev_handler chan_h; /* the back-end channel */
    bool sock_watched;
    bool chan_watched;
    bool broken;       /* the session was lost; the next DRIVER_OK reconnects */
    bool config_dirty; /* CONFIG_CHANGE_MSG arrived: re-read the config space */
    uint64_t features; /* offered to the guest; stable from creation */
    uint8_t config[VU_CONFIG_MAX_SIZE];
    uint64_t failures;
    uint64_t reconnects;

    /* The kind's state and the queues the VMM serves (vhost_user_dev_vmmq.c). */
    void *priv;
    uint64_t vmmq_mask;    /* VMM-served queues of the current activation */
    uint64_t vmmq_pending; /* __atomic: kicked, not yet served */
    /* The current activation's queues (NULL when not activated). */
    const struct virtio_queue_config *act_queues;
    unsigned int act_nqueues;
    struct vud_kick {
        struct ev_handler h;
        struct vhost_user_dev *d;
        unsigned int q;
        bool watched;
    } vmmq_kick[VUD_VMMQ_WATCH_MAX];
    /* Migration (vhost_user_migrate.c): VMM-served queues wait while the rings are stopped,
     * and the VMM's own writes to guest RAM go into the back-end's dirty log too. */
    bool vmmq_stopped;
    uint8_t *vmm_log; /* bit per 4 KiB page; NULL when not logging */
    uint64_t vmm_log_bytes;
};

/* Transport feature bits a vhost-user device may pass through (split rings only). */
#define VUD_TRANSPORT_FEATURES                                                                     \
    (VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |                         \
     VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_IN_ORDER) |                              \
     VIRTIO_BIT(VIRTIO_F_ORDER_PLATFORM))

/* vhost_user_dev.c */
/*
 * Connected session -> features to offer and config space, through the kind's hook. Logs.
 * config_change: only the config is wanted (CONFIG_CHANGE_MSG).
 */
MUST_CHECK int vud_negotiate(struct vhost_user_dev *d, uint64_t *features, uint8_t *config,
                             bool config_change);

/* vhost_user_dev_vmmq.c: the kind's hooks and the queues the VMM serves (lock held). */
/* Bits of the acked features that go to the back-end in SET_FEATURES. */
uint64_t vudq_backend_features(struct vhost_user_dev *d, uint64_t acked);
/* Which queues are VMM-served for this activation; remembered until vudq_reset. */
uint64_t vudq_mask(struct vhost_user_dev *d, const struct virtio_activation *act);
/* After the back-end's rings started: the kind's activate, then watching the kicks. */
MUST_CHECK int vudq_activate(struct vhost_user_dev *d, const struct virtio_activation *act);
void vudq_reset(struct vhost_user_dev *d);
/* Serves kicked VMM queues (from vud_service). */
void vudq_service(struct vhost_user_dev *d);
/* The transport's notify op (a kick that reached the VMM: no ioeventfd). */
void vudq_notify(void *opaque, unsigned int q);

/* vhost_user_dev_run.c */
void vud_lock(struct vhost_user_dev *d);
/* Unlocks, then services what the event loop left while the lock was held. */
void vud_unlock(struct vhost_user_dev *d);
/* Starts watching the session's sockets in the event loop. */
MUST_CHECK int vud_watch(struct vhost_user_dev *d);
void vud_unwatch(struct vhost_user_dev *d);
/* The session is lost or unusable: disconnect and stop watching (lock held). */
void vud_broken(struct vhost_user_dev *d);
/* Same, and tell the guest: DEVICE_NEEDS_RESET with one log line (lock held). */
void vud_fail(struct vhost_user_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
MUST_CHECK int vud_activate(void *opaque, const struct virtio_activation *act);
void vud_reset(void *opaque);
/* vu_frontend's config_changed callback (lock held, inside handle_backend_msg). */
void vud_config_changed(void *opaque);
/* The event loop saw activity for this device: service it now or when the holder unlocks. */
void vud_poke(struct vhost_user_dev *d);
/*
 * Ring q's vhost-user addresses, starting at index base (0 after a reset, the source's
 * GET_VRING_BASE after a migration). -EINVAL when the queue is not ready, lacks its eventfds
 * or does not lie wholly in guest RAM (the transport checked that already).
 */
MUST_CHECK int vud_ring_cfg(const struct gmem *gm, unsigned int q,
                            const struct virtio_queue_config *c, uint32_t base,
                            struct vu_ring_cfg *out);

#endif
