/* Unit tests for vmm/core/bus.c: registration rules and dispatch. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bus.h"

struct rec {
    uint64_t offset;
    unsigned int len;
    uint32_t value;
    int reads, writes;
};

static void rec_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct rec *r = opaque;
    r->reads++;
    r->offset = offset;
    memset(data, 0xab, len);
}

static void rec_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct rec *r = opaque;
    r->writes++;
    r->offset = offset;
    r->len = len;
    r->value = 0;
    memcpy(&r->value, data, len < 4 ? len : 4);
}

Test(bus, dispatches_with_offsets)
{
    struct bus bus;
    struct rec r = {0};
    struct bus_device d = {"dev", 0x3f8, 8, &r, rec_read, rec_write};
    uint8_t b = 0;
    uint16_t w = 0x1234;

    bus_init(&bus, "pio");
    cr_assert_eq(bus_register(&bus, &d), 0);
    cr_assert(bus_read(&bus, 0x3fd, &b, 1));
    cr_assert_eq(r.offset, 5);
    cr_assert_eq(b, 0xab);
    cr_assert(bus_write(&bus, 0x3f8, &w, 2));
    cr_assert_eq(r.value, 0x1234);
    cr_assert_eq(r.len, 2);
}

Test(bus, unclaimed_reads_are_all_ones_and_counted)
{
    struct bus bus;
    uint32_t v = 0;

    bus_init(&bus, "mmio");
    cr_assert_not(bus_read(&bus, 0xd0000000, &v, 4));
    cr_assert_eq(v, 0xffffffff);
    cr_assert_not(bus_write(&bus, 0xd0000000, &v, 4));
    cr_assert_eq(bus.unclaimed, 2);
}

Test(bus, access_straddling_the_end_is_unclaimed)
{
    struct bus bus;
    struct rec r = {0};
    struct bus_device d = {"dev", 0x60, 1, &r, rec_read, rec_write};
    uint16_t v;

    bus_init(&bus, "pio");
    cr_assert_eq(bus_register(&bus, &d), 0);
    cr_assert_not(bus_read(&bus, 0x60, &v, 2));
    cr_assert_eq(r.reads, 0);
}

Test(bus, overlaps_and_empty_ranges_are_refused)
{
    struct bus bus;
    struct bus_device a = {"a", 0x1000, 0x100, NULL, NULL, NULL};
    struct bus_device b = {"b", 0x10ff, 1, NULL, NULL, NULL};
    struct bus_device c = {"c", 0x2000, 0, NULL, NULL, NULL};
    struct bus_device wrap = {"w", UINT64_MAX - 1, 4, NULL, NULL, NULL};

    bus_init(&bus, "mmio");
    cr_assert_eq(bus_register(&bus, &a), 0);
    cr_assert_eq(bus_register(&bus, &b), -EEXIST);
    cr_assert_eq(bus_register(&bus, &c), -EINVAL);
    cr_assert_eq(bus_register(&bus, &wrap), -EINVAL);
}

Test(bus, table_full_is_enospc)
{
    struct bus bus;

    bus_init(&bus, "pio");
    for (unsigned int i = 0; i < BUS_MAX_DEVICES; i++) {
        struct bus_device d = {"d", i * 2, 1, NULL, NULL, NULL};
        cr_assert_eq(bus_register(&bus, &d), 0);
    }
    struct bus_device extra = {"x", 0x9000, 1, NULL, NULL, NULL};
    cr_assert_eq(bus_register(&bus, &extra), -ENOSPC);
}
