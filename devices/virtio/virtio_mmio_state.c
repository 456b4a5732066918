/*
 * Saving and installing the virtio-mmio register file (virtio_mmio_state.h). Installing
 * trusts nothing in the stream: the same checks a driver's register writes get.
 */
#include "virtio_mmio_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio_mmio_int.h"

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&t->lock);
    out->nqueues = t->nqueues;
    out->status = vmmio_status(t) & ~(uint32_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    out->activated = __atomic_load_n(&t->activated, __ATOMIC_ACQUIRE);
    out->needs_reset = __atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE);
    out->isr = __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE);
    out->generation = __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
    out->dev_features_sel = t->dev_features_sel;
    out->drv_features_sel = t->drv_features_sel;
    out->queue_sel = t->queue_sel;
    out->shm_sel = t->shm_sel;
    out->features_valid = t->features_valid;
    out->acked_unknown = t->acked_unknown;
    out->offered = t->offered;
    out->acked = t->acked;
    for (unsigned int i = 0; i < t->nqueues; i++)
        out->q[i] = (struct virtio_mmio_queue_state){
            .num = t->queues[i].num,
            .ready = t->queues[i].ready,
            .desc = t->queues[i].desc,
            .driver = t->queues[i].driver,
            .device = t->queues[i].device,
        };
    pthread_mutex_unlock(&t->lock);
}

static int vmmio_state_bad(char *why, size_t whylen, const char *what)
{
    snprintf(why, whylen, "%s", what);
    return -EINVAL;
}

int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *in, char *why,
                     size_t whylen)
{
    uint32_t st = in->status;
    int ret = 0;

    if (in->nqueues != t->nqueues)
        return vmmio_state_bad(why, whylen, "the device has a different number of queues");
    if (st &
        ~(uint32_t)(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                    VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED))
        return vmmio_state_bad(why, whylen, "invalid device status");
    if (in->activated && !(st & VIRTIO_STATUS_DRIVER_OK))
        return vmmio_state_bad(why, whylen, "a running device without DRIVER_OK");
    pthread_mutex_lock(&t->lock);
    /* The destination's back-end must offer what the driver saw, or the driver breaks. */
    if (in->features_valid && in->offered != vmmio_status_offered(t)) {
        ret = vmmio_state_bad(why, whylen, "the back-end offers other features than the source's");
        goto out;
    }
    if (in->acked & ~in->offered) {
        ret = vmmio_state_bad(why, whylen, "acked features were never offered");
        goto out;
    }
    t->dev_features_sel = in->dev_features_sel;
    t->drv_features_sel = in->drv_features_sel;
    t->queue_sel = in->queue_sel;
    t->shm_sel = in->shm_sel;
    t->features_valid = in->features_valid != 0;
    t->acked_unknown = in->acked_unknown != 0;
    t->offered = in->offered;
    t->acked = in->acked;
    for (unsigned int i = 0; i < t->nqueues; i++) {
        struct vmmio_queue *q = &t->queues[i];
        const char *bad;

        q->num = in->q[i].num;
        q->desc = in->q[i].desc;
        q->driver = in->q[i].driver;
        q->device = in->q[i].device;
        q->ready = false;
        if (!in->q[i].ready)
            continue;
        bad = vmmio_queue_invalid(t, q);
        if (bad) {
            snprintf(why, whylen, "queue %u: %s", i, bad);
            ret = -EINVAL;
            goto out;
        }
        q->ready = true;
    }
    __atomic_store_n(&t->isr, in->isr, __ATOMIC_RELEASE);
    __atomic_store_n(&t->generation, in->generation, __ATOMIC_RELEASE);
    __atomic_store_n(&t->needs_reset, in->needs_reset != 0, __ATOMIC_RELEASE);
    __atomic_store_n(&t->status, st, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&t->lock);
    return ret;
}

int virtio_mmio_resume(struct virtio_mmio *t, const uint32_t *bases)
{
    struct virtio_activation act = {
        .features = t->acked,
        .nqueues = t->nqueues,
        .gmem = t->gmem,
        .transport = &t->transport,
    };
    int ret = 0;

    pthread_mutex_lock(&t->lock);
    if (!(vmmio_status(t) & VIRTIO_STATUS_DRIVER_OK) ||
        __atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE))
        goto out; /* nothing ran on the source: the driver will get there itself */
    ret = vmmio_queue_wire(t);
    if (ret < 0)
        goto out;
    struct virtio_queue_config *qc = (struct virtio_queue_config *)vmmio_queue_configs(t);
    for (unsigned int i = 0; i < t->nqueues; i++)
        qc[i].base = bases ? bases[i] : 0;
    act.queues = qc;
    ret = t->ops->activate(t->dev, &act);
    if (ret < 0) {
        vmmio_queue_unwire(t);
        vmmio_log(t, LOG_ERROR, "activate after migration: %s", strerror(-ret));
        goto out;
    }
    __atomic_store_n(&t->activated, true, __ATOMIC_RELEASE);
    vmmio_count(&t->stats.activations);
out:
    pthread_mutex_unlock(&t->lock);
    return ret;
}

const struct virtio_queue_config *virtio_mmio_queues(struct virtio_mmio *t, unsigned int *n)
{
    const struct virtio_queue_config *qc;

    pthread_mutex_lock(&t->lock);
    qc = vmmio_queue_configs(t);
    *n = t->nqueues;
    pthread_mutex_unlock(&t->lock);
    return qc;
}
