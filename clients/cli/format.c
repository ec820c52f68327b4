/* format — text for people: times, durations, aligned tables.
 *
 * Owns: reading the protocol's RFC 3339 times, printing them in the CoC's
 * zone (the daemon's, asked once) and saying which, idle durations
 * ("3d4h"), the duration syntax of --idle, and tables whose columns line
 * up (by code points, so UTF-8 text does not skew them). */
#include "cli.h"

#include "protocol/calendar.h"
#include "protocol/codec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reading results ---- */

const char *
mp_str (const msgpack_object *map, const char *key, char *buf, size_t cap,
        const char *dflt)
{
    if (exitflow_obj_str (map, key, buf, cap))
        return buf;
    if (!dflt)
        return NULL;
    snprintf (buf, cap, "%s", dflt);    /* `buf` holds what is returned */
    return buf;
}

int64_t
mp_int (const msgpack_object *map, const char *key, int64_t dflt)
{
    int64_t v;
    return exitflow_obj_int (map, key, &v) ? v : dflt;
}

const msgpack_object *
mp_array (const msgpack_object *map, const char *key, uint32_t *n)
{
    const msgpack_object *a = exitflow_obj_get (map, key);
    if (!a || a->type != MSGPACK_OBJECT_ARRAY) {
        *n = 0;
        return NULL;
    }
    *n = a->via.array.size;
    return a->via.array.ptr;
}

bool
mp_is_str (const msgpack_object *o, const char *s)
{
    size_t n = strlen (s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n
           && memcmp (o->via.str.ptr, s, n) == 0;
}

/* ---- time ---- */

int64_t
fmt_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemon's zone when it can say (stats needs the ops or admin role:
 * a frontend certificate is refused, and a daemon may be older) and this
 * system knows it; else the zone this program runs in. Asked once. */
const char *
cli_coc_zone (cli_t *cli)
{
    static bool asked;
    if (asked)
        return calendar_zone ();
    asked = true;
    char zone[64] = "", why[160];
    exitflow_error_t err;
    exitflow_reply_t *stats = cli->client ? exitflow_stats (cli->client, &err)
                                          : NULL;
    if (stats)
        mp_str (exitflow_reply_result (stats), "timezone", zone, sizeof zone,
                "");
    exitflow_reply_destroy (&stats);
    if (!zone[0] || !calendar_set_zone (zone, why, sizeof why))
        calendar_set_zone (NULL, why, sizeof why);
    return calendar_zone ();
}

bool
fmt_parse_time (const char *text, int64_t *ms)
{
    return text && codec_parse_time ((exf_str_t) { text, (uint32_t) strlen (text) },
                                     ms);
}

void
fmt_local_time (const char *rfc3339, const char *format, char *buf, size_t cap)
{
    int64_t ms;
    struct tm tm;
    if (!fmt_parse_time (rfc3339, &ms)) {
        snprintf (buf, cap, "-");
        return;
    }
    time_t secs = (time_t) (ms / 1000);
    localtime_r (&secs, &tm);
    if (strftime (buf, cap, format, &tm) == 0)
        snprintf (buf, cap, "-");
}

void
fmt_utc_date (int offset_days, char out[11])
{
    time_t t = time (NULL) + (time_t) offset_days * 86400;
    struct tm tm;
    gmtime_r (&t, &tm);
    strftime (out, 11, "%Y-%m-%d", &tm);
}

void
fmt_duration (int64_t s, char *buf, size_t cap)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf (buf, cap, "%lldd%lldh", (long long) (s / 86400),
                  (long long) (s % 86400 / 3600));
    else if (s >= 3600)
        snprintf (buf, cap, "%lldh%lldm", (long long) (s / 3600),
                  (long long) (s % 3600 / 60));
    else if (s >= 60)
        snprintf (buf, cap, "%lldm", (long long) (s / 60));
    else
        snprintf (buf, cap, "%llds", (long long) s);
}

bool
fmt_parse_duration (const char *text, int64_t *seconds)
{
    int64_t total = 0;
    const char *p = text;
    if (!*p)
        return false;
    while (*p) {
        char *end;
        long long n = strtoll (p, &end, 10);
        if (end == p || n < 0 || n > 100000000)
            return false;
        int64_t unit = 1;
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case '\0': if (p != text) return false; break;  /* "1h30" is unclear */
        default: return false;
        }
        total += n * unit;
        p = end;
    }
    *seconds = total;
    return true;
}

/* Text width in columns (UTF-8 code points). */
static size_t
text_width (const char *s)
{
    return codec_utf8_length ((exf_str_t) { s, (uint32_t) strlen (s) });
}

/* ---- tables ---- */

struct table_s {
    int columns;
    size_t rows, cap;
    char **cells;
};

table_t *
table_new (int columns)
{
    table_t *self = calloc (1, sizeof *self);
    if (self)
        self->columns = columns;
    return self;
}

void
table_row (table_t *self, ...)
{
    if (self->rows == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        char **cells = realloc (self->cells,
                                cap * (size_t) self->columns * sizeof *cells);
        if (!cells)
            return;
        self->cells = cells;
        self->cap = cap;
    }
    va_list ap;
    va_start (ap, self);
    for (int c = 0; c < self->columns; c++) {
        const char *text = va_arg (ap, const char *);
        self->cells[self->rows * (size_t) self->columns + (size_t) c]
            = strdup (text ? text : "");
    }
    va_end (ap);
    self->rows++;
}

void
table_print (const table_t *self, FILE *out)
{
    size_t width[32] = { 0 };
    int columns = self->columns < 32 ? self->columns : 32;
    for (size_t r = 0; r < self->rows; r++)
        for (int c = 0; c < columns; c++) {
            const char *cell = self->cells[r * (size_t) self->columns + (size_t) c];
            size_t w = cell ? text_width (cell) : 0;
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < self->rows; r++) {
        for (int c = 0; c < columns; c++) {
            const char *cell = self->cells[r * (size_t) self->columns + (size_t) c];
            cell = cell ? cell : "";
            fputs (cell, out);
            if (c < columns - 1)
                fprintf (out, "%*s", (int) (width[c] - text_width (cell) + 2), "");
        }
        fputc ('\n', out);
    }
}

void
table_destroy (table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    table_t *self = *self_p;
    for (size_t i = 0; i < self->rows * (size_t) self->columns; i++)
        free (self->cells[i]);
    free (self->cells);
    free (self);
    *self_p = NULL;
}
