/*
 * vhost-user front-end: one back-end session for one device, driven with plain data (no VMM
 * types). The device front-ends in devices/ use only this header (plus vu_dirty_log.h for
 * migration and vu_trace.h for --trace).
 *
 * What callers may rely on:
 * - Every verb returns 0 or -errno and never blocks longer than the reply timeout.
 *   -EIO: the back-end refused (REPLY_ACK non-zero / error code); the session stays usable.
 *   -EINVAL, -EOPNOTSUPP (feature not negotiated / not in the profile), -EBUSY: refused locally,
 *   nothing was sent. Anything else (-EPROTO, -ETIMEDOUT, -ECONNRESET, -EPIPE...) means the
 *   back-end is broken: the session has already disconnected itself (vu_frontend_connected()
 *   is false); vu_frontend_connect() starts a fresh session, after which the caller re-sends
 *   everything (features, memory table, inflight fd, rings).
 * - Each failure is logged once through vu_log with the request and reason
 *   ("blk0: SET_VRING_KICK q=0: Connection reset by peer"); vu_frontend_last_error() returns
 *   that text.
 * - fd -1 means "none"; fd 0 is a real fd. fds passed in remain the caller's; fds returned
 *   (inflight, device state) become the caller's.
 * - Not thread-safe: one thread (the event loop or the device's control path) drives a session.
 * - The library has no event loop: when vu_frontend_backend_fd() is readable, the caller calls
 *   vu_frontend_handle_backend_msg().
 *
 * Typical device life (vhost-user.md §12):
 *   fe = vu_frontend_new(&opts); vu_frontend_connect(fe);
 *   offer vu_frontend_device_features(fe) to the guest; read config (vu_frontend_get_config);
 *   at DRIVER_OK: vu_frontend_set_features(acked); [blk: get_inflight once, set_inflight];
 *                 vu_frontend_set_mem_table(regions); vu_frontend_start_ring() per ready queue;
 *   at reset:     vu_frontend_stop_ring() per started ring (keep the bases to resume);
 *   on a broken back-end (an error other than -EIO/-EINVAL/-EOPNOTSUPP/-EBUSY): the session is
 *   already disconnected; vu_frontend_connect() again later and redo DRIVER_OK's steps.
 */
#ifndef MINIVMM_VU_FRONTEND_H
#define MINIVMM_VU_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vu_dirty_log.h"
#include "vu_log.h"
#include "vu_wire.h"

#define VU_DEFAULT_TIMEOUT_MS 5000

enum vu_profile {
    VU_PROFILE_MODERN = 0, /* everything this library implements (default) */
    VU_PROFILE_2017,       /* exactly the seed: protocol bits 0-4, requests 1-20 */
};

struct vu_frontend_opts {
    const char *name;        /* log/trace label, e.g. "blk0" (copied) */
    const char *socket_path; /* copied */
    bool server;             /* listen on socket_path and accept one back-end */
    enum vu_profile profile;
    /* Queues the device needs, checked against GET_QUEUE_NUM (1 without MQ). The unit is
     * the back-end's: virtqueues for blk, queue pairs for net. 0 counts as 1. */
    unsigned int num_queues;
    int reply_timeout_ms; /* 0: VU_DEFAULT_TIMEOUT_MS; < 0: wait forever */
    /* Client: how long to keep retrying the connect; server: how long to wait for the
     * back-end. 0: one attempt / only a back-end already waiting; < 0: no limit. */
    int connect_timeout_ms;
    FILE *trace; /* every message, both directions, one line each; NULL: off */
    void (*config_changed)(void *opaque); /* BACKEND_CONFIG_CHANGE_MSG */
    void *opaque;
};

/* One guest RAM region shared with the back-end through fd (mapped from offset 0). */
struct vu_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;       /* where the VMM has it mapped: ring addresses are looked up here */
    uint64_t mmap_offset; /* offset of the region inside fd */
    int fd;
};

struct vu_ring_cfg {
    uint32_t index;      /* vring index, < 256 */
    uint32_t num;        /* ring size, 1..32768 */
    uint32_t base;       /* next avail index to process (the value a previous stop returned) */
    uint64_t desc_uaddr; /* VMM user addresses, each ring inside one region */
    uint64_t avail_uaddr;
    uint64_t used_uaddr;
    uint64_t used_gpa; /* guest-physical used ring: where dirty logging marks used writes */
    int kick_fd;       /* eventfd written on guest kicks (the KVM ioeventfd); -1: back-end polls */
    int call_fd;       /* eventfd the back-end signals (the KVM irqfd); -1: front-end polls */
    int err_fd;        /* -1: SET_VRING_ERR not sent */
};

