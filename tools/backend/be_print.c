/*
 * Messages of the in-tree back-end (see be_print.h). The verbosity is the one piece of
 * process-wide state: a small tool's command-line switch, set once before any session.
 */
#include "be_print.h"

#include <stdarg.h>
#include <stdio.h>

static enum be_verbosity be_verbosity = BE_INFO;

void be_print_set(enum be_verbosity v)
{
    be_verbosity = v;
}

static void be_vprint(const char *kind, const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "minivmm-backend: %s%s\n", kind, line);
}

void be_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    be_vprint("error: ", fmt, ap);
    va_end(ap);
}

void be_info(const char *fmt, ...)
{
    va_list ap;

    if (be_verbosity < BE_INFO)
        return;
    va_start(ap, fmt);
    be_vprint("", fmt, ap);
    va_end(ap);
}

void be_dbg(const char *fmt, ...)
{
    va_list ap;

    if (be_verbosity < BE_VERBOSE)
        return;
    va_start(ap, fmt);
    be_vprint("", fmt, ap);
    va_end(ap);
}
