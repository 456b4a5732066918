/*
 * vhost-user front-end session: lifetime, the start-up sequence (vhost-user.md §3 "Negotiation
 * rules", §12 "Init"), SET_FEATURES, and the helpers the other vu_frontend_*.c files share.
 * Rings are in vu_frontend_ring.c, memory in vu_frontend_mem.c, device requests in
 * vu_frontend_dev.c, the back-end channel in vu_frontend_chan.c.
 */
#include "vu_frontend_int.h"
#include "vu_names.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Protocol features each profile implements and will acknowledge. */
#define PF_2017                                                                                    \
    (VU_BIT(VU_PF_MQ) | VU_BIT(VU_PF_LOG_SHMFD) | VU_BIT(VU_PF_RARP) | VU_BIT(VU_PF_REPLY_ACK) |   \
     VU_BIT(VU_PF_NET_MTU))
#define PF_MODERN                                                                                  \
    (PF_2017 | VU_BIT(VU_PF_BACKEND_REQ) | VU_BIT(VU_PF_CONFIG) | VU_BIT(VU_PF_INFLIGHT_SHMFD) |   \
     VU_BIT(VU_PF_RESET_DEVICE) | VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS) | VU_BIT(VU_PF_STATUS) |       \
     VU_BIT(VU_PF_DEVICE_STATE))

/* Bits of the VIRTIO feature word that belong to vhost, not to the guest. */
#define VHOST_ONLY_FEATURES                                                                        \
    (VU_BIT(VU_F_PROTOCOL_FEATURES) | VU_BIT(VU_F_LOG_ALL) | VU_BIT(VU_F_IOMMU_PLATFORM))

static void record(struct vu_frontend *fe, int err, const char *fmt, va_list ap)
{
    char what[192];

    vsnprintf(what, sizeof(what), fmt, ap);
    snprintf(fe->err, sizeof(fe->err), "%s: %s: %s", fe->name, what, strerror(-err));
    vu_log(VU_LOG_ERR, "%s", fe->err);
}

int vu_frontend_fail(struct vu_frontend *fe, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(fe, err, fmt, ap);
    va_end(ap);
    return err;
}

int vu_frontend_req_failed(struct vu_frontend *fe, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    record(fe, err, fmt, ap);
    va_end(ap);
    /* Spec "Communication": on a bad or missing reply the front-end closes the connection. */
    if (err != -EIO)
        vu_frontend_disconnect(fe);
    return err;
}

enum vu_wait vu_frontend_wait(const struct vu_frontend *fe, bool sync)
{
    if (fe->proto & VU_BIT(VU_PF_REPLY_ACK))
        return VU_WAIT_ACK;
    return sync ? VU_WAIT_BARRIER : VU_WAIT_NONE;
}

int vu_frontend_gate(struct vu_frontend *fe, int pf, uint32_t request)
{
    if (!vu_frontend_connected(fe))
        return vu_frontend_fail(fe, -ENOTCONN, "%s", vu_name_request(request));
    if (fe->profile == VU_PROFILE_2017 && request > VU_REQ_MAX_2017)
        return vu_frontend_fail(fe, -EOPNOTSUPP, "%s: not in the 2017 profile",
                                vu_name_request(request));
    if (pf != VU_FE_NO_GATE && !(fe->proto & VU_BIT(pf)))
        return vu_frontend_fail(fe, -EOPNOTSUPP, "%s: protocol feature %s not negotiated",
                                vu_name_request(request), vu_name_protocol_feature(pf));
    return 0;
}

bool vu_frontend_rings_need_enable(const struct vu_frontend *fe)
{
    return fe->features_set && (fe->acked & VU_BIT(VU_F_PROTOCOL_FEATURES));
}

bool vu_frontend_any_ring_started(const struct vu_frontend *fe)
{
    for (unsigned int i = 0; i < VU_MAX_RINGS; i++)
        if (fe->rings[i].started)
            return true;
    return false;
}

void vu_frontend_forget_rings(struct vu_frontend *fe)
{
    for (unsigned int i = 0; i < VU_MAX_RINGS; i++)
        fe->rings[i].started = false;
}

struct vu_frontend *vu_frontend_new(const struct vu_frontend_opts *opts)
{
    struct vu_frontend *fe;

    if (!opts || !opts->socket_path || !opts->socket_path[0] ||
        (opts->profile != VU_PROFILE_MODERN && opts->profile != VU_PROFILE_2017))
        return NULL;
    fe = calloc(1, sizeof(*fe));
    if (!fe)
        return NULL;
    fe->listen_fd = -1;
    vu_conn_init(&fe->conn, -1, 0);
    vu_conn_init(&fe->chan, -1, 0);
    fe->path = strdup(opts->socket_path);
    if (!fe->path) {
        vu_frontend_destroy(fe);
        return NULL;
    }
    snprintf(fe->name, sizeof(fe->name), "%s", opts->name ? opts->name : "vhost-user");
    fe->server = opts->server;
    fe->profile = opts->profile;
    fe->num_queues = opts->num_queues ? opts->num_queues : 1;
    fe->timeout_ms = opts->reply_timeout_ms ? opts->reply_timeout_ms : VU_DEFAULT_TIMEOUT_MS;
    fe->connect_ms = opts->connect_timeout_ms;
    fe->trace = opts->trace;
    fe->config_changed = opts->config_changed;
    fe->opaque = opts->opaque;
    return fe;
}

