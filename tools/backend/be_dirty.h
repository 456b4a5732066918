/*
 * The dirty-page log the front-end shares for migration (SET_LOG_BASE with LOG_SHMFD): one
 * bit per 4 KiB guest page, bit page % 8 of byte page / 8. While the front-end has LOG_ALL
 * set, every guest write this back-end makes is marked here after the write itself.
 */
#ifndef BE_DIRTY_H
#define BE_DIRTY_H

#include <stdint.h>
#include <stddef.h>

struct be_dirty {
    uint8_t *bits; /* NULL: no log */
    uint64_t size; /* bytes of bitmap */
    void *map;     /* our mmap of the fd from offset 0 */
    size_t map_len;
};

/* Maps size bytes at offset of fd (the fd is closed, mapped or not); replaces an older log. */
int be_dirty_set(struct be_dirty *d, int fd, uint64_t size, uint64_t offset);
void be_dirty_clear(struct be_dirty *d);
/*
 * Marks the pages of [gpa, gpa + len) after a write there (release ordering: the front-end
 * that sees the bit sees the data). Pages past the bitmap are ignored; d may be NULL.
 */
void be_dirty_mark(const struct be_dirty *d, uint64_t gpa, uint64_t len);

#endif
