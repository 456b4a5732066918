/*
 * Host side of the serial console. stdin is read only when the UART has room,
 * so typed or piped input is never dropped by an overrun; when the FIFO is
 * full we stop polling stdin until the guest drains it.
 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "serial.h"
#include "terminal.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

int console_open_output(struct vm *vm)
{
    const struct options *o = vm->opts;

    vm->serial_out_fd = -1;
    vm->serial_out_owned = false;
    switch (o->serial) {
    case OPTIONS_SERIAL_STDIO:
        vm->serial_out_fd = STDOUT_FILENO;
        return 0;
    case OPTIONS_SERIAL_FILE:
        vm->serial_out_fd = open(o->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (vm->serial_out_fd < 0) {
            int ret = -errno;
            log_err("--serial file:%s: %s", o->serial_path, strerror(-ret));
            return ret;
        }
        vm->serial_out_owned = true;
        return 0;
    case OPTIONS_SERIAL_NONE:
        return 0;
    }
    return -EINVAL;
}

/* Feeds input bytes to the UART, interpreting Ctrl-A x on an interactive console. */
static void console_feed(struct vm *vm, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (vm->interactive && vm->console_escape) {
            vm->console_escape = false;
            if (buf[i] == 'x' || buf[i] == 'X') {
                vm_end(vm, VM_EXIT_OK, "quit from the console (Ctrl-A x)");
                return;
            }
            if (buf[i] != CONSOLE_ESCAPE)
                continue; /* unknown escape: swallowed */
        } else if (vm->interactive && buf[i] == CONSOLE_ESCAPE) {
            vm->console_escape = true;
            continue;
        }
        serial_push_input(vm->serial, &buf[i], 1);
    }
}

static void console_pause(struct vm *vm)
{
    if (vm->console_in_added && evloop_del(&vm->loop, &vm->console_in) == 0)
        vm->console_in_added = false;
}

static void console_on_input(struct ev_handler *h, uint32_t events)
{
    struct vm *vm = container_of(h, struct vm, console_in);
    uint8_t buf[256];
    size_t room = serial_rx_room(vm->serial);
    ssize_t n;

    if (room == 0) {
        console_pause(vm); /* resumed by console_rx_drained */
        return;
    }
    n = read(h->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
    if (n > 0) {
        console_feed(vm, buf, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    /* EOF or error: the guest keeps running, it just gets no more input. */
    (void)events;
    vm->console_eof = true;
    console_pause(vm);
}

static void console_on_drained(struct ev_handler *h, uint32_t events)
{
    struct vm *vm = container_of(h, struct vm, console_drained);
    uint64_t v;

    (void)events;
    if (read(h->fd, &v, sizeof(v)) < 0)
        return;
    if (!vm->console_in_added && !vm->console_eof &&
        evloop_add(&vm->loop, &vm->console_in, EPOLLIN) == 0)
        vm->console_in_added = true;
}

void console_rx_drained(void *opaque)
{
    struct vm *vm = opaque;
    uint64_t one = 1;

    if (vm->console_drained.fd >= 0 && write(vm->console_drained.fd, &one, sizeof(one)) < 0)
        return; /* the counter is already non-zero: a wake-up is pending */
}

int console_start_input(struct vm *vm)
{
    int ret;

    vm->console_in.fd = STDIN_FILENO;
    vm->console_in.cb = console_on_input;
    vm->console_drained.fd = -1;
    if (vm->opts->serial != OPTIONS_SERIAL_STDIO || !vm->stdin_open)
        return 0; /* stdin closed: fd 0 may be ours (a memfd, an eventfd...), never read it */
    vm->console_drained.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (vm->console_drained.fd < 0)
        return -errno;
    vm->console_drained.cb = console_on_drained;
    ret = evloop_add(&vm->loop, &vm->console_drained, EPOLLIN);
    if (ret < 0)
        return ret;
    ret = evloop_add(&vm->loop, &vm->console_in, EPOLLIN);
    if (ret == -EPERM) {
        log_debug("stdin cannot be polled (a regular file?): no console input");
        return 0;
    }
    if (ret < 0)
        return ret;
    vm->console_in_added = true;
    vm->interactive = terminal_raw(STDIN_FILENO);
    return 0;
}

void console_close(struct vm *vm)
{
    terminal_restore();
    if (vm->console_drained.fd >= 0)
        close(vm->console_drained.fd);
    vm->console_drained.fd = -1;
    if (vm->serial_out_owned && vm->serial_out_fd >= 0)
        close(vm->serial_out_fd);
    vm->serial_out_fd = -1;
}
