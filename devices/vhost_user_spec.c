/*
 * Parser for the key=value list of a vhost-user --device SPEC: one table of keys, one checked
 * parser per kind of value, every error naming the key and what it accepts.
 */
#include "vhost_user_spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "virtio_spec.h"

struct vus_key {
    const char *name;
    unsigned int bit;
    int (*set)(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim, const char *val,
               size_t len, char *err, size_t errlen);
};

__attribute__((format(printf, 3, 4))) static int vus_bad(char *err, size_t errlen, const char *fmt,
                                                         ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool vus_is(const char *val, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(val, word, len) == 0;
}

/* A plain decimal in [min, max]: no sign, spaces or base prefix. */
static int vus_uint(const char *key, const char *val, size_t len, unsigned int min,
                    unsigned int max, unsigned int *out, char *err, size_t errlen)
{
    uint64_t v = 0;

    if (len == 0 || len > 10)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)val[i]))
            goto bad;
        v = v * 10 + (uint64_t)(val[i] - '0');
    }
    if (v < min || v > max)
        goto bad;
    *out = (unsigned int)v;
    return 0;
bad:
    return vus_bad(err, errlen, "%s must be %u..%u, not '%.*s'", key, min, max, (int)len, val);
}

static int vus_socket(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                      const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (len == 0)
        return vus_bad(err, errlen, "socket must not be empty");
    if (len >= sizeof(s->socket))
        return vus_bad(err, errlen, "socket path longer than %zu bytes (a UNIX socket limit)",
                       sizeof(s->socket) - 1);
    memcpy(s->socket, val, len);
    s->socket[len] = '\0';
    return 0;
}

static int vus_server(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                      const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (vus_is(val, len, "on"))
        s->server = true;
    else if (vus_is(val, len, "off"))
        s->server = false;
    else
        return vus_bad(err, errlen, "server must be on or off, not '%.*s'", (int)len, val);
    return 0;
}

static int vus_profile(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                       const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (vus_is(val, len, "modern"))
        s->profile = VU_PROFILE_MODERN;
    else if (vus_is(val, len, "2017"))
        s->profile = VU_PROFILE_2017;
    else
        return vus_bad(err, errlen, "profile must be modern or 2017, not '%.*s'", (int)len, val);
    return 0;
}

static int vus_queues(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                      const char *val, size_t len, char *err, size_t errlen)
{
    return vus_uint("queues", val, len, 1, lim->max_queues, &s->queues, err, errlen);
}

static int vus_queue_size(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                          const char *val, size_t len, char *err, size_t errlen)
{
    unsigned int v;

    (void)lim;
    /* 2.7: a split queue's size is a power of two, at most 32768. */
    if (vus_uint("queue-size", val, len, 1, VIRTIO_QUEUE_SIZE_MAX, &v, err, errlen) < 0 ||
        (v & (v - 1)) != 0)
        return vus_bad(err, errlen, "queue-size must be a power of two 1..%u, not '%.*s'",
                       VIRTIO_QUEUE_SIZE_MAX, (int)len, val);
    s->queue_size = v;
    return 0;
}

static int vus_timeout(const char *key, int *out, const char *val, size_t len, char *err,
                       size_t errlen)
{
    unsigned int v;
    int ret = vus_uint(key, val, len, 0, VHOST_USER_TIMEOUT_MAX_MS, &v, err, errlen);

    if (ret == 0)
        *out = (int)v;
    return ret;
}

static int vus_connect_timeout(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                               const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    return vus_timeout("connect-timeout", &s->connect_timeout_ms, val, len, err, errlen);
}

static int vus_reply_timeout(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                             const char *val, size_t len, char *err, size_t errlen)
{
    unsigned int v;

    (void)lim;
    /* 0 would mean "the library default" to vu_frontend: refuse it rather than surprise. */
    if (vus_uint("reply-timeout", val, len, 1, VHOST_USER_TIMEOUT_MAX_MS, &v, err, errlen) < 0)
        return -EINVAL;
    s->reply_timeout_ms = (int)v;
    return 0;
}

static int vus_virtio_id(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                         const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    return vus_uint("virtio-id", val, len, 1, VHOST_USER_VIRTIO_ID_MAX, &s->virtio_id, err, errlen);
}

static int vus_config_size(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                           const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    return vus_uint("config-size", val, len, 0, VU_CONFIG_MAX_SIZE, &s->config_size, err, errlen);
}

/* One hex digit's value (the caller checked isxdigit). */
static int vus_hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* mac=XX:XX:XX:XX:XX:XX, hex digits in pairs; a guest's own address is unicast. */
static int vus_mac(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                   const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (len != 17)
        goto bad;
    for (size_t i = 0; i < 6; i++) {
        const char *p = val + 3 * i;

        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            (i < 5 && p[2] != ':'))
            goto bad;
        s->mac[i] = (uint8_t)(vus_hexval(p[0]) << 4 | vus_hexval(p[1]));
    }
    if (s->mac[0] & 1)
        return vus_bad(err, errlen, "mac must be a unicast address (first octet even), not '%.*s'",
                       (int)len, val);
    s->has_mac = true;
    return 0;
bad:
    return vus_bad(err, errlen, "mac must look like 52:54:00:12:34:56, not '%.*s'", (int)len, val);
}

