/*
 * The deeper side of a vhost-user device kind (vhost_user_dev.h): per-device state, feature
 * bits and queues the VMM implements itself (net: MAC, link status, the control queue), and
 * what happens at DRIVER_OK, reset and after a migration. Most kinds need none of it.
 *
 * What a kind may rely on:
 * - Every hook except priv_new/priv_free/vmm_queue_mask runs with the device lock held, so
 *   it may use the session (vhost_user_dev_frontend) and the services below.
 * - A VMM-served queue keeps its ioeventfd: the guest's kick wakes the event loop (or, on a
 *   machine without ioeventfds, reaches the transport's notify op) and `kick` runs; the
 *   back-end never hears of that queue.
 * - Ring index = virtqueue index for every ring the back-end serves.
 */
#ifndef MINIVMM_VHOST_USER_KIND_H
#define MINIVMM_VHOST_USER_KIND_H

#include <stdbool.h>
#include <stdint.h>

#include "log.h"
#include "vhost_user_dev.h"
#include "virtio_dev.h"

/* Queues the VMM may serve itself in one device (bit q of a mask). */
#define VHOST_USER_VMM_QUEUES_MAX 64u

struct vhost_user_kind_ops {
    /* Per-device state, made before connecting (NULL: out of memory) and freed last. */
    void *(*priv_new)(const struct vhost_user_spec *spec, const char *name);
    void (*priv_free)(void *priv);
    /* Feature bits the VMM implements: offered to the guest, never sent in SET_FEATURES. */
    uint64_t vmm_features;
    /* The virtqueues the VMM serves (bit q) for these acked features; the rest are rings. */
    uint64_t (*vmm_queue_mask)(void *priv, uint64_t features, unsigned int nqueues);
    /* DRIVER_OK, after every back-end ring started. Failing fails the activation. */
    MUST_CHECK int (*activate)(struct vhost_user_dev *d, const struct virtio_activation *act);
    /* The driver reset the device (also after a failed activate), before the rings stop. */
    void (*reset)(struct vhost_user_dev *d);
    /* The guest kicked VMM-served queue q. */
    void (*kick)(struct vhost_user_dev *d, unsigned int q);
    /* An incoming migration finished and the guest runs again here (net: announce it). */
    MUST_CHECK int (*migration_done)(struct vhost_user_dev *d);
    /*
     * Migration of the VMM-side state (both optional). save_state: vCPUs paused and the
     * VMM-served queues stopped; writes at most cap bytes of plain data, returns the length.
     * load_state (destination, before the device starts): checks the bytes like guest input,
     * -EINVAL with the reason in why, and keeps them for the activation that follows.
     */
    size_t (*save_state)(struct vhost_user_dev *d, void *buf, size_t cap);
    MUST_CHECK int (*load_state)(struct vhost_user_dev *d, const void *buf, size_t len, char *why,
                                 size_t whylen);
};

/* The most a kind's save_state may write. */
#define VHOST_USER_KIND_STATE_MAX 256u

/* Services for the hooks (device lock held). */
void *vhost_user_dev_priv(const struct vhost_user_dev *d);
const struct vhost_user_spec *vhost_user_dev_spec(const struct vhost_user_dev *d);
/* The session: NULL-safe verbs; check vu_frontend_connected() after a failure. */
struct vu_frontend *vhost_user_dev_frontend(struct vhost_user_dev *d);
/* Changes bytes of the config space the guest reads; notify: a configuration change
 * notification follows (new ConfigGeneration; an interrupt once the driver runs). */
MUST_CHECK int vhost_user_dev_config_update(struct vhost_user_dev *d, uint32_t offset,
                                            const void *data, uint32_t len, bool notify);
/*
 * The VMM wrote guest RAM [gpa, gpa + len) for a VMM-served queue: while a migration logs,
 * the pages are marked dirty (KVM's dirty log sees only the guest's own writes).
 */
void vhost_user_dev_log_write(struct vhost_user_dev *d, uint64_t gpa, uint64_t len);
/* Used-buffer notification for VMM-served queue q. */
MUST_CHECK int vhost_user_dev_signal_queue(struct vhost_user_dev *d, unsigned int q);
/* The guest broke a VMM-served queue: DEVICE_NEEDS_RESET; the back-end session stays. */
void vhost_user_dev_guest_error(struct vhost_user_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The back-end failed during a hook: disconnect, DEVICE_NEEDS_RESET, one log line. */
void vhost_user_dev_backend_failed(struct vhost_user_dev *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
