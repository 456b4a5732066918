/*
 * KVM VM creation and the VM-wide ioctls. Everything here runs at start-up
 * except the irq_chip callbacks, which devices call from any thread (the
 * ioctls themselves are thread-safe in KVM).
 */
#include "kvm_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Three pages below 4 GiB that Intel VMX needs for real-mode emulation; inside our reserved top. */
#define KVM_TSS_ADDR         0xFFFBD000ULL
#define KVM_IDENTITY_MAP_ADDR 0xFFFBC000ULL

bool kvm_host_is_pvm(void)
{
    return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static int kvm_set_level(void *opaque, unsigned int gsi, int level)
{
    struct kvm_vm *vm = opaque;
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};

    if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
        return -errno;
    return 0;
}

static int kvm_irqfd(void *opaque, int efd, unsigned int gsi, bool assign)
{
    struct kvm_vm *vm = opaque;
    struct kvm_irqfd req = {.fd = (uint32_t)efd, .gsi = gsi};

    if (!assign)
        req.flags = KVM_IRQFD_FLAG_DEASSIGN;
    if (ioctl(vm->vm_fd, KVM_IRQFD, &req) < 0)
        return -errno;
    return 0;
}

static int kvm_ioeventfd(void *opaque, int efd, uint64_t addr, unsigned int len,
                         uint64_t datamatch, bool assign)
{
    struct kvm_vm *vm = opaque;
    struct kvm_ioeventfd req = {
        .datamatch = datamatch,
        .addr = addr,
        .len = len,
        .fd = efd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
    };

    if (!assign)
        req.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &req) < 0)
        return -errno;
    return 0;
}

static int kvm_require(struct kvm_vm *vm, long cap, const char *name)
{
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0) {
        log_err("KVM lacks %s", name);
        return -ENOTSUP;
    }
    return 0;
}

static int kvm_check_caps(struct kvm_vm *vm)
{
    static const struct {
        long cap;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},     {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
        {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},         {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
        {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
        {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    };

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        int ret = kvm_require(vm, required[i].cap, required[i].name);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* One memory slot per gmem region (slot i = region i, the numbering migration relies on). */
static int kvm_vm_set_memory(struct kvm_vm *vm, const struct gmem *gm)
{
    for (unsigned int i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .guest_phys_addr = r->gpa,
            .memory_size = r->size,
            .userspace_addr = (uint64_t)(uintptr_t)r->hva,
        };

        if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
            int ret = -errno;
            log_err("KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu MiB): %s", i,
                    (unsigned long long)r->gpa, (unsigned long long)(r->size >> 20),
                    strerror(-ret));
            return ret;
        }
    }
    vm->nslots = gm->nregions;
    return 0;
}

int kvm_vm_open(struct kvm_vm *vm)
{
    int ret;

    memset(vm, 0, sizeof(*vm));
    vm->vm_fd = -1;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        ret = -errno;
        log_err("cannot open /dev/kvm: %s", strerror(-ret));
        return ret;
    }
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        log_err("/dev/kvm speaks an unknown KVM API version");
        ret = -ENOTSUP;
        goto fail;
    }
    ret = kvm_check_caps(vm);
    if (ret < 0)
        goto fail;
    vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->vcpu_mmap_size <= 0) {
        ret = -errno;
        log_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(-ret));
        goto fail;
    }
    return 0;
fail:
    kvm_vm_destroy(vm);
    return ret;
}

int kvm_vm_create(struct kvm_vm *vm, const struct gmem *gm)
{
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    int ret;

    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        ret = -errno;
        log_err("KVM_CREATE_VM: %s", strerror(-ret));
        goto fail;
    }
    /*
     * Memory before the irqchip: once the in-kernel irqchip exists, every memslot update
     * waits out a full SRCU grace period (6.7 ms instead of 0.05 ms on the PVM host, the
     * largest part of exec -> first KVM_RUN).
     */
    ret = kvm_vm_set_memory(vm, gm);
    if (ret < 0)
        goto fail;
    /* Not every KVM needs these (PVM, SVM); failures are harmless there. */
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
        log_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
    uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
        log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (ignored)", strerror(errno));
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        ret = -errno;
        log_err("KVM_CREATE_IRQCHIP: %s", strerror(-ret));
        goto fail;
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        ret = -errno;
        log_err("KVM_CREATE_PIT2: %s", strerror(-ret));
        goto fail;
    }
    ret = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0);
    vm->tsc_khz = ret > 0 ? (uint32_t)ret : 0;
    vm->is_pvm = kvm_host_is_pvm();
    vm->irq_chip = (struct irq_chip){
        .opaque = vm,
        .set_level = kvm_set_level,
        .irqfd = kvm_irqfd,
        .ioeventfd = kvm_ioeventfd,
    };
    return 0;

fail:
    if (vm->vm_fd >= 0) /* /dev/kvm stays open: kvm_vm_destroy closes it */
        close(vm->vm_fd);
    vm->vm_fd = -1;
    return ret;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    vm->vm_fd = -1;
    vm->kvm_fd = -1;
}

int kvm_vm_supported_cpuid(struct kvm_vm *vm, struct kvm_cpuid2 **out)
{
    for (unsigned int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

        if (!c)
            return -ENOMEM;
        c->nent = n;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            *out = c;
            return 0;
        }
        int err = errno;
        free(c);
        if (err != E2BIG) {
            log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
            return -err;
        }
    }
    return -E2BIG;
}
