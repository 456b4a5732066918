/*
 * Pausing the whole VM: a nest counter over vcpu_pause/vcpu_resume, so that a user pause
 * during a migration (or the reverse) leaves the vCPUs parked until both let go.
 */
#include "vmstate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrate.h"
#include "migrate_dev.h"
#include "vm.h"

uint64_t vmstate_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int vmstate_create(struct vm *vm)
{
    struct vmstate *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->lock, NULL);
    s->created_ns = vmstate_now_ns();
    vm->state = s;
    return 0;
}

void vmstate_destroy(struct vm *vm)
{
    struct vmstate *s = vm->state;

    if (!s)
        return;
    migrate_destroy(s->migrate);
    mdev_destroy(vm);
    pthread_mutex_destroy(&s->lock);
    free(s);
    vm->state = NULL;
}

static int vmstate_pause_locked(struct vm *vm)
{
    struct vmstate *s = vm->state;

    if (s->pause_depth++ > 0)
        return 0;
    for (unsigned int i = 0; i < vm->vcpus_created; i++) {
        int ret = vcpu_pause(&vm->vcpus[i]);
        if (ret < 0) {
            /* A vCPU that ended is ending the VM: the others stay parked until the stop. */
            log_debug("vCPU %u did not pause: %s", i, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static void vmstate_resume_locked(struct vm *vm)
{
    struct vmstate *s = vm->state;

    if (s->pause_depth == 0 || --s->pause_depth > 0)
        return;
    for (unsigned int i = 0; i < vm->vcpus_created; i++)
        vcpu_resume(&vm->vcpus[i]);
}

int vmstate_pause(struct vm *vm)
{
    pthread_mutex_lock(&vm->state->lock);
    int ret = vmstate_pause_locked(vm);
    if (ret < 0)
        vmstate_resume_locked(vm);
    pthread_mutex_unlock(&vm->state->lock);
    return ret;
}

void vmstate_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->state->lock);
    vmstate_resume_locked(vm);
    pthread_mutex_unlock(&vm->state->lock);
}

bool vmstate_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->state->lock);
    bool paused = vm->state->pause_depth > 0;
    pthread_mutex_unlock(&vm->state->lock);
    return paused;
}

int vmstate_user_pause(struct vm *vm)
{
    int ret = 0;

    pthread_mutex_lock(&vm->state->lock);
    if (!vm->state->user_paused) {
        ret = vmstate_pause_locked(vm);
        if (ret < 0)
            vmstate_resume_locked(vm);
        else
            vm->state->user_paused = true;
    }
    pthread_mutex_unlock(&vm->state->lock);
    return ret;
}

void vmstate_user_resume(struct vm *vm)
{
    pthread_mutex_lock(&vm->state->lock);
    if (vm->state->user_paused) {
        vm->state->user_paused = false;
        vmstate_resume_locked(vm);
    }
    pthread_mutex_unlock(&vm->state->lock);
}

bool vmstate_user_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->state->lock);
    bool paused = vm->state->user_paused;
    pthread_mutex_unlock(&vm->state->lock);
    return paused;
}
