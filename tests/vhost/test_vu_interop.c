/*
 * The front-end library against a real back-end: qemu-storage-daemon's vhost-user-blk export
 * (libvhost-user). A split virtqueue is built by hand in memfd "guest RAM"; a read and a write
 * go through it with no VMM in the path, and the image file is checked. Skips loudly when the
 * daemon is not installed. No /dev/kvm needed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vu_frontend.h"

#define QSD           "/usr/bin/qemu-storage-daemon"
#define IMG_SIZE      (1u << 20)
#define RAM_SIZE      (2u << 20)
#define RING_NUM      16u
#define DESC_OFF      0x0000u
#define AVAIL_OFF     0x1000u
#define USED_OFF      0x2000u
#define REQ_OFF       0x10000u
#define DATA_OFF      0x11000u
#define STATUS_OFF    0x12000u
#define VIRTQ_F_NEXT  1u
#define VIRTQ_F_WRITE 2u
#define BLK_T_IN      0u
#define BLK_T_OUT     1u

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct blk_req_hdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
};

struct interop {
    char dir[64];
    char img[96];
    char sock[96];
    pid_t qsd;
    int ram_fd;
    uint8_t *ram; /* GPA 0 */
    int kick, call;
    struct vu_frontend *fe;
    uint16_t avail_idx;
};

extern char **environ;

