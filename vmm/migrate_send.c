/*
 * The sending side of a job: connect, pre-copy rounds while the guest runs, then pause,
 * stop the rings, final sync, machine and device state, END, and the destination's
 * READY/GO handshake. A snapshot sends the same stream with the guest paused throughout.
 */
#include "migrate_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIGRATE_ROUND_MIN_NS 10000000ULL /* 10 ms */
/* Below this many dirty pages no estimate is needed (and tiny rounds give no rate). */
#define MIGRATE_TINY_PAGES 64

#include "migrate_dev.h"
#include "migrate_state.h"
#include "vm.h"
#include "vmstate.h"

static int migrate_cancelled(struct migrate *m)
{
    if (!__atomic_load_n(&m->cancel, __ATOMIC_ACQUIRE))
        return 0;
    return mstream_fail(&m->s, -ECANCELED, "cancelled");
}

/* Opens the connection and records the fd where migrate_cancel can shut it down. */
static int migrate_connect(struct migrate *m)
{
    char err[256];
    int fd = mconn_open_out(&m->uri, err, sizeof(err));

    if (fd < 0)
        return mstream_fail(&m->s, fd, "%s", err);
    mconn_set_timeout(fd, MIGRATE_IO_TIMEOUT_MS);
    pthread_mutex_lock(&m->lock);
    m->fd = fd;
    pthread_mutex_unlock(&m->lock);
    m->s.fd = fd;
    return migrate_cancelled(m);
}

/* A destination that refused (or died) says so before we get to the end. */
static int migrate_check_peer(struct migrate *m)
{
    enum mconn_msg kind;
    char text[MCONN_MSG_TEXT_MAX + 1] = "";
    int ret;

    if (m->uri.kind == MCONN_FILE || !mconn_readable(m->s.fd))
        return 0;
    ret = mconn_recv_msg(m->s.fd, 0, &kind, text, sizeof(text));
    if (ret == 0 && kind == MCONN_ERROR)
        return mstream_fail(&m->s, -ECONNREFUSED, "the destination refused: %s", text);
    return mstream_fail(&m->s, ret < 0 ? ret : -EPROTO, "the destination %s",
                        ret < 0 ? "closed the connection" : "sent an unexpected message");
}

