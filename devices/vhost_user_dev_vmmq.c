/*
 * The generic vhost-user device, part 3: what a kind with VMM-side state adds
 * (vhost_user_kind.h) — feature bits kept from the back-end, queues the VMM serves itself
 * (their kicks watched in the event loop and served under the device lock), the services
 * hooks call, and the after-migration announcement.
 */
#include "vhost_user_dev_int.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "vhost_user_kind.h"

static const struct vhost_user_kind_ops *vudq_ops(const struct vhost_user_dev *d)
{
    return d->type->ops;
}

uint64_t vudq_backend_features(struct vhost_user_dev *d, uint64_t acked)
{
    const struct vhost_user_kind_ops *ops = vudq_ops(d);
    uint64_t vmm = ops ? ops->vmm_features : 0;

    /* The back-end must only get bits it offered (DPDK withholds FEATURES_OK otherwise). */
    return acked & ~vmm & vu_frontend_device_features(d->fe);
}

uint64_t vudq_mask(struct vhost_user_dev *d, const struct virtio_activation *act)
{
    const struct vhost_user_kind_ops *ops = vudq_ops(d);
    uint64_t mask = 0;

    if (ops && ops->vmm_queue_mask)
        mask = ops->vmm_queue_mask(d->priv, act->features, act->nqueues);
    if (act->nqueues < 64)
        mask &= (1ULL << act->nqueues) - 1;
    d->vmmq_mask = mask;
    return mask;
}

static void vudq_on_kick(struct ev_handler *h, uint32_t events)
{
    struct vud_kick *k = container_of(h, struct vud_kick, h);

    (void)events;
    __atomic_or_fetch(&k->d->vmmq_pending, 1ULL << k->q, __ATOMIC_SEQ_CST);
    vud_poke(k->d);
}

static void vudq_unwatch(struct vhost_user_dev *d)
{
    for (unsigned int i = 0; i < VUD_VMMQ_WATCH_MAX; i++) {
        struct vud_kick *k = &d->vmmq_kick[i];

        if (k->watched)
            evloop_del(d->m.loop, &k->h);
        k->watched = false;
    }
}

/* Each ready VMM-served queue's kick eventfd (the transport's ioeventfd) goes to the loop. */
static int vudq_watch(struct vhost_user_dev *d, const struct virtio_activation *act)
{
    unsigned int n = 0;

    for (unsigned int q = 0; q < act->nqueues && q < 64; q++) {
        struct vud_kick *k;
        int ret;

        if (!(d->vmmq_mask >> q & 1) || !act->queues[q].ready || act->queues[q].kick_fd < 0)
            continue;
        if (n == VUD_VMMQ_WATCH_MAX) {
            log_err("%s: more than %u queues served by the VMM", d->name, VUD_VMMQ_WATCH_MAX);
            return -ENOSPC;
        }
        k = &d->vmmq_kick[n++];
        *k = (struct vud_kick){
            .h = {.fd = act->queues[q].kick_fd, .cb = vudq_on_kick}, .d = d, .q = q};
        ret = evloop_add(d->m.loop, &k->h, EPOLLIN | EPOLLET); /* as vud_watch: no spinning */
        if (ret < 0) {
            log_err("%s: cannot watch queue %u's kicks: %s", d->name, q, strerror(-ret));
            return ret;
        }
        k->watched = true;
    }
    return 0;
}

int vudq_activate(struct vhost_user_dev *d, const struct virtio_activation *act)
{
    const struct vhost_user_kind_ops *ops = vudq_ops(d);
    int ret = 0;

    d->act_queues = act->queues;
    d->act_nqueues = act->nqueues;
    if (ops && ops->activate)
        ret = ops->activate(d, act);
    if (ret == 0)
        ret = vudq_watch(d, act);
    return ret;
}

void vudq_reset(struct vhost_user_dev *d)
{
    const struct vhost_user_kind_ops *ops = vudq_ops(d);

    vudq_unwatch(d);
    if (d->act_queues && ops && ops->reset)
        ops->reset(d);
    __atomic_store_n(&d->vmmq_pending, 0, __ATOMIC_SEQ_CST);
    d->vmmq_mask = 0;
    d->act_queues = NULL;
    d->act_nqueues = 0;
}

