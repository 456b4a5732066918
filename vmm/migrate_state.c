/*
 * CONFIG, VM, CPU and PLATFORM sections (migrate_state.h). The destination is built from
 * its own command line; CONFIG only proves that it is the same machine, so a stream is never
 * applied to guest RAM of another size or to other devices.
 */
#include "migrate_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "serial.h"
#include "testdev.h"
#include "vm.h"
#include "vm_devices.h"
#include "vmstate_cpu.h"
#include "vmstate_kvm.h"

enum mstate_tag {
    CONF_RAM_SIZE = 1, /* u64 */
    CONF_NCPUS,        /* u32 */
    CONF_DEVICES,      /* text: the device windows, "base:gsi" each, space-separated */
    PLAT_SERIAL = 1,
    PLAT_TESTDEV,
};

static void mstate_devices_text(struct vm *vm, char *buf, size_t len)
{
    struct cmdline_dev devs[LAYOUT_VIRTIO_MMIO_MAX];
    unsigned int n = vm_devices_windows(vm, devs, LAYOUT_VIRTIO_MMIO_MAX);
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s0x%llx:%u", i ? " " : "",
                                 (unsigned long long)devs[i].base, devs[i].gsi);
}

static int mstate_send_recs(struct mstream *s, uint32_t type, uint32_t id,
                            struct mstream_rec_buf *b)
{
    struct iovec iov = {.iov_base = b->data, .iov_len = b->len};
    int ret = b->err ? b->err : mstream_write_section(s, type, id, &iov, 1);

    mstream_rec_free(b);
    return ret;
}

int mstate_send_config(struct vm *vm, struct mstream *s)
{
    struct mstream_rec_buf b = {0};
    uint64_t ram = vm->gmem.ram_size;
    uint32_t ncpus = vm->ncpus;
    char devs[1024];

    mstate_devices_text(vm, devs, sizeof(devs));
    mstream_rec_put(&b, CONF_RAM_SIZE, &ram, sizeof(ram));
    mstream_rec_put(&b, CONF_NCPUS, &ncpus, sizeof(ncpus));
    mstream_rec_put(&b, CONF_DEVICES, devs, (uint32_t)strlen(devs));
    return mstate_send_recs(s, MSTREAM_CONFIG, 0, &b);
}

int mstate_check_config(struct vm *vm, const uint8_t *p, size_t len, char *why, size_t whylen)
{
    const void *ram, *ncpus, *devs;
    size_t devs_len;
    uint64_t r;
    uint32_t n;
    char mine[1024];

    if (mstream_rec_get(p, len, CONF_RAM_SIZE, &ram, NULL, 8) < 0 ||
        mstream_rec_get(p, len, CONF_NCPUS, &ncpus, NULL, 4) < 0 ||
        mstream_rec_get(p, len, CONF_DEVICES, &devs, &devs_len, 0) < 0) {
        snprintf(why, whylen, "the stream's machine description is malformed");
        return -EPROTO;
    }
    memcpy(&r, ram, 8);
    memcpy(&n, ncpus, 4);
    mstate_devices_text(vm, mine, sizeof(mine));
    if (r != vm->gmem.ram_size) {
        snprintf(why, whylen, "the VM has %llu MiB of RAM, this machine %llu MiB (--memory)",
                 (unsigned long long)(r >> 20), (unsigned long long)(vm->gmem.ram_size >> 20));
        return -EPROTO;
    }
    if (n != vm->ncpus) {
        snprintf(why, whylen, "the VM has %u vCPUs, this machine %u (--cpus)", n, vm->ncpus);
        return -EPROTO;
    }
    if (devs_len != strlen(mine) || memcmp(devs, mine, devs_len) != 0) {
        snprintf(why, whylen, "the VM's devices (%.*s) differ from this machine's (%s)",
                 (int)(devs_len > 200 ? 200 : devs_len), (const char *)devs,
                 mine[0] ? mine : "none");
        return -EPROTO;
    }
    return 0;
}

int mstate_send_machine(struct vm *vm, struct mstream *s)
{
    struct mstream_rec_buf b = {0};
    struct vmstate_msr_list *msrs = calloc(1, sizeof(*msrs));
    struct serial_state ser;
    struct testdev_state td;
    int ret = -ENOMEM;

    if (!msrs)
        return ret;
    ret = vmstate_kvm_save(&vm->kvm, &b);
    if (ret == 0)
        ret = mstate_send_recs(s, MSTREAM_VM, 0, &b);
    if (ret == 0 && vm->vcpus_created)
        ret = vmstate_cpu_msr_list(vm->kvm.kvm_fd, &vm->vcpus[0], msrs);
    for (unsigned int i = 0; ret == 0 && i < vm->vcpus_created; i++) {
        ret = vmstate_cpu_save(&vm->vcpus[i], msrs, &b);
        if (ret == 0)
            ret = mstate_send_recs(s, MSTREAM_CPU, i, &b);
    }
    free(msrs);
    if (ret < 0) {
        mstream_rec_free(&b);
        return ret;
    }
    serial_save(vm->serial, &ser);
    testdev_save(vm->testdev, &td);
    mstream_rec_put(&b, PLAT_SERIAL, &ser, sizeof(ser));
    mstream_rec_put(&b, PLAT_TESTDEV, &td, sizeof(td));
    return mstate_send_recs(s, MSTREAM_PLATFORM, 0, &b);
}

static int mstate_load_platform(struct vm *vm, const uint8_t *p, size_t len)
{
    const void *data;
    struct serial_state ser;
    struct testdev_state td;

    if (mstream_rec_get(p, len, PLAT_SERIAL, &data, NULL, sizeof(ser)) < 0)
        goto bad;
    memcpy(&ser, data, sizeof(ser));
    if (mstream_rec_get(p, len, PLAT_TESTDEV, &data, NULL, sizeof(td)) < 0)
        goto bad;
    memcpy(&td, data, sizeof(td));
    serial_load(vm->serial, &ser);
    testdev_load(vm->testdev, &td);
    return 0;
bad:
    log_err("the stream's platform section is malformed");
    return -EPROTO;
}

int mstate_load(struct vm *vm, const struct mstream_section *sec, const uint8_t *p)
{
    switch (sec->type) {
    case MSTREAM_VM:
        return vmstate_kvm_load(&vm->kvm, p, sec->length);
    case MSTREAM_CPU:
        if (sec->id >= vm->vcpus_created) {
            log_err("the stream has state for vCPU %u; this machine has %u", sec->id,
                    vm->vcpus_created);
            return -EPROTO;
        }
        return vmstate_cpu_load(&vm->vcpus[sec->id], p, sec->length);
    case MSTREAM_PLATFORM:
        return mstate_load_platform(vm, p, sec->length);
    default:
        return -EPROTO;
    }
}
