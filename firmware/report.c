/*
 * Result reporting through the test-result device (protocol in testdev.h)
 * and the serial console. Works from ring 3 and, for fatal exceptions, from
 * ring 0 (power-off then happens directly instead of by system call).
 */
#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "io.h"
#include "lib.h"
#include "report.h"
#include "testdev.h"
#include "trap.h"
#include "x86.h"

static struct {
    uint64_t base; /* test-result device, 0 if none */
    const char *test;
    unsigned int passes, fails;
} rep = {.test = "firmware"};

void report_init(uint64_t testdev_base)
{
    rep.base = 0;
    if (testdev_base && mmio_read32(testdev_base + TESTDEV_REG_MAGIC) == TESTDEV_MAGIC)
        rep.base = testdev_base;
}

/* Copies len bytes into the device buffer, 8 bytes per exit where possible. */
static void dev_put(const char *text, size_t len)
{
    size_t i = 0;

    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, text + i, 8);
        mmio_write64(rep.base + TESTDEV_BUF + i, v);
    }
    for (; i < len; i++)
        mmio_write8(rep.base + TESTDEV_BUF + i, (uint8_t)text[i]);
}

static void dev_command(enum testdev_cmd cmd, const char *text, size_t len, uint32_t arg)
{
    if (!rep.base)
        return;
    if (len > TESTDEV_BUF_SIZE)
        len = TESTDEV_BUF_SIZE;
    dev_put(text, len);
    mmio_write32(rep.base + TESTDEV_REG_ARG, arg);
    mmio_write32(rep.base + TESTDEV_REG_LEN, (uint32_t)len);
    mmio_write32(rep.base + TESTDEV_REG_CMD, cmd);
}

/* The device prints the line; without one, the console carries it in the same format. */
static void line(enum testdev_cmd cmd, const char *kind, const char *text)
{
    if (rep.base)
        dev_command(cmd, text, strlen(text), 0);
    else
        console_printf("MINIVMM-TEST %s %s %s\n", rep.test, kind, text);
}

void report_begin(const char *test)
{
    rep.test = test;
    dev_command(TESTDEV_CMD_BEGIN, test, strlen(test), 0);
    console_printf("fw: test %s\n", test);
}

#define FORMAT_TEXT(buf, fmt)                                                                      \
    do {                                                                                           \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        fmt_vformat(buf, sizeof(buf), fmt, ap);                                                    \
        va_end(ap);                                                                                \
    } while (0)

void report_pass(const char *fmt, ...)
{
    char text[256];

    FORMAT_TEXT(text, fmt);
    rep.passes++;
    line(TESTDEV_CMD_PASS, "PASS", text);
}

void report_fail(const char *fmt, ...)
{
    char text[256];

    FORMAT_TEXT(text, fmt);
    rep.fails++;
    line(TESTDEV_CMD_FAIL, "FAIL", text);
}

void report_log(const char *fmt, ...)
{
    char text[256];

    FORMAT_TEXT(text, fmt);
    line(TESTDEV_CMD_LOG, "LOG", text);
}

void report_figure(const char *key, const char *fmt, ...)
{
    char value[128], text[192];

    FORMAT_TEXT(value, fmt);
    fmt_format(text, sizeof(text), "%s=%s", key, value);
    line(TESTDEV_CMD_FIGURE, "FIGURE", text);
}

void report_assert_failed(const char *file, unsigned int line_no, const char *expr)
{
    char text[256];
    size_t flen = strnlen(file, 128);
    size_t elen = strnlen(expr, sizeof(text) - flen - 2);

    /* The device wants "file\0expr" with the line in ARG. */
    memcpy(text, file, flen);
    text[flen] = '\0';
    memcpy(text + flen + 1, expr, elen);
    rep.fails++;
    if (rep.base)
        dev_command(TESTDEV_CMD_ASSERT, text, flen + 1 + elen, line_no);
    else
        console_printf("MINIVMM-TEST %s FAIL assertion at %s:%u: %s\n", rep.test, file, line_no,
                       expr);
    report_finish();
}

void report_finish(void)
{
    int status = rep.fails ? 1 : rep.passes ? 0 : 2;

    if (rep.base)
        dev_command(TESTDEV_CMD_FINISH, "", 0, 0);
    else
        console_printf("MINIVMM-TEST %s FINISH %d\n", rep.test, status);
    power_off((uint32_t)status);
}
