/*
 * CRC-32C (Castagnoli) for the migration stream, standard parameters (init and final
 * inversion: CRC of "123456789" is 0xE3069283), chainable: crc(crc(0, A), B) = crc(0, AB).
 * Uses SSE4.2 + PCLMULQDQ in three lanes when the CPU has them, else a table.
 */
#ifndef MINIVMM_MIGRATE_CRC_H
#define MINIVMM_MIGRATE_CRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t mcrc_crc32c(uint32_t crc, const void *data, size_t len);
/* Copies src to dst (no overlap) and returns the CRC of the copy, reading src once. */
uint32_t mcrc_copy(uint32_t crc, void *dst, const void *src, size_t len);
/* The table-driven reference, whatever the CPU (for tests). */
uint32_t mcrc_crc32c_soft(uint32_t crc, const void *data, size_t len);

#endif
