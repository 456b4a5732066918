/*
 * Messages of the in-tree back-end: one line each on stderr, prefixed with the program name.
 * Errors always print; info and debug lines only at the verbosity the command line chose.
 */
#ifndef BE_PRINT_H
#define BE_PRINT_H

enum be_verbosity {
    BE_QUIET,   /* errors only */
    BE_INFO,    /* plus sessions and per-session counters (default) */
    BE_VERBOSE, /* plus every request */
};

void be_print_set(enum be_verbosity v);
void be_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void be_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void be_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
