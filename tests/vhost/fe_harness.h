/*
 * Test harness for the vhost-user front-end tests: a fake back-end, a front-end connected to
 * it, 2 MiB of memfd "guest RAM" with rings laid out in it, kick/call eventfds, a log hook
 * that keeps the last line, and an fd-leak check around the whole test.
 */
#ifndef MINIVMM_TESTS_FE_HARNESS_H
#define MINIVMM_TESTS_FE_HARNESS_H

#include <stdint.h>

#include "fake_backend.h"
#include "vu_frontend.h"

#define H_RAM_SIZE    (2u << 20)
#define H_RAM_GPA     0x100000ull
#define H_RING_NUM    256u
#define H_MAX_QUEUES  4u
#define H_DEV_FEATURE VU_BIT(0) /* some device feature the fake offers */

struct harness {
    struct fake_backend fb;
    struct vu_frontend *fe;
    struct vu_frontend_opts opts;
    int ram_fd;
    uint8_t *ram;
    struct vu_region region;
    int kick[H_MAX_QUEUES];
    int call[H_MAX_QUEUES];
    int fds_before;
};

/* Everything the fake can offer: device bit 0, VERSION_1, bit 30, LOG_ALL, all protocol bits. */
struct fb_config h_cfg_all(void);
/* Like the 2017-era back-ends: bit 30 and protocol bits 0-4 only. */
struct fb_config h_cfg_2017(void);
struct vu_frontend_opts h_opts(void);

int h_count_fds(void);
/* Starts fake + front-end (not connected). opts may be NULL for h_opts(). */
void h_init(struct harness *h, const struct fb_config *cfg, const struct vu_frontend_opts *opts);
/* h_init + vu_frontend_connect, asserting success. */
void h_connect(struct harness *h, const struct fb_config *cfg, const struct vu_frontend_opts *opts);
/* SET_FEATURES (every offered device feature) + SET_MEM_TABLE of the RAM region. */
void h_setup(struct harness *h);
/* Ring q laid out in RAM, with the harness eventfds. */
struct vu_ring_cfg h_ring(struct harness *h, unsigned int q);
/* Destroys everything and asserts no fd leaked and the fake saw no violation. */
void h_fini(struct harness *h);
/* Same without the violation check (tests that provoke them). */
void h_fini_lenient(struct harness *h);
const char *h_last_log(void);

#endif
