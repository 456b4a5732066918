/*
 * Typed vhost-user requests: one function per request, each a thin wrapper over a helper for
 * its message shape. Every reply is validated (flags exactly REPLY|VERSION, request id echoed,
 * exact size for fixed-size replies); any mismatch is -EPROTO.
 *
 * What callers may rely on:
 * - 0 or -errno; -EIO means the back-end answered "failed" (non-zero u64 ack or error code),
 *   -EPROTO a malformed reply, -ETIMEDOUT / -ECONNRESET / -EPIPE the transport. After -EPROTO,
 *   -ETIMEDOUT or a transport error the stream may be out of sync: close the connection.
 * - The request layer is stateless: the session chooses how to wait (enum vu_wait) from what
 *   was negotiated. VU_WAIT_ACK must only be used once REPLY_ACK is negotiated.
 * - fd < 0 means "no fd": for the vring fd requests that sets the NOFD bit (and the NOFD bit is
 *   set exactly then); fd 0 is a real fd. fds passed in stay owned by the caller; fds returned
 *   (inflight, device state) belong to the caller. Unexpected fds in replies are closed.
 */
#ifndef MINIVMM_VU_REQ_H
#define MINIVMM_VU_REQ_H

#include <stdint.h>

#include "vu_conn.h"

enum vu_wait {
    VU_WAIT_NONE,    /* fire and forget */
    VU_WAIT_ACK,     /* NEED_REPLY, then read the u64 ack (non-zero: -EIO) */
    VU_WAIT_BARRIER, /* follow with GET_FEATURES: replies come in order, so it was processed */
};

/* Helpers, one per message shape; exported for tests and for requests not wrapped below. */
VU_MUST_CHECK int vu_req_read_reply(struct vu_conn *c, uint32_t request, struct vu_msg *reply);
VU_MUST_CHECK int vu_req_send(struct vu_conn *c, uint32_t request, enum vu_wait wait,
                              const void *payload, uint32_t size, const int *fds,
                              unsigned int nfds);
VU_MUST_CHECK int vu_req_get_u64(struct vu_conn *c, uint32_t request, uint64_t *val);
VU_MUST_CHECK int vu_req_set_u64(struct vu_conn *c, uint32_t request, uint64_t val,
                                 enum vu_wait wait);
VU_MUST_CHECK int vu_req_vring_state(struct vu_conn *c, uint32_t request, uint32_t index,
                                     uint32_t num, enum vu_wait wait);
VU_MUST_CHECK int vu_req_vring_fd(struct vu_conn *c, uint32_t request, uint32_t index, int fd,
                                  enum vu_wait wait);
VU_MUST_CHECK int vu_req_mem_region(struct vu_conn *c, uint32_t request,
                                    const struct vu_wire_region *r, int fd, enum vu_wait wait);

/* No payload, no reply of their own. */
VU_MUST_CHECK int vu_req_set_owner(struct vu_conn *c, enum vu_wait wait);
VU_MUST_CHECK int vu_req_reset_owner(struct vu_conn *c, enum vu_wait wait);
VU_MUST_CHECK int vu_req_reset_device(struct vu_conn *c, enum vu_wait wait);

/* u64 queries (always replied). */
VU_MUST_CHECK int vu_req_get_features(struct vu_conn *c, uint64_t *features);
VU_MUST_CHECK int vu_req_get_protocol_features(struct vu_conn *c, uint64_t *features);
VU_MUST_CHECK int vu_req_get_queue_num(struct vu_conn *c, uint64_t *num);
VU_MUST_CHECK int vu_req_get_max_mem_slots(struct vu_conn *c, uint64_t *slots);
VU_MUST_CHECK int vu_req_get_status(struct vu_conn *c, uint64_t *status);
/* CHECK_DEVICE_STATE: a non-zero result is -EIO. */
VU_MUST_CHECK int vu_req_check_device_state(struct vu_conn *c);

