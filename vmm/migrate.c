/*
 * Migration and snapshot jobs: start, status, cancel and the thread that runs one
 * (migrate_send.c does the sending). On failure the job puts the source back as it was:
 * rings restarted, logging off, vCPUs resumed.
 */
#include "migrate_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot.h"
#include "migrate_dev.h"
#include "vm.h"
#include "vmstate.h"

static const char *const migrate_phase_names[] = {
    [MIGRATE_NONE] = "none",           [MIGRATE_SETUP] = "setup",
    [MIGRATE_PRECOPY] = "active",      [MIGRATE_STOPCOPY] = "stop-copy",
    [MIGRATE_COMPLETED] = "completed", [MIGRATE_FAILED] = "failed",
    [MIGRATE_CANCELLED] = "cancelled", [MIGRATE_INCOMING] = "incoming",
};

const char *migrate_phase_name(enum migrate_phase phase)
{
    return phase <= MIGRATE_INCOMING ? migrate_phase_names[phase] : "unknown";
}

void migrate_set_phase(struct migrate *m, enum migrate_phase phase)
{
    pthread_mutex_lock(&m->lock);
    m->st.phase = phase;
    pthread_mutex_unlock(&m->lock);
}

/* Copies the job thread's running figures into the shared stats. */
void migrate_update(struct migrate *m)
{
    pthread_mutex_lock(&m->lock);
    m->st.pages_sent = m->ram.pages_sent;
    m->st.zero_pages = m->ram.zero_pages;
    m->st.device_dirty = m->ram.device_dirty;
    m->st.bytes_sent = m->s.bytes;
    m->st.total_ms = (vmstate_now_ns() - m->start_ns) / 1000000;
    pthread_mutex_unlock(&m->lock);
}

static void migrate_finish(struct migrate *m, int ret)
{
    struct vm *vm = m->vm;
    const char *kind = m->p.snapshot ? "snapshot" : "migration";
    struct migrate_stats *st = &m->st;

    /* Logging off first: restarting a ring sends its address again, without the log flag. */
    mdev_log_stop(vm);
    if (m->devices_stopped)
        mdev_restart(vm);
    mram_fini(&m->ram);
    if (m->paused)
        vmstate_resume(vm);
    m->paused = m->devices_stopped = false;
    migrate_update(m);
    pthread_mutex_lock(&m->lock);
    if (ret == 0) {
        st->phase = MIGRATE_COMPLETED;
    } else {
        bool cancelled = __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE);
        st->phase = cancelled ? MIGRATE_CANCELLED : MIGRATE_FAILED;
        snprintf(st->error, sizeof(st->error), "%s",
                 cancelled     ? "cancelled"
                 : m->s.why[0] ? m->s.why
                               : strerror(-ret));
    }
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->finished = true;
    pthread_mutex_unlock(&m->lock);
    if (ret == 0)
        log_info("%s to %s completed: %llu ms total, %llu ms downtime, %u rounds, %llu pages "
                 "(%llu zero, %llu logged by back-ends), %llu bytes, %llu MB/s",
                 kind, m->p.uri, (unsigned long long)st->total_ms,
                 (unsigned long long)st->downtime_ms, st->rounds,
                 (unsigned long long)st->pages_sent, (unsigned long long)st->zero_pages,
                 (unsigned long long)st->device_dirty, (unsigned long long)st->bytes_sent,
                 (unsigned long long)(st->total_ms ? st->bytes_sent / 1000 / st->total_ms : 0));
    else
        log_warn("%s to %s failed: %s; the VM runs on here", kind, m->p.uri, st->error);
    if (ret == 0 && !m->p.snapshot) {
        char reason[MIGRATE_URI_MAX + 32];
        snprintf(reason, sizeof(reason), "migrated to %s", m->p.uri);
        vm_end(vm, VM_EXIT_OK, reason);
    }
}

