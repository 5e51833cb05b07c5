/*
 * log: stderr logging, one record per line, written with a single write(2) so concurrent
 * threads never interleave within a line.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *s, int *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

void log_msg(int level, const char *fmt, ...)
{
    if (!log_enabled(level)) return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

/* Longest part of a value that a record shows; a longer one ends in "..." inside its quotes. */
#define VALUE_MAX 512

static int bare_ok(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' && ch != '=';
}

const char *log_value(arena *a, const char *s)
{
    size_t n = strlen(s), i;
    for (i = 0; i < n && i < VALUE_MAX && bare_ok((unsigned char)s[i]); i++)
        ;
    if (i == n && n > 0) return s;
    buf b;
    buf_init(&b, a);
    buf_putc(&b, '"');
    for (i = 0; i < n && i < VALUE_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            buf_printf(&b, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            buf_printf(&b, "\\x%02x", ch);
        else
            buf_putc(&b, (char)ch);
    }
    if (n > VALUE_MAX) buf_append(&b, "...", 3);
    buf_putc(&b, '"');
    buf_putc(&b, '\0');
    return b.data;
}
