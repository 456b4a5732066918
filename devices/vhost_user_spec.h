/*
 * The "key=value,..." part of a vhost-user --device SPEC, parsed into plain data. Each device
 * kind says which keys it accepts; a bad or unknown key gives one reason naming the key
 * ("queues must be 1..64, not 0"). No allocation, no I/O.
 */
#ifndef MINIVMM_VHOST_USER_SPEC_H
#define MINIVMM_VHOST_USER_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "vu_frontend.h"

/* Keys, as a bit set a kind accepts. */
#define VHOST_USER_KEY_SOCKET          (1u << 0)  /* socket=PATH (required) */
#define VHOST_USER_KEY_SERVER          (1u << 1)  /* server=on|off: minivmm listens */
#define VHOST_USER_KEY_PROFILE         (1u << 2)  /* profile=modern|2017 */
#define VHOST_USER_KEY_QUEUES          (1u << 3)  /* queues=N */
#define VHOST_USER_KEY_QUEUE_SIZE      (1u << 4)  /* queue-size=N: QueueNumMax */
#define VHOST_USER_KEY_CONNECT_TIMEOUT (1u << 5)  /* connect-timeout=MS */
#define VHOST_USER_KEY_REPLY_TIMEOUT   (1u << 6)  /* reply-timeout=MS */
#define VHOST_USER_KEY_VIRTIO_ID       (1u << 7)  /* virtio-id=N (generic device) */
#define VHOST_USER_KEY_CONFIG_SIZE     (1u << 8)  /* config-size=N (generic device) */
#define VHOST_USER_KEY_MAC             (1u << 9)  /* mac=XX:XX:XX:XX:XX:XX (net) */
#define VHOST_USER_KEY_MTU             (1u << 10) /* mtu=N (net) */
#define VHOST_USER_KEY_TAG             (1u << 11) /* tag=TAG (fs) */
#define VHOST_USER_KEY_CONFIG          (1u << 12) /* config=HEX (generic: VMM-supplied config) */

/* What every vhost-user kind accepts. */
#define VHOST_USER_KEYS_COMMON                                                                     \
    (VHOST_USER_KEY_SOCKET | VHOST_USER_KEY_SERVER | VHOST_USER_KEY_PROFILE |                      \
     VHOST_USER_KEY_QUEUES | VHOST_USER_KEY_QUEUE_SIZE | VHOST_USER_KEY_CONNECT_TIMEOUT |          \
     VHOST_USER_KEY_REPLY_TIMEOUT)

#define VHOST_USER_SOCKET_MAX         108 /* sizeof(sun_path), NUL included */
#define VHOST_USER_TIMEOUT_MAX_MS     3600000u
#define VHOST_USER_CONNECT_TIMEOUT_MS 5000u /* default: a back-end may still be starting */
#define VHOST_USER_VIRTIO_ID_MAX      63u
#define VHOST_USER_MTU_MIN            68u    /* RFC 791's minimum; DPDK refuses less */
#define VHOST_USER_MTU_MAX            65535u /* virtio-net's mtu is a le16 */
#define VHOST_USER_TAG_MAX            36u    /* virtio-fs: tag[36], NUL-padded */

struct vhost_user_spec {
    char socket[VHOST_USER_SOCKET_MAX];
    bool server;
    enum vu_profile profile;
    unsigned int queues;      /* 0: not given (the kind's default) */
    unsigned int queue_size;  /* 0: not given; else a power of two 1..32768 */
    unsigned int virtio_id;   /* 0: not given */
    unsigned int config_size; /* bytes, 0..VU_CONFIG_MAX_SIZE */
    int connect_timeout_ms;   /* 0: try once */
    int reply_timeout_ms;     /* 0: the library's default */
    bool has_mac;             /* mac= given */
    uint8_t mac[6];
    unsigned int mtu;                 /* 0: not given */
    char tag[VHOST_USER_TAG_MAX + 1]; /* "": not given */
    unsigned int config_len;          /* config= bytes, 0: not given */
    uint8_t config[VU_CONFIG_MAX_SIZE];
};

/* Limits the kind puts on the keys it accepts. */
struct vhost_user_spec_limits {
    unsigned int keys;       /* VHOST_USER_KEY_* accepted */
    unsigned int max_queues; /* queues=1..max_queues */
};

/*
 * Parses args (what follows "kind," in the SPEC; may be empty) into *out, defaults first.
 * -EINVAL with a one-line reason in err naming the key; socket= is required.
 */
MUST_CHECK int vhost_user_spec_parse(const char *args, const struct vhost_user_spec_limits *lim,
                                     struct vhost_user_spec *out, char *err, size_t errlen);

#endif
