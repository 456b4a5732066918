/*
 * --device SPEC parsing for the vhost-user kinds: every key with its default and limits, and
 * one clear reason naming the key for each bad, unknown, repeated or missing one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vhost_user_blk.h"
#include "vhost_user_generic.h"

static struct vhost_user_spec spec;
static char err[256];

static int blk(const char *args)
{
    err[0] = '\0';
    return vhost_user_dev_parse(&vhost_user_blk_type, args, &spec, err, sizeof(err));
}

static int generic(const char *args)
{
    err[0] = '\0';
    return vhost_user_dev_parse(&vhost_user_generic_type, args, &spec, err, sizeof(err));
}

Test(vhost_user_spec, defaults)
{
    cr_assert_eq(blk("socket=/tmp/blk.sock"), 0, "%s", err);
    cr_expect_str_eq(spec.socket, "/tmp/blk.sock");
    cr_expect(!spec.server);
    cr_expect_eq(spec.profile, VU_PROFILE_MODERN);
    cr_expect_eq(spec.queues, 0);
    cr_expect_eq(spec.queue_size, 0);
    cr_expect_eq(spec.connect_timeout_ms, VHOST_USER_CONNECT_TIMEOUT_MS);
    cr_expect_eq(spec.reply_timeout_ms, 0);
}

Test(vhost_user_spec, every_key)
{
    cr_assert_eq(generic("socket=/s,server=on,profile=2017,queues=3,queue-size=1024,"
                         "connect-timeout=0,reply-timeout=250,virtio-id=26,config-size=256"),
                 0, "%s", err);
    cr_expect(spec.server);
    cr_expect_eq(spec.profile, VU_PROFILE_2017);
    cr_expect_eq(spec.queues, 3);
    cr_expect_eq(spec.queue_size, 1024);
    cr_expect_eq(spec.connect_timeout_ms, 0);
    cr_expect_eq(spec.reply_timeout_ms, 250);
    cr_expect_eq(spec.virtio_id, 26);
    cr_expect_eq(spec.config_size, 256);
}

static void refused(int ret, const char *want)
{
    cr_expect_eq(ret, -EINVAL);
    cr_expect(strstr(err, want), "error '%s' does not say '%s'", err, want);
}

Test(vhost_user_spec, bad_values_name_the_key)
{
    refused(blk("socket=/s,queues=0"), "queues must be 1..16, not '0'");
    refused(blk("socket=/s,queues=17"), "queues must be 1..16");
    refused(blk("socket=/s,queues=1x"), "queues must be");
    refused(blk("socket=/s,queues=-1"), "queues must be");
    refused(blk("socket=/s,queues=99999999999"), "queues must be");
    refused(blk("socket=/s,queue-size=100"), "queue-size must be a power of two");
    refused(blk("socket=/s,queue-size=65536"), "queue-size must be a power of two 1..32768");
    refused(blk("socket=/s,server=yes"), "server must be on or off, not 'yes'");
    refused(blk("socket=/s,profile=2010"), "profile must be modern or 2017");
    refused(blk("socket=/s,reply-timeout=0"), "reply-timeout must be 1..");
    refused(blk("socket=/s,connect-timeout=4000000"), "connect-timeout must be 0..3600000");
    refused(generic("socket=/s,virtio-id=0"), "virtio-id must be 1..63");
    refused(generic("socket=/s,virtio-id=1,config-size=257"), "config-size must be 0..256");
    refused(blk("socket="), "socket must not be empty");
}

Test(vhost_user_spec, structure_errors)
{
    char longpath[160];

    refused(blk(""), "socket=PATH is required");
    refused(blk("queues=2"), "socket=PATH is required");
    refused(blk("socket=/s,colour=blue"), "unknown key 'colour'");
    refused(blk("socket=/s,virtio-id=2"), "unknown key 'virtio-id'"); /* generic only */
    refused(blk("socket=/s,queues"), "queues needs a value");
    refused(blk("socket=/s,queues=1,queues=2"), "queues given twice");
    refused(blk("socket=/s,,queues=1"), "empty item");
    refused(blk("socket=/s,"), "trailing comma");
    refused(generic("socket=/s"), "virtio-id=N is required");
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "socket=", 7);
    longpath[sizeof(longpath) - 1] = '\0';
    refused(blk(longpath), "socket path longer than 107 bytes");
}

Test(vhost_user_spec, blk_refuses_the_2017_profile)
{
    refused(blk("socket=/s,profile=2017"), "GET_CONFIG");
}
