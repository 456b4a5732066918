/*
 * Shared set-up for the front-end tests (see fe_harness.h). Criterion runs each test in its
 * own process, so the process-wide log hook and fd counts are per test.
 */
#include "fe_harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static char last_log[512];

static void keep_last(enum vu_log_level level, const char *line, void *opaque)
{
    snprintf(last_log, sizeof(last_log), "%s", line);
}

const char *h_last_log(void)
{
    return last_log;
}

int h_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

struct fb_config h_cfg_all(void)
{
    return (struct fb_config){
        .features = H_DEV_FEATURE | VU_BIT(VU_F_VERSION_1) | VU_BIT(VU_F_PROTOCOL_FEATURES) |
                    VU_BIT(VU_F_LOG_ALL),
        .protocol_features = VU_BIT(VU_PF_COUNT) - 1,
        .queue_num = H_MAX_QUEUES,
        .max_mem_slots = 8,
    };
}

struct fb_config h_cfg_2017(void)
{
    return (struct fb_config){
        .features = H_DEV_FEATURE | VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_LOG_ALL),
        .protocol_features = VU_BIT(VU_PF_NET_MTU + 1) - 1,
        .queue_num = H_MAX_QUEUES,
    };
}

struct vu_frontend_opts h_opts(void)
{
    return (struct vu_frontend_opts){
        .name = "test0",
        .num_queues = 1,
        .reply_timeout_ms = 5000, /* generous: the machine is shared and slow */
    };
}

void h_init(struct harness *h, const struct fb_config *cfg, const struct vu_frontend_opts *opts)
{
    memset(h, 0, sizeof(*h));
    vu_log_set_hook(keep_last, NULL);
    h->fds_before = h_count_fds();
    cr_assert_eq(fake_backend_start(&h->fb, cfg), 0);
    h->opts = opts ? *opts : h_opts();
    if (!h->opts.socket_path)
        h->opts.socket_path = h->fb.path;
    h->fe = vu_frontend_new(&h->opts);
    cr_assert_not_null(h->fe);
    h->ram_fd = memfd_create("h-ram", MFD_CLOEXEC);
    cr_assert_geq(h->ram_fd, 0);
    cr_assert_eq(ftruncate(h->ram_fd, H_RAM_SIZE), 0);
    h->ram = mmap(NULL, H_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->ram_fd, 0);
    cr_assert_neq(h->ram, MAP_FAILED);
    h->region = (struct vu_region){.gpa = H_RAM_GPA,
                                   .size = H_RAM_SIZE,
                                   .uaddr = (uintptr_t)h->ram,
                                   .mmap_offset = 0,
                                   .fd = h->ram_fd};
    for (unsigned int q = 0; q < H_MAX_QUEUES; q++) {
        h->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        h->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        cr_assert(h->kick[q] >= 0 && h->call[q] >= 0);
    }
}

void h_connect(struct harness *h, const struct fb_config *cfg, const struct vu_frontend_opts *opts)
{
    h_init(h, cfg, opts);
    cr_assert_eq(vu_frontend_connect(h->fe), 0, "connect: %s", vu_frontend_last_error(h->fe));
}

void h_setup(struct harness *h)
{
    int ret = vu_frontend_set_features(h->fe, vu_frontend_device_features(h->fe));

    cr_assert_eq(ret, 0, "set_features: %s", vu_frontend_last_error(h->fe));
    ret = vu_frontend_set_mem_table(h->fe, &h->region, 1);
    cr_assert_eq(ret, 0, "set_mem_table: %s", vu_frontend_last_error(h->fe));
}

struct vu_ring_cfg h_ring(struct harness *h, unsigned int q)
{
    uint64_t base = (uintptr_t)h->ram + q * 0x4000u;

    cr_assert_lt(q, H_MAX_QUEUES);
    return (struct vu_ring_cfg){
        .index = q,
        .num = H_RING_NUM,
        .base = 0,
        .desc_uaddr = base,
        .avail_uaddr = base + 0x1000,
        .used_uaddr = base + 0x2000,
        .used_gpa = H_RAM_GPA + q * 0x4000u + 0x2000,
        .kick_fd = h->kick[q],
        .call_fd = h->call[q],
        .err_fd = -1,
    };
}

static void release(struct harness *h, bool check_violations)
{
    vu_frontend_destroy(h->fe);
    h->fe = NULL;
    fake_backend_stop(&h->fb); /* joined: its state is ours to read now */
    if (check_violations) {
        for (unsigned int i = 0; i < h->fb.nviolations; i++)
            cr_log_error("back-end saw: %s", h->fb.violations[i]);
        cr_expect_eq(h->fb.nviolations, 0, "the fake back-end saw %u protocol violations",
                     h->fb.nviolations);
    }
    munmap(h->ram, H_RAM_SIZE);
    close(h->ram_fd);
    for (unsigned int q = 0; q < H_MAX_QUEUES; q++) {
        close(h->kick[q]);
        close(h->call[q]);
    }
    cr_assert_eq(h_count_fds(), h->fds_before, "fd leak: %d open, %d before", h_count_fds(),
                 h->fds_before);
}

void h_fini(struct harness *h)
{
    release(h, true);
}

void h_fini_lenient(struct harness *h)
{
    release(h, false);
}
