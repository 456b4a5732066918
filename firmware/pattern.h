/*
 * The data the blk test writes: every 64-bit word is a function of a seed,
 * the sector number and the word's index, so a misplaced, stale or torn
 * sector is told apart from a right one. Host-compilable: the host test
 * checks the image file with the same functions (tests/firmware/check_blk_image.c).
 */
#ifndef FW_PATTERN_H
#define FW_PATTERN_H

#include <stdint.h>

#define PATTERN_SECTOR 512

uint64_t pattern_word(uint64_t seed, uint64_t sector, uint32_t index);
void pattern_fill(void *buf, uint64_t seed, uint64_t sector, uint64_t nsectors);
/* Index of the first sector of buf that does not hold the pattern, or nsectors. */
uint64_t pattern_check(const void *buf, uint64_t seed, uint64_t sector, uint64_t nsectors);

#endif
