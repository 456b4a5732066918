/*
 * MC146818 CMOS RTC at ports 0x70/0x71: the host's UTC time in BCD (or binary
 * if the guest asks), never "update in progress", and 128 bytes of NVRAM.
 * No periodic/alarm interrupts (IRQ 8 is never raised; status C reads 0).
 */
#ifndef MINIVMM_CMOS_H
#define MINIVMM_CMOS_H

#include <time.h>

#include "bus.h"
#include "log.h"

#define CMOS_PORT_INDEX 0x70 /* bit 7 of the index is the NMI mask */
#define CMOS_PORT_DATA  0x71

struct cmos;

struct cmos_config {
    /* Wall-clock source; NULL means the host's CLOCK_REALTIME. Tests pass a fixed clock. */
    time_t (*now)(void *opaque);
    void *opaque;
};

/* Returns NULL on allocation failure. cfg may be NULL (host clock). */
struct cmos *cmos_create(const struct cmos_config *cfg);
void cmos_destroy(struct cmos *c);

/* Registers ports 0x70-0x71 on the port-I/O bus. */
MUST_CHECK int cmos_attach(struct cmos *c, struct bus *pio);

/* Seconds the guest moved its clock away from the host's (by writing the time). */
long long cmos_offset(struct cmos *c);

#endif