/* KVM's bits and the back-ends' logs into the one bitmap; timed for the stats. */
static int migrate_sync(struct migrate *m)
{
    uint64_t t0 = vmstate_now_ns();
    int ret = mram_sync(&m->ram);

    if (ret < 0)
        return mstream_fail(&m->s, ret, "KVM_GET_DIRTY_LOG: %s", strerror(-ret));
    mdev_sync(m->vm, &m->ram);
    pthread_mutex_lock(&m->lock);
    m->st.sync_us = (vmstate_now_ns() - t0) / 1000;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

static int migrate_send_pages(struct migrate *m, bool skip_zero)
{
    int ret = mram_send(&m->ram, &m->s, skip_zero, &m->cancel);

    if (ret == 0)
        ret = mstream_flush(&m->s);
    if (ret == -ECANCELED)
        return migrate_cancelled(m);
    migrate_update(m);
    return ret;
}

/* Pre-copy: rounds until what is left would take less than the downtime target. */
static int migrate_precopy(struct migrate *m)
{
    uint64_t round_bytes, round_ns, rate = 0, left;
    int ret;

    migrate_set_phase(m, MIGRATE_PRECOPY);
    mram_mark_all(&m->ram);
    pthread_mutex_lock(&m->lock);
    m->st.dirty_pages = mram_dirty_count(&m->ram); /* all of it, for the first progress line */
    pthread_mutex_unlock(&m->lock);
    for (unsigned int round = 1;; round++) {
        uint64_t t0 = vmstate_now_ns(), b0 = m->s.bytes;

        ret = migrate_send_pages(m, round == 1);
        if (ret == 0)
            ret = migrate_check_peer(m);
        if (ret == 0)
            ret = migrate_sync(m);
        if (ret < 0)
            return ret;
        round_bytes = m->s.bytes - b0;
        round_ns = vmstate_now_ns() - t0;
        /* Tiny rounds back to back would only spin: let the next one gather some pages. */
        if (round_ns < MIGRATE_ROUND_MIN_NS) {
            struct timespec ts = {.tv_nsec = (long)(MIGRATE_ROUND_MIN_NS - round_ns)};
            nanosleep(&ts, NULL);
        }
        if (round_bytes > (64u << 10) && round_ns)
            rate = round_bytes * 1000000000ULL / round_ns;
        left = mram_dirty_count(&m->ram);
        pthread_mutex_lock(&m->lock);
        m->st.rounds = round;
        m->st.dirty_pages = left;
        m->st.rate_bps = rate;
        m->st.expected_downtime_ms = rate ? left * 4096 * 1000 / rate : 0;
        pthread_mutex_unlock(&m->lock);
        log_debug("migration round %u: %llu bytes in %llu ms, %llu pages dirty", round,
                  (unsigned long long)round_bytes, (unsigned long long)(round_ns / 1000000),
                  (unsigned long long)left);
        /* Converged: the rest goes out within the target. A target of 0 turns the check
         * off: pre-copy runs exactly max_rounds rounds (tests, benchmarks). */
        if (m->p.downtime_ms &&
            (left <= MIGRATE_TINY_PAGES || (rate && left * 4096 * 1000 <= m->p.downtime_ms * rate)))
            return 0;
        if (round >= m->p.max_rounds) {
            log_info("migration: %u rounds and %llu pages still dirty: stopping to copy the rest",
                     round, (unsigned long long)left);
            return 0;
        }
    }
}

/* Guest paused: the rest of RAM, the machine, the devices, END. */
static int migrate_stopcopy(struct migrate *m)
{
    struct vm *vm = m->vm;
    int ret;

    migrate_set_phase(m, MIGRATE_STOPCOPY);
    m->pause_ns = vmstate_now_ns();
    ret = vmstate_pause(vm);
    if (ret < 0)
        return mstream_fail(&m->s, ret, "the guest stopped running");
    m->paused = true;
    ret = mdev_stop(vm);
    m->devices_stopped = true;
    if (ret < 0)
        return mstream_fail(&m->s, ret, "cannot stop the devices' rings");
    if (m->p.snapshot || m->p.offline)
        mram_mark_all(&m->ram);
    else if ((ret = migrate_sync(m)) < 0)
        return ret;
    pthread_mutex_lock(&m->lock);
    m->st.dirty_pages = mram_dirty_count(&m->ram);
    pthread_mutex_unlock(&m->lock);
    /* Nothing was sent before: the destination's RAM is all zeroes, skip those pages. */
    ret = mram_send(&m->ram, &m->s, m->p.snapshot || m->p.offline, &m->cancel);
    if (ret == -ECANCELED)
        return migrate_cancelled(m);
    if (ret == 0)
        ret = mstate_send_machine(vm, &m->s);
    if (ret == 0)
        ret = mdev_send(vm, &m->s);
    if (ret == 0)
        ret = mstream_write_section(&m->s, MSTREAM_END, 0, NULL, 0);
    if (ret == 0)
        ret = mstream_flush(&m->s);
    migrate_update(m);
    if (ret < 0 && !m->s.err)
        mstream_fail(&m->s, ret, "cannot save the machine's state: %s", strerror(-ret));
    return ret;
}

/* The destination loaded everything: READY from it, GO from us, and it runs the VM. */
static int migrate_handover(struct migrate *m)
{
    enum mconn_msg kind;
    char text[MCONN_MSG_TEXT_MAX + 1] = "";
    int ret = mconn_recv_msg(m->s.fd, MIGRATE_ACK_TIMEOUT_MS, &kind, text, sizeof(text));

    if (ret < 0)
        return mstream_fail(&m->s, ret, "no answer from the destination: %s",
                            ret == -ECONNRESET ? "it closed the connection" : strerror(-ret));
    if (kind == MCONN_ERROR)
        return mstream_fail(&m->s, -ECONNREFUSED, "the destination refused: %s", text);
    if (kind != MCONN_READY)
        return mstream_fail(&m->s, -EPROTO, "the destination sent an unexpected message");
    /* From here on the destination owns the VM: even if GO is lost we must not resume. */
    ret = migrate_cancelled(m);
    if (ret < 0)
        return ret;
    if (mconn_send_msg(m->s.fd, MCONN_GO, NULL) < 0)
        log_warn("migration: the go-ahead did not reach the destination");
    m->devices_stopped = false; /* the rings are the destination's now */
    m->paused = false;          /* and the vCPUs stay parked until the VM ends */
    return 0;
}

/*
 * A destination that refuses says why and closes: our next write fails first (EPIPE), but
 * its message is still waiting on the socket. Prefer it to the write error.
 */
static void migrate_peer_reason(struct migrate *m)
{
    enum mconn_msg kind;
    char text[MCONN_MSG_TEXT_MAX + 1] = "";

    if (m->uri.kind == MCONN_FILE || m->s.fd < 0 || m->s.err == -ECANCELED ||
        strstr(m->s.why, "destination refused"))
        return;
    if (mconn_recv_msg(m->s.fd, 200, &kind, text, sizeof(text)) == 0 && kind == MCONN_ERROR)
        snprintf(m->s.why, sizeof(m->s.why), "the destination refused: %s", text);
}

static int migrate_send_all(struct migrate *m);

int migrate_send(struct migrate *m)
{
    int ret = migrate_send_all(m);

    if (ret < 0)
        migrate_peer_reason(m);
    return ret;
}

static int migrate_send_all(struct migrate *m)
{
    struct vm *vm = m->vm;
    int ret;

    if ((ret = migrate_connect(m)) < 0 || (ret = mstream_write_header(&m->s)) < 0 ||
        (ret = mstate_send_config(vm, &m->s)) < 0)
        return ret;
    if ((ret = mram_init(&m->ram, &vm->gmem, &vm->kvm)) < 0)
        return mstream_fail(&m->s, ret, "out of memory");
    pthread_mutex_lock(&m->lock);
    m->st.ram_pages = vm->gmem.ram_size / 4096;
    pthread_mutex_unlock(&m->lock);
    if (!m->p.snapshot && !m->p.offline) {
        if ((ret = mram_log_start(&m->ram)) < 0)
            return mstream_fail(&m->s, ret, "cannot turn KVM's dirty log on: %s", strerror(-ret));
        if ((ret = mdev_log_start(vm, &m->ram)) < 0)
            return mstream_fail(&m->s, ret, "cannot turn the back-ends' dirty logs on");
        if ((ret = migrate_precopy(m)) < 0)
            return ret;
    }
    if ((ret = migrate_stopcopy(m)) < 0)
        return ret;
    if (m->p.snapshot) {
        if (fsync(m->s.fd) < 0)
            return mstream_fail(&m->s, -errno, "fsync: %s", strerror(errno));
        pthread_mutex_lock(&m->lock);
        m->st.downtime_ms = (vmstate_now_ns() - m->pause_ns) / 1000000;
        pthread_mutex_unlock(&m->lock);
        return 0;
    }
    ret = migrate_handover(m);
    pthread_mutex_lock(&m->lock);
    m->st.downtime_ms = (vmstate_now_ns() - m->pause_ns) / 1000000;
    pthread_mutex_unlock(&m->lock);
    return ret;
}