static void *migrate_thread(void *arg)
{
    struct migrate *m = arg;
    int ret;

    pthread_setname_np(pthread_self(), "migrate");
    ret = mstream_init(&m->s, -1);
    /* The kernel stream writes guest RAM behind KVM's dirty log: it must have finished. */
    if (ret == 0 && m->vm->image && (ret = boot_image_wait(m->vm->image)) < 0)
        log_err("the kernel is not wholly in guest RAM (%s): nothing to migrate", strerror(-ret));
    if (ret == 0)
        ret = migrate_send(m);
    migrate_finish(m, ret);
    mstream_fini(&m->s);
    return NULL;
}

static void migrate_join(struct migrate *m)
{
    if (m->thread_started)
        pthread_join(m->thread, NULL);
    m->thread_started = false;
}

int migrate_start(struct vm *vm, const struct migrate_params *p, char *err, size_t errlen)
{
    struct migrate *m = vm->state->migrate;
    int ret;

    if (m && !__atomic_load_n(&m->finished, __ATOMIC_ACQUIRE)) {
        snprintf(err, errlen, "a %s is already running", m->p.snapshot ? "snapshot" : "migration");
        return -EBUSY;
    }
    if (m) {
        migrate_join(m);
        vm->state->migrate = NULL;
        migrate_destroy(m);
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->vm = vm;
    m->p = *p;
    m->fd = -1;
    m->lfd = -1;
    pthread_mutex_init(&m->lock, NULL);
    vm->state->migrate = m;
    m->finished = true; /* until the thread runs */
    ret = mconn_parse(p->uri, &m->uri, err, errlen);
    if (ret == 0 && (m->uri.kind == MCONN_FILE) != p->snapshot) {
        snprintf(err, errlen,
                 p->snapshot ? "a snapshot goes to a file"
                             : "migrate to a file is a snapshot: use 'snapshot'");
        ret = -EINVAL;
    }
    if (ret == 0 && !p->snapshot && !p->offline)
        ret = mdev_check(vm, err, errlen);
    if (ret == -EOPNOTSUPP)
        snprintf(err + strlen(err), errlen - strlen(err), " (\"offline\": true copies it paused)");
    if (ret < 0) {
        m->st.phase = MIGRATE_FAILED;
        snprintf(m->st.error, sizeof(m->st.error), "%s", err);
        return ret;
    }
    snprintf(m->st.uri, sizeof(m->st.uri), "%s", p->uri);
    m->st.snapshot = p->snapshot;
    m->st.phase = MIGRATE_SETUP;
    m->start_ns = vmstate_now_ns();
    m->finished = false;
    ret = pthread_create(&m->thread, NULL, migrate_thread, m);
    if (ret) {
        m->finished = true;
        m->st.phase = MIGRATE_FAILED;
        snprintf(err, errlen, "cannot start the job thread: %s", strerror(ret));
        return -ret;
    }
    m->thread_started = true;
    log_info("%s to %s started", p->snapshot ? "snapshot" : "migration", p->uri);
    return 0;
}

int migrate_cancel(struct vm *vm)
{
    struct migrate *m = vm->state ? vm->state->migrate : NULL;

    if (!m || __atomic_load_n(&m->finished, __ATOMIC_ACQUIRE))
        return -ENOENT;
    __atomic_store_n(&m->cancel, 1, __ATOMIC_RELEASE);
    /* Wakes the thread out of a blocking send or receive. */
    pthread_mutex_lock(&m->lock);
    if (m->fd >= 0)
        shutdown(m->fd, SHUT_RDWR);
    if (m->lfd >= 0) /* a destination waiting in accept */
        shutdown(m->lfd, SHUT_RDWR);
    pthread_mutex_unlock(&m->lock);
    return 0;
}

void migrate_stats(struct vm *vm, struct migrate_stats *out)
{
    struct migrate *m = vm->state ? vm->state->migrate : NULL;

    memset(out, 0, sizeof(*out));
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    *out = m->st;
    if (!m->finished && m->start_ns)
        out->total_ms = (vmstate_now_ns() - m->start_ns) / 1000000;
    pthread_mutex_unlock(&m->lock);
}

void migrate_destroy(struct migrate *m)
{
    if (!m)
        return;
    if (!__atomic_load_n(&m->finished, __ATOMIC_ACQUIRE) && m->vm->state &&
        migrate_cancel(m->vm) < 0)
        log_debug("migration: the job ended by itself");
    migrate_join(m);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
