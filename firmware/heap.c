/* Bump allocator after the firmware image (see heap.h). */
#include "heap.h"
#include "layout.h"
#include "lib.h"

extern char __image_end[];

static uint64_t next, end;

void heap_init(const struct machine *m)
{
    uint64_t start = ((uint64_t)__image_end + 4095) & ~4095ULL;

    next = end = start;
    for (unsigned int i = 0; i < m->nmem; i++) {
        const struct machine_range *r = &m->mem[i];
        if (r->base <= start && start < r->base + r->size)
            end = r->base + r->size;
    }
    /* entry.S maps RAM up to the MMIO hole only. */
    if (end > LAYOUT_MMIO_HOLE_START)
        end = LAYOUT_MMIO_HOLE_START;
}

void *heap_alloc(size_t size, size_t align)
{
    uint64_t p = (next + align - 1) & ~(uint64_t)(align - 1);

    if (p > end || size > end - p)
        return NULL;
    next = p + size;
    memset((void *)p, 0, size);
    return (void *)p;
}

uint64_t heap_next(void)
{
    return next;
}

uint64_t heap_end(void)
{
    return end;
}
