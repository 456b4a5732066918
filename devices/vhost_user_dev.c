/*
 * The generic vhost-user device, part 1: SPEC parsing for a kind, creation (connect, feature
 * and config negotiation, the transport), the config-space and feature callbacks, counters.
 * Rings, reset and the event loop are in vhost_user_dev_run.c.
 */
#include "vhost_user_dev_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user_kind.h"
#include "virtio_spec.h"

int vhost_user_dev_parse(const struct vhost_user_type *type, const char *args,
                         struct vhost_user_spec *out, char *err, size_t errlen)
{
    struct vhost_user_spec_limits lim = {.keys = type->keys, .max_queues = type->max_queues};
    int ret = vhost_user_spec_parse(args, &lim, out, err, errlen);

    if (ret == 0 && !type->device_id && !out->virtio_id) {
        snprintf(err, errlen, "virtio-id=N is required");
        ret = -EINVAL;
    }
    if (ret == 0 && type->check_spec)
        ret = type->check_spec(out, err, errlen);
    return ret;
}

/* Config space size and kind-independent checks on what the back-end offers. */
static int vud_read_config(struct vhost_user_dev *d, uint8_t *config)
{
    int ret;

    memset(config, 0, VU_CONFIG_MAX_SIZE);
    /* config=HEX: the VMM supplies it (a back-end without GET_CONFIG, e.g. virtiofsd). */
    if (d->spec.config_len) {
        memcpy(config, d->spec.config, d->spec.config_len);
        return 0;
    }
    if (!d->type->config_from_backend || d->config_size == 0)
        return 0;
    /* vhost-user: GET_CONFIG exists only with the CONFIG protocol feature. */
    if (!vu_frontend_has_protocol_feature(d->fe, VU_PF_CONFIG)) {
        log_err("%s: the back-end at %s lacks the CONFIG protocol feature: cannot read the "
                "device's config space (GET_CONFIG)%s",
                d->name, d->spec.socket,
                d->spec.profile == VU_PROFILE_2017 ? "; profile=2017 never offers it" : "");
        return -EOPNOTSUPP;
    }
    ret = vu_frontend_get_config(d->fe, 0, config, d->config_size);
    if (ret < 0)
        log_err("%s: GET_CONFIG of %u bytes from %s failed: %s", d->name, d->config_size,
                d->spec.socket, strerror(-ret));
    return ret;
}

int vud_negotiate(struct vhost_user_dev *d, uint64_t *features, uint8_t *config, bool config_change)
{
    uint64_t offer = vu_frontend_device_features(d->fe);
    struct vhost_user_setup s = {
        .name = d->name,
        .spec = &d->spec,
        .fe = d->fe,
        .features = offer & (d->type->device_features | VUD_TRANSPORT_FEATURES),
        .config = config,
        .config_size = d->config_size,
        .num_queues = d->num_queues,
        .config_change = config_change,
        .priv = d->priv,
    };
    int ret;

    /* This transport is modern-only, and libvhost-user back-ends refuse legacy drivers. */
    if (!config_change && !virtio_has_feature(offer, VIRTIO_F_VERSION_1)) {
        log_err("%s: the back-end at %s does not offer VIRTIO_F_VERSION_1 (features 0x%" PRIx64
                "): legacy-only back-ends are not supported",
                d->name, d->spec.socket, offer);
        return -EOPNOTSUPP;
    }
    ret = vud_read_config(d, config);
    if (ret == 0 && d->type->on_connect)
        ret = d->type->on_connect(&s);
    if (ret == 0)
        *features = s.features;
    return ret;
}

static uint64_t vud_features(void *opaque)
{
    struct vhost_user_dev *d = opaque;

    return d->features; /* stable from creation: no lock needed */
}

static int vud_config_range(const struct vhost_user_dev *d, uint32_t offset, unsigned int len)
{
    return offset > d->config_size || len > d->config_size - offset ? -EINVAL : 0;
}

static int vud_config_read(void *opaque, uint32_t offset, void *data, unsigned int len)
{
    struct vhost_user_dev *d = opaque;
    int ret = vud_config_range(d, offset, len);

    if (ret < 0)
        return ret;
    /* Served from the copy: GET_CONFIG per register read would cost a round trip each. */
    vud_lock(d);
    memcpy(data, d->config + offset, len);
    vud_unlock(d);
    return 0;
}

static int vud_config_write(void *opaque, uint32_t offset, const void *data, unsigned int len)
{
    struct vhost_user_dev *d = opaque;
    int ret = vud_config_range(d, offset, len);

    if (ret < 0 || !d->type->config_from_backend || d->spec.config_len)
        return ret < 0 ? ret : -EPERM;
    vud_lock(d);
    if (!vu_frontend_connected(d->fe))
        ret = -ENOTCONN;
    else
        ret = vu_frontend_set_config(d->fe, offset, data, len, VU_CONFIG_FLAG_WRITABLE);
    if (ret == 0)
        memcpy(d->config + offset, data, len);
    else if (!vu_frontend_connected(d->fe) && !d->broken)
        vud_fail(d, "SET_CONFIG failed: %s", strerror(-ret));
    vud_unlock(d);
    return ret;
}

