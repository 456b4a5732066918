/*
 * Internal to migrate*.c: the job object shared by job management (migrate.c) and the
 * sending side (migrate_send.c).
 */
#ifndef MINIVMM_MIGRATE_INT_H
#define MINIVMM_MIGRATE_INT_H

#include <pthread.h>

#include "migrate.h"
#include "migrate_conn.h"
#include "migrate_ram.h"
#include "migrate_stream.h"

/* Silence on the connection longer than this fails the migration (a dead link). */
#define MIGRATE_IO_TIMEOUT_MS 10000

struct migrate {
    struct vm *vm;
    struct migrate_params p;
    struct mconn_uri uri;
    pthread_t thread;
    bool thread_started;
    int cancel; /* __atomic: migrate-cancel or teardown */

    pthread_mutex_t lock; /* st and fd */
    struct migrate_stats st;
    int fd;  /* the connection while the job runs; -1 otherwise */
    int lfd; /* destination: the listening socket while it waits in accept; -1 otherwise */
    uint64_t start_ns;
    bool finished; /* the thread is done: st is final */

    /* The job thread's own. */
    struct mstream s;
    struct mram ram;
    bool paused; /* holds a vmstate_pause */
    bool devices_stopped;
    uint64_t pause_ns;
};

/* migrate.c: the job thread updates its figures. */
void migrate_set_phase(struct migrate *m, enum migrate_phase phase);
void migrate_update(struct migrate *m);

/* migrate_send.c: the whole sending side; 0 or -errno with mstream_fail's reason. */
MUST_CHECK int migrate_send(struct migrate *m);

#endif
