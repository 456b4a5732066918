/*
 * Unit tests for devices/cmos.c through the port-I/O bus, on a fixed clock:
 * what Linux's mc146818 code reads and writes.
 */
#include <criterion/criterion.h>
#include <time.h>

#include "cmos.h"

static time_t clock_now;
static struct bus pio;
static struct cmos *rtc;

static time_t fake_now(void *opaque)
{
    return clock_now;
}

static void setup(void)
{
    struct cmos_config cfg = {.now = fake_now};
    struct tm tm = {.tm_year = 2024 - 1900,
                    .tm_mon = 1,
                    .tm_mday = 29,
                    .tm_hour = 13,
                    .tm_min = 45,
                    .tm_sec = 7};

    clock_now = timegm(&tm); /* Thursday 29 February 2024, 13:45:07 UTC */
    bus_init(&pio, "pio");
    rtc = cmos_create(&cfg);
    cr_assert_not_null(rtc);
    cr_assert_eq(cmos_attach(rtc, &pio), 0);
}

static void teardown(void)
{
    cmos_destroy(rtc);
}

static uint8_t rd(uint8_t reg)
{
    uint8_t v = 0;

    cr_assert(bus_write(&pio, CMOS_PORT_INDEX, &reg, 1));
    cr_assert(bus_read(&pio, CMOS_PORT_DATA, &v, 1));
    return v;
}

static void wr(uint8_t reg, uint8_t v)
{
    cr_assert(bus_write(&pio, CMOS_PORT_INDEX, &reg, 1));
    cr_assert(bus_write(&pio, CMOS_PORT_DATA, &v, 1));
}

TestSuite(cmos, .init = setup, .fini = teardown);

Test(cmos, status_registers)
{
    cr_assert_eq(rd(0x0a), 0x26, "UIP clear, standard divider");
    cr_assert_eq(rd(0x0b), 0x02, "24-hour BCD");
    cr_assert_eq(rd(0x0c), 0x00, "no interrupt flags");
    cr_assert_eq(rd(0x0d), 0x80, "valid RAM and time; bit 6 clear");
}

Test(cmos, host_time_in_bcd)
{
    cr_assert_eq(rd(0x0a) & 0x80, 0);
    cr_assert_eq(rd(0x00), 0x07);
    cr_assert_eq(rd(0x02), 0x45);
    cr_assert_eq(rd(0x04), 0x13);
    cr_assert_eq(rd(0x06), 0x05, "Thursday (1 = Sunday)");
    cr_assert_eq(rd(0x07), 0x29);
    cr_assert_eq(rd(0x08), 0x02);
    cr_assert_eq(rd(0x09), 0x24);
    cr_assert_eq(rd(0x32), 0x20, "century");
}

Test(cmos, binary_and_12_hour_modes)
{
    wr(0x0b, 0x06);
    cr_assert_eq(rd(0x04), 13);
    cr_assert_eq(rd(0x09), 24);
    wr(0x0b, 0x00);
    cr_assert_eq(rd(0x04), 0x81, "1 PM: BCD 1 with the PM flag");
}

Test(cmos, nmi_mask_bit_is_not_part_of_the_index)
{
    cr_assert_eq(rd(0x80 | 0x02), 0x45);
}

Test(cmos, one_read_sequence_sees_one_second)
{
    clock_now += 59 - 7; /* 13:45:59 */
    cr_assert_eq(rd(0x0a) & 0x80, 0, "reader polls UIP first: latch");
    clock_now += 1; /* the minute rolls over mid-sequence */
    cr_assert_eq(rd(0x02), 0x45, "minutes from the latch");
    cr_assert_eq(rd(0x00), 0x00, "seconds relatch: a new sequence");
    cr_assert_eq(rd(0x02), 0x46);
    clock_now += 120;
    cr_assert_eq(rd(0x02), 0x48, "a stale latch is refreshed");
}

