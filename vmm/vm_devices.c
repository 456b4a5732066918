/*
 * The table of --device kinds. Each kind parses its own SPEC and builds its
 * front-end; the machine only sees windows, GSIs and a lifecycle. Device i (in
 * command-line order) gets MMIO window i and GSI LAYOUT_IRQ_VIRTIO_BASE + i.
 */
#include "vm_devices.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "vhost_user_blk.h"
#include "vhost_user_dev.h"
#include "vhost_user_fs.h"
#include "vhost_user_generic.h"
#include "vhost_user_net.h"
#include "vu_trace.h"

/* Every kind of --device, by its keyword. A new kind is one line here plus its file. */
static const struct vhost_user_type *const vm_device_kinds[] = {
    &vhost_user_blk_type,
    &vhost_user_generic_type,
    &vhost_user_net_type,
    &vhost_user_fs_type,
};

#define VM_DEVICES_NKINDS (sizeof(vm_device_kinds) / sizeof(vm_device_kinds[0]))
/* One GSI each, from LAYOUT_IRQ_VIRTIO_BASE to the last IOAPIC pin; one window each. */
#define VM_DEVICES_MAX_GSI (LAYOUT_IRQ_VIRTIO_LAST - LAYOUT_IRQ_VIRTIO_BASE + 1)
#define VM_DEVICES_MAX                                                                             \
    (VM_DEVICES_MAX_GSI < LAYOUT_VIRTIO_MMIO_MAX ? VM_DEVICES_MAX_GSI : LAYOUT_VIRTIO_MMIO_MAX)

struct vm_device {
    const struct vhost_user_type *type;
    struct vhost_user_spec spec;
    char name[32]; /* "blk0" */
    struct vhost_user_dev *dev;
};

struct vm_devices {
    unsigned int n;
    struct vm_device devs[VM_DEVICES_MAX];
    FILE *trace; /* --trace vhost-user: shared by every session; NULL: off */
};

static const struct vhost_user_type *vm_devices_kind(const char *spec, size_t len)
{
    for (size_t i = 0; i < VM_DEVICES_NKINDS; i++)
        if (strlen(vm_device_kinds[i]->kind) == len &&
            memcmp(vm_device_kinds[i]->kind, spec, len) == 0)
            return vm_device_kinds[i];
    return NULL;
}

/* devices of the same type are numbered from 0 in command-line order: blk0, blk1... */
static void vm_devices_name(struct vm_devices *vd, struct vm_device *d)
{
    unsigned int same = 0;

    for (unsigned int i = 0; i < vd->n; i++)
        same += vd->devs[i].type == d->type;
    snprintf(d->name, sizeof(d->name), "%s%u", d->type->type, same);
}

static int vm_devices_parse_one(struct vm_devices *vd, const char *spec)
{
    size_t kind_len = strcspn(spec, ",");
    struct vm_device *d = &vd->devs[vd->n];
    char err[256];

    d->type = vm_devices_kind(spec, kind_len);
    if (!d->type) {
        char known[256] = "";

        for (size_t i = 0; i < VM_DEVICES_NKINDS; i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                     vm_device_kinds[i]->kind);
        log_err("--device %s: unknown device kind '%.*s' (known: %s)", spec, (int)kind_len, spec,
                known);
        return -EINVAL;
    }
    if (vd->n == VM_DEVICES_MAX) {
        log_err("--device %s: at most %u devices", spec, VM_DEVICES_MAX);
        return -EINVAL;
    }
    if (vhost_user_dev_parse(d->type, spec[kind_len] ? spec + kind_len + 1 : "", &d->spec, err,
                             sizeof(err)) < 0) {
        log_err("--device %s: %s", spec, err);
        return -EINVAL;
    }
    vm_devices_name(vd, d);
    vd->n++;
    return 0;
}

