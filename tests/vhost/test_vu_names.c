/*
 * vu_names and the wire header: every request id in both directions and every protocol bit has
 * a distinct name; wire sizes are what every peer expects (also checked at compile time).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vu_names.h"
#include "vu_wire.h"

Test(vu_names, every_request_named_once)
{
    for (uint32_t i = 1; i <= VU_REQ_MAX; i++) {
        cr_expect_str_neq(vu_name_request(i), "UNKNOWN", "request %u", i);
        for (uint32_t j = 1; j < i; j++)
            cr_expect_str_neq(vu_name_request(i), vu_name_request(j));
    }
    cr_expect_str_eq(vu_name_request(VU_REQ_NET_SET_MTU), "NET_SET_MTU");
    cr_expect_str_eq(vu_name_request(VU_REQ_GET_VRING_BASE_SKIP_DRAIN),
                     "GET_VRING_BASE_SKIP_DRAIN");
    cr_expect_str_eq(vu_name_request(VU_REQ_MAX + 1), "UNKNOWN");
    cr_expect_str_eq(vu_name_request(0xffffffffu), "UNKNOWN");
}

Test(vu_names, backend_requests_and_protocol_bits)
{
    for (uint32_t i = 1; i <= VU_BREQ_MAX; i++)
        cr_expect_str_neq(vu_name_backend_request(i), "UNKNOWN", "back-end request %u", i);
    cr_expect_str_eq(vu_name_backend_request(VU_BREQ_CONFIG_CHANGE_MSG),
                     "BACKEND_CONFIG_CHANGE_MSG");
    cr_expect_str_eq(vu_name_backend_request(11), "UNKNOWN");
    for (unsigned int b = 0; b < VU_PF_COUNT; b++)
        cr_expect_str_neq(vu_name_protocol_feature(b), "UNKNOWN", "bit %u", b);
    cr_expect_str_eq(vu_name_protocol_feature(VU_PF_SHMEM), "SHMEM");
    cr_expect_str_eq(vu_name_protocol_feature(VU_PF_COUNT), "UNKNOWN");
}

Test(vu_names, protocol_feature_list)
{
    char buf[64], tiny[8];

    cr_expect_str_eq(vu_name_protocol_features(0, buf, sizeof(buf)), "none");
    cr_expect_str_eq(vu_name_protocol_features(
                         VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_REPLY_ACK) | VU_BIT(40), buf, sizeof(buf)),
                     "MQ|REPLY_ACK|bit40");
    vu_name_protocol_features(~0ULL, tiny, sizeof(tiny));
    cr_expect_lt(strlen(tiny), sizeof(tiny), "truncated, still terminated");
}

Test(vu_names, wire_sizes)
{
    cr_expect_eq(sizeof(struct vu_wire_hdr), 12);
    cr_expect_eq(sizeof(struct vu_wire_vring_state), 8);
    cr_expect_eq(sizeof(struct vu_wire_vring_addr), 40);
    cr_expect_eq(sizeof(struct vu_wire_region), 32);
    cr_expect_eq(sizeof(struct vu_wire_single_region), 40);
    cr_expect_eq(sizeof(struct vu_wire_log), 16);
    cr_expect_eq(sizeof(struct vu_wire_config_hdr), 12);
    cr_expect_eq(sizeof(struct vu_wire_inflight), 24);
    cr_expect_eq(sizeof(struct vu_wire_vring_area), 24);
    cr_expect_eq(sizeof(struct vu_wire_device_state), 8);
    cr_expect_eq(VU_REPLY_FLAGS, 0x5);
    cr_expect_eq(VU_FLAG_NEED_REPLY, 0x8);
    cr_expect_eq(VU_VRING_NOFD_MASK, 0x100);
}
