/*
 * CPUID editing. Topology: one package of ncpus cores, one thread each, APIC
 * id = vCPU index, announced consistently in leaves 1, 4, 0xB and 0x1F.
 * Baseline: the masks below name every bit and the instruction it unlocks.
 */
#include "cpuid.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BIT(n) (1U << (n))

enum cpuid_reg { EAX, EBX, ECX, EDX };

/* Features hidden by the baseline model, with index ~0U meaning "any subleaf". */
struct cpuid_mask {
    uint32_t function;
    uint32_t index;
    enum cpuid_reg reg;
    uint32_t bits;
};

static const struct cpuid_mask baseline_masks[] = {
    /* Leaf 1: FMA(12) CX16/cmpxchg16b(13) PCID(17) MOVBE(22) POPCNT(23) XSAVE(26)
     * OSXSAVE(27) AVX(28) F16C(29) RDRAND(30). */
    {1, ~0U, ECX,
     BIT(12) | BIT(13) | BIT(17) | BIT(22) | BIT(23) | BIT(26) | BIT(27) | BIT(28) | BIT(29) |
         BIT(30)},
    /* Leaf 7.0 EBX: FSGSBASE(0) BMI1(3) AVX2(5) SMEP(7) BMI2(8) INVPCID(10) MPX(14, XSAVE
     * state) AVX512F(16) AVX512DQ(17) RDSEED(18) ADX(19) SMAP(20) AVX512IFMA(21)
     * AVX512PF(26) AVX512ER(27) AVX512CD(28) AVX512BW(30) AVX512VL(31). */
    {7, 0, EBX,
     BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(10) | BIT(14) | BIT(16) | BIT(17) | BIT(18) |
         BIT(19) | BIT(20) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31)},
    /* Leaf 7.0 ECX: AVX512VBMI(1) UMIP(2) PKU(3) OSPKE(4) AVX512VBMI2(6) CET_SS(7, XSAVES
     * state) VAES(9) VPCLMULQDQ(10) AVX512VNNI(11) AVX512BITALG(12) AVX512VPOPCNTDQ(14)
     * RDPID(22). */
    {7, 0, ECX,
     BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(6) | BIT(7) | BIT(9) | BIT(10) | BIT(11) | BIT(12) |
         BIT(14) | BIT(22)},
    /* Leaf 7.0 EDX: AVX512_4VNNIW(2) AVX512_4FMAPS(3) AVX512_VP2INTERSECT(8) CET_IBT(20)
     * AMX_BF16(22) AVX512_FP16(23) AMX_TILE(24) AMX_INT8(25) ARCH_CAPABILITIES(29). */
    {7, 0, EDX,
     BIT(2) | BIT(3) | BIT(8) | BIT(20) | BIT(22) | BIT(23) | BIT(24) | BIT(25) | BIT(29)},
    /* Leaf 7.1 EAX: AVX_VNNI(4) AVX512_BF16(5) AMX_FP16(21) AVX_IFMA(23). */
    {7, 1, EAX, BIT(4) | BIT(5) | BIT(21) | BIT(23)},
    /* Leaf 0x80000001 ECX: ABM/LZCNT(5) XOP(11) FMA4(16) TBM(21). */
    {0x80000001, ~0U, ECX, BIT(5) | BIT(11) | BIT(16) | BIT(21)},
    /* KVM paravirt leaf 0x40000001 EAX: the features Linux implements with the VMCALL
     * hypercall, which never returns on PVM (measured: any hypercall number spins the vCPU
     * inside KVM_RUN): PV_UNHALT(7, KVM_HC_KICK_CPU) PV_SEND_IPI(11) PV_SCHED_YIELD(13).
     * Without them Linux sends IPIs through the emulated x2APIC. */
    {0x40000001, ~0U, EAX, BIT(7) | BIT(11) | BIT(13)},
};

#define CPUID_XSAVE_LEAF        0xD
#define CPUID1_ECX_TSC_DEADLINE BIT(24)
#define CPUID1_ECX_HYPERVISOR   BIT(31)
#define CPUID1_EDX_HTT          BIT(28)
#define TOPO_LEVEL_SMT          1
#define TOPO_LEVEL_CORE         2

