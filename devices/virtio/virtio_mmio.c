/*
 * virtio-mmio transport lifecycle and signals: create/destroy and the bus hookup,
 * the signals a device sends (config change, failure, used buffers) which never
 * take the register lock, counters, and rate-limited logging.
 */
#include "virtio_mmio_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void vmmio_count(uint64_t *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

/*
 * A hostile or fuzzing guest can produce bad accesses (or failing DRIVER_OKs) at
 * MMIO-exit speed: log the first VIRTIO_MMIO_LOG_LIMIT messages per device, then
 * only count them; destroy prints the total.
 */
static void vmmio_vlog(struct virtio_mmio *t, enum log_level level, const char *what,
                       const char *fmt, va_list ap)
{
    uint64_t n = __atomic_add_fetch(&t->logged, 1, __ATOMIC_RELAXED);
    char msg[256];

    if (n > VIRTIO_MMIO_LOG_LIMIT)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    log_msg(level, "%s: %s%s%s", t->name, what, msg,
            n == VIRTIO_MMIO_LOG_LIMIT ? " (further messages from this device are only counted)"
                                       : "");
}

void vmmio_guest_error(struct virtio_mmio *t, const char *fmt, ...)
{
    va_list ap;

    vmmio_count(&t->stats.guest_errors);
    va_start(ap, fmt);
    vmmio_vlog(t, LOG_WARN, "guest error: ", fmt, ap);
    va_end(ap);
}

void vmmio_log(struct virtio_mmio *t, enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmmio_vlog(t, level, "", fmt, ap);
    va_end(ap);
}

uint32_t vmmio_status(const struct virtio_mmio *t)
{
    return __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
}

/* Spec 2.1.2: after setting DEVICE_NEEDS_RESET with DRIVER_OK set, send a config change. */
void vmmio_needs_reset(struct virtio_mmio *t)
{
    __atomic_store_n(&t->needs_reset, true, __ATOMIC_RELEASE);
    if (!(vmmio_status(t) & VIRTIO_STATUS_DRIVER_OK))
        return;
    __atomic_or_fetch(&t->isr, VIRTIO_MMIO_INT_CONFIG, __ATOMIC_ACQ_REL);
    vmmio_count(&t->stats.interrupts);
    if (irq_line_pulse(&t->line) < 0)
        log_warn("%s: cannot raise GSI %u", t->name, t->line.gsi);
}

int virtio_mmio_config_changed(struct virtio_mmio *t)
{
    /* 4.2.2.1: ConfigGeneration must change whenever the driver could see a torn config. */
    __atomic_add_fetch(&t->generation, 1, __ATOMIC_ACQ_REL);
    if (!(vmmio_status(t) & VIRTIO_STATUS_DRIVER_OK))
        return 0; /* the driver reads the config itself before DRIVER_OK */
    __atomic_or_fetch(&t->isr, VIRTIO_MMIO_INT_CONFIG, __ATOMIC_ACQ_REL);
    vmmio_count(&t->stats.interrupts);
    return irq_line_pulse(&t->line);
}

void virtio_mmio_device_failed(struct virtio_mmio *t, const char *reason)
{
    log_err("%s: device failed: %s (guest sees DEVICE_NEEDS_RESET)", t->name, reason);
    vmmio_needs_reset(t);
}

