/*
 * Virtqueue registers of the virtio-mmio transport: the window in which the
 * driver may write them, validation at QueueReady (2.7 alignment and sizes,
 * rings wholly inside guest RAM) and the kick/call eventfds wired at DRIVER_OK.
 */
#include "virtio_mmio_int.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

int vmmio_queue_create_fds(struct virtio_mmio *t)
{
    t->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->ack_fd < 0)
        return -errno;
    for (unsigned int i = 0; i < t->nqueues; i++) {
        struct vmmio_queue *q = &t->queues[i];

        q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->kick_fd < 0)
            return -errno;
        q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (q->call_fd < 0)
            return -errno;
    }
    return 0;
}

void vmmio_queue_close_fds(struct virtio_mmio *t)
{
    if (t->ack_fd >= 0)
        close(t->ack_fd);
    t->ack_fd = -1;
    for (unsigned int i = 0; i < t->nqueues; i++) {
        struct vmmio_queue *q = &t->queues[i];

        if (q->kick_fd >= 0)
            close(q->kick_fd);
        if (q->call_fd >= 0)
            close(q->call_fd);
        q->kick_fd = q->call_fd = -1;
    }
}

/* The selected queue, or NULL (logged) when QueueSel names no queue. */
static struct vmmio_queue *vmmio_queue_selected(struct virtio_mmio *t, const char *what)
{
    if (t->queue_sel < t->nqueues)
        return &t->queues[t->queue_sel];
    vmmio_guest_error(t, "%s with QueueSel %u (device has %u queues)", what, t->queue_sel,
                      t->nqueues);
    return NULL;
}

uint32_t vmmio_queue_read(struct virtio_mmio *t, uint64_t offset)
{
    /* 4.2.2: QueueNumMax reads 0 for a queue that does not exist; no log, drivers probe. */
    if (t->queue_sel >= t->nqueues)
        return 0;
    if (offset == VIRTIO_MMIO_QUEUE_NUM_MAX)
        return t->queue_max;
    return t->queues[t->queue_sel].ready;
}

/*
 * 3.1.1 step 7: queues are set up after FEATURES_OK and before DRIVER_OK, and 4.2.2.2:
 * not while QueueReady is set. (No RING_RESET is offered, so never after DRIVER_OK.)
 */
static bool vmmio_queue_writable(struct virtio_mmio *t, const struct vmmio_queue *q,
                                 const char *what)
{
    uint32_t st = vmmio_status(t);

    if (!(st & VIRTIO_STATUS_FEATURES_OK) ||
        (st & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED))) {
        vmmio_guest_error(t, "%s q=%u in status %#x refused", what, t->queue_sel, st);
        return false;
    }
    if (q->ready) {
        vmmio_guest_error(t, "%s q=%u while QueueReady refused", what, t->queue_sel);
        return false;
    }
    return true;
}

static void vmmio_queue_set_half(uint64_t *addr, bool high, uint32_t val)
{
    if (high)
        *addr = (*addr & 0xffffffffULL) | ((uint64_t)val << 32);
    else
        *addr = (*addr & ~0xffffffffULL) | val;
}

/* Why the rings cannot be used, or NULL. 2.7: split rings; 2.8: packed rings. */
const char *vmmio_queue_invalid(struct virtio_mmio *t, const struct vmmio_queue *q)
{
    bool packed = virtio_has_feature(t->acked, VIRTIO_F_RING_PACKED);
    uint64_t event = virtio_has_feature(t->acked, VIRTIO_F_EVENT_IDX) ? 2 : 0;
    uint64_t n = q->num;
    uint64_t driver_len = packed ? 4 : 4 + 2 * n + event;
    uint64_t device_len = packed ? 4 : 4 + 8 * n + event;

    if (n == 0)
        return "size is 0";
    if (n > t->queue_max)
        return "size exceeds QueueNumMax";
    if (!packed && (n & (n - 1)))
        return "size is not a power of two";
    if (q->desc % 16)
        return "descriptor table not 16-byte aligned";
    if (q->driver % (packed ? 4 : 2))
        return "driver area misaligned";
    if (q->device % 4)
        return "device area not 4-byte aligned";
    if (!gmem_ptr(t->gmem, q->desc, 16 * n))
        return "descriptor table not wholly in guest RAM";
    if (!gmem_ptr(t->gmem, q->driver, driver_len))
        return "driver area not wholly in guest RAM";
    if (!gmem_ptr(t->gmem, q->device, device_len))
        return "device area not wholly in guest RAM";
    return NULL;
}

