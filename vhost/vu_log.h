/*
 * The vhost library's only dependency on its user: a logging hook. The library cannot include
 * the VMM's log.h (it depends on libc only), so the VMM installs a hook; without one, errors,
 * warnings and info lines go to stderr. Also defines VU_MUST_CHECK for fallible functions.
 */
#ifndef MINIVMM_VU_LOG_H
#define MINIVMM_VU_LOG_H

#define VU_MUST_CHECK __attribute__((warn_unused_result))

enum vu_log_level { VU_LOG_ERR, VU_LOG_WARN, VU_LOG_INFO, VU_LOG_DEBUG };

/* Receives one formatted line without a trailing newline. */
typedef void vu_log_fn(enum vu_log_level level, const char *line, void *opaque);

/* Process-wide; NULL restores the stderr default. Set it before creating sessions. */
void vu_log_set_hook(vu_log_fn *fn, void *opaque);
void vu_log(enum vu_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
