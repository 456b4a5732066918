/*
 * One vCPU's KVM state as stream records (migrate_stream.h): registers, special registers,
 * FPU (XSAVE when KVM gives it; PVM may not), XCRs, MSRs, LAPIC, pending events, MP state,
 * debug registers. The vCPU must be parked (vcpu_pause) or not yet started.
 */
#ifndef MINIVMM_VMSTATE_CPU_H
#define MINIVMM_VMSTATE_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "migrate_stream.h"
#include "vcpu.h"

/* The MSRs worth saving: KVM_GET_MSR_INDEX_LIST, filtered to what this vCPU can read. */
struct vmstate_msr_list {
    unsigned int n;
    uint32_t index[512];
};

MUST_CHECK int vmstate_cpu_msr_list(int kvm_fd, struct vcpu *v, struct vmstate_msr_list *out);
MUST_CHECK int vmstate_cpu_save(struct vcpu *v, const struct vmstate_msr_list *msrs,
                                struct mstream_rec_buf *out);
/* Applies a CPU section's records; -EPROTO for a missing or malformed one (logged). */
MUST_CHECK int vmstate_cpu_load(struct vcpu *v, const uint8_t *payload, size_t len);

#endif
