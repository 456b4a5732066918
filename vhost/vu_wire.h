/*
 * vhost-user wire format: plain data only. Every constant of the protocol (request ids in both
 * directions, header flags, feature and protocol-feature bits) and every payload layout, with its
 * wire size checked at compile time. Header and payloads are separate structs (vhost-user.md §2).
 */
#ifndef MINIVMM_VU_WIRE_H
#define MINIVMM_VU_WIRE_H

#include <stdint.h>

#define VU_BIT(b) (1ULL << (b))

/* Header flags (§2.1): version in bits 0-1 must be 1; bits 4-31 are reserved (zero). */
#define VU_VERSION           0x1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY        (1u << 2)
#define VU_FLAG_NEED_REPLY   (1u << 3)
#define VU_FLAGS_RESERVED    (~0xfu)
/* The only flags value a reply may carry (QEMU and rust-vmm compare exactly). */
#define VU_REPLY_FLAGS (VU_FLAG_REPLY | VU_VERSION)

/* Front-end -> back-end requests (§4). 0 is reserved and never sent (libvhost-user exit(0)s). */
enum vu_request {
    VU_REQ_NONE = 0,
    VU_REQ_GET_FEATURES = 1,
    VU_REQ_SET_FEATURES = 2,
    VU_REQ_SET_OWNER = 3,
    VU_REQ_RESET_OWNER = 4,
    VU_REQ_SET_MEM_TABLE = 5,
    VU_REQ_SET_LOG_BASE = 6,
    VU_REQ_SET_LOG_FD = 7,
    VU_REQ_SET_VRING_NUM = 8,
    VU_REQ_SET_VRING_ADDR = 9,
    VU_REQ_SET_VRING_BASE = 10,
    VU_REQ_GET_VRING_BASE = 11,
    VU_REQ_SET_VRING_KICK = 12,
    VU_REQ_SET_VRING_CALL = 13,
    VU_REQ_SET_VRING_ERR = 14,
    VU_REQ_GET_PROTOCOL_FEATURES = 15,
    VU_REQ_SET_PROTOCOL_FEATURES = 16,
    VU_REQ_GET_QUEUE_NUM = 17,
    VU_REQ_SET_VRING_ENABLE = 18,
    VU_REQ_SEND_RARP = 19,
    VU_REQ_NET_SET_MTU = 20, /* last request of the 2017 protocol */
    VU_REQ_SET_BACKEND_REQ_FD = 21,
    VU_REQ_IOTLB_MSG = 22,
    VU_REQ_SET_VRING_ENDIAN = 23,
    VU_REQ_GET_CONFIG = 24,
    VU_REQ_SET_CONFIG = 25,
    VU_REQ_CREATE_CRYPTO_SESSION = 26,
    VU_REQ_CLOSE_CRYPTO_SESSION = 27,
    VU_REQ_POSTCOPY_ADVISE = 28,
    VU_REQ_POSTCOPY_LISTEN = 29,
    VU_REQ_POSTCOPY_END = 30,
    VU_REQ_GET_INFLIGHT_FD = 31,
    VU_REQ_SET_INFLIGHT_FD = 32,
    VU_REQ_GPU_SET_SOCKET = 33,
    VU_REQ_RESET_DEVICE = 34,
    VU_REQ_VRING_KICK = 35,
    VU_REQ_GET_MAX_MEM_SLOTS = 36,
    VU_REQ_ADD_MEM_REG = 37,
    VU_REQ_REM_MEM_REG = 38,
    VU_REQ_SET_STATUS = 39,
    VU_REQ_GET_STATUS = 40,
    VU_REQ_GET_SHARED_OBJECT = 41,
    VU_REQ_SET_DEVICE_STATE_FD = 42,
    VU_REQ_CHECK_DEVICE_STATE = 43,
    VU_REQ_GET_SHMEM_CONFIG = 44,
    VU_REQ_GET_VRING_BASE_SKIP_DRAIN = 45,
    VU_REQ_MAX = 45,
};
#define VU_REQ_MAX_2017 VU_REQ_NET_SET_MTU

