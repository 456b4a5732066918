/*
 * The echo device (see be_echo.h): a stream copy from the chain's readable buffers to its
 * writable ones, with the written ranges marked in the dirty log.
 */
#include "be_echo.h"

#include <errno.h>
#include <string.h>

#include "be_print.h"

/* Copies readable bytes into writable buffers; returns the bytes written (<= 2^32 - 1). */
static uint32_t be_echo_copy(const struct be_chain *c, const struct be_dirty *log)
{
    unsigned int in = 0, out = 0; /* buffer indices: source (readable), destination (writable) */
    uint32_t in_off = 0, out_off = 0, written = 0;

    for (;;) {
        while (in < c->n && (c->bufs[in].writable || in_off == c->bufs[in].len)) {
            in++;
            in_off = 0;
        }
        while (out < c->n && (!c->bufs[out].writable || out_off == c->bufs[out].len)) {
            out++;
            out_off = 0;
        }
        if (in == c->n || out == c->n)
            return written;
        const struct be_buf *src = &c->bufs[in], *dst = &c->bufs[out];
        uint32_t n = src->len - in_off;
        if (n > dst->len - out_off)
            n = dst->len - out_off;
        if (n > UINT32_MAX - written)
            return written; /* the used length is a u32 */
        /* memmove: a guest may hand us overlapping buffers. */
        memmove(dst->host + out_off, src->host + in_off, n);
        be_dirty_mark(log, dst->gpa + out_off, n);
        in_off += n;
        out_off += n;
        written += n;
    }
}

int be_echo_serve(struct be_ring *r, const struct be_mem *mem, const struct be_dirty *log,
                  unsigned int budget, struct be_echo_stats *st)
{
    struct be_chain c;
    int done = 0, ret = 0;

    while ((unsigned int)done < budget) {
        ret = be_ring_pop(r, mem, &c);
        if (ret <= 0)
            break;
        uint32_t len = 0;
        if (c.bad) {
            /* Returned unused, so the driver gets its descriptors back; logged a few times. */
            if (st->bad++ < 8)
                be_err("bad request (head %u): %s; returned with length 0", c.head, c.bad);
        } else {
            len = be_echo_copy(&c, log);
            st->bytes += len;
        }
        be_ring_push(r, c.head, len, log);
        st->requests++;
        done++;
    }
    if (done > 0)
        be_ring_notify(r);
    if (ret < 0) {
        be_err("the driver made %u entries available on a ring of %u: ring stopped",
               (uint16_t)(__atomic_load_n(&r->avail->idx, __ATOMIC_RELAXED) - r->last_avail),
               r->num);
        return ret;
    }
    return done;
}
