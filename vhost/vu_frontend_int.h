/*
 * Internal to the vu_frontend*.c files: the session struct and the helpers they share
 * (failure reporting, waiting discipline, feature gates). Not for users of the library.
 */
#ifndef MINIVMM_VU_FRONTEND_INT_H
#define MINIVMM_VU_FRONTEND_INT_H

#include "vu_conn.h"
#include "vu_frontend.h"
#include "vu_req.h"

#define VU_FE_MAX_REGIONS 32u  /* regions we track; SET_MEM_TABLE itself allows 8 */
#define VU_FE_MAX_SLOTS   512u /* QEMU's cap on GET_MAX_MEM_SLOTS */
#define VU_FE_NO_GATE     (-1)

struct vu_fe_ring {
    struct vu_ring_cfg cfg; /* as last started (fds are not kept: they are the caller's) */
    bool started;
};

struct vu_frontend {
    /* Options (copied). */
    char name[64];
    char *path;
    bool server;
    enum vu_profile profile;
    unsigned int num_queues;
    int timeout_ms;
    int connect_ms;
    FILE *trace;
    void (*config_changed)(void *opaque);
    void *opaque;

    /* Session. */
    int listen_fd;
    struct vu_conn conn;
    struct vu_conn chan;    /* back-end channel, fd -1 without BACKEND_REQ */
    uint64_t features;      /* GET_FEATURES */
    uint64_t proto_offered; /* GET_PROTOCOL_FEATURES */
    uint64_t proto;         /* negotiated */
    uint64_t max_queues;
    uint64_t max_mem_slots;
    uint64_t acked; /* last SET_FEATURES value, vhost-only bits included */
    bool features_set;
    bool mem_set;
    bool log_base_set;
    bool logging;
    struct vu_region regions[VU_FE_MAX_REGIONS]; /* fds not owned */
    unsigned int nregions;
    struct vu_fe_ring rings[VU_MAX_RINGS];

    struct vu_frontend_stats totals; /* of earlier sessions */
    char err[320];                   /* name (64) + what (192) + strerror */
};

/* Records, logs (once) and returns err. Does not touch the session. */
int vu_frontend_fail(struct vu_frontend *fe, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same for a request that reached the wire: unless the back-end merely refused (-EIO), the
 * stream can no longer be trusted and the session is disconnected. */
int vu_frontend_req_failed(struct vu_frontend *fe, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* NEED_REPLY when REPLY_ACK is negotiated; else a GET_FEATURES barrier if sync is needed. */
enum vu_wait vu_frontend_wait(const struct vu_frontend *fe, bool sync);
/* 0 if connected, the profile allows `request` and protocol bit `pf` (or VU_FE_NO_GATE) is
 * negotiated; otherwise a logged -ENOTCONN / -EOPNOTSUPP. */
int vu_frontend_gate(struct vu_frontend *fe, int pf, uint32_t request);
/* Bit 30 went out with SET_FEATURES: rings start disabled and SET_VRING_ENABLE is legal. */
bool vu_frontend_rings_need_enable(const struct vu_frontend *fe);
/* SET_FEATURES of the guest features plus bit 30 (if offered) and LOG_ALL (if logging);
 * synchronous when the LOG_ALL bit changes: the log is only trusted once it is processed. */
int vu_frontend_send_features(struct vu_frontend *fe, uint64_t guest, bool logging);
bool vu_frontend_any_ring_started(const struct vu_frontend *fe);
void vu_frontend_forget_rings(struct vu_frontend *fe);

#endif
