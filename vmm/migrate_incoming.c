/*
 * The destination (--incoming URI): receives a VM into this freshly built machine before
 * its vCPUs start. CONFIG must come first and match; RAM is applied as it arrives; the
 * machine's and devices' state follow; after END the destination answers READY and waits
 * for GO, and only then starts the devices' rings, so a destination that fails at any
 * point leaves the back-ends alone. A file: URI is a snapshot: no handshake.
 */
#include "migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "migrate_conn.h"
#include "migrate_dev.h"
#include "migrate_ram.h"
#include "migrate_state.h"
#include "vm.h"
#include "vm_devices.h"
#include "vmstate.h"

/* Between two sections of a live migration the source may think for a while (a sync). */
#define MIGRATE_IN_TIMEOUT_MS 60000

struct migrate_in {
    struct vm *vm;
    struct mstream s;
    bool config_seen;
    uint64_t pages;
    uint32_t cpus_seen;
    char why[256];
};

static int migrate_in_section(struct migrate_in *in, const struct mstream_section *sec,
                              const uint8_t *p)
{
    struct vm *vm = in->vm;
    int ret;

    if (!in->config_seen && sec->type != MSTREAM_CONFIG)
        return mstream_fail(&in->s, -EPROTO, "the stream does not start with the machine's shape");
    switch (sec->type) {
    case MSTREAM_CONFIG:
        if (in->config_seen)
            return mstream_fail(&in->s, -EPROTO, "a second machine description");
        in->config_seen = true;
        ret = mstate_check_config(vm, p, sec->length, in->why, sizeof(in->why));
        return ret < 0 ? mstream_fail(&in->s, ret, "%s", in->why) : 0;
    case MSTREAM_RAM:
        ret = mram_receive(&vm->gmem, p, sec->length);
        in->pages += ret == 0 ? 1 : 0;
        return ret < 0 ? mstream_fail(&in->s, ret, "a malformed RAM section") : 0;
    case MSTREAM_DEVICE:
        ret = mdev_load(vm, sec->id, p, sec->length);
        return ret < 0 ? mstream_fail(&in->s, ret, "cannot load device %u's state", sec->id) : 0;
    case MSTREAM_CPU:
        in->cpus_seen++;
        /* fall through */
    case MSTREAM_VM:
    case MSTREAM_PLATFORM:
        ret = mstate_load(vm, sec, p);
        return ret < 0 ? mstream_fail(&in->s, ret, "cannot load the machine's state") : 0;
    default:
        return mstream_fail(&in->s, -EPROTO, "unexpected section type %u", sec->type);
    }
}

static int migrate_in_receive(struct migrate_in *in)
{
    struct mstream_section sec;
    const uint8_t *p;
    int ret = mstream_read_header(&in->s);

    while (ret == 0) {
        ret = mstream_read_section(&in->s, &sec, &p);
        if (ret < 0)
            break;
        if (sec.type == MSTREAM_END) {
            if (in->cpus_seen != in->vm->vcpus_created)
                return mstream_fail(&in->s, -EPROTO, "the stream ended with %u of %u vCPUs",
                                    in->cpus_seen, in->vm->vcpus_created);
            if (mdev_loaded_all(in->vm, in->why, sizeof(in->why)) < 0)
                return mstream_fail(&in->s, -EPROTO, "%s", in->why);
            return 0;
        }
        ret = migrate_in_section(in, &sec, p);
    }
    return ret;
}

/* READY, then wait for GO: until GO the source may still take the VM back. */
static int migrate_in_handshake(struct migrate_in *in, const struct mconn_uri *u)
{
    enum mconn_msg kind;
    int ret;

    if (u->kind == MCONN_FILE)
        return 0;
    ret = mconn_send_msg(in->s.fd, MCONN_READY, NULL);
    if (ret == 0)
        ret = mconn_recv_msg(in->s.fd, MIGRATE_ACK_TIMEOUT_MS, &kind, NULL, 0);
    if (ret == 0 && kind != MCONN_GO)
        ret = -EPROTO;
    if (ret < 0)
        return mstream_fail(&in->s, ret, "the source did not hand the VM over (%s)",
                            ret == -ECONNRESET ? "it closed the connection" : strerror(-ret));
    return 0;
}

int migrate_incoming(struct vm *vm)
{
    struct migrate_in in = {.vm = vm};
    struct mconn_uri u;
    char err[256];
    uint64_t t0;
    int fd, ret;

    if (mconn_parse(vm->opts->incoming, &u, err, sizeof(err)) < 0) {
        log_err("--incoming: %s", err);
        return -EINVAL;
    }
    /* Fresh memfd pages are zeroed by the kernel on first touch, which here costs more than
     * receiving them: do it before the source connects, not inside its downtime window. */
    if (u.kind != MCONN_FILE && madvise(vm->gmem.base, vm->gmem.ram_size, MADV_POPULATE_WRITE) < 0)
        log_debug("--incoming: pre-faulting guest RAM: %s", strerror(errno));
    fd = mconn_open_in(&u, err, sizeof(err));
    if (fd < 0) {
        log_err("--incoming: %s", err);
        return fd;
    }
    t0 = vmstate_now_ns();
    mconn_set_timeout(fd, MIGRATE_IN_TIMEOUT_MS);
    ret = mstream_init(&in.s, fd);
    if (ret == 0)
        ret = migrate_in_receive(&in);
    /* Tell a live source why, so that its migrate-status can say it. */
    if (ret < 0 && u.kind != MCONN_FILE && in.s.why[0] &&
        mconn_send_msg(fd, MCONN_ERROR, in.s.why) < 0)
        log_debug("--incoming: the source is gone; it cannot hear why");
    if (ret == 0)
        ret = migrate_in_handshake(&in, &u);
    if (ret == 0) {
        ret = mdev_go(vm);
        if (ret < 0)
            mstream_fail(&in.s, ret, "cannot restart the devices");
    }
    /* Net devices announce the guest's new home (RARP / GUEST_ANNOUNCE). */
    if (ret == 0 && u.kind != MCONN_FILE && vm_devices_migration_done(vm) < 0)
        log_warn("--incoming: a device could not announce the migration");
    if (ret < 0)
        log_err("--incoming %s: %s", vm->opts->incoming, mstream_error(&in.s));
    else
        log_info("incoming %s: %llu bytes in %llu ms (%llu RAM sections); resuming the VM",
                 u.kind == MCONN_FILE ? "snapshot" : "migration", (unsigned long long)in.s.bytes,
                 (unsigned long long)((vmstate_now_ns() - t0) / 1000000),
                 (unsigned long long)in.pages);
    mstream_fini(&in.s);
    close(fd);
    return ret;
}
