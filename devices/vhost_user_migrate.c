/*
 * vhost-user devices in migrations and snapshots (vhost_user_migrate.h): the back-end's
 * shared dirty log (vhost-user.md §10.1), ring stop/restart around the final copy, and the
 * transport's register file plus ring bases for the destination (§10.3: "vring bases equal
 * to the source's GET_VRING_BASE values").
 */
#include "vhost_user_migrate.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user_dev_int.h"
#include "vhost_user_kind.h"

struct vumig {
    struct vhost_user_dev *d;
    struct vu_dirty_log log;
    bool logging;
    struct vumig_state st; /* source: what stop found; destination: what load installed */
    bool loaded;
};

struct vumig *vumig_create(struct vhost_user_dev *d)
{
    struct vumig *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->d = d;
    m->log.fd = -1;
    return m;
}

void vumig_destroy(struct vumig *m)
{
    if (!m)
        return;
    vumig_log_stop(m);
    free(m);
}

const char *vumig_blocker(struct vumig *m)
{
    const char *why;

    vud_lock(m->d);
    why = m->d->broken ? "its vhost-user back-end failed" : vu_frontend_migration_blocker(m->d->fe);
    vud_unlock(m->d);
    return why;
}

static bool vumig_any_started(struct vhost_user_dev *d)
{
    for (unsigned int q = 0; q < d->num_queues; q++)
        if (vu_frontend_ring_started(d->fe, q))
            return true;
    return false;
}

int vumig_log_start(struct vumig *m, uint64_t mem_end)
{
    struct vhost_user_dev *d = m->d;
    int ret = vu_dirty_log_create(&m->log, mem_end);

    if (ret < 0)
        return ret;
    vud_lock(d);
    ret = vu_frontend_set_log_base(d->fe, &m->log);
    /* Before the driver's DRIVER_OK nothing was negotiated and no ring runs: the back-end
     * writes no guest memory, and logging starts with the features at activation. */
    if (ret == 0 && vumig_any_started(d))
        ret = vu_frontend_set_logging(d->fe, true);
    if (ret == 0) {
        d->vmm_log = m->log.bitmap;
        d->vmm_log_bytes = m->log.size;
    }
    vud_unlock(d);
    if (ret < 0) {
        log_err("%s: cannot turn the back-end's dirty log on: %s", d->name,
                vu_frontend_last_error(d->fe));
        vu_dirty_log_destroy(&m->log);
        return ret;
    }
    m->logging = true;
    return 0;
}

void vumig_log_stop(struct vumig *m)
{
    struct vhost_user_dev *d = m->d;

    if (!m->logging)
        return;
    vud_lock(d);
    d->vmm_log = NULL;
    d->vmm_log_bytes = 0;
    if (vu_frontend_connected(d->fe) && vu_frontend_set_logging(d->fe, false) < 0)
        log_warn("%s: turning the back-end's dirty log off failed", d->name);
    vud_unlock(d);
    /* The back-end keeps its mapping until the next SET_LOG_BASE; our copy can go. */
    vu_dirty_log_destroy(&m->log);
    m->logging = false;
}

uint64_t *vumig_log_words(struct vumig *m, uint64_t *nwords)
{
    if (!m->logging)
        return NULL;
    *nwords = m->log.size / 8;
    return (uint64_t *)(void *)m->log.bitmap;
}

int vumig_stop(struct vumig *m)
{
    struct vhost_user_dev *d = m->d;
    int ret = 0;

    memset(&m->st, 0, sizeof(m->st));
    vud_lock(d);
    /* The queues the VMM serves stop too: what they write after the final sync would be lost. */
    d->vmmq_stopped = true;
    for (unsigned int q = 0; q < d->num_queues && q < VIRTIO_MMIO_MAX_QUEUES; q++) {
        if (!vu_frontend_ring_started(d->fe, q))
            continue;
        ret = vu_frontend_stop_ring(d->fe, q, &m->st.bases[q]);
        if (ret < 0) {
            log_err("%s: stopping ring %u: %s", d->name, q, vu_frontend_last_error(d->fe));
            break;
        }
        m->st.stopped |= 1ULL << q;
    }
    vud_unlock(d);
    return ret;
}

