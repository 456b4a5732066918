/*
 * The destination (--incoming URI): receives a VM into this freshly built machine before
 * its vCPUs start. CONFIG must come first and match; RAM is applied as it arrives; the
 * machine's and devices' state follow; after END the destination answers READY and waits
 * for GO, and only then starts the devices' rings, so a destination that fails at any
 * point leaves the back-ends alone. A file: URI is a snapshot: no handshake.
 * The stream is received in a thread while this (main) thread runs the event loop, so the
 * control socket answers status/migrate-status/quit during the arrival; quit, a signal or
 * migrate-cancel end the wait (shutdown of the socket) and the process exits non-zero.
 */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migrate_conn.h"
#include "migrate_dev.h"
#include "migrate_int.h"
#include "migrate_ram.h"
#include "migrate_state.h"
#include "vm.h"
#include "vm_devices.h"
#include "vmstate.h"

/* Between two sections of a live migration the source may think for a while (a sync). */
#define MIGRATE_IN_TIMEOUT_MS 60000

struct migrate_in {
    struct vm *vm;
    struct migrate *job; /* vm->state->migrate: the stats, the fds cancel shuts down */
    struct mconn_uri u;
    struct mstream s;
    int fd;
    bool config_seen;
    uint64_t pages; /* RAM sections received */
    uint32_t cpus_seen;
    int ret;                /* the receiving thread's verdict */
    struct ev_handler done; /* eventfd: the thread finished */
    struct ev_handler sig;  /* signalfd: main() watches signals only once the VM is built */
    char why[256];
};

/* The figures migrate-status shows while the VM arrives. */
static void migrate_in_progress(struct migrate_in *in)
{
    struct migrate *m = in->job;

    pthread_mutex_lock(&m->lock);
    m->st.bytes_received = in->s.bytes;
    m->st.ram_sections_received = in->pages;
    m->st.total_ms = (vmstate_now_ns() - m->start_ns) / 1000000;
    pthread_mutex_unlock(&m->lock);
}

static int migrate_in_section(struct migrate_in *in, const struct mstream_section *sec,
                              const uint8_t *p)
{
    struct vm *vm = in->vm;
    int ret;

    if (!in->config_seen && sec->type != MSTREAM_CONFIG)
        return mstream_fail(&in->s, -EPROTO, "the stream does not start with the machine's shape");
    switch (sec->type) {
    case MSTREAM_CONFIG:
        if (in->config_seen)
            return mstream_fail(&in->s, -EPROTO, "a second machine description");
        in->config_seen = true;
        ret = mstate_check_config(vm, p, sec->length, in->why, sizeof(in->why));
        return ret < 0 ? mstream_fail(&in->s, ret, "%s", in->why) : 0;
    case MSTREAM_RAM:
        ret = mram_receive(&vm->gmem, &in->s, sec, p);
        in->pages += ret == 0 ? 1 : 0;
        migrate_in_progress(in);
        return ret < 0 ? mstream_fail(&in->s, ret, "a malformed RAM section") : 0;
    case MSTREAM_DEVICE:
        ret = mdev_load(vm, sec->id, p, sec->length);
        return ret < 0 ? mstream_fail(&in->s, ret, "cannot load device %u's state", sec->id) : 0;
    case MSTREAM_CPU:
        in->cpus_seen++;
        /* fall through */
    case MSTREAM_VM:
    case MSTREAM_PLATFORM:
        ret = mstate_load(vm, sec, p);
        return ret < 0 ? mstream_fail(&in->s, ret, "cannot load the machine's state") : 0;
    default:
        return mstream_fail(&in->s, -EPROTO, "unexpected section type %u", sec->type);
    }
}

static int migrate_in_receive(struct migrate_in *in)
{
    struct mstream_section sec;
    const uint8_t *p;
    int ret = mstream_read_header(&in->s);

    while (ret == 0) {
        ret = mstream_read_section(&in->s, &sec, &p);
        if (ret < 0)
            break;
        if (sec.type == MSTREAM_END) {
            if (in->cpus_seen != in->vm->vcpus_created)
                return mstream_fail(&in->s, -EPROTO, "the stream ended with %u of %u vCPUs",
                                    in->cpus_seen, in->vm->vcpus_created);
            if (mdev_loaded_all(in->vm, in->why, sizeof(in->why)) < 0)
                return mstream_fail(&in->s, -EPROTO, "%s", in->why);
            return 0;
        }
        ret = migrate_in_section(in, &sec, p);
    }
    return ret;
}

