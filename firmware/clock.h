/*
 * Wall time for figures (IOPS, latencies): kvmclock, which ring 0 enables
 * when the hypervisor offers it (CPUID 0x40000001 CLOCKSOURCE2) and ring 3
 * then reads without exits. Without it, clock_ns() returns 0 and tests
 * report TSC ticks only.
 */
#ifndef FW_CLOCK_H
#define FW_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Ring 0, once. */
void clock_init(void);
bool clock_available(void);
/* Nanoseconds since the hypervisor's epoch (0 if unavailable). */
uint64_t clock_ns(void);

#endif
