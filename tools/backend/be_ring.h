/*
 * One split virtqueue served by the back-end (VIRTIO 1.x §2.7): the state the front-end sets
 * with SET_VRING_*, our mapping of the three parts, and the device's side of the ring:
 * pop an available chain (every index and length the guest wrote is checked), push it used,
 * signal the driver. Rings are little-endian (VERSION_1), which is this x86 host's order.
 */
#ifndef BE_RING_H
#define BE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "be_dirty.h"
#include "be_mem.h"
#include "vu_wire.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "VERSION_1 rings are little-endian");

#define BE_CHAIN_MAX 64 /* descriptors per chain this back-end accepts */

#define BE_DESC_F_NEXT          1
#define BE_DESC_F_WRITE         2
#define BE_DESC_F_INDIRECT      4
#define BE_AVAIL_F_NO_INTERRUPT 1
#define BE_USED_F_NO_NOTIFY     1

struct be_desc {
    uint64_t addr; /* guest-physical */
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct be_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

struct be_used_elem {
    uint32_t id;
    uint32_t len;
};

struct be_used {
    uint16_t flags;
    uint16_t idx;
    struct be_used_elem ring[];
};

struct be_ring {
    /* Set by the front-end. */
    uint32_t num;        /* SET_VRING_NUM; 0: not yet */
    uint16_t last_avail; /* next available entry to take (SET/GET_VRING_BASE) */
    bool has_addr;
    struct vu_wire_vring_addr addr; /* SET_VRING_ADDR: user addresses, used ring's gpa */
    int kick_fd, call_fd, err_fd;   /* -1: none */
    bool call_set;                  /* SET_VRING_CALL seen (fd or none): whom to signal is known */
    bool started;                   /* from SET_VRING_KICK until GET_VRING_BASE */
    bool enabled;                   /* SET_VRING_ENABLE, or SET_FEATURES without bit 30 */
    /* Ours, once mapped. */
    struct be_desc *desc;
    struct be_avail *avail;
    struct be_used *used;
    uint16_t used_idx;
    bool broken; /* the driver broke the ring (too many entries): ignored until restarted */
    uint64_t chains, bad_chains;
};

/* One descriptor's buffer, translated. */
struct be_buf {
    uint8_t *host;
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

struct be_chain {
    uint16_t head;
    unsigned int n; /* buffers with a length (zero-length descriptors are skipped) */
    struct be_buf bufs[BE_CHAIN_MAX];
    const char *bad; /* NULL, or why the chain cannot be used (it is returned with length 0) */
};

void be_ring_init(struct be_ring *r);
/* Closes the ring's fds and forgets everything (session end, RESET_DEVICE). */
void be_ring_reset(struct be_ring *r);
/* Started, enabled, its call known, mapped and not broken: worth looking at. */
bool be_ring_ready(const struct be_ring *r);
/*
 * Translates the ring addresses (front-end user addresses) through mem; on failure the ring
 * stays unmapped and *why says which part. Reads the used index from memory, as the ring
 * may be resumed.
 */
int be_ring_map(struct be_ring *r, const struct be_mem *mem, const char **why);
void be_ring_unmap(struct be_ring *r);

/*
 * Takes the next available chain: 1 (in *c, possibly c->bad), 0 when none is pending,
 * -EPROTO when the driver claims more pending entries than the ring holds, which no correct
 * driver does: the ring is then broken and left alone until it is restarted.
 */
int be_ring_pop(struct be_ring *r, const struct be_mem *mem, struct be_chain *c);
/* Returns chain head with len bytes written; logs the used-ring write when F_LOG is set. */
void be_ring_push(struct be_ring *r, uint16_t head, uint32_t len, const struct be_dirty *log);
/* Signals the call eventfd unless the driver set VRING_AVAIL_F_NO_INTERRUPT. */
void be_ring_notify(struct be_ring *r);
/* Busy polling: tell the driver its kicks are not needed (VRING_USED_F_NO_NOTIFY). */
void be_ring_set_no_notify(struct be_ring *r, bool on);

#endif
