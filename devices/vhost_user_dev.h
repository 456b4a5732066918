/*
 * The generic vhost-user device: a virtio device whose queues are served by an external
 * back-end over a vhost/ session, behind its own virtio-mmio transport. A device kind (blk,
 * net, fs, "any virtio id") is a const struct vhost_user_type: a few numbers and an optional
 * hook; everything else (features, config space, activation, reset, back-end failure, the
 * event loop, counters) is here.
 *
 * What users may rely on:
 * - vhost_user_dev_create() connects (bounded by connect-timeout) and fails with one clear
 *   error naming the socket; the device is then ready for the guest.
 * - Kicks and calls never pass through the VMM: the transport's ioeventfd/irqfd eventfds are
 *   the back-end's kick/call fds.
 * - A broken back-end (EOF, garbage, timeout, refused request) fails only this device: one log
 *   line, DEVICE_NEEDS_RESET for the guest. After the driver resets, the next DRIVER_OK
 *   reconnects once.
 * - Thread safety: guest accesses (vCPU threads) and the event loop may run concurrently; a
 *   mutex serialises the session. The event loop never blocks on it.
 */
#ifndef MINIVMM_VHOST_USER_DEV_H
#define MINIVMM_VHOST_USER_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "evloop.h"
#include "gmem.h"
#include "irq.h"
#include "log.h"
#include "vhost_user_spec.h"
#include "virtio_mmio.h"
#include "vu_frontend.h"

#define VHOST_USER_DEFAULT_QUEUE_SIZE 256u

/* Bits 0-23 and 50-63 belong to the device type (virtio 1.2, 6). */
#define VHOST_USER_DEVICE_TYPE_BITS (((1ULL << 24) - 1) | ~((1ULL << 50) - 1))

/* What a kind's on_connect hook sees and may change, once the back-end is connected. */
struct vhost_user_setup {
    const char *name;                   /* "blk0", for messages */
    const struct vhost_user_spec *spec; /* as parsed */
    struct vu_frontend *fe;             /* the connected session */
    uint64_t features;                  /* to offer the guest: the hook may clear bits */
    uint8_t *config;                    /* config space (from GET_CONFIG, or zeros) */
    uint32_t config_size;
    unsigned int num_queues; /* virtqueues the transport will have */
    bool config_change;      /* CONFIG_CHANGE_MSG: only fix the new config up, quietly */
    void *priv;              /* the kind's per-device state (vhost_user_kind.h), or NULL */
};

struct vhost_user_kind_ops; /* vhost_user_kind.h */

/* One device kind: constant data and an optional hook. */
struct vhost_user_type {
    const char *kind;   /* --device keyword, e.g. "vhost-user-blk" */
    const char *type;   /* short name: devices are "<type><n>", e.g. "blk0" */
    uint32_t device_id; /* 5 Device Types; 0: virtio-id= gives it */
    unsigned int keys;  /* VHOST_USER_KEY_* accepted in the SPEC */
    unsigned int max_queues;
    /* Config space bytes; VHOST_USER_CONFIG_FROM_SPEC: config-size= gives it. */
    uint32_t config_size;
    /* true: the config space is read with GET_CONFIG (CONFIG protocol feature required)
     * and guest writes go to SET_CONFIG; false: the hook fills it and writes are refused. */
    bool config_from_backend;
    /* Device-type feature bits passed through to the guest (transport bits are ours). */
    uint64_t device_features;
    /* Kind checks of a parsed SPEC (optional): a reason in err naming the key. */
    int (*check_spec)(const struct vhost_user_spec *spec, char *err, size_t errlen);
    /* After connecting (optional): check the back-end, fix the config and features up.
     * Logs its own error. */
    int (*on_connect)(struct vhost_user_setup *s);
    /*
     * Queue arithmetic for queues=N (all 0 for a plain kind): the transport has
     * N * rings_per_queue + extra_rings rings the back-end serves, then vmm_queues queues
     * the VMM serves; GET_QUEUE_NUM must allow N + extra_rings (the back-end's unit).
     */
    unsigned int rings_per_queue; /* 0 means 1; net: 2 (receive and transmit per pair) */
    unsigned int extra_rings;     /* fs: 1 (the hiprio queue) */
    unsigned int vmm_queues;      /* net: 1 (the control queue) */
    /* State and VMM-served features and queues (optional). */
    const struct vhost_user_kind_ops *ops;
};

#define VHOST_USER_CONFIG_FROM_SPEC UINT32_MAX

/* Where the device sits in the machine. */
struct vhost_user_machine {
    uint64_t base; /* virtio-mmio window */
    unsigned int gsi;
    struct irq_chip *irq;
    const struct gmem *gmem; /* guest RAM: one memfd shared with the back-end */
    struct evloop *loop;     /* watches the back-end's sockets */
    FILE *trace;             /* --trace vhost-user, or NULL */
};

/* Per-device counters for the exit report. */
struct vhost_user_stats {
    struct vu_frontend_stats msgs; /* vhost-user messages, all sessions */
    struct virtio_mmio_stats mmio; /* accesses = MMIO exits, notifies = kicks the VMM saw */
    uint64_t failures;             /* times the back-end failed the device */
    uint64_t reconnects;
};

struct vhost_user_dev;

/* Parses args (after "kind,") for this kind. -EINVAL with the reason in err. */
MUST_CHECK int vhost_user_dev_parse(const struct vhost_user_type *type, const char *args,
                                    struct vhost_user_spec *out, char *err, size_t errlen);

/*
 * Connects to the back-end, negotiates, reads the config space and builds the transport.
 * name: "blk0". NULL on failure, logged once with the socket's path.
 */
struct vhost_user_dev *vhost_user_dev_create(const struct vhost_user_type *type, const char *name,
                                             const struct vhost_user_spec *spec,
                                             const struct vhost_user_machine *m);
/* Accepts NULL and a half-built device. The irq_chip and loop must still exist, and the loop
 * must no longer be running (vCPUs stopped too). */
void vhost_user_dev_destroy(struct vhost_user_dev *d);

/* The transport, to put on the MMIO bus (virtio_mmio_bus_device + bus_register). */
struct virtio_mmio *vhost_user_dev_mmio(struct vhost_user_dev *d);
const char *vhost_user_dev_name(const struct vhost_user_dev *d);
void vhost_user_dev_get_stats(struct vhost_user_dev *d, struct vhost_user_stats *out);
/*
 * After an incoming migration, once the guest runs here: the kind's announcement (net:
 * GUEST_ANNOUNCE through config, else SEND_RARP, else a logged note). 0 for other kinds.
 */
MUST_CHECK int vhost_user_dev_migration_done(struct vhost_user_dev *d);

#endif
