/* log — log lines and their rate limit. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "protocol/codec.h"

static const char *const kind_names[LOG_KIND_COUNT] = {
    [LOG_ENVELOPE] = "malformed envelope",
    [LOG_UNKNOWN_KEY] = "request from a key that is not a known certificate",
    [LOG_STORAGE] = "storage fault",
    [LOG_CONNECTIONS] = "connection refused or cut",
};

static struct {
    int64_t second;                 /* the second being counted */
    int written;
    uint64_t suppressed;
} kinds[LOG_KIND_COUNT];

static void
vlog_line (const char *level, const char *fmt, va_list ap)
{
    char ts[CODEC_TIME_LEN];
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    codec_format_time ((int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000, ts);
    fprintf (stderr, "%s exitflowd %s: ", ts, level);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
}

void
log_line (const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vlog_line (level, fmt, ap);
    va_end (ap);
}

/* Closes the count of `kind` when its second is over. */
static void
roll (log_kind_t kind, int64_t second)
{
    if (kinds[kind].second == second)
        return;
    if (kinds[kind].suppressed)
        log_line ("warn", "%llu more log line(s) of kind '%s' suppressed",
                  (unsigned long long) kinds[kind].suppressed,
                  kind_names[kind]);
    kinds[kind].second = second;
    kinds[kind].written = 0;
    kinds[kind].suppressed = 0;
}

void
log_limited (log_kind_t kind, int64_t now_ms, const char *level,
             const char *fmt, ...)
{
    roll (kind, now_ms / 1000);
    if (kinds[kind].written == LOG_LIMIT_PER_SECOND) {
        kinds[kind].suppressed++;
        return;
    }
    kinds[kind].written++;
    va_list ap;
    va_start (ap, fmt);
    vlog_line (level, fmt, ap);
    va_end (ap);
}

void
log_flush (int64_t now_ms)
{
    for (int k = 0; k < LOG_KIND_COUNT; k++)
        roll ((log_kind_t) k, now_ms / 1000);
}
