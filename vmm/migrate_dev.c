/*
 * Devices in a migration (migrate_dev.h). Until vhost-user devices carry their state, a
 * VM with virtio devices is refused up front with that reason.
 */
#include "migrate_dev.h"

#include <errno.h>
#include <stdio.h>

#include "layout.h"
#include "vm.h"
#include "vm_devices.h"

static unsigned int mdev_count(struct vm *vm)
{
    struct cmdline_dev devs[LAYOUT_VIRTIO_MMIO_MAX];

    return vm_devices_windows(vm, devs, LAYOUT_VIRTIO_MMIO_MAX);
}

int mdev_check(struct vm *vm, char *why, size_t whylen)
{
    if (mdev_count(vm) == 0)
        return 0;
    snprintf(why, whylen, "migrating virtio devices is not supported yet");
    return -EOPNOTSUPP;
}

int mdev_log_start(struct vm *vm, struct mram *r)
{
    (void)r;
    return mdev_count(vm) ? -EOPNOTSUPP : 0;
}

void mdev_log_stop(struct vm *vm)
{
    (void)vm;
}

void mdev_sync(struct vm *vm, struct mram *r)
{
    (void)vm;
    (void)r;
}

int mdev_stop(struct vm *vm)
{
    return mdev_count(vm) ? -EOPNOTSUPP : 0;
}

void mdev_restart(struct vm *vm)
{
    (void)vm;
}

int mdev_send(struct vm *vm, struct mstream *s)
{
    (void)s;
    return mdev_count(vm) ? -EOPNOTSUPP : 0;
}

int mdev_load(struct vm *vm, unsigned int index, const uint8_t *p, size_t len)
{
    (void)vm;
    (void)index;
    (void)p;
    (void)len;
    return -EOPNOTSUPP;
}

int mdev_go(struct vm *vm)
{
    return 0;
}

int mdev_loaded_all(struct vm *vm, char *why, size_t whylen)
{
    if (mdev_count(vm) == 0)
        return 0;
    snprintf(why, whylen, "migrating virtio devices is not supported yet");
    return -EOPNOTSUPP;
}

void mdev_destroy(struct vm *vm)
{
    (void)vm;
}
