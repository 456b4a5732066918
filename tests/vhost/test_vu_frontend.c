/*
 * Front-end session against the fake back-end over a real UNIX socket: start-up sequence,
 * feature negotiation, memory table read back through the back-end's own mappings, ring start
 * and stop, multiqueue, and server mode (in the spirit of QEMU's vhost-user-test.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fe_harness.h"

#define PF_MODERN_KNOWN                                                                            \
    (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_LOG_SHMFD) | VU_BIT(VU_PF_RARP) | VU_BIT(VU_PF_REPLY_ACK) |   \
     VU_BIT(VU_PF_NET_MTU) | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_CONFIG) |                    \
     VU_BIT(VU_PF_INFLIGHT_SHMFD) | VU_BIT(VU_PF_RESET_DEVICE) |                                   \
     VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_STATUS) | VU_BIT(VU_PF_DEVICE_STATE))

static uint64_t payload_u64(const struct fb_msg *m)
{
    uint64_t v;

    memcpy(&v, m->payload, sizeof(v));
    return v;
}

static struct vu_wire_vring_state payload_state(const struct fb_msg *m)
{
    struct vu_wire_vring_state s;

    memcpy(&s, m->payload, sizeof(s));
    return s;
}

/* Asserts the logged requests from index `from` are exactly `want`. */
static void expect_sequence(struct harness *h, unsigned int from, const uint32_t *want,
                            unsigned int n)
{
    struct fb_msg m;

    for (unsigned int i = 0; i < n; i++) {
        cr_assert(fake_backend_msg(&h->fb, from + i, &m), "message %u missing", from + i);
        cr_expect_eq(m.request, want[i], "message %u: request %u, expected %u", from + i, m.request,
                     want[i]);
    }
    cr_expect_not(fake_backend_msg(&h->fb, from + n, &m), "extra message %u", m.request);
}

Test(vu_frontend, startup_sequence_modern)
{
    static const uint32_t want[] = {
        VU_REQ_GET_FEATURES,  VU_REQ_GET_PROTOCOL_FEATURES, VU_REQ_SET_PROTOCOL_FEATURES,
        VU_REQ_GET_QUEUE_NUM, VU_REQ_GET_MAX_MEM_SLOTS,     VU_REQ_SET_BACKEND_REQ_FD,
        VU_REQ_SET_OWNER,
    };
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    struct fb_msg m;

    h_connect(&h, &cfg, NULL);
    expect_sequence(&h, 0, want, sizeof(want) / sizeof(want[0]));
    /* Unknown and unimplemented offered bits are masked, not echoed. */
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_PROTOCOL_FEATURES, &m));
    cr_expect_eq(payload_u64(&m), PF_MODERN_KNOWN);
    cr_expect_eq(vu_frontend_protocol_features(h.fe), PF_MODERN_KNOWN);
    /* With REPLY_ACK the state-changing requests wait for their ack. */
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_OWNER, &m));
    cr_expect_eq(m.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
    cr_expect_eq(vu_frontend_max_queues(h.fe), H_MAX_QUEUES);
    cr_expect_eq(vu_frontend_max_mem_slots(h.fe), 8);
    cr_expect_geq(vu_frontend_backend_fd(h.fe), 0);
    cr_expect_null(vu_frontend_migration_blocker(h.fe));
    /* The guest never sees vhost-only bits. */
    cr_expect_eq(vu_frontend_device_features(h.fe), H_DEV_FEATURE | VU_BIT(VU_F_VERSION_1));
    cr_expect_eq(vu_frontend_connect(h.fe), -EISCONN);
    h_fini(&h);
}

Test(vu_frontend, legacy_backend_without_bit30)
{
    struct fb_config cfg = {.features = H_DEV_FEATURE | VU_BIT(VU_F_VERSION_1), .queue_num = 1};
    struct harness h;
    struct vu_ring_cfg r;
    uint32_t base;

    h_connect(&h, &cfg, NULL);
    /* No REPLY_ACK: SET_OWNER is fire and forget, so wait for the fake to see it. */
    cr_assert(fake_backend_wait(&h.fb, VU_REQ_SET_OWNER, 1, 2000));
    cr_expect_eq(fake_backend_count(&h.fb, 0), 2); /* GET_FEATURES, SET_OWNER */
    cr_expect_eq(vu_frontend_protocol_features(h.fe), 0);
    cr_expect_not_null(vu_frontend_migration_blocker(h.fe));
    h_setup(&h);
    r = h_ring(&h, 0);
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_assert_eq(vu_frontend_stop_ring(h.fe, 0, &base), 0);
    /* Rings of a legacy back-end are enabled by SET_FEATURES: never SET_VRING_ENABLE. */
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_ENABLE), 0);
    h_fini(&h);
}