/* u64 setters. */
VU_MUST_CHECK int vu_req_set_features(struct vu_conn *c, uint64_t features, enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_protocol_features(struct vu_conn *c, uint64_t features,
                                               enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_status(struct vu_conn *c, uint64_t status, enum vu_wait wait);
VU_MUST_CHECK int vu_req_net_set_mtu(struct vu_conn *c, uint64_t mtu, enum vu_wait wait);
/* The MAC goes in the first 6 bytes of the u64 payload. */
VU_MUST_CHECK int vu_req_send_rarp(struct vu_conn *c, const uint8_t mac[6], enum vu_wait wait);

/* Rings. */
VU_MUST_CHECK int vu_req_set_vring_num(struct vu_conn *c, uint32_t index, uint32_t num,
                                       enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_vring_base(struct vu_conn *c, uint32_t index, uint32_t base,
                                        enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_vring_enable(struct vu_conn *c, uint32_t index, bool enable,
                                          enum vu_wait wait);
/* GET_VRING_BASE stops the ring; the reply's index must match. */
VU_MUST_CHECK int vu_req_get_vring_base(struct vu_conn *c, uint32_t index, uint32_t *base);
VU_MUST_CHECK int vu_req_set_vring_addr(struct vu_conn *c, const struct vu_wire_vring_addr *a,
                                        enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_vring_kick(struct vu_conn *c, uint32_t index, int fd,
                                        enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_vring_call(struct vu_conn *c, uint32_t index, int fd,
                                        enum vu_wait wait);
VU_MUST_CHECK int vu_req_set_vring_err(struct vu_conn *c, uint32_t index, int fd,
                                       enum vu_wait wait);

/* Memory. n in 1..8, one fd per region in the same order. */
VU_MUST_CHECK int vu_req_set_mem_table(struct vu_conn *c, const struct vu_wire_region *regions,
                                       const int *fds, unsigned int n, enum vu_wait wait);
VU_MUST_CHECK int vu_req_add_mem_reg(struct vu_conn *c, const struct vu_wire_region *r, int fd,
                                     enum vu_wait wait);
/* REM_MEM_REG never carries an fd (DPDK rejects one). */
VU_MUST_CHECK int vu_req_rem_mem_reg(struct vu_conn *c, const struct vu_wire_region *r,
                                     enum vu_wait wait);
/*
 * With fd >= 0 (LOG_SHMFD) the back-end always replies; a reply of 0 or 8 bytes is accepted
 * (DPDK sends 0, libvhost-user 8) and its value ignored, as QEMU does.
 */
VU_MUST_CHECK int vu_req_set_log_base(struct vu_conn *c, uint64_t size, uint64_t offset, int fd);
VU_MUST_CHECK int vu_req_set_log_fd(struct vu_conn *c, int fd, enum vu_wait wait);

/* Back-end channel, config space, inflight, device state. */
VU_MUST_CHECK int vu_req_set_backend_req_fd(struct vu_conn *c, int fd, enum vu_wait wait);
/* Reply must be 12 + size bytes with the same offset and size; data is copied to buf. */
VU_MUST_CHECK int vu_req_get_config(struct vu_conn *c, uint32_t offset, uint32_t size, void *buf);
VU_MUST_CHECK int vu_req_set_config(struct vu_conn *c, uint32_t offset, uint32_t size,
                                    uint32_t flags, const void *buf, enum vu_wait wait);
/* Reply exactly 24 bytes; *fd is the buffer fd, or -1 when mmap_size is 0 (no buffer). */
VU_MUST_CHECK int vu_req_get_inflight_fd(struct vu_conn *c, uint16_t num_queues,
                                         uint16_t queue_size, struct vu_wire_inflight *out,
                                         int *fd);
VU_MUST_CHECK int vu_req_set_inflight_fd(struct vu_conn *c, const struct vu_wire_inflight *in,
                                         int fd, enum vu_wait wait);
/* Reply u64: error bits -> -EIO; *reply_fd is the back-end's fd, or -1 if it kept ours. */
VU_MUST_CHECK int vu_req_set_device_state_fd(struct vu_conn *c, uint32_t direction, uint32_t phase,
                                             int fd, int *reply_fd);

#endif
