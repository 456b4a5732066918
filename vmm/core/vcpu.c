/*
 * vCPU threads and the exit switch. Each case delegates at once; anything that
 * is not an I/O exit either ends the VM with a one-line reason or is counted.
 */
#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* SIGUSR1 interrupts KVM_RUN (EINTR); its handler does nothing. */
#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
    (void)sig;
}

int vcpu_signals_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = vcpu_kick_handler;
    sigemptyset(&sa.sa_mask);
    if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
        return -errno;
    return 0;
}

int vcpu_create(struct vcpu *v, struct kvm_vm *vm, unsigned int index)
{
    int ret;

    memset(v, 0, sizeof(*v));
    v->index = index;
    pthread_mutex_init(&v->pause_lock, NULL);
    pthread_cond_init(&v->pause_cond, NULL);
    v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        ret = -errno;
        log_err("KVM_CREATE_VCPU %u: %s", index, strerror(-ret));
        v->fd = -1;
        vcpu_destroy(v);
        return ret;
    }
    v->run_size = (size_t)vm->vcpu_mmap_size;
    v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        ret = -errno;
        v->run = NULL;
        log_err("mmap kvm_run of vCPU %u: %s", index, strerror(-ret));
        vcpu_destroy(v);
        return ret;
    }
    return 0;
}

void vcpu_destroy(struct vcpu *v)
{
    if (v->run)
        munmap(v->run, v->run_size);
    if (v->fd >= 0)
        close(v->fd);
    v->run = NULL;
    v->fd = -1;
    pthread_cond_destroy(&v->pause_cond);
    pthread_mutex_destroy(&v->pause_lock);
}

int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid)
{
    if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
        int ret = -errno;
        log_err("KVM_SET_CPUID2 vCPU %u: %s", v->index, strerror(-ret));
        return ret;
    }
    return 0;
}

/* LAPIC LVT registers and the delivery-mode field inside them. */
#define APIC_LVT_LINT0     0x350
#define APIC_LVT_LINT1     0x360
#define APIC_MODE_MASK     0x700
#define APIC_MODE_NMI      0x400
#define APIC_MODE_EXTINT   0x700

static void lapic_set_mode(struct kvm_lapic_state *lapic, unsigned int reg, uint32_t mode)
{
    uint32_t val;

    memcpy(&val, &lapic->regs[reg], sizeof(val));
    val = (val & ~(uint32_t)APIC_MODE_MASK) | mode;
    memcpy(&lapic->regs[reg], &val, sizeof(val));
}

int vcpu_init_platform_state(struct vcpu *v)
{
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;

    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;    /* x87 power-on control word */
    fpu.mxcsr = 0x1f80; /* SSE: all exceptions masked */
    if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
        log_err("KVM_SET_FPU vCPU %u: %s", v->index, strerror(errno));
        return -errno;
    }
    /* Virtual-wire mode: the legacy PIC arrives on LINT0, NMIs on LINT1. */
    if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
        log_err("KVM_GET_LAPIC vCPU %u: %s", v->index, strerror(errno));
        return -errno;
    }
    lapic_set_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT);
    lapic_set_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI);
    if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
        log_err("KVM_SET_LAPIC vCPU %u: %s", v->index, strerror(errno));
        return -errno;
    }
    return 0;
}

static void vcpu_end(struct vcpu *v, enum vcpu_end why, const char *reason)
{
    if (v->stop)
        v->stop(v->stop_opaque, v, why, reason);
}

static void vcpu_handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;

    v->stats.io++;
    for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
        if (run->io.direction == KVM_EXIT_IO_OUT)
            bus_write(v->pio, run->io.port, data, run->io.size);
        else
            bus_read(v->pio, run->io.port, data, run->io.size);
    }
}

