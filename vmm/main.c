/*
 * minivmm: parse the command line, build the VM, run it, tear it down, and
 * turn the outcome into the process exit status (the only place that exits).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"
#include "options.h"
#include "vcpu.h"
#include "vm.h"

#define FIRMWARE_NAME "minivmm-fw.elf"

/* SIGINT/SIGTERM/SIGHUP end the VM through the event loop, never mid-ioctl. */
struct main_signals {
    struct ev_handler h;
    struct vm *vm;
};

static void main_on_signal(struct ev_handler *h, uint32_t events)
{
    struct main_signals *s = container_of(h, struct main_signals, h);

    (void)events;
    vm_end_on_signalfd(s->vm, h->fd);
}

static int main_block_signals(sigset_t *handled)
{
    sigset_t all;

    sigemptyset(handled);
    sigaddset(handled, SIGINT);
    sigaddset(handled, SIGTERM);
    sigaddset(handled, SIGHUP);
    all = *handled;
    sigaddset(&all, SIGUSR1); /* only vCPU threads take the kick signal */
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error, not a death */
    return -pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* The firmware ELF sits next to minivmm when installed, in ../firmware in a build tree. */
static int main_print_firmware_path(void)
{
    static const char *const candidates[] = {"/", "/../firmware/"};
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n < 0) {
        log_err("cannot find minivmm's own path: %s", strerror(errno));
        return 1;
    }
    exe[n] = '\0';
    const char *dir = dirname(exe);
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        char resolved[PATH_MAX];
        snprintf(path, sizeof(path), "%s%s%s", dir, candidates[i], FIRMWARE_NAME);
        if (realpath(path, resolved) && access(resolved, R_OK) == 0) {
            printf("%s\n", resolved);
            return 0;
        }
    }
    log_err("the test firmware %s is not installed next to %s", FIRMWARE_NAME, dir);
    return 1;
}

/*
 * MINIVMM_CHECK_FDS=1: after teardown every fd but 0-2 must be closed. Tests use
 * it to prove a clean shutdown leaks nothing.
 */
static int main_check_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int leaks = 0;

    if (!d)
        return 0;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        char target[PATH_MAX], link[64];
        ssize_t n;

        if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
            continue;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        log_err("fd check: fd %d left open (%s)", fd, target);
        leaks++;
    }
    closedir(d);
    if (!leaks)
        log_info("fd check: clean");
    return leaks;
}

int main(int argc, char **argv)
{
    static struct vm vm;
    struct options opts;
    struct main_signals sig = {.h.fd = -1, .vm = &vm};
    sigset_t handled;
    char err[256];
    int ret, status;

    /* Decided before minivmm opens anything: later, fd 0 may be one of our own fds. */
    bool stdin_open = fcntl(STDIN_FILENO, F_GETFD) >= 0;

    /*
     * One malloc arena: the VMM's threads allocate little, and a thread's first malloc
     * otherwise maps (and trims) a 64 MiB arena while the main thread sets up KVM.
     */
    mallopt(M_ARENA_MAX, 1);

    ret = options_parse(argc, argv, &opts, err, sizeof(err));
    if (ret == OPTIONS_HELP) {
        options_usage(stdout);
        return 0;
    }
    if (ret == OPTIONS_VERSION) {
        printf("minivmm %s\n", MINIVMM_VERSION);
        return 0;
    }
    if (ret < 0) {
        fprintf(stderr, "minivmm: %s\n", err);
        return 2;
    }
    log_set_level(opts.log_level);
    if (opts.print_firmware_path) {
        status = main_print_firmware_path();
        options_free(&opts);
        return status;
    }
    if (main_block_signals(&handled) < 0 || vcpu_signals_init() < 0) {
        log_err("cannot set up signal handling: %s", strerror(errno));
        return 1;
    }

    ret = vm_create(&vm, &opts, stdin_open);
    if (ret == 0) {
        sig.h.fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
        sig.h.cb = main_on_signal;
        if (sig.h.fd < 0 || evloop_add(&vm.loop, &sig.h, EPOLLIN) < 0) {
            ret = -errno;
            log_err("cannot watch for signals: %s", strerror(errno));
        }
    }
    status = ret == 0 ? vm_run(&vm) : VM_EXIT_ERROR;
    vm_destroy(&vm);
    if (sig.h.fd >= 0)
        close(sig.h.fd);
    options_free(&opts);
    if (getenv("MINIVMM_CHECK_FDS") && main_check_fds() && status == 0)
        status = 1;
    return status;
}
