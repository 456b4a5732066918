/* The blk test's data pattern (see pattern.h). */
#include "pattern.h"

#define WORDS_PER_SECTOR (PATTERN_SECTOR / 8)

uint64_t pattern_word(uint64_t seed, uint64_t sector, uint32_t index)
{
    /* The increment keeps (seed 0, sector 0, word 0) away from 0, which a blank disk holds. */
    uint64_t x = (sector << 9 | index) + seed + 0x9e3779b97f4a7c15ULL;

    /* splitmix64 finaliser: neighbouring sectors and words look unrelated. */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void pattern_fill(void *buf, uint64_t seed, uint64_t sector, uint64_t nsectors)
{
    uint64_t *w = buf;

    for (uint64_t s = 0; s < nsectors; s++) {
        for (uint32_t i = 0; i < WORDS_PER_SECTOR; i++)
            *w++ = pattern_word(seed, sector + s, i);
    }
}

uint64_t pattern_check(const void *buf, uint64_t seed, uint64_t sector, uint64_t nsectors)
{
    const uint64_t *w = buf;

    for (uint64_t s = 0; s < nsectors; s++) {
        for (uint32_t i = 0; i < WORDS_PER_SECTOR; i++) {
            if (*w++ != pattern_word(seed, sector + s, i))
                return s;
        }
    }
    return nsectors;
}
