/*
 * The VM-wide KVM state as stream records: the in-kernel PIC pair and IOAPIC, the PIT and
 * the KVM clock. Saved with every vCPU parked; restored before the vCPUs' own state.
 */
#ifndef MINIVMM_VMSTATE_KVM_H
#define MINIVMM_VMSTATE_KVM_H

#include <stddef.h>
#include <stdint.h>

#include "kvm_vm.h"
#include "migrate_stream.h"

MUST_CHECK int vmstate_kvm_save(struct kvm_vm *kvm, struct mstream_rec_buf *out);
MUST_CHECK int vmstate_kvm_load(struct kvm_vm *kvm, const uint8_t *payload, size_t len);

#endif
