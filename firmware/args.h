/*
 * The command line as the firmware reads it: space-separated words, each
 * "key=value" or a bare "key". test=NAME picks the program; the others are
 * its parameters (e.g. "test=blk-bench qd=8 secs=2"). Also parses QEMU's
 * "virtio_mmio.device=SIZE@BASE:IRQ" words, the fallback device list when
 * there is no device tree. Host-compilable.
 */
#ifndef FW_ARGS_H
#define FW_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies the value of key into buf (NUL-terminated, truncated); false if absent. */
bool args_get(const char *cmdline, const char *key, char *buf, size_t size);
/* The numeric value of key (decimal or 0x hex, optional K/M/G suffix), or def. */
uint64_t args_get_u64(const char *cmdline, const char *key, uint64_t def);

/* Parses a number with optional K/M/G suffix; *end gets the first unparsed char. */
uint64_t args_strtou64(const char *s, const char **end);

struct args_virtio_mmio {
    uint64_t base, size;
    uint32_t irq;
};

/* Visits the index-th virtio_mmio.device= word; false when there is none. */
bool args_virtio_mmio(const char *cmdline, unsigned int index, struct args_virtio_mmio *out);

#endif
