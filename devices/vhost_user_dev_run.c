/*
 * The generic vhost-user device, part 2: starting the back-end's rings at DRIVER_OK with the
 * transport's ioeventfd/irqfd eventfds, stopping them at reset, and watching the session's
 * sockets from the event loop (back-end requests, disconnects, unsolicited data).
 */
#include "vhost_user_dev_int.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>

#include "virtio_spec.h"
#include "virtq_wire.h"

/* Back-end channel messages handled per wake-up: a flooding back-end cannot starve the loop. */
#define VUD_CHAN_BATCH 64

static void vud_service(struct vhost_user_dev *d);

void vud_lock(struct vhost_user_dev *d)
{
    pthread_mutex_lock(&d->lock);
}

/*
 * The poke protocol: the event loop sets `poke`, then try-locks; a holder unlocks, then looks
 * at `poke`. Whichever order they run in, one of them sees the other and services the sockets,
 * and the event loop never waits for a vCPU's round trip to the back-end.
 */
static void vud_service_pokes(struct vhost_user_dev *d)
{
    while (__atomic_load_n(&d->poke, __ATOMIC_SEQ_CST) && pthread_mutex_trylock(&d->lock) == 0) {
        vud_service(d);
        pthread_mutex_unlock(&d->lock);
    }
}

void vud_unlock(struct vhost_user_dev *d)
{
    pthread_mutex_unlock(&d->lock);
    vud_service_pokes(d);
}

static void vud_on_event(struct vhost_user_dev *d)
{
    __atomic_store_n(&d->poke, 1, __ATOMIC_SEQ_CST);
    vud_service_pokes(d);
}

void vud_poke(struct vhost_user_dev *d)
{
    vud_on_event(d);
}

static void vud_on_sock(struct ev_handler *h, uint32_t events)
{
    (void)events;
    vud_on_event(container_of(h, struct vhost_user_dev, sock_h));
}

static void vud_on_chan(struct ev_handler *h, uint32_t events)
{
    (void)events;
    vud_on_event(container_of(h, struct vhost_user_dev, chan_h));
}

/*
 * Edge-triggered: a busy holder services on unlock, so a level-triggered fd would only make
 * the loop spin while a vCPU waits for a reply on the same socket.
 */
int vud_watch(struct vhost_user_dev *d)
{
    int ret;

    d->sock_h = (struct ev_handler){.fd = vu_frontend_fd(d->fe), .cb = vud_on_sock};
    ret = evloop_add(d->m.loop, &d->sock_h, EPOLLIN | EPOLLRDHUP | EPOLLET);
    if (ret < 0)
        goto fail;
    d->sock_watched = true;
    if (vu_frontend_backend_fd(d->fe) < 0)
        return 0;
    d->chan_h = (struct ev_handler){.fd = vu_frontend_backend_fd(d->fe), .cb = vud_on_chan};
    ret = evloop_add(d->m.loop, &d->chan_h, EPOLLIN | EPOLLRDHUP | EPOLLET);
    if (ret < 0)
        goto fail;
    d->chan_watched = true;
    return 0;
fail:
    log_err("%s: cannot watch the back-end's sockets: %s", d->name, strerror(-ret));
    vud_unwatch(d);
    return ret;
}

/*
 * A socket the library already closed (it disconnects itself on a broken reply) has left
 * epoll with it, and its number may belong to someone else now: only remove what is open.
 */
void vud_unwatch(struct vhost_user_dev *d)
{
    if (d->sock_watched && d->sock_h.fd == vu_frontend_fd(d->fe))
        evloop_del(d->m.loop, &d->sock_h);
    if (d->chan_watched && d->chan_h.fd == vu_frontend_backend_fd(d->fe))
        evloop_del(d->m.loop, &d->chan_h);
    d->sock_watched = d->chan_watched = false;
    d->sock_h.fd = d->chan_h.fd = -1;
}

void vud_broken(struct vhost_user_dev *d)
{
    vud_unwatch(d);
    vu_frontend_disconnect(d->fe);
    if (!d->broken)
        d->failures++;
    d->broken = true;
}

