/*
 * Sending guest pages without copying them in the VMM: vmsplice() hands the pages to a pipe
 * by reference and splice() moves them into the socket, so the receiver's read is the one
 * copy of the bytes (a plain send() copies them into the socket first). The pages may
 * change until the receiver copies them: the stream allows for that (migrate_stream.h).
 */
#ifndef MINIVMM_MIGRATE_SPLICE_H
#define MINIVMM_MIGRATE_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct msplice {
    int pipe[2]; /* -1 until the first use */
    size_t size; /* the pipe's capacity */
    bool off;    /* not a socket, or the kernel refused: use plain writes */
};

void msplice_init(struct msplice *p);
void msplice_fini(struct msplice *p);
/*
 * Writes all len bytes at data to the socket fd. Returns the bytes written (len) or -errno
 * (EAGAIN: the socket's send timeout expired). -EOPNOTSUPP before any byte went out when
 * splicing is not possible here (p->off is then set): the caller writes the plain way.
 * *written counts what reached fd, also on failure.
 */
ssize_t msplice_write(struct msplice *p, int fd, const void *data, size_t len, uint64_t *written);

#endif
