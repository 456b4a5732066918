/*
 * The machine: builds a VM in named phases (memory, preparation on a second thread, KVM,
 * platform devices, virtio devices, vCPUs, image and boot CPU, event loop), runs it, and
 * tears it down in reverse. The only place that knows the start-up and teardown order.
 */
#include "vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "boot.h"
#include "cmdline.h"
#include "cmos.h"
#include "console.h"
#include "control.h"
#include "cpuid.h"
#include "dtb.h"
#include "i8042.h"
#include "layout.h"
#include "migrate.h"
#include "pio_sink.h"
#include "serial.h"
#include "terminal.h"
#include "testdev.h"
#include "vm_devices.h"
#include "vmstate.h"

void vm_end(struct vm *vm, int status, const char *reason)
{
    int expected = 0;

    if (!__atomic_compare_exchange_n(&vm->ended, &expected, 1, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    vm->exit_status = status;
    snprintf(vm->exit_reason, sizeof(vm->exit_reason), "%s", reason);
    evloop_stop(&vm->loop);
}

void vm_end_on_signalfd(struct vm *vm, int sigfd)
{
    struct signalfd_siginfo si;
    char reason[64];

    if (read(sigfd, &si, sizeof(si)) != sizeof(si))
        return;
    snprintf(reason, sizeof(reason), "stopped by signal %s", strsignal((int)si.ssi_signo));
    vm_end(vm, VM_EXIT_ERROR, reason);
}

static void vm_on_vcpu_stop(void *opaque, struct vcpu *v, enum vcpu_end why, const char *reason)
{
    (void)v;
    vm_end(opaque, why == VCPU_END_ERROR ? VM_EXIT_ERROR : VM_EXIT_OK, reason);
}

static void vm_on_reset(void *opaque)
{
    vm_end(opaque, VM_EXIT_OK, "guest requested reset");
}

static void vm_on_load_error(void *opaque, const char *reason)
{
    vm_end(opaque, VM_EXIT_ERROR, reason);
}

static void vm_on_test_finish(void *opaque, int status)
{
    char reason[64];

    snprintf(reason, sizeof(reason), "test finished with status %d", status);
    vm_end(opaque, status, reason);
}

/* Phase 1: guest RAM. */
static int vm_setup_memory(struct vm *vm)
{
    int ret = gmem_create(&vm->gmem, vm->opts->memory, vm->opts->hugepages);

    if (ret < 0)
        log_err("cannot create %llu MiB of guest RAM%s: %s",
                (unsigned long long)(vm->opts->memory >> 20),
                vm->opts->hugepages ? " (hugepages)" : "", strerror(-ret));
    return ret;
}

/* The device tree describing the machine (used by PVH images and --dump-dtb). */
static int vm_build_dtb(struct vm *vm, const char *bootargs, void *buf, size_t size)
{
    struct dtb_range mem[GMEM_MAX_REGIONS];
    struct dtb_virtio virtio[LAYOUT_VIRTIO_MMIO_MAX];
    struct cmdline_dev devs[LAYOUT_VIRTIO_MMIO_MAX];
    unsigned int ndevs = vm_devices_windows(vm, devs, LAYOUT_VIRTIO_MMIO_MAX);
    struct dtb_machine m = {
        .mem = mem,
        .nmem = vm->gmem.nregions,
        .virtio = virtio,
        .nvirtio = ndevs,
        .testdev = {LAYOUT_TESTDEV_BASE, LAYOUT_TESTDEV_SIZE},
        .ncpus = vm->ncpus,
        .bootargs = bootargs,
    };

    for (unsigned int i = 0; i < vm->gmem.nregions; i++)
        mem[i] = (struct dtb_range){vm->gmem.regions[i].gpa, vm->gmem.regions[i].size};
    for (unsigned int i = 0; i < ndevs; i++)
        virtio[i] = (struct dtb_virtio){devs[i].base, devs[i].size, devs[i].gsi};
    return dtb_build(&m, buf, size);
}

static int vm_dump_dtb(const char *path, const void *blob, size_t len)
{
    FILE *f = fopen(path, "wbe");

    if (!f || fwrite(blob, 1, len, f) != len) {
        int ret = -errno;
        log_err("--dump-dtb %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return ret ? ret : -EIO;
    }
    if (fclose(f) != 0) {
        log_err("--dump-dtb %s: %s", path, strerror(errno));
        return -errno;
    }
    return 0;
}

/*
 * The user's --cmdline, preceded on PVM (baseline CPU model) by the arguments
 * that make Linux avoid the features PVM shows despite the CPUID filter
 * (cpuid.h). The project firmware ignores words it does not know.
 */
static int vm_user_cmdline(const struct vm *vm, char *buf, size_t size)
{
    const char *user = vm->opts->cmdline ? vm->opts->cmdline : "";
    char cpu_args[192] = "";
    int n;

    if (vm->opts->cpu_model != OPTIONS_CPU_HOST && kvm_host_is_pvm() &&
        cpuid_pvm_linux_args(cpu_args, sizeof(cpu_args)) < 0) {
        log_err("cannot format the PVM CPU arguments");
        return -E2BIG;
    }
    n = snprintf(buf, size, "%s%s%s", cpu_args, cpu_args[0] && user[0] ? " " : "", user);
    if (n < 0 || (size_t)n >= size) {
        log_err("kernel command line too long: more than %zu bytes", size - 1);
        return -E2BIG;
    }
    return 0;
}

/* --boot-entry pvh32/pvh64 name a PVH ELF's entries, linux64 a bzImage's. */
static int vm_check_boot_entry(struct vm *vm, const struct boot_entry *entry)
{
    enum options_boot_entry want = vm->opts->boot_entry;

    if (want == OPTIONS_BOOT_ENTRY_LINUX64 && entry->kind != BOOT_KIND_BZIMAGE) {
        log_err("--boot-entry linux64: %s is not a bzImage (use auto)", vm->opts->kernel);
        return -EINVAL;
    }
    if ((want == OPTIONS_BOOT_ENTRY_PVH32 || want == OPTIONS_BOOT_ENTRY_PVH64) &&
        entry->kind != BOOT_KIND_PVH) {
        log_err("--boot-entry %s: %s is a bzImage, which has no PVH entry (use auto)",
                want == OPTIONS_BOOT_ENTRY_PVH64 ? "pvh64" : "pvh32", vm->opts->kernel);
        return -EINVAL;
    }
    if (entry->unpacked)
        log_debug("%s: vmlinux unpacked on the host, entered at startup_64", vm->opts->kernel);
    return 0;
}

/*
 * Phase 2's thread: the work that needs no VM, on the second core while phases 3 to 5
 * build one. Reading the kernel (for an lz4 bzImage: decoding its headers) and
 * KVM_GET_SUPPORTED_CPUID (~0.4 ms on PVM) are most of exec -> first KVM_RUN otherwise.
 */
static void *vm_prepare_main(void *arg)
{
    struct vm *vm = arg;
    int ret = 0;

    pthread_setname_np(pthread_self(), "prepare");
    if (vm->image)
        ret = boot_image_read(vm->image);
    if (ret == 0 && vm->kvm.kvm_fd >= 0)
        ret = kvm_vm_supported_cpuid(&vm->kvm, &vm->cpuid);
    vm->prepare_result = ret;
    return NULL;
}

/* Waits for phase 2's thread (idempotent): its errors are logged already. */
static int vm_prepared(struct vm *vm)
{
    if (vm->prepare_started)
        pthread_join(vm->prepare, NULL);
    vm->prepare_started = false;
    return vm->prepare_result;
}

/*
 * Phase 2: /dev/kvm opened, the image and the CPUID prepared on another thread. Without
 * /dev/kvm the image is still read, so a bad kernel or initrd says so there too.
 */
static int vm_prepare(struct vm *vm)
{
    int kvm = kvm_vm_open(&vm->kvm), ret = 0;

    if (!vm->opts->incoming)
        ret = boot_image_open(vm->opts->kernel, vm->opts->initrd,
                              vm->opts->boot_entry == OPTIONS_BOOT_ENTRY_LINUX64, &vm->image);
    if (ret < 0)
        return ret;
    ret = pthread_create(&vm->prepare, NULL, vm_prepare_main, vm);
    if (ret) {
        log_err("cannot start the preparation thread: %s", strerror(ret));
        return -ret;
    }
    vm->prepare_started = true;
    if (kvm < 0) {
        ret = vm_prepared(vm);
        return ret < 0 ? ret : kvm;
    }
    return 0;
}

static enum kload_mode vm_kernel_load_mode(const struct vm *vm)
{
    switch (vm->opts->kernel_load) {
    case OPTIONS_KERNEL_LOAD_COPY:
        return KLOAD_COPY;
    case OPTIONS_KERNEL_LOAD_STREAM:
        return KLOAD_STREAM;
    case OPTIONS_KERNEL_LOAD_AUTO:
        break;
    }
    return KLOAD_AUTO;
}

/* Phase 7: kernel, initrd, command line, device tree, boot tables. */
static int vm_load_image(struct vm *vm, struct boot_entry *entry)
{
    struct cmdline_dev devs[LAYOUT_VIRTIO_MMIO_MAX];
    unsigned int ndevs = vm_devices_windows(vm, devs, LAYOUT_VIRTIO_MMIO_MAX);
    char *cmdline = malloc(LAYOUT_CMDLINE_MAX);
    char *user = malloc(LAYOUT_CMDLINE_MAX);
    void *dtb = malloc(LAYOUT_DTB_MAX);
    int dtb_len, ret = -ENOMEM;

    if (!dtb || !cmdline || !user)
        goto out;
    ret = vm_user_cmdline(vm, user, LAYOUT_CMDLINE_MAX);
    if (ret == 0)
        ret = cmdline_build(cmdline, LAYOUT_CMDLINE_MAX, vm->opts->serial != OPTIONS_SERIAL_NONE,
                            devs, ndevs, user);
    if (ret < 0)
        goto out;
    dtb_len = vm_build_dtb(vm, cmdline, dtb, LAYOUT_DTB_MAX);
    if (dtb_len < 0) {
        ret = dtb_len;
        log_err("cannot build the device tree: %s", strerror(-ret));
        goto out;
    }
    if (vm->opts->dump_dtb) {
        ret = vm_dump_dtb(vm->opts->dump_dtb, dtb, (size_t)dtb_len);
        if (ret < 0)
            goto out;
    }
    struct boot_config cfg = {
        .kernel_path = vm->opts->kernel,
        .initrd_path = vm->opts->initrd,
        .cmdline = cmdline,
        .ncpus = vm->ncpus,
        .dtb = dtb,
        .dtb_size = (size_t)dtb_len,
        .pvh_entry64 = vm->opts->boot_entry == OPTIONS_BOOT_ENTRY_PVH64,
        .load_mode = vm_kernel_load_mode(vm),
        .on_load_error = vm_on_load_error,
        .opaque = vm,
    };
    ret = boot_load(&cfg, vm->image, &vm->gmem, entry);
    ret = ret < 0 ? ret : vm_check_boot_entry(vm, entry);
out:
    free(user);
    free(cmdline);
    free(dtb);
    return ret;
}

/* Phase 3: the KVM VM with its irqchip, PIT and memory slots (/dev/kvm is open). */
static int vm_setup_kvm(struct vm *vm)
{
    return kvm_vm_create(&vm->kvm, &vm->gmem);
}

/* Phase 4: UART, i8042, CMOS clock, POST port, test-result device. */
static int vm_setup_platform(struct vm *vm)
{
    int ret;

    vm->serial_irq = (struct irq_line){.chip = &vm->kvm.irq_chip, .gsi = LAYOUT_IRQ_SERIAL};
    struct serial_config sc = {
        .irq = &vm->serial_irq,
        .out_fd = vm->serial_out_fd,
        .on_rx_drained = console_rx_drained,
        .opaque = vm,
    };
    struct i8042_config kc = {.on_reset = vm_on_reset, .opaque = vm};

    vm->serial = serial_create(&sc);
    vm->i8042 = i8042_create(&kc);
    vm->cmos = cmos_create(NULL);
    vm->testdev = testdev_create(STDOUT_FILENO, vm_on_test_finish, vm);
    if (!vm->serial || !vm->i8042 || !vm->cmos || !vm->testdev)
        return -ENOMEM;
    ret = serial_attach(vm->serial, &vm->pio, LAYOUT_PORT_COM1);
    if (ret == 0)
        ret = i8042_attach(vm->i8042, &vm->pio);
    if (ret == 0)
        ret = cmos_attach(vm->cmos, &vm->pio);
    if (ret == 0)
        ret = pio_sink_attach(&vm->post, &vm->pio, "post", PIO_SINK_POST_PORT, 1);
    if (ret == 0)
        ret = testdev_attach(vm->testdev, &vm->mmio, LAYOUT_TESTDEV_BASE);
    if (ret < 0)
        log_err("cannot place the platform devices: %s", strerror(-ret));
    return ret;
}

static int vm_setup_bsp(struct vm *vm, const struct boot_entry *entry)
{
    struct vcpu *bsp = &vm->vcpus[0];
    struct kvm_regs regs;
    struct kvm_sregs sregs;

    if (ioctl(bsp->fd, KVM_GET_SREGS, &sregs) < 0)
        goto fail;
    memset(&regs, 0, sizeof(regs));
    boot_entry_apply(entry, &regs, &sregs);
    if (ioctl(bsp->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(bsp->fd, KVM_SET_REGS, &regs) < 0)
        goto fail;
    return 0;
fail:
    log_err("cannot set the boot CPU's registers: %s", strerror(errno));
    return -errno;
}

static int vm_create_vcpus(struct vm *vm)
{
    for (unsigned int i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        int ret = vcpu_create(v, &vm->kvm, i);

        if (ret < 0)
            return ret;
        vm->vcpus_created = i + 1;
        v->pio = &vm->pio;
        v->mmio = &vm->mmio;
        v->gm = &vm->gmem;
        v->stop = vm_on_vcpu_stop;
        v->stop_opaque = vm;
    }
    return 0;
}

/* Phase 6: vCPUs, then (once phase 2's thread has it) their CPUID and platform state. */
static int vm_setup_vcpus(struct vm *vm)
{
    struct cpuid_vcpu model = {
        .model = vm->opts->cpu_model == OPTIONS_CPU_HOST ? CPUID_MODEL_HOST : CPUID_MODEL_BASELINE,
        .ncpus = vm->ncpus,
        .tsc_deadline = ioctl(vm->kvm.kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0,
    };
    size_t cpuid_size;
    int ret;

    if (vm->opts->cpu_model == OPTIONS_CPU_AUTO) {
        model.model = vm->kvm.is_pvm ? CPUID_MODEL_BASELINE : CPUID_MODEL_HOST;
        if (vm->kvm.is_pvm)
            log_info("host KVM is PVM: using the baseline CPU model");
    }
    ret = vm_create_vcpus(vm);
    if (ret == 0)
        ret = vm_prepared(vm);
    if (ret < 0)
        return ret;
    cpuid_size = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
    uint32_t capacity = vm->cpuid->nent + CPUID_FILTER_EXTRA;
    struct kvm_cpuid2 *mine = malloc(sizeof(*mine) + capacity * sizeof(mine->entries[0]));
    if (!mine)
        return -ENOMEM;
    for (unsigned int i = 0; i < vm->ncpus && ret == 0; i++) {
        memcpy(mine, vm->cpuid, cpuid_size);
        model.index = i;
        ret = cpuid_filter(mine, capacity, &model);
        if (ret == 0)
            ret = vcpu_set_cpuid(&vm->vcpus[i], mine);
        if (ret == 0)
            ret = vcpu_init_platform_state(&vm->vcpus[i]);
    }
    free(mine);
    return ret;
}

/* Phases 7 and 8: the image in guest RAM, the boot CPU at its entry (an incoming VM brings
 * both). Last before the vCPUs start: the image was read meanwhile on another core. */
static int vm_setup_boot(struct vm *vm)
{
    struct boot_entry entry;
    int ret;

    if (vm->opts->incoming)
        return 0;
    ret = vm_load_image(vm, &entry);
    return ret < 0 ? ret : vm_setup_bsp(vm, &entry);
}

static void vm_on_watchdog(struct ev_handler *h, uint32_t events)
{
    struct vm *vm = container_of(h, struct vm, watchdog);
    char reason[96];

    (void)events;
    snprintf(reason, sizeof(reason), "--timeout: the VM ran longer than %u s", vm->opts->timeout);
    vm_end(vm, VM_EXIT_TIMEOUT, reason);
}

/* Phase 9: the event loop: console input, watchdog, device sockets. */
static int vm_setup_loop(struct vm *vm)
{
    int ret = console_start_input(vm);

    if (ret < 0 || vm->opts->timeout == 0)
        return ret;
    struct itimerspec its = {.it_value = {.tv_sec = vm->opts->timeout}};
    vm->watchdog.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    vm->watchdog.cb = vm_on_watchdog;
    if (vm->watchdog.fd < 0 || timerfd_settime(vm->watchdog.fd, 0, &its, NULL) < 0)
        return -errno;
    return evloop_add(&vm->loop, &vm->watchdog, EPOLLIN);
}

/* Phase 10: pause/migration state and the control socket (--api-socket). */
static int vm_setup_control(struct vm *vm)
{
    int ret = vmstate_create(vm);

    if (ret < 0 || !vm->opts->api_socket)
        return ret;
    vm->control = control_create(vm, vm->opts->api_socket);
    return vm->control ? 0 : -EINVAL;
}

/* Phase 11 (--incoming URI only, instead of phases 2, 7 and 8): the VM arrives from a
 * source or a snapshot file, before the vCPUs start. */
static int vm_setup_incoming(struct vm *vm)
{
    return vm->opts->incoming ? migrate_incoming(vm) : 0;
}

int vm_create(struct vm *vm, const struct options *opts, bool stdin_open)
{
    int ret;

    memset(vm, 0, sizeof(*vm));
    vm->opts = opts;
    vm->stdin_open = stdin_open;
    vm->ncpus = opts->cpus;
    vm->gmem.fd = -1;
    vm->kvm.kvm_fd = vm->kvm.vm_fd = -1;
    vm->loop.epfd = vm->loop.wake_fd = -1;
    vm->watchdog.fd = -1;
    vm->console_drained.fd = -1;
    bus_init(&vm->pio, "pio");
    bus_init(&vm->mmio, "mmio");

    if ((ret = evloop_init(&vm->loop)) < 0)
        return ret;
    if ((ret = vm_devices_parse(vm)) < 0)
        return ret;
    if ((ret = vm_setup_memory(vm)) < 0)
        return ret;
    if ((ret = vm_prepare(vm)) < 0)
        return ret;
    if ((ret = console_open_output(vm)) < 0)
        return ret;
    if ((ret = vm_setup_kvm(vm)) < 0)
        return ret;
    if ((ret = vm_setup_platform(vm)) < 0)
        return ret;
    if ((ret = vm_devices_create(vm)) < 0)
        return ret;
    if ((ret = vm_setup_vcpus(vm)) < 0)
        return ret;
    if ((ret = vm_setup_boot(vm)) < 0)
        return ret;
    if ((ret = vm_setup_loop(vm)) < 0)
        return ret;
    if ((ret = vm_setup_control(vm)) < 0)
        return ret;
    return vm_setup_incoming(vm);
}

/* How the kernel got into guest RAM while the vCPUs ran (nothing to say for a copy). */
static void vm_report_load(struct vm *vm)
{
    struct kload_stats st;

    if (!vm->image)
        return;
    st = boot_image_stats(vm->image);
    if (st.end_ns > st.start_ns)
        log_info("kernel streamed: %.1f MiB in %.1f ms while the vCPUs ran, %llu accesses "
                 "waited for a page",
                 (double)st.bytes / (1 << 20), (double)(st.end_ns - st.start_ns) / 1e6,
                 (unsigned long long)st.faults);
}

static void vm_report_exits(struct vm *vm)
{
    struct vcpu_stats total = {0};

    for (unsigned int i = 0; i < vm->vcpus_created; i++) {
        total.exits += vm->vcpus[i].stats.exits;
        total.io += vm->vcpus[i].stats.io;
        total.mmio += vm->vcpus[i].stats.mmio;
        total.other += vm->vcpus[i].stats.other;
    }
    log_info("exits to the VMM: %llu (port I/O %llu, MMIO %llu, other %llu)",
             (unsigned long long)total.exits, (unsigned long long)total.io,
             (unsigned long long)total.mmio, (unsigned long long)total.other);
    vm_report_load(vm);
    vm_devices_report(vm);
}

int vm_run(struct vm *vm)
{
    int ret;

    for (unsigned int i = 0; i < vm->vcpus_created; i++) {
        ret = vcpu_start(&vm->vcpus[i]);
        if (ret < 0) {
            vm_end(vm, VM_EXIT_ERROR, "cannot start the vCPU threads");
            break;
        }
    }
    /* After the vCPUs: the stream must not keep them from a CPU before their first KVM_RUN. */
    if (vm->image && boot_image_go(vm->image) < 0)
        vm_end(vm, VM_EXIT_ERROR, "cannot start streaming the kernel into guest RAM");
    if (!__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE)) {
        ret = evloop_run(&vm->loop);
        if (ret < 0) {
            char reason[96];
            snprintf(reason, sizeof(reason), "event loop failed: %s", strerror(-ret));
            vm_end(vm, VM_EXIT_ERROR, reason);
        }
    }
    for (unsigned int i = 0; i < vm->vcpus_created; i++)
        vcpu_request_stop(&vm->vcpus[i]);
    boot_image_stop(vm->image); /* a vCPU may wait for a page the stream will not write now */
    for (unsigned int i = 0; i < vm->vcpus_created; i++)
        vcpu_join(&vm->vcpus[i]);
    terminal_restore();
    /* A guest that ran out of time is stuck somewhere: say where each vCPU is. */
    if (vm->exit_status == VM_EXIT_TIMEOUT)
        for (unsigned int i = 0; i < vm->vcpus_created; i++)
            vcpu_dump_state(&vm->vcpus[i]);
    if (vm->exit_status == VM_EXIT_OK)
        log_info("%s", vm->exit_reason);
    else
        log_err("%s", vm->exit_reason);
    vm_report_exits(vm);
    return vm->exit_status;
}

/* Teardown: the reverse of vm_create, each step accepting a half-built part. */
void vm_destroy(struct vm *vm)
{
    (void)vm_prepared(vm); /* a failed start may leave it running */
    control_destroy(vm->control);
    vm->control = NULL;
    vmstate_destroy(vm); /* joins a migration job before the parts it uses go */
    boot_image_close(vm->image);
    vm->image = NULL;
    for (unsigned int i = 0; i < vm->vcpus_created; i++)
        vcpu_destroy(&vm->vcpus[i]);
    vm->vcpus_created = 0;
    free(vm->cpuid);
    vm->cpuid = NULL;
    if (vm->watchdog.fd >= 0)
        close(vm->watchdog.fd);
    vm->watchdog.fd = -1;
    vm_devices_destroy(vm);
    testdev_destroy(vm->testdev);
    cmos_destroy(vm->cmos);
    i8042_destroy(vm->i8042);
    serial_destroy(vm->serial);
    vm->testdev = NULL;
    vm->cmos = NULL;
    vm->i8042 = NULL;
    vm->serial = NULL;
    kvm_vm_destroy(&vm->kvm);
    console_close(vm);
    gmem_destroy(&vm->gmem);
    evloop_destroy(&vm->loop);
}