int virtio_mmio_signal_queue(struct virtio_mmio *t, unsigned int queue)
{
    static const uint64_t one = 1;

    if (queue >= t->nqueues || !__atomic_load_n(&t->activated, __ATOMIC_ACQUIRE))
        return -EINVAL;
    vmmio_count(&t->stats.interrupts);
    /* With an irqfd, KVM injects; without, the VMM raises the line itself. */
    if (__atomic_load_n(&t->queues[queue].call_wired, __ATOMIC_ACQUIRE))
        return write(t->queues[queue].call_fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
    __atomic_or_fetch(&t->isr, VIRTIO_MMIO_INT_VRING, __ATOMIC_ACQ_REL);
    return irq_line_pulse(&t->line);
}

static int vmmio_op_signal_queue(void *opaque, unsigned int queue)
{
    return virtio_mmio_signal_queue(opaque, queue);
}

static int vmmio_op_config_changed(void *opaque)
{
    return virtio_mmio_config_changed(opaque);
}

static void vmmio_op_device_failed(void *opaque, const char *reason)
{
    virtio_mmio_device_failed(opaque, reason);
}

static const struct virtio_transport_ops vmmio_transport_ops = {
    .signal_queue = vmmio_op_signal_queue,
    .config_changed = vmmio_op_config_changed,
    .device_failed = vmmio_op_device_failed,
};

const struct virtio_transport *virtio_mmio_transport(struct virtio_mmio *t)
{
    return &t->transport;
}

void virtio_mmio_get_stats(struct virtio_mmio *t, struct virtio_mmio_stats *out)
{
    out->accesses = __atomic_load_n(&t->stats.accesses, __ATOMIC_RELAXED);
    out->notifies = __atomic_load_n(&t->stats.notifies, __ATOMIC_RELAXED);
    out->interrupts = __atomic_load_n(&t->stats.interrupts, __ATOMIC_RELAXED);
    out->guest_errors = __atomic_load_n(&t->stats.guest_errors, __ATOMIC_RELAXED);
    out->activations = __atomic_load_n(&t->stats.activations, __ATOMIC_RELAXED);
}

void virtio_mmio_bus_device(struct virtio_mmio *t, struct bus_device *out)
{
    memset(out, 0, sizeof(*out));
    out->name = t->name;
    out->base = t->base;
    out->size = VIRTIO_MMIO_WINDOW;
    out->opaque = t;
    out->read = virtio_mmio_read;
    out->write = virtio_mmio_write;
}

static bool vmmio_params_ok(const struct virtio_mmio_params *p)
{
    const struct virtio_dev_ops *ops = p->dev_ops;

    if (!ops || !ops->features || !ops->config_read || !ops->config_write || !ops->activate ||
        !ops->reset || !p->irq || !p->irq->set_level || !p->gmem)
        return false;
    return p->num_queues >= 1 && p->num_queues <= VIRTIO_MMIO_MAX_QUEUES &&
           p->queue_max_size >= 1 && p->queue_max_size <= VIRTIO_QUEUE_SIZE_MAX;
}

struct virtio_mmio *virtio_mmio_create(const struct virtio_mmio_params *p)
{
    struct virtio_mmio *t;
    int ret;

    if (!vmmio_params_ok(p)) {
        log_err("virtio-mmio %s: invalid parameters", p->name ? p->name : "?");
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ack_fd = -1; /* fd 0 is valid: calloc is not "none" */
    snprintf(t->name, sizeof(t->name), "%s", p->name ? p->name : "virtio-mmio");
    t->base = p->base;
    t->line.chip = p->irq;
    t->line.gsi = p->gsi;
    t->gmem = p->gmem;
    t->ops = p->dev_ops;
    t->dev = p->dev;
    t->nqueues = p->num_queues;
    t->queue_max = p->queue_max_size;
    t->transport.ops = &vmmio_transport_ops;
    t->transport.opaque = t;
    if (pthread_mutex_init(&t->lock, NULL) != 0)
        goto fail;
    t->lock_init = true;
    t->queues = calloc(t->nqueues, sizeof(*t->queues));
    t->act_queues = calloc(t->nqueues, sizeof(*t->act_queues));
    if (!t->queues || !t->act_queues)
        goto fail;
    for (unsigned int i = 0; i < t->nqueues; i++)
        t->queues[i].kick_fd = t->queues[i].call_fd = -1; /* fd 0 is valid: calloc is not "none" */
    ret = vmmio_queue_create_fds(t);
    if (ret < 0) {
        log_err("%s: eventfds: %s", t->name, strerror(-ret));
        goto fail;
    }
    return t;

fail:
    virtio_mmio_destroy(t);
    return NULL;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
    uint64_t errors;

    if (!t)
        return;
    errors = __atomic_load_n(&t->stats.guest_errors, __ATOMIC_RELAXED);
    if (__atomic_load_n(&t->logged, __ATOMIC_RELAXED) > VIRTIO_MMIO_LOG_LIMIT)
        log_warn("%s: %llu messages not logged; %llu guest errors in total", t->name,
                 (unsigned long long)(t->logged - VIRTIO_MMIO_LOG_LIMIT),
                 (unsigned long long)errors);
    if (t->queues) {
        vmmio_queue_unwire(t);
        vmmio_queue_close_fds(t);
    }
    free(t->act_queues);
    free(t->queues);
    if (t->lock_init)
        pthread_mutex_destroy(&t->lock);
    free(t);
}
