/*
 * Human-readable output on the first serial port (COM1), usable from ring 0
 * and ring 3. Lines start with "fw: ".
 */
#ifndef FW_CONSOLE_H
#define FW_CONSOLE_H

#include <stddef.h>

void console_write(const char *s, size_t n);
/* Ring 0 only: the port writes themselves. */
void console_out(const char *s, size_t n);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
