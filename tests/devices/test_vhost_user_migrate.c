/*
 * Tests for devices/vhost_user_migrate.c against the fake back-end: the LOG_SHMFD blocker,
 * logging on and off (SET_LOG_BASE, LOG_ALL, VHOST_VRING_F_LOG with the used ring's guest
 * address), the shared log the back-end writes, ring stop and restart from the bases, and
 * a second device resuming from the first one's saved state.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost_user_generic.h"
#include "vhost_user_harness.h"
#include "vhost_user_migrate.h"

#define DRV_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VUH_DEV_BIT))
#define GENERIC      "virtio-id=42,queues=2,config-size=16"

static struct vumig *start(struct vuh *h, struct fb_config *cfg)
{
    vuh_start(h, cfg, &vhost_user_generic_type, GENERIC);
    struct vumig *m = vumig_create(h->d);
    cr_assert_not_null(m);
    return m;
}

Test(vhost_user_migrate, a_backend_without_log_shmfd_blocks_migration)
{
    struct fb_config cfg = vuh_cfg();
    struct vuh h;

    cfg.features |= VU_BIT(VU_F_LOG_ALL);
    cfg.protocol_features &= ~VU_BIT(VU_PF_LOG_SHMFD);
    struct vumig *m = start(&h, &cfg);
    const char *why = vumig_blocker(m);
    cr_assert_not_null(why);
    cr_expect(strstr(why, "LOG_SHMFD"), "%s", why);
    vumig_destroy(m);
    vuh_fini(&h, true);

    cfg = vuh_cfg();
    cfg.features &= ~VU_BIT(VU_F_LOG_ALL);
    m = start(&h, &cfg);
    why = vumig_blocker(m);
    cr_assert_not_null(why);
    cr_expect(strstr(why, "LOG_ALL"), "%s", why);
    vumig_destroy(m);
    vuh_fini(&h, true);

    cfg = vuh_cfg();
    cfg.features |= VU_BIT(VU_F_LOG_ALL);
    m = start(&h, &cfg);
    cr_expect_null(vumig_blocker(m));
    vumig_destroy(m);
    vuh_fini(&h, true);
}

Test(vhost_user_migrate, logging_on_and_off_on_running_rings)
{
    struct fb_config cfg = vuh_cfg();
    struct fb_msg msg;
    struct vuh h;
    uint64_t n;

    cfg.features |= VU_BIT(VU_F_LOG_ALL);
    struct vumig *m = start(&h, &cfg);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    cr_assert_eq(vumig_log_start(m, gmem_end(&h.gm)), 0);
    cr_expect_eq(fake_backend_count(&h.fb, VU_REQ_SET_LOG_BASE), 1);
    cr_expect(h.fb.acked_features & VU_BIT(VU_F_LOG_ALL), "LOG_ALL not set");
    cr_expect_eq(h.fb.log_size, gmem_end(&h.gm) / 4096 / 8);
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ADDR, &msg));
    struct vu_wire_vring_addr addr;
    memcpy(&addr, msg.payload, sizeof(addr));
    cr_expect(addr.flags & VU_VRING_F_LOG);
    uint64_t used = VUH_RING_GPA + addr.index * 0x10000ULL + 0xc000; /* vuh_queues' layout */
    cr_expect_eq(addr.log, used, "log address %#llx is the used ring's guest address %#llx",
                 (unsigned long long)addr.log, (unsigned long long)used);

    /* A back-end write lands in the bitmap we read. */
    uint64_t *words = vumig_log_words(m, &n);
    cr_assert_not_null(words);
    cr_assert_eq(n * 8, h.fb.log_size);
    uint8_t *theirs = mmap(NULL, h.fb.log_size, PROT_READ | PROT_WRITE, MAP_SHARED, h.fb.log_fd, 0);
    cr_assert_neq(theirs, MAP_FAILED);
    theirs[0x345000 / 4096 / 8] |= 1u << (0x345000 / 4096 % 8);
    cr_expect(words[0x345000 / 4096 / 64] >> (0x345000 / 4096 % 64) & 1);
    munmap(theirs, h.fb.log_size);

    vumig_log_stop(m);
    cr_expect_not(h.fb.acked_features & VU_BIT(VU_F_LOG_ALL), "LOG_ALL still set");
    cr_assert(fake_backend_last(&h.fb, VU_REQ_SET_VRING_ADDR, &msg));
    memcpy(&addr, msg.payload, sizeof(addr));
    cr_expect_eq(addr.flags & VU_VRING_F_LOG, 0);
    cr_expect_null(vumig_log_words(m, &n));
    vumig_destroy(m);
    vuh_fini(&h, true);
}

