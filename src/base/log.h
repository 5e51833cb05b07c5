/*
 * log: one-line structured log records on stderr, "ts=... level=... msg=... k=v ...".
 *
 * Callers must never pass API keys, client secrets or personal data (CONTRACT.md is explicit,
 * DEVELOPERS.md "Secure by default"): log IDs, statuses and timings only.
 */
#ifndef VERIFYD_LOG_H
#define VERIFYD_LOG_H

#include "base/arena.h"

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level;

/* Parse "error|warn|info|debug"; returns 0 and sets *out, or -1. */
int log_level_parse(const char *s, int *out);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as one value of a record, so that whatever a client sent stays inside its key=value pair
 * and the record on one line: s itself when it is printable ASCII without space, quote,
 * backslash or '='; else s in double quotes, with \" \\ and \xNN for every other byte. The
 * result is s or lives in a. */
const char *log_value(arena *a, const char *s);

#define log_enabled(l) ((l) <= log_level)

#endif
