/*
 * virtio-blk driver (see blk.h). The device writes only the status byte and,
 * for reads, the data buffer; the length it reports is not trusted (it is
 * ignored: the status byte says whether the request worked).
 */
#include "blk.h"
#include "fw_errno.h"
#include "heap.h"
#include "lib.h"

int blk_init(struct blk *b, const struct machine *m, uint16_t qsize)
{
    size_t ring_size = virtq_mem_size(qsize);
    void *ring;
    int err;

    memset(b, 0, sizeof(*b));
    err = vmmio_find(m, VIRTIO_ID_BLOCK, 0, &b->dev);
    if (err)
        return err;
    err = vmmio_negotiate(&b->dev, 1ULL << VIRTIO_BLK_F_FLUSH);
    if (err)
        return err;
    b->q = heap_alloc(sizeof(*b->q), 64);
    ring = heap_alloc(ring_size, 4096);
    if (!b->q || !ring)
        return -ENOMEM;
    err = virtq_init(b->q, qsize, ring, ring_size);
    if (err == 0)
        err = vmmio_queue_setup(&b->dev, 0, b->q);
    if (err)
        return err;
    b->capacity = vmmio_config64(&b->dev, 0);
    vmmio_driver_ok(&b->dev);
    return 0;
}

bool blk_has_flush(const struct blk *b)
{
    return b->dev.features & 1ULL << VIRTIO_BLK_F_FLUSH;
}

int blk_next_slot(const struct blk *b)
{
    for (unsigned int i = 0; i < BLK_MAX_INFLIGHT; i++) {
        if (!b->req[i].busy)
            return (int)i;
    }
    return -ENOSPC;
}

int blk_queue(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
              struct blk_req **out)
{
    int slot = blk_next_slot(b);
    struct blk_req *r;
    struct virtq_buf bufs[3];
    unsigned int n = 0;
    int err;

    if (slot < 0)
        return slot;
    r = &b->req[slot];
    r->hdr = (struct blk_req_hdr){.type = type, .sector = sector};
    r->status = 0xff; /* a device that never writes it is caught */
    r->buf = buf;
    r->len = len;
    bufs[n++] = (struct virtq_buf){&r->hdr, sizeof(r->hdr), false};
    if (len)
        bufs[n++] = (struct virtq_buf){buf, len, type == VIRTIO_BLK_T_IN};
    bufs[n++] = (struct virtq_buf){&r->status, 1, true};
    err = virtq_add(b->q, bufs, n, r);
    if (err)
        return err;
    r->busy = true;
    b->inflight++;
    if (out)
        *out = r;
    return 0;
}

void blk_kick(struct blk *b)
{
    virtq_set_interrupts(b->q, !b->poll);
    vmmio_kick(&b->dev, 0, b->q);
}

int blk_complete(struct blk *b, struct blk_req **out, uint64_t timeout_tsc)
{
    void *cookie;
    uint32_t len;
    int got;

    for (;;) {
        got = virtq_get(b->q, &cookie, &len);
        if (got < 0)
            return got;
        if (got == 1)
            break;
        int err = vmmio_wait(&b->dev, b->q, b->poll, timeout_tsc);
        if (err)
            return err;
    }
    *out = cookie;
    return 0;
}

void blk_release(struct blk *b, struct blk_req *r)
{
    r->busy = false;
    b->inflight--;
}

int blk_sync(struct blk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    struct blk_req *r, *done;
    int err = blk_queue(b, type, sector, buf, len, &r);

    if (err)
        return err;
    blk_kick(b);
    err = blk_complete(b, &done, 0);
    if (err)
        return err;
    err = done->status == VIRTIO_BLK_S_OK ? 0 : -EIO;
    blk_release(b, done);
    return err;
}
