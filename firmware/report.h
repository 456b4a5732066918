/*
 * Test results, as the firmware reports them: through the test-result device
 * (devices/testdev.h) when the machine has one; otherwise (e.g. under QEMU) as
 * serial console lines in the same "MINIVMM-TEST <test> <KIND> <text>" format
 * minivmm prints. report_finish() then ends the run through isa-debug-exit
 * (port FW_DEBUG_EXIT_PORT, QEMU exit code = status * 2 + 1) or a halt.
 */
#ifndef FW_REPORT_H
#define FW_REPORT_H

#include <stdint.h>

#define FW_DEBUG_EXIT_PORT 0xf4

/* base 0: no test-result device. */
void report_init(uint64_t testdev_base);
void report_begin(const char *test);
void report_pass(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void report_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void report_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One figure: key=value (e.g. report_figure("iops", "%lu", n)). */
void report_figure(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void report_assert_failed(const char *file, unsigned int line,
                                                    const char *expr);
/* Ends the run with the status of what was reported (see testdev.h). */
__attribute__((noreturn)) void report_finish(void);

/* A failed FW_ASSERT reports file:line and ends the test. */
#define FW_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            report_assert_failed(__FILE__, __LINE__, #cond);                                       \
    } while (0)

#endif