/*
 * What a Linux guest must be told on PVM. PVM shows the guest the host's native
 * feature bits of leaves 1 and 7 whatever KVM_SET_CPUID2 says (measured with
 * KVM_GET_CPUID2 and CPUID in guest ring 0 and ring 3: both match the readback,
 * which has POPCNT, XSAVE, AVX-512... back; the emulated bits, topology, KVM and
 * 0x80000001 leaves are honoured). "noxsave" also drops everything Linux derives
 * from XSAVE (AVX*, FMA, PKU, MPX, AMX); these are the rest of the baseline's
 * instruction features.
 */
static const struct cpuid_mask pvm_linux_hidden[] = {
    /* CX16(13) PCID(17) MOVBE(22) POPCNT(23) F16C(29) RDRAND(30). */
    {1, 0, ECX, BIT(13) | BIT(17) | BIT(22) | BIT(23) | BIT(29) | BIT(30)},
    /* FSGSBASE(0) BMI1(3) SMEP(7) BMI2(8) INVPCID(10) RDSEED(18) ADX(19) SMAP(20). */
    {7, 0, EBX, BIT(0) | BIT(3) | BIT(7) | BIT(8) | BIT(10) | BIT(18) | BIT(19) | BIT(20)},
    /* UMIP(2) RDPID(22). */
    {7, 0, ECX, BIT(2) | BIT(22)},
    /* ABM/LZCNT(5). */
    {0x80000001, 0, ECX, BIT(5)},
};

/* Linux's capability word mirroring a CPUID register (arch/x86/include/asm/cpufeatures.h). */
static int cpuid_linux_word(const struct cpuid_mask *m)
{
    if (m->function == 1 && m->reg == ECX)
        return 4;
    if (m->function == 7 && m->index == 0 && m->reg == EBX)
        return 9;
    if (m->function == 7 && m->index == 0 && m->reg == ECX)
        return 16;
    if (m->function == 0x80000001 && m->reg == ECX)
        return 6;
    return -1;
}

int cpuid_pvm_linux_args(char *buf, size_t size)
{
    size_t len;
    int n = snprintf(buf, size, "noxsave clearcpuid=");

    if (n < 0 || (size_t)n >= size)
        return -E2BIG;
    len = (size_t)n;
    for (size_t i = 0; i < sizeof(pvm_linux_hidden) / sizeof(pvm_linux_hidden[0]); i++) {
        const struct cpuid_mask *m = &pvm_linux_hidden[i];
        int word = cpuid_linux_word(m);

        for (unsigned int bit = 0; bit < 32 && word >= 0; bit++) {
            if (!(m->bits & BIT(bit)))
                continue;
            /* clearcpuid= takes X86_FEATURE numbers (word * 32 + bit): names need
             * CONFIG_X86_FEATURE_NAMES, numbers work in every kernel. */
            n = snprintf(buf + len, size - len, "%s%u", buf[len - 1] == '=' ? "" : ",",
                         (unsigned int)word * 32 + bit);
            if (n < 0 || (size_t)n >= size - len)
                return -E2BIG;
            len += (size_t)n;
        }
    }
    return 0;
}

int cpuid_model_parse(const char *name, enum cpuid_model *model)
{
    if (strcmp(name, "host") == 0)
        *model = CPUID_MODEL_HOST;
    else if (strcmp(name, "baseline") == 0)
        *model = CPUID_MODEL_BASELINE;
    else {
        log_err("unknown CPU model '%s' (expected host or baseline)", name);
        return -EINVAL;
    }
    return 0;
}

const char *cpuid_model_name(enum cpuid_model model)
{
    return model == CPUID_MODEL_BASELINE ? "baseline" : "host";
}

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
    switch (reg) {
    case EAX:
        return &e->eax;
    case EBX:
        return &e->ebx;
    case ECX:
        return &e->ecx;
    case EDX:
        break;
    }
    return &e->edx;
}

static void cpuid_apply_baseline(struct kvm_cpuid_entry2 *e)
{
    /* No XSAVE: its enumeration leaf must describe no state at all. */
    if (e->function == CPUID_XSAVE_LEAF) {
        e->eax = e->ebx = e->ecx = e->edx = 0;
        return;
    }
    for (size_t i = 0; i < sizeof(baseline_masks) / sizeof(baseline_masks[0]); i++) {
        const struct cpuid_mask *m = &baseline_masks[i];

        if (m->function == e->function && (m->index == ~0U || m->index == e->index))
            *cpuid_reg(e, m->reg) &= ~m->bits;
    }
}

