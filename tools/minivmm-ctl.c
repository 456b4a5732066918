/*
 * minivmm-ctl: the control socket's client (vmm/control.h) for shells and tests.
 *   minivmm-ctl --api-socket PATH [--detach] [--downtime-ms N] [--max-rounds N] [--offline]
 *               COMMAND [ARG]
 * ARG is the URI for migrate, the path for snapshot, or a JSON object of arguments. Prints
 * the reply; migrate and snapshot wait for the job to end (unless --detach) with a progress
 * line on a terminal. Exit status: 0 only when the command (and the job) succeeded.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CTL_REPLY_MAX  (1 << 20)
#define CTL_TIMEOUT_MS 10000

struct ctl {
    int fd;
    char buf[CTL_REPLY_MAX];
    size_t len;
};

static int ctl_connect(struct ctl *c, const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "minivmm-ctl: %s: path too long\n", path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        fprintf(stderr, "minivmm-ctl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Sends one request, returns the parsed reply (NULL on failure, said on stderr). */
static json_object *ctl_call(struct ctl *c, const char *command, json_object *args)
{
    json_object *req = json_object_new_object(), *reply = NULL;
    const char *text;
    char *nl;

    json_object_object_add(req, "command", json_object_new_string(command));
    if (args)
        json_object_object_add(req, "arguments", json_object_get(args));
    text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    /* On failure, minivmm may have ended: its last line can still be waiting to be read. */
    if (send(c->fd, text, strlen(text), MSG_NOSIGNAL) < 0 || send(c->fd, "\n", 1, MSG_NOSIGNAL) < 0)
        shutdown(c->fd, SHUT_WR);
    while (!(nl = memchr(c->buf, '\n', c->len))) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, CTL_TIMEOUT_MS) <= 0) {
            fprintf(stderr, "minivmm-ctl: no reply from minivmm\n");
            goto out;
        }
        n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (n <= 0) {
            fprintf(stderr, "minivmm-ctl: minivmm closed the connection\n");
            goto out;
        }
        c->len += (size_t)n;
        if (c->len == sizeof(c->buf) - 1) {
            fprintf(stderr, "minivmm-ctl: reply too long\n");
            goto out;
        }
    }
    *nl = '\0';
    reply = json_tokener_parse(c->buf);
    c->len -= (size_t)(nl + 1 - c->buf);
    memmove(c->buf, nl + 1, c->len);
    if (!reply || !json_object_is_type(reply, json_type_object)) {
        fprintf(stderr, "minivmm-ctl: minivmm sent something that is not a JSON object\n");
        json_object_put(reply);
        reply = NULL;
    }
out:
    json_object_put(req);
    return reply;
}

static bool ctl_ok(json_object *reply)
{
    json_object *ok;

    return reply && json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok);
}

static uint64_t ctl_u64(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_int64(v) : 0;
}

