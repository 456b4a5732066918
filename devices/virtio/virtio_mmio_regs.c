/*
 * The virtio-mmio version 2 register file proper (virtio 1.2, 4.2.2): access
 * widths, what each register reads and accepts, and the device configuration
 * space. Called from vCPU threads through the MMIO bus; serialised by t->lock.
 */
#include "virtio_mmio_int.h"

#include <string.h>

/*
 * InterruptStatus: the back-end signals used buffers through an irqfd the VMM never
 * sees, so while the queues run the used-buffer bit is always reported (a spurious
 * vring check costs the driver little; a missing bit loses an interrupt).
 */
static uint32_t vmmio_regs_isr(struct virtio_mmio *t)
{
    uint32_t isr = __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE);

    if (__atomic_load_n(&t->activated, __ATOMIC_ACQUIRE))
        isr |= VIRTIO_MMIO_INT_VRING;
    return isr;
}

static uint32_t vmmio_regs_features_word(uint64_t features, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(features >> (32 * sel)) : 0;
}

static uint32_t vmmio_regs_read(struct virtio_mmio *t, uint64_t offset)
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
        return vmmio_regs_features_word(vmmio_status_offered(t), t->dev_features_sel);
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
    case VIRTIO_MMIO_QUEUE_READY:
        return vmmio_queue_read(t, offset);
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return vmmio_regs_isr(t);
    case VIRTIO_MMIO_STATUS:
        return vmmio_status(t) | (__atomic_load_n(&t->needs_reset, __ATOMIC_ACQUIRE)
                                      ? VIRTIO_STATUS_DEVICE_NEEDS_RESET
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

static void vmmio_regs_driver_features(struct virtio_mmio *t, uint32_t val)
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

static void vmmio_regs_write(struct virtio_mmio *t, uint64_t offset, uint32_t val)
{
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = val;
        return;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        vmmio_regs_driver_features(t, val);
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
static bool vmmio_regs_config_ok(uint64_t offset, unsigned int len)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return false;
    if (offset % (len == 8 ? 4 : len))
        return false;
    return offset - VIRTIO_MMIO_CONFIG + len <= VIRTIO_MMIO_WINDOW - VIRTIO_MMIO_CONFIG;
}

static void vmmio_regs_config_read(struct virtio_mmio *t, uint64_t offset, uint8_t *data,
                                   unsigned int len)
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

static void vmmio_regs_config_write(struct virtio_mmio *t, uint64_t offset, const uint8_t *data,
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
static bool vmmio_regs_width_ok(struct virtio_mmio *t, uint64_t offset, unsigned int len,
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
        if (vmmio_regs_config_ok(offset, len))
            vmmio_regs_config_read(t, offset, data, len);
        else
            vmmio_guest_error(t, "config read at %#llx width %u refused",
                              (unsigned long long)offset, len);
    } else if (vmmio_regs_width_ok(t, offset, len, "read")) {
        uint32_t val = vmmio_regs_read(t, offset);

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
        if (vmmio_regs_config_ok(offset, len))
            vmmio_regs_config_write(t, offset, data, len);
        else
            vmmio_guest_error(t, "config write at %#llx width %u refused",
                              (unsigned long long)offset, len);
    } else if (vmmio_regs_width_ok(t, offset, len, "write")) {
        uint32_t val;

        memcpy(&val, data, sizeof(val));
        vmmio_regs_write(t, offset, val);
    }
    pthread_mutex_unlock(&t->lock);
}
