/*
 * Command-line generation. The result is later copied to LAYOUT_CMDLINE; the
 * loaders enforce the kernel's own cmdline_size limit on top of bufsize.
 */
#include "cmdline.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Appends a space-separated word; *len keeps counting past bufsize so the error can say how long.
 */
__attribute__((format(printf, 4, 5))) static void cmdline_add(char *buf, size_t bufsize,
                                                              size_t *len, const char *fmt, ...)
{
    size_t room = *len < bufsize ? bufsize - *len : 0;
    va_list ap;
    int n;

    if (*len > 0) {
        if (room > 1)
            buf[*len] = ' ';
        (*len)++;
        room = *len < bufsize ? bufsize - *len : 0;
    }
    va_start(ap, fmt);
    n = vsnprintf(room ? buf + *len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
}

int cmdline_build(char *buf, size_t bufsize, bool serial, const struct cmdline_dev *devs,
                  unsigned int ndevs, const char *user)
{
    size_t len = 0;

    if (bufsize == 0)
        return -E2BIG;
    buf[0] = '\0';
    if (serial)
        cmdline_add(buf, bufsize, &len, "console=ttyS0");
    for (unsigned int i = 0; i < ndevs; i++) {
        /* Linux parses <size>@<base>:<irq> with memparse, so "4K" is accepted. */
        if (devs[i].size % 1024 == 0)
            cmdline_add(buf, bufsize, &len, "virtio_mmio.device=%" PRIu64 "K@0x%" PRIx64 ":%u",
                        devs[i].size / 1024, devs[i].base, devs[i].gsi);
        else
            cmdline_add(buf, bufsize, &len, "virtio_mmio.device=%" PRIu64 "@0x%" PRIx64 ":%u",
                        devs[i].size, devs[i].base, devs[i].gsi);
    }
    if (user && user[0])
        cmdline_add(buf, bufsize, &len, "%s", user);
    if (len >= bufsize) {
        log_err("kernel command line too long: %zu bytes, at most %zu allowed", len, bufsize - 1);
        buf[0] = '\0';
        return -E2BIG;
    }
    return 0;
}
