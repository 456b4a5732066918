/*
 * Test helper: put one of our fds on fd 0, as it happens in a daemonised VMM whose
 * stdin is closed. Whatever held fd 0 before (stdin, or, when the suite itself runs
 * with stdin closed, the test runner's own pipe) is moved aside and put back, so a
 * test never closes an fd it does not own.
 */
#ifndef MINIVMM_TEST_FD_ZERO_H
#define MINIVMM_TEST_FD_ZERO_H

#include <fcntl.h>
#include <unistd.h>

/* Moves fd onto 0; returns the fd that keeps the old fd 0 (or -1 if 0 was free). */
static inline int fd_zero_take(int fd)
{
    int saved = -1;

    if (fd == 0)
        return -1;
    if (fcntl(0, F_GETFD) >= 0)
        saved = fcntl(0, F_DUPFD_CLOEXEC, 3);
    dup2(fd, 0);
    close(fd);
    return saved;
}

/* Closes our fd 0 and puts back what was there. */
static inline void fd_zero_restore(int saved)
{
    if (saved >= 0) {
        dup2(saved, 0);
        close(saved);
    } else {
        close(0);
    }
}

#endif
