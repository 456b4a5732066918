/*
 * virtio-blk driver (virtio spec 5.2) on one request queue: requests are a
 * header, one data buffer and a status byte; up to BLK_MAX_INFLIGHT of them
 * in flight, completed by polling or by interrupt.
 */
#ifndef FW_BLK_H
#define FW_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"
#include "virtq.h"
#include "vmmio.h"

#define BLK_SECTOR       512
#define BLK_MAX_INFLIGHT 64

#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN    0
#define VIRTIO_BLK_T_OUT   1
#define VIRTIO_BLK_T_FLUSH 4

#define VIRTIO_BLK_S_OK 0

struct blk_req_hdr {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct blk_req {
    struct blk_req_hdr hdr;
    uint8_t status;
    bool busy;
    void *buf;
    uint32_t len;
    uint64_t submitted_ns; /* for latency figures, set by the caller if it wants */
};

struct blk {
    struct vmmio dev;
    struct virtq *q;
    uint64_t capacity; /* sectors */
    bool poll;         /* completion by polling, else by interrupt */
    unsigned int inflight;
    struct blk_req req[BLK_MAX_INFLIGHT];
};

/* Finds the first block device, negotiates (VERSION_1, FLUSH) and starts queue 0. */
int blk_init(struct blk *b, const struct machine *m, uint16_t qsize);
bool blk_has_flush(const struct blk *b);
/* The request slot (index into req[]) the next blk_queue() takes; -ENOSPC if none is free. */
int blk_next_slot(const struct blk *b);
/* Queues one request (not yet visible to the device); -ENOSPC when all slots are busy. */
int blk_queue(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
              struct blk_req **out);
/* Publishes queued requests and notifies the device. */
void blk_kick(struct blk *b);
/*
 * Waits for one completion and returns its request (still marked busy
 * until blk_release). -EIO for a device that breaks the ring protocol.
 */
int blk_complete(struct blk *b, struct blk_req **out, uint64_t timeout_tsc);
void blk_release(struct blk *b, struct blk_req *r);
/* One request, start to end: 0, -EIO for a bad status. */
int blk_sync(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len);

#endif
