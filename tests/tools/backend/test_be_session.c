/*
 * Unit tests for tools/backend/be_session.c and be_dev*.c: whole sessions of the echo
 * back-end (running in a thread on a real UNIX socket) driven by minivmm's own front-end
 * library, with a driver written here putting requests on the ring in memfd "guest RAM".
 * Covers negotiation, config, the data path, dirty logging, stop/resume, reset and refusals.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "be_echo.h"
#include "be_print.h"
#include "be_session.h"
#include "vu_frontend.h"

#define RAM_SIZE  (2u << 20)
#define RAM_GPA   0x100000ull /* guest RAM does not start at 0 here: gpa != offset */
#define DESC_OFF  0x1000u
#define AVAIL_OFF 0x2000u
#define USED_OFF  0x3000u
#define BUF_OFF   0x10000u
#define NUM       16u

struct session {
    char dir[64], path[96];
    int lfd;
    pthread_t thread;
    int backend_ret;
    volatile sig_atomic_t stop;
    struct vu_frontend *fe;
    int ram_fd, kick, call;
    uint8_t *ram;
    uint16_t avail_idx;
};

static struct session s;

static void *backend_main(void *arg)
{
    struct session *ss = arg;
    int sock = accept4(ss->lfd, NULL, NULL, SOCK_CLOEXEC);

    ss->backend_ret = sock < 0 ? -errno : be_session_run(sock, 2, false, &ss->stop);
    return NULL;
}

static void setup(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};

    be_print_set(BE_QUIET);
    memset(&s, 0, sizeof(s));
    strcpy(s.dir, "/tmp/be-session-XXXXXX");
    cr_assert_not_null(mkdtemp(s.dir));
    snprintf(s.path, sizeof(s.path), "%s/echo.sock", s.dir);
    strcpy(a.sun_path, s.path);
    s.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s.lfd, 0);
    cr_assert_eq(bind(s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(s.lfd, 1), 0);
    cr_assert_eq(pthread_create(&s.thread, NULL, backend_main, &s), 0);

    s.ram_fd = memfd_create("be-session-ram", MFD_CLOEXEC);
    cr_assert_geq(s.ram_fd, 0);
    cr_assert_eq(ftruncate(s.ram_fd, RAM_SIZE), 0);
    s.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s.ram_fd, 0);
    cr_assert_neq(s.ram, MAP_FAILED);
    s.kick = eventfd(0, EFD_CLOEXEC);
    s.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cr_assert(s.kick >= 0 && s.call >= 0);

    struct vu_frontend_opts o = {
        .name = "echo",
        .socket_path = s.path,
        .num_queues = 2,
        .reply_timeout_ms = 5000,
        .connect_timeout_ms = 2000,
    };
    s.fe = vu_frontend_new(&o);
    cr_assert_not_null(s.fe);
    cr_assert_eq(vu_frontend_connect(s.fe), 0, "%s", vu_frontend_last_error(s.fe));
}

/* Ends the session from the front-end side; the back-end must see a clean hang-up. */
static void end_session(int want_backend_ret)
{
    vu_frontend_destroy(s.fe);
    s.fe = NULL;
    cr_assert_eq(pthread_join(s.thread, NULL), 0);
    cr_assert_eq(s.backend_ret, want_backend_ret);
}

static void teardown(void)
{
    if (s.fe)
        end_session(0);
    close(s.lfd);
    unlink(s.path);
    rmdir(s.dir);
    munmap(s.ram, RAM_SIZE);
    close(s.ram_fd);
    close(s.kick);
    close(s.call);
}

TestSuite(be_session, .init = setup, .fini = teardown);

static void set_features_and_memory(void)
{
    struct vu_region r = {.gpa = RAM_GPA,
                          .size = RAM_SIZE,
                          .uaddr = (uintptr_t)s.ram,
                          .mmap_offset = 0,
                          .fd = s.ram_fd};

    cr_assert_eq(vu_frontend_set_features(s.fe, VU_BIT(VU_F_VERSION_1)), 0);
    cr_assert_eq(vu_frontend_set_mem_table(s.fe, &r, 1), 0);
}

static struct vu_ring_cfg ring_cfg(uint32_t base)
{
    return (struct vu_ring_cfg){
        .index = 0,
        .num = NUM,
        .base = base,
        .desc_uaddr = (uintptr_t)s.ram + DESC_OFF,
        .avail_uaddr = (uintptr_t)s.ram + AVAIL_OFF,
        .used_uaddr = (uintptr_t)s.ram + USED_OFF,
        .used_gpa = RAM_GPA + USED_OFF,
        .kick_fd = s.kick,
        .call_fd = s.call,
        .err_fd = -1,
    };
}

static int start_ring(uint32_t base)
{
    struct vu_ring_cfg c = ring_cfg(base);

    return vu_frontend_start_ring(s.fe, &c);
}

