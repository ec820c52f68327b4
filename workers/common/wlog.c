/* wlog — log lines on stderr. See wlog.h. */
#include "workers/common/wlog.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>

#include "protocol/codec.h"

static const char *program = "exitflow";

void
wlog_init (const char *name)
{
    program = name;
}

void
wlog (const char *fmt, ...)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    char ts[CODEC_TIME_LEN];
    codec_format_time ((int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000, ts);
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    fprintf (stderr, "%s %s: %s\n", ts, program, line);
}
