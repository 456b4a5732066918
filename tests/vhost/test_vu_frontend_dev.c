/*
 * Whole-device requests of the front-end against the fake back-end: config space, inflight
 * buffer, reset, status, dirty logging, back-end state transfer, memory slots, SEND_RARP and
 * NET_SET_MTU - including the local refusals when a feature was not negotiated.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe_harness.h"
#include "vu_dirty_log.h"

static uint64_t last_u64(struct harness *h, uint32_t req, struct fb_msg *m)
{
    uint64_t v;

    cr_assert(fake_backend_last(&h->fb, req, m), "no %u sent", req);
    memcpy(&v, m->payload, sizeof(v));
    return v;
}

Test(vu_frontend_dev, config_round_trip)
{
    struct fb_config cfg = h_cfg_all();
    uint8_t out[8] = {1, 2, 3, 4, 5, 6, 7, 8}, in[8] = {0};
    struct harness h;

    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_set_config(h.fe, 0x20, out, sizeof(out), VU_CONFIG_FLAG_WRITABLE), 0);
    cr_assert_eq(vu_frontend_get_config(h.fe, 0x20, in, sizeof(in)), 0);
    cr_expect_arr_eq(in, out, sizeof(out));
    cr_expect_eq(vu_frontend_get_config(h.fe, 0, in, 0), -EINVAL);
    cr_expect_eq(vu_frontend_get_config(h.fe, 0x1000, in, 4), -EINVAL);
    cr_expect_eq(vu_frontend_set_config(h.fe, 0, out, 4, 7), -EINVAL);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_CONFIG), 1);
    h_fini(&h);
}

Test(vu_frontend_dev, config_needs_the_feature)
{
    struct fb_config cfg = h_cfg_all();
    uint8_t buf[4];
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_CONFIG);
    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_get_config(h.fe, 0, buf, 4), -EOPNOTSUPP);
    cr_expect_neq(strstr(vu_frontend_last_error(h.fe), "CONFIG not negotiated"), NULL, "%s",
                  vu_frontend_last_error(h.fe));
    cr_expect(vu_frontend_connected(h.fe));
    h_fini(&h);
}

Test(vu_frontend_dev, inflight_get_and_set)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_inflight inf;
    struct harness h;
    struct fb_msg m;
    struct stat st;

    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_get_inflight(h.fe, 2, 128, &inf), -EINVAL); /* before features */
    cr_expect_eq(inf.fd, -1);
    h_setup(&h);
    cr_assert_eq(vu_frontend_get_inflight(h.fe, 2, 128, &inf), 0, "%s",
                 vu_frontend_last_error(h.fe));
    cr_assert_geq(inf.fd, 0);
    cr_expect_eq(fstat(inf.fd, &st), 0);
    cr_expect_eq(inf.mmap_size, 4096);
    cr_expect_eq(inf.num_queues, 2);
    cr_expect_eq(inf.queue_size, 128);
    cr_assert_eq(vu_frontend_set_inflight(h.fe, &inf), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_INFLIGHT_FD, &m));
    cr_expect_eq(m.size, 24);
    cr_expect_eq(m.nfds, 1);
    close(inf.fd);
    h_fini(&h);
}

Test(vu_frontend_dev, reset_device_forgets_rings)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    r = h_ring(&h, 0);
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_assert_eq(vu_frontend_reset(h.fe), 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_RESET_DEVICE), 1);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_RESET_OWNER), 0);
    cr_expect_not(vu_frontend_ring_started(h.fe, 0));
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), -EINVAL); /* features + memory again */
    h_setup(&h);
    cr_expect_eq(vu_frontend_start_ring(h.fe, &r), 0);
    h_fini(&h);
}

Test(vu_frontend_dev, reset_without_reset_device_is_unsupported)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_RESET_DEVICE);
    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_reset(h.fe), -EOPNOTSUPP);
    /* RESET_OWNER is deprecated (DPDK tears the device down): only the 2017 profile uses it. */
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_RESET_OWNER), 0);
    h_fini(&h);
}

Test(vu_frontend_dev, status_round_trip)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    uint8_t st = 0;

    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_set_status(h.fe, 0x0f), 0);
    cr_assert_eq(vu_frontend_get_status(h.fe, &st), 0);
    cr_expect_eq(st, 0x0f);
    h_fini(&h);
}

