/*
 * Ring-3 virtio-mmio driver, modern interface only (virtio spec 4.2.2,
 * Version 2): probing, the status/feature handshake, queue set-up, notify,
 * interrupt acknowledge and completion by polling or by interrupt.
 */
#ifndef FW_VMMIO_H
#define FW_VMMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"
#include "virtq.h"

/* Register offsets (virtio spec 4.2.2). */
#define VMMIO_MAGIC            0x000
#define VMMIO_VERSION          0x004
#define VMMIO_DEVICE_ID        0x008
#define VMMIO_VENDOR_ID        0x00c
#define VMMIO_DEVICE_FEATURES  0x010
#define VMMIO_DEVICE_FEAT_SEL  0x014
#define VMMIO_DRIVER_FEATURES  0x020
#define VMMIO_DRIVER_FEAT_SEL  0x024
#define VMMIO_QUEUE_SEL        0x030
#define VMMIO_QUEUE_NUM_MAX    0x034
#define VMMIO_QUEUE_NUM        0x038
#define VMMIO_QUEUE_READY      0x044
#define VMMIO_QUEUE_NOTIFY     0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK    0x064
#define VMMIO_STATUS           0x070
#define VMMIO_QUEUE_DESC_LOW   0x080
#define VMMIO_QUEUE_DESC_HIGH  0x084
#define VMMIO_QUEUE_AVAIL_LOW  0x090
#define VMMIO_QUEUE_AVAIL_HIGH 0x094
#define VMMIO_QUEUE_USED_LOW   0x0a0
#define VMMIO_QUEUE_USED_HIGH  0x0a4
#define VMMIO_CONFIG_GEN       0x0fc
#define VMMIO_CONFIG           0x100

#define VMMIO_MAGIC_VALUE 0x74726976 /* "virt" */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED      128

#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2

struct vmmio {
    uint64_t base;
    uint32_t gsi; /* IOAPIC pin */
    uint32_t device_id;
    uint64_t features; /* negotiated */
};

/* Finds the nth (from 0) modern virtio-mmio device of device_id; -ENODEV if none. */
int vmmio_find(const struct machine *m, uint32_t device_id, unsigned int nth, struct vmmio *d);
/*
 * Reset, ACKNOWLEDGE, DRIVER, then offers device & wanted (VERSION_1 is
 * required) and checks FEATURES_OK stuck. -ENOTSUP (and FAILED set) otherwise.
 */
int vmmio_negotiate(struct vmmio *d, uint64_t wanted);
/* Gives queue idx its rings (size: at most QueueNumMax) and sets QueueReady. */
int vmmio_queue_setup(struct vmmio *d, uint32_t idx, struct virtq *q);
void vmmio_driver_ok(struct vmmio *d);
void vmmio_reset(struct vmmio *d);

/* Publishes queued requests and notifies the device if it asked for it. */
void vmmio_kick(struct vmmio *d, uint32_t idx, struct virtq *q);
/* Reads and acknowledges InterruptStatus (lowers a level-triggered line). */
uint32_t vmmio_irq_ack(struct vmmio *d);
/*
 * Waits until q has a used entry: by spinning when poll, else by sleeping on
 * the device's interrupt. -ETIMEDOUT after timeout_tsc cycles (0: forever).
 */
int vmmio_wait(struct vmmio *d, struct virtq *q, bool poll, uint64_t timeout_tsc);

uint32_t vmmio_config32(const struct vmmio *d, uint32_t offset);
uint64_t vmmio_config64(const struct vmmio *d, uint32_t offset);

uint32_t vmmio_read(const struct vmmio *d, uint32_t reg);
void vmmio_write(const struct vmmio *d, uint32_t reg, uint32_t value);

#endif
