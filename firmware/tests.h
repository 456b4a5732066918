/*
 * The firmware's test programs, chosen by test=NAME on the command line. Each
 * reports through report.h; main() calls report_finish() when it returns.
 */
#ifndef FW_TESTS_H
#define FW_TESTS_H

#include "machine.h"

struct fw_test {
    const char *name;
    void (*run)(const struct machine *m);
};

void test_boot(const struct machine *m);
void prog_blk(const struct machine *m);
void prog_mmio_fuzz(const struct machine *m);
void prog_blk_bench(const struct machine *m);
void prog_dirty(const struct machine *m);
void prog_pingpong(const struct machine *m);
void prog_net(const struct machine *m);
void prog_fault(const struct machine *m);
void prog_assert(const struct machine *m);

#endif