Test(vu_frontend_dev, status_reply_above_a_byte_is_a_protocol_error)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    uint8_t st;

    h_connect(&h, &cfg, NULL);
    pthread_mutex_lock(&h.fb.lock);
    h.fb.status = 0x1ff;
    pthread_mutex_unlock(&h.fb.lock);
    cr_expect_eq(vu_frontend_get_status(h.fe, &st), -EPROTO);
    cr_expect_not(vu_frontend_connected(h.fe));
    h_fini(&h);
}

static void logging_round(bool reply_u64)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_dirty_log log;
    struct vu_wire_vring_addr a;
    struct vu_ring_cfg r;
    struct harness h;
    struct fb_msg m;
    uint8_t *theirs;

    cfg.log_reply_u64 = reply_u64;
    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    r = h_ring(&h, 0);
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_expect_eq(vu_frontend_set_logging(h.fe, true), -EINVAL); /* no log base yet */
    cr_assert_eq(vu_dirty_log_create(&log, H_RAM_GPA + H_RAM_SIZE), 0);
    cr_assert_eq(vu_frontend_set_log_base(h.fe, &log), 0, "%s", vu_frontend_last_error(h.fe));
    cr_assert_eq(vu_frontend_set_logging(h.fe, true), 0, "%s", vu_frontend_last_error(h.fe));
    cr_expect(last_u64(&h, VU_REQ_SET_FEATURES, &m) & VU_BIT(VU_F_LOG_ALL));
    cr_expect(m.flags & VU_FLAG_NEED_REPLY);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ADDR, &m));
    memcpy(&a, m.payload, sizeof(a));
    cr_expect_eq(a.flags, VU_VRING_F_LOG);
    cr_expect_eq(a.log, r.used_gpa);
    /* The back-end marks a page through its own mapping of the log fd; we see it. */
    pthread_mutex_lock(&h.fb.lock);
    cr_assert_geq(h.fb.log_fd, 0);
    cr_expect_eq(h.fb.log_size, log.size);
    theirs = mmap(NULL, log.size, PROT_READ | PROT_WRITE, MAP_SHARED, h.fb.log_fd, 0);
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert_neq(theirs, MAP_FAILED);
    theirs[(H_RAM_GPA / 4096) / 8] |= 1u << ((H_RAM_GPA / 4096) % 8);
    cr_expect(vu_dirty_log_test(&log, H_RAM_GPA));
    cr_expect_not(vu_dirty_log_test(&log, H_RAM_GPA + 4096));
    munmap(theirs, log.size);
    cr_assert_eq(vu_frontend_set_logging(h.fe, false), 0);
    cr_expect_not(last_u64(&h, VU_REQ_SET_FEATURES, &m) & VU_BIT(VU_F_LOG_ALL));
    cr_expect(vu_frontend_ring_started(h.fe, 0), "logging changes never stop rings");
    vu_dirty_log_destroy(&log);
    h_fini(&h);
}

Test(vu_frontend_dev, dirty_logging_dpdk_style_reply)
{
    logging_round(false);
}

Test(vu_frontend_dev, dirty_logging_libvhost_user_style_reply)
{
    logging_round(true);
}

Test(vu_frontend_dev, logging_without_reply_ack_uses_a_barrier)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_dirty_log log;
    struct harness h;
    struct fb_msg m;
    unsigned int n;

    cfg.protocol_features &= ~VU_BIT(VU_PF_REPLY_ACK);
    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    cr_assert_eq(vu_dirty_log_create(&log, H_RAM_GPA + H_RAM_SIZE), 0);
    cr_assert_eq(vu_frontend_set_log_base(h.fe, &log), 0);
    cr_assert_eq(vu_frontend_set_logging(h.fe, true), 0);
    /* SET_FEATURES(LOG_ALL) then GET_FEATURES: its reply proves the first was processed. */
    n = fake_backend_count(&h.fb, 0);
    cr_assert(fake_backend_msg(&h.fb, n - 2, &m));
    cr_expect_eq(m.request, VU_REQ_SET_FEATURES);
    cr_expect_eq(m.flags, VU_VERSION);
    cr_assert(fake_backend_msg(&h.fb, n - 1, &m));
    cr_expect_eq(m.request, VU_REQ_GET_FEATURES);
    vu_dirty_log_destroy(&log);
    h_fini(&h);
}

Test(vu_frontend_dev, migration_blocker_without_log_shmfd)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_dirty_log log = {.fd = -1};
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_LOG_SHMFD);
    h_connect(&h, &cfg, NULL);
    cr_assert_not_null(vu_frontend_migration_blocker(h.fe));
    cr_expect_neq(strstr(vu_frontend_migration_blocker(h.fe), "LOG_SHMFD"), NULL);
    cr_expect_eq(vu_frontend_set_log_base(h.fe, &log), -EOPNOTSUPP);
    h_fini(&h);
}

