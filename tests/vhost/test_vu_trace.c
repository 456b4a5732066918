/*
 * vu_trace: one decoded line per message (direction, name, flags, each payload field, fds),
 * hex for payloads that do not fit their shape, and the --trace argument parser.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vu_trace.h"

static char *line(bool sent, bool chan, uint32_t req, uint32_t flags, const void *p, uint32_t size,
                  const int *fds, unsigned int nfds)
{
    struct vu_wire_hdr hdr = {.request = req, .flags = flags, .size = size};
    static char *buf;
    size_t len;
    FILE *f;

    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    vu_trace_msg(f, "dev0", sent, chan, &hdr, p, fds, nfds);
    fclose(f);
    return buf;
}

#define EXPECT_IN(hay, needle)                                                                     \
    cr_expect_neq(strstr(hay, needle), NULL, "'%s' not in '%s'", needle, hay)

Test(vu_trace, requests_are_decoded)
{
    struct vu_wire_vring_addr a = {
        .index = 1, .flags = 1, .desc = 0x1000, .used = 0x3000, .avail = 0x2000, .log = 0x9000};
    struct vu_wire_mem_table t = {.nregions = 1, .regions = {{0x0, 0x8000000, 0x7f00, 0x0}}};
    uint64_t kick = 2 | VU_VRING_NOFD_MASK;
    int fds[2] = {0, 7};
    char *s;

    s = line(true, false, VU_REQ_SET_VRING_ADDR, VU_VERSION, &a, sizeof(a), NULL, 0);
    EXPECT_IN(s, "vhost-user[dev0] fe>be SET_VRING_ADDR(9) flags=0x1[v1] size=40 { index=1 "
                 "flags=0x1 desc=0x1000 used=0x3000 avail=0x2000 log=0x9000 } fds=-\n");
    s = line(true, false, VU_REQ_SET_VRING_KICK, VU_VERSION, &kick, 8, NULL, 0);
    EXPECT_IN(s, "{ index=2 nofd } fds=-");
    s = line(true, false, VU_REQ_SET_MEM_TABLE, VU_VERSION | VU_FLAG_NEED_REPLY, &t, 40, fds, 1);
    EXPECT_IN(s, "flags=0x9[v1|NEED_REPLY]");
    EXPECT_IN(s, "{ nregions=1 padding=0 {gpa=0x0 size=0x8000000 uaddr=0x7f00 mmap_offset=0x0} } "
                 "fds=0");
    s = line(false, false, VU_REQ_GET_VRING_BASE, VU_REPLY_FLAGS,
             &(struct vu_wire_vring_state){1, 9}, 8, fds, 2);
    EXPECT_IN(s, "be>fe GET_VRING_BASE(11) flags=0x5[v1|REPLY] size=8 { index=1 num=9 } fds=0,7");
}

Test(vu_trace, odd_payloads_and_channel)
{
    uint8_t junk[5] = {0xde, 0xad, 0xbe, 0xef, 0x01};
    char *s;

    s = line(false, false, VU_REQ_GET_FEATURES, VU_REPLY_FLAGS, junk, 5, NULL, 0);
    EXPECT_IN(s, "size=5 { data=deadbeef01 }");
    s = line(true, false, VU_REQ_SET_VRING_ADDR, VU_VERSION, junk, 5, NULL, 0);
    EXPECT_IN(s, "data=deadbeef01"); /* too short for a vring address */
    s = line(false, false, 99, VU_VERSION, NULL, 0, NULL, 0);
    EXPECT_IN(s, "UNKNOWN(99)");
    s = line(false, true, VU_BREQ_CONFIG_CHANGE_MSG, VU_VERSION | VU_FLAG_NEED_REPLY, NULL, 0, NULL,
             0);
    EXPECT_IN(s, "chan be>fe BACKEND_CONFIG_CHANGE_MSG(2)");
    s = line(true, true, VU_BREQ_CONFIG_CHANGE_MSG, VU_REPLY_FLAGS, &(uint64_t){0}, 8, NULL, 0);
    EXPECT_IN(s, "chan fe>be BACKEND_CONFIG_CHANGE_MSG(2) flags=0x5[v1|REPLY] size=8 { u64=0x0 }");
}

Test(vu_trace, argument_parsing)
{
    char path[] = "/tmp/vu-trace-XXXXXX";
    char arg[64];
    FILE *f;
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    close(fd);
    cr_expect_eq(vu_trace_open("vhost-user", &f), 0);
    cr_expect_eq(f, stderr);
    cr_expect_eq(vu_trace_open("vhost", &f), -EINVAL);
    cr_expect_eq(vu_trace_open("vhost-user,file=", &f), -EINVAL);
    cr_expect_eq(vu_trace_open("vhost-user,bogus", &f), -EINVAL);
    snprintf(arg, sizeof(arg), "vhost-user,file=%s", path);
    cr_assert_eq(vu_trace_open(arg, &f), 0);
    cr_assert_neq(f, stderr);
    fclose(f);
    cr_expect_eq(vu_trace_open("vhost-user,file=/nonexistent/x", &f), -ENOENT);
    unlink(path);
}