static const char *ctl_str(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void ctl_progress(json_object *st)
{
    uint64_t total = ctl_u64(st, "ram_pages"), left = ctl_u64(st, "dirty_pages");
    uint64_t done = total ? (total - (left < total ? left : total)) * 30 / total : 0;
    char bar[31];

    memset(bar, '.', 30);
    memset(bar, '#', done);
    bar[30] = '\0';
    printf("\r%-9s [%s] round %llu, %llu pages left, %.1f MB/s, expected downtime %llu ms   ",
           ctl_str(st, "status"), bar, (unsigned long long)ctl_u64(st, "rounds"),
           (unsigned long long)left, (double)ctl_u64(st, "rate_bps") / 1e6,
           (unsigned long long)ctl_u64(st, "expected_downtime_ms"));
    fflush(stdout);
}

/* Polls migrate-status until the job ends; prints the final status; true on completion. */
static bool ctl_wait(struct ctl *c)
{
    bool tty = isatty(STDOUT_FILENO);

    for (;;) {
        json_object *st = ctl_call(c, "migrate-status", NULL);
        const char *status;

        if (!st)
            return false;
        /* minivmm ends after a migration: its last line says how the job ended. */
        json_object *ev;
        if (json_object_object_get_ex(st, "migration", &ev) && ev) {
            json_object_get(ev);
            json_object_put(st);
            st = ev;
        }
        status = ctl_str(st, "status");
        if (strcmp(status, "setup") && strcmp(status, "active") && strcmp(status, "stop-copy")) {
            if (tty)
                printf("\n");
            printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
            bool ok = !strcmp(status, "completed");
            if (!ok)
                fprintf(stderr, "minivmm-ctl: %s: %s\n", status, ctl_str(st, "error"));
            json_object_put(st);
            return ok;
        }
        if (tty)
            ctl_progress(st);
        json_object_put(st);
        nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    }
}

static void ctl_usage(FILE *f)
{
    fputs("Usage: minivmm-ctl --api-socket PATH [--detach] [--downtime-ms N] [--max-rounds N]\n"
          "                   [--offline] COMMAND [ARG]\n"
          "Commands: status, pause, resume, stats, quit, migrate URI, migrate-status,\n"
          "          migrate-cancel, snapshot PATH. ARG may also be a JSON object of arguments.\n",
          f);
}

int main(int argc, char **argv)
{
    static struct ctl c;
    static const struct option longopts[] = {
        {"api-socket", required_argument, NULL, 's'},
        {"detach", no_argument, NULL, 'd'},
        {"downtime-ms", required_argument, NULL, 't'},
        {"max-rounds", required_argument, NULL, 'r'},
        {"offline", no_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL, *cmd, *arg;
    bool detach = false, offline = false, ok;
    json_object *args = NULL, *reply;
    long downtime = -1, rounds = -1;
    int o;

    while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (o) {
        case 's':
            path = optarg;
            break;
        case 'd':
            detach = true;
            break;
        case 'o':
            offline = true;
            break;
        case 't':
            downtime = strtol(optarg, NULL, 10);
            break;
        case 'r':
            rounds = strtol(optarg, NULL, 10);
            break;
        case 'h':
            ctl_usage(stdout);
            return 0;
        default:
            ctl_usage(stderr);
            return 2;
        }
    }
    if (!path || optind >= argc || argc - optind > 2) {
        ctl_usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    arg = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (arg && arg[0] == '{') {
        args = json_tokener_parse(arg);
        if (!args || !json_object_is_type(args, json_type_object)) {
            fprintf(stderr, "minivmm-ctl: ARG is not a JSON object\n");
            return 2;
        }
    } else if (arg) {
        args = json_object_new_object();
        json_object_object_add(args, !strcmp(cmd, "snapshot") ? "path" : "uri",
                               json_object_new_string(arg));
    }
    if (!strcmp(cmd, "migrate") && (downtime >= 0 || rounds >= 0 || offline)) {
        if (!args)
            args = json_object_new_object();
        if (downtime >= 0)
            json_object_object_add(args, "downtime-ms", json_object_new_int64(downtime));
        if (rounds >= 0)
            json_object_object_add(args, "max-rounds", json_object_new_int64(rounds));
        if (offline)
            json_object_object_add(args, "offline", json_object_new_boolean(1));
    }
    if (ctl_connect(&c, path) < 0)
        return 1;
    reply = ctl_call(&c, cmd, args);
    ok = ctl_ok(reply);
    if (reply && (!ok || detach || (strcmp(cmd, "migrate") && strcmp(cmd, "snapshot"))))
        printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
    if (reply && !ok)
        fprintf(stderr, "minivmm-ctl: %s: %s\n", cmd, ctl_str(reply, "error"));
    if (ok && !detach && (!strcmp(cmd, "migrate") || !strcmp(cmd, "snapshot")))
        ok = ctl_wait(&c);
    json_object_put(reply);
    json_object_put(args);
    close(c.fd);
    return ok ? 0 : 1;
}
