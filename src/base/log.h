/*
 * log: one-line structured log records on stderr, "ts=... level=... msg=... k=v ...".
 *
 * Callers must never pass API keys, client secrets or personal data (CONTRACT.md is explicit,
 * DEVELOPERS.md "Secure by default"): log IDs, statuses and timings only.
 */
#ifndef VERIFYD_LOG_H
#define VERIFYD_LOG_H

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level;

/* Parse "error|warn|info|debug"; returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, int *out);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_enabled(l) ((l) <= log_level)

#endif
