/*
 * Session-wide behaviour: the 2017 profile sends only seed-era requests (1-20) and protocol
 * bits (0-4) even to a back-end that offers everything; fd 0 is a real fd (stdin closed, as
 * in a daemonised VMM); every message is traced; counters count.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd_zero.h"
#include "fe_harness.h"
#include "vu_dirty_log.h"

static struct vu_frontend_opts opts_2017(void)
{
    struct vu_frontend_opts o = h_opts();

    o.profile = VU_PROFILE_2017;
    return o;
}

/* Calls every entry point a device could use; returns how many were refused locally. */
static unsigned int exercise_everything(struct harness *h)
{
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    struct vu_ring_cfg r = h_ring(h, 0);
    struct vu_dirty_log log;
    struct vu_inflight inf = {.fd = -1};
    unsigned int refused = 0;
    uint8_t buf[4], st;
    uint32_t base;
    int fd = -1;

    h_setup(h);
    cr_assert_eq(vu_frontend_start_ring(h->fe, &r), 0, "%s", vu_frontend_last_error(h->fe));
    cr_assert_eq(vu_dirty_log_create(&log, H_RAM_GPA + H_RAM_SIZE), 0);
    cr_expect_eq(vu_frontend_set_log_base(h->fe, &log), 0);
    cr_expect_eq(vu_frontend_set_logging(h->fe, true), 0);
    cr_expect_eq(vu_frontend_set_logging(h->fe, false), 0);
    cr_expect_eq(vu_frontend_send_rarp(h->fe, mac), 0);
    cr_expect_eq(vu_frontend_net_set_mtu(h->fe, 1500), 0);
    refused += vu_frontend_get_config(h->fe, 0, buf, 4) == -EOPNOTSUPP;
    refused += vu_frontend_set_config(h->fe, 0, buf, 4, 0) == -EOPNOTSUPP;
    refused += vu_frontend_get_inflight(h->fe, 1, 256, &inf) == -EOPNOTSUPP;
    refused += vu_frontend_set_status(h->fe, 1) == -EOPNOTSUPP;
    refused += vu_frontend_get_status(h->fe, &st) == -EOPNOTSUPP;
    refused += vu_frontend_add_mem_region(h->fe, &h->region) == -EOPNOTSUPP;
    refused += vu_frontend_rem_mem_region(h->fe, &h->region) == -EOPNOTSUPP;
    refused += vu_frontend_check_device_state(h->fe) == -EOPNOTSUPP;
    cr_expect_eq(vu_frontend_stop_ring(h->fe, 0, &base), 0);
    refused += vu_frontend_set_device_state_fd(h->fe, 0, h->kick[3], &fd) == -EOPNOTSUPP;
    cr_expect_eq(vu_frontend_reset(h->fe), 0);
    vu_dirty_log_destroy(&log);
    if (inf.fd >= 0)
        close(inf.fd);
    if (fd >= 0)
        close(fd);
    return refused;
}

Test(vu_frontend_profile, profile_2017_sends_only_seed_requests)
{
    struct fb_config cfg = h_cfg_all(); /* offers every protocol bit */
    struct vu_frontend_opts o = opts_2017();
    struct harness h;
    struct fb_msg m;
    uint64_t proto;

    h_connect(&h, &cfg, &o);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_PROTOCOL_FEATURES, &m));
    memcpy(&proto, m.payload, sizeof(proto));
    cr_expect_eq(proto, VU_BIT(VU_PF_NET_MTU + 1) - 1,
                 "2017 acks MQ LOG_SHMFD RARP "
                 "REPLY_ACK NET_MTU only, got 0x%llx",
                 (unsigned long long)proto);
    cr_expect_eq(vu_frontend_backend_fd(h.fe), -1);
    cr_expect_eq(exercise_everything(&h), 9);
    for (unsigned int i = 0; fake_backend_msg(&h.fb, i, &m); i++)
        cr_expect(m.request >= 1 && m.request <= VU_REQ_MAX_2017, "message %u is request %u", i,
                  m.request);
    /* The seed reset with RESET_OWNER. */
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_RESET_OWNER), 1);
    h_fini(&h);
}