Test(cmos, guest_sets_the_time_like_linux)
{
    wr(0x0b, 0x02 | 0x80); /* SET: updates stop */
    wr(0x00, 0x30);
    wr(0x02, 0x15);
    wr(0x04, 0x08);
    wr(0x07, 0x01);
    wr(0x08, 0x03);
    wr(0x09, 0x25);
    cr_assert_eq(rd(0x09), 0x25, "reads show the time being set");
    clock_now += 10;
    cr_assert_eq(rd(0x00), 0x30, "frozen while SET");
    wr(0x0b, 0x02);
    cr_assert_eq(rd(0x00), 0x30);
    cr_assert_eq(rd(0x04), 0x08);
    cr_assert_eq(rd(0x08), 0x03);
    cr_assert_eq(rd(0x09), 0x25);
    cr_assert_eq(rd(0x06), 0x07, "1 March 2025 is a Saturday");
    clock_now += 5;
    cr_assert_eq(rd(0x00), 0x35, "the new clock runs with the host");
    cr_assert_gt(cmos_offset(rtc), 365LL * 86400);
}

Test(cmos, direct_clock_write_moves_the_offset)
{
    wr(0x04, 0x14); /* one hour later */
    cr_assert_eq(cmos_offset(rtc), 3600);
    cr_assert_eq(rd(0x04), 0x14);
    cr_assert_eq(rd(0x02), 0x45);
}

Test(cmos, nvram_and_read_only_registers)
{
    wr(0x0f, 0x0a); /* shutdown status: Linux's SMP warm-reset vector */
    wr(0x7f, 0x5a);
    cr_assert_eq(rd(0x0f), 0x0a);
    cr_assert_eq(rd(0x7f), 0x5a);
    wr(0x0c, 0xff);
    wr(0x0d, 0x00);
    cr_assert_eq(rd(0x0c), 0x00);
    cr_assert_eq(rd(0x0d), 0x80);
    wr(0x0a, 0xa6);
    cr_assert_eq(rd(0x0a), 0x26, "UIP is read-only");
}

Test(cmos_host, host_clock_is_default)
{
    struct cmos *c = cmos_create(NULL);
    struct bus b;
    uint8_t reg = 0x32, v = 0;

    cr_assert_not_null(c);
    bus_init(&b, "pio");
    cr_assert_eq(cmos_attach(c, &b), 0);
    cr_assert(bus_write(&b, CMOS_PORT_INDEX, &reg, 1));
    cr_assert(bus_read(&b, CMOS_PORT_DATA, &v, 1));
    cr_assert_eq(v, 0x20, "21st century");
    cmos_destroy(c);
    cmos_destroy(NULL);
}

/*
 * The calendar minivmm computes itself (no time zone set-up) against gmtime_r: leap days,
 * century years, the epoch's edges, dates before 1970 and random instants over 2 centuries.
 */
Test(cmos, calendar_matches_gmtime)
{
    static const long long edges[] = {0,           -1,         86399,       951782400,
                                      951868799,   4107542400, 4107455999,  1709214307,
                                      -2208988800, 7258118400, 253402300799};
    uint64_t seed = 12345;

    wr(0x0b, 0x06); /* binary, 24-hour */
    for (int i = 0; i < 3000; i++) {
        long long t;
        struct tm want;

        if (i < (int)(sizeof(edges) / sizeof(edges[0]))) {
            t = edges[i];
        } else {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            t = (long long)(seed >> 33) % 7000000000LL - 2000000000LL;
        }
        clock_now = (time_t)t;
        time_t tt = (time_t)t;
        cr_assert_not_null(gmtime_r(&tt, &want));
        (void)rd(0x0a); /* latches the clock, as every reader's sequence starts */
        cr_assert_eq(rd(0x00), want.tm_sec, "t=%lld", t);
        cr_assert_eq(rd(0x02), want.tm_min, "t=%lld", t);
        cr_assert_eq(rd(0x04), want.tm_hour, "t=%lld", t);
        cr_assert_eq(rd(0x06), want.tm_wday + 1, "t=%lld weekday", t);
        cr_assert_eq(rd(0x07), want.tm_mday, "t=%lld", t);
        cr_assert_eq(rd(0x08), want.tm_mon + 1, "t=%lld", t);
        cr_assert_eq(rd(0x09), (want.tm_year + 1900) % 100, "t=%lld", t);
        cr_assert_eq(rd(0x32), (want.tm_year + 1900) / 100, "t=%lld century", t);
    }
}