Test(vu_frontend, backend_reads_guest_memory)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    const uint8_t *seen;

    h_connect(&h, &cfg, NULL);
    for (unsigned int i = 0; i < H_RAM_SIZE; i += 4096)
        memset(h.ram + i, (int)(i / 4096) ^ 0x5a, 4096);
    h_setup(&h);
    /* REPLY_ACK made SET_MEM_TABLE synchronous: the fake has mapped it. */
    seen = fake_backend_gpa(&h.fb, H_RAM_GPA, H_RAM_SIZE);
    cr_assert_not_null(seen);
    cr_expect_eq(memcmp(seen, h.ram, H_RAM_SIZE), 0);
    /* Shared, not copied: a later guest write is visible to the back-end. */
    h.ram[12345] = 0xee;
    cr_expect_eq(seen[12345], 0xee);
    h_fini(&h);
}

Test(vu_frontend, two_regions_with_mmap_offset)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_region r[2];
    struct harness h;
    const uint8_t *lo, *hi;

    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_set_features(h.fe, 0), 0);
    r[0] = h.region;
    r[0].size = H_RAM_SIZE / 2;
    r[1] = h.region;
    r[1].gpa = 0x100000000ull;
    r[1].size = H_RAM_SIZE / 2;
    r[1].uaddr += H_RAM_SIZE / 2;
    r[1].mmap_offset = H_RAM_SIZE / 2;
    memcpy(h.ram, "low", 4);
    memcpy(h.ram + H_RAM_SIZE / 2, "high", 5);
    cr_assert_eq(vu_frontend_set_mem_table(h.fe, r, 2), 0, "%s", vu_frontend_last_error(h.fe));
    lo = fake_backend_gpa(&h.fb, H_RAM_GPA, 4);
    hi = fake_backend_gpa(&h.fb, 0x100000000ull, 5);
    cr_assert(lo && hi);
    cr_expect_str_eq((const char *)lo, "low");
    cr_expect_str_eq((const char *)hi, "high");
    h_fini(&h);
}

Test(vu_frontend, mem_table_checked_locally)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_region r[9];
    struct harness h;

    h_connect(&h, &cfg, NULL);
    r[0] = h.region;
    r[0].fd = -1;
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, r, 1), -EBADF);
    r[0] = h.region;
    r[0].size = H_RAM_SIZE * 2; /* fd shorter than mmap_offset + size */
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, r, 1), -EINVAL);
    r[0] = h.region;
    r[1] = h.region; /* overlaps */
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, r, 2), -EINVAL);
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, r, 0), -EINVAL);
    cr_expect_eq(vu_frontend_set_mem_table(h.fe, r, 9), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_MEM_TABLE), 0);
    cr_expect(vu_frontend_connected(h.fe));
    h_fini(&h);
}

Test(vu_frontend, features_put_bit30_back_and_refuse_unoffered)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    struct fb_msg m;

    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_set_features(h.fe, VU_BIT(5)), -EINVAL);
    cr_expect_eq(vu_frontend_set_features(h.fe, VU_BIT(VU_F_PROTOCOL_FEATURES)), -EINVAL);
    cr_expect_eq(vu_frontend_set_features(h.fe, VU_BIT(VU_F_LOG_ALL)), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_FEATURES), 0);
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "not offered"), NULL);
    cr_expect(vu_frontend_connected(h.fe));
    cr_assert_eq(vu_frontend_set_features(h.fe, VU_BIT(VU_F_VERSION_1)), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_FEATURES, &m));
    cr_expect_eq(payload_u64(&m), VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES));
    h_fini(&h);
}

