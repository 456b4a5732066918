/*
 * Unit tests for vmm/boot/cpuid.c. The input is a synthetic "everything
 * supported" CPUID (all feature bits set); the expectations restate the
 * environment.md list feature by feature, independently of cpuid.c's masks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "fixture.h"

enum { EAX, EBX, ECX, EDX };

/* A feature PVM cannot execute: must vanish in baseline, stay in host. */
struct feature {
    const char *name;
    uint32_t function, index;
    int reg;
    unsigned int bit;
};

static const struct feature hidden[] = {
    {"fma", 1, 0, ECX, 12},
    {"cx16", 1, 0, ECX, 13},
    {"pcid", 1, 0, ECX, 17},
    {"movbe", 1, 0, ECX, 22},
    {"popcnt", 1, 0, ECX, 23},
    {"xsave", 1, 0, ECX, 26},
    {"osxsave", 1, 0, ECX, 27},
    {"avx", 1, 0, ECX, 28},
    {"f16c", 1, 0, ECX, 29},
    {"rdrand", 1, 0, ECX, 30},
    {"fsgsbase", 7, 0, EBX, 0},
    {"bmi1", 7, 0, EBX, 3},
    {"avx2", 7, 0, EBX, 5},
    {"smep", 7, 0, EBX, 7},
    {"bmi2", 7, 0, EBX, 8},
    {"invpcid", 7, 0, EBX, 10},
    {"avx512f", 7, 0, EBX, 16},
    {"rdseed", 7, 0, EBX, 18},
    {"adx", 7, 0, EBX, 19},
    {"smap", 7, 0, EBX, 20},
    {"avx512vl", 7, 0, EBX, 31},
    {"umip", 7, 0, ECX, 2},
    {"pku", 7, 0, ECX, 3},
    {"ospke", 7, 0, ECX, 4},
    {"rdpid", 7, 0, ECX, 22},
    {"amx-tile", 7, 0, EDX, 24},
    {"arch-capabilities", 7, 0, EDX, 29},
    {"avx-vnni", 7, 1, EAX, 4},
    {"abm/lzcnt", 0x80000001, 0, ECX, 5},
    /* Paravirt features Linux implements with VMCALL, which hangs on PVM. */
    {"kvm-pv-unhalt", 0x40000001, 0, EAX, 7},
    {"kvm-pv-send-ipi", 0x40000001, 0, EAX, 11},
    {"kvm-pv-sched-yield", 0x40000001, 0, EAX, 13},
};

/* Features the emulator handles: baseline must keep them. */
static const struct feature kept[] = {
    {"sse4.2", 1, 0, ECX, 20},
    {"x2apic", 1, 0, ECX, 21},
    {"fpu", 1, 0, EDX, 0},
    {"sse2", 1, 0, EDX, 26},
    {"erms", 7, 0, EBX, 9},
    {"lm", 0x80000001, 0, EDX, 29},
    {"kvmclock", 0x40000001, 0, EAX, 3},
};

static const struct {
    uint32_t function, index;
} leaves[] = {
    {0, 0},    {1, 0},          {4, 0},          {4, 3},          {7, 0},          {7, 1},
    {0xB, 0},  {0xB, 1},        {0xB, 2},        {0xD, 0},        {0xD, 1},        {0x1F, 0},
    {0x1F, 1}, {0x40000000, 0}, {0x80000001, 0}, {0x80000008, 0}, {0x40000001, 0},
};
#define NLEAVES  (sizeof(leaves) / sizeof(leaves[0]))
#define CAPACITY (NLEAVES + CPUID_FILTER_EXTRA)

