/*
 * The serial console's host side: where UART output goes (stdout, a file or
 * nowhere) and how host input reaches the UART (stdin through the event loop,
 * with back-pressure from the guest's RX FIFO and Ctrl-A x to quit on a tty).
 */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include "vm.h"

/* Opens the output side per --serial; sets vm->serial_out_fd (-1 for none). */
MUST_CHECK int console_open_output(struct vm *vm);
/* Starts reading stdin into the UART when --serial stdio and fd 0 is open. */
MUST_CHECK int console_start_input(struct vm *vm);
/* Called by the UART when the guest drained its RX FIFO (any thread). */
void console_rx_drained(void *opaque);
void console_close(struct vm *vm);

#endif