static void vmmio_queue_set_ready(struct virtio_mmio *t, struct vmmio_queue *q, uint32_t val)
{
    const char *why;

    if (val > 1) {
        vmmio_guest_error(t, "QueueReady=%u q=%u refused", val, t->queue_sel);
        return;
    }
    /* Linux writes QueueReady=0 after a reset when it deletes its queues: a no-op. */
    if (val == q->ready)
        return;
    if (val == 0) {
        if (vmmio_status(t) & VIRTIO_STATUS_DRIVER_OK)
            vmmio_guest_error(t, "QueueReady=0 q=%u while running refused (no RING_RESET)",
                              t->queue_sel);
        else
            q->ready = false;
        return;
    }
    if (!vmmio_queue_writable(t, q, "QueueReady"))
        return;
    why = vmmio_queue_invalid(t, q);
    if (why) {
        vmmio_guest_error(
            t, "QueueReady q=%u refused: %s (size %u desc %#llx driver %#llx device %#llx)",
            t->queue_sel, why, q->num, (unsigned long long)q->desc, (unsigned long long)q->driver,
            (unsigned long long)q->device);
        return;
    }
    q->ready = true;
}

void vmmio_queue_write(struct virtio_mmio *t, uint64_t offset, uint32_t val)
{
    struct vmmio_queue *q = vmmio_queue_selected(t, "queue register write");

    if (!q)
        return;
    if (offset == VIRTIO_MMIO_QUEUE_READY) {
        vmmio_queue_set_ready(t, q, val);
        return;
    }
    if (!vmmio_queue_writable(t, q, "queue register write"))
        return;
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:
        q->num = val;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        vmmio_queue_set_half(&q->desc, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        vmmio_queue_set_half(&q->driver, offset == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
        break;
    default:
        vmmio_queue_set_half(&q->device, offset == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
        break;
    }
}

/*
 * A QueueNotify write that reached the VMM: no ioeventfd matched it. Give it to the
 * device's notify op, or else signal the kick eventfd so a back-end still sees it.
 */
void vmmio_queue_notify(struct virtio_mmio *t, uint32_t val)
{
    static const uint64_t one = 1;

    vmmio_count(&t->stats.notifies);
    if (val >= t->nqueues || !t->queues[val].ready ||
        !__atomic_load_n(&t->activated, __ATOMIC_ACQUIRE)) {
        vmmio_guest_error(t, "QueueNotify %u for a queue that is not running", val);
        return;
    }
    if (t->ops->notify) {
        t->ops->notify(t->dev, val);
        return;
    }
    if (write(t->queues[val].kick_fd, &one, sizeof(one)) != sizeof(one))
        log_warn("%s: kick q=%u: %s", t->name, val, strerror(errno));
}

/* Empties an eventfd so that a stale count does not fire after the next wiring. */
static void vmmio_queue_drain(int fd)
{
    uint64_t count;

    if (fd >= 0 && read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        log_warn("draining eventfd %d: %s", fd, strerror(errno));
}

static int vmmio_queue_wire_one(struct virtio_mmio *t, unsigned int i)
{
    struct irq_chip *chip = t->line.chip;
    struct vmmio_queue *q = &t->queues[i];
    int ret;

    /* 4.2.2: QueueNotify is at base + 0x50; the guest writes the 32-bit queue index. */
    if (chip->ioeventfd) {
        ret = chip->ioeventfd(chip->opaque, q->kick_fd, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, i,
                              true);
        if (ret < 0) {
            vmmio_log(t, LOG_ERROR, "ioeventfd q=%u: %s", i, strerror(-ret));
            return ret;
        }
        q->kick_wired = true;
    }
    if (chip->irqfd) {
        vmmio_queue_drain(q->call_fd);
        ret = chip->irqfd(chip->opaque, q->call_fd, t->line.gsi, true);
        if (ret < 0) {
            vmmio_log(t, LOG_ERROR, "irqfd q=%u gsi %u: %s", i, t->line.gsi, strerror(-ret));
            return ret;
        }
        __atomic_store_n(&q->call_wired, true, __ATOMIC_RELEASE); /* read by signal_queue */
    }
    return 0;
}

/* 4.2.2: InterruptACK is at base + 0x64; Linux acknowledges every interrupt there. */
static int vmmio_queue_wire_ack(struct virtio_mmio *t)
{
    struct irq_chip *chip = t->line.chip;
    bool any_irqfd = false;
    int ret;

    for (unsigned int i = 0; i < t->nqueues; i++)
        any_irqfd |= t->queues[i].call_wired;
    if (!chip->ioeventfd || !any_irqfd)
        return 0;
    ret = chip->ioeventfd(chip->opaque, t->ack_fd, t->base + VIRTIO_MMIO_INTERRUPT_ACK, 4,
                          VIRTIO_MMIO_INT_VRING, true);
    if (ret < 0) {
        vmmio_log(t, LOG_ERROR, "ioeventfd InterruptACK: %s", strerror(-ret));
        return ret;
    }
    t->ack_wired = true;
    return 0;
}

int vmmio_queue_wire(struct virtio_mmio *t)
{
    int ret = 0;

    for (unsigned int i = 0; i < t->nqueues && ret == 0; i++) {
        if (t->queues[i].ready)
            ret = vmmio_queue_wire_one(t, i);
    }
    if (ret == 0)
        ret = vmmio_queue_wire_ack(t);
    if (ret < 0)
        vmmio_queue_unwire(t);
    return ret;
}

void vmmio_queue_unwire(struct virtio_mmio *t)
{
    struct irq_chip *chip = t->line.chip;

    if (t->ack_wired) {
        int ret = chip->ioeventfd(chip->opaque, t->ack_fd, t->base + VIRTIO_MMIO_INTERRUPT_ACK, 4,
                                  VIRTIO_MMIO_INT_VRING, false);
        if (ret < 0)
            log_warn("%s: removing ioeventfd InterruptACK: %s", t->name, strerror(-ret));
        t->ack_wired = false;
        vmmio_queue_drain(t->ack_fd);
    }

    for (unsigned int i = 0; i < t->nqueues; i++) {
        struct vmmio_queue *q = &t->queues[i];
        int ret;

        if (q->kick_wired) {
            ret = chip->ioeventfd(chip->opaque, q->kick_fd, t->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4,
                                  i, false);
            if (ret < 0)
                log_warn("%s: removing ioeventfd q=%u: %s", t->name, i, strerror(-ret));
            q->kick_wired = false;
        }
        if (q->call_wired) {
            ret = chip->irqfd(chip->opaque, q->call_fd, t->line.gsi, false);
            if (ret < 0)
                log_warn("%s: removing irqfd q=%u: %s", t->name, i, strerror(-ret));
            __atomic_store_n(&q->call_wired, false, __ATOMIC_RELEASE);
        }
    }
}

/* Reset: registers back to 0 (4.2.2.1: QueueReady cleared); the eventfds are kept, emptied. */
void vmmio_queue_reset(struct virtio_mmio *t)
{
    for (unsigned int i = 0; i < t->nqueues; i++) {
        struct vmmio_queue *q = &t->queues[i];

        q->num = 0;
        q->desc = q->driver = q->device = 0;
        q->ready = false;
        vmmio_queue_drain(q->kick_fd);
        vmmio_queue_drain(q->call_fd);
    }
}

/* The device's view at DRIVER_OK, rebuilt from the registers each time. */
const struct virtio_queue_config *vmmio_queue_configs(struct virtio_mmio *t)
{
    for (unsigned int i = 0; i < t->nqueues; i++) {
        const struct vmmio_queue *q = &t->queues[i];
        struct virtio_queue_config *c = &t->act_queues[i];

        memset(c, 0, sizeof(*c));
        c->ready = q->ready;
        c->kick_fd = c->call_fd = -1;
        if (!q->ready)
            continue;
        c->size = (uint16_t)q->num;
        c->desc = q->desc;
        c->driver = q->driver;
        c->device = q->device;
        c->kick_fd = q->kick_fd;
        c->call_fd = q->call_wired ? q->call_fd : -1;
    }
    return t->act_queues;
}
