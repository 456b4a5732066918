/*
 * The kernel command line minivmm generates: console, one
 * virtio_mmio.device= entry per device, then the user's --cmdline verbatim.
 */
#ifndef MINIVMM_CMDLINE_H
#define MINIVMM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* One virtio-mmio window, announced to Linux as virtio_mmio.device=<size>@<base>:<gsi>. */
struct cmdline_dev {
    uint64_t base;
    uint64_t size;
    unsigned int gsi;
};

/*
 * Writes into buf (bufsize bytes including the NUL):
 *   "console=ttyS0" when serial is true (nothing otherwise: Linux then keeps
 *   its default, silent console), the device entries in order, then user
 *   (may be NULL or empty), separated by single spaces.
 * Returns 0, or -E2BIG with a log line naming both lengths when it does not fit.
 */
MUST_CHECK int cmdline_build(char *buf, size_t bufsize, bool serial, const struct cmdline_dev *devs,
                             unsigned int ndevs, const char *user);

#endif
