/*
 * kvmclock (Linux Documentation/virt/kvm/x86/msr.rst, MSR_KVM_SYSTEM_TIME_NEW):
 * the hypervisor keeps a pvclock structure in guest memory up to date; time
 * is system_time + scaled (TSC - tsc_timestamp), read under a version
 * counter that is odd while an update is in progress.
 */
#include "clock.h"
#include "io.h"

#define KVM_CPUID_SIGNATURE      0x40000000
#define KVM_CPUID_FEATURES       0x40000001
#define KVM_FEATURE_CLOCKSOURCE2 (1U << 3)
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01

struct pvclock {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};

/* Written by the hypervisor, read by ring 3: ordinary user-accessible memory. */
static volatile struct pvclock pvclock __attribute__((aligned(64)));
static bool enabled;

static void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

void clock_init(void)
{
    uint32_t r[4];
    uint64_t msr = (uint64_t)(uintptr_t)&pvclock | 1; /* bit 0: enable */

    cpuid(KVM_CPUID_SIGNATURE, r);
    /* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
    if (r[1] != 0x4b4d564b || r[2] != 0x564b4d56 || r[3] != 0x4d || r[0] < KVM_CPUID_FEATURES)
        return;
    cpuid(KVM_CPUID_FEATURES, r);
    if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
        return;
    __asm__ volatile("wrmsr"
                     :
                     : "c"(MSR_KVM_SYSTEM_TIME_NEW), "a"((uint32_t)msr),
                       "d"((uint32_t)(msr >> 32)));
    enabled = true;
}

bool clock_available(void)
{
    return enabled;
}

uint64_t clock_ns(void)
{
    uint32_t version, mul;
    uint64_t stamp, system, delta;
    int8_t shift;

    if (!enabled)
        return 0;
    do {
        version = pvclock.version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        stamp = pvclock.tsc_timestamp;
        system = pvclock.system_time;
        mul = pvclock.tsc_to_system_mul;
        shift = pvclock.tsc_shift;
        delta = io_rdtsc() - stamp;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while ((version & 1) || version != pvclock.version);
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return system + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}
