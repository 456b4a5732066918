/*
 * CRC-32C for the migration stream (migrate_crc.h): fast enough to check every RAM byte
 * without becoming the transfer's bottleneck. The SSE4.2 crc32 instruction has a latency
 * of three cycles and a throughput of one, so three independent lanes run at once and are
 * joined by "shifting" the earlier lanes' CRCs with a carry-less multiply (PCLMULQDQ).
 */
#include "migrate_crc.h"

#include <pthread.h>
#include <string.h>

#define MCRC_POLY 0x82F63B78u /* Castagnoli, reflected */
/* Bytes per lane in one three-lane block; a multiple of 8. Three lanes cover all of a
 * 4 KiB page but 16 bytes (pages are checksummed one by one). */
#define MCRC_LANE  1360u
#define MCRC_BLOCK (3u * MCRC_LANE)

static uint32_t mcrc_table[256];
/* x^(8 * MCRC_LANE - 33) mod P, reflected: multiplying by it and folding with one crc32
 * instruction advances a CRC over MCRC_LANE zero bytes (see mcrc_shift). */
static uint64_t mcrc_lane_k;
static bool mcrc_has_sse42, mcrc_has_clmul;

/* x^n mod P in the reflected representation (bit 31 is x^0). */
static uint32_t mcrc_xpow(unsigned int n)
{
    uint32_t v = 0x80000000u;

    while (n--)
        v = v & 1 ? (v >> 1) ^ MCRC_POLY : v >> 1;
    return v;
}

static void mcrc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ MCRC_POLY : c >> 1;
        mcrc_table[i] = c;
    }
    mcrc_lane_k = mcrc_xpow(8 * MCRC_LANE - 33);
    mcrc_has_sse42 = __builtin_cpu_supports("sse4.2");
    mcrc_has_clmul = mcrc_has_sse42 && __builtin_cpu_supports("pclmul");
}

static void mcrc_once(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, mcrc_init);
}

static uint32_t mcrc_soft(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--)
        crc = mcrc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t mcrc_hw(uint32_t crc, const uint8_t *p,
                                                          size_t len)
{
    uint64_t c = crc;

    for (; len >= 8; len -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    crc = (uint32_t)c;
    for (; len; len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return crc;
}

/*
 * crc advanced over MCRC_LANE zero bytes: crc * x^(8 * MCRC_LANE) mod P. The reflected
 * carry-less product of two 32-bit values carries one extra factor x, and crc32 over a
 * 64-bit word multiplies by x^32 before reducing: hence the constant's x^(8L - 33).
 */
__attribute__((target("sse4.2,pclmul"))) static uint32_t mcrc_shift(uint32_t crc)
{
    typedef long long v2di __attribute__((vector_size(16)));
    v2di a = {(long long)crc, 0}, k = {(long long)mcrc_lane_k, 0};
    v2di prod = __builtin_ia32_pclmulqdq128(a, k, 0x00);

    return (uint32_t)__builtin_ia32_crc32di(0, (uint64_t)prod[0]);
}

/*
 * Three lanes over each MCRC_BLOCK; dst (if not NULL) receives a copy of what was
 * checksummed, read once from src: the copy is exactly the bytes the CRC describes, even if
 * src changes meanwhile (a running guest's page).
 */
__attribute__((target("sse4.2,pclmul"))) static uint32_t mcrc_lanes(uint32_t crc, uint8_t *dst,
                                                                    const uint8_t *p, size_t len)
{
    for (; len >= MCRC_BLOCK; len -= MCRC_BLOCK, p += MCRC_BLOCK) {
        uint64_t a = crc, b = 0, c = 0;
        for (unsigned int i = 0; i < MCRC_LANE; i += 8) {
            uint64_t x, y, z;
            memcpy(&x, p + i, 8);
            memcpy(&y, p + MCRC_LANE + i, 8);
            memcpy(&z, p + 2 * MCRC_LANE + i, 8);
            if (dst) {
                memcpy(dst + i, &x, 8);
                memcpy(dst + MCRC_LANE + i, &y, 8);
                memcpy(dst + 2 * MCRC_LANE + i, &z, 8);
            }
            a = __builtin_ia32_crc32di(a, x);
            b = __builtin_ia32_crc32di(b, y);
            c = __builtin_ia32_crc32di(c, z);
        }
        /* crc(A|B|C) = shift(shift(crc(A)) ^ crc(B)) ^ crc(C), B and C started from 0. */
        crc = mcrc_shift(mcrc_shift((uint32_t)a) ^ (uint32_t)b) ^ (uint32_t)c;
        if (dst)
            dst += MCRC_BLOCK;
    }
    if (dst && len)
        memcpy(dst, p, len);
    return mcrc_hw(crc, p, len);
}

static uint32_t mcrc_run(uint32_t crc, void *dst, const void *src, size_t len)
{
    if (len == 0) /* also: no memcpy from a NULL empty buffer */
        return crc;
    mcrc_once();
    crc = ~crc;
    if (mcrc_has_clmul && len >= MCRC_BLOCK)
        return ~mcrc_lanes(crc, dst, src, len);
    if (dst)
        memcpy(dst, src, len);
    /* From the copy when there is one: it is what the CRC must describe. */
    const uint8_t *p = dst ? dst : src;
    return ~(mcrc_has_sse42 ? mcrc_hw(crc, p, len) : mcrc_soft(crc, p, len));
}

uint32_t mcrc_crc32c(uint32_t crc, const void *data, size_t len)
{
    return mcrc_run(crc, NULL, data, len);
}

uint32_t mcrc_copy(uint32_t crc, void *dst, const void *src, size_t len)
{
    return mcrc_run(crc, dst, src, len);
}

uint32_t mcrc_crc32c_soft(uint32_t crc, const void *data, size_t len)
{
    mcrc_once();
    return ~mcrc_soft(~crc, data, len);
}
