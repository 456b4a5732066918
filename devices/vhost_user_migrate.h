/*
 * A vhost-user device in a migration or snapshot: the back-end's dirty log, stopping and
 * restarting its rings, and the device's state (transport registers and ring bases).
 * Additive to vhost_user_dev.h: each call takes the device's lock, so it may run on the
 * migration thread while vCPUs and the event loop use the device.
 *
 * Source: blocker -> log_start -> (log_words, merged by the caller, each round) -> stop ->
 * save -> [failure: log_stop, restart]. Destination: load -> go (after the source let go).
 */
#ifndef MINIVMM_VHOST_USER_MIGRATE_H
#define MINIVMM_VHOST_USER_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "vhost_user_dev.h"
#include "virtio_mmio_state.h"

struct vumig_state {
    struct virtio_mmio_state mmio;
    uint32_t bases[VIRTIO_MMIO_MAX_QUEUES]; /* GET_VRING_BASE of each stopped ring */
    uint64_t stopped;                       /* rings (bit = queue) the source had running */
};

struct vumig;

struct vumig *vumig_create(struct vhost_user_dev *d);
void vumig_destroy(struct vumig *m); /* stops logging if on; accepts NULL */
/* NULL when the device can migrate, else why not (e.g. the back-end lacks LOG_SHMFD). */
const char *vumig_blocker(struct vumig *m);

/* SET_LOG_BASE with a memfd bitmap covering [0, mem_end), then LOG_ALL and VHOST_VRING_F_LOG
 * on the running rings, each acknowledged before this returns. */
MUST_CHECK int vumig_log_start(struct vumig *m, uint64_t mem_end);
void vumig_log_stop(struct vumig *m);
/* The shared bitmap (64-bit words, bit gpa/4096) the back-end sets; NULL when not logging. */
uint64_t *vumig_log_words(struct vumig *m, uint64_t *nwords);

/* vCPUs paused: GET_VRING_BASE on every running ring (the back-end drains in-flight I/O). */
MUST_CHECK int vumig_stop(struct vumig *m);
/* The migration failed: start the stopped rings again from their bases (and kick them). */
MUST_CHECK int vumig_restart(struct vumig *m);
void vumig_save(struct vumig *m, struct vumig_state *out);

/*
 * The kind's VMM-side state (net: config status, queue pairs in use, the control queue's
 * position), at most VHOST_USER_KIND_STATE_MAX bytes; 0 for kinds without. Taken after
 * vumig_stop (VMM-served queues wait while the rings are stopped).
 */
size_t vumig_save_kind(struct vumig *m, void *buf, size_t cap);
/* Whether this device's kind expects such state (an older stream has none). */
bool vumig_has_kind_state(const struct vumig *m);
/* Destination, after vumig_load: -EINVAL with why when the bytes do not fit this device. */
MUST_CHECK int vumig_load_kind(struct vumig *m, const void *buf, size_t len, char *why,
                               size_t whylen);

/* Destination: install the source's registers (nothing starts). -EINVAL with why. */
MUST_CHECK int vumig_load(struct vumig *m, const struct vumig_state *in, char *why, size_t whylen);
/* Destination, once the source let go: activate with the source's bases, kick the rings. */
MUST_CHECK int vumig_go(struct vumig *m);

#endif
