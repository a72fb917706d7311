/* Logging to stderr, one line per event, prefixed with the process role
 * ("master", "worker 2", "agora") so interleaved lines stay readable. */
#ifndef AGORA_LOG_H
#define AGORA_LOG_H

void log_set_role(const char *role);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits with status 2 (a configuration or start-up error). */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