struct vu_inflight {
    int fd; /* -1: the back-end has no inflight buffer */
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
};

struct vu_frontend_stats {
    uint64_t sent; /* messages on the main socket, all sessions of this object */
    uint64_t received;
    uint64_t chan_received; /* back-end channel requests handled */
    uint64_t chan_sent;     /* replies on the back-end channel */
};

struct vu_frontend;

/* Allocates and copies opts; no I/O. NULL on bad options or ENOMEM. */
struct vu_frontend *vu_frontend_new(const struct vu_frontend_opts *opts);
/* Disconnects and frees; accepts NULL and a never-connected session. */
void vu_frontend_destroy(struct vu_frontend *fe);

/*
 * Connects (or accepts) and runs the start-up sequence: GET_FEATURES; with bit 30
 * GET/SET_PROTOCOL_FEATURES (masked to the profile and the offer); GET_QUEUE_NUM (MQ);
 * GET_MAX_MEM_SLOTS (CONFIGURE_MEM_SLOTS); SET_BACKEND_REQ_FD (BACKEND_REQ); SET_OWNER.
 * Fails if the back-end supports fewer queues than opts.num_queues. -EISCONN if connected.
 */
VU_MUST_CHECK int vu_frontend_connect(struct vu_frontend *fe);
void vu_frontend_disconnect(struct vu_frontend *fe);
bool vu_frontend_connected(const struct vu_frontend *fe);
int vu_frontend_fd(const struct vu_frontend *fe); /* main socket, -1 when disconnected */
const char *vu_frontend_last_error(const struct vu_frontend *fe);
void vu_frontend_get_stats(const struct vu_frontend *fe, struct vu_frontend_stats *st);

/* What the back-end offered / what was negotiated (valid while connected). */
/* Device features for the guest: the offer minus vhost-only bits (30, LOG_ALL, IOMMU). */
uint64_t vu_frontend_device_features(const struct vu_frontend *fe);
uint64_t vu_frontend_protocol_features(const struct vu_frontend *fe);
bool vu_frontend_has_protocol_feature(const struct vu_frontend *fe, unsigned int bit);
uint64_t vu_frontend_max_queues(const struct vu_frontend *fe);
uint64_t vu_frontend_max_mem_slots(const struct vu_frontend *fe);
/* NULL when migration is possible, else why not (e.g. the back-end lacks LOG_SHMFD). */
const char *vu_frontend_migration_blocker(const struct vu_frontend *fe);

/*
 * SET_FEATURES with the guest-acked device features: bits the back-end did not offer and
 * vhost-only bits are refused (-EINVAL); bit 30 (and LOG_ALL while logging) is added here.
 * Changing features while a ring is started is refused (-EBUSY).
 */
VU_MUST_CHECK int vu_frontend_set_features(struct vu_frontend *fe, uint64_t features);

/* 1..8 regions, each with its own fd covering mmap_offset + size; no overlaps. */
VU_MUST_CHECK int vu_frontend_set_mem_table(struct vu_frontend *fe, const struct vu_region *r,
                                            unsigned int n);
/* CONFIGURE_MEM_SLOTS only. REM matches gpa, size and uaddr of a region added before. */
VU_MUST_CHECK int vu_frontend_add_mem_region(struct vu_frontend *fe, const struct vu_region *r);
VU_MUST_CHECK int vu_frontend_rem_mem_region(struct vu_frontend *fe, const struct vu_region *r);

/*
 * Starts a ring after SET_FEATURES and the memory table: SET_VRING_NUM, SET_VRING_BASE,
 * SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL (+ERR), then SET_VRING_ENABLE(1) when bit 30
 * was negotiated, and finally one write to kick_fd (S-NEW: back-ends may only look when kicked).
 * -EBUSY if already started. Back-ends forget a stopped ring's fds and addresses, so every
 * start sends all of it again. If it fails once SET_VRING_KICK went out, the ring counts as
 * started (vu_frontend_ring_started): stop it before trying again.
 */
