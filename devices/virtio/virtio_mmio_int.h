/*
 * Internal to the virtio-mmio transport (virtio_mmio*.c): the register file's
 * state and the helpers its three files share. Not for devices or machines.
 */
#ifndef MINIVMM_VIRTIO_MMIO_INT_H
#define MINIVMM_VIRTIO_MMIO_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"
#include "virtio_spec.h"

/* One queue's registers as the driver wrote them, plus its eventfds. */
struct vmmio_queue {
    uint32_t num;    /* QueueNum, raw: checked at QueueReady */
    uint64_t desc;   /* QueueDesc{Low,High} */
    uint64_t driver; /* QueueDriver{Low,High} */
    uint64_t device; /* QueueDevice{Low,High} */
    bool ready;      /* QueueReady: only set once the rings passed validation */
    int kick_fd;     /* eventfd, lives as long as the transport */
    int call_fd;     /* eventfd, lives as long as the transport */
    bool kick_wired; /* registered as ioeventfd on QueueNotify */
    bool call_wired; /* registered as irqfd on the GSI */
};

struct virtio_mmio {
    char name[64];
    uint64_t base;
    struct irq_line line;
    const struct gmem *gmem;
    const struct virtio_dev_ops *ops;
    void *dev;
    unsigned int nqueues;
    unsigned int queue_max;
    struct virtio_transport transport;

    /* Serialises register accesses (vCPU threads); held across device callbacks. */
    pthread_mutex_t lock;
    bool lock_init;
    uint32_t dev_features_sel;
    uint32_t drv_features_sel;
    uint32_t queue_sel;
    uint32_t shm_sel;
    bool features_valid; /* offered is a snapshot taken at ACKNOWLEDGE */
    uint64_t offered;
    uint64_t acked;
    bool acked_unknown; /* the driver set bits beyond 63 */
    struct vmmio_queue *queues;
    struct virtio_queue_config *act_queues; /* what activate() receives */
    /*
     * InterruptACK of the used-buffer bit alone, swallowed by KVM (an ioeventfd nobody
     * reads) while the queues' calls are irqfds: that bit is reported anyway then, so
     * the driver's acknowledgement needs no exit. Any other value still exits.
     */
    int ack_fd;
    bool ack_wired;

    /*
     * Read and written without the lock (by the device from the event loop, or by
     * register reads), hence __atomic accesses: status, activated, isr, generation,
     * needs_reset and the counters.
     */
    uint32_t status; /* driver-written bits; NEEDS_RESET is kept apart */
    bool activated;  /* DRIVER_OK reached and activate() succeeded */
    uint32_t isr;    /* pending InterruptStatus bits */
    uint32_t generation;
    bool needs_reset;
    uint64_t logged; /* messages through the rate limiter, logged or not */
    struct virtio_mmio_stats stats;
};

/* virtio_mmio.c */
/* Rate-limited logging (VIRTIO_MMIO_LOG_LIMIT per device): guest mistakes are also counted. */
void vmmio_guest_error(struct virtio_mmio *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void vmmio_log(struct virtio_mmio *t, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vmmio_needs_reset(struct virtio_mmio *t);
uint32_t vmmio_status(const struct virtio_mmio *t);
void vmmio_count(uint64_t *counter);

/* virtio_mmio_status.c */
void vmmio_status_write(struct virtio_mmio *t, uint32_t val);
void vmmio_status_reset(struct virtio_mmio *t);
uint64_t vmmio_status_offered(struct virtio_mmio *t);

/* virtio_mmio_queue.c */
MUST_CHECK int vmmio_queue_create_fds(struct virtio_mmio *t);
void vmmio_queue_close_fds(struct virtio_mmio *t);
void vmmio_queue_write(struct virtio_mmio *t, uint64_t offset, uint32_t val);
uint32_t vmmio_queue_read(struct virtio_mmio *t, uint64_t offset);
void vmmio_queue_notify(struct virtio_mmio *t, uint32_t val);
MUST_CHECK int vmmio_queue_wire(struct virtio_mmio *t);
void vmmio_queue_unwire(struct virtio_mmio *t);
void vmmio_queue_reset(struct virtio_mmio *t);
const struct virtio_queue_config *vmmio_queue_configs(struct virtio_mmio *t);
/* Why a queue's rings cannot be used (QueueReady and migration check the same), or NULL. */
const char *vmmio_queue_invalid(struct virtio_mmio *t, const struct vmmio_queue *q);

#endif