void vud_fail(struct vhost_user_dev *d, const char *fmt, ...)
{
    char what[192], reason[VHOST_USER_SOCKET_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    vud_broken(d);
    snprintf(reason, sizeof(reason), "vhost-user back-end at %s: %s", d->spec.socket, what);
    virtio_mmio_device_failed(d->mmio, reason);
}

void vud_config_changed(void *opaque)
{
    struct vhost_user_dev *d = opaque;

    d->config_dirty = true; /* re-read after the message is answered (the back-end may wait) */
}

/* CONFIG_CHANGE_MSG: new config space, new ConfigGeneration, config interrupt. */
static void vud_refresh_config(struct vhost_user_dev *d)
{
    uint8_t config[VU_CONFIG_MAX_SIZE];
    uint64_t unused;
    int ret;

    d->config_dirty = false;
    ret = vud_negotiate(d, &unused, config, true);
    if (ret < 0) {
        if (!vu_frontend_connected(d->fe))
            vud_fail(d, "re-reading the config space: %s", strerror(-ret));
        return;
    }
    memcpy(d->config, config, d->config_size);
    if (d->mmio && virtio_mmio_config_changed(d->mmio) < 0)
        log_warn("%s: cannot raise the config interrupt", d->name);
}

static bool vud_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return fd >= 0 && poll(&p, 1, 0) > 0 && p.revents;
}

static void vud_service_chan(struct vhost_user_dev *d)
{
    for (unsigned int i = 0; i < VUD_CHAN_BATCH && d->chan_watched; i++) {
        if (!vud_readable(d->chan_h.fd))
            return;
        int ret = vu_frontend_handle_backend_msg(d->fe);
        if (ret == -ECONNRESET) {
            vud_fail(d, "closed the back-end channel");
            return;
        }
        if (ret < 0) {
            vud_fail(d, "back-end channel: %s", strerror(-ret));
            return;
        }
        if (d->config_dirty)
            vud_refresh_config(d);
    }
}

