/*
 * MC146818 RTC + NVRAM model. Guest time = host time + an offset the guest
 * can change by writing the clock registers (with status B's SET bit, as
 * Linux does, or directly). Reads come from a latched copy of the time.
 */
#include "cmos.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define NVRAM_SIZE 128

enum {
    REG_SEC = 0x00,
    REG_MIN = 0x02,
    REG_HOUR = 0x04,
    REG_WDAY = 0x06,
    REG_MDAY = 0x07,
    REG_MON = 0x08,
    REG_YEAR = 0x09,
    REG_A = 0x0a,
    REG_B = 0x0b,
    REG_C = 0x0c,
    REG_D = 0x0d,
    REG_CENTURY = 0x32, /* where ACPI's FADT and PC BIOSes keep the century */
};

#define A_UIP      0x80 /* update in progress: never set here */
#define A_DEFAULT  0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define B_SET      0x80 /* updates stopped while the guest sets the time */
#define B_DM       0x04 /* data mode: binary instead of BCD */
#define B_24H      0x02
#define B_DEFAULT  B_24H
#define HOUR_PM    0x80 /* 12-hour mode: PM flag in the hour register */
#define D_VRT      0x80 /* valid RAM and time (Linux refuses the RTC without it) */
#define INDEX_MASK 0x7f /* bit 7 of the index port masks NMIs */

struct cmos {
    pthread_mutex_t lock;
    struct cmos_config cfg;
    uint8_t index;
    uint8_t nvram[NVRAM_SIZE];
    long long offset;   /* guest seconds minus host seconds */
    struct tm latched;  /* time the clock registers read as */
    time_t latched_at;  /* host time of the latch */
    struct tm set_time; /* clock being written while B.SET is set */
};

