/*
 * Logging to stderr. The level is the one process-wide setting minivmm keeps
 * outside struct vm: it is chosen once by main() before any thread starts.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
    char line[1024];
    va_list ap;
    int n;

    if (level > current_level)
        return;
    n = snprintf(line, sizeof(line), "minivmm: %s", prefix[level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* One write per line so lines from different threads never interleave. */
    n = (int)strlen(line);
    if (n > 0 && line[n - 1] != '\n' && n < (int)sizeof(line) - 1) {
        line[n++] = '\n';
        line[n] = '\0';
    }
    fwrite(line, 1, (size_t)n, stderr);
}
