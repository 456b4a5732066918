/*
 * Per-vCPU CPUID: KVM_GET_SUPPORTED_CPUID's list, edited for one vCPU (its
 * APIC id and the topology) and, for the "baseline" model, stripped of every
 * feature whose instructions the PVM emulator cannot execute.
 */
#ifndef MINIVMM_CPUID_H
#define MINIVMM_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

enum cpuid_model {
    CPUID_MODEL_HOST,     /* everything KVM supports */
    CPUID_MODEL_BASELINE, /* host minus what PVM cannot emulate (see environment.md) */
};

struct cpuid_vcpu {
    enum cpuid_model model;
    unsigned int index; /* vCPU index; also its (x2)APIC id */
    unsigned int ncpus; /* one package, ncpus cores, one thread each */
    /* KVM_CAP_TSC_DEADLINE_TIMER: KVM leaves CPUID.1:ECX[24] to user space. */
    bool tsc_deadline;
};

/* "host" or "baseline"; anything else logs the accepted names and returns -EINVAL. */
MUST_CHECK int cpuid_model_parse(const char *name, enum cpuid_model *model);
const char *cpuid_model_name(enum cpuid_model model);

/* Entries cpuid_filter() may append (topology subleaves 0xB.1-2 and 0x1F.1-2). */
#define CPUID_FILTER_EXTRA 4

/*
 * Edits cpuid (a private copy per vCPU, room for `capacity` entries, which
 * should be at least nent + CPUID_FILTER_EXTRA) in place, appending the
 * topology subleaves KVM leaves out. Leaves no leaf it does not understand
 * changed except for the baseline feature masks. -EINVAL when index >= ncpus,
 * ncpus is 0 or nent > capacity; -ENOSPC when the subleaves do not fit.
 */
MUST_CHECK int cpuid_filter(struct kvm_cpuid2 *cpuid, uint32_t capacity,
                            const struct cpuid_vcpu *vcpu);

/*
 * Writes the Linux kernel arguments ("noxsave clearcpuid=...") that make a guest
 * kernel avoid, by itself, the baseline's hidden instructions that PVM still
 * shows it through CPUID. For Linux guests on PVM only; -E2BIG if size is short.
 */
MUST_CHECK int cpuid_pvm_linux_args(char *buf, size_t size);

#endif