/* READY, then wait for GO: until GO the source may still take the VM back. */
static int migrate_in_handshake(struct migrate_in *in, const struct mconn_uri *u)
{
    enum mconn_msg kind;
    int ret;

    if (u->kind == MCONN_FILE)
        return 0;
    ret = mconn_send_msg(in->s.fd, MCONN_READY, NULL);
    if (ret == 0)
        ret = mconn_recv_msg(in->s.fd, MIGRATE_ACK_TIMEOUT_MS, &kind, NULL, 0);
    if (ret == 0 && kind != MCONN_GO)
        ret = -EPROTO;
    if (ret < 0)
        return mstream_fail(&in->s, ret, "the source did not hand the VM over (%s)",
                            ret == -ECONNRESET ? "it closed the connection" : strerror(-ret));
    return 0;
}

/* Opens the connection; a listening socket is published so that cancel can end accept. */
static int migrate_in_open(struct migrate_in *in, int lfd)
{
    struct migrate *m = in->job;
    char err[256];
    int fd = lfd >= 0 ? mconn_accept_in(lfd, &in->u, err, sizeof(err))
                      : mconn_open_in(&in->u, err, sizeof(err));

    pthread_mutex_lock(&m->lock);
    m->lfd = -1; /* accept closed it */
    if (fd >= 0) {
        m->fd = fd;
        if (__atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE))
            shutdown(fd, SHUT_RDWR); /* cancelled between accept and here */
    }
    pthread_mutex_unlock(&m->lock);
    if (fd < 0)
        return mstream_fail(&in->s, fd, "%s",
                            __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE) ? "cancelled" : err);
    in->fd = fd;
    return 0;
}

static void *migrate_in_thread(void *arg)
{
    struct migrate_in *in = arg;
    struct migrate *m = in->job;
    static const uint64_t one = 1;
    int ret;

    pthread_setname_np(pthread_self(), "incoming");
    ret = migrate_in_open(in, m->lfd);
    if (ret == 0) {
        mconn_set_timeout(in->fd, MIGRATE_IN_TIMEOUT_MS);
        in->s.fd = in->fd;
        ret = migrate_in_receive(in);
        /* Tell a live source why, so that its migrate-status can say it. */
        if (ret < 0 && in->u.kind != MCONN_FILE && in->s.why[0] &&
            mconn_send_msg(in->fd, MCONN_ERROR, in->s.why) < 0)
            log_debug("--incoming: the source is gone; it cannot hear why");
    }
    if (ret == 0)
        ret = migrate_in_handshake(in, &in->u);
    migrate_in_progress(in);
    in->ret = ret;
    if (write(in->done.fd, &one, sizeof(one)) != sizeof(one))
        log_warn("--incoming: cannot wake the event loop: %s", strerror(errno));
    return NULL;
}

/* SIGINT/SIGTERM/SIGHUP (blocked by main) end the arrival as they would end the VM. */
static void migrate_in_on_signal(struct ev_handler *h, uint32_t events)
{
    struct migrate_in *in = container_of(h, struct migrate_in, sig);

    (void)events;
    vm_end_on_signalfd(in->vm, h->fd);
}

static void migrate_in_watch_signals(struct migrate_in *in)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    in->sig.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    in->sig.cb = migrate_in_on_signal;
    if (in->sig.fd >= 0 && evloop_add(&in->vm->loop, &in->sig, EPOLLIN) == 0)
        return;
    log_debug("--incoming: signals wait for the VM to run: %s", strerror(errno));
    if (in->sig.fd >= 0)
        close(in->sig.fd);
    in->sig.fd = -1;
}

static void migrate_in_on_done(struct ev_handler *h, uint32_t events)
{
    struct migrate_in *in = container_of(h, struct migrate_in, done);

    (void)events;
    evloop_stop(&in->vm->loop);
}

/* The job object migrate-status and cancel see (vm->state->migrate). */
static int migrate_in_job(struct migrate_in *in, const char *uri)
{
    struct migrate *m = calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->vm = in->vm;
    m->fd = m->lfd = -1;
    pthread_mutex_init(&m->lock, NULL);
    snprintf(m->p.uri, sizeof(m->p.uri), "%s", uri);
    snprintf(m->st.uri, sizeof(m->st.uri), "%s", uri);
    m->st.phase = MIGRATE_INCOMING;
    m->st.incoming = true;
    m->st.ram_pages = in->vm->gmem.ram_size / MSTREAM_PAGE;
    m->start_ns = vmstate_now_ns();
    m->finished = true; /* until the thread runs */
    in->vm->state->migrate = m;
    in->job = m;
    return 0;
}

