/*
 * Name tables for the vhost-user protocol: request ids front-end -> back-end (1-45), back-end
 * channel ids (1-10) and protocol-feature bits (0-23), indexed by their wire value.
 */
#include "vu_names.h"
#include "vu_wire.h"

#include <stdio.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const request_names[] = {
    [VU_REQ_NONE] = "NONE",
    [VU_REQ_GET_FEATURES] = "GET_FEATURES",
    [VU_REQ_SET_FEATURES] = "SET_FEATURES",
    [VU_REQ_SET_OWNER] = "SET_OWNER",
    [VU_REQ_RESET_OWNER] = "RESET_OWNER",
    [VU_REQ_SET_MEM_TABLE] = "SET_MEM_TABLE",
    [VU_REQ_SET_LOG_BASE] = "SET_LOG_BASE",
    [VU_REQ_SET_LOG_FD] = "SET_LOG_FD",
    [VU_REQ_SET_VRING_NUM] = "SET_VRING_NUM",
    [VU_REQ_SET_VRING_ADDR] = "SET_VRING_ADDR",
    [VU_REQ_SET_VRING_BASE] = "SET_VRING_BASE",
    [VU_REQ_GET_VRING_BASE] = "GET_VRING_BASE",
    [VU_REQ_SET_VRING_KICK] = "SET_VRING_KICK",
    [VU_REQ_SET_VRING_CALL] = "SET_VRING_CALL",
    [VU_REQ_SET_VRING_ERR] = "SET_VRING_ERR",
    [VU_REQ_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
    [VU_REQ_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
    [VU_REQ_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
    [VU_REQ_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
    [VU_REQ_SEND_RARP] = "SEND_RARP",
    [VU_REQ_NET_SET_MTU] = "NET_SET_MTU",
    [VU_REQ_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
    [VU_REQ_IOTLB_MSG] = "IOTLB_MSG",
    [VU_REQ_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
    [VU_REQ_GET_CONFIG] = "GET_CONFIG",
    [VU_REQ_SET_CONFIG] = "SET_CONFIG",
    [VU_REQ_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
    [VU_REQ_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
    [VU_REQ_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
    [VU_REQ_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
    [VU_REQ_POSTCOPY_END] = "POSTCOPY_END",
    [VU_REQ_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
    [VU_REQ_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
    [VU_REQ_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
    [VU_REQ_RESET_DEVICE] = "RESET_DEVICE",
    [VU_REQ_VRING_KICK] = "VRING_KICK",
    [VU_REQ_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
    [VU_REQ_ADD_MEM_REG] = "ADD_MEM_REG",
    [VU_REQ_REM_MEM_REG] = "REM_MEM_REG",
    [VU_REQ_SET_STATUS] = "SET_STATUS",
    [VU_REQ_GET_STATUS] = "GET_STATUS",
    [VU_REQ_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
    [VU_REQ_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
    [VU_REQ_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
    [VU_REQ_GET_SHMEM_CONFIG] = "GET_SHMEM_CONFIG",
    [VU_REQ_GET_VRING_BASE_SKIP_DRAIN] = "GET_VRING_BASE_SKIP_DRAIN",
};
_Static_assert(ARRAY_LEN(request_names) == VU_REQ_MAX + 1, "a name for every request");

static const char *const backend_request_names[] = {
    [VU_BREQ_NONE] = "NONE",
    [VU_BREQ_IOTLB_MSG] = "BACKEND_IOTLB_MSG",
    [VU_BREQ_CONFIG_CHANGE_MSG] = "BACKEND_CONFIG_CHANGE_MSG",
    [VU_BREQ_VRING_HOST_NOTIFIER_MSG] = "BACKEND_VRING_HOST_NOTIFIER_MSG",
    [VU_BREQ_VRING_CALL] = "BACKEND_VRING_CALL",
    [VU_BREQ_VRING_ERR] = "BACKEND_VRING_ERR",
    [VU_BREQ_SHARED_OBJECT_ADD] = "BACKEND_SHARED_OBJECT_ADD",
    [VU_BREQ_SHARED_OBJECT_REMOVE] = "BACKEND_SHARED_OBJECT_REMOVE",
    [VU_BREQ_SHARED_OBJECT_LOOKUP] = "BACKEND_SHARED_OBJECT_LOOKUP",
    [VU_BREQ_SHMEM_MAP] = "BACKEND_SHMEM_MAP",
    [VU_BREQ_SHMEM_UNMAP] = "BACKEND_SHMEM_UNMAP",
};
_Static_assert(ARRAY_LEN(backend_request_names) == VU_BREQ_MAX + 1, "a name for every request");

static const char *const protocol_feature_names[] = {
    [VU_PF_MQ] = "MQ",
    [VU_PF_LOG_SHMFD] = "LOG_SHMFD",
    [VU_PF_RARP] = "RARP",
    [VU_PF_REPLY_ACK] = "REPLY_ACK",
    [VU_PF_NET_MTU] = "NET_MTU",
    [VU_PF_BACKEND_REQ] = "BACKEND_REQ",
    [VU_PF_CROSS_ENDIAN] = "CROSS_ENDIAN",
    [VU_PF_CRYPTO_SESSION] = "CRYPTO_SESSION",
    [VU_PF_PAGEFAULT] = "PAGEFAULT",
    [VU_PF_CONFIG] = "CONFIG",
    [VU_PF_BACKEND_SEND_FD] = "BACKEND_SEND_FD",
    [VU_PF_HOST_NOTIFIER] = "HOST_NOTIFIER",
    [VU_PF_INFLIGHT_SHMFD] = "INFLIGHT_SHMFD",
    [VU_PF_RESET_DEVICE] = "RESET_DEVICE",
    [VU_PF_INBAND_NOTIFICATIONS] = "INBAND_NOTIFICATIONS",
    [VU_PF_CONFIGURE_MEM_SLOTS] = "CONFIGURE_MEM_SLOTS",
    [VU_PF_STATUS] = "STATUS",
    [VU_PF_XEN_MMAP] = "XEN_MMAP",
    [VU_PF_SHARED_OBJECT] = "SHARED_OBJECT",
    [VU_PF_DEVICE_STATE] = "DEVICE_STATE",
    [VU_PF_GET_VRING_BASE_INFLIGHT] = "GET_VRING_BASE_INFLIGHT",
    [VU_PF_GPA_ADDRESSES] = "GPA_ADDRESSES",
    [VU_PF_SHMEM] = "SHMEM",
    [VU_PF_GET_VRING_BASE_SKIP_DRAIN] = "GET_VRING_BASE_SKIP_DRAIN",
};
_Static_assert(ARRAY_LEN(protocol_feature_names) == VU_PF_COUNT, "a name for every bit");

const char *vu_name_request(uint32_t request)
{
    return request < ARRAY_LEN(request_names) ? request_names[request] : "UNKNOWN";
}

const char *vu_name_backend_request(uint32_t request)
{
    return request < ARRAY_LEN(backend_request_names) ? backend_request_names[request] : "UNKNOWN";
}

const char *vu_name_protocol_feature(unsigned int bit)
{
    return bit < ARRAY_LEN(protocol_feature_names) ? protocol_feature_names[bit] : "UNKNOWN";
}

char *vu_name_protocol_features(uint64_t features, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (features == 0) {
        snprintf(buf, len, "none");
        return buf;
    }
    for (unsigned int bit = 0; bit < 64; bit++) {
        int n;

        if (!(features & VU_BIT(bit)))
            continue;
        if (bit < VU_PF_COUNT)
            n = snprintf(buf + used, len - used, "%s%s", used ? "|" : "",
                         protocol_feature_names[bit]);
        else
            n = snprintf(buf + used, len - used, "%sbit%u", used ? "|" : "", bit);
        if (n < 0 || (size_t)n >= len - used)
            break; /* truncated: keep what fits */
        used += (size_t)n;
    }
    return buf;
}