void vu_frontend_destroy(struct vu_frontend *fe)
{
    if (!fe)
        return;
    vu_frontend_disconnect(fe);
    if (fe->listen_fd >= 0) {
        close(fe->listen_fd);
        unlink(fe->path);
    }
    free(fe->path);
    free(fe);
}

void vu_frontend_disconnect(struct vu_frontend *fe)
{
    if (vu_conn_is_open(&fe->conn)) {
        fe->totals.sent += fe->conn.sent;
        fe->totals.received += fe->conn.received;
    }
    if (vu_conn_is_open(&fe->chan)) {
        fe->totals.chan_received += fe->chan.received;
        fe->totals.chan_sent += fe->chan.sent;
    }
    vu_conn_close(&fe->conn);
    vu_conn_close(&fe->chan);
    fe->conn.sent = fe->conn.received = 0;
    fe->chan.sent = fe->chan.received = 0;
    fe->features = fe->proto_offered = fe->proto = fe->acked = 0;
    fe->max_queues = fe->max_mem_slots = 0;
    fe->features_set = fe->mem_set = fe->log_base_set = fe->logging = false;
    fe->nregions = 0;
    vu_frontend_forget_rings(fe);
}

bool vu_frontend_connected(const struct vu_frontend *fe)
{
    return vu_conn_is_open(&fe->conn);
}

int vu_frontend_fd(const struct vu_frontend *fe)
{
    return fe->conn.fd;
}

const char *vu_frontend_last_error(const struct vu_frontend *fe)
{
    return fe->err;
}

void vu_frontend_get_stats(const struct vu_frontend *fe, struct vu_frontend_stats *st)
{
    *st = fe->totals;
    st->sent += fe->conn.sent;
    st->received += fe->conn.received;
    st->chan_received += fe->chan.received;
    st->chan_sent += fe->chan.sent;
}

static int open_socket(struct vu_frontend *fe)
{
    int ret;

    if (!fe->server) {
        ret = vu_conn_connect(&fe->conn, fe->path, fe->connect_ms, fe->timeout_ms);
        return ret < 0 ? vu_frontend_fail(fe, ret, "connect to %s", fe->path) : 0;
    }
    if (fe->listen_fd < 0) {
        ret = vu_conn_listen(fe->path, &fe->listen_fd);
        if (ret < 0)
            return vu_frontend_fail(fe, ret, "listen on %s", fe->path);
    }
    ret = vu_conn_accept(&fe->conn, fe->listen_fd, fe->connect_ms, fe->timeout_ms);
    return ret < 0 ? vu_frontend_fail(fe, ret, "accept a back-end on %s", fe->path) : 0;
}

static int negotiate_protocol(struct vu_frontend *fe)
{
    uint64_t known = fe->profile == VU_PROFILE_2017 ? PF_2017 : PF_MODERN;
    char names[256];
    int ret;

    ret = vu_req_get_protocol_features(&fe->conn, &fe->proto_offered);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_PROTOCOL_FEATURES");
    /* Acknowledge only what we implement and the back-end offered; unknown bits are masked. */
    fe->proto = fe->proto_offered & known;
    ret = vu_req_set_protocol_features(&fe->conn, fe->proto, VU_WAIT_NONE);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_PROTOCOL_FEATURES");
    vu_log(VU_LOG_INFO, "%s: protocol features %s", fe->name,
           vu_name_protocol_features(fe->proto, names, sizeof(names)));
    return 0;
}

static int query_limits(struct vu_frontend *fe)
{
    int ret;

    fe->max_queues = 1; /* without MQ the back-end has one queue (QEMU assumes the same) */
    if (fe->proto & VU_BIT(VU_PF_MQ)) {
        ret = vu_req_get_queue_num(&fe->conn, &fe->max_queues);
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "GET_QUEUE_NUM");
    }
    if (fe->num_queues > fe->max_queues) {
        vu_frontend_fail(fe, -EINVAL, "device needs %u queues, back-end supports at most %llu",
                         fe->num_queues, (unsigned long long)fe->max_queues);
        vu_frontend_disconnect(fe);
        return -EINVAL;
    }
    fe->max_mem_slots = VU_MEM_MAX_REGIONS;
    if (fe->proto & VU_BIT(VU_PF_CONFIGURE_MEM_SLOTS)) {
        ret = vu_req_get_max_mem_slots(&fe->conn, &fe->max_mem_slots);
        if (ret < 0)
            return vu_frontend_req_failed(fe, ret, "GET_MAX_MEM_SLOTS");
        if (fe->max_mem_slots == 0)
            return vu_frontend_req_failed(fe, -EPROTO, "GET_MAX_MEM_SLOTS returned 0");
        if (fe->max_mem_slots > VU_FE_MAX_SLOTS)
            fe->max_mem_slots = VU_FE_MAX_SLOTS;
    }
    return 0;
}

