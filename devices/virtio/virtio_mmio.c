/*
 * virtio-mmio version 2 register file: access-width checks and the dispatch of
 * each register (virtio 1.2, 4.2.2), the signals a device sends through the
 * transport, and rate-limited logging of guest mistakes.
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
 * A hostile or fuzzing guest can produce bad accesses at MMIO-exit speed: log the
 * first VIRTIO_MMIO_LOG_LIMIT per device, then only count them (stats.guest_errors).
 */
void vmmio_guest_error(struct virtio_mmio *t, const char *fmt, ...)
{
    uint64_t n = __atomic_add_fetch(&t->stats.guest_errors, 1, __ATOMIC_RELAXED);
    char msg[256];
    va_list ap;

    if (n > VIRTIO_MMIO_LOG_LIMIT)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("%s: guest error: %s%s", t->name, msg,
             n == VIRTIO_MMIO_LOG_LIMIT ? " (further guest errors are only counted)" : "");
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
    if (t->queues[queue].call_wired)
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

/*
 * InterruptStatus: the back-end signals used buffers through an irqfd the VMM never
 * sees, so while the queues run the used-buffer bit is always reported (a spurious
 * vring check costs the driver little; a missing bit loses an interrupt).
 */
static uint32_t vmmio_interrupt_status(struct virtio_mmio *t)
{
    uint32_t isr = __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE);

    if (__atomic_load_n(&t->activated, __ATOMIC_ACQUIRE))
        isr |= VIRTIO_MMIO_INT_VRING;
    return isr;
}

static uint32_t vmmio_features_word(uint64_t features, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(features >> (32 * sel)) : 0;
}

static uint32_t vmmio_read_reg(struct virtio_mmio *t, uint64_t offset)
{
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return VIRTIO_MMIO_VERSION_2;
    case VIRTIO_MMIO_DEVICE_ID:
        return t->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return vmmio_features_word(vmmio_status_offered(t), t->dev_features_sel);
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_QUEUE_READY:
        return vmmio_queue_read(t, offset);
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return vmmio_interrupt_status(t);
    case VIRTIO_MMIO_STATUS:
        return vmmio_status(t) |
               (__atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE) ? VIRTIO_STATUS_DEVICE_NEEDS_RESET
                                                                   : 0);
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
        return 0xffffffffu; /* 4.2.2.1: no shared memory region: length reads as -1 */
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0;
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
    default:
        vmmio_guest_error(t, "read of write-only or unknown register %#llx",
                          (unsigned long long)offset);
        return 0;
    }
}

static void vmmio_write_driver_features(struct virtio_mmio *t, uint32_t val)
{
    uint32_t st = vmmio_status(t);

    /* 3.1.1 step 4: features are written after DRIVER and frozen by FEATURES_OK. */
    if (!(st & VIRTIO_STATUS_DRIVER) || (st & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED))) {
        vmmio_guest_error(t, "DriverFeatures write in status %#x", st);
        return;
    }
    if (t->drv_features_sel >= 2) {
        t->acked_unknown |= val != 0;
        return;
    }
    t->acked &= ~((uint64_t)0xffffffffu << (32 * t->drv_features_sel));
    t->acked |= (uint64_t)val << (32 * t->drv_features_sel);
}

static void vmmio_write_reg(struct virtio_mmio *t, uint64_t offset, uint32_t val)
{
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = val;
        return;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        vmmio_write_driver_features(t, val);
        return;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = val;
        return;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = val; /* checked wherever it is used */
        return;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_READY:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        vmmio_queue_write(t, offset, val);
        return;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        vmmio_queue_notify(t, val);
        return;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        __atomic_and_fetch(&t->isr, ~val, __ATOMIC_ACQ_REL);
        return;
    case VIRTIO_MMIO_STATUS:
        vmmio_status_write(t, val);
        return;
    case VIRTIO_MMIO_SHM_SEL:
        t->shm_sel = val;
        return;
    default:
        vmmio_guest_error(t, "write %#x to read-only or unknown register %#llx", val,
                          (unsigned long long)offset);
        return;
    }
}