/* Back-end -> front-end requests on the back-end channel (§5). */
enum vu_backend_request {
    VU_BREQ_NONE = 0,
    VU_BREQ_IOTLB_MSG = 1,
    VU_BREQ_CONFIG_CHANGE_MSG = 2,
    VU_BREQ_VRING_HOST_NOTIFIER_MSG = 3,
    VU_BREQ_VRING_CALL = 4,
    VU_BREQ_VRING_ERR = 5,
    VU_BREQ_SHARED_OBJECT_ADD = 6,
    VU_BREQ_SHARED_OBJECT_REMOVE = 7,
    VU_BREQ_SHARED_OBJECT_LOOKUP = 8,
    VU_BREQ_SHMEM_MAP = 9,
    VU_BREQ_SHMEM_UNMAP = 10,
    VU_BREQ_MAX = 10,
};

/* VIRTIO / vhost feature bits the front-end handles itself (§3.1). */
#define VU_F_LOG_ALL           26
#define VU_F_PROTOCOL_FEATURES 30 /* never offered to the guest; put back by the front-end */
#define VU_F_VERSION_1         32
#define VU_F_IOMMU_PLATFORM    33
#define VU_F_RING_PACKED       34

/* Protocol feature bits (§3.2). */
enum vu_protocol_feature {
    VU_PF_MQ = 0,
    VU_PF_LOG_SHMFD = 1,
    VU_PF_RARP = 2,
    VU_PF_REPLY_ACK = 3,
    VU_PF_NET_MTU = 4, /* last bit of the 2017 protocol */
    VU_PF_BACKEND_REQ = 5,
    VU_PF_CROSS_ENDIAN = 6,
    VU_PF_CRYPTO_SESSION = 7,
    VU_PF_PAGEFAULT = 8,
    VU_PF_CONFIG = 9,
    VU_PF_BACKEND_SEND_FD = 10,
    VU_PF_HOST_NOTIFIER = 11,
    VU_PF_INFLIGHT_SHMFD = 12,
    VU_PF_RESET_DEVICE = 13,
    VU_PF_INBAND_NOTIFICATIONS = 14,
    VU_PF_CONFIGURE_MEM_SLOTS = 15,
    VU_PF_STATUS = 16,
    VU_PF_XEN_MMAP = 17,
    VU_PF_SHARED_OBJECT = 18,
    VU_PF_DEVICE_STATE = 19,
    VU_PF_GET_VRING_BASE_INFLIGHT = 20,
    VU_PF_GPA_ADDRESSES = 21,
    VU_PF_SHMEM = 22,
    VU_PF_GET_VRING_BASE_SKIP_DRAIN = 23,
    VU_PF_COUNT = 24,
};

/* Ring-index u64 of SET_VRING_KICK/CALL/ERR: bits 0-7 the ring, bit 8 "no fd attached". */
#define VU_VRING_IDX_MASK  0xffu
#define VU_VRING_NOFD_MASK 0x100u
#define VU_MAX_RINGS       256u
/* vring address flags: bit 0 asks the back-end to log used-ring writes. */
#define VU_VRING_F_LOG 0x1u

#define VU_MAX_FDS         8u    /* per message: back-ends size their control buffer for 8 */
#define VU_MEM_MAX_REGIONS 8u    /* SET_MEM_TABLE baseline */
#define VU_CONFIG_MAX_SIZE 256u  /* QEMU's cap on a config payload */
#define VU_PAYLOAD_MAX     4096u /* rust-vmm MAX_MSG_SIZE; larger sizes are protocol errors */
#define VU_LOG_PAGE        4096u /* one dirty-log bit per 4 KiB guest page */
#define VU_MAX_RING_SIZE   32768u

/* SET_CONFIG flags (a value, not bits, in the spec). */
#define VU_CONFIG_FLAG_WRITABLE  0u
#define VU_CONFIG_FLAG_MIGRATION 1u