static int open_backend_channel(struct vu_frontend *fe)
{
    int sv[2];
    int ret;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return vu_frontend_req_failed(fe, -errno, "SET_BACKEND_REQ_FD: socketpair");
    ret = vu_req_set_backend_req_fd(&fe->conn, sv[1], vu_frontend_wait(fe, false));
    close(sv[1]); /* the back-end has its copy now */
    if (ret < 0) {
        close(sv[0]);
        return vu_frontend_req_failed(fe, ret, "SET_BACKEND_REQ_FD");
    }
    vu_conn_init(&fe->chan, sv[0], fe->timeout_ms);
    fe->chan.backend_chan = true;
    fe->chan.trace = fe->trace;
    fe->chan.tag = fe->name;
    return 0;
}

int vu_frontend_connect(struct vu_frontend *fe)
{
    int ret;

    if (vu_frontend_connected(fe))
        return -EISCONN;
    fe->err[0] = '\0';
    ret = open_socket(fe);
    if (ret < 0)
        return ret;
    fe->conn.trace = fe->trace;
    fe->conn.tag = fe->name;
    ret = vu_req_get_features(&fe->conn, &fe->features);
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "GET_FEATURES");
    if (fe->features & VU_BIT(VU_F_PROTOCOL_FEATURES)) {
        ret = negotiate_protocol(fe);
        if (ret < 0)
            return ret;
    }
    ret = query_limits(fe);
    if (ret < 0)
        return ret;
    if (fe->proto & VU_BIT(VU_PF_BACKEND_REQ)) {
        ret = open_backend_channel(fe);
        if (ret < 0)
            return ret;
    }
    ret = vu_req_set_owner(&fe->conn, vu_frontend_wait(fe, false));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_OWNER");
    return 0;
}

uint64_t vu_frontend_device_features(const struct vu_frontend *fe)
{
    return fe->features & ~VHOST_ONLY_FEATURES;
}

uint64_t vu_frontend_protocol_features(const struct vu_frontend *fe)
{
    return fe->proto;
}

bool vu_frontend_has_protocol_feature(const struct vu_frontend *fe, unsigned int bit)
{
    return bit < 64 && (fe->proto & VU_BIT(bit));
}

uint64_t vu_frontend_max_queues(const struct vu_frontend *fe)
{
    return fe->max_queues;
}

uint64_t vu_frontend_max_mem_slots(const struct vu_frontend *fe)
{
    return fe->max_mem_slots;
}

const char *vu_frontend_migration_blocker(const struct vu_frontend *fe)
{
    if (!vu_frontend_connected(fe))
        return "vhost-user back-end not connected";
    if (!(fe->features & VU_BIT(VU_F_LOG_ALL)))
        return "vhost-user back-end lacks VHOST_F_LOG_ALL (dirty logging)";
    if (!(fe->proto & VU_BIT(VU_PF_LOG_SHMFD)))
        return "vhost-user back-end lacks VHOST_USER_PROTOCOL_F_LOG_SHMFD";
    return NULL;
}

/* The SET_FEATURES value: guest features plus the vhost bits the front-end owns. */
static uint64_t features_word(const struct vu_frontend *fe, uint64_t guest, bool logging)
{
    uint64_t val = guest | (fe->features & VU_BIT(VU_F_PROTOCOL_FEATURES));

    return logging ? val | VU_BIT(VU_F_LOG_ALL) : val;
}

int vu_frontend_send_features(struct vu_frontend *fe, uint64_t guest, bool logging)
{
    uint64_t val = features_word(fe, guest, logging);
    int ret;

    ret = vu_req_set_features(&fe->conn, val, vu_frontend_wait(fe, logging != fe->logging));
    if (ret < 0)
        return vu_frontend_req_failed(fe, ret, "SET_FEATURES 0x%llx", (unsigned long long)val);
    fe->acked = val;
    fe->features_set = true;
    fe->logging = logging;
    return 0;
}

int vu_frontend_set_features(struct vu_frontend *fe, uint64_t features)
{
    uint64_t unoffered = features & ~vu_frontend_device_features(fe);
    int ret = vu_frontend_gate(fe, VU_FE_NO_GATE, VU_REQ_SET_FEATURES);

    if (ret < 0)
        return ret;
    /* DPDK refuses unoffered bits and withholds FEATURES_OK; vhost-only bits are ours. */
    if (unoffered)
        return vu_frontend_fail(fe, -EINVAL, "SET_FEATURES: 0x%llx not offered by the back-end",
                                (unsigned long long)unoffered);
    if (vu_frontend_any_ring_started(fe) && features_word(fe, features, fe->logging) != fe->acked)
        return vu_frontend_fail(fe, -EBUSY, "SET_FEATURES: rings are running");
    return vu_frontend_send_features(fe, features, fe->logging);
}
