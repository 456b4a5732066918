/*
 * The test-result device: a 4 KiB MMIO window (LAYOUT_TESTDEV_BASE) through
 * which the test firmware reports results. minivmm prints each report as one
 * stdout line "MINIVMM-TEST <test> <KIND> <text>" and, on FINISH, ends the run
 * with the test's status. The protocol half of this header is freestanding C:
 * the firmware includes it.
 *
 * Protocol (little-endian, registers are 32-bit and only 32-bit accesses are
 * accepted; the buffer accepts 1, 2, 4 and 8-byte writes):
 *   1. write the command's text into BUF (offset 0x800, up to 2048 bytes),
 *   2. write its length to LEN (and, for ASSERT, the line number to ARG),
 *   3. write the command number to CMD; STATUS then reads 0 or a TESTDEV_ERR_*.
 * Commands and their text:
 *   BEGIN  test name ([A-Za-z0-9._-], other bytes become '_'); the default is "firmware"
 *   PASS   detail            -> "MINIVMM-TEST <test> PASS <detail>"
 *   FAIL   detail            -> "MINIVMM-TEST <test> FAIL <detail>"
 *   FIGURE "key=value"       -> "MINIVMM-TEST <test> FIGURE key=value"
 *   LOG    text              -> "MINIVMM-TEST <test> LOG <text>"
 *   ASSERT "file\0expr", ARG = line
 *                            -> "MINIVMM-TEST <test> FAIL assertion at <file>:<line>: <expr>"
 *   FINISH (no text)         -> "MINIVMM-TEST <test> FINISH <status>", then finish(status)
 * Status: 1 if any FAIL or ASSERT was reported, else 0 if at least one PASS
 * was, else 2 (the test ended without a verdict). Text is printed with bytes
 * outside printable ASCII escaped as \xNN, so a guest cannot forge lines.
 * After FINISH every command fails with TESTDEV_ERR_FINISHED.
 */
#ifndef MINIVMM_TESTDEV_H
#define MINIVMM_TESTDEV_H

#define TESTDEV_MAGIC   0x4454564dU /* "MVTD" */
#define TESTDEV_VERSION 1U

#define TESTDEV_REG_MAGIC   0x000 /* RO */
#define TESTDEV_REG_VERSION 0x004 /* RO */
#define TESTDEV_REG_ARG     0x008 /* RW */
#define TESTDEV_REG_LEN     0x00C /* RW */
#define TESTDEV_REG_CMD     0x010 /* WO, reads 0 */
#define TESTDEV_REG_STATUS  0x014 /* RO */
#define TESTDEV_BUF         0x800 /* WO, reads 0 */
#define TESTDEV_BUF_SIZE    0x800

enum testdev_cmd {
    TESTDEV_CMD_BEGIN = 1,
    TESTDEV_CMD_PASS = 2,
    TESTDEV_CMD_FAIL = 3,
    TESTDEV_CMD_FIGURE = 4,
    TESTDEV_CMD_LOG = 5,
    TESTDEV_CMD_ASSERT = 6,
    TESTDEV_CMD_FINISH = 7,
};

enum testdev_err {
    TESTDEV_OK = 0,
    TESTDEV_ERR_CMD = 1,      /* unknown command */
    TESTDEV_ERR_LEN = 2,      /* LEN larger than the buffer */
    TESTDEV_ERR_FORMAT = 3,   /* FIGURE without '=', ASSERT without its NUL */
    TESTDEV_ERR_FINISHED = 4, /* the test already finished */
};

/* The VMM side (hosted C only; the firmware is built -ffreestanding). */
#if __STDC_HOSTED__
#include <stdint.h>

#include "bus.h"
#include "log.h"

struct testdev;

/* Called once, from the vCPU thread that wrote FINISH, without the device lock. */
typedef void testdev_finish_fn(void *opaque, int status);

/*
 * Report lines are written whole to out_fd (minivmm: stdout). Thread-safe: a
 * mutex serialises register accesses. Returns NULL on allocation failure.
 */
struct testdev *testdev_create(int out_fd, testdev_finish_fn *finish, void *opaque);
void testdev_destroy(struct testdev *td);
/* Registers the window [base, base + LAYOUT_TESTDEV_SIZE) on the MMIO bus. */
MUST_CHECK int testdev_attach(struct testdev *td, struct bus *mmio, uint64_t base);
/* The status FINISH would report now (0 pass, 1 fail, 2 no verdict). */
int testdev_status(struct testdev *td);

/* What migration and snapshots carry over (the test's name and verdicts so far). */
struct testdev_state {
    char test[65];
    uint32_t passes;
    uint32_t fails;
    uint32_t finished;
};
void testdev_save(struct testdev *td, struct testdev_state *out);
void testdev_load(struct testdev *td, const struct testdev_state *in);

/* The register file, as the bus calls it. */
void testdev_read(void *opaque, uint64_t offset, void *data, unsigned int len);
void testdev_write(void *opaque, uint64_t offset, const void *data, unsigned int len);
#endif

#endif
