/*
 * The control socket's server: accepts clients, splits their input into lines, parses each
 * with json-c, hands the request to control_cmds.c and queues the reply. Everything is
 * non-blocking and runs in the event loop; a slow or hostile client only hurts itself.
 */
#include "control.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_cmds.h"
#include "evloop.h"
#include "vm.h"

struct control_client {
    struct ev_handler h;
    struct control *owner;
    char *in; /* a partial line: CONTROL_LINE_MAX + 1 bytes */
    size_t in_len;
    char *out; /* replies not yet written */
    size_t out_len;
    size_t out_cap;
    bool want_out; /* EPOLLOUT is armed */
};

struct control {
    struct ev_handler listen_h;
    struct vm *vm;
    char path[sizeof(((struct sockaddr_un *)NULL)->sun_path)];
    struct control_client *clients[CONTROL_CLIENTS_MAX];
};

static void control_drop(struct control_client *cl)
{
    struct control *c = cl->owner;

    for (unsigned int i = 0; i < CONTROL_CLIENTS_MAX; i++)
        if (c->clients[i] == cl)
            c->clients[i] = NULL;
    if (evloop_del(&c->vm->loop, &cl->h) < 0)
        log_debug("control: removing a client from the loop: %s", strerror(errno));
    close(cl->h.fd);
    free(cl->in);
    free(cl->out);
    free(cl);
}

static int control_arm(struct control_client *cl, bool want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = &cl->h};

    if (cl->want_out == want_out)
        return 0;
    if (epoll_ctl(cl->owner->vm->loop.epfd, EPOLL_CTL_MOD, cl->h.fd, &ev) < 0)
        return -errno;
    cl->want_out = want_out;
    return 0;
}

/* Writes what the socket takes now; the rest waits for EPOLLOUT. */
static int control_flush(struct control_client *cl)
{
    size_t done = 0;

    while (done < cl->out_len) {
        ssize_t n = send(cl->h.fd, cl->out + done, cl->out_len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        done += (size_t)n;
    }
    memmove(cl->out, cl->out + done, cl->out_len - done);
    cl->out_len -= done;
    return control_arm(cl, cl->out_len > 0);
}

static int control_queue(struct control_client *cl, const char *text)
{
    size_t len = strlen(text);

    if (cl->out_len + len + 1 > CONTROL_OUT_MAX) {
        log_warn("control: a client does not read its replies; dropping it");
        return -ENOBUFS;
    }
    if (cl->out_len + len + 1 > cl->out_cap) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        while (cap < cl->out_len + len + 1)
            cap *= 2;
        char *p = realloc(cl->out, cap);
        if (!p)
            return -ENOMEM;
        cl->out = p;
        cl->out_cap = cap;
    }
    memcpy(cl->out + cl->out_len, text, len);
    cl->out[cl->out_len + len] = '\n';
    cl->out_len += len + 1;
    return control_flush(cl);
}

static json_object *control_error(const char *msg)
{
    json_object *reply = json_object_new_object();

    json_object_object_add(reply, "ok", json_object_new_boolean(0));
    json_object_object_add(reply, "error", json_object_new_string(msg));
    return reply;
}

/* One request line -> one reply object (never NULL unless out of memory). */
static json_object *control_handle(struct control *c, const char *line)
{
    enum json_tokener_error jerr;
    json_object *req = json_tokener_parse_verbose(line, &jerr);
    json_object *cmd, *args = NULL, *id = NULL, *reply;
    char err[256] = "";

    if (!req) {
        char msg[160];
        snprintf(msg, sizeof(msg), "not JSON: %s", json_tokener_error_desc(jerr));
        return control_error(msg);
    }
    if (!json_object_is_type(req, json_type_object)) {
        reply = control_error("a request is a JSON object");
        goto out;
    }
    json_object_object_get_ex(req, "id", &id);
    if (!json_object_object_get_ex(req, "command", &cmd) ||
        !json_object_is_type(cmd, json_type_string)) {
        reply = control_error("the request has no \"command\" string");
        goto out;
    }
    if (json_object_object_get_ex(req, "arguments", &args) &&
        !json_object_is_type(args, json_type_object)) {
        reply = control_error("\"arguments\" must be an object");
        goto out;
    }
    reply = control_cmds_run(c->vm, json_object_get_string(cmd), args, err, sizeof(err));
    if (!reply)
        reply = control_error(err[0] ? err : "failed");
    else if (!json_object_object_get_ex(reply, "ok", NULL))
        json_object_object_add(reply, "ok", json_object_new_boolean(1));
out:
    if (id)
        json_object_object_add(reply, "id", json_object_get(id));
    json_object_put(req);
    return reply;
}