static void vcpu_handle_mmio(struct vcpu *v)
{
    struct kvm_run *run = v->run;

    v->stats.mmio++;
    if (run->mmio.is_write)
        bus_write(v->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
    else
        bus_read(v->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len);
}

/* Formats RIP and the bytes there (through the guest's page tables) for a failure report. */
static void vcpu_describe_rip(struct vcpu *v, char *buf, size_t len)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_translation tr;
    size_t n;

    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
        snprintf(buf, len, "RIP unknown (%s)", strerror(errno));
        return;
    }
    n = (size_t)snprintf(buf, len, "RIP 0x%llx (CS 0x%x, CPL %u), code:",
                         (unsigned long long)regs.rip, sregs.cs.selector, sregs.cs.dpl);
    memset(&tr, 0, sizeof(tr));
    tr.linear_address = sregs.cs.base + regs.rip;
    if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid) {
        snprintf(buf + n, len - n, " unmapped");
        return;
    }
    for (unsigned int i = 0; i < 15 && n < len; i++) {
        const uint8_t *p = gmem_ptr(v->gm, tr.physical_address + i, 1);
        if (!p)
            break;
        n += (size_t)snprintf(buf + n, len - n, " %02x", *p);
    }
}

/* Logs where a stopped vCPU is: RIP, code bytes, RSP, RFLAGS and the state KVM keeps for it. */
void vcpu_dump_state(struct vcpu *v)
{
    struct kvm_regs regs;
    struct kvm_mp_state mp;
    char where[160];

    vcpu_describe_rip(v, where, sizeof(where));
    if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0) {
        log_info("vCPU %u: %s", v->index, where);
        return;
    }
    log_info("vCPU %u: %s; RSP 0x%llx RFLAGS 0x%llx RAX 0x%llx mp_state %u, %llu exits", v->index,
             where, (unsigned long long)regs.rsp, (unsigned long long)regs.rflags,
             (unsigned long long)regs.rax, mp.mp_state, (unsigned long long)v->stats.exits);
}

static void vcpu_internal_error(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    char where[160], reason[256];

    vcpu_describe_rip(v, where, sizeof(where));
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
        snprintf(reason, sizeof(reason), "vCPU %u: instruction emulation failed at %s", v->index,
                 where);
    else
        snprintf(reason, sizeof(reason), "vCPU %u: KVM internal error (suberror %u) at %s",
                 v->index, run->internal.suberror, where);
    vcpu_end(v, VCPU_END_ERROR, reason);
}

/* Returns false when the vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    char reason[256];

    v->stats.exits++;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu_handle_io(v);
        return true;
    case KVM_EXIT_MMIO:
        vcpu_handle_mmio(v);
        return true;
    case KVM_EXIT_INTR:
        v->stats.other++;
        return true;
    case KVM_EXIT_HLT:
        /* Only reached without an in-kernel LAPIC; treat as a final halt. */
        vcpu_end(v, VCPU_END_SHUTDOWN, "guest halted");
        return false;
    case KVM_EXIT_SHUTDOWN:
        vcpu_end(v, VCPU_END_RESET, "guest reset (triple fault)");
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
            vcpu_end(v, VCPU_END_SHUTDOWN, "guest powered off");
        else
            vcpu_end(v, VCPU_END_RESET, "guest reset");
        return false;
    case KVM_EXIT_INTERNAL_ERROR:
        vcpu_internal_error(v);
        return false;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(reason, sizeof(reason), "vCPU %u: KVM entry failed, reason 0x%llx", v->index,
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_end(v, VCPU_END_ERROR, reason);
        return false;
    default:
        snprintf(reason, sizeof(reason), "vCPU %u: unexpected KVM exit %u", v->index,
                 run->exit_reason);
        vcpu_end(v, VCPU_END_ERROR, reason);
        return false;
    }
}

/*
 * Parks the thread until vcpu_resume() (or a stop). KVM finishes a pending MMIO/PIO read only
 * on the next KVM_RUN; with immediate_exit set it does that and returns at once (KVM API,
 * "immediate_exit"), so the state seen while parked holds the read's result.
 */