/* Receives while the event loop serves the control socket; ends early if the VM ends. */
static int migrate_in_run(struct migrate_in *in)
{
    struct vm *vm = in->vm;
    struct migrate *m = in->job;
    int ret, loop_ret;

    in->done.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    in->done.cb = migrate_in_on_done;
    if (in->done.fd < 0)
        return -errno;
    ret = evloop_add(&vm->loop, &in->done, EPOLLIN);
    migrate_in_watch_signals(in);
    if (ret == 0) {
        m->finished = false;
        ret = -pthread_create(&m->thread, NULL, migrate_in_thread, in);
        m->thread_started = ret == 0;
        m->finished = ret != 0;
    }
    if (ret == 0) {
        loop_ret = evloop_run(&vm->loop);
        /* quit, a signal or the watchdog: the VM is ending, the arrival stops with it. */
        if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE) || loop_ret < 0)
            if (migrate_cancel(vm) < 0)
                log_debug("--incoming: the arrival had ended already");
        pthread_join(m->thread, NULL);
        m->thread_started = false;
        ret = in->ret;
        /* The loop runs again for the VM, unless the VM ended meanwhile. */
        evloop_rearm(&vm->loop);
        if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE)) {
            evloop_stop(&vm->loop);
            /* The VM's end is the reason, not what the interrupted receive saw. */
            snprintf(in->s.why, sizeof(in->s.why), "aborted: %.200s", vm->exit_reason);
            ret = -ECANCELED;
        }
    }
    if (evloop_del(&vm->loop, &in->done) < 0)
        log_debug("--incoming: removing the wake-up from the loop failed");
    close(in->done.fd);
    in->done.fd = -1;
    if (in->sig.fd >= 0 && evloop_del(&vm->loop, &in->sig) < 0)
        log_debug("--incoming: removing the signalfd from the loop failed");
    if (in->sig.fd >= 0)
        close(in->sig.fd);
    in->sig.fd = -1;
    return ret;
}

/* The job's final figures; a failed arrival says why in migrate-status too. */
static void migrate_in_finish(struct migrate_in *in, int ret)
{
    struct migrate *m = in->job;
    bool cancelled = __atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE);

    pthread_mutex_lock(&m->lock);
    m->st.phase = ret == 0 ? MIGRATE_COMPLETED : cancelled ? MIGRATE_CANCELLED : MIGRATE_FAILED;
    if (ret < 0)
        snprintf(m->st.error, sizeof(m->st.error), "%s", in->s.why[0] ? in->s.why : strerror(-ret));
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->finished = true;
    pthread_mutex_unlock(&m->lock);
}

int migrate_incoming(struct vm *vm)
{
    struct migrate_in in = {.vm = vm, .fd = -1, .done.fd = -1, .sig.fd = -1};
    char err[256];
    int lfd = -1, ret;

    if (mconn_parse(vm->opts->incoming, &in.u, err, sizeof(err)) < 0) {
        log_err("--incoming: %s", err);
        return -EINVAL;
    }
    /* Fresh memfd pages are zeroed by the kernel on first touch, which here costs more than
     * receiving them: do it before the source connects, not inside its downtime window. */
    if (in.u.kind != MCONN_FILE &&
        madvise(vm->gmem.base, vm->gmem.ram_size, MADV_POPULATE_WRITE) < 0)
        log_debug("--incoming: pre-faulting guest RAM: %s", strerror(errno));
    /* Listening here: a bad address fails at once, and the socket exists on return. */
    if (in.u.kind == MCONN_UNIX || in.u.kind == MCONN_TCP) {
        lfd = mconn_listen_in(&in.u, err, sizeof(err));
        if (lfd < 0) {
            log_err("--incoming: %s", err);
            return lfd;
        }
    }
    ret = mstream_init(&in.s, -1);
    if (ret == 0)
        ret = migrate_in_job(&in, vm->opts->incoming);
    if (ret < 0) {
        if (lfd >= 0)
            close(lfd);
        mstream_fini(&in.s);
        return ret;
    }
    in.job->lfd = lfd;
    ret = migrate_in_run(&in);
    if (ret == 0) {
        ret = mdev_go(vm);
        if (ret < 0)
            mstream_fail(&in.s, ret, "cannot restart the devices");
    }
    /* Net devices announce the guest's new home (RARP / GUEST_ANNOUNCE). */
    if (ret == 0 && in.u.kind != MCONN_FILE && vm_devices_migration_done(vm) < 0)
        log_warn("--incoming: a device could not announce the migration");
    if (ret < 0)
        log_err("--incoming %s: %s", vm->opts->incoming,
                in.s.why[0] ? mstream_error(&in.s) : strerror(-ret));
    else
        log_info("incoming %s: %llu bytes in %llu ms (%llu RAM sections); resuming the VM",
                 in.u.kind == MCONN_FILE ? "snapshot" : "migration", (unsigned long long)in.s.bytes,
                 (unsigned long long)((vmstate_now_ns() - in.job->start_ns) / 1000000),
                 (unsigned long long)in.pages);
    if (in.job->lfd >= 0) /* the thread never took it */
        close(in.job->lfd);
    in.job->lfd = -1;
    migrate_in_finish(&in, ret);
    mstream_fini(&in.s);
    return ret;
}
