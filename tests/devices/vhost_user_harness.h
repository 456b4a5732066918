/*
 * Fixture for the vhost-user device tests: real guest RAM (gmem memfd), the recording
 * irq_chip, a real event loop on its own thread, the fake back-end of tests/vhost on a real
 * UNIX socket, and the device under test with its real virtio-mmio transport. Guest-driver
 * steps are 32-bit register accesses through the transport's bus callbacks.
 */
#ifndef MINIVMM_TESTS_VHOST_USER_HARNESS_H
#define MINIVMM_TESTS_VHOST_USER_HARNESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "fake_backend.h"
#include "fake_irq_chip.h"
#include "gmem.h"
#include "vhost_user_dev.h"
#include "virtio_mmio.h"
#include "virtio_spec.h"

#define VUH_RAM      (16ULL << 20)
#define VUH_BASE     0xD0000000ULL
#define VUH_GSI      5
#define VUH_DEV_BIT  3           /* a device-type feature the fake offers */
#define VUH_RING_GPA 0x200000ULL /* queue q's rings at VUH_RING_GPA + q * 0x10000 */

struct vuh {
    struct gmem gm;
    struct fake_irq_chip irq;
    struct evloop loop;
    pthread_t loop_thread;
    bool loop_running;
    int loop_ret;
    struct fake_backend fb;
    struct vhost_user_dev *d;
    struct virtio_mmio *t;
    int fds_before;
};

/* The fake's offer: VERSION_1, EVENT_IDX, VUH_DEV_BIT, bit 30, every protocol feature. */
struct fb_config vuh_cfg(void);

/* Starts RAM, irq_chip, loop and fake (config space filled with 0x10, 0x11, ...). */
void vuh_init(struct vuh *h, const struct fb_config *cfg);
/* Parses "socket=<fake>,<extra>" for type and creates the device (NULL allowed on failure). */
struct vhost_user_dev *vuh_create(struct vuh *h, const struct vhost_user_type *type,
                                  const char *extra);
/* vuh_init + vuh_create, asserting success. */
void vuh_start(struct vuh *h, const struct fb_config *cfg, const struct vhost_user_type *type,
               const char *extra);
/* Stops the loop, destroys everything, checks fds and (strict) the fake's violations. */
void vuh_fini(struct vuh *h, bool strict);

uint32_t vuh_rd(struct vuh *h, uint64_t off);
void vuh_wr(struct vuh *h, uint64_t off, uint32_t val);
uint32_t vuh_status(struct vuh *h);
/* ACKNOWLEDGE, DRIVER, features, FEATURES_OK (asserted to stick). */
void vuh_features_ok(struct vuh *h, uint64_t features);
/* Queues 0..nq-1 set up with num entries and QueueReady. */
void vuh_queues(struct vuh *h, unsigned int nq, uint32_t num);
void vuh_driver_ok(struct vuh *h);
/* The whole driver init with features, nq ready queues of num entries, DRIVER_OK. */
void vuh_init_driver(struct vuh *h, uint64_t features, unsigned int nq, uint32_t num);
/* Waits (up to 2 s) until cond() holds, polling. */
bool vuh_until(bool (*cond)(struct vuh *h), struct vuh *h);
bool vuh_needs_reset(struct vuh *h);

#endif