/* --trace SPEC: vhost-user is the only traced subsystem; the file is opened once. */
static int vm_devices_traces(struct vm_devices *vd, const struct options *opts)
{
    for (unsigned int i = 0; i < opts->ntraces; i++) {
        const char *t = opts->traces[i];
        int ret;

        if (vd->trace) {
            log_err("--trace %s: vhost-user is already traced", t);
            return -EINVAL;
        }
        ret = vu_trace_open(t, &vd->trace);
        if (ret < 0) {
            vd->trace = NULL;
            if (ret == -EINVAL)
                log_err("--trace %s: unknown (use vhost-user or vhost-user,file=PATH)", t);
            else
                log_err("--trace %s: %s", t, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

int vm_devices_parse(struct vm *vm)
{
    struct vm_devices *vd = calloc(1, sizeof(*vd));
    int ret;

    if (!vd)
        return -ENOMEM;
    vm->devices = vd;
    for (unsigned int i = 0; i < vm->opts->ndevices; i++) {
        ret = vm_devices_parse_one(vd, vm->opts->devices[i]);
        if (ret < 0)
            return ret;
    }
    return vm_devices_traces(vd, vm->opts);
}

unsigned int vm_devices_windows(const struct vm *vm, struct cmdline_dev *out, unsigned int max)
{
    unsigned int n = vm->devices ? vm->devices->n : 0;

    for (unsigned int i = 0; i < n && i < max; i++)
        out[i] = (struct cmdline_dev){
            .base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE,
            .size = LAYOUT_VIRTIO_MMIO_SIZE,
            .gsi = LAYOUT_IRQ_VIRTIO_BASE + i,
        };
    return n < max ? n : max;
}

unsigned int vm_devices_count(const struct vm *vm)
{
    return vm->devices ? vm->devices->n : 0;
}

struct vhost_user_dev *vm_devices_get(struct vm *vm, unsigned int i)
{
    if (!vm->devices || i >= vm->devices->n)
        return NULL;
    return vm->devices->devs[i].dev;
}

/* The vhost library logs through minivmm's log (same prefix, same --log-level). */
static void vm_devices_vu_log(enum vu_log_level level, const char *line, void *opaque)
{
    static const enum log_level map[] = {
        [VU_LOG_ERR] = LOG_ERROR,
        [VU_LOG_WARN] = LOG_WARN,
        [VU_LOG_INFO] = LOG_INFO,
        [VU_LOG_DEBUG] = LOG_DEBUG,
    };

    (void)opaque;
    log_msg((unsigned int)level <= VU_LOG_DEBUG ? map[level] : LOG_ERROR, "%s", line);
}

int vm_devices_create(struct vm *vm)
{
    struct vm_devices *vd = vm->devices;
    struct cmdline_dev win[VM_DEVICES_MAX];
    int ret;

    if (!vd || vd->n == 0)
        return 0;
    vu_log_set_hook(vm_devices_vu_log, NULL);
    vm_devices_windows(vm, win, VM_DEVICES_MAX);
    for (unsigned int i = 0; i < vd->n; i++) {
        struct vm_device *d = &vd->devs[i];
        struct vhost_user_machine m = {
            .base = win[i].base,
            .gsi = win[i].gsi,
            .irq = &vm->kvm.irq_chip,
            .gmem = &vm->gmem,
            .loop = &vm->loop,
            .trace = vd->trace,
        };
        struct bus_device bd;

        d->dev = vhost_user_dev_create(d->type, d->name, &d->spec, &m);
        if (!d->dev)
            return -EIO; /* the reason, with the socket, is logged */
        virtio_mmio_bus_device(vhost_user_dev_mmio(d->dev), &bd);
        ret = bus_register(&vm->mmio, &bd);
        if (ret < 0) {
            log_err("%s: cannot place its window at %#llx: %s", d->name,
                    (unsigned long long)win[i].base, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

void vm_devices_report(struct vm *vm)
{
    struct vm_devices *vd = vm->devices;

    for (unsigned int i = 0; vd && i < vd->n; i++) {
        struct vm_device *d = &vd->devs[i];
        struct vhost_user_stats s;

        if (!d->dev)
            continue;
        vhost_user_dev_get_stats(d->dev, &s);
        /* kicks-to-vmm and irqs-from-vmm stay 0 when the data path bypasses the VMM. */
        log_info("device %s (%s, %s): vhost-user messages sent=%llu received=%llu "
                 "backend-requests=%llu; kicks-to-vmm=%llu irqs-from-vmm=%llu mmio-exits=%llu "
                 "activations=%llu failures=%llu reconnects=%llu",
                 d->name, d->type->kind, d->spec.socket, (unsigned long long)s.msgs.sent,
                 (unsigned long long)s.msgs.received, (unsigned long long)s.msgs.chan_received,
                 (unsigned long long)s.mmio.notifies, (unsigned long long)s.mmio.interrupts,
                 (unsigned long long)s.mmio.accesses, (unsigned long long)s.mmio.activations,
                 (unsigned long long)s.failures, (unsigned long long)s.reconnects);
    }
}

int vm_devices_migration_done(struct vm *vm)
{
    struct vm_devices *vd = vm->devices;
    int err = 0;

    for (unsigned int i = 0; vd && i < vd->n; i++) {
        int ret = vd->devs[i].dev ? vhost_user_dev_migration_done(vd->devs[i].dev) : 0;

        if (ret < 0 && err == 0)
            err = ret; /* logged by the device; the others still announce */
    }
    return err;
}

void vm_devices_destroy(struct vm *vm)
{
    struct vm_devices *vd = vm->devices;

    if (!vd)
        return;
    for (unsigned int i = 0; i < vd->n; i++)
        vhost_user_dev_destroy(vd->devs[i].dev);
    if (vd->trace && vd->trace != stderr)
        fclose(vd->trace);
    free(vd);
    vm->devices = NULL;
}