Test(vu_frontend, start_ring_sequence_and_initial_kick)
{
    static const uint32_t want[] = {
        VU_REQ_SET_VRING_NUM,  VU_REQ_SET_VRING_BASE, VU_REQ_SET_VRING_ADDR,
        VU_REQ_SET_VRING_KICK, VU_REQ_SET_VRING_CALL, VU_REQ_SET_VRING_ENABLE,
    };
    struct fb_config cfg = h_cfg_all();
    struct vu_wire_vring_addr a;
    struct vu_ring_cfg r;
    struct harness h;
    struct fb_msg m;
    unsigned int first;
    uint64_t kicks = 0;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    first = fake_backend_count(&h.fb, 0);
    r = h_ring(&h, 1);
    r.base = 17;
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0, "%s", vu_frontend_last_error(h.fe));
    expect_sequence(&h, first, want, sizeof(want) / sizeof(want[0]));
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ADDR, &m));
    memcpy(&a, m.payload, sizeof(a));
    cr_expect_eq(a.index, 1);
    cr_expect_eq(a.flags, 0);
    cr_expect_eq(a.desc, r.desc_uaddr);
    cr_expect_eq(a.avail, r.avail_uaddr);
    cr_expect_eq(a.used, r.used_uaddr);
    cr_expect_eq(a.log, r.used_gpa);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_BASE, &m));
    cr_expect_eq(payload_state(&m).num, 17);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ENABLE, &m));
    cr_expect_eq(payload_state(&m).index, 1);
    cr_expect_eq(payload_state(&m).num, 1);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_KICK, &m));
    cr_expect_eq(m.nfds, 1);
    cr_expect_eq(payload_u64(&m), 1); /* ring 1, no NOFD bit */
    /* The back-end holds the real eventfds: its copy and ours are the same object. */
    cr_assert_geq(fake_backend_call_fd(&h.fb, 1), 0);
    cr_assert_eq(write(fake_backend_call_fd(&h.fb, 1), &(uint64_t){1}, 8), 8);
    cr_expect_eq(read(h.call[1], &kicks, 8), 8);
    /* S-NEW: one kick right after start. */
    cr_expect_eq(read(h.kick[1], &kicks, 8), 8);
    cr_expect_eq(kicks, 1);
    cr_expect(vu_frontend_ring_started(h.fe, 1));
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EBUSY);
    h_fini(&h);
}

Test(vu_frontend, start_ring_checked_locally)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;

    h_connect(&h, &cfg, NULL);
    r = h_ring(&h, 0);
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL); /* before features + memory */
    h_setup(&h);
    r.desc_uaddr += 8; /* misaligned */
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL);
    r = h_ring(&h, 0);
    r.used_uaddr = (uintptr_t)h.ram + H_RAM_SIZE - 16; /* crosses the region end */
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL);
    r = h_ring(&h, 0);
    r.num = 0;
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL);
    r = h_ring(&h, 0);
    r.index = 256;
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_NUM), 0);
    cr_expect(vu_frontend_connected(h.fe));
    h_fini(&h);
}

Test(vu_frontend, stop_returns_base_and_restart_resends_all)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;
    struct fb_msg m;
    uint32_t base = 0;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    r = h_ring(&h, 0);
    r.base = 42;
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_assert_eq(vu_frontend_stop_ring(h.fe, 0, &base), 0);
    cr_expect_eq(base, 42);
    cr_expect_not(vu_frontend_ring_started(h.fe, 0));
    /* Disable first, then stop (QEMU >= 7.2). */
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ENABLE, &m));
    cr_expect_eq(payload_state(&m).num, 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_VRING_BASE), 1);
    /* The back-end dropped the fds; a restart sends everything again. */
    cr_expect_lt(fake_backend_kick_fd(&h.fb, 0), 0);
    cr_expect_eq(vu_frontend_stop_ring(h.fe, 0, &base), -EINVAL);
    r.base = base;
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_ADDR), 2);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_KICK), 2);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_CALL), 2);
    cr_expect_geq(fake_backend_kick_fd(&h.fb, 0), 0);
    h_fini(&h);
}

Test(vu_frontend, nofd_exactly_when_no_fd)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;
    struct fb_msg m;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    r = h_ring(&h, 2);
    r.kick_fd = -1; /* back-end polls */
    r.err_fd = h.kick[3];
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_KICK, &m));
    cr_expect_eq(payload_u64(&m), 2 | VU_VRING_NOFD_MASK);
    cr_expect_eq(m.nfds, 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ERR, &m));
    cr_expect_eq(payload_u64(&m), 2);
    cr_expect_eq(m.nfds, 1);
    h_fini(&h); /* the fake checks bit 8 against the fds on every message */
}

