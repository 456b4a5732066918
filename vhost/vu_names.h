/*
 * Human-readable names for vhost-user request ids (both directions) and protocol-feature bits,
 * used by log messages and the tracer. Unknown values get "UNKNOWN", never NULL.
 */
#ifndef MINIVMM_VU_NAMES_H
#define MINIVMM_VU_NAMES_H

#include <stddef.h>
#include <stdint.h>

const char *vu_name_request(uint32_t request);
const char *vu_name_backend_request(uint32_t request);
const char *vu_name_protocol_feature(unsigned int bit);
/* "MQ|REPLY_ACK|bit40" into buf (always NUL-terminated; "none" for 0). Returns buf. */
char *vu_name_protocol_features(uint64_t features, char *buf, size_t len);

#endif
