/*
 * Serial console. Writes go straight to the transmit register without polling
 * the line status: both minivmm's UART and QEMU's accept every byte at once,
 * and each port access is a VM exit. Ring 3 goes through SYS_CONSOLE_WRITE.
 */
#include <stdarg.h>

#include "console.h"
#include "fmt.h"
#include "io.h"
#include "layout.h"
#include "trap.h"

void console_out(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            io_out8(LAYOUT_PORT_COM1, '\r');
        io_out8(LAYOUT_PORT_COM1, (uint8_t)s[i]);
    }
}

void console_write(const char *s, size_t n)
{
    if (io_cpl() == 0)
        console_out(s, n);
    else
        sys_console_write(s, n);
}

void console_printf(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = fmt_vformat(line, sizeof(line), fmt, ap);
    va_end(ap);
    console_write(line, n < sizeof(line) ? n : sizeof(line) - 1);
}