static struct kvm_cpuid2 *all_supported(void)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CAPACITY * sizeof(c->entries[0]));

    cr_assert(c);
    c->nent = NLEAVES;
    for (unsigned int i = 0; i < NLEAVES; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        e->function = leaves[i].function;
        e->index = leaves[i].index;
        e->eax = e->ebx = e->ecx = e->edx = 0xffffffff;
    }
    /* Leaf 4 subleaf 0: L1 data (type 1, level 1); subleaf 3: unified L3 (type 3, level 3). */
    c->entries[2].eax = (1 << 5) | 1;
    c->entries[3].eax = (3 << 5) | 3;
    /* KVM signature "KVMKVMKVM\0\0\0". */
    memcpy(&c->entries[13].ebx, "KVMKVMKVM\0\0\0", 12);
    c->entries[13].eax = 0x40000001;
    return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t function, uint32_t index)
{
    for (unsigned int i = 0; i < c->nent; i++)
        if (c->entries[i].function == function && c->entries[i].index == index)
            return &c->entries[i];
    cr_assert_fail("leaf 0x%x.%u missing", function, index);
    return NULL;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, int reg)
{
    const uint32_t r[] = {e->eax, e->ebx, e->ecx, e->edx};
    return r[reg];
}

static bool has(struct kvm_cpuid2 *c, const struct feature *f)
{
    return reg_of(find(c, f->function, f->index), f->reg) & (1U << f->bit);
}

static struct kvm_cpuid2 *filtered(enum cpuid_model model, unsigned int index, unsigned int ncpus)
{
    struct kvm_cpuid2 *c = all_supported();
    struct cpuid_vcpu v = {.model = model, .index = index, .ncpus = ncpus};

    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), 0);
    return c;
}

Test(cpuid, parse_models)
{
    enum cpuid_model m;

    cr_assert_eq(cpuid_model_parse("host", &m), 0);
    cr_assert_eq(m, CPUID_MODEL_HOST);
    cr_assert_eq(cpuid_model_parse("baseline", &m), 0);
    cr_assert_eq(m, CPUID_MODEL_BASELINE);
    cr_assert_str_eq(cpuid_model_name(CPUID_MODEL_BASELINE), "baseline");
    fixture_capture_begin();
    cr_assert_eq(cpuid_model_parse("Host", &m), -EINVAL);
    cr_assert_eq(cpuid_model_parse("", &m), -EINVAL);
    const char *log = fixture_capture_end();
    cr_assert(strstr(log, "unknown CPU model 'Host' (expected host or baseline)"), "%s", log);
}

Test(cpuid, baseline_hides_what_pvm_cannot_run)
{
    struct kvm_cpuid2 *c = filtered(CPUID_MODEL_BASELINE, 0, 1);

    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        cr_assert_not(has(c, &hidden[i]), "baseline still offers %s", hidden[i].name);
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
        cr_assert(has(c, &kept[i]), "baseline lost %s", kept[i].name);
    /* No XSAVE: leaf 0xD describes no state. */
    for (uint32_t sub = 0; sub < 2; sub++) {
        const struct kvm_cpuid_entry2 *e = find(c, 0xD, sub);
        cr_assert_eq(e->eax | e->ebx | e->ecx | e->edx, 0, "leaf 0xD.%u not cleared", sub);
    }
    free(c);
}

Test(cpuid, host_keeps_every_feature)
{
    struct kvm_cpuid2 *c = filtered(CPUID_MODEL_HOST, 0, 1);

    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        cr_assert(has(c, &hidden[i]), "host lost %s", hidden[i].name);
    cr_assert_eq(find(c, 0xD, 0)->eax, 0xffffffff);
    free(c);
}

Test(cpuid, kvm_signature_untouched_and_hypervisor_bit)
{
    for (int model = CPUID_MODEL_HOST; model <= CPUID_MODEL_BASELINE; model++) {
        struct kvm_cpuid2 *c = filtered(model, 0, 1);
        const struct kvm_cpuid_entry2 *kvm = find(c, 0x40000000, 0);

        cr_assert_eq(memcmp(&kvm->ebx, "KVMKVMKVM\0\0\0", 12), 0);
        cr_assert_eq(kvm->eax, 0x40000001);
        cr_assert(find(c, 1, 0)->ecx & (1U << 31), "hypervisor bit");
        free(c);
    }
}