static void start_daemon(struct interop *t)
{
    char blockdev[160], export[200];
    char *argv[] = {QSD, "--blockdev", blockdev, "--export", export, NULL};
    posix_spawn_file_actions_t fa;
    int fd;

    snprintf(blockdev, sizeof(blockdev), "driver=file,node-name=f,filename=%s", t->img);
    snprintf(export, sizeof(export),
             "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=%s,writable=on",
             t->sock);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    cr_assert_eq(posix_spawn(&t->qsd, QSD, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    (void)fd;
}

static void setup(struct interop *t)
{
    struct vu_frontend_opts o = {
        .name = "qsd-blk", .num_queues = 1, .reply_timeout_ms = 5000, .connect_timeout_ms = 10000};
    uint8_t sector[512];
    int img;

    if (access(QSD, X_OK) != 0) {
        /* In CI the real back-end is installed by tools/install-deps: a skip there is a failure. */
        cr_assert_str_neq(getenv("CI") ? getenv("CI") : "", "true", "%s missing in CI", QSD);
        cr_skip_test("%s not installed: real back-end interop not tested", QSD);
    }
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/vu-interop-XXXXXX");
    cr_assert_not_null(mkdtemp(t->dir));
    snprintf(t->img, sizeof(t->img), "%s/disk.img", t->dir);
    snprintf(t->sock, sizeof(t->sock), "%s/blk.sock", t->dir);
    img = open(t->img, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    cr_assert_geq(img, 0);
    for (unsigned int i = 0; i < IMG_SIZE / 512; i++) {
        memset(sector, (int)(i & 0xff), sizeof(sector));
        snprintf((char *)sector, 32, "sector %u", i);
        cr_assert_eq(write(img, sector, sizeof(sector)), (ssize_t)sizeof(sector));
    }
    close(img);
    start_daemon(t);
    t->ram_fd = memfd_create("interop-ram", MFD_CLOEXEC);
    cr_assert_eq(ftruncate(t->ram_fd, RAM_SIZE), 0);
    t->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->ram_fd, 0);
    cr_assert_neq(t->ram, MAP_FAILED);
    t->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    t->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    o.socket_path = t->sock;
    t->fe = vu_frontend_new(&o);
    cr_assert_not_null(t->fe);
}

static void teardown(struct interop *t)
{
    int status;

    vu_frontend_destroy(t->fe);
    kill(t->qsd, SIGTERM);
    waitpid(t->qsd, &status, 0);
    munmap(t->ram, RAM_SIZE);
    close(t->ram_fd);
    close(t->kick);
    close(t->call);
    unlink(t->img);
    unlink(t->sock);
    rmdir(t->dir);
}

static volatile uint16_t *used_idx(struct interop *t)
{
    return (volatile uint16_t *)(t->ram + USED_OFF + 2);
}

/* Queues a 3-descriptor virtio-blk request (header, 512-byte data, status) and kicks. */
static void submit(struct interop *t, uint32_t type, uint64_t sector)
{
    struct virtq_desc *d = (struct virtq_desc *)(t->ram + DESC_OFF);
    struct blk_req_hdr *h = (struct blk_req_hdr *)(t->ram + REQ_OFF);
    uint16_t *avail = (uint16_t *)(t->ram + AVAIL_OFF);
    uint16_t data_flags = type == BLK_T_IN ? VIRTQ_F_WRITE : 0;

    *h = (struct blk_req_hdr){.type = type, .sector = sector};
    t->ram[STATUS_OFF] = 0xff;
    d[0] = (struct virtq_desc){REQ_OFF, sizeof(*h), VIRTQ_F_NEXT, 1};
    d[1] = (struct virtq_desc){DATA_OFF, 512, VIRTQ_F_NEXT | data_flags, 2};
    d[2] = (struct virtq_desc){STATUS_OFF, 1, VIRTQ_F_WRITE, 0};
    avail[2 + t->avail_idx % RING_NUM] = 0; /* ring[] entry: head descriptor 0 */
    __atomic_store_n(&avail[1], (uint16_t)(t->avail_idx + 1), __ATOMIC_RELEASE);
    t->avail_idx++;
}

static void kick(struct interop *t)
{
    uint64_t one = 1;

    cr_assert_eq(write(t->kick, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Waits for the back-end to complete request number n (used->idx reaching n). */
static void wait_used(struct interop *t, uint16_t n)
{
    for (int i = 0; i < 500 && __atomic_load_n(used_idx(t), __ATOMIC_ACQUIRE) != n; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
    cr_assert_eq(*used_idx(t), n, "back-end completed %u requests, expected %u", *used_idx(t), n);
}

Test(vu_interop, qemu_storage_daemon_blk_read_write)
{
    struct vu_region region;
    struct vu_ring_cfg ring;
    struct interop t;
    uint64_t capacity = 0, features, calls = 0;
    uint8_t sector[512];
    uint32_t base = 0;
    int img;

    setup(&t);
    cr_assert_eq(vu_frontend_connect(t.fe), 0, "%s", vu_frontend_last_error(t.fe));
    features = vu_frontend_device_features(t.fe);
    cr_assert(features & VU_BIT(VU_F_VERSION_1), "libvhost-user needs VERSION_1");
    cr_assert(vu_frontend_has_protocol_feature(t.fe, VU_PF_CONFIG));
    cr_assert_eq(vu_frontend_get_config(t.fe, 0, &capacity, sizeof(capacity)), 0);
    cr_expect_eq(capacity, IMG_SIZE / 512);
    cr_assert_eq(vu_frontend_set_features(t.fe, VU_BIT(VU_F_VERSION_1)), 0, "%s",
                 vu_frontend_last_error(t.fe));
    region = (struct vu_region){
        .gpa = 0, .size = RAM_SIZE, .uaddr = (uintptr_t)t.ram, .mmap_offset = 0, .fd = t.ram_fd};
    cr_assert_eq(vu_frontend_set_mem_table(t.fe, &region, 1), 0, "%s",
                 vu_frontend_last_error(t.fe));
    /* A request queued before the ring starts: only the front-end's initial kick finds it. */
    submit(&t, BLK_T_IN, 5);
    ring = (struct vu_ring_cfg){.index = 0,
                                .num = RING_NUM,
                                .base = 0,
                                .desc_uaddr = (uintptr_t)t.ram + DESC_OFF,
                                .avail_uaddr = (uintptr_t)t.ram + AVAIL_OFF,
                                .used_uaddr = (uintptr_t)t.ram + USED_OFF,
                                .used_gpa = USED_OFF,
                                .kick_fd = t.kick,
                                .call_fd = t.call,
                                .err_fd = -1};
    cr_assert_eq(vu_frontend_start_ring(t.fe, &ring), 0, "%s", vu_frontend_last_error(t.fe));
    wait_used(&t, 1);
    cr_expect_eq(t.ram[STATUS_OFF], 0, "virtio-blk status");
    cr_expect_str_eq((const char *)t.ram + DATA_OFF, "sector 5");
    cr_expect_eq(read(t.call, &calls, sizeof(calls)), (ssize_t)sizeof(calls),
                 "the back-end signalled the call eventfd");

    /* A write, kicked the way the guest's ioeventfd would. */
    memset(t.ram + DATA_OFF, 0xab, 512);
    memcpy(t.ram + DATA_OFF, "written by the ring", 20);
    submit(&t, BLK_T_OUT, 7);
    kick(&t);
    wait_used(&t, 2);
    cr_expect_eq(t.ram[STATUS_OFF], 0);
    img = open(t.img, O_RDONLY | O_CLOEXEC);
    cr_assert_eq(pread(img, sector, sizeof(sector), 7 * 512), (ssize_t)sizeof(sector));
    close(img);
    cr_expect_str_eq((const char *)sector, "written by the ring");

    cr_assert_eq(vu_frontend_stop_ring(t.fe, 0, &base), 0, "%s", vu_frontend_last_error(t.fe));
    cr_expect_eq(base, 2, "next avail index after two requests");
    /* Restart from the returned base: everything is sent again and I/O still works. */
    ring.base = base;
    cr_assert_eq(vu_frontend_start_ring(t.fe, &ring), 0, "%s", vu_frontend_last_error(t.fe));
    submit(&t, BLK_T_IN, 7);
    kick(&t);
    wait_used(&t, 3);
    cr_expect_str_eq((const char *)t.ram + DATA_OFF, "written by the ring");
    cr_assert_eq(vu_frontend_stop_ring(t.fe, 0, &base), 0);
    teardown(&t);
}

Test(vu_interop, qemu_storage_daemon_profile_2017)
{
    struct vu_frontend_opts o;
    struct interop t;

    setup(&t);
    /* Re-create the session with the seed's protocol set: it must still work. */
    o = (struct vu_frontend_opts){.name = "qsd-2017",
                                  .socket_path = t.sock,
                                  .num_queues = 1,
                                  .profile = VU_PROFILE_2017,
                                  .reply_timeout_ms = 5000,
                                  .connect_timeout_ms = 10000};
    vu_frontend_destroy(t.fe);
    t.fe = vu_frontend_new(&o);
    cr_assert_eq(vu_frontend_connect(t.fe), 0, "%s", vu_frontend_last_error(t.fe));
    cr_expect_eq(vu_frontend_protocol_features(t.fe) & ~(VU_BIT(VU_PF_NET_MTU + 1) - 1), 0);
    cr_expect_eq(vu_frontend_backend_fd(t.fe), -1);
    cr_assert_eq(vu_frontend_set_features(t.fe, VU_BIT(VU_F_VERSION_1)), 0);
    teardown(&t);
}
