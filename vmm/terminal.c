/*
 * Raw terminal mode for an interactive serial console. The saved termios lives
 * in a static because signal handlers and atexit() must reach it; it is set
 * once, by main(), before any thread starts.
 */
#include "terminal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1;

void terminal_restore(void)
{
    if (saved_fd >= 0)
        tcsetattr(saved_fd, TCSANOW, &saved);
}

static void terminal_fatal_signal(int sig)
{
    terminal_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

bool terminal_raw(int fd)
{
    static const int fatal[] = {SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGABRT, SIGFPE};
    struct termios raw;

    if (!isatty(fd) || tcgetattr(fd, &saved) < 0)
        return false;
    saved_fd = fd;
    atexit(terminal_restore);
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = terminal_fatal_signal;
        sigaction(fatal[i], &sa, NULL);
    }
    raw = saved;
    /* Everything, ^C included, goes to the guest; the console's Ctrl-A x quits. */
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(fd, TCSANOW, &raw);
    return true;
}
