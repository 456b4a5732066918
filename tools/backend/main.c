/*
 * minivmm-backend: the smallest useful vhost-user back-end, for minivmm's tests and for
 * people learning how a back-end works. It serves an "echo" device: each request's readable
 * bytes are copied into its writable buffers (be_echo.h), which is what the firmware's
 * test=pingpong needs to time a kick -> call round trip.
 *
 * A tour, in the order things happen:
 *  1. main.c (this file): listen on (or connect to) a UNIX socket, one front-end session at
 *     a time; be_session.c: a poll() loop over the socket and each running ring's kick
 *     eventfd.
 *  2. be_msg.c: a request is a 12-byte header, up to 8 fds (SCM_RIGHTS, with the header) and
 *     a payload; replies have the REPLY flag. vu_wire.h (plain data) gives the layouts.
 *  3. be_dev.c: a table says, per request, its payload size, its fds, which protocol feature
 *     it needs and whether it has its own reply; then one handler per request. A typical
 *     session from minivmm: GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM,
 *     SET_OWNER, GET_CONFIG, then at the guest's DRIVER_OK: SET_FEATURES, SET_MEM_TABLE and
 *     per ring SET_VRING_NUM/BASE/ADDR/KICK/CALL and SET_VRING_ENABLE (be_dev_vring.c);
 *     at a guest reset GET_VRING_BASE stops each ring.
 *  4. be_mem.c: SET_MEM_TABLE hands over guest RAM as fds; we map them and translate
 *     guest-physical addresses (buffers) and the front-end's own addresses (rings) into our
 *     mapping, always checking the whole range lies inside one region.
 *  5. be_ring.c: the data path. A kick wakes the loop; we take each available chain,
 *     reading every guest-written index and length once and checking it (the guest is
 *     hostile: indices outside the ring, loops, buffers outside RAM); be_echo.c copies;
 *     we publish the used entry and write the call eventfd, which KVM turns into a guest
 *     interrupt. minivmm itself is never on this path.
 *  6. be_dirty.c: during migration the front-end sets LOG_ALL and shares a bitmap; every
 *     guest write we make (buffers, and used-ring entries when the ring asks) is marked.
 *
 * Run it:  minivmm-backend --socket /tmp/echo.sock &
 *          minivmm --kernel "$(minivmm --print-firmware-path)" --memory 64M \
 *              --cmdline 'test=pingpong' \
 *              --device vhost-user,socket=/tmp/echo.sock,virtio-id=63,config-size=8
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "be_dev.h"
#include "be_print.h"
#include "be_session.h"

struct be_opts {
    const char *socket;
    bool client;
    unsigned int queues;
    bool busy_poll;
    bool once;
    int connect_timeout_ms;
};

static volatile sig_atomic_t be_stop; /* SIGINT, SIGTERM */

static void be_on_signal(int sig)
{
    (void)sig;
    be_stop = 1;
}

static void be_usage(FILE *f)
{
    fprintf(f,
            "Usage: minivmm-backend --socket PATH [options]\n"
            "A minimal vhost-user back-end serving an echo device (virtio id %u).\n"
            "\n"
            "  --socket PATH          UNIX socket: listen on it (default) or connect to it\n"
            "  --client               connect to PATH (minivmm with server=on) instead\n"
            "  --connect-timeout MS   client: keep trying this long (default 10000)\n"
            "  --queues N             queues offered, 1..%u (default 1)\n"
            "  --busy-poll            poll the rings without sleeping (one core busy; the\n"
            "                         guest is told it need not kick)\n"
            "  --once                 exit when the first session ends (status 0 only if\n"
            "                         the front-end hung up without a protocol error)\n"
            "  -v, --verbose          log every request\n"
            "  -q, --quiet            log errors only\n"
            "  -h, --help\n"
            "\n"
            "minivmm: --device vhost-user,socket=PATH,virtio-id=%u,config-size=8\n",
            BE_ECHO_VIRTIO_ID, BE_MAX_QUEUES, BE_ECHO_VIRTIO_ID);
}

