/*
 * Port-I/O and MMIO dispatch: a small sorted-free linear table (a VM has a
 * handful of devices); registration happens before any vCPU runs.
 */
#include "bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
}

int bus_register(struct bus *bus, const struct bus_device *dev)
{
    if (dev->size == 0 || dev->base + dev->size < dev->base)
        return -EINVAL;
    if (bus->ndevices == BUS_MAX_DEVICES)
        return -ENOSPC;
    for (unsigned int i = 0; i < bus->ndevices; i++) {
        const struct bus_device *d = &bus->devices[i];

        if (dev->base < d->base + d->size && d->base < dev->base + dev->size)
            return -EEXIST;
    }
    bus->devices[bus->ndevices++] = *dev;
    return 0;
}

static struct bus_device *bus_find(struct bus *bus, uint64_t addr, unsigned int len)
{
    for (unsigned int i = 0; i < bus->ndevices; i++) {
        struct bus_device *d = &bus->devices[i];

        if (addr >= d->base && addr - d->base < d->size && len <= d->size - (addr - d->base))
            return d;
    }
    return NULL;
}

bool bus_read(struct bus *bus, uint64_t addr, void *data, unsigned int len)
{
    struct bus_device *d = bus_find(bus, addr, len);

    if (!d || !d->read) {
        memset(data, 0xff, len);
        __atomic_add_fetch(&bus->unclaimed, 1, __ATOMIC_RELAXED);
        return false;
    }
    d->read(d->opaque, addr - d->base, data, len);
    return true;
}

bool bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned int len)
{
    struct bus_device *d = bus_find(bus, addr, len);

    if (!d || !d->write) {
        __atomic_add_fetch(&bus->unclaimed, 1, __ATOMIC_RELAXED);
        return false;
    }
    d->write(d->opaque, addr - d->base, data, len);
    return true;
}
