/*
 * The minivmm machine: owns every part of a VM and the order in which they are
 * built and torn down (vm.c states the phases in one place). main() creates a
 * vm, runs it until the guest or a failure ends it, and destroys it.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "evloop.h"
#include "gmem.h"
#include "kvm_vm.h"
#include "options.h"
#include "pio_sink.h"
#include "vcpu.h"

#define VM_MAX_CPUS 64

/* Exit statuses of the minivmm process. */
enum vm_status {
    VM_EXIT_OK = 0,      /* guest powered off or rebooted */
    VM_EXIT_ERROR = 1,   /* VMM-side failure (message on stderr) */
    VM_EXIT_TIMEOUT = 3, /* --timeout expired */
};

struct boot_image;
struct serial;
struct i8042;
struct cmos;
struct testdev;
struct vm_devices;
struct vmstate;
struct control;

struct vm {
    const struct options *opts;
    struct gmem gmem;
    struct kvm_vm kvm;
    struct bus pio;
    struct bus mmio;
    struct evloop loop;
    unsigned int ncpus;
    struct vcpu vcpus[VM_MAX_CPUS];
    unsigned int vcpus_created;
    struct kvm_cpuid2 *cpuid;
    struct boot_image *image; /* the kernel being read, then loaded (NULL: --incoming) */
    pthread_t prepare;        /* phase 2's thread: reads the image, asks KVM for its CPUID */
    bool prepare_started;
    int prepare_result;

    struct irq_line serial_irq;
    struct pio_sink post; /* port 0x80 */
    struct serial *serial;
    struct i8042 *i8042;
    struct cmos *cmos;
    struct testdev *testdev;
    struct vm_devices *devices; /* virtio devices (vm_devices.c) */

    int serial_out_fd;  /* -1 when --serial none */
    bool serial_out_owned;
    struct ev_handler console_in;      /* stdin */
    struct ev_handler console_drained; /* eventfd: the UART has room again */
    bool console_in_added;
    bool console_eof;
    bool console_escape; /* Ctrl-A seen on an interactive console */
    bool interactive;
    bool stdin_open;
    struct ev_handler watchdog;
    struct vmstate *state;    /* pause, snapshot, migration (vmstate.c, migrate.c) */
    struct control *control;  /* --api-socket (control.c); NULL without one */

    int ended; /* first vm_end() wins */
    int exit_status;
    char exit_reason[256];
};

/* stdin_open: fd 0 was open when minivmm started (main checks before opening anything). */
MUST_CHECK int vm_create(struct vm *vm, const struct options *opts, bool stdin_open);
/* Runs until the guest or an error ends the VM; returns the process exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm); /* accepts a half-built vm */
/* Ends the VM from any thread: the first caller's status and reason stick. */
void vm_end(struct vm *vm, int status, const char *reason);
/* Reads one signal from signalfd sigfd and ends the VM for it ("stopped by signal NAME"). */
void vm_end_on_signalfd(struct vm *vm, int sigfd);

#endif