static int be_parse(int argc, char **argv, struct be_opts *o)
{
    static const struct option longopts[] = {
        {"socket", required_argument, NULL, 's'},
        {"client", no_argument, NULL, 'c'},
        {"connect-timeout", required_argument, NULL, 't'},
        {"queues", required_argument, NULL, 'n'},
        {"busy-poll", no_argument, NULL, 'p'},
        {"once", no_argument, NULL, '1'},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    long v;
    int c;

    *o = (struct be_opts){.queues = 1, .connect_timeout_ms = 10000};
    while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->socket = optarg;
            break;
        case 'c':
            o->client = true;
            break;
        case 't':
        case 'n':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || v < (c == 'n' ? 1 : 0) ||
                v > (c == 'n' ? BE_MAX_QUEUES : 3600000)) {
                be_err("--%s '%s': out of range", c == 'n' ? "queues" : "connect-timeout", optarg);
                return -EINVAL;
            }
            if (c == 'n')
                o->queues = (unsigned int)v;
            else
                o->connect_timeout_ms = (int)v;
            break;
        case 'p':
            o->busy_poll = true;
            break;
        case '1':
            o->once = true;
            break;
        case 'v':
            be_print_set(BE_VERBOSE);
            break;
        case 'q':
            be_print_set(BE_QUIET);
            break;
        case 'h':
            be_usage(stdout);
            exit(0);
        default:
            return -EINVAL;
        }
    }
    if (optind < argc || !o->socket) {
        be_err("%s (see --help)",
               optind < argc ? "unexpected argument" : "--socket PATH is required");
        return -EINVAL;
    }
    return 0;
}

static int be_address(const char *path, struct sockaddr_un *a)
{
    *a = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a->sun_path)) {
        be_err("socket path longer than %zu bytes: %s", sizeof(a->sun_path) - 1, path);
        return -ENAMETOOLONG;
    }
    strcpy(a->sun_path, path);
    return 0;
}

static int be_listen(const char *path)
{
    struct sockaddr_un a;
    struct stat st;
    int fd;

    if (be_address(path, &a) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A socket left by an earlier run would make bind fail; never remove anything else. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
        be_err("cannot listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Client mode: the front-end may not be listening yet; retry until the timeout. */
static int be_connect(const char *path, int timeout_ms)
{
    struct sockaddr_un a;
    struct timespec pause = {.tv_nsec = 50 * 1000 * 1000};

    if (be_address(path, &a) < 0)
        return -1;
    for (int waited = 0;; waited += 50) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        int err = errno;
        close(fd);
        if (waited >= timeout_ms || be_stop || (err != ENOENT && err != ECONNREFUSED)) {
            be_err("cannot connect to %s: %s", path, strerror(err));
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa = {.sa_handler = be_on_signal}; /* no SA_RESTART: poll wakes up */
    struct be_opts o;
    int lfd = -1, ret = 0;

    if (be_parse(argc, argv, &o) < 0)
        return 2;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (o.client) {
        int sock = be_connect(o.socket, o.connect_timeout_ms);

        if (sock < 0)
            return 1;
        be_info("connected to %s", o.socket);
        return be_session_run(sock, o.queues, o.busy_poll, &be_stop) < 0 ? 1 : 0;
    }
    lfd = be_listen(o.socket);
    if (lfd < 0)
        return 1;
    be_info("listening on %s (echo device: --device vhost-user,socket=%s,virtio-id=%u,"
            "config-size=8)",
            o.socket, o.socket, BE_ECHO_VIRTIO_ID);
    while (!be_stop) {
        int sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (sock < 0 && errno == EINTR)
            continue;
        if (sock < 0) {
            ret = -errno;
            be_err("accept: %s", strerror(-ret));
            break;
        }
        be_info("front-end connected");
        ret = be_session_run(sock, o.queues, o.busy_poll, &be_stop);
        if (o.once)
            break;
    }
    close(lfd);
    unlink(o.socket);
    return ret < 0 ? 1 : 0;
}