/* VMM-served queues run again and serve what the guest queued meanwhile (lock held). */
static void vumig_serve_vmmq(struct vhost_user_dev *d)
{
    d->vmmq_stopped = false;
    __atomic_or_fetch(&d->vmmq_pending, d->vmmq_mask, __ATOMIC_SEQ_CST);
    vudq_service(d);
}

int vumig_restart(struct vumig *m)
{
    struct vhost_user_dev *d = m->d;
    unsigned int n;
    const struct virtio_queue_config *qc = virtio_mmio_queues(d->mmio, &n);
    int ret = 0;

    vud_lock(d);
    for (unsigned int q = 0; q < n && q < 64 && ret == 0; q++) {
        struct vu_ring_cfg cfg;

        if (!(m->st.stopped >> q & 1))
            continue;
        ret = vud_ring_cfg(d->m.gmem, q, &qc[q], m->st.bases[q], &cfg);
        if (ret == 0)
            ret = vu_frontend_start_ring(d->fe, &cfg);
        if (ret < 0)
            log_err("%s: restarting ring %u: %s", d->name, q, vu_frontend_last_error(d->fe));
    }
    if (ret < 0)
        vud_fail(d, "cannot restart the rings after a failed migration");
    else
        m->st.stopped = 0;
    vumig_serve_vmmq(d);
    vud_unlock(d);
    return ret;
}

void vumig_save(struct vumig *m, struct vumig_state *out)
{
    *out = m->st;
    virtio_mmio_save(m->d->mmio, &out->mmio);
}

int vumig_load(struct vumig *m, const struct vumig_state *in, char *why, size_t whylen)
{
    int ret = virtio_mmio_load(m->d->mmio, &in->mmio, why, whylen);

    if (ret == 0) {
        m->st = *in;
        m->loaded = true;
    }
    return ret;
}

int vumig_go(struct vumig *m)
{
    unsigned int n;
    const struct virtio_queue_config *qc;
    int ret;

    if (!m->loaded)
        return 0;
    ret = virtio_mmio_resume(m->d->mmio, m->st.bases);
    if (ret < 0)
        return ret;
    /* A control command the guest queued before the source stopped is served here. */
    vud_lock(m->d);
    vumig_serve_vmmq(m->d);
    vud_unlock(m->d);
    /*
     * A completion the source's back-end signalled while draining at GET_VRING_BASE may
     * not have reached the saved interrupt state (KVM injects IOAPIC irqfds from a work
     * item). One interrupt per ring on arrival covers it: for irqfd-driven devices
     * InterruptStatus always reports used buffers, so drivers just scan their rings.
     */
    qc = virtio_mmio_queues(m->d->mmio, &n);
    for (unsigned int q = 0; q < n; q++) {
        uint64_t one = 1;

        if (qc[q].ready && qc[q].call_fd >= 0 &&
            write(qc[q].call_fd, &one, sizeof(one)) != sizeof(one))
            log_warn("%s: ring %u: cannot signal the guest after migration", m->d->name, q);
    }
    return 0;
}

size_t vumig_save_kind(struct vumig *m, void *buf, size_t cap)
{
    const struct vhost_user_kind_ops *ops = m->d->type->ops;
    size_t len = 0;

    if (!ops || !ops->save_state)
        return 0;
    vud_lock(m->d);
    len = ops->save_state(m->d, buf, cap);
    vud_unlock(m->d);
    return len <= cap ? len : 0;
}

bool vumig_has_kind_state(const struct vumig *m)
{
    const struct vhost_user_kind_ops *ops = m->d->type->ops;

    return ops && ops->load_state;
}

int vumig_load_kind(struct vumig *m, const void *buf, size_t len, char *why, size_t whylen)
{
    const struct vhost_user_kind_ops *ops = m->d->type->ops;
    int ret;

    if (!ops || !ops->load_state) {
        snprintf(why, whylen, "the stream carries VMM-side state for a kind that has none");
        return -EINVAL;
    }
    vud_lock(m->d);
    ret = ops->load_state(m->d, buf, len, why, whylen);
    vud_unlock(m->d);
    return ret;
}
