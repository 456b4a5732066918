/*
 * Ignored port ranges: registered so that known, harmless guest accesses
 * (Linux's outb to 0x80 between slow I/O accesses) are not "unclaimed".
 */
#include "pio_sink.h"

#include <string.h>

static void pio_sink_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct pio_sink *sink = opaque;

    __atomic_add_fetch(&sink->reads, 1, __ATOMIC_RELAXED);
    memset(data, 0xff, len);
}

static void pio_sink_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct pio_sink *sink = opaque;

    __atomic_add_fetch(&sink->writes, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sink->last, *(const uint8_t *)data, __ATOMIC_RELAXED);
}

int pio_sink_attach(struct pio_sink *sink, struct bus *pio, const char *name, uint64_t base,
                    uint64_t size)
{
    struct bus_device dev = {
        .name = name,
        .base = base,
        .size = size,
        .opaque = sink,
        .read = pio_sink_read,
        .write = pio_sink_write,
    };

    return bus_register(pio, &dev);
}