Test(cpuid, apic_ids_per_vcpu)
{
    for (unsigned int idx = 0; idx < 4; idx++) {
        struct kvm_cpuid2 *c = filtered(CPUID_MODEL_BASELINE, idx, 4);
        const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);

        cr_assert_eq(l1->ebx >> 24, idx, "initial APIC id");
        cr_assert_eq((l1->ebx >> 16) & 0xff, 4, "logical processor count");
        cr_assert_eq(l1->ebx & 0xffff, 0xffff, "low half of EBX preserved");
        cr_assert(l1->edx & (1U << 28), "HTT: more than one logical processor");
        for (uint32_t sub = 0; sub < 3; sub++) {
            cr_assert_eq(find(c, 0xB, sub)->edx, idx, "x2APIC id in 0xB.%u", sub);
            cr_assert_eq(find(c, 0x1F, sub < 2 ? sub : 1)->edx, idx);
        }
        free(c);
    }
}

Test(cpuid, topology_levels)
{
    struct kvm_cpuid2 *c = filtered(CPUID_MODEL_HOST, 2, 3);
    const struct kvm_cpuid_entry2 *smt = find(c, 0xB, 0), *core = find(c, 0xB, 1),
                                  *end = find(c, 0xB, 2);

    cr_assert_eq(smt->ebx, 1);
    cr_assert_eq((smt->ecx >> 8) & 0xff, 1, "SMT level");
    cr_assert_eq(smt->eax & 0x1f, 0);
    cr_assert_eq(core->ebx, 3);
    cr_assert_eq((core->ecx >> 8) & 0xff, 2, "core level");
    cr_assert_eq(core->eax & 0x1f, 2, "3 CPUs need 2 APIC id bits");
    cr_assert_eq((end->ecx >> 8) & 0xff, 0, "enumeration ends");
    cr_assert_eq(end->ebx, 0);
    /* Leaf 4: 3 cores per package; L1 per core, L3 shared by all three. */
    cr_assert_eq(find(c, 4, 0)->eax >> 26, 2);
    cr_assert_eq((find(c, 4, 0)->eax >> 14) & 0xfff, 0);
    cr_assert_eq((find(c, 4, 3)->eax >> 14) & 0xfff, 2);
    cr_assert_eq(find(c, 4, 3)->eax & 0x3fff, (3 << 5) | 3);
    free(c);
}

/* Drops every subleaf but 0 of the topology leaves, as KVM_GET_SUPPORTED_CPUID returns them. */
static void only_subleaf_0(struct kvm_cpuid2 *c)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];

        if ((e->function == 0xB || e->function == 0x1F) && e->index > 0)
            continue;
        c->entries[n++] = *e;
    }
    c->nent = n;
}

Test(cpuid, topology_subleaves_added)
{
    struct kvm_cpuid2 *c = all_supported();
    struct cpuid_vcpu v = {.model = CPUID_MODEL_BASELINE, .index = 1, .ncpus = 2};

    only_subleaf_0(c);
    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), 0);
    for (uint32_t leaf = 0xB; leaf <= 0x1F; leaf += 0x1F - 0xB) {
        const struct kvm_cpuid_entry2 *core = find(c, leaf, 1), *end = find(c, leaf, 2);

        cr_assert_eq(core->ebx, 2, "leaf 0x%x: two cores in the package", leaf);
        cr_assert_eq((core->ecx >> 8) & 0xff, 2, "core level");
        cr_assert_eq(core->eax & 0x1f, 1);
        cr_assert_eq(core->edx, 1, "x2APIC id");
        cr_assert(core->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
        cr_assert_eq((end->ecx >> 8) & 0xff, 0, "enumeration ends");
    }
    /* Filtering again (same buffer) adds nothing. */
    uint32_t nent = c->nent;
    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), 0);
    cr_assert_eq(c->nent, nent);
    free(c);
}

Test(cpuid, no_room_for_topology_subleaves)
{
    struct kvm_cpuid2 *c = all_supported();
    struct cpuid_vcpu v = {.model = CPUID_MODEL_HOST, .index = 0, .ncpus = 2};

    only_subleaf_0(c);
    cr_assert_eq(cpuid_filter(c, c->nent + 1, &v), -ENOSPC);
    cr_assert_eq(cpuid_filter(c, 1, &v), -EINVAL, "nent larger than the capacity");
    free(c);
}

