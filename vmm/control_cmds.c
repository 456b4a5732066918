/*
 * Control commands: status, pause, resume, stats, quit, migrate, migrate-status,
 * migrate-cancel, snapshot. Replies are flat JSON objects (control.c adds "ok" and "id").
 */
#include "control_cmds.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"
#include "vhost_user_net.h"
#include "vm.h"
#include "vm_devices.h"
#include "vmstate.h"

typedef json_object *control_cmd_fn(struct vm *vm, json_object *args, char *err, size_t errlen);

static void add_u64(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_uint64(v));
}

static void add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, json_object_new_string(v));
}

static const char *control_run_state(struct vm *vm)
{
    struct migrate_stats ms;

    if (__atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE))
        return "ending";
    migrate_stats(vm, &ms);
    if (ms.phase == MIGRATE_INCOMING)
        return "incoming";
    if (ms.phase == MIGRATE_SETUP || ms.phase == MIGRATE_PRECOPY || ms.phase == MIGRATE_STOPCOPY)
        return ms.snapshot ? "snapshotting" : "migrating";
    return vmstate_paused(vm) ? "paused" : "running";
}

static json_object *cmd_status(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    json_object *r = json_object_new_object();

    add_str(r, "state", control_run_state(vm));
    json_object_object_add(r, "paused", json_object_new_boolean(vmstate_paused(vm)));
    add_u64(r, "cpus", vm->ncpus);
    add_u64(r, "memory", vm->gmem.ram_size);
    add_u64(r, "uptime_ms", (vmstate_now_ns() - vm->state->created_ns) / 1000000);
    add_str(r, "version", MINIVMM_VERSION);
    return r;
}

/* --incoming: no vCPU runs yet, so there is nothing to pause or resume. */
static bool control_arriving(struct vm *vm, char *err, size_t errlen)
{
    struct migrate_stats ms;

    migrate_stats(vm, &ms);
    if (ms.phase != MIGRATE_INCOMING)
        return false;
    snprintf(err, errlen, "the VM is still arriving (--incoming)");
    return true;
}

static json_object *cmd_pause(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    if (control_arriving(vm, err, errlen))
        return NULL;
    int ret = vmstate_user_pause(vm);

    if (ret < 0) {
        snprintf(err, errlen, "cannot pause: %s", strerror(-ret));
        return NULL;
    }
    return json_object_new_object();
}

static json_object *cmd_resume(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    if (control_arriving(vm, err, errlen))
        return NULL;
    vmstate_user_resume(vm);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "paused", json_object_new_boolean(vmstate_paused(vm)));
    return r;
}

/* "net": one object per vhost-user-net device (announcements after migrations). */
static void control_net_stats(struct vm *vm, json_object *r)
{
    json_object *net = json_object_new_array();

    for (unsigned int i = 0; i < vm_devices_count(vm); i++) {
        struct vhost_user_dev *d = vm_devices_get(vm, i);
        struct vhost_user_net_stats ns;
        json_object *o;

        if (vhost_user_net_get_stats(d, &ns) < 0)
            continue;
        o = json_object_new_object();
        add_str(o, "name", vhost_user_dev_name(d));
        add_u64(o, "status", ns.status);
        add_u64(o, "active_pairs", ns.active_pairs);
        add_u64(o, "ctrl_commands", ns.ctrl_cmds);
        add_u64(o, "announce_requested", ns.announce_requested);
        add_u64(o, "announce_acked", ns.announce_acked);
        add_u64(o, "rarp_sent", ns.rarp_sent);
        json_object_array_add(net, o);
    }
    json_object_object_add(r, "net", net);
}

static json_object *cmd_stats(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    json_object *r = json_object_new_object(), *cpus = json_object_new_array();
    struct vcpu_stats total = {0};

    for (unsigned int i = 0; i < vm->vcpus_created; i++) {
        const struct vcpu_stats *s = &vm->vcpus[i].stats;
        json_object *c = json_object_new_object();

        add_u64(c, "exits", __atomic_load_n(&s->exits, __ATOMIC_RELAXED));
        add_u64(c, "io", __atomic_load_n(&s->io, __ATOMIC_RELAXED));
        add_u64(c, "mmio", __atomic_load_n(&s->mmio, __ATOMIC_RELAXED));
        add_u64(c, "other", __atomic_load_n(&s->other, __ATOMIC_RELAXED));
        json_object_array_add(cpus, c);
        total.exits += s->exits;
        total.io += s->io;
        total.mmio += s->mmio;
    }
    add_u64(r, "exits", total.exits);
    add_u64(r, "io_exits", total.io);
    add_u64(r, "mmio_exits", total.mmio);
    json_object_object_add(r, "vcpus", cpus);
    add_u64(r, "memory", vm->gmem.ram_size);
    control_net_stats(vm, r);
    return r;
}

static json_object *cmd_quit(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    vm_end(vm, VM_EXIT_OK, "quit (control socket)");
    return json_object_new_object();
}

