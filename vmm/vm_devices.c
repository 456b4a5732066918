/*
 * The table of --device kinds. Each kind parses its own SPEC and builds its
 * front-end; the machine only sees windows, GSIs and a lifecycle.
 */
#include "vm_devices.h"

#include <errno.h>
#include <string.h>

#include "layout.h"

int vm_devices_parse(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->opts->ndevices; i++) {
        const char *spec = vm->opts->devices[i];
        size_t kind_len = strcspn(spec, ",");

        log_err("--device %s: unknown device kind '%.*s'", spec, (int)kind_len, spec);
        return -EINVAL;
    }
    return 0;
}

unsigned int vm_devices_windows(const struct vm *vm, struct cmdline_dev *out, unsigned int max)
{
    (void)vm;
    (void)out;
    (void)max;
    return 0;
}

int vm_devices_create(struct vm *vm)
{
    (void)vm;
    return 0;
}

void vm_devices_report(struct vm *vm)
{
    (void)vm;
}

void vm_devices_destroy(struct vm *vm)
{
    (void)vm;
}