/* SET_DEVICE_STATE_FD. */
#define VU_DEVSTATE_DIR_SAVE       0u
#define VU_DEVSTATE_DIR_LOAD       1u
#define VU_DEVSTATE_PHASE_STOPPED  0u
#define VU_DEVSTATE_REPLY_ERR_MASK 0xffu
#define VU_DEVSTATE_REPLY_NOFD     0x100u

struct vu_wire_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size; /* payload bytes that follow */
};

struct vu_wire_vring_state {
    uint32_t index;
    uint32_t num;
};

struct vu_wire_vring_addr {
    uint32_t index;
    uint32_t flags; /* VU_VRING_F_LOG */
    uint64_t desc;  /* front-end user addresses */
    uint64_t used;
    uint64_t avail;
    uint64_t log; /* guest-physical address of the used ring */
};

struct vu_wire_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;
    uint64_t mmap_offset;
};

struct vu_wire_mem_table {
    uint32_t nregions;
    uint32_t padding;
    struct vu_wire_region regions[VU_MEM_MAX_REGIONS]; /* only nregions are sent */
};

struct vu_wire_single_region {
    uint64_t padding;
    struct vu_wire_region region;
};

struct vu_wire_log {
    uint64_t mmap_size;
    uint64_t mmap_offset;
};

struct vu_wire_config_hdr {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
};

struct vu_wire_config {
    struct vu_wire_config_hdr hdr;
    uint8_t data[VU_CONFIG_MAX_SIZE]; /* only hdr.size bytes are sent */
};

struct vu_wire_vring_area {
    uint64_t u64; /* ring index bits 0-7, bit 8 no fd */
    uint64_t size;
    uint64_t offset;
};

/* 20 bytes of fields, but every peer requires the padded C size, 24. */
struct vu_wire_inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
};

struct vu_wire_iotlb {
    uint64_t iova;
    uint64_t size;
    uint64_t uaddr;
    uint8_t perm;
    uint8_t type;
};

struct vu_wire_device_state {
    uint32_t direction;
    uint32_t phase;
};

union vu_wire_payload {
    uint64_t u64;
    struct vu_wire_vring_state state;
    struct vu_wire_vring_addr addr;
    struct vu_wire_mem_table mem;
    struct vu_wire_single_region single;
    struct vu_wire_log log;
    struct vu_wire_config config;
    struct vu_wire_vring_area area;
    struct vu_wire_inflight inflight;
    struct vu_wire_iotlb iotlb;
    struct vu_wire_device_state devstate;
    uint8_t raw[VU_PAYLOAD_MAX];
};

_Static_assert(sizeof(struct vu_wire_hdr) == 12, "vhost-user header is 12 bytes");
_Static_assert(sizeof(struct vu_wire_vring_state) == 8, "vring state is 8 bytes");
_Static_assert(sizeof(struct vu_wire_vring_addr) == 40, "vring address is 40 bytes");
_Static_assert(sizeof(struct vu_wire_region) == 32, "memory region is 32 bytes");
_Static_assert(sizeof(struct vu_wire_mem_table) == 8 + 32 * VU_MEM_MAX_REGIONS,
               "memory table is 8 + 32 * n bytes");
_Static_assert(sizeof(struct vu_wire_single_region) == 40, "single region is 40 bytes");
_Static_assert(sizeof(struct vu_wire_log) == 16, "log description is 16 bytes");
_Static_assert(sizeof(struct vu_wire_config_hdr) == 12, "config header is 12 bytes");
_Static_assert(sizeof(struct vu_wire_config) == 12 + VU_CONFIG_MAX_SIZE, "config payload");
_Static_assert(sizeof(struct vu_wire_vring_area) == 24, "vring area is 24 bytes");
_Static_assert(sizeof(struct vu_wire_inflight) == 24, "inflight is 24 bytes (padded)");
_Static_assert(sizeof(struct vu_wire_iotlb) == 32, "IOTLB message is 32 bytes (padded)");
_Static_assert(sizeof(struct vu_wire_device_state) == 8, "device state transfer is 8 bytes");
_Static_assert(sizeof(union vu_wire_payload) == VU_PAYLOAD_MAX, "payload buffer");

#endif
