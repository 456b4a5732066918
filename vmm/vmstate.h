/*
 * The VM's run state beyond its parts: pausing every vCPU (nested: the user's `pause` and a
 * migration may both hold one), and the per-VM state snapshot and migration share
 * (migrate.h). vm->state is created in the loop phase and lives until vm_destroy.
 */
#ifndef MINIVMM_VMSTATE_H
#define MINIVMM_VMSTATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "log.h"

struct vm;
struct migrate;
struct vumig;

struct vmstate {
    pthread_mutex_t lock; /* pause_depth, user_paused */
    unsigned int pause_depth;
    bool user_paused;        /* the control socket's pause holds one level */
    uint64_t created_ns;     /* CLOCK_MONOTONIC when the VM was built */
    struct migrate *migrate; /* the running or last migration/snapshot job (migrate.c) */
    struct vumig **vumig;    /* per virtio device, built on first use (migrate_dev.c) */
    unsigned int nvumig;
    unsigned int devices_loaded; /* --incoming: DEVICE sections applied */
};

MUST_CHECK int vmstate_create(struct vm *vm);
void vmstate_destroy(struct vm *vm); /* accepts a VM without state */

/* Pauses every vCPU (each call needs one vmstate_resume). Any thread but a vCPU's. */
MUST_CHECK int vmstate_pause(struct vm *vm);
void vmstate_resume(struct vm *vm);
bool vmstate_paused(struct vm *vm);
/* The control socket's pause/resume: idempotent, one level of the nest. */
MUST_CHECK int vmstate_user_pause(struct vm *vm);
void vmstate_user_resume(struct vm *vm);
bool vmstate_user_paused(struct vm *vm);

uint64_t vmstate_now_ns(void); /* CLOCK_MONOTONIC */

#endif