/* Connects at start-up: the back-end must be there (within connect-timeout). */
static int vud_connect(struct vhost_user_dev *d)
{
    int ret = vu_frontend_connect(d->fe);

    if (ret < 0) {
        /* The library logged the failing step; this line says what it means for the VM. */
        log_err("%s: no usable vhost-user back-end at %s (%s, connect-timeout=%d ms)", d->name,
                d->spec.socket, d->spec.server ? "listening" : "connecting",
                d->spec.connect_timeout_ms);
        return ret;
    }
    ret = vud_negotiate(d, &d->features, d->config, false);
    if (ret == 0)
        ret = vud_watch(d);
    return ret;
}

static struct vu_frontend *vud_session_new(struct vhost_user_dev *d)
{
    struct vu_frontend_opts o = {
        .name = d->name,
        .socket_path = d->spec.socket,
        .server = d->spec.server,
        .profile = d->spec.profile,
        .num_queues = d->backend_queues,
        .reply_timeout_ms = d->spec.reply_timeout_ms,
        .connect_timeout_ms = d->spec.connect_timeout_ms,
        .trace = d->m.trace,
        .config_changed = vud_config_changed,
        .opaque = d,
    };

    return vu_frontend_new(&o);
}

static struct virtio_mmio *vud_transport_new(struct vhost_user_dev *d)
{
    char tname[64];
    struct virtio_mmio_params p = {
        .name = tname,
        .base = d->m.base,
        .gsi = d->m.gsi,
        .irq = d->m.irq,
        .gmem = d->m.gmem,
        .dev_ops = &d->ops,
        .dev = d,
        .num_queues = d->num_queues,
        .queue_max_size = d->queue_size,
    };

    snprintf(tname, sizeof(tname), "virtio-mmio@%#" PRIx64 " (%s)", d->m.base, d->name);
    return virtio_mmio_create(&p);
}

static void vud_init_ops(struct vhost_user_dev *d)
{
    d->ops = (struct virtio_dev_ops){
        .type = d->type->type,
        .device_id = d->type->device_id ? d->type->device_id : d->spec.virtio_id,
        .features = vud_features,
        .config_read = vud_config_read,
        .config_write = vud_config_write,
        .activate = vud_activate,
        .reset = vud_reset,
        /* Only kinds that serve queues themselves see kicks that reached the VMM. */
        .notify = d->type->ops && d->type->ops->kick ? vudq_notify : NULL,
    };
}

struct vhost_user_dev *vhost_user_dev_create(const struct vhost_user_type *type, const char *name,
                                             const struct vhost_user_spec *spec,
                                             const struct vhost_user_machine *m)
{
    struct vhost_user_dev *d = calloc(1, sizeof(*d));
    unsigned int n = spec->queues ? spec->queues : 1;

    if (!d)
        return NULL;
    snprintf(d->name, sizeof(d->name), "%s", name);
    d->type = type;
    d->spec = *spec;
    d->m = *m;
    d->num_queues = n * (type->rings_per_queue ? type->rings_per_queue : 1) + type->extra_rings +
                    type->vmm_queues;
    d->backend_queues = n + type->extra_rings;
    d->queue_size = spec->queue_size ? spec->queue_size : VHOST_USER_DEFAULT_QUEUE_SIZE;
    d->config_size =
        type->config_size == VHOST_USER_CONFIG_FROM_SPEC ? spec->config_size : type->config_size;
    if (d->config_size > VU_CONFIG_MAX_SIZE)
        goto fail;
    d->sock_h.fd = d->chan_h.fd = -1;
    if (d->num_queues > VIRTIO_MMIO_MAX_QUEUES)
        goto fail;
    if (type->ops && type->ops->priv_new) {
        d->priv = type->ops->priv_new(spec, d->name);
        if (!d->priv)
            goto fail;
    }
    vud_init_ops(d);
    if (pthread_mutex_init(&d->lock, NULL) != 0)
        goto fail;
    d->lock_init = true;
    /* The transport first: a failure seen by the event loop signals through it. */
    d->mmio = vud_transport_new(d);
    if (!d->mmio)
        goto fail;
    d->fe = vud_session_new(d);
    if (!d->fe || vud_connect(d) < 0)
        goto fail;
    return d;
fail:
    vhost_user_dev_destroy(d);
    return NULL;
}

void vhost_user_dev_destroy(struct vhost_user_dev *d)
{
    if (!d)
        return;
    if (d->fe)
        vud_unwatch(d);
    vudq_reset(d); /* stops watching VMM-served queues' kicks */
    /* Then the transport: it may still call into the device until it is gone. */
    virtio_mmio_destroy(d->mmio);
    vu_frontend_destroy(d->fe);
    if (d->priv && d->type->ops && d->type->ops->priv_free)
        d->type->ops->priv_free(d->priv);
    if (d->lock_init)
        pthread_mutex_destroy(&d->lock);
    free(d);
}

struct virtio_mmio *vhost_user_dev_mmio(struct vhost_user_dev *d)
{
    return d->mmio;
}

const char *vhost_user_dev_name(const struct vhost_user_dev *d)
{
    return d->name;
}

void vhost_user_dev_get_stats(struct vhost_user_dev *d, struct vhost_user_stats *out)
{
    memset(out, 0, sizeof(*out));
    vud_lock(d);
    vu_frontend_get_stats(d->fe, &out->msgs);
    out->failures = d->failures;
    out->reconnects = d->reconnects;
    vud_unlock(d);
    if (d->mmio)
        virtio_mmio_get_stats(d->mmio, &out->mmio);
}