/* Nothing is expected on the main socket between requests: EOF or bytes mean trouble. */
static void vud_service_sock(struct vhost_user_dev *d)
{
    char c;
    ssize_t n;

    if (!d->sock_watched || d->broken)
        return;
    n = recv(d->sock_h.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        vud_fail(d, "closed the connection");
    else if (n > 0)
        vud_fail(d, "sent a message nobody asked for (protocol error)");
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        vud_fail(d, "%s", strerror(errno));
}

/* Lock held. */
static void vud_service(struct vhost_user_dev *d)
{
    __atomic_store_n(&d->poke, 0, __ATOMIC_SEQ_CST);
    /* Even with the back-end gone: a driver may spin until its control command is used. */
    vudq_service(d);
    if (d->broken)
        return;
    /* The main socket first: when the back-end dies, its EOF says so most plainly. */
    vud_service_sock(d);
    vud_service_chan(d);
}

/* After a failure, the next DRIVER_OK tries the back-end once more (it may have restarted). */
static int vud_reconnect(struct vhost_user_dev *d)
{
    uint64_t features;
    int ret;

    vud_unwatch(d);
    ret = vu_frontend_connect(d->fe);
    if (ret < 0)
        return ret;
    ret = vud_negotiate(d, &features, d->config, false);
    /* The driver negotiated against the first session: the back-end must still offer it. */
    if (ret == 0 && (d->features & ~features)) {
        log_err("%s: the back-end at %s came back without features 0x%llx", d->name, d->spec.socket,
                (unsigned long long)(d->features & ~features));
        ret = -EOPNOTSUPP;
    }
    if (ret == 0)
        ret = vud_watch(d);
    if (ret < 0) {
        vu_frontend_disconnect(d->fe);
        return ret;
    }
    d->broken = false;
    d->reconnects++;
    log_info("%s: reconnected to the back-end at %s", d->name, d->spec.socket);
    return 0;
}

static int vud_set_mem_table(struct vhost_user_dev *d, const struct gmem *gm)
{
    struct vu_region r[GMEM_MAX_REGIONS];

    for (unsigned int i = 0; i < gm->nregions; i++)
        r[i] = (struct vu_region){
            .gpa = gm->regions[i].gpa,
            .size = gm->regions[i].size,
            .uaddr = (uintptr_t)gm->regions[i].hva,
            .mmap_offset = gm->regions[i].fd_offset,
            .fd = gm->fd,
        };
    return vu_frontend_set_mem_table(d->fe, r, gm->nregions);
}

int vud_ring_cfg(const struct gmem *gm, unsigned int q, const struct virtio_queue_config *c,
                 uint32_t base, struct vu_ring_cfg *out)
{
    /* Sized for VIRTIO_F_EVENT_IDX (the trailing event fields), whether or not it was acked. */
    void *desc = gmem_ptr(gm, c->desc, virtq_desc_bytes(c->size));
    void *avail = gmem_ptr(gm, c->driver, virtq_avail_bytes(c->size, true));
    void *used = gmem_ptr(gm, c->device, virtq_used_bytes(c->size, true));

    if (!c->ready || !desc || !avail || !used || c->kick_fd < 0 || c->call_fd < 0)
        return -EINVAL;
    *out = (struct vu_ring_cfg){
        .index = q,
        .num = c->size,
        .base = base,
        .desc_uaddr = (uintptr_t)desc,
        .avail_uaddr = (uintptr_t)avail,
        .used_uaddr = (uintptr_t)used,
        .used_gpa = c->device,
        .kick_fd = c->kick_fd,
        .call_fd = c->call_fd,
        .err_fd = -1,
    };
    return 0;
}

/* GET_VRING_BASE for every ring we started; false if the session broke on the way. */
static bool vud_stop_rings(struct vhost_user_dev *d)
{
    for (unsigned int q = 0; q < d->num_queues && vu_frontend_connected(d->fe); q++) {
        uint32_t base;

        if (vu_frontend_ring_started(d->fe, q) && vu_frontend_stop_ring(d->fe, q, &base) < 0)
            break;
    }
    return vu_frontend_connected(d->fe);
}

/*
 * STATUS protocol feature: the device status byte as QEMU sends it (FEATURES_OK after
 * SET_FEATURES, DRIVER_OK once the rings run, 0 after they stop). DPDK only starts a device
 * ("virtio is now ready") once it has seen DRIVER_OK this way.
 */
static int vud_set_status(struct vhost_user_dev *d, uint8_t status)
{
    if (!vu_frontend_has_protocol_feature(d->fe, VU_PF_STATUS))
        return 0;
    return vu_frontend_set_status(d->fe, status);
}

static int vud_start(struct vhost_user_dev *d, const struct virtio_activation *act)
{
    uint64_t vmmq = vudq_mask(d, act);
    const uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    int ret = vu_frontend_set_features(d->fe, vudq_backend_features(d, act->features));

    if (ret == 0)
        ret = vud_set_status(d, st);
    if (ret == 0)
        ret = vud_set_mem_table(d, act->gmem);
    for (unsigned int q = 0; q < act->nqueues && ret == 0; q++) {
        struct vu_ring_cfg cfg;

        if (!act->queues[q].ready || (q < 64 && (vmmq >> q & 1)))
            continue;
        /* Base 0 after a reset (the driver starts its rings afresh); a migrated VM's rings go
         * on from the source's GET_VRING_BASE. */
        ret = vud_ring_cfg(act->gmem, q, &act->queues[q], act->queues[q].base, &cfg);
        if (ret < 0)
            log_err("%s: queue %u: no ioeventfd/irqfd to hand to the back-end", d->name, q);
        else
            ret = vu_frontend_start_ring(d->fe, &cfg);
    }
    return ret == 0 ? vud_set_status(d, st | VIRTIO_STATUS_DRIVER_OK) : ret;
}

/*
 * DRIVER_OK (vCPU thread, transport lock held): SET_FEATURES, SET_MEM_TABLE, then each ready
 * ring. On failure the transport shows DEVICE_NEEDS_RESET and logs; the rings that did start
 * are stopped again so that the reset that follows finds nothing half-done.
 */
int vud_activate(void *opaque, const struct virtio_activation *act)
{
    struct vhost_user_dev *d = opaque;
    int ret = 0;

    vud_lock(d);
    if (!vu_frontend_connected(d->fe))
        ret = vud_reconnect(d);
    if (ret == 0)
        ret = vud_start(d, act);
    if (ret == 0)
        ret = vudq_activate(d, act);
    if (ret < 0)
        vudq_reset(d);
    if (ret < 0 && !vud_stop_rings(d))
        vud_broken(d);
    vud_unlock(d);
    return ret;
}

/* Status 0 (vCPU thread, transport lock held): stop every started ring, keep nothing. */
void vud_reset(void *opaque)
{
    struct vhost_user_dev *d = opaque;
    bool ran = false;

    vud_lock(d);
    for (unsigned int q = 0; q < d->num_queues; q++)
        ran = ran || vu_frontend_ring_started(d->fe, q);
    vudq_reset(d);
    if (vu_frontend_connected(d->fe) && !vud_stop_rings(d))
        vud_broken(d); /* the transport clears NEEDS_RESET next: the next DRIVER_OK retries */
    else if (ran && vud_set_status(d, 0) < 0 && !vu_frontend_connected(d->fe))
        vud_broken(d);
    vud_unlock(d);
}