Test(vhost_user_migrate, stop_then_restart_from_the_bases)
{
    struct fb_config cfg = vuh_cfg();
    struct vumig_state st;
    struct vuh h;

    struct vumig *m = start(&h, &cfg);
    vuh_init_driver(&h, DRV_FEATURES, 2, 64);
    /* The back-end consumed some requests: its GET_VRING_BASE answers say where. */
    h.fb.ring_base[0] = 11;
    h.fb.ring_base[1] = 22;
    cr_assert_eq(vumig_stop(m), 0);
    cr_expect(!h.fb.ring_started[0] && !h.fb.ring_started[1]);
    vumig_save(m, &st);
    cr_expect_eq(st.stopped, 3);
    cr_expect_eq(st.bases[0], 11);
    cr_expect_eq(st.bases[1], 22);
    cr_expect(st.mmio.activated);
    h.fb.ring_base[0] = h.fb.ring_base[1] = 0;
    cr_assert_eq(vumig_restart(m), 0);
    cr_expect(h.fb.ring_started[0] && h.fb.ring_started[1]);
    cr_expect_eq(h.fb.ring_base[0], 11, "SET_VRING_BASE carries the saved base");
    cr_expect_eq(h.fb.ring_base[1], 22);
    cr_expect_eq(vuh_status(&h) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    vumig_destroy(m);
    vuh_fini(&h, true);
}

Test(vhost_user_migrate, a_second_device_resumes_from_the_saved_state)
{
    struct fb_config cfg = vuh_cfg();
    struct vumig_state *st = calloc(1, sizeof(*st));
    char why[160];
    struct vuh a, b;

    struct vumig *ma = start(&a, &cfg);
    vuh_init_driver(&a, DRV_FEATURES, 2, 64);
    a.fb.ring_base[0] = 5;
    a.fb.ring_base[1] = 9;
    cr_assert_eq(vumig_stop(ma), 0);
    vumig_save(ma, st);
    vumig_destroy(ma);
    vuh_fini(&a, true);

    /* The destination: same device, fresh back-end session, nothing started yet. */
    struct vumig *mb = start(&b, &cfg);
    cr_assert_eq(vumig_load(mb, st, why, sizeof(why)), 0, "%s", why);
    cr_expect_eq(fake_backend_count(&b.fb, VU_REQ_SET_VRING_BASE), 0, "load starts nothing");
    cr_expect_eq(vuh_status(&b) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
    cr_assert_eq(vumig_go(mb), 0);
    cr_expect(b.fb.ring_started[0] && b.fb.ring_started[1]);
    cr_expect_eq(b.fb.ring_base[0], 5);
    cr_expect_eq(b.fb.ring_base[1], 9);
    cr_expect_eq(b.fb.acked_features, DRV_FEATURES | VU_BIT(VU_F_PROTOCOL_FEATURES));
    cr_expect_eq(fake_irq_ioeventfds_at(&b.irq, VIRTIO_MMIO_QUEUE_NOTIFY), 2,
                 "kicks wired to the back-end");
    /* The guest's next reset stops it like any running device. */
    vuh_wr(&b, VIRTIO_MMIO_STATUS, 0);
    cr_expect(!b.fb.ring_started[0] && !b.fb.ring_started[1]);
    vumig_destroy(mb);
    vuh_fini(&b, true);
    free(st);
}
