/*
 * Saving and restoring a vCPU through the KVM_GET_* / KVM_SET_* ioctls. The restore order
 * matters: special registers (APIC base, EFER) before MSRs and the LAPIC, registers and FPU
 * before pending events, MP state last (QEMU and the KVM docs use the same order).
 */
#include "vmstate_cpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

enum vmstate_cpu_tag {
    CPU_REGS = 1,
    CPU_SREGS,
    CPU_FPU,
    CPU_XSAVE,
    CPU_XCRS,
    CPU_MSRS, /* u32 count, then count struct kvm_msr_entry */
    CPU_LAPIC,
    CPU_EVENTS,
    CPU_MP_STATE,
    CPU_DEBUGREGS,
};

struct vmstate_msrs_buf {
    struct kvm_msrs hdr;
    struct kvm_msr_entry e[512];
};

int vmstate_cpu_msr_list(int kvm_fd, struct vcpu *v, struct vmstate_msr_list *out)
{
    struct {
        struct kvm_msr_list hdr;
        uint32_t index[512];
    } list = {.hdr.nmsrs = 512};
    struct vmstate_msrs_buf one;

    out->n = 0;
    if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) < 0) {
        log_err("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
        return -errno;
    }
    /* Some listed MSRs exist only with features this CPU model hides: keep what reads. */
    for (uint32_t i = 0; i < list.hdr.nmsrs && i < 512; i++) {
        memset(&one, 0, sizeof(one.hdr) + sizeof(one.e[0]));
        one.hdr.nmsrs = 1;
        one.e[0].index = list.index[i];
        if (ioctl(v->fd, KVM_GET_MSRS, &one) == 1)
            out->index[out->n++] = list.index[i];
    }
    return 0;
}

static int vmstate_get(struct vcpu *v, unsigned long req, const char *name, void *data)
{
    if (ioctl(v->fd, req, data) < 0) {
        int ret = -errno;
        log_err("vCPU %u: %s: %s", v->index, name, strerror(-ret));
        return ret;
    }
    return 0;
}

static int vmstate_cpu_save_msrs(struct vcpu *v, const struct vmstate_msr_list *msrs,
                                 struct mstream_rec_buf *out)
{
    struct vmstate_msrs_buf *b = calloc(1, sizeof(*b));
    int n;

    if (!b)
        return -ENOMEM;
    b->hdr.nmsrs = msrs->n;
    for (unsigned int i = 0; i < msrs->n; i++)
        b->e[i].index = msrs->index[i];
    n = ioctl(v->fd, KVM_GET_MSRS, b);
    if (n < 0 || (unsigned int)n != msrs->n) {
        log_err("vCPU %u: KVM_GET_MSRS read %d of %u MSRs", v->index, n, msrs->n);
        free(b);
        return -EIO;
    }
    /* The record is the count, then the entries (struct kvm_msrs has padding between). */
    uint8_t *rec = malloc(4 + msrs->n * sizeof(b->e[0]));
    if (!rec) {
        free(b);
        return -ENOMEM;
    }
    memcpy(rec, &msrs->n, 4);
    memcpy(rec + 4, b->e, msrs->n * sizeof(b->e[0]));
    mstream_rec_put(out, CPU_MSRS, rec, 4 + msrs->n * (uint32_t)sizeof(b->e[0]));
    free(rec);
    free(b);
    return 0;
}

