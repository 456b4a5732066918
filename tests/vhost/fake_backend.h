/*
 * A scripted vhost-user back-end for tests: listens on a real UNIX socket in a temp directory
 * and serves the front-end from its own thread. It reads messages the strict way (DPDK-like:
 * the 12-byte header in one recvmsg with the fds, then the payload) with its own code, checks
 * every request against what strict back-ends reject (vhost-user.md §15) and records each
 * breach as a violation, maps the memory table, and can inject faults at a chosen message.
 */
#ifndef MINIVMM_TESTS_FAKE_BACKEND_H
#define MINIVMM_TESTS_FAKE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vu_wire.h"

#define FB_LOG_MAX        512
#define FB_PAYLOAD_KEEP   300
#define FB_MAX_RINGS      16
#define FB_MAX_VIOLATIONS 16

enum fb_fault {
    FB_FAULT_NONE,
    FB_FAULT_CLOSE,     /* close the connection when the message arrives, no reply */
    FB_FAULT_GARBAGE,   /* answer with a garbage header (huge size) */
    FB_FAULT_WRONG_REQ, /* answer with another request id */
    FB_FAULT_BAD_FLAGS, /* answer with flags 0x1 (REPLY missing) */
    FB_FAULT_BAD_SIZE,  /* answer with a 4-byte payload */
    FB_FAULT_SHORT,     /* header announces 8 bytes, send 4, then close */
    FB_FAULT_HANG,      /* take the message and never answer (nor read again) */
    FB_FAULT_NACK,      /* ack with u64 1 (failure) */
};

struct fb_config {
    uint64_t features;          /* GET_FEATURES */
    uint64_t protocol_features; /* GET_PROTOCOL_FEATURES */
    uint64_t queue_num;         /* GET_QUEUE_NUM */
    uint64_t max_mem_slots;     /* GET_MAX_MEM_SLOTS */
    bool log_reply_u64;         /* SET_LOG_BASE reply of 8 bytes (libvhost-user) vs 0 (DPDK) */
    bool devstate_return_fd;    /* SET_DEVICE_STATE_FD returns a pipe end */
    const char *connect_to;     /* non-NULL: connect to this listening front-end instead */
    enum fb_fault fault;
    unsigned int fault_at; /* 1-based message number on a connection; 0: use fault_req */
    uint32_t fault_req;    /* else: first message with this request id */
};

struct fb_msg {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
    unsigned int nfds;
    uint8_t payload[FB_PAYLOAD_KEEP];
};

struct fb_region {
    struct vu_wire_region r;
    uint8_t *map; /* mapping of mmap_offset + size bytes from fd offset 0 */
    size_t map_len;
};

struct fake_backend {
    char dir[64];
    char path[108];
    struct fb_config cfg;
    pthread_t thread;
    bool thread_started;
    int listen_fd;
    int stop_fd; /* eventfd: tells the thread to finish */

    pthread_mutex_t lock; /* protects everything below */
    pthread_cond_t cond;
    int conn_fd;
    unsigned int connections;
    unsigned int msgs_on_conn;
    struct fb_msg log[FB_LOG_MAX];
    unsigned int nlog;
    char violations[FB_MAX_VIOLATIONS][192];
    unsigned int nviolations;
    uint64_t acked_features;
    uint64_t acked_protocol;
    bool features_set;
    bool owner_set;
    bool hung;
    struct fb_region regions[VU_MEM_MAX_REGIONS];
    unsigned int nregions;
    int kick_fd[FB_MAX_RINGS];
    int call_fd[FB_MAX_RINGS];
    int err_fd[FB_MAX_RINGS];
    bool kick_nofd[FB_MAX_RINGS];
    bool ring_started[FB_MAX_RINGS];
    bool ring_enabled[FB_MAX_RINGS];
    uint32_t ring_num[FB_MAX_RINGS];
    uint32_t ring_base[FB_MAX_RINGS];
    int chan_fd; /* back-end channel from SET_BACKEND_REQ_FD */
    int log_fd;  /* from SET_LOG_BASE */
    uint64_t log_size;
    uint8_t config[VU_CONFIG_MAX_SIZE];
    uint64_t status;
};

/* Starts listening and serving; 0 or -errno. */
int fake_backend_start(struct fake_backend *fb, const struct fb_config *cfg);
/* Stops the thread and releases every fd and mapping it holds. */
void fake_backend_stop(struct fake_backend *fb);
void fake_backend_set_fault(struct fake_backend *fb, enum fb_fault f, unsigned int at,
                            uint32_t req);

/* Waits until `count` messages with id `req` arrived (any request if req is 0). */
bool fake_backend_wait(struct fake_backend *fb, uint32_t req, unsigned int count, int timeout_ms);
unsigned int fake_backend_count(struct fake_backend *fb, uint32_t req);
/* Copy of the i-th logged message (false past the end). */
bool fake_backend_msg(struct fake_backend *fb, unsigned int i, struct fb_msg *out);
/* Last message with id req (false if none). */
bool fake_backend_last(struct fake_backend *fb, uint32_t req, struct fb_msg *out);
unsigned int fake_backend_violations(struct fake_backend *fb);
const char *fake_backend_violation(struct fake_backend *fb, unsigned int i);

/* Guest memory through the mapped memory table; NULL if [gpa, gpa+len) is not mapped. */
const void *fake_backend_gpa(struct fake_backend *fb, uint64_t gpa, size_t len);
/* The back-end's copy of ring q's kick/call fd (-1 if none). */
int fake_backend_kick_fd(struct fake_backend *fb, unsigned int q);
int fake_backend_call_fd(struct fake_backend *fb, unsigned int q);

/* Back-end channel, driven from the test thread. send: 0 or -errno. reply: reads one reply. */
int fake_backend_chan_send(struct fake_backend *fb, uint32_t req, uint32_t flags,
                           const void *payload, uint32_t size, int fd);
int fake_backend_chan_reply(struct fake_backend *fb, struct vu_wire_hdr *hdr, uint64_t *val);
/* Closes the back-end's end of the channel (the front-end then sees EOF). */
void fake_backend_chan_close(struct fake_backend *fb);

#endif
