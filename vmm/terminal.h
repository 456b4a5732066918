/*
 * The controlling terminal: raw mode while the guest owns the console, and
 * restoring the saved mode on every exit path (normal return, fatal signal,
 * exit()). Only main() touches this.
 */
#ifndef MINIVMM_TERMINAL_H
#define MINIVMM_TERMINAL_H

#include <stdbool.h>

/* Puts fd in raw mode if it is a terminal; returns true if it changed anything. */
bool terminal_raw(int fd);
/* Restores the saved mode (idempotent, async-signal-safe). */
void terminal_restore(void);

#endif
