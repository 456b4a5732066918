/*
 * Unit tests for firmware/pattern.c: the blk test's data tells every sector,
 * word and seed apart, so a misplaced or stale sector cannot pass.
 */
#include <criterion/criterion.h>

#include "pattern.h"

static uint64_t buf[8 * PATTERN_SECTOR / 8];

Test(fw_pattern, fill_then_check)
{
    pattern_fill(buf, 7, 100, 8);
    cr_assert_eq(pattern_check(buf, 7, 100, 8), 8);
    cr_assert_eq(pattern_check(buf, 8, 100, 8), 0, "another seed");
    cr_assert_eq(pattern_check(buf, 7, 101, 8), 0, "shifted by a sector");
}

Test(fw_pattern, one_flipped_bit_anywhere_is_found)
{
    for (unsigned int w = 0; w < sizeof(buf) / 8; w += 13) {
        pattern_fill(buf, 1, 0, 8);
        buf[w] ^= 1ULL << (w % 64);
        cr_assert_eq(pattern_check(buf, 1, 0, 8), w / (PATTERN_SECTOR / 8));
    }
}

Test(fw_pattern, words_differ)
{
    cr_assert_neq(pattern_word(0, 0, 0), pattern_word(0, 0, 1));
    cr_assert_neq(pattern_word(0, 0, 0), pattern_word(0, 1, 0));
    cr_assert_neq(pattern_word(0, 0, 0), 0);
}
