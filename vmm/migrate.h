/*
 * Live migration and snapshots. A job runs in its own thread (the event loop only starts,
 * queries and cancels it): pre-copy rounds of dirty pages while the guest runs, then pause,
 * final sync, device and vCPU state, and the destination's go-ahead. A snapshot is the same
 * stream written to a file with the VM paused throughout (the VM then runs on).
 * What users may rely on:
 * - One job at a time; migrate_stats() can be called from any thread at any time.
 * - Failure keeps the VM: any error before the destination took over resumes the guest
 *   (rings restarted, dirty logging off) and the stats say why.
 * - On success a migration ends the source VM (exit status 0, reason "migrated to URI").
 * - The destination side (--incoming URI) runs before the vCPUs start: migrate_incoming().
 *   It receives in a thread while the event loop serves the control socket: status says
 *   "incoming", migrate-status counts what arrived, quit or migrate-cancel abort it.
 */
#ifndef MINIVMM_MIGRATE_H
#define MINIVMM_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "log.h"

#define MIGRATE_URI_MAX             256
#define MIGRATE_DOWNTIME_MS_DEFAULT 300
#define MIGRATE_MAX_ROUNDS_DEFAULT  30
/* How long the source waits for the destination's verdict once everything was sent. */
#define MIGRATE_ACK_TIMEOUT_MS 30000

struct vm;
struct migrate;

struct migrate_params {
    char uri[MIGRATE_URI_MAX]; /* unix:PATH, tcp:HOST:PORT, fd:N; file:PATH for snapshots */
    uint64_t downtime_ms;      /* pre-copy stops once the rest fits in this (0: never) */
    unsigned int max_rounds;   /* ... or after this many rounds (then stop-and-copy) */
    bool snapshot;             /* write the paused VM to uri (file:) and run on */
    /* Offline: pause first and copy everything once (no dirty logging, so a back-end
     * without LOG_SHMFD does not block it); the guest is paused for the whole copy. */
    bool offline;
};

enum migrate_phase {
    MIGRATE_NONE,      /* no job yet */
    MIGRATE_SETUP,     /* connecting, dirty logging on */
    MIGRATE_PRECOPY,   /* rounds while the guest runs */
    MIGRATE_STOPCOPY,  /* guest paused: last pages and state */
    MIGRATE_COMPLETED, /* the destination runs the VM (or the snapshot is written) */
    MIGRATE_FAILED,    /* the guest runs on here; error says why */
    MIGRATE_CANCELLED, /* migrate-cancel; the guest runs on here */
    MIGRATE_INCOMING,  /* destination: waiting for or receiving the VM */
};

struct migrate_stats {
    enum migrate_phase phase;
    bool snapshot;
    char uri[MIGRATE_URI_MAX];
    char error[256];
    unsigned int rounds;
    uint64_t ram_pages;    /* guest RAM in 4 KiB pages */
    uint64_t pages_sent;   /* with data */
    uint64_t zero_pages;   /* sent as a marker only */
    uint64_t bytes_sent;   /* on the wire */
    uint64_t dirty_pages;  /* left to send after the last sync */
    uint64_t device_dirty; /* pages the vhost-user back-ends logged as written */
    uint64_t sync_us;      /* the last dirty-log sync (KVM + back-ends) took this long */
    uint64_t rate_bps;     /* bytes per second, measured */
    uint64_t expected_downtime_ms;
    uint64_t total_ms;    /* start to completion (or so far) */
    uint64_t downtime_ms; /* vCPU pause to the destination's go-ahead */
    /* The destination's side (--incoming): the job is the arrival of this VM. */
    bool incoming;
    uint64_t bytes_received;
    uint64_t ram_sections_received;
};

const char *migrate_phase_name(enum migrate_phase phase);

/* Starts a job; -EBUSY when one runs, -EINVAL with err for bad parameters. */
MUST_CHECK int migrate_start(struct vm *vm, const struct migrate_params *p, char *err,
                             size_t errlen);
/* Asks a running job to stop (it fails with "cancelled"); -ENOENT when none runs. */
MUST_CHECK int migrate_cancel(struct vm *vm);
void migrate_stats(struct vm *vm, struct migrate_stats *out);
/* Cancels and joins a running job, frees. Accepts NULL. */
void migrate_destroy(struct migrate *m);

/*
 * --incoming URI: receives (or reads, file:PATH) a VM into this freshly built one, whose
 * vCPUs have not started. Returns 0 when the VM may run, else -errno (logged).
 */
MUST_CHECK int migrate_incoming(struct vm *vm);

#endif
