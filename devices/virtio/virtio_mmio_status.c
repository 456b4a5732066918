/*
 * The device status state machine of the virtio-mmio transport: legal
 * transitions (virtio 1.2, 2.1 and 3.1.1), feature negotiation at FEATURES_OK,
 * activation at DRIVER_OK and device reset (status 0).
 */
#include "virtio_mmio_int.h"

#include <string.h>

#define ST_A   VIRTIO_STATUS_ACKNOWLEDGE
#define ST_D   VIRTIO_STATUS_DRIVER
#define ST_FO  VIRTIO_STATUS_FEATURES_OK
#define ST_DOK VIRTIO_STATUS_DRIVER_OK

/*
 * Transport feature bits this transport cannot honour: SR_IOV (PCI only),
 * NOTIFICATION_DATA and NOTIF_CONFIG_DATA (they change what QueueNotify carries,
 * which the ioeventfd datamatch relies on), RING_RESET (no QueueReset support),
 * ADMIN_VQ, and the reserved range 42..49. Never offered whatever the device says.
 */
#define VMMIO_FEATURES_UNSUPPORTED (((1ULL << 50) - 1) & ~((1ULL << VIRTIO_F_SR_IOV) - 1))

uint64_t vmmio_status_offered(struct virtio_mmio *t)
{
    if (t->features_valid)
        return t->offered;
    return t->ops->features(t->dev) & ~VMMIO_FEATURES_UNSUPPORTED;
}

/* The states 3.1.1 walks through; anything else (FAILED aside) is illegal. */
static bool vmmio_status_is_step(uint32_t st)
{
    return st == ST_A || st == (ST_A | ST_D) || st == (ST_A | ST_D | ST_FO) ||
           st == (ST_A | ST_D | ST_FO | ST_DOK);
}

/* 3.1.1 step 5-6: FEATURES_OK sticks only if the device can run with what the driver acked. */
static bool vmmio_status_features_ok(struct virtio_mmio *t)
{
    uint64_t extra = t->acked & ~t->offered;

    if (t->acked_unknown) {
        vmmio_guest_error(t, "FEATURES_OK refused: driver acked feature bits above 63");
        return false;
    }
    if (extra) {
        vmmio_guest_error(t, "FEATURES_OK refused: driver acked features %#llx not offered",
                          (unsigned long long)extra);
        return false;
    }
    /* A modern-only transport: a driver without VERSION_1 is a legacy driver. */
    if (!virtio_has_feature(t->acked, VIRTIO_F_VERSION_1)) {
        vmmio_guest_error(t, "FEATURES_OK refused: VERSION_1 not acked (legacy driver)");
        return false;
    }
    return true;
}

static void vmmio_status_set(struct virtio_mmio *t, uint32_t st)
{
    __atomic_store_n(&t->status, st, __ATOMIC_RELEASE);
}

/* DRIVER_OK: wire the eventfds, then hand the validated queues to the device. */
static void vmmio_status_activate(struct virtio_mmio *t)
{
    struct virtio_activation act = {
        .features = t->acked,
        .nqueues = t->nqueues,
        .gmem = t->gmem,
        .transport = &t->transport,
    };
    int ret;

    /* The device failed before the driver finished: do not start it, tell the driver. */
    if (__atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE)) {
        vmmio_needs_reset(t);
        return;
    }
    ret = vmmio_queue_wire(t);
    if (ret < 0) {
        vmmio_needs_reset(t); /* the failing step was logged by vmmio_queue_wire */
        return;
    }
    act.queues = vmmio_queue_configs(t); /* after wiring: call_fd is -1 where no irqfd */
    ret = t->ops->activate(t->dev, &act);
    if (ret < 0) {
        vmmio_queue_unwire(t);
        vmmio_log(t, LOG_ERROR, "activate: %s (guest sees DEVICE_NEEDS_RESET)", strerror(-ret));
        vmmio_needs_reset(t);
        return;
    }
    __atomic_store_n(&t->activated, true, __ATOMIC_RELEASE);
    vmmio_count(&t->stats.activations);
}

void vmmio_status_write(struct virtio_mmio *t, uint32_t val)
{
    uint32_t old = vmmio_status(t);
    uint32_t added;

    /* DEVICE_NEEDS_RESET is the device's bit: drivers echo it back when they add a bit. */
    val &= ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (val == 0) {
        vmmio_status_reset(t);
        return;
    }
    /* 2.1.1: after FAILED the driver must reset before re-initialising. */
    if (old & VIRTIO_STATUS_FAILED) {
        vmmio_guest_error(t, "status %#x -> %#x refused: FAILED needs a reset first", old, val);
        return;
    }
    if (val & VIRTIO_STATUS_FAILED) {
        vmmio_log(t, LOG_INFO, "driver set FAILED (status %#x)", old);
        vmmio_status_set(t, old | VIRTIO_STATUS_FAILED);
        return;
    }
    /* 2.1.1: the driver must not clear a status bit (only a write of 0 resets). */
    if (old & ~val) {
        vmmio_guest_error(t, "status %#x -> %#x refused: clears bits", old, val);
        return;
    }
    if (!vmmio_status_is_step(val)) {
        vmmio_guest_error(t, "status %#x -> %#x refused: not a step of 3.1.1", old, val);
        return;
    }
    added = val & ~old;
    if (added & ST_A) {
        t->offered = vmmio_status_offered(t);
        t->features_valid = true;
    }
    /* Refused: FEATURES_OK stays clear, which is how the driver learns (3.1.1 step 6). */
    if ((added & ST_FO) && !vmmio_status_features_ok(t))
        return;
    vmmio_status_set(t, val);
    if (added & ST_DOK)
        vmmio_status_activate(t);
}

/* Status 0: 2.4 device reset. The device stops first, then the wiring goes. */
void vmmio_status_reset(struct virtio_mmio *t)
{
    if (vmmio_status(t) != 0 || __atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE))
        t->ops->reset(t->dev);
    __atomic_store_n(&t->activated, false, __ATOMIC_RELEASE);
    vmmio_queue_unwire(t);
    vmmio_queue_reset(t);
    t->dev_features_sel = 0;
    t->drv_features_sel = 0;
    t->queue_sel = 0;
    t->shm_sel = 0;
    t->features_valid = false;
    t->offered = 0;
    t->acked = 0;
    t->acked_unknown = false;
    /* 4.2.2.1: reset clears InterruptStatus. ConfigGeneration keeps counting. */
    __atomic_store_n(&t->isr, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&t->needs_reset, false, __ATOMIC_RELEASE);
    vmmio_status_set(t, 0);
}
