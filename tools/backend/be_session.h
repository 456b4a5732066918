/*
 * One front-end session on a connected socket: the poll loop over the socket and the kick
 * eventfds of the running rings, until the front-end hangs up or *stop is set (a signal
 * interrupts the wait). main.c runs one per connection; the unit tests run one in a thread.
 */
#ifndef BE_SESSION_H
#define BE_SESSION_H

#include <signal.h>
#include <stdbool.h>

/* Closes sock. 0 when the front-end hung up (or *stop), else the error that ended it. */
int be_session_run(int sock, unsigned int queues, bool busy_poll, volatile sig_atomic_t *stop);

#endif