Test(vu_frontend_profile, modern_profile_uses_modern_requests)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;

    h_connect(&h, &cfg, NULL);
    cr_expect_eq(exercise_everything(&h), 0, "nothing is out of the modern profile");
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_RESET_DEVICE), 1);
    cr_expect_gt(fake_backend_count(&h.fb, VU_REQ_GET_STATUS), 0);
    h_fini(&h);
}

Test(vu_frontend_profile, memfd_on_fd_0_is_sent)
{
    struct fb_config cfg = h_cfg_all();
    struct harness h;
    struct vu_region r;
    uint8_t *ram;
    int fd, saved;

    /* A daemonised VMM: the first fd created lands on 0. */
    fd = memfd_create("ram-on-0", MFD_CLOEXEC);
    cr_assert_geq(fd, 0);
    saved = fd_zero_take(fd);
    fd = 0;
    h_connect(&h, &cfg, NULL);
    cr_assert_eq(ftruncate(fd, H_RAM_SIZE), 0);
    ram = mmap(NULL, H_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_neq(ram, MAP_FAILED);
    memcpy(ram + 4096, "fd zero is a real fd", 21);
    r = h.region;
    r.fd = 0;
    r.uaddr = (uintptr_t)ram;
    cr_assert_eq(vu_frontend_set_features(h.fe, 0), 0);
    cr_assert_eq(vu_frontend_set_mem_table(h.fe, &r, 1), 0, "%s", vu_frontend_last_error(h.fe));
    cr_expect_str_eq((const char *)fake_backend_gpa(&h.fb, H_RAM_GPA + 4096, 21),
                     "fd zero is a real fd");
    munmap(ram, H_RAM_SIZE);
    h_fini(&h);
    fd_zero_restore(saved);
}

Test(vu_frontend_profile, kick_eventfd_on_fd_0_is_sent)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_ring_cfg r;
    struct harness h;
    struct fb_msg m;
    uint64_t v, kick;
    int efd, saved;

    efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    cr_assert_geq(efd, 0);
    saved = fd_zero_take(efd);
    efd = 0;
    h_connect(&h, &cfg, NULL);
    h_setup(&h);
    r = h_ring(&h, 0);
    r.kick_fd = 0;
    cr_assert_eq(vu_frontend_start_ring(h.fe, &r), 0);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_KICK, &m));
    memcpy(&v, m.payload, sizeof(v));
    cr_expect_eq(v & VU_VRING_NOFD_MASK, 0, "fd 0 sent as NOFD (the 2017 fd > 0 bug)");
    cr_expect_eq(m.nfds, 1);
    /* It is the same eventfd: the back-end sees the initial kick on its copy. */
    cr_assert_geq(fake_backend_kick_fd(&h.fb, 0), 0);
    cr_expect_eq(read(fake_backend_kick_fd(&h.fb, 0), &kick, 8), 8);
    cr_expect_eq(kick, 1);
    h_fini(&h);
    fd_zero_restore(saved);
}

Test(vu_frontend_profile, trace_every_message_both_ways)
{
    struct fb_config cfg = h_cfg_all();
    struct vu_frontend_opts o = h_opts();
    struct vu_frontend_stats st;
    struct harness h;
    char *text = NULL;
    size_t len = 0;
    unsigned int lines = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    o.trace = f;
    h_connect(&h, &cfg, &o);
    h_setup(&h);
    fflush(f);
    cr_expect_neq(strstr(text, "vhost-user[test0] fe>be GET_FEATURES(1) flags=0x1[v1]"), NULL, "%s",
                  text);
    cr_expect_neq(strstr(text, "be>fe GET_FEATURES(1) flags=0x5[v1|REPLY] size=8 { u64="), NULL);
    cr_expect_neq(strstr(text, "SET_MEM_TABLE(5) flags=0x9[v1|NEED_REPLY] size=40 { nregions=1"),
                  NULL);
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        lines++;
    vu_frontend_get_stats(h.fe, &st);
    cr_expect_eq(lines, st.sent + st.received);
    cr_expect_eq(st.sent, fake_backend_count(&h.fb, 0));
    /* Counters survive a reconnect. */
    vu_frontend_disconnect(h.fe);
    cr_assert_eq(vu_frontend_connect(h.fe), 0);
    vu_frontend_get_stats(h.fe, &st);
    cr_expect_eq(st.sent, fake_backend_count(&h.fb, 0));
    h_fini(&h);
    fclose(f);
    free(text);
}
