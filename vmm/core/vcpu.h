/*
 * vCPUs: one thread each, running KVM_RUN and a flat exit switch that
 * delegates port I/O and MMIO to the buses at once. A vCPU that must end the
 * VM (guest reset, emulation failure, KVM error) reports through its `stop`
 * callback; vcpu_request_stop() pulls a vCPU out of KVM_RUN from any thread.
 */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "gmem.h"
#include "kvm_vm.h"
#include "log.h"

/* Why a vCPU ended the VM. */
enum vcpu_end {
    VCPU_END_RESET,    /* guest asked for reset / triple fault: a clean exit */
    VCPU_END_SHUTDOWN, /* guest powered off */
    VCPU_END_ERROR,    /* emulation failure, KVM error: VMM-side failure */
};

struct vcpu_stats {
    uint64_t exits;
    uint64_t io;
    uint64_t mmio;
    uint64_t other;
};

struct vcpu {
    unsigned int index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool thread_started;
    int stop_requested;
    struct bus *pio;
    struct bus *mmio;
    const struct gmem *gm;
    struct vcpu_stats stats;
    /* Pause (vcpu_pause/vcpu_resume): `pause_lock` guards the three flags below. */
    pthread_mutex_t pause_lock;
    pthread_cond_t pause_cond;
    bool pause_requested;
    bool parked;      /* the thread waits in vcpu_park: its state may be read and written */
    bool thread_done; /* the thread has left its loop: nobody will park */
    /* Called once, from the vCPU thread, when this vCPU ends the VM. */
    void (*stop)(void *opaque, struct vcpu *v, enum vcpu_end why, const char *reason);
    void *stop_opaque;
};

/* Installs the signal used to kick vCPUs out of KVM_RUN; call once before vcpu_start. */
MUST_CHECK int vcpu_signals_init(void);

MUST_CHECK int vcpu_create(struct vcpu *v, struct kvm_vm *vm, unsigned int index);
void vcpu_destroy(struct vcpu *v); /* accepts a half-built vCPU; thread must be joined */
MUST_CHECK int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid);
/* Sane power-on FPU/MXCSR and LAPIC LINT0=ExtINT, LINT1=NMI (what firmware would leave). */
MUST_CHECK int vcpu_init_platform_state(struct vcpu *v);
MUST_CHECK int vcpu_start(struct vcpu *v);
void vcpu_request_stop(struct vcpu *v);
void vcpu_join(struct vcpu *v);
/*
 * Pausing: vcpu_pause() takes the vCPU out of KVM_RUN (kick signal + immediate_exit), lets
 * KVM complete a pending MMIO/PIO read, and returns once the thread is parked (or has ended:
 * then -ESRCH). While parked, its KVM state may be read and written from any thread
 * (vcpu_state.h). vcpu_resume() lets it run again. Neither may be called from the vCPU
 * thread itself. A vCPU that was never started counts as parked.
 */
MUST_CHECK int vcpu_pause(struct vcpu *v);
void vcpu_resume(struct vcpu *v);
/* Logs RIP, code bytes and key registers of a vCPU whose thread has been joined. */
void vcpu_dump_state(struct vcpu *v);

#endif