int vmstate_cpu_save(struct vcpu *v, const struct vmstate_msr_list *msrs,
                     struct mstream_rec_buf *out)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xsave *xsave = calloc(1, sizeof(*xsave));
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp;
    struct kvm_debugregs dbg;
    int ret = -ENOMEM;

    if (!xsave)
        return ret;
    if ((ret = vmstate_get(v, KVM_GET_REGS, "KVM_GET_REGS", &regs)) < 0 ||
        (ret = vmstate_get(v, KVM_GET_SREGS, "KVM_GET_SREGS", &sregs)) < 0 ||
        (ret = vmstate_get(v, KVM_GET_FPU, "KVM_GET_FPU", &fpu)) < 0 ||
        (ret = vmstate_get(v, KVM_GET_LAPIC, "KVM_GET_LAPIC", &lapic)) < 0 ||
        (ret = vmstate_get(v, KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS", &events)) < 0 ||
        (ret = vmstate_get(v, KVM_GET_MP_STATE, "KVM_GET_MP_STATE", &mp)) < 0)
        goto out;
    mstream_rec_put(out, CPU_REGS, &regs, sizeof(regs));
    mstream_rec_put(out, CPU_SREGS, &sregs, sizeof(sregs));
    mstream_rec_put(out, CPU_FPU, &fpu, sizeof(fpu));
    /* XSAVE and XCRs carry more than KVM_GET_FPU (AVX state); a KVM without them (PVM may
     * refuse) still migrates what the FPU record holds. */
    if (ioctl(v->fd, KVM_GET_XSAVE, xsave) == 0)
        mstream_rec_put(out, CPU_XSAVE, xsave, sizeof(*xsave));
    if (ioctl(v->fd, KVM_GET_XCRS, &xcrs) == 0)
        mstream_rec_put(out, CPU_XCRS, &xcrs, sizeof(xcrs));
    if (ioctl(v->fd, KVM_GET_DEBUGREGS, &dbg) == 0)
        mstream_rec_put(out, CPU_DEBUGREGS, &dbg, sizeof(dbg));
    mstream_rec_put(out, CPU_LAPIC, &lapic, sizeof(lapic));
    mstream_rec_put(out, CPU_EVENTS, &events, sizeof(events));
    mstream_rec_put(out, CPU_MP_STATE, &mp, sizeof(mp));
    ret = vmstate_cpu_save_msrs(v, msrs, out);
    if (ret == 0 && out->err)
        ret = out->err;
out:
    free(xsave);
    return ret;
}

/* Sets a required record. */
static int vmstate_put(struct vcpu *v, const uint8_t *p, size_t len, uint32_t tag, size_t size,
                       unsigned long req, const char *name)
{
    const void *data;
    int ret = mstream_rec_get(p, len, tag, &data, NULL, size);

    if (ret < 0) {
        log_err("vCPU %u: the stream's %s record is %s", v->index, name,
                ret == -ENOENT ? "missing" : "malformed");
        return -EPROTO;
    }
    void *copy = malloc(size); /* the payload is not aligned for the ioctl structs */
    if (!copy)
        return -ENOMEM;
    memcpy(copy, data, size);
    if (ioctl(v->fd, req, copy) < 0) {
        ret = -errno;
        log_err("vCPU %u: %s: %s", v->index, name, strerror(-ret));
    }
    free(copy);
    return ret;
}

/* An optional record: absent is fine (the source's KVM lacked it). */
static int vmstate_put_opt(struct vcpu *v, const uint8_t *p, size_t len, uint32_t tag, size_t size,
                           unsigned long req, const char *name)
{
    const void *data;

    if (mstream_rec_get(p, len, tag, &data, NULL, 0) == -ENOENT)
        return 0;
    return vmstate_put(v, p, len, tag, size, req, name);
}

/* KVM_SET_MSRS stops at the first MSR it refuses: skip it (logged) and go on. */
static int vmstate_cpu_load_msrs(struct vcpu *v, const uint8_t *p, size_t len)
{
    const void *data;
    size_t dlen;
    uint32_t n;
    struct vmstate_msrs_buf *b;

    if (mstream_rec_get(p, len, CPU_MSRS, &data, &dlen, 0) < 0 || dlen < 4)
        goto bad;
    memcpy(&n, data, 4);
    if (n > 512 || dlen != 4 + n * sizeof(struct kvm_msr_entry))
        goto bad;
    b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    memcpy(b->e, (const uint8_t *)data + 4, n * sizeof(b->e[0]));
    for (uint32_t left = n; left > 0;) {
        b->hdr.nmsrs = left;
        int set = ioctl(v->fd, KVM_SET_MSRS, b);
        if (set < 0) {
            int ret = -errno;
            log_err("vCPU %u: KVM_SET_MSRS: %s", v->index, strerror(-ret));
            free(b);
            return ret;
        }
        if ((uint32_t)set < left) {
            log_warn("vCPU %u: KVM refused MSR 0x%x; continuing without it", v->index,
                     b->e[set].index);
            set++;
        }
        left -= (uint32_t)set;
        memmove(b->e, b->e + set, left * sizeof(b->e[0]));
    }
    free(b);
    return 0;
bad:
    log_err("vCPU %u: the stream's MSR record is missing or malformed", v->index);
    return -EPROTO;
}

/*
 * MSR_IA32_TSC_DEADLINE again once the LAPIC is in place: KVM drops a deadline written while
 * the LVT timer is not in TSC-deadline mode (a fresh vCPU's is one-shot), and KVM_SET_LAPIC
 * then starts the timer with none, so a guest whose tick was armed would wait forever.
 */
#define VMSTATE_MSR_TSC_DEADLINE 0x6e0u

static int vmstate_cpu_load_tsc_deadline(struct vcpu *v, const uint8_t *p, size_t len)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } one = {.hdr.nmsrs = 1};
    const uint8_t *data;
    size_t dlen;
    uint32_t n;

    if (mstream_rec_get(p, len, CPU_MSRS, (const void **)&data, &dlen, 0) < 0 || dlen < 4)
        return 0; /* vmstate_cpu_load_msrs said so already */
    memcpy(&n, data, 4);
    for (uint32_t i = 0; i < n && 4 + (i + 1) * sizeof(one.e) <= dlen; i++) {
        memcpy(&one.e, data + 4 + i * sizeof(one.e), sizeof(one.e));
        if (one.e.index != VMSTATE_MSR_TSC_DEADLINE || one.e.data == 0)
            continue;
        if (ioctl(v->fd, KVM_SET_MSRS, &one) != 1)
            log_warn("vCPU %u: the TSC deadline could not be set again", v->index);
        return 0;
    }
    return 0;
}