/* Empties a kick eventfd: one serve covers every kick counted so far. */
static void vudq_drain(int fd)
{
    uint64_t count;

    if (fd >= 0 && read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn("draining kick eventfd %d: %s", fd, strerror(errno));
}

void vudq_service(struct vhost_user_dev *d)
{
    uint64_t pending = __atomic_exchange_n(&d->vmmq_pending, 0, __ATOMIC_SEQ_CST);
    const struct vhost_user_kind_ops *ops = vudq_ops(d);

    /* Rings stopped for a migration: the kicks wait for the restart (or go with the VM). */
    if (d->vmmq_stopped) {
        __atomic_or_fetch(&d->vmmq_pending, pending, __ATOMIC_SEQ_CST);
        return;
    }
    /* A kick that raced with a reset is dropped: the queue is gone with the activation. */
    pending &= d->vmmq_mask;
    for (unsigned int q = 0; pending && q < 64; q++) {
        if (!(pending >> q & 1) || !d->act_queues || q >= d->act_nqueues)
            continue;
        /* Drain before serving: a kick during the serve then triggers another one. */
        vudq_drain(d->act_queues[q].kick_fd);
        if (ops && ops->kick)
            ops->kick(d, q);
    }
}

void vudq_notify(void *opaque, unsigned int q)
{
    struct vhost_user_dev *d = opaque;
    static const uint64_t one = 1;
    int fd = -1;

    vud_lock(d);
    if (q < 64 && (d->vmmq_mask >> q & 1) && d->vmmq_stopped) {
        __atomic_or_fetch(&d->vmmq_pending, 1ULL << q, __ATOMIC_SEQ_CST);
    } else if (q < 64 && (d->vmmq_mask >> q & 1)) {
        if (d->type->ops->kick)
            d->type->ops->kick(d, q);
    } else if (d->act_queues && q < d->act_nqueues) {
        fd = d->act_queues[q].kick_fd;
    }
    vud_unlock(d);
    /* A back-end ring: what the transport does without a notify op, pass the kick on. */
    if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
        log_warn("%s: kick q=%u: %s", d->name, q, strerror(errno));
}

void *vhost_user_dev_priv(const struct vhost_user_dev *d)
{
    return d->priv;
}

const struct vhost_user_spec *vhost_user_dev_spec(const struct vhost_user_dev *d)
{
    return &d->spec;
}

struct vu_frontend *vhost_user_dev_frontend(struct vhost_user_dev *d)
{
    return d->fe;
}

int vhost_user_dev_config_update(struct vhost_user_dev *d, uint32_t offset, const void *data,
                                 uint32_t len, bool notify)
{
    if (offset > d->config_size || len > d->config_size - offset)
        return -EINVAL;
    memcpy(d->config + offset, data, len);
    return notify ? virtio_mmio_config_changed(d->mmio) : 0;
}

void vhost_user_dev_log_write(struct vhost_user_dev *d, uint64_t gpa, uint64_t len)
{
    uint64_t first = gpa / 4096, last;

    if (!d->vmm_log || len == 0 || gpa + len < gpa)
        return;
    last = (gpa + len - 1) / 4096;
    /* vhost-user.md §10.1: bit = page, LSB first; the back-end sets bits atomically too. */
    for (uint64_t pg = first; pg <= last && pg / 8 < d->vmm_log_bytes; pg++)
        __atomic_or_fetch(&d->vmm_log[pg / 8], (uint8_t)(1u << (pg % 8)), __ATOMIC_RELAXED);
}

int vhost_user_dev_signal_queue(struct vhost_user_dev *d, unsigned int q)
{
    return virtio_mmio_signal_queue(d->mmio, q);
}

void vhost_user_dev_guest_error(struct vhost_user_dev *d, const char *fmt, ...)
{
    char what[192], reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(reason, sizeof(reason), "guest error: %s", what);
    virtio_mmio_device_failed(d->mmio, reason);
}

void vhost_user_dev_backend_failed(struct vhost_user_dev *d, const char *fmt, ...)
{
    char what[192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    vud_fail(d, "%s", what);
}

int vhost_user_dev_migration_done(struct vhost_user_dev *d)
{
    const struct vhost_user_kind_ops *ops = vudq_ops(d);
    int ret = 0;

    if (!ops || !ops->migration_done)
        return 0;
    vud_lock(d);
    ret = ops->migration_done(d);
    vud_unlock(d);
    return ret;
}
