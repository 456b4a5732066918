/*
 * The driver's side of a split virtqueue, built in fake guest RAM for tests:
 * lays out the rings, writes descriptors and makes chains available the way a
 * guest driver would, and reads back what the device put in the used ring.
 */
#ifndef MINIVMM_TESTS_VIRTQ_DRIVER_H
#define MINIVMM_TESTS_VIRTQ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "virtio_dev.h"
#include "virtq.h"

struct virtq_driver {
    const struct gmem *gm;
    uint16_t size;
    bool event_idx;
    uint64_t desc; /* guest-physical ring addresses */
    uint64_t avail;
    uint64_t used;
    uint16_t next_desc; /* descriptors are handed out in order */
    uint16_t avail_idx;
};

struct virtq_seg {
    uint64_t addr;
    uint32_t len;
    bool writable;
};

/* Rings at base (16-byte aligned), zeroed: desc, then avail, then used (4-aligned). */
void virtq_driver_init(struct virtq_driver *d, const struct gmem *gm, uint16_t size, uint64_t base,
                       bool event_idx);
/* Bytes the three rings occupy from base. */
uint64_t virtq_driver_footprint(uint16_t size, bool event_idx);
/* A ready queue config for these rings, as the transport would hand it over. */
struct virtio_queue_config virtq_driver_config(const struct virtq_driver *d);

void virtq_driver_set_desc(struct virtq_driver *d, uint16_t i, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next);
/* Writes n linked descriptors for segs (taken in order); returns the head index. */
uint16_t virtq_driver_add_chain(struct virtq_driver *d, const struct virtq_seg *segs,
                                unsigned int n);
/* Puts head in the avail ring and publishes the new avail idx. */
void virtq_driver_make_avail(struct virtq_driver *d, uint16_t head);
/* Writes avail->idx directly (to fake a corrupt ring). */
void virtq_driver_set_avail_idx(struct virtq_driver *d, uint16_t idx);
void virtq_driver_set_avail_flags(struct virtq_driver *d, uint16_t flags);
void virtq_driver_set_used_event(struct virtq_driver *d, uint16_t event);

uint16_t virtq_driver_used_idx(const struct virtq_driver *d);
struct virtq_used_elem virtq_driver_used_elem(const struct virtq_driver *d, uint16_t i);

#endif
