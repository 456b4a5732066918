/*
 * vhost-user tracer: decodes one message into one line ("vhost-user[blk0] fe>be
 * SET_VRING_NUM(8) flags=0x1[v1] size=8 { index=0 num=256 } fds=-"). Payloads are decoded by shape;
 * a payload whose size does not fit its shape is shown as hex so a bad peer is visible.
 */
#include "vu_trace.h"
#include "vu_names.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define TRACE_LINE_MAX 2048
#define TRACE_HEX_MAX  32

enum shape {
    SHAPE_NONE,
    SHAPE_U64,
    SHAPE_MAC,
    SHAPE_VRING_FD,
    SHAPE_VRING_STATE,
    SHAPE_VRING_ADDR,
    SHAPE_MEM_TABLE,
    SHAPE_SINGLE_REGION,
    SHAPE_LOG,
    SHAPE_CONFIG,
    SHAPE_INFLIGHT,
    SHAPE_DEVICE_STATE,
    SHAPE_IOTLB,
    SHAPE_VRING_AREA,
    SHAPE_RAW,
};

struct line {
    char buf[TRACE_LINE_MAX];
    size_t len;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (l->len >= sizeof(l->buf) - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - 1 - l->len;
}

static enum shape request_shape(uint32_t req)
{
    switch (req) {
    case VU_REQ_SET_FEATURES:
    case VU_REQ_SET_PROTOCOL_FEATURES:
    case VU_REQ_NET_SET_MTU:
    case VU_REQ_SET_STATUS:
    case VU_REQ_CLOSE_CRYPTO_SESSION:
        return SHAPE_U64;
    case VU_REQ_SEND_RARP:
        return SHAPE_MAC;
    case VU_REQ_SET_VRING_KICK:
    case VU_REQ_SET_VRING_CALL:
    case VU_REQ_SET_VRING_ERR:
        return SHAPE_VRING_FD;
    case VU_REQ_SET_VRING_NUM:
    case VU_REQ_SET_VRING_BASE:
    case VU_REQ_GET_VRING_BASE:
    case VU_REQ_SET_VRING_ENABLE:
    case VU_REQ_SET_VRING_ENDIAN:
    case VU_REQ_VRING_KICK:
    case VU_REQ_GET_VRING_BASE_SKIP_DRAIN:
        return SHAPE_VRING_STATE;
    case VU_REQ_SET_VRING_ADDR:
        return SHAPE_VRING_ADDR;
    case VU_REQ_SET_MEM_TABLE:
        return SHAPE_MEM_TABLE;
    case VU_REQ_ADD_MEM_REG:
    case VU_REQ_REM_MEM_REG:
        return SHAPE_SINGLE_REGION;
    case VU_REQ_SET_LOG_BASE:
        return SHAPE_LOG;
    case VU_REQ_GET_CONFIG:
    case VU_REQ_SET_CONFIG:
        return SHAPE_CONFIG;
    case VU_REQ_GET_INFLIGHT_FD:
    case VU_REQ_SET_INFLIGHT_FD:
        return SHAPE_INFLIGHT;
    case VU_REQ_SET_DEVICE_STATE_FD:
        return SHAPE_DEVICE_STATE;
    case VU_REQ_IOTLB_MSG:
        return SHAPE_IOTLB;
    default:
        return SHAPE_RAW;
    }
}

static enum shape reply_shape(uint32_t req, uint32_t size)
{
    switch (req) {
    case VU_REQ_GET_VRING_BASE:
    case VU_REQ_GET_VRING_BASE_SKIP_DRAIN:
        return SHAPE_VRING_STATE;
    case VU_REQ_GET_CONFIG:
        return SHAPE_CONFIG;
    case VU_REQ_GET_INFLIGHT_FD:
        return SHAPE_INFLIGHT;
    default:
        return size == sizeof(uint64_t) ? SHAPE_U64 : SHAPE_RAW;
    }
}

static enum shape backend_shape(uint32_t req, bool reply)
{
    if (reply)
        return SHAPE_U64;
    switch (req) {
    case VU_BREQ_IOTLB_MSG:
        return SHAPE_IOTLB;
    case VU_BREQ_VRING_HOST_NOTIFIER_MSG:
        return SHAPE_VRING_AREA;
    case VU_BREQ_VRING_CALL:
    case VU_BREQ_VRING_ERR:
        return SHAPE_VRING_STATE;
    default:
        return SHAPE_RAW;
    }
}

static size_t shape_min_size(enum shape s)
{
    static const size_t sizes[] = {
        [SHAPE_U64] = 8,
        [SHAPE_MAC] = 8,
        [SHAPE_VRING_FD] = 8,
        [SHAPE_VRING_STATE] = sizeof(struct vu_wire_vring_state),
        [SHAPE_VRING_ADDR] = sizeof(struct vu_wire_vring_addr),
        [SHAPE_MEM_TABLE] = 8,
        [SHAPE_SINGLE_REGION] = sizeof(struct vu_wire_single_region),
        [SHAPE_LOG] = sizeof(struct vu_wire_log),
        [SHAPE_CONFIG] = sizeof(struct vu_wire_config_hdr),
        [SHAPE_INFLIGHT] = sizeof(struct vu_wire_inflight),
        [SHAPE_DEVICE_STATE] = sizeof(struct vu_wire_device_state),
        [SHAPE_IOTLB] = sizeof(struct vu_wire_iotlb),
        [SHAPE_VRING_AREA] = sizeof(struct vu_wire_vring_area),
    };

    return (size_t)s < sizeof(sizes) / sizeof(sizes[0]) ? sizes[s] : 0;
}

static void put_hex(struct line *l, const uint8_t *p, size_t len)
{
    put(l, " data=");
    for (size_t i = 0; i < len && i < TRACE_HEX_MAX; i++)
        put(l, "%02x", p[i]);
    if (len > TRACE_HEX_MAX)
        put(l, "...");
}

static void put_region(struct line *l, const struct vu_wire_region *r)
{
    put(l, " {gpa=0x%llx size=0x%llx uaddr=0x%llx mmap_offset=0x%llx}", (unsigned long long)r->gpa,
        (unsigned long long)r->size, (unsigned long long)r->uaddr,
        (unsigned long long)r->mmap_offset);
}

static void put_mem_table(struct line *l, const union vu_wire_payload *p, uint32_t size)
{
    uint32_t n = p->mem.nregions;

    put(l, " nregions=%u padding=%u", n, p->mem.padding);
    for (uint32_t i = 0; i < n && i < VU_MEM_MAX_REGIONS && 8 + 32 * (i + 1) <= size; i++)
        put_region(l, &p->mem.regions[i]);
}

static void put_payload(struct line *l, enum shape s, const union vu_wire_payload *p, uint32_t size)
{
    if (size == 0)
        return;
    if (s == SHAPE_RAW || s == SHAPE_NONE || size < shape_min_size(s)) {
        put_hex(l, p->raw, size);
        return;
    }
    switch (s) {
    case SHAPE_U64:
        put(l, " u64=0x%llx", (unsigned long long)p->u64);
        break;
    case SHAPE_MAC:
        put(l, " mac=%02x:%02x:%02x:%02x:%02x:%02x", p->raw[0], p->raw[1], p->raw[2], p->raw[3],
            p->raw[4], p->raw[5]);
        break;
    case SHAPE_VRING_FD:
        put(l, " index=%u%s", (unsigned)(p->u64 & VU_VRING_IDX_MASK),
            (p->u64 & VU_VRING_NOFD_MASK) ? " nofd" : "");
        break;
    case SHAPE_VRING_STATE:
        put(l, " index=%u num=%u", p->state.index, p->state.num);
        break;
    case SHAPE_VRING_ADDR:
        put(l, " index=%u flags=0x%x desc=0x%llx used=0x%llx avail=0x%llx log=0x%llx",
            p->addr.index, p->addr.flags, (unsigned long long)p->addr.desc,
            (unsigned long long)p->addr.used, (unsigned long long)p->addr.avail,
            (unsigned long long)p->addr.log);
        break;
    case SHAPE_MEM_TABLE:
        put_mem_table(l, p, size);
        break;
    case SHAPE_SINGLE_REGION:
        put_region(l, &p->single.region);
        break;
    case SHAPE_LOG:
        put(l, " mmap_size=0x%llx mmap_offset=0x%llx", (unsigned long long)p->log.mmap_size,
            (unsigned long long)p->log.mmap_offset);
        break;
    case SHAPE_CONFIG:
        put(l, " offset=%u size=%u flags=%u", p->config.hdr.offset, p->config.hdr.size,
            p->config.hdr.flags);
        if (size > sizeof(struct vu_wire_config_hdr))
            put_hex(l, p->config.data, size - sizeof(struct vu_wire_config_hdr));
        break;
    case SHAPE_INFLIGHT:
        put(l, " mmap_size=0x%llx mmap_offset=0x%llx num_queues=%u queue_size=%u",
            (unsigned long long)p->inflight.mmap_size, (unsigned long long)p->inflight.mmap_offset,
            p->inflight.num_queues, p->inflight.queue_size);
        break;
    case SHAPE_DEVICE_STATE:
        put(l, " direction=%u phase=%u", p->devstate.direction, p->devstate.phase);
        break;
    case SHAPE_IOTLB:
        put(l, " iova=0x%llx size=0x%llx uaddr=0x%llx perm=%u type=%u",
            (unsigned long long)p->iotlb.iova, (unsigned long long)p->iotlb.size,
            (unsigned long long)p->iotlb.uaddr, p->iotlb.perm, p->iotlb.type);
        break;
    case SHAPE_VRING_AREA:
        put(l, " index=%u%s size=0x%llx offset=0x%llx", (unsigned)(p->area.u64 & VU_VRING_IDX_MASK),
            (p->area.u64 & VU_VRING_NOFD_MASK) ? " nofd" : "", (unsigned long long)p->area.size,
            (unsigned long long)p->area.offset);
        break;
    default:
        break;
    }
}

void vu_trace_msg(FILE *f, const char *tag, bool sent, bool backend_chan,
                  const struct vu_wire_hdr *hdr, const void *payload, const int *fds,
                  unsigned int nfds)
{
    static const union vu_wire_payload empty;
    const union vu_wire_payload *p = payload ? payload : &empty;
    bool reply = hdr->flags & VU_FLAG_REPLY;
    struct line l = {.len = 0};
    enum shape s;

    /* On the main socket we send requests; on the back-end channel we receive them. */
    put(&l, "vhost-user[%s] %s%s %s(%u) flags=0x%x[v%u%s%s] size=%u", tag ? tag : "-",
        backend_chan ? "chan " : "", sent ? "fe>be" : "be>fe",
        backend_chan ? vu_name_backend_request(hdr->request) : vu_name_request(hdr->request),
        hdr->request, hdr->flags, hdr->flags & VU_FLAG_VERSION_MASK, reply ? "|REPLY" : "",
        (hdr->flags & VU_FLAG_NEED_REPLY) ? "|NEED_REPLY" : "", hdr->size);
    if (backend_chan)
        s = backend_shape(hdr->request, reply);
    else
        s = reply ? reply_shape(hdr->request, hdr->size) : request_shape(hdr->request);
    if (hdr->size && hdr->size <= VU_PAYLOAD_MAX) {
        put(&l, " {");
        put_payload(&l, s, p, hdr->size);
        put(&l, " }");
    }
    if (nfds == 0) {
        put(&l, " fds=-");
    } else {
        put(&l, " fds=");
        for (unsigned int i = 0; i < nfds; i++)
            put(&l, "%s%d", i ? "," : "", fds[i]);
    }
    put(&l, "\n");
    fputs(l.buf, f);
}

int vu_trace_open(const char *arg, FILE **out)
{
    static const char prefix[] = "vhost-user";
    const char *rest;

    *out = NULL;
    if (!arg || strncmp(arg, prefix, strlen(prefix)) != 0)
        return -EINVAL;
    rest = arg + strlen(prefix);
    if (*rest == '\0') {
        *out = stderr;
        return 0;
    }
    if (strncmp(rest, ",file=", 6) != 0 || rest[6] == '\0')
        return -EINVAL;
    *out = fopen(rest + 6, "ae");
    if (!*out)
        return -errno;
    setvbuf(*out, NULL, _IOLBF, 0);
    return 0;
}