/* Bits of APIC id that number the cores: ceil(log2(ncpus)). */
static uint32_t cpuid_core_shift(unsigned int ncpus)
{
    uint32_t shift = 0;

    while ((1U << shift) < ncpus)
        shift++;
    return shift;
}

/* Leaves 0xB and 0x1F: the same two-level topology, x2APIC id in EDX of every subleaf. */
static void cpuid_topology_leaf(struct kvm_cpuid_entry2 *e, const struct cpuid_vcpu *v)
{
    e->edx = v->index;
    if (e->index == 0) {
        e->eax = 0;
        e->ebx = 1;
        e->ecx = (TOPO_LEVEL_SMT << 8) | 0;
    } else if (e->index == 1) {
        e->eax = cpuid_core_shift(v->ncpus);
        e->ebx = v->ncpus;
        e->ecx = (TOPO_LEVEL_CORE << 8) | 1;
    } else {
        /* Level type 0 ends the enumeration. */
        e->eax = e->ebx = 0;
        e->ecx = e->index & 0xff;
    }
}

static void cpuid_apply_vcpu(struct kvm_cpuid_entry2 *e, const struct cpuid_vcpu *v)
{
    uint32_t count = v->ncpus > 255 ? 255 : v->ncpus;
    uint32_t cores = v->ncpus > 64 ? 63 : v->ncpus - 1;

    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0x0000ffff) | (count << 16) | (v->index << 24);
        e->ecx |= CPUID1_ECX_HYPERVISOR;
        if (v->tsc_deadline)
            e->ecx |= CPUID1_ECX_TSC_DEADLINE;
        e->edx = v->ncpus > 1 ? e->edx | CPUID1_EDX_HTT : e->edx & ~CPUID1_EDX_HTT;
        break;
    case 4:
        /* Deterministic cache parameters: EAX[31:26] cores per package - 1; EAX[25:14]
         * threads sharing the cache - 1: one core for L1/L2, the package for L3. */
        if ((e->eax & 0x1f) == 0)
            break;
        e->eax &= 0x00003fff;
        e->eax |= cores << 26;
        if (((e->eax >> 5) & 7) >= 3)
            e->eax |= cores << 14;
        break;
    case 0xB:
    case 0x1F:
        cpuid_topology_leaf(e, v);
        break;
    default:
        break;
    }
}

static bool cpuid_has(const struct kvm_cpuid2 *cpuid, uint32_t function, uint32_t index)
{
    for (uint32_t i = 0; i < cpuid->nent; i++)
        if (cpuid->entries[i].function == function && cpuid->entries[i].index == index)
            return true;
    return false;
}

/*
 * KVM does not enumerate topology: KVM_GET_SUPPORTED_CPUID returns leaves 0xB
 * and 0x1F as a single zeroed subleaf 0. Without the core level (subleaf 1)
 * Linux puts every vCPU in its own package, so add subleaves 1 and 2 to every
 * topology leaf the list has; cpuid_topology_leaf() fills them.
 */
static int cpuid_add_topology_subleaves(struct kvm_cpuid2 *cpuid, uint32_t capacity)
{
    static const uint32_t leaves[] = {0xB, 0x1F};

    for (size_t l = 0; l < sizeof(leaves) / sizeof(leaves[0]); l++) {
        if (!cpuid_has(cpuid, leaves[l], 0))
            continue;
        for (uint32_t sub = 1; sub <= 2; sub++) {
            if (cpuid_has(cpuid, leaves[l], sub))
                continue;
            if (cpuid->nent >= capacity)
                return -ENOSPC;
            cpuid->entries[cpuid->nent++] = (struct kvm_cpuid_entry2){
                .function = leaves[l],
                .index = sub,
                .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
            };
        }
    }
    return 0;
}

int cpuid_filter(struct kvm_cpuid2 *cpuid, uint32_t capacity, const struct cpuid_vcpu *vcpu)
{
    int ret;

    if (vcpu->ncpus == 0 || vcpu->index >= vcpu->ncpus || vcpu->index > 254 ||
        cpuid->nent > capacity)
        return -EINVAL;
    ret = cpuid_add_topology_subleaves(cpuid, capacity);
    if (ret < 0)
        return ret;
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

        if (vcpu->model == CPUID_MODEL_BASELINE)
            cpuid_apply_baseline(e);
        cpuid_apply_vcpu(e, vcpu);
    }
    return 0;
}