VU_MUST_CHECK int vu_frontend_start_ring(struct vu_frontend *fe, const struct vu_ring_cfg *cfg);
/* SET_VRING_ENABLE(0) when bit 30, then GET_VRING_BASE: *base is what to start with next. */
VU_MUST_CHECK int vu_frontend_stop_ring(struct vu_frontend *fe, uint32_t index, uint32_t *base);
bool vu_frontend_ring_started(const struct vu_frontend *fe, uint32_t index);
/*
 * SET_VRING_ENABLE(index, on/off) for a started ring, synchronously (net multiqueue: the pairs
 * the driver chose with VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET). -EOPNOTSUPP, nothing sent, when bit
 * 30 was not negotiated: a legacy back-end enables every ring at SET_FEATURES and cannot turn
 * one off. -EINVAL for a ring that is not started.
 */
VU_MUST_CHECK int vu_frontend_enable_ring(struct vu_frontend *fe, uint32_t index, bool enable);

/* Device config space (CONFIG): size 1..256. flags: VU_CONFIG_FLAG_WRITABLE or _MIGRATION. */
VU_MUST_CHECK int vu_frontend_get_config(struct vu_frontend *fe, uint32_t offset, void *buf,
                                         uint32_t size);
VU_MUST_CHECK int vu_frontend_set_config(struct vu_frontend *fe, uint32_t offset, const void *buf,
                                         uint32_t size, uint32_t flags);

/* Inflight tracking (INFLIGHT_SHMFD), after SET_FEATURES. Keep the buffer across reconnects
 * and hand it back with set_inflight on every new session, before starting rings. */
VU_MUST_CHECK int vu_frontend_get_inflight(struct vu_frontend *fe, uint16_t num_queues,
                                           uint16_t queue_size, struct vu_inflight *out);
VU_MUST_CHECK int vu_frontend_set_inflight(struct vu_frontend *fe, const struct vu_inflight *in);

/* RESET_DEVICE (or RESET_OWNER in the 2017 profile); -EOPNOTSUPP when neither applies.
 * Afterwards rings are stopped and features and memory table must be sent again. */
VU_MUST_CHECK int vu_frontend_reset(struct vu_frontend *fe);
/* VIRTIO device status byte (STATUS). QEMU sends SET_STATUS(...|FEATURES_OK) after
 * SET_FEATURES and SET_STATUS(...|DRIVER_OK) once the rings run, and 0 on reset; vDPA-style
 * back-ends rely on it. Devices do the same when the feature is negotiated. */
VU_MUST_CHECK int vu_frontend_set_status(struct vu_frontend *fe, uint8_t status);
VU_MUST_CHECK int vu_frontend_get_status(struct vu_frontend *fe, uint8_t *status);

/* Dirty logging for migration (LOG_SHMFD and LOG_ALL): log base first, then logging on;
 * turning it on/off re-sends SET_FEATURES and each started ring's address, synchronously. */
VU_MUST_CHECK int vu_frontend_set_log_base(struct vu_frontend *fe, const struct vu_dirty_log *log);
VU_MUST_CHECK int vu_frontend_set_logging(struct vu_frontend *fe, bool on);

/* Back-end state transfer (DEVICE_STATE), only with every ring stopped. *reply_fd is the
 * back-end's replacement fd or -1 (keep using fd). */
VU_MUST_CHECK int vu_frontend_set_device_state_fd(struct vu_frontend *fe, uint32_t direction,
                                                  int fd, int *reply_fd);
VU_MUST_CHECK int vu_frontend_check_device_state(struct vu_frontend *fe);

/* Net: SEND_RARP (RARP) after migration; NET_SET_MTU (NET_MTU), 68..65535; with REPLY_ACK a
 * refusal is -EIO. */
VU_MUST_CHECK int vu_frontend_send_rarp(struct vu_frontend *fe, const uint8_t mac[6]);
VU_MUST_CHECK int vu_frontend_net_set_mtu(struct vu_frontend *fe, uint32_t mtu);

/*
 * Back-end channel (BACKEND_REQ): -1 when there is none. When it is readable, call
 * handle_backend_msg: it handles one request (CONFIG_CHANGE_MSG calls opts.config_changed),
 * answers NEED_REPLY with u64 0/1 and refuses unknown requests. Returns 0 when the message was
 * handled (even if refused); a negative value (-ECONNRESET on EOF) means the channel is dead:
 * remove the fd from the loop, then vu_frontend_disconnect().
 */
int vu_frontend_backend_fd(const struct vu_frontend *fe);
VU_MUST_CHECK int vu_frontend_handle_backend_msg(struct vu_frontend *fe);

#endif
