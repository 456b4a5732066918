/*
 * Unit tests for devices/testdev.c: the firmware's reporting protocol driven
 * through the register file as the MMIO bus calls it, with the report lines
 * read back from a pipe and FINISH observed through the callback.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "testdev.h"

static int out_pipe[2];
static struct testdev *td;
static int finished_status;
static unsigned int finish_calls;

static void on_finish(void *opaque, int status)
{
    cr_assert_eq(opaque, &finish_calls);
    finish_calls++;
    finished_status = status;
}

static void setup(void)
{
    cr_assert_eq(pipe2(out_pipe, O_NONBLOCK), 0);
    td = testdev_create(out_pipe[1], on_finish, &finish_calls);
    cr_assert_not_null(td);
    finish_calls = 0;
    finished_status = -1;
}

static void teardown(void)
{
    testdev_destroy(td);
    close(out_pipe[0]);
    close(out_pipe[1]);
}

TestSuite(testdev, .init = setup, .fini = teardown);

static uint32_t reg_read(uint64_t offset)
{
    uint32_t v;

    testdev_read(td, offset, &v, 4);
    return v;
}

static void reg_write(uint64_t offset, uint32_t v)
{
    testdev_write(td, offset, &v, 4);
}

/* What the firmware does: text into the buffer 8 bytes at a time, then LEN, ARG, CMD. */
static uint32_t command(enum testdev_cmd cmd, const void *text, size_t len, uint32_t arg)
{
    size_t i = 0;

    for (; i + 8 <= len; i += 8)
        testdev_write(td, TESTDEV_BUF + i, (const uint8_t *)text + i, 8);
    for (; i < len; i++)
        testdev_write(td, TESTDEV_BUF + i, (const uint8_t *)text + i, 1);
    reg_write(TESTDEV_REG_LEN, (uint32_t)len);
    reg_write(TESTDEV_REG_ARG, arg);
    reg_write(TESTDEV_REG_CMD, cmd);
    return reg_read(TESTDEV_REG_STATUS);
}

static uint32_t say(enum testdev_cmd cmd, const char *text)
{
    return command(cmd, text, strlen(text), 0);
}