/* The driver: one pingpong request (seq out, 8 bytes back), kick, wait for the call. */
static void round_trip(uint64_t seq)
{
    struct be_desc *desc = (struct be_desc *)(s.ram + DESC_OFF);
    struct be_avail *avail = (struct be_avail *)(s.ram + AVAIL_OFF);
    struct be_used *used = (struct be_used *)(s.ram + USED_OFF);
    uint16_t head = (uint16_t)(s.avail_idx * 2 % NUM);
    struct pollfd p = {.fd = s.call, .events = POLLIN};
    uint64_t one = 1, n;

    memcpy(s.ram + BUF_OFF, &seq, 8);
    memset(s.ram + BUF_OFF + 0x1000, 0, 8);
    desc[head] = (struct be_desc){RAM_GPA + BUF_OFF, 8, BE_DESC_F_NEXT, (uint16_t)(head + 1)};
    desc[head + 1] = (struct be_desc){RAM_GPA + BUF_OFF + 0x1000, 8, BE_DESC_F_WRITE, 0};
    avail->ring[s.avail_idx % NUM] = head;
    __atomic_store_n(&avail->idx, ++s.avail_idx, __ATOMIC_RELEASE);
    cr_assert_eq(write(s.kick, &one, 8), 8);
    cr_assert_eq(poll(&p, 1, 5000), 1, "no call within 5 s");
    cr_assert_eq(read(s.call, &n, 8), 8);
    cr_assert_eq(__atomic_load_n(&used->idx, __ATOMIC_ACQUIRE), s.avail_idx);
    cr_assert_eq(used->ring[(s.avail_idx - 1) % NUM].id, head);
    cr_assert_eq(used->ring[(s.avail_idx - 1) % NUM].len, 8);
    cr_assert_eq(memcmp(s.ram + BUF_OFF + 0x1000, &seq, 8), 0, "echo of %llu",
                 (unsigned long long)seq);
}

Test(be_session, negotiates_what_it_implements)
{
    uint8_t cfg[8];
    struct be_echo_config c;

    cr_assert_eq(vu_frontend_device_features(s.fe), VU_BIT(VU_F_VERSION_1));
    cr_assert_eq(vu_frontend_protocol_features(s.fe),
                 VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_LOG_SHMFD) | VU_BIT(VU_PF_REPLY_ACK) |
                     VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_RESET_DEVICE));
    cr_assert_eq(vu_frontend_max_queues(s.fe), 2);
    cr_assert_null(vu_frontend_migration_blocker(s.fe), "LOG_ALL and LOG_SHMFD offered");
    cr_assert_eq(vu_frontend_get_config(s.fe, 0, cfg, sizeof(cfg)), 0);
    memcpy(&c, cfg, sizeof(c));
    cr_assert_eq(c.num_queues, 2);
    cr_assert_eq(c.max_chain, BE_CHAIN_MAX);
    cr_assert_eq(vu_frontend_get_config(s.fe, 2, cfg, 2), 0, "a part of it");
    cr_assert_eq(cfg[0], BE_CHAIN_MAX);
}

Test(be_session, echoes_requests_through_kick_and_call)
{
    set_features_and_memory();
    cr_assert_eq(start_ring(0), 0);
    for (uint64_t i = 0; i < 100; i++)
        round_trip(1000 + i);
}

Test(be_session, stop_resume_and_reset)
{
    uint32_t base = 0;

    set_features_and_memory();
    cr_assert_eq(start_ring(0), 0);
    round_trip(1);
    round_trip(2);
    cr_assert_eq(vu_frontend_stop_ring(s.fe, 0, &base), 0);
    cr_assert_eq(base, 2, "GET_VRING_BASE returns the next entry to take");
    cr_assert_eq(start_ring(base), 0);
    round_trip(3);
    cr_assert_eq(vu_frontend_reset(s.fe), 0, "RESET_DEVICE");
    set_features_and_memory(); /* everything again, as after a guest reset */
    memset(s.ram, 0, 0x4000);
    s.avail_idx = 0;
    cr_assert_eq(start_ring(0), 0);
    round_trip(4);
}

Test(be_session, dirty_logging_marks_buffers_and_used_ring)
{
    struct vu_dirty_log dlog;

    set_features_and_memory();
    cr_assert_eq(start_ring(0), 0);
    round_trip(1);
    cr_assert_eq(vu_dirty_log_create(&dlog, RAM_GPA + RAM_SIZE), 0);
    cr_assert_eq(vu_frontend_set_log_base(s.fe, &dlog), 0);
    cr_assert_eq(vu_frontend_set_logging(s.fe, true), 0, "LOG_ALL and F_LOG on a running ring");
    cr_assert_not(vu_dirty_log_clear(&dlog), "nothing written since logging started");
    round_trip(2);
    cr_assert(vu_dirty_log_test(&dlog, RAM_GPA + BUF_OFF + 0x1000), "echo buffer");
    cr_assert(vu_dirty_log_test(&dlog, RAM_GPA + USED_OFF), "used ring");
    cr_assert_not(vu_dirty_log_test(&dlog, RAM_GPA + BUF_OFF), "only read");
    cr_assert_not(vu_dirty_log_test(&dlog, RAM_GPA + AVAIL_OFF), "only read");
    cr_assert_eq(vu_frontend_set_logging(s.fe, false), 0);
    vu_dirty_log_clear(&dlog);
    round_trip(3);
    cr_assert_not(vu_dirty_log_clear(&dlog), "logging is off again");
    end_session(0);
    vu_dirty_log_destroy(&dlog);
}

Test(be_session, refusals_are_acknowledged_and_the_session_goes_on)
{
    uint8_t cfg[4] = {0};

    set_features_and_memory();
    cr_assert_eq(vu_frontend_set_config(s.fe, 0, cfg, sizeof(cfg), VU_CONFIG_FLAG_WRITABLE), -EIO,
                 "read-only config: REPLY_ACK says no");
    cr_assert(vu_frontend_connected(s.fe));
    struct vu_ring_cfg bad = ring_cfg(0);
    bad.num = 12; /* split rings are a power of two in size */
    cr_assert_eq(vu_frontend_start_ring(s.fe, &bad), -EIO, "%s", vu_frontend_last_error(s.fe));
    cr_assert(vu_frontend_connected(s.fe));
}

Test(be_session, config_outside_the_space_is_an_error_reply)
{
    uint8_t cfg[8];

    cr_assert_lt(vu_frontend_get_config(s.fe, 4, cfg, sizeof(cfg)), 0);
    end_session(0); /* the front-end hung up on the short reply; the back-end did nothing wrong */
}