static time_t cmos_host_now(const struct cmos *c)
{
    struct timespec ts;

    if (c->cfg.now)
        return c->cfg.now(c->cfg.opaque);
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

/*
 * UTC calendar arithmetic, here rather than gmtime_r/timegm: their first call reads
 * /etc/localtime (glibc sets up the time zone even for UTC), a file read in the middle of
 * start-up. Proleptic Gregorian; years counted from March so that the leap day ends one:
 * an era is 400 years = 146097 days, and 1970-01-01 is day 719468 from 0000-03-01.
 */
#define CMOS_DAYS_PER_ERA   146097
#define CMOS_EPOCH_FROM_MAR 719468
#define CMOS_SECS_PER_DAY   86400

static long long cmos_floor_div(long long a, long long b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to year y, month m (1..12), day d (1..31). */
static long long cmos_days_from_civil(long long y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = cmos_floor_div(y, 400);
    yoe = y - era * 400;                                   /* 0..399 */
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365, from March 1st */
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * CMOS_DAYS_PER_ERA + doe - CMOS_EPOCH_FROM_MAR;
}

/* gmtime_r without the time zone: the fields the clock registers show. */
static struct tm cmos_utc_tm(long long t)
{
    long long days = cmos_floor_div(t, CMOS_SECS_PER_DAY), secs = t - days * CMOS_SECS_PER_DAY;
    long long z = days + CMOS_EPOCH_FROM_MAR, era = cmos_floor_div(z, CMOS_DAYS_PER_ERA);
    long long doe = z - era * CMOS_DAYS_PER_ERA;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153; /* 0 = March */
    struct tm tm = {0};

    tm.tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm.tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
    tm.tm_year = (int)(yoe + era * 400 + (tm.tm_mon <= 1) - 1900);
    tm.tm_hour = (int)(secs / 3600);
    tm.tm_min = (int)(secs / 60 % 60);
    tm.tm_sec = (int)(secs % 60);
    tm.tm_wday = (int)(cmos_floor_div(days + 4, 7) * -7 + days + 4); /* 1970-01-01: Thursday */
    return tm;
}

/* timegm without the time zone: out-of-range fields carry over, as timegm's do. */
static long long cmos_utc_seconds(const struct tm *tm)
{
    long long y = (long long)tm->tm_year + 1900 + cmos_floor_div(tm->tm_mon, 12);
    int m = (int)(tm->tm_mon - cmos_floor_div(tm->tm_mon, 12) * 12) + 1;
    long long days = cmos_days_from_civil(y, m, 1) + tm->tm_mday - 1;

    return days * CMOS_SECS_PER_DAY + tm->tm_hour * 3600LL + tm->tm_min * 60LL + tm->tm_sec;
}

static struct tm cmos_guest_tm(const struct cmos *c, time_t host)
{
    return cmos_utc_tm((long long)host + c->offset);
}

/*
 * Latches the time on reads of status A (the UIP poll that starts every reader's
 * sequence) and of seconds, or when the latch is stale, so one read sequence never
 * mixes two seconds: that is the guarantee UIP=0 gives on the real chip.
 */
static void cmos_latch(struct cmos *c, unsigned int reg)
{
    time_t now = cmos_host_now(c);

    if (reg == REG_A || reg == REG_SEC || now - c->latched_at > 1 || now < c->latched_at) {
        c->latched = cmos_guest_tm(c, now);
        c->latched_at = now;
    }
}

static bool cmos_is_clock(unsigned int reg)
{
    return reg == REG_SEC || reg == REG_MIN || reg == REG_HOUR || reg == REG_WDAY ||
           reg == REG_MDAY || reg == REG_MON || reg == REG_YEAR || reg == REG_CENTURY;
}

static uint8_t cmos_encode(const struct cmos *c, int v)
{
    if (c->nvram[REG_B] & B_DM)
        return (uint8_t)v;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int cmos_decode(const struct cmos *c, uint8_t v)
{
    if (c->nvram[REG_B] & B_DM)
        return v;
    return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t cmos_clock_read(const struct cmos *c, const struct tm *tm, unsigned int reg)
{
    int hour;

    switch (reg) {
    case REG_SEC:
        return cmos_encode(c, tm->tm_sec > 59 ? 59 : tm->tm_sec);
    case REG_MIN:
        return cmos_encode(c, tm->tm_min);
    case REG_HOUR:
        if (c->nvram[REG_B] & B_24H)
            return cmos_encode(c, tm->tm_hour);
        hour = tm->tm_hour % 12 == 0 ? 12 : tm->tm_hour % 12;
        return cmos_encode(c, hour) | (tm->tm_hour >= 12 ? HOUR_PM : 0);
    case REG_WDAY:
        return cmos_encode(c, tm->tm_wday + 1); /* 1 = Sunday */
    case REG_MDAY:
        return cmos_encode(c, tm->tm_mday);
    case REG_MON:
        return cmos_encode(c, tm->tm_mon + 1);
    case REG_YEAR:
        return cmos_encode(c, (tm->tm_year + 1900) % 100);
    default: /* REG_CENTURY */
        return cmos_encode(c, (tm->tm_year + 1900) / 100);
    }
}

static void cmos_clock_write(const struct cmos *c, struct tm *tm, unsigned int reg, uint8_t v)
{
    int year = tm->tm_year + 1900;
    int hour;

    switch (reg) {
    case REG_SEC:
        tm->tm_sec = cmos_decode(c, v);
        break;
    case REG_MIN:
        tm->tm_min = cmos_decode(c, v);
        break;
    case REG_HOUR:
        if (c->nvram[REG_B] & B_24H) {
            tm->tm_hour = cmos_decode(c, v);
            break;
        }
        hour = cmos_decode(c, v & (uint8_t)~HOUR_PM) % 12;
        tm->tm_hour = hour + ((v & HOUR_PM) ? 12 : 0);
        break;
    case REG_WDAY:
        break; /* derived from the date */
    case REG_MDAY:
        tm->tm_mday = cmos_decode(c, v);
        break;
    case REG_MON:
        tm->tm_mon = cmos_decode(c, v) - 1;
        break;
    case REG_YEAR:
        tm->tm_year = year / 100 * 100 + cmos_decode(c, v) % 100 - 1900;
        break;
    default: /* REG_CENTURY */
        tm->tm_year = cmos_decode(c, v) * 100 + year % 100 - 1900;
        break;
    }
}

/* Makes a broken-down guest time the clock: the offset moves, the host clock does not. */
static void cmos_apply(struct cmos *c, struct tm *tm)
{
    time_t now = cmos_host_now(c);
    long long t = cmos_utc_seconds(tm);

    c->offset = t - (long long)now;
    c->latched = cmos_guest_tm(c, now);
    c->latched_at = now;
}

static uint8_t cmos_read_reg(struct cmos *c, unsigned int reg)
{
    if (cmos_is_clock(reg)) {
        if (c->nvram[REG_B] & B_SET)
            return cmos_clock_read(c, &c->set_time, reg);
        cmos_latch(c, reg);
        return cmos_clock_read(c, &c->latched, reg);
    }
    switch (reg) {
    case REG_A:
        cmos_latch(c, reg);
        return c->nvram[REG_A] & (uint8_t)~A_UIP;
    case REG_C:
        return 0; /* no interrupt flags: nothing ever fires */
    case REG_D:
        return D_VRT;
    default:
        return c->nvram[reg];
    }
}

static void cmos_write_reg(struct cmos *c, unsigned int reg, uint8_t v)
{
    struct tm tm;
    uint8_t old_b = c->nvram[REG_B];

    if (cmos_is_clock(reg)) {
        if (old_b & B_SET) {
            cmos_clock_write(c, &c->set_time, reg, v);
            return;
        }
        tm = cmos_guest_tm(c, cmos_host_now(c));
        cmos_clock_write(c, &tm, reg, v);
        cmos_apply(c, &tm);
        return;
    }
    switch (reg) {
    case REG_A:
        c->nvram[REG_A] = v & (uint8_t)~A_UIP;
        break;
    case REG_B:
        c->nvram[REG_B] = v;
        if (!(old_b & B_SET) && (v & B_SET))
            c->set_time = cmos_guest_tm(c, cmos_host_now(c));
        else if ((old_b & B_SET) && !(v & B_SET))
            cmos_apply(c, &c->set_time);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        c->nvram[reg] = v;
        break;
    }
}

static void cmos_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
    struct cmos *c = opaque;
    uint8_t *out = data;

    pthread_mutex_lock(&c->lock);
    for (unsigned int i = 0; i < len; i++) {
        if (offset + i == 0)
            out[i] = c->index;
        else if (offset + i == 1)
            out[i] = cmos_read_reg(c, c->index);
        else
            out[i] = 0xff;
    }
    pthread_mutex_unlock(&c->lock);
}

static void cmos_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
    struct cmos *c = opaque;
    const uint8_t *in = data;

    pthread_mutex_lock(&c->lock);
    for (unsigned int i = 0; i < len; i++) {
        if (offset + i == 0)
            c->index = in[i] & INDEX_MASK;
        else if (offset + i == 1)
            cmos_write_reg(c, c->index, in[i]);
    }
    pthread_mutex_unlock(&c->lock);
}

long long cmos_offset(struct cmos *c)
{
    long long off;

    pthread_mutex_lock(&c->lock);
    off = c->offset;
    pthread_mutex_unlock(&c->lock);
    return off;
}

struct cmos *cmos_create(const struct cmos_config *cfg)
{
    struct cmos *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (cfg)
        c->cfg = *cfg;
    c->nvram[REG_A] = A_DEFAULT;
    c->nvram[REG_B] = B_DEFAULT;
    c->latched_at = cmos_host_now(c);
    c->latched = cmos_guest_tm(c, c->latched_at);
    return c;
}

void cmos_destroy(struct cmos *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int cmos_attach(struct cmos *c, struct bus *pio)
{
    struct bus_device dev = {
        .name = "cmos",
        .base = CMOS_PORT_INDEX,
        .size = 2,
        .opaque = c,
        .read = cmos_read,
        .write = cmos_write,
    };

    return bus_register(pio, &dev);
}