Test(vu_frontend, multiqueue_every_ring)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();
    struct harness h;

    o.num_queues = H_MAX_QUEUES;
    h_connect(&h, &cfg, &o);
    h_setup(&h);
    for (unsigned int q = 0; q < H_MAX_QUEUES; q++) {
        struct vu_ring_cfg r = h_ring(&h, q);

        cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0, "q%u: %s", q,
                     vu_frontend_last_error(h.fe));
    }
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_VRING_BASE), H_MAX_QUEUES);
    for (unsigned int q = 0; q < H_MAX_QUEUES; q++)
        cr_expect_geq(fake_backend_kick_fd(&h.fb, q), 0);
    h_fini(&h);
}

Test(vu_frontend, multiqueue_backend_too_small)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();
    struct harness h;

    cfg.queue_num = 2;
    o.num_queues = 4;
    h_init(&h, &cfg, &o);
    cr_expect_eq(vu_frontend_connect(h.fe), -EINVAL);
    cr_expect_not(vu_frontend_connected(h.fe));
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "needs 4 queues"), NULL, "%s",
                  vu_frontend_last_error(h.fe));
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "at most 2"), NULL);
    cr_expect_str_eq(h_last_log(), vu_frontend_last_error(h.fe));
    h_fini(&h);
}

Test(vu_frontend, no_mq_means_one_queue)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_MQ);
    o.num_queues = 2;
    h_init(&h, &cfg, &o);
    cr_expect_eq(vu_frontend_connect(h.fe), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_QUEUE_NUM), 0);
    h_fini(&h);
}

Test(vu_frontend, connect_failure_is_reported)
{
    struct vu_frontend_opts o = h_opts();
    struct vu_frontend *fe;
    int before = h_count_fds();

    o.socket_path = "/nonexistent-dir/vhost-user.sock";
    fe = vu_frontend_new(&o);
    cr_assert_not_null(fe);
    cr_expect_eq(vu_frontend_connect(fe), -ENOENT);
    cr_expect_neq(strstr(vu_frontend_last_error(fe), "connect to /nonexistent-dir"), NULL);
    cr_expect_not(vu_frontend_connected(fe));
    cr_expect_eq(vu_frontend_set_features(fe, 0), -ENOTCONN);
    vu_frontend_destroy(fe);
    cr_expect_eq(h_count_fds(), before);
}

Test(vu_frontend, bad_options_refused)
{
    struct vu_frontend_opts o = h_opts();

    cr_expect_null(vu_frontend_new(NULL));
    cr_expect_null(vu_frontend_new(&o)); /* no socket path */
    o.socket_path = "/tmp/x";
    o.profile = (enum vu_profile)7;
    cr_expect_null(vu_frontend_new(&o));
    vu_frontend_destroy(NULL);
}

Test(vu_frontend, server_mode_accepts_a_backend)
{
    char dir[] = "/tmp/vu-srv-XXXXXX";
    char path[64];
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();
    struct harness h;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/fe.sock", dir);
    cfg.connect_to = path;
    o.socket_path = path;
    o.server = true;
    o.connect_timeout_ms = 5000;
    h_connect(&h, &cfg, &o);
    h_setup(&h);
    /* The back-end reconnects after a disconnect; the listener is still there. */
    vu_frontend_disconnect(h.fe);
    cr_assert_eq(vu_frontend_connect(h.fe), 0, "%s", vu_frontend_last_error(h.fe));
    h_setup(&h);
    h_fini(&h);
    cr_expect_neq(access(path, F_OK), 0, "socket file removed at destroy");
    rmdir(dir);
}

Test(vu_frontend, reconnect_reinitialises_and_sees_shrunk_features)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    uint64_t before;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    before = vu_frontend_device_features(h.fe);
    vu_frontend_disconnect(h.fe);
    cr_expect_eq(vu_frontend_set_features(h.fe, before), -ENOTCONN);
    /* QEMU's flags-mismatch case: the back-end comes back offering less. */
    pthread_mutex_lock(&h.fb.lock);
    h.fb.cfg.features = VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_VERSION_1);
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert_eq(vu_frontend_connect(h.fe), 0);
    cr_expect_eq(vu_frontend_device_features(h.fe), VU_BIT(VU_F_VERSION_1));
    cr_expect_eq(vu_frontend_set_features(h.fe, before), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_FEATURES), 2);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_OWNER), 2);
    h_fini(&h);
}
