/*
 * Error numbers for code that builds both freestanding (firmware) and hosted
 * (unit tests): the Linux values, from <errno.h> when there is one.
 */
#ifndef FW_ERRNO_H
#define FW_ERRNO_H

#if __STDC_HOSTED__
#include <errno.h>
#else
#define EIO       5
#define ENOMEM    12
#define ENODEV    19
#define EINVAL    22
#define ENOSPC    28
#define EPROTO    71
#define ENOTSUP   95
#define ETIMEDOUT 110
#endif

#endif