static int vus_mtu(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                   const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    return vus_uint("mtu", val, len, VHOST_USER_MTU_MIN, VHOST_USER_MTU_MAX, &s->mtu, err, errlen);
}

static int vus_tag(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                   const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (len == 0 || len > VHOST_USER_TAG_MAX)
        return vus_bad(err, errlen, "tag must be 1..%u bytes (virtio-fs tag[36]), not '%.*s'",
                       VHOST_USER_TAG_MAX, (int)len, val);
    memcpy(s->tag, val, len);
    s->tag[len] = '\0';
    return 0;
}

/* config=HEX: the whole config space, two hex digits a byte. */
static int vus_config(struct vhost_user_spec *s, const struct vhost_user_spec_limits *lim,
                      const char *val, size_t len, char *err, size_t errlen)
{
    (void)lim;
    if (len == 0 || len % 2 || len > 2 * VU_CONFIG_MAX_SIZE)
        goto bad;
    for (size_t i = 0; i < len; i += 2) {
        if (!isxdigit((unsigned char)val[i]) || !isxdigit((unsigned char)val[i + 1]))
            goto bad;
        s->config[i / 2] = (uint8_t)(vus_hexval(val[i]) << 4 | vus_hexval(val[i + 1]));
    }
    s->config_len = (unsigned int)(len / 2);
    return 0;
bad:
    return vus_bad(err, errlen,
                   "config must be 1..%u bytes as hex digits (e.g. config=0a0b), not '%.*s'",
                   VU_CONFIG_MAX_SIZE, (int)(len > 40 ? 40 : len), val);
}

static const struct vus_key vus_keys[] = {
    {"socket", VHOST_USER_KEY_SOCKET, vus_socket},
    {"server", VHOST_USER_KEY_SERVER, vus_server},
    {"profile", VHOST_USER_KEY_PROFILE, vus_profile},
    {"queues", VHOST_USER_KEY_QUEUES, vus_queues},
    {"queue-size", VHOST_USER_KEY_QUEUE_SIZE, vus_queue_size},
    {"connect-timeout", VHOST_USER_KEY_CONNECT_TIMEOUT, vus_connect_timeout},
    {"reply-timeout", VHOST_USER_KEY_REPLY_TIMEOUT, vus_reply_timeout},
    {"virtio-id", VHOST_USER_KEY_VIRTIO_ID, vus_virtio_id},
    {"config-size", VHOST_USER_KEY_CONFIG_SIZE, vus_config_size},
    {"mac", VHOST_USER_KEY_MAC, vus_mac},
    {"mtu", VHOST_USER_KEY_MTU, vus_mtu},
    {"tag", VHOST_USER_KEY_TAG, vus_tag},
    {"config", VHOST_USER_KEY_CONFIG, vus_config},
};

static const struct vus_key *vus_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(vus_keys) / sizeof(vus_keys[0]); i++)
        if (vus_is(name, len, vus_keys[i].name))
            return &vus_keys[i];
    return NULL;
}

/* One "key=value" item of length len. seen: keys already given (each at most once). */
static int vus_item(const char *item, size_t len, const struct vhost_user_spec_limits *lim,
                    unsigned int *seen, struct vhost_user_spec *out, char *err, size_t errlen)
{
    const char *eq = memchr(item, '=', len);
    size_t klen = eq ? (size_t)(eq - item) : len;
    const struct vus_key *k = vus_find(item, klen);

    if (len == 0)
        return vus_bad(err, errlen, "empty item (two commas in a row?)");
    if (!k || !(lim->keys & k->bit))
        return vus_bad(err, errlen, "unknown key '%.*s'", (int)klen, item);
    if (!eq)
        return vus_bad(err, errlen, "%s needs a value (%s=...)", k->name, k->name);
    if (*seen & k->bit)
        return vus_bad(err, errlen, "%s given twice", k->name);
    *seen |= k->bit;
    return k->set(out, lim, eq + 1, len - klen - 1, err, errlen);
}

int vhost_user_spec_parse(const char *args, const struct vhost_user_spec_limits *lim,
                          struct vhost_user_spec *out, char *err, size_t errlen)
{
    unsigned int seen = 0;
    const char *p = args;

    memset(out, 0, sizeof(*out));
    out->profile = VU_PROFILE_MODERN;
    out->connect_timeout_ms = VHOST_USER_CONNECT_TIMEOUT_MS;
    while (*p) {
        size_t len = strcspn(p, ",");
        int ret = vus_item(p, len, lim, &seen, out, err, errlen);

        if (ret < 0)
            return ret;
        p += len;
        if (*p == ',' && *++p == '\0')
            return vus_bad(err, errlen, "trailing comma");
    }
    if (!(seen & VHOST_USER_KEY_SOCKET))
        return vus_bad(err, errlen, "socket=PATH is required");
    if ((seen & VHOST_USER_KEY_CONFIG) && (seen & VHOST_USER_KEY_CONFIG_SIZE) &&
        out->config_size != out->config_len)
        return vus_bad(err, errlen, "config-size=%u, but config= gives %u bytes", out->config_size,
                       out->config_len);
    if (seen & VHOST_USER_KEY_CONFIG)
        out->config_size = out->config_len;
    return 0;
}
