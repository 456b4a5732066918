/*
 * check_blk_image IMG START SECTORS SEED: exits 0 when sectors
 * [START, START+SECTORS) of the image file hold the pattern test=blk wrote
 * (firmware/pattern.c), else prints the first bad sector and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char **argv)
{
    uint8_t sector[PATTERN_SECTOR];
    uint64_t start, count, seed;
    int fd;

    if (argc != 5) {
        fprintf(stderr, "usage: %s IMG START SECTORS SEED\n", argv[0]);
        return 2;
    }
    start = strtoull(argv[2], NULL, 0);
    count = strtoull(argv[3], NULL, 0);
    seed = strtoull(argv[4], NULL, 0);
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    for (uint64_t s = start; s < start + count; s++) {
        ssize_t n = pread(fd, sector, sizeof(sector), (off_t)(s * PATTERN_SECTOR));
        if (n != (ssize_t)sizeof(sector) || pattern_check(sector, seed, s, 1) != 1) {
            fprintf(stderr, "%s: sector %llu does not hold the pattern\n", argv[1],
                    (unsigned long long)s);
            close(fd);
            return 1;
        }
    }
    close(fd);
    printf("%s: %llu sectors from %llu hold the pattern\n", argv[1], (unsigned long long)count,
           (unsigned long long)start);
    return 0;
}
