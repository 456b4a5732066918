/*
 * virtio-net driver (virtio spec 5.1), polling only: receiveq1 (queue 0)
 * kept full of 2 KiB buffers, transmitq1 (queue 1) with one 2 KiB buffer
 * per slot. Only VERSION_1 is negotiated, so every buffer starts with the
 * 12-byte virtio_net_hdr and holds one whole frame (no mergeable buffers).
 */
#ifndef FW_NET_H
#define FW_NET_H

#include <stdint.h>

#include "machine.h"
#include "virtq.h"
#include "vmmio.h"

#define NET_BUF       2048
#define NET_HDR       12
#define NET_MAX_FRAME (NET_BUF - NET_HDR)
#define NET_SLOTS     64 /* receive buffers posted, transmit slots */

struct net {
    struct vmmio dev;
    struct virtq *rxq, *txq;
    uint8_t *rx_bufs, *tx_bufs; /* NET_SLOTS buffers each */
    uint64_t tx_busy;           /* bit per transmit slot */
};

/* Finds the first network device, negotiates VERSION_1, fills the receive queue. */
int net_init(struct net *n, const struct machine *m);
/* Queues a frame for transmission (copied); -ENOSPC when every slot is in flight. */
int net_send(struct net *n, const void *frame, uint32_t len);
/*
 * Returns a received frame (pointer into the receive buffer, *len bytes), or
 * NULL when none is waiting; net_rx_done() gives its buffer back to the device.
 * Also reclaims completed transmit slots. *err is -EIO for a broken device.
 */
const uint8_t *net_poll(struct net *n, uint32_t *len, int *err);
void net_rx_done(struct net *n, const uint8_t *frame);

#endif
