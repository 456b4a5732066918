/*
 * Logging hook of the vhost library: formats one line and hands it to the hook the user
 * installed (the VMM forwards it to its own log), or prints it on stderr.
 */
#include "vu_log.h"

#include <stdarg.h>
#include <stdio.h>

static vu_log_fn *log_hook;
static void *log_hook_opaque;

void vu_log_set_hook(vu_log_fn *fn, void *opaque)
{
    log_hook = fn;
    log_hook_opaque = opaque;
}

void vu_log(enum vu_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_hook) {
        log_hook(level, line, log_hook_opaque);
        return;
    }
    if (level <= VU_LOG_INFO)
        fprintf(stderr, "vhost-user: %s\n", line);
}
