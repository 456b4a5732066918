/*
 * The device this back-end implements: "echo". Each request is a chain of device-readable
 * buffers followed by device-writable ones; the device copies the readable bytes, in order,
 * into the writable buffers and returns the chain with the number of bytes written. That is
 * what the firmware's test=pingpong sends to any device but virtio-blk (an 8-byte sequence
 * number and an 8-byte answer buffer), so a round trip costs the back-end almost nothing.
 */
#ifndef BE_ECHO_H
#define BE_ECHO_H

#include <stdint.h>

#include "be_dirty.h"
#include "be_mem.h"
#include "be_ring.h"

/*
 * No VIRTIO device type is an echo device: 63 is unassigned (VIRTIO 1.3 stops in the 40s) and
 * the largest `minivmm --device vhost-user,virtio-id=N` accepts. The firmware's pingpong
 * treats any non-block device the same way, so the id is only a label.
 */
#define BE_ECHO_VIRTIO_ID 63

/* Config space (read-only, little-endian), read by the front-end with GET_CONFIG. */
struct be_echo_config {
    uint16_t num_queues; /* queues the back-end serves */
    uint16_t max_chain;  /* descriptors per chain it accepts (BE_CHAIN_MAX) */
    uint32_t reserved;
};
_Static_assert(sizeof(struct be_echo_config) == 8, "config space is 8 bytes");

/* Echo statistics of one session (printed when it ends). */
struct be_echo_stats {
    uint64_t requests;
    uint64_t bytes;
    uint64_t bad;
};

/*
 * Serves up to `budget` available chains of r. Returns how many were completed (the driver
 * has been signalled if it wants to be), or -EPROTO when the ring broke. Bad chains are
 * returned with length 0 and counted. log: the dirty log while LOG_ALL is on, else NULL.
 */
int be_echo_serve(struct be_ring *r, const struct be_mem *mem, const struct be_dirty *log,
                  unsigned int budget, struct be_echo_stats *st);

#endif
