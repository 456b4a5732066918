/*
 * Ring-3 virtio-mmio driver (see vmmio.h). Register accesses are 32-bit as
 * the spec requires; each is a VM exit, so the data path touches only
 * QueueNotify (an ioeventfd under minivmm) and, with interrupts, the ack.
 */
#include "fw_errno.h"
#include "io.h"
#include "trap.h"
#include "vmmio.h"

uint32_t vmmio_read(const struct vmmio *d, uint32_t reg)
{
    return mmio_read32(d->base + reg);
}

void vmmio_write(const struct vmmio *d, uint32_t reg, uint32_t value)
{
    mmio_write32(d->base + reg, value);
}

int vmmio_find(const struct machine *m, uint32_t device_id, unsigned int nth, struct vmmio *d)
{
    for (unsigned int i = 0; i < m->nvirtio; i++) {
        struct vmmio c = {.base = m->virtio[i].base, .gsi = m->virtio[i].gsi};
        if (vmmio_read(&c, VMMIO_MAGIC) != VMMIO_MAGIC_VALUE || vmmio_read(&c, VMMIO_VERSION) != 2)
            continue; /* legacy (version 1) devices are not driven */
        c.device_id = vmmio_read(&c, VMMIO_DEVICE_ID);
        if (c.device_id == device_id && nth-- == 0) {
            *d = c;
            return 0;
        }
    }
    return -ENODEV;
}

void vmmio_reset(struct vmmio *d)
{
    vmmio_write(d, VMMIO_STATUS, 0);
}

static void status_add(struct vmmio *d, uint32_t bits)
{
    vmmio_write(d, VMMIO_STATUS, vmmio_read(d, VMMIO_STATUS) | bits);
}

int vmmio_negotiate(struct vmmio *d, uint64_t wanted)
{
    uint64_t offered;

    vmmio_reset(d);
    if (vmmio_read(d, VMMIO_STATUS) != 0)
        return -EIO; /* spec 4.2.2.1: reset reads back 0 once complete */
    status_add(d, VIRTIO_STATUS_ACKNOWLEDGE);
    status_add(d, VIRTIO_STATUS_DRIVER);
    vmmio_write(d, VMMIO_DEVICE_FEAT_SEL, 0);
    offered = vmmio_read(d, VMMIO_DEVICE_FEATURES);
    vmmio_write(d, VMMIO_DEVICE_FEAT_SEL, 1);
    offered |= (uint64_t)vmmio_read(d, VMMIO_DEVICE_FEATURES) << 32;
    d->features = offered & (wanted | 1ULL << VIRTIO_F_VERSION_1);
    if (!(d->features & 1ULL << VIRTIO_F_VERSION_1))
        goto refused;
    vmmio_write(d, VMMIO_DRIVER_FEAT_SEL, 0);
    vmmio_write(d, VMMIO_DRIVER_FEATURES, (uint32_t)d->features);
    vmmio_write(d, VMMIO_DRIVER_FEAT_SEL, 1);
    vmmio_write(d, VMMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
    status_add(d, VIRTIO_STATUS_FEATURES_OK);
    if (!(vmmio_read(d, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        goto refused;
    return 0;
refused:
    status_add(d, VIRTIO_STATUS_FAILED);
    return -ENOTSUP;
}

int vmmio_queue_setup(struct vmmio *d, uint32_t idx, struct virtq *q)
{
    uint64_t desc = (uintptr_t)q->desc, avail = (uintptr_t)q->avail, used = (uintptr_t)q->used;

    vmmio_write(d, VMMIO_QUEUE_SEL, idx);
    if (vmmio_read(d, VMMIO_QUEUE_READY) != 0)
        return -EIO;
    if (vmmio_read(d, VMMIO_QUEUE_NUM_MAX) < q->size)
        return -EINVAL;
    vmmio_write(d, VMMIO_QUEUE_NUM, q->size);
    vmmio_write(d, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    vmmio_write(d, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    vmmio_write(d, VMMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
    vmmio_write(d, VMMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
    vmmio_write(d, VMMIO_QUEUE_USED_LOW, (uint32_t)used);
    vmmio_write(d, VMMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
    vmmio_write(d, VMMIO_QUEUE_READY, 1);
    return vmmio_read(d, VMMIO_QUEUE_READY) == 1 ? 0 : -EIO;
}

void vmmio_driver_ok(struct vmmio *d)
{
    status_add(d, VIRTIO_STATUS_DRIVER_OK);
}

void vmmio_kick(struct vmmio *d, uint32_t idx, struct virtq *q)
{
    virtq_publish(q);
    if (virtq_kick_needed(q))
        vmmio_write(d, VMMIO_QUEUE_NOTIFY, idx);
}

uint32_t vmmio_irq_ack(struct vmmio *d)
{
    uint32_t isr = vmmio_read(d, VMMIO_INTERRUPT_STATUS);

    if (isr)
        vmmio_write(d, VMMIO_INTERRUPT_ACK, isr);
    return isr;
}

int vmmio_wait(struct vmmio *d, struct virtq *q, bool poll, uint64_t timeout_tsc)
{
    uint64_t start = io_rdtsc();

    for (;;) {
        /* Read the count before acking and checking: an interrupt after this is not lost. */
        uint32_t seen = poll || d->gsi >= IOAPIC_PINS ? 0 : irq_counts[d->gsi];
        if (virtq_has_used(q))
            return 0;
        if (timeout_tsc && io_rdtsc() - start > timeout_tsc)
            return -ETIMEDOUT;
        if (poll) {
            __builtin_ia32_pause();
            continue;
        }
        vmmio_irq_ack(d);
        if (virtq_has_used(q))
            return 0;
        sys_wait_irq(d->gsi, seen);
    }
}

uint32_t vmmio_config32(const struct vmmio *d, uint32_t offset)
{
    return vmmio_read(d, VMMIO_CONFIG + offset);
}

uint64_t vmmio_config64(const struct vmmio *d, uint32_t offset)
{
    uint32_t gen, lo, hi;

    do { /* spec 4.2.2.2: retry while ConfigGeneration changes */
        gen = vmmio_read(d, VMMIO_CONFIG_GEN);
        lo = vmmio_config32(d, offset);
        hi = vmmio_config32(d, offset + 4);
    } while (gen != vmmio_read(d, VMMIO_CONFIG_GEN));
    return (uint64_t)hi << 32 | lo;
}