static void vcpu_park(struct vcpu *v)
{
    v->run->immediate_exit = 1;
    if (ioctl(v->fd, KVM_RUN, 0) < 0 && errno != EINTR && errno != EAGAIN)
        log_debug("vCPU %u: completing I/O before pausing: %s", v->index, strerror(errno));
    v->run->immediate_exit = 0;
    pthread_mutex_lock(&v->pause_lock);
    v->parked = true;
    pthread_cond_broadcast(&v->pause_cond);
    while (__atomic_load_n(&v->pause_requested, __ATOMIC_ACQUIRE) &&
           !__atomic_load_n(&v->stop_requested, __ATOMIC_ACQUIRE))
        pthread_cond_wait(&v->pause_cond, &v->pause_lock);
    v->parked = false;
    pthread_mutex_unlock(&v->pause_lock);
}

static void vcpu_loop(struct vcpu *v)
{
    while (!__atomic_load_n(&v->stop_requested, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&v->pause_requested, __ATOMIC_ACQUIRE)) {
            vcpu_park(v);
            continue;
        }
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                v->run->immediate_exit = 0;
                continue;
            }
            char reason[128];
            snprintf(reason, sizeof(reason), "vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
            vcpu_end(v, VCPU_END_ERROR, reason);
            break;
        }
        if (!vcpu_handle_exit(v))
            break;
    }
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    sigset_t set;
    char name[16];

    snprintf(name, sizeof(name), "vcpu%u", v->index);
    pthread_setname_np(pthread_self(), name);
    sigemptyset(&set);
    sigaddset(&set, VCPU_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    vcpu_loop(v);
    pthread_mutex_lock(&v->pause_lock);
    v->thread_done = true;
    pthread_cond_broadcast(&v->pause_cond);
    pthread_mutex_unlock(&v->pause_lock);
    return NULL;
}

int vcpu_start(struct vcpu *v)
{
    int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);

    if (ret) {
        log_err("cannot start vCPU %u thread: %s", v->index, strerror(ret));
        return -ret;
    }
    v->thread_started = true;
    return 0;
}

void vcpu_request_stop(struct vcpu *v)
{
    __atomic_store_n(&v->stop_requested, 1, __ATOMIC_RELEASE);
    if (!v->thread_started)
        return;
    /* immediate_exit covers a signal that lands just before KVM_RUN is entered. */
    v->run->immediate_exit = 1;
    pthread_kill(v->thread, VCPU_KICK_SIGNAL);
    pthread_mutex_lock(&v->pause_lock); /* a parked thread wakes up to stop */
    pthread_cond_broadcast(&v->pause_cond);
    pthread_mutex_unlock(&v->pause_lock);
}

/* How often vcpu_pause re-kicks: a signal can land between the flag check and KVM_RUN. */
#define VCPU_PAUSE_RETRY_NS 10000000L

int vcpu_pause(struct vcpu *v)
{
    int ret = 0;

    if (!v->thread_started)
        return 0;
    pthread_mutex_lock(&v->pause_lock);
    __atomic_store_n(&v->pause_requested, true, __ATOMIC_RELEASE);
    while (!v->parked && !v->thread_done) {
        struct timespec until;

        v->run->immediate_exit = 1;
        pthread_kill(v->thread, VCPU_KICK_SIGNAL);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += VCPU_PAUSE_RETRY_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&v->pause_cond, &v->pause_lock, &until);
    }
    if (!v->parked)
        ret = -ESRCH;
    pthread_mutex_unlock(&v->pause_lock);
    return ret;
}

void vcpu_resume(struct vcpu *v)
{
    pthread_mutex_lock(&v->pause_lock);
    __atomic_store_n(&v->pause_requested, false, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&v->pause_cond);
    pthread_mutex_unlock(&v->pause_lock);
}

void vcpu_join(struct vcpu *v)
{
    if (!v->thread_started)
        return;
    pthread_join(v->thread, NULL);
    v->thread_started = false;
}
