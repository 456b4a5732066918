/*
 * The few C library functions the firmware needs (GCC emits calls to the
 * mem* ones even in freestanding code), under their standard names. Hosted
 * builds (unit tests) use the C library's instead.
 */
#ifndef FW_LIB_H
#define FW_LIB_H

#include <stddef.h>
#include <stdint.h>

#if __STDC_HOSTED__
#include <string.h> /* unit tests build firmware files on the host */
#else
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
