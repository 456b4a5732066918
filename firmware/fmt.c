/*
 * A small vsnprintf for the firmware (see fmt.h for the subset). Unknown
 * conversions are copied through so a bad format is visible, not fatal.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"
#include "lib.h"

struct fmt_out {
    char *buf;
    size_t size;
    size_t len;
};

static void out_char(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_padded(struct fmt_out *o, const char *s, size_t n, unsigned int width, bool left,
                       char pad)
{
    size_t fill = width > n ? width - n : 0;

    if (!left) {
        while (fill--)
            out_char(o, pad);
    }
    for (size_t i = 0; i < n; i++)
        out_char(o, s[i]);
    if (left) {
        while (fill--)
            out_char(o, ' ');
    }
}

static void out_number(struct fmt_out *o, uint64_t v, bool negative, unsigned int base, bool upper,
                       unsigned int width, bool left, char pad)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    size_t n = sizeof(tmp);

    do {
        tmp[--n] = digits[v % base];
        v /= base;
    } while (v);
    if (negative) {
        if (pad == '0' && width > 0) {
            out_char(o, '-');
            width--;
        } else {
            tmp[--n] = '-';
        }
    }
    out_padded(o, tmp + n, sizeof(tmp) - n, width, left, pad);
}

/* Reads the argument of an integer conversion with `longs` l's (2 = ll, 3 = z). */
static uint64_t arg_unsigned(va_list *ap, int longs)
{
    if (longs == 0)
        return va_arg(*ap, unsigned int);
    if (longs == 1)
        return va_arg(*ap, unsigned long);
    if (longs == 3)
        return va_arg(*ap, size_t);
    return va_arg(*ap, unsigned long long);
}

static int64_t arg_signed(va_list *ap, int longs)
{
    if (longs == 0)
        return va_arg(*ap, int);
    if (longs == 1)
        return va_arg(*ap, long);
    if (longs == 3)
        return (int64_t)va_arg(*ap, size_t);
    return va_arg(*ap, long long);
}

static void conversion(struct fmt_out *o, const char **pfmt, va_list *ap)
{
    const char *f = *pfmt;
    bool left = false;
    char pad = ' ';
    unsigned int width = 0;
    int longs = 0;

    for (; *f == '-' || *f == '0'; f++) {
        if (*f == '-')
            left = true;
        else
            pad = '0';
    }
    for (; *f >= '0' && *f <= '9'; f++)
        width = width * 10 + (unsigned int)(*f - '0');
    for (; *f == 'l'; f++)
        longs++;
    if (*f == 'z') {
        longs = 3;
        f++;
    }
    switch (*f) {
    case 'd':
    case 'i': {
        int64_t v = arg_signed(ap, longs);
        out_number(o, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false, width, left, pad);
        break;
    }
    case 'u':
        out_number(o, arg_unsigned(ap, longs), false, 10, false, width, left, pad);
        break;
    case 'x':
    case 'X':
        out_number(o, arg_unsigned(ap, longs), false, 16, *f == 'X', width, left, pad);
        break;
    case 'p':
        out_char(o, '0');
        out_char(o, 'x');
        out_number(o, (uintptr_t)va_arg(*ap, void *), false, 16, false, width, left, pad);
        break;
    case 'c': {
        char c = (char)va_arg(*ap, int);
        out_padded(o, &c, 1, width, left, ' ');
        break;
    }
    case 's': {
        const char *s = va_arg(*ap, const char *);
        if (!s)
            s = "(null)";
        out_padded(o, s, strlen(s), width, left, ' ');
        break;
    }
    case '%':
        out_char(o, '%');
        break;
    default: /* unknown or truncated conversion: show it */
        out_char(o, '%');
        if (!*f) {
            *pfmt = f;
            return;
        }
        out_char(o, *f);
        break;
    }
    *pfmt = f + 1;
}

size_t fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct fmt_out o = {.buf = buf, .size = size, .len = 0};
    va_list aq;

    va_copy(aq, ap);
    while (*fmt) {
        if (*fmt != '%') {
            out_char(&o, *fmt++);
            continue;
        }
        fmt++;
        conversion(&o, &fmt, &aq);
    }
    va_end(aq);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

size_t fmt_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    n = fmt_vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