Test(vu_frontend_dev, device_state_transfer)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;
    int p[2], reply_fd;
    uint32_t base;

    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    r = h_ring(&h, 0);
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_expect_eq(vu_frontend_set_device_state_fd(h.fe, VU_DEVSTATE_DIR_SAVE, p[1], &reply_fd),
                 -EBUSY, "only while suspended");
    cr_assert_eq(vu_frontend_stop_ring(h.fe, 0, &base), 0);
    cr_assert_eq(vu_frontend_set_device_state_fd(h.fe, VU_DEVSTATE_DIR_SAVE, p[1], &reply_fd), 0,
                 "%s", vu_frontend_last_error(h.fe));
    cr_expect_eq(reply_fd, -1, "back-end kept our fd (bit 8)");
    cr_expect_eq(vu_frontend_check_device_state(h.fe), 0);
    pthread_mutex_lock(&h.fb.lock);
    h.fb.cfg.devstate_return_fd = true;
    pthread_mutex_unlock(&h.fb.lock);
    cr_assert_eq(vu_frontend_set_device_state_fd(h.fe, VU_DEVSTATE_DIR_LOAD, p[1], &reply_fd), 0);
    cr_expect_geq(reply_fd, 0);
    close(reply_fd);
    close(p[0]);
    close(p[1]);
    h_fini(&h);
}

Test(vu_frontend_dev, add_and_remove_memory_regions)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_region lo, hi;
    struct harness h;
    struct fb_msg m;

    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_set_features(h.fe, 0), 0);
    lo = hi = h.region;
    lo.size = hi.size = H_RAM_SIZE / 2;
    hi.gpa += H_RAM_SIZE / 2;
    hi.uaddr += H_RAM_SIZE / 2;
    hi.mmap_offset = H_RAM_SIZE / 2;
    cr_assert_eq(vu_frontend_add_mem_region(h.fe, &lo), 0, "%s", vu_frontend_last_error(h.fe));
    cr_assert_eq(vu_frontend_add_mem_region(h.fe, &hi), 0);
    cr_expect_eq(vu_frontend_add_mem_region(h.fe, &hi), -EINVAL, "overlap refused");
    memcpy(h.ram + H_RAM_SIZE / 2, "hi", 3);
    cr_expect_str_eq((const char *)fake_backend_gpa(&h.fb, hi.gpa, 3), "hi");
    cr_assert_eq(vu_frontend_rem_mem_region(h.fe, &hi), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_REM_MEM_REG, &m));
    cr_expect_eq(m.nfds, 0, "REM_MEM_REG never carries an fd");
    cr_expect_null(fake_backend_gpa(&h.fb, hi.gpa, 3));
    cr_expect_eq(vu_frontend_rem_mem_region(h.fe, &hi), -ENOENT);
    h_fini(&h);
}

Test(vu_frontend_dev, mem_slots_need_the_feature)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;

    cfg.protocol_features &= ~VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS);
    h_connect(&h, &cfg, NULL);
    cr_expect_eq(vu_frontend_max_mem_slots(h.fe), 8);
    cr_expect_eq(vu_frontend_add_mem_region(h.fe, &h.region), -EOPNOTSUPP);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_GET_MAX_MEM_SLOTS), 0);
    h_fini(&h);
}

Test(vu_frontend_dev, rarp_and_mtu)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    struct fb_msg m;

    cfg.fault = FB_FAULT_NACK;
    cfg.fault_req = VU_REQ_NET_SET_MTU;
    h_connect(&h, &cfg, NULL);
    cr_assert_eq(vu_frontend_send_rarp(h.fe, mac), 0);
    last_u64(&h, VU_REQ_SEND_RARP, &m);
    cr_expect_arr_eq(m.payload, mac, 6);
    cr_expect_eq(vu_frontend_net_set_mtu(h.fe, 67), -EINVAL);
    cr_expect_eq(vu_frontend_net_set_mtu(h.fe, 65536), -EINVAL);
    /* With REPLY_ACK the back-end validates the MTU: a refusal is an error. */
    cr_expect_eq(vu_frontend_net_set_mtu(h.fe, 1500), -EIO);
    cr_expect_eq(vu_frontend_net_set_mtu(h.fe, 9000), 0);
    cr_expect_eq(last_u64(&h, VU_REQ_NET_SET_MTU, &m), 9000);
    h_fini(&h);
}
