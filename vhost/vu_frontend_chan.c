/*
 * The back-end channel (vhost-user.md §5): requests the back-end sends to us over the socket
 * given with SET_BACKEND_REQ_FD. One message per call from the caller's event loop; every
 * request that wants an answer gets one (cloud-hypervisor once left CONFIG_CHANGE_MSG unanswered
 * and hung its back-end), unknown ones are refused, never fatal.
 */
#include "vu_frontend_int.h"
#include "vu_names.h"

#include <errno.h>

int vu_frontend_backend_fd(const struct vu_frontend *fe)
{
    return fe->chan.fd;
}

/* Requests whose reply is part of their definition, answered even without NEED_REPLY. */
static bool always_replies(uint32_t request)
{
    return request == VU_BREQ_SHARED_OBJECT_LOOKUP;
}

static int handle(struct vu_frontend *fe, const struct vu_msg *m)
{
    switch (m->hdr.request) {
    case VU_BREQ_CONFIG_CHANGE_MSG:
        if (m->hdr.size != 0)
            return -EINVAL;
        if (fe->config_changed)
            fe->config_changed(fe->opaque);
        return 0;
    default:
        vu_log(VU_LOG_WARN, "%s: back-end request %s (%u) not supported, refused", fe->name,
               vu_name_backend_request(m->hdr.request), m->hdr.request);
        return -EOPNOTSUPP;
    }
}

int vu_frontend_handle_backend_msg(struct vu_frontend *fe)
{
    struct vu_wire_hdr hdr;
    struct vu_msg m;
    uint64_t result;
    int ret;

    if (!vu_conn_is_open(&fe->chan))
        return -ENOTCONN;
    ret = vu_conn_recv(&fe->chan, &m);
    if (ret < 0)
        return vu_frontend_fail(fe, ret, "back-end channel");
    /* We never negotiate BACKEND_SEND_FD: any fd is unexpected and must not leak. */
    vu_conn_drop_fds(&m);
    if ((m.hdr.flags & VU_FLAG_VERSION_MASK) != VU_VERSION || (m.hdr.flags & VU_FLAG_REPLY) ||
        (m.hdr.flags & VU_FLAGS_RESERVED))
        return vu_frontend_fail(fe, -EPROTO, "back-end channel: %s with flags 0x%x",
                                vu_name_backend_request(m.hdr.request), m.hdr.flags);
    ret = handle(fe, &m);
    if (!(m.hdr.flags & VU_FLAG_NEED_REPLY) && !always_replies(m.hdr.request))
        return 0;
    /* REPLY_ACK: u64 0 on success, non-zero on failure; REPLY set, NEED_REPLY clear. */
    result = ret < 0 ? 1 : 0;
    hdr = (struct vu_wire_hdr){
        .request = m.hdr.request, .flags = VU_REPLY_FLAGS, .size = sizeof(result)};
    ret = vu_conn_send(&fe->chan, &hdr, &result, NULL, 0);
    if (ret < 0)
        return vu_frontend_fail(fe, ret, "back-end channel: reply to %s",
                                vu_name_backend_request(m.hdr.request));
    return 0;
}
