/*
 * Devices in a migration (migrate_dev.h): one vumig per vhost-user device, in window order,
 * and the DEVICE sections (the transport's registers and the rings' bases).
 */
#include "migrate_dev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhost_user_kind.h"
#include "vhost_user_migrate.h"
#include "vm.h"
#include "vm_devices.h"
#include "vmstate.h"

/*
 * Records of a DEVICE section. MDEV_KIND (the kind's VMM-side state, e.g. the net control
 * queue) came later: a stream without it is still read, the device then rebuilds that state
 * from guest memory as before; an older reader skips the record it does not know.
 */
enum mdev_tag { MDEV_STATE = 1, MDEV_KIND = 2 };

/* Builds the per-device objects on first use (the job thread or the incoming phase). */
static int mdev_init(struct vm *vm)
{
    struct vmstate *s = vm->state;
    unsigned int n = vm_devices_count(vm);

    if (s->vumig || n == 0)
        return 0;
    s->vumig = calloc(n, sizeof(*s->vumig));
    if (!s->vumig)
        return -ENOMEM;
    s->nvumig = n;
    for (unsigned int i = 0; i < n; i++) {
        struct vhost_user_dev *d = vm_devices_get(vm, i);
        s->vumig[i] = d ? vumig_create(d) : NULL;
        if (!s->vumig[i])
            return -ENOMEM;
    }
    return 0;
}

void mdev_destroy(struct vm *vm)
{
    struct vmstate *s = vm->state;

    for (unsigned int i = 0; s && i < s->nvumig; i++)
        vumig_destroy(s->vumig[i]);
    if (s) {
        free(s->vumig);
        s->vumig = NULL;
        s->nvumig = 0;
    }
}

int mdev_check(struct vm *vm, char *why, size_t whylen)
{
    int ret = mdev_init(vm);

    if (ret < 0)
        return ret;
    for (unsigned int i = 0; i < vm->state->nvumig; i++) {
        const char *blocker = vumig_blocker(vm->state->vumig[i]);
        if (blocker) {
            snprintf(why, whylen, "device %s cannot migrate: %s",
                     vhost_user_dev_name(vm_devices_get(vm, i)), blocker);
            return -EOPNOTSUPP;
        }
    }
    return 0;
}

int mdev_log_start(struct vm *vm, struct mram *r)
{
    int ret = mdev_init(vm);

    for (unsigned int i = 0; ret == 0 && i < vm->state->nvumig; i++)
        ret = vumig_log_start(vm->state->vumig[i], gmem_end(r->gmem));
    return ret;
}

void mdev_log_stop(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->state->nvumig; i++)
        vumig_log_stop(vm->state->vumig[i]);
}

void mdev_sync(struct vm *vm, struct mram *r)
{
    uint64_t words = (r->npages + 63) / 64;

    for (unsigned int i = 0; i < vm->state->nvumig; i++) {
        uint64_t n;
        uint64_t *log = vumig_log_words(vm->state->vumig[i], &n);
        if (log)
            r->device_dirty += mram_bitmap_take(r->dirty, log, n < words ? n : words);
    }
}

int mdev_stop(struct vm *vm)
{
    int ret = mdev_init(vm);

    for (unsigned int i = 0; ret == 0 && i < vm->state->nvumig; i++)
        ret = vumig_stop(vm->state->vumig[i]);
    return ret;
}

void mdev_restart(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->state->nvumig; i++)
        if (vumig_restart(vm->state->vumig[i]) < 0)
            log_err("%s: the device failed after the failed migration",
                    vhost_user_dev_name(vm_devices_get(vm, i)));
}

int mdev_send(struct vm *vm, struct mstream *s)
{
    struct vumig_state *st = malloc(sizeof(*st));
    uint8_t kind[VHOST_USER_KIND_STATE_MAX];
    int ret = 0;

    if (!st)
        return -ENOMEM;
    for (unsigned int i = 0; ret == 0 && i < vm->state->nvumig; i++) {
        struct mstream_rec_buf b = {0};
        size_t klen = vumig_save_kind(vm->state->vumig[i], kind, sizeof(kind));
        vumig_save(vm->state->vumig[i], st);
        mstream_rec_put(&b, MDEV_STATE, st, sizeof(*st));
        if (klen)
            mstream_rec_put(&b, MDEV_KIND, kind, (uint32_t)klen);
        struct iovec iov = {.iov_base = b.data, .iov_len = b.len};
        ret = b.err ? b.err : mstream_write_section(s, MSTREAM_DEVICE, i, &iov, 1);
        mstream_rec_free(&b);
    }
    free(st);
    return ret;
}

/* The MDEV_KIND record, if any: absent from streams of older sources (then accepted). */
static int mdev_load_kind(struct vm *vm, unsigned int index, const uint8_t *p, size_t len)
{
    struct vumig *m = vm->state->vumig[index];
    const char *name = vhost_user_dev_name(vm_devices_get(vm, index));
    const void *data;
    size_t klen;
    char why[160];
    int ret = mstream_rec_get(p, len, MDEV_KIND, &data, &klen, 0);

    if (ret == -ENOENT) {
        if (vumig_has_kind_state(m))
            log_warn("%s: the stream has no VMM-side state (an older source): the device "
                     "rebuilds it from guest memory",
                     name);
        return 0;
    }
    if (ret < 0) {
        log_err("%s: the stream's VMM-side state is malformed", name);
        return -EPROTO;
    }
    ret = vumig_load_kind(m, data, klen, why, sizeof(why));
    if (ret < 0)
        log_err("%s: the source's VMM-side state does not fit: %s", name, why);
    return ret;
}

int mdev_load(struct vm *vm, unsigned int index, const uint8_t *p, size_t len)
{
    struct vumig_state *st;
    const void *data;
    char why[160];
    int ret = mdev_init(vm);

    if (ret < 0)
        return ret;
    if (index >= vm->state->nvumig) {
        log_err("the stream has state for device %u; this machine has %u devices", index,
                vm->state->nvumig);
        return -EPROTO;
    }
    if (mstream_rec_get(p, len, MDEV_STATE, &data, NULL, sizeof(*st)) < 0) {
        log_err("the stream's state of device %u is malformed", index);
        return -EPROTO;
    }
    st = malloc(sizeof(*st));
    if (!st)
        return -ENOMEM;
    memcpy(st, data, sizeof(*st));
    ret = vumig_load(vm->state->vumig[index], st, why, sizeof(why));
    if (ret < 0)
        log_err("%s: the source's device state does not fit: %s",
                vhost_user_dev_name(vm_devices_get(vm, index)), why);
    free(st);
    if (ret == 0)
        ret = mdev_load_kind(vm, index, p, len);
    vm->state->devices_loaded += ret == 0;
    return ret;
}

int mdev_loaded_all(struct vm *vm, char *why, size_t whylen)
{
    unsigned int n = vm_devices_count(vm);

    if (vm->state->devices_loaded == n)
        return 0;
    snprintf(why, whylen, "the stream carried %u device states; this machine has %u devices",
             vm->state->devices_loaded, n);
    return -EPROTO;
}

int mdev_go(struct vm *vm)
{
    int ret = 0;

    for (unsigned int i = 0; ret == 0 && i < vm->state->nvumig; i++) {
        ret = vumig_go(vm->state->vumig[i]);
        if (ret < 0)
            log_err("%s: cannot start the device where the source left it",
                    vhost_user_dev_name(vm_devices_get(vm, i)));
    }
    return ret;
}