/* Everything printed so far. */
static const char *output(void)
{
    static char buf[65536];
    ssize_t n = read(out_pipe[0], buf, sizeof(buf) - 1);

    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

Test(testdev, identifies_itself)
{
    cr_assert_eq(reg_read(TESTDEV_REG_MAGIC), TESTDEV_MAGIC);
    cr_assert_eq(reg_read(TESTDEV_REG_VERSION), TESTDEV_VERSION);
}

Test(testdev, pass_figure_log_finish)
{
    cr_assert_eq(say(TESTDEV_CMD_BEGIN, "blk"), TESTDEV_OK);
    cr_assert_eq(say(TESTDEV_CMD_LOG, "writing 64 sectors"), TESTDEV_OK);
    cr_assert_eq(say(TESTDEV_CMD_FIGURE, "iops=12345"), TESTDEV_OK);
    cr_assert_eq(say(TESTDEV_CMD_PASS, "pattern verified"), TESTDEV_OK);
    cr_assert_eq(finish_calls, 0);
    cr_assert_eq(say(TESTDEV_CMD_FINISH, ""), TESTDEV_OK);
    cr_assert_eq(finish_calls, 1);
    cr_assert_eq(finished_status, 0);
    cr_assert_str_eq(output(), "MINIVMM-TEST blk LOG writing 64 sectors\n"
                               "MINIVMM-TEST blk FIGURE iops=12345\n"
                               "MINIVMM-TEST blk PASS pattern verified\n"
                               "MINIVMM-TEST blk FINISH 0\n");
}

Test(testdev, any_fail_makes_status_1)
{
    say(TESTDEV_CMD_PASS, "first part");
    say(TESTDEV_CMD_FAIL, "second part");
    say(TESTDEV_CMD_PASS, "third part");
    cr_assert_eq(testdev_status(td), 1);
    say(TESTDEV_CMD_FINISH, "");
    cr_assert_eq(finished_status, 1);
    cr_assert(strstr(output(), "MINIVMM-TEST firmware FAIL second part\n"));
}

Test(testdev, no_verdict_is_status_2)
{
    say(TESTDEV_CMD_LOG, "nothing decided");
    say(TESTDEV_CMD_FINISH, "");
    cr_assert_eq(finished_status, 2);
}

Test(testdev, assertion_reports_file_and_line)
{
    static const char text[] = "firmware/blk.c\0n == 512";

    cr_assert_eq(command(TESTDEV_CMD_ASSERT, text, sizeof(text) - 1, 42), TESTDEV_OK);
    cr_assert_eq(testdev_status(td), 1);
    cr_assert_str_eq(output(),
                     "MINIVMM-TEST firmware FAIL assertion at firmware/blk.c:42: n == 512\n");
}

Test(testdev, guest_text_cannot_forge_lines)
{
    say(TESTDEV_CMD_BEGIN, "a b\nc");
    say(TESTDEV_CMD_FAIL, "x\nMINIVMM-TEST a_b_c PASS \\ok\x1b[0m");
    cr_assert_str_eq(output(),
                     "MINIVMM-TEST a_b_c FAIL x\\x0aMINIVMM-TEST a_b_c PASS \\\\ok\\x1b[0m\n");
}

Test(testdev, bounds_and_formats_are_checked)
{
    reg_write(TESTDEV_REG_LEN, TESTDEV_BUF_SIZE + 1);
    reg_write(TESTDEV_REG_CMD, TESTDEV_CMD_PASS);
    cr_assert_eq(reg_read(TESTDEV_REG_STATUS), TESTDEV_ERR_LEN);
    cr_assert_eq(say(TESTDEV_CMD_FIGURE, "no equals sign"), TESTDEV_ERR_FORMAT);
    cr_assert_eq(say(TESTDEV_CMD_FIGURE, "=value"), TESTDEV_ERR_FORMAT);
    cr_assert_eq(say(TESTDEV_CMD_BEGIN, ""), TESTDEV_ERR_FORMAT);
    cr_assert_eq(say(99, "x"), TESTDEV_ERR_CMD);
    cr_assert_eq(testdev_status(td), 2, "refused commands change no verdict");
    cr_assert_str_eq(output(), "");
}

Test(testdev, full_buffer_and_writes_past_it)
{
    static char big[TESTDEV_BUF_SIZE];
    uint64_t past = 0x4141414141414141ULL;

    memset(big, 'z', sizeof(big));
    cr_assert_eq(command(TESTDEV_CMD_LOG, big, sizeof(big), 0), TESTDEV_OK);
    /* An 8-byte write straddling the window's end is dropped, not half-applied. */
    testdev_write(td, TESTDEV_BUF + TESTDEV_BUF_SIZE - 4, &past, 8);
    const char *out = output();
    cr_assert_eq(strlen(out), strlen("MINIVMM-TEST firmware LOG ") + TESTDEV_BUF_SIZE + 1);
    cr_assert_eq(out[strlen(out) - 2], 'z');
}

Test(testdev, registers_refuse_odd_widths)
{
    uint8_t b = 0;
    uint64_t q = 0;

    testdev_read(td, TESTDEV_REG_MAGIC, &b, 1);
    cr_assert_eq(b, 0xff);
    testdev_read(td, TESTDEV_REG_MAGIC, &q, 8);
    cr_assert_eq(q, ~0ULL);
    testdev_read(td, TESTDEV_REG_MAGIC + 2, &b, 1);
    cr_assert_eq(b, 0xff);
    b = TESTDEV_CMD_FINISH;
    testdev_write(td, TESTDEV_REG_CMD, &b, 1);
    cr_assert_eq(finish_calls, 0, "a byte write to CMD must not run a command");
}

Test(testdev, nothing_after_finish)
{
    say(TESTDEV_CMD_PASS, "ok");
    say(TESTDEV_CMD_FINISH, "");
    output();
    cr_assert_eq(say(TESTDEV_CMD_FAIL, "late"), TESTDEV_ERR_FINISHED);
    cr_assert_eq(say(TESTDEV_CMD_FINISH, ""), TESTDEV_ERR_FINISHED);
    cr_assert_eq(finish_calls, 1);
    cr_assert_eq(testdev_status(td), 0);
    cr_assert_str_eq(output(), "");
}

Test(testdev, attaches_to_the_mmio_bus)
{
    struct bus mmio;
    uint32_t v = 0;

    bus_init(&mmio, "mmio");
    cr_assert_eq(testdev_attach(td, &mmio, LAYOUT_TESTDEV_BASE), 0);
    cr_assert(bus_read(&mmio, LAYOUT_TESTDEV_BASE + TESTDEV_REG_MAGIC, &v, 4));
    cr_assert_eq(v, TESTDEV_MAGIC);
    cr_assert_eq(testdev_attach(td, &mmio, LAYOUT_TESTDEV_BASE), -EEXIST);
}
