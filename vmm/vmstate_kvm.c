/*
 * VM-wide KVM state: KVM_GET/SET_IRQCHIP for the master PIC, slave PIC and IOAPIC,
 * KVM_GET/SET_PIT2 and KVM_GET/SET_CLOCK (kvmclock's base, so guest time goes on where it
 * stopped rather than jumping by the downtime).
 */
#include "vmstate_kvm.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

enum vmstate_kvm_tag {
    KVM_REC_PIC_MASTER = 1,
    KVM_REC_PIC_SLAVE,
    KVM_REC_IOAPIC,
    KVM_REC_PIT2,
    KVM_REC_CLOCK,
};

static const struct {
    uint32_t tag;
    uint32_t chip_id;
    const char *name;
} vmstate_chips[] = {
    {KVM_REC_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER, "PIC master"},
    {KVM_REC_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE, "PIC slave"},
    {KVM_REC_IOAPIC, KVM_IRQCHIP_IOAPIC, "IOAPIC"},
};

#define VMSTATE_NCHIPS (sizeof(vmstate_chips) / sizeof(vmstate_chips[0]))

static int vmstate_kvm_ioctl(struct kvm_vm *kvm, unsigned long req, void *arg, const char *what)
{
    if (ioctl(kvm->vm_fd, req, arg) < 0) {
        int ret = -errno;
        log_err("%s: %s", what, strerror(-ret));
        return ret;
    }
    return 0;
}

int vmstate_kvm_save(struct kvm_vm *kvm, struct mstream_rec_buf *out)
{
    struct kvm_irqchip chip;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    int ret;

    for (size_t i = 0; i < VMSTATE_NCHIPS; i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = vmstate_chips[i].chip_id;
        ret = vmstate_kvm_ioctl(kvm, KVM_GET_IRQCHIP, &chip, "KVM_GET_IRQCHIP");
        if (ret < 0)
            return ret;
        mstream_rec_put(out, vmstate_chips[i].tag, &chip, sizeof(chip));
    }
    memset(&clock, 0, sizeof(clock));
    if ((ret = vmstate_kvm_ioctl(kvm, KVM_GET_PIT2, &pit, "KVM_GET_PIT2")) < 0 ||
        (ret = vmstate_kvm_ioctl(kvm, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK")) < 0)
        return ret;
    mstream_rec_put(out, KVM_REC_PIT2, &pit, sizeof(pit));
    mstream_rec_put(out, KVM_REC_CLOCK, &clock, sizeof(clock));
    return out->err;
}

static int vmstate_kvm_rec(const uint8_t *p, size_t len, uint32_t tag, void *dst, size_t size,
                           const char *name)
{
    const void *data;

    if (mstream_rec_get(p, len, tag, &data, NULL, size) < 0) {
        log_err("the stream's %s record is missing or malformed", name);
        return -EPROTO;
    }
    memcpy(dst, data, size);
    return 0;
}

int vmstate_kvm_load(struct kvm_vm *kvm, const uint8_t *p, size_t len)
{
    struct kvm_irqchip chip;
    struct kvm_pit_state2 pit;
    struct kvm_clock_data clock;
    int ret;

    for (size_t i = 0; i < VMSTATE_NCHIPS; i++) {
        ret = vmstate_kvm_rec(p, len, vmstate_chips[i].tag, &chip, sizeof(chip),
                              vmstate_chips[i].name);
        if (ret < 0)
            return ret;
        if (chip.chip_id != vmstate_chips[i].chip_id) {
            log_err("the stream's %s record names chip %u", vmstate_chips[i].name, chip.chip_id);
            return -EPROTO;
        }
        ret = vmstate_kvm_ioctl(kvm, KVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP");
        if (ret < 0)
            return ret;
    }
    if ((ret = vmstate_kvm_rec(p, len, KVM_REC_PIT2, &pit, sizeof(pit), "PIT")) < 0 ||
        (ret = vmstate_kvm_ioctl(kvm, KVM_SET_PIT2, &pit, "KVM_SET_PIT2")) < 0 ||
        (ret = vmstate_kvm_rec(p, len, KVM_REC_CLOCK, &clock, sizeof(clock), "clock")) < 0)
        return ret;
    /* Only the clock value is ours to set: the flags say what the source's KVM measured. */
    clock.flags = 0;
    clock.realtime = 0;
    clock.host_tsc = 0;
    return vmstate_kvm_ioctl(kvm, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");
}
