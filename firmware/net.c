/*
 * virtio-net driver, polling (see net.h). Buffers are identified by their
 * address: the cookie of every request is the buffer itself, and returned
 * lengths are bounded by the buffer size before use.
 */
#include "fw_errno.h"
#include "heap.h"
#include "lib.h"
#include "net.h"

static int queue_init(struct net *n, uint32_t idx, struct virtq **q)
{
    size_t size = virtq_mem_size(2 * NET_SLOTS);
    void *ring = heap_alloc(size, 4096);

    *q = heap_alloc(sizeof(**q), 64);
    if (!ring || !*q)
        return -ENOMEM;
    int err = virtq_init(*q, 2 * NET_SLOTS, ring, size);
    return err ? err : vmmio_queue_setup(&n->dev, idx, *q);
}

static int rx_post(struct net *n, uint8_t *buf)
{
    struct virtq_buf b = {buf, NET_BUF, true};

    return virtq_add(n->rxq, &b, 1, buf);
}

int net_init(struct net *n, const struct machine *m)
{
    int err;

    memset(n, 0, sizeof(*n));
    err = vmmio_find(m, VIRTIO_ID_NET, 0, &n->dev);
    if (err == 0)
        err = vmmio_negotiate(&n->dev, 0);
    if (err == 0)
        err = queue_init(n, 0, &n->rxq);
    if (err == 0)
        err = queue_init(n, 1, &n->txq);
    if (err)
        return err;
    n->rx_bufs = heap_alloc(NET_SLOTS * NET_BUF, 4096);
    n->tx_bufs = heap_alloc(NET_SLOTS * NET_BUF, 4096);
    if (!n->rx_bufs || !n->tx_bufs)
        return -ENOMEM;
    for (unsigned int i = 0; i < NET_SLOTS && err == 0; i++)
        err = rx_post(n, n->rx_bufs + i * NET_BUF);
    if (err)
        return err;
    virtq_set_interrupts(n->rxq, false);
    virtq_set_interrupts(n->txq, false);
    vmmio_driver_ok(&n->dev);
    vmmio_kick(&n->dev, 0, n->rxq);
    return 0;
}

int net_send(struct net *n, const void *frame, uint32_t len)
{
    unsigned int slot;

    if (len > NET_MAX_FRAME)
        return -EINVAL;
    for (slot = 0; slot < NET_SLOTS && (n->tx_busy >> slot & 1); slot++)
        ;
    if (slot == NET_SLOTS)
        return -ENOSPC;
    uint8_t *buf = n->tx_bufs + slot * NET_BUF;
    memset(buf, 0, NET_HDR); /* no offloads: flags, gso_type, ... all 0 */
    memcpy(buf + NET_HDR, frame, len);
    struct virtq_buf b = {buf, NET_HDR + len, false};
    int err = virtq_add(n->txq, &b, 1, buf);
    if (err)
        return err;
    n->tx_busy |= 1ULL << slot;
    vmmio_kick(&n->dev, 1, n->txq);
    return 0;
}

static int tx_reclaim(struct net *n)
{
    void *cookie;
    uint32_t len;
    int got;

    while ((got = virtq_get(n->txq, &cookie, &len)) == 1)
        n->tx_busy &= ~(1ULL << (((uint8_t *)cookie - n->tx_bufs) / NET_BUF));
    return got;
}

const uint8_t *net_poll(struct net *n, uint32_t *len, int *err)
{
    void *cookie;
    uint32_t used_len;
    int got;

    *err = tx_reclaim(n);
    if (*err)
        return NULL;
    got = virtq_get(n->rxq, &cookie, &used_len);
    if (got <= 0) {
        *err = got;
        return NULL;
    }
    if (used_len < NET_HDR || used_len > NET_BUF) {
        *err = -EIO; /* the device claims to have written outside the buffer */
        return NULL;
    }
    *len = used_len - NET_HDR;
    return (const uint8_t *)cookie + NET_HDR;
}

void net_rx_done(struct net *n, const uint8_t *frame)
{
    if (rx_post(n, (uint8_t *)(uintptr_t)(frame - NET_HDR)) == 0)
        vmmio_kick(&n->dev, 0, n->rxq);
}