int vmstate_cpu_load(struct vcpu *v, const uint8_t *p, size_t len)
{
    const void *data;
    int ret;

    if ((ret = vmstate_put(v, p, len, CPU_SREGS, sizeof(struct kvm_sregs), KVM_SET_SREGS,
                           "KVM_SET_SREGS")) < 0 ||
        (ret = vmstate_put(v, p, len, CPU_REGS, sizeof(struct kvm_regs), KVM_SET_REGS,
                           "KVM_SET_REGS")) < 0)
        return ret;
    if (mstream_rec_get(p, len, CPU_XSAVE, &data, NULL, 0) == 0)
        ret = vmstate_put(v, p, len, CPU_XSAVE, sizeof(struct kvm_xsave), KVM_SET_XSAVE,
                          "KVM_SET_XSAVE");
    else
        ret = vmstate_put(v, p, len, CPU_FPU, sizeof(struct kvm_fpu), KVM_SET_FPU, "KVM_SET_FPU");
    if (ret < 0)
        return ret;
    if ((ret = vmstate_put_opt(v, p, len, CPU_XCRS, sizeof(struct kvm_xcrs), KVM_SET_XCRS,
                               "KVM_SET_XCRS")) < 0 ||
        (ret = vmstate_cpu_load_msrs(v, p, len)) < 0 ||
        (ret = vmstate_put(v, p, len, CPU_LAPIC, sizeof(struct kvm_lapic_state), KVM_SET_LAPIC,
                           "KVM_SET_LAPIC")) < 0 ||
        (ret = vmstate_cpu_load_tsc_deadline(v, p, len)) < 0 ||
        (ret = vmstate_put(v, p, len, CPU_EVENTS, sizeof(struct kvm_vcpu_events),
                           KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS")) < 0 ||
        (ret = vmstate_put_opt(v, p, len, CPU_DEBUGREGS, sizeof(struct kvm_debugregs),
                               KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS")) < 0)
        return ret;
    return vmstate_put(v, p, len, CPU_MP_STATE, sizeof(struct kvm_mp_state), KVM_SET_MP_STATE,
                       "KVM_SET_MP_STATE");
}