Test(cpuid, single_cpu_has_no_htt)
{
    struct kvm_cpuid2 *c = filtered(CPUID_MODEL_HOST, 0, 1);

    cr_assert_not(find(c, 1, 0)->edx & (1U << 28));
    cr_assert_eq(find(c, 0xB, 1)->ebx, 1);
    cr_assert_eq(find(c, 0xB, 1)->eax & 0x1f, 0);
    free(c);
}

Test(cpuid, tsc_deadline_only_when_asked)
{
    struct kvm_cpuid2 *c = all_supported();
    struct cpuid_vcpu v = {.model = CPUID_MODEL_HOST, .index = 0, .ncpus = 1};

    find(c, 1, 0)->ecx &= ~(1U << 24);
    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), 0);
    cr_assert_not(find(c, 1, 0)->ecx & (1U << 24));
    v.tsc_deadline = true;
    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), 0);
    cr_assert(find(c, 1, 0)->ecx & (1U << 24));
    free(c);
}

Test(cpuid, bad_vcpu_index)
{
    struct kvm_cpuid2 *c = all_supported();
    struct cpuid_vcpu v = {.model = CPUID_MODEL_HOST, .index = 2, .ncpus = 2};

    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), -EINVAL);
    v.ncpus = 0;
    v.index = 0;
    cr_assert_eq(cpuid_filter(c, CAPACITY, &v), -EINVAL);
    free(c);
}

/* X86_FEATURE number (Linux word * 32 + bit) of a leaf-1/7/0x80000001 feature. */
static unsigned int linux_feature(uint32_t function, int reg, unsigned int bit)
{
    if (function == 1 && reg == ECX)
        return 4 * 32 + bit;
    if (function == 7 && reg == EBX)
        return 9 * 32 + bit;
    if (function == 7 && reg == ECX)
        return 16 * 32 + bit;
    cr_assert(function == 0x80000001 && reg == ECX);
    return 6 * 32 + bit;
}

Test(cpuid, pvm_linux_args)
{
    /* Instruction features without XSAVE state: the ones "noxsave" does not drop. */
    static const char *const expected[] = {
        "cx16", "pcid",    "movbe",  "popcnt", "rdrand", "fsgsbase", "bmi1",  "smep",
        "bmi2", "invpcid", "rdseed", "adx",    "smap",   "umip",     "rdpid", "abm/lzcnt",
    };
    struct kvm_cpuid2 *c = filtered(CPUID_MODEL_BASELINE, 0, 1);
    char args[192], small[24];

    cr_assert_eq(cpuid_pvm_linux_args(args, sizeof(args)), 0);
    cr_assert_eq(strncmp(args, "noxsave clearcpuid=", 19), 0, "%s", args);
    /* Linux 6.1 copies the clearcpuid= value into a 128-byte buffer. */
    cr_assert_lt(strlen(args + 19), 128, "%s", args);
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct feature *f = NULL;
        char num[16];

        for (size_t j = 0; j < sizeof(hidden) / sizeof(hidden[0]); j++)
            if (strcmp(hidden[j].name, expected[i]) == 0)
                f = &hidden[j];
        cr_assert(f, "%s not in the hidden list", expected[i]);
        snprintf(num, sizeof(num), "%u", linux_feature(f->function, f->reg, f->bit));
        cr_assert(strstr(args, num), "%s (%s) missing from '%s'", expected[i], num, args);
    }
    /* Every number named is a feature the baseline hides. */
    for (char *p = args + 19; *p;) {
        unsigned int nr = (unsigned int)strtoul(p, &p, 10), word = nr / 32, bit = nr % 32;
        const uint32_t fn = word == 4 ? 1 : word == 6 ? 0x80000001 : 7;
        const int reg = word == 4 || word == 6 || word == 16 ? ECX : EBX;

        cr_assert(word == 4 || word == 6 || word == 9 || word == 16, "word of %u", nr);
        cr_assert_not(reg_of(find(c, fn, 0), reg) & (1U << bit), "%u not hidden", nr);
        if (*p == ',')
            p++;
    }
    cr_assert_eq(cpuid_pvm_linux_args(small, sizeof(small)), -E2BIG);
    free(c);
}
