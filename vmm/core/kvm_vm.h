/*
 * The KVM virtual machine: /dev/kvm and VM fds, in-kernel irqchip and PIT,
 * memory slots for guest RAM, and the irq_chip implementation devices use
 * (KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD).
 */
#ifndef MINIVMM_KVM_VM_H
#define MINIVMM_KVM_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"
#include "irq.h"
#include "log.h"

struct kvm_vm {
    int kvm_fd;
    int vm_fd;
    int vcpu_mmap_size;
    bool is_pvm;      /* host KVM is PVM: guest kernel mode is emulated */
    uint32_t tsc_khz; /* 0 when unknown */
    unsigned int nslots;
    struct irq_chip irq_chip; /* routes to this VM */
};

/* True when the host's KVM is the PVM module (guest kernel mode emulated). */
bool kvm_host_is_pvm(void);

/* Opens /dev/kvm and checks the API version and the capabilities minivmm needs. */
MUST_CHECK int kvm_vm_open(struct kvm_vm *vm);
/* After kvm_vm_open: creates the VM with one memory slot per gmem region (slot i = region
 * i), the irqchip and the PIT. */
MUST_CHECK int kvm_vm_create(struct kvm_vm *vm, const struct gmem *gm);
void kvm_vm_destroy(struct kvm_vm *vm); /* accepts a half-built VM */
/* KVM_GET_SUPPORTED_CPUID (needs only kvm_vm_open); *out is malloc'ed, free() it. */
MUST_CHECK int kvm_vm_supported_cpuid(struct kvm_vm *vm, struct kvm_cpuid2 **out);

#endif