/* Spec 4.2.2.2: the driver uses 8/16/32-bit accesses for config fields, 64-bit ones as two 32. */
static bool vmmio_config_access_ok(uint64_t offset, unsigned int len)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return false;
    if (offset % (len == 8 ? 4 : len))
        return false;
    return offset - VIRTIO_MMIO_CONFIG + len <= VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG;
}

static void vmmio_config_read(struct virtio_mmio *t, uint64_t offset, uint8_t *data, unsigned int len)
{
    unsigned int chunk = len == 8 ? 4 : len;

    for (unsigned int done = 0; done < len; done += chunk) {
        uint32_t off = (uint32_t)(offset - VIRTIO_MMIO_CONFIG) + done;

        if (t->ops->config_read(t->dev, off, data + done, chunk) < 0) {
            vmmio_guest_error(t, "config read at %#x len %u refused by the device", off, chunk);
            memset(data + done, 0, chunk);
        }
    }
}

static void vmmio_config_write(struct virtio_mmio *t, uint64_t offset, const uint8_t *data,
                               unsigned int len)
{
    unsigned int chunk = len == 8 ? 4 : len;
    uint32_t st = vmmio_status(t);

    /* 3.1.1: the driver may read but not write the config before it set DRIVER. */
    if (!(st & VIRTIO_STATUS_DRIVER) || (st & VIRTIO_STATUS_FAILED)) {
        vmmio_guest_error(t, "config write in status %#x", st);
        return;
    }
    for (unsigned int done = 0; done < len; done += chunk) {
        uint32_t off = (uint32_t)(offset - VIRTIO_MMIO_CONFIG) + done;

        if (t->ops->config_write(t->dev, off, data + done, chunk) < 0)
            vmmio_guest_error(t, "config write at %#x len %u refused by the device", off, chunk);
    }
}

/* Spec 4.2.2.2: control registers take 32-bit aligned accesses only. */
static bool vmmio_reg_access_ok(struct virtio_mmio *t, uint64_t offset, unsigned int len,
                                const char *what)
{
    if (len == 4 && offset % 4 == 0)
        return true;
    vmmio_guest_error(t, "%s of register %#llx with width %u refused", what,
                      (unsigned long long)offset, len);
    return false;
}

void virtio_mmio_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct virtio_mmio *t = opaque;

    vmmio_count(&t->stats.accesses);
    memset(data, 0, len);
    pthread_mutex_lock(&t->lock);
    if (offset >= VIRTIO_MMIO_CONFIG) {
        if (vmmio_config_access_ok(offset, len))
            vmmio_config_read(t, offset, data, len);
        else
            vmmio_guest_error(t, "config read at %#llx width %u refused", (unsigned long long)offset, len);
    } else if (vmmio_reg_access_ok(t, offset, len, "read")) {
        uint32_t val = vmmio_read_reg(t, offset);

        memcpy(data, &val, sizeof(val)); /* virtio-mmio registers are little-endian, as is x86 */
    }
    pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct virtio_mmio *t = opaque;

    vmmio_count(&t->stats.accesses);
    pthread_mutex_lock(&t->lock);
    if (offset >= VIRTIO_MMIO_CONFIG) {
        if (vmmio_config_access_ok(offset, len))
            vmmio_config_write(t, offset, data, len);
        else
            vmmio_guest_error(t, "config write at %#llx width %u refused", (unsigned long long)offset, len);
    } else if (vmmio_reg_access_ok(t, offset, len, "write")) {
        uint32_t val;

        memcpy(&val, data, sizeof(val));
        vmmio_write_reg(t, offset, val);
    }
    pthread_mutex_unlock(&t->lock);
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
    if (errors > VIRTIO_MMIO_LOG_LIMIT)
        log_warn("%s: %llu guest errors in total", t->name, (unsigned long long)errors);
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
