/*
 * The shared dirty-page log a vhost-user back-end writes during migration: a memfd bitmap with
 * one bit per 4 KiB guest page (bit page % 8 of byte page / 8), covering guest address 0 up to
 * the highest region end, sized in 64-bit words as QEMU does (vhost-user.md §10.1).
 */
#ifndef MINIVMM_VU_DIRTY_LOG_H
#define MINIVMM_VU_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "vu_log.h"

struct vu_dirty_log {
    int fd;          /* memfd sent with SET_LOG_BASE; -1 when not created */
    uint8_t *bitmap; /* our mapping of it */
    uint64_t size;   /* bytes */
};

/* Bytes of log needed for guest addresses [0, mem_end): 8192 for 256 MiB. */
uint64_t vu_dirty_log_size(uint64_t mem_end);
VU_MUST_CHECK int vu_dirty_log_create(struct vu_dirty_log *log, uint64_t mem_end);
void vu_dirty_log_destroy(struct vu_dirty_log *log); /* accepts a half-built log */
bool vu_dirty_log_test(const struct vu_dirty_log *log, uint64_t gpa);
/* Clears the bitmap and says whether any bit was set (the back-end sets bits atomically). */
bool vu_dirty_log_clear(struct vu_dirty_log *log);

#endif
