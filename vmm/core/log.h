/*
 * Logging: one line per event on stderr, prefixed "minivmm: ".
 * Log once, where the failing step is known ("SET_VRING_KICK q=%u: %s").
 */
#ifndef MINIVMM_LOG_H
#define MINIVMM_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Fallible functions return 0 or -errno and must be checked. */
#define MUST_CHECK __attribute__((warn_unused_result))

#endif