static json_object *control_migrate_reply(struct vm *vm)
{
    struct migrate_stats s;
    json_object *r = json_object_new_object();

    migrate_stats(vm, &s);
    add_str(r, "status", migrate_phase_name(s.phase));
    if (s.phase == MIGRATE_NONE)
        return r;
    add_str(r, "kind", s.incoming ? "incoming" : s.snapshot ? "snapshot" : "migration");
    add_str(r, "uri", s.uri);
    if (s.error[0])
        add_str(r, "error", s.error);
    if (s.incoming) { /* the destination: what arrived so far */
        add_u64(r, "ram_pages", s.ram_pages);
        add_u64(r, "bytes_received", s.bytes_received);
        add_u64(r, "ram_sections_received", s.ram_sections_received);
        add_u64(r, "total_ms", s.total_ms);
        return r;
    }
    add_u64(r, "rounds", s.rounds);
    add_u64(r, "ram_pages", s.ram_pages);
    add_u64(r, "pages_sent", s.pages_sent);
    add_u64(r, "zero_pages", s.zero_pages);
    add_u64(r, "bytes_sent", s.bytes_sent);
    add_u64(r, "dirty_pages", s.dirty_pages);
    add_u64(r, "device_dirty_pages", s.device_dirty);
    add_u64(r, "last_sync_us", s.sync_us);
    add_u64(r, "rate_bps", s.rate_bps);
    add_u64(r, "expected_downtime_ms", s.expected_downtime_ms);
    add_u64(r, "total_ms", s.total_ms);
    add_u64(r, "downtime_ms", s.downtime_ms);
    return r;
}

/* An optional non-negative integer argument. */
static int control_arg_u64(json_object *args, const char *key, uint64_t *out, char *err,
                           size_t errlen)
{
    json_object *v;

    if (!args || !json_object_object_get_ex(args, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
        snprintf(err, errlen, "\"%s\" must be a non-negative integer", key);
        return -EINVAL;
    }
    *out = json_object_get_uint64(v);
    return 0;
}

static int control_arg_str(json_object *args, const char *key, const char **out, char *err,
                           size_t errlen)
{
    json_object *v;

    if (!args || !json_object_object_get_ex(args, key, &v) ||
        !json_object_is_type(v, json_type_string)) {
        snprintf(err, errlen, "missing \"%s\" string argument", key);
        return -EINVAL;
    }
    *out = json_object_get_string(v);
    return 0;
}

static json_object *control_start(struct vm *vm, struct migrate_params *p, char *err, size_t errlen)
{
    int ret = migrate_start(vm, p, err, errlen);

    if (ret < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s", strerror(-ret));
        return NULL;
    }
    return control_migrate_reply(vm);
}

static json_object *cmd_migrate(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    struct migrate_params p = {.downtime_ms = MIGRATE_DOWNTIME_MS_DEFAULT,
                               .max_rounds = MIGRATE_MAX_ROUNDS_DEFAULT};
    uint64_t rounds = p.max_rounds;
    const char *uri;
    json_object *v;

    if (control_arg_str(args, "uri", &uri, err, errlen) < 0 ||
        control_arg_u64(args, "downtime-ms", &p.downtime_ms, err, errlen) < 0 ||
        control_arg_u64(args, "max-rounds", &rounds, err, errlen) < 0)
        return NULL;
    if (snprintf(p.uri, sizeof(p.uri), "%s", uri) >= (int)sizeof(p.uri)) {
        snprintf(err, errlen, "\"uri\" is longer than %d bytes", MIGRATE_URI_MAX - 1);
        return NULL;
    }
    p.max_rounds = rounds > 1000 ? 1000 : (unsigned int)rounds;
    if (args && json_object_object_get_ex(args, "offline", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, errlen, "\"offline\" must be true or false");
            return NULL;
        }
        p.offline = json_object_get_boolean(v);
    }
    return control_start(vm, &p, err, errlen);
}

static json_object *cmd_snapshot(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    struct migrate_params p = {.snapshot = true};
    const char *path;

    if (control_arg_str(args, "path", &path, err, errlen) < 0)
        return NULL;
    if (snprintf(p.uri, sizeof(p.uri), "file:%s", path) >= (int)sizeof(p.uri)) {
        snprintf(err, errlen, "\"path\" is too long");
        return NULL;
    }
    return control_start(vm, &p, err, errlen);
}

static json_object *cmd_migrate_status(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    return control_migrate_reply(vm);
}

static json_object *cmd_migrate_cancel(struct vm *vm, json_object *args, char *err, size_t errlen)
{
    if (migrate_cancel(vm) < 0) {
        snprintf(err, errlen, "no migration is running");
        return NULL;
    }
    return control_migrate_reply(vm);
}

static const struct {
    const char *name;
    control_cmd_fn *fn;
} control_cmds[] = {
    {"status", cmd_status},
    {"pause", cmd_pause},
    {"resume", cmd_resume},
    {"stats", cmd_stats},
    {"quit", cmd_quit},
    {"migrate", cmd_migrate},
    {"migrate-status", cmd_migrate_status},
    {"migrate-cancel", cmd_migrate_cancel},
    {"snapshot", cmd_snapshot},
};

json_object *control_cmds_run(struct vm *vm, const char *command, json_object *args, char *err,
                              size_t errlen)
{
    for (size_t i = 0; i < sizeof(control_cmds) / sizeof(control_cmds[0]); i++)
        if (!strcmp(control_cmds[i].name, command))
            return control_cmds[i].fn(vm, args, err, errlen);
    snprintf(err, errlen, "unknown command '%.64s'", command);
    return NULL;
}