/* Handles every complete line in the input buffer. */
static int control_lines(struct control_client *cl)
{
    char *start = cl->in, *nl;
    int ret = 0;

    while (ret == 0 && (nl = memchr(start, '\n', cl->in_len - (size_t)(start - cl->in)))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r')
            nl[-1] = '\0';
        if (*start) {
            json_object *reply = control_handle(cl->owner, start);
            if (!reply)
                return -ENOMEM;
            ret = control_queue(cl, json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
            json_object_put(reply);
        }
        start = nl + 1;
    }
    cl->in_len -= (size_t)(start - cl->in);
    memmove(cl->in, start, cl->in_len);
    return ret;
}

static int control_read(struct control_client *cl)
{
    for (;;) {
        ssize_t n = recv(cl->h.fd, cl->in + cl->in_len, CONTROL_LINE_MAX + 1 - cl->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return n < 0 ? -errno : -ECONNRESET;
        cl->in_len += (size_t)n;
        int ret = control_lines(cl);
        if (ret < 0)
            return ret;
        if (cl->in_len > CONTROL_LINE_MAX) {
            log_warn("control: a request is longer than %d bytes; dropping the client",
                     CONTROL_LINE_MAX);
            return -EMSGSIZE;
        }
    }
}

static void control_on_client(struct ev_handler *h, uint32_t events)
{
    struct control_client *cl = container_of(h, struct control_client, h);
    int ret = 0;

    if (events & EPOLLOUT)
        ret = control_flush(cl);
    if (ret == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        ret = control_read(cl);
    if (ret < 0)
        control_drop(cl);
}

static void control_on_accept(struct ev_handler *h, uint32_t events)
{
    struct control *c = container_of(h, struct control, listen_h);
    struct control_client *cl;
    unsigned int slot;
    int fd;

    (void)events;
    fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (slot = 0; slot < CONTROL_CLIENTS_MAX && c->clients[slot]; slot++)
        ;
    cl = slot < CONTROL_CLIENTS_MAX ? calloc(1, sizeof(*cl)) : NULL;
    if (cl)
        cl->in = malloc(CONTROL_LINE_MAX + 1);
    if (!cl || !cl->in) {
        log_warn("control: refusing a client (%s)",
                 slot < CONTROL_CLIENTS_MAX ? "out of memory" : "too many clients");
        if (cl)
            free(cl->in);
        free(cl);
        close(fd);
        return;
    }
    cl->owner = c;
    cl->h = (struct ev_handler){.fd = fd, .cb = control_on_client};
    if (evloop_add(&c->vm->loop, &cl->h, EPOLLIN) < 0) {
        free(cl->in);
        free(cl);
        close(fd);
        return;
    }
    c->clients[slot] = cl;
}

struct control *control_create(struct vm *vm, const char *path)
{
    struct control *c = calloc(1, sizeof(*c));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct stat st;

    if (!c)
        return NULL;
    c->vm = vm;
    c->listen_h = (struct ev_handler){.fd = -1, .cb = control_on_accept};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        log_err("--api-socket %s: path too long", path);
        goto fail;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    /* A socket file left by a dead minivmm would make bind fail; anything else is kept. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    c->listen_h.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->listen_h.fd < 0 || bind(c->listen_h.fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        log_err("--api-socket %s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    if (listen(c->listen_h.fd, CONTROL_CLIENTS_MAX) < 0 ||
        evloop_add(&vm->loop, &c->listen_h, EPOLLIN) < 0) {
        log_err("--api-socket %s: %s", path, strerror(errno));
        goto fail;
    }
    return c;
fail:
    control_destroy(c);
    return NULL;
}

/*
 * The VM is going away (guest power-off, quit, or a completed migration): every client gets
 * one last line saying why, so that one waiting for its migration learns how it ended.
 * Best effort: the sockets are non-blocking and a client that does not read loses it.
 */
static void control_goodbye(struct control *c)
{
    json_object *ev = json_object_new_object();
    char err[64];

    json_object_object_add(ev, "event", json_object_new_string("vm-ended"));
    json_object_object_add(ev, "reason", json_object_new_string(c->vm->exit_reason));
    json_object_object_add(ev, "migration",
                           control_cmds_run(c->vm, "migrate-status", NULL, err, sizeof(err)));
    for (unsigned int i = 0; i < CONTROL_CLIENTS_MAX; i++)
        if (c->clients[i] && control_queue(c->clients[i], json_object_to_json_string_ext(
                                                              ev, JSON_C_TO_STRING_PLAIN)) < 0)
            log_debug("control: a client missed the VM's end");
    json_object_put(ev);
}

void control_destroy(struct control *c)
{
    if (!c)
        return;
    control_goodbye(c);
    for (unsigned int i = 0; i < CONTROL_CLIENTS_MAX; i++)
        if (c->clients[i])
            control_drop(c->clients[i]);
    if (c->listen_h.fd >= 0)
        close(c->listen_h.fd);
    if (c->path[0])
        unlink(c->path);
    free(c);
}
