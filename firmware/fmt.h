/*
 * printf-style formatting into a buffer, the subset the firmware uses:
 * %d %i %u %x %X %c %s %p %% with the l, ll and z length modifiers, a field
 * width and the 0 and - flags. Output is always NUL-terminated.
 */
#ifndef FW_FMT_H
#define FW_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Returns the length the full output would have (like vsnprintf). */
size_t fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
