/* format — text for people: times, durations, aligned tables, event lines.
 *
 * Owns: reading the protocol's RFC 3339 times, printing them in local
 * time, idle durations ("3d4h"), the duration syntax of --idle, one-line
 * summaries of maps, and tables whose columns line up (by code points, so
 * UTF-8 text does not skew them). */
#include "cli.h"

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
    return exitflow_obj_str (map, key, buf, cap) ? buf : dflt;
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

/* ---- summaries ---- */

/* Text width in columns (UTF-8 code points). */
static size_t
text_width (const char *s)
{
    return codec_utf8_length ((exf_str_t) { s, (uint32_t) strlen (s) });
}

/* Appends to a bounded buffer, cutting at a code point boundary and
 * marking the cut with an ellipsis. Returns false once full. */
static bool
append (char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    char piece[256];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (piece, sizeof piece, fmt, ap);
    va_end (ap);
    size_t n = strlen (piece);
    if (*len + n + 4 < cap) {
        memcpy (buf + *len, piece, n + 1);
        *len += n;
        return true;
    }
    size_t room = cap > *len + 4 ? cap - *len - 4 : 0;
    while (room > 0 && ((unsigned char) piece[room] & 0xc0) == 0x80)
        room--;
    memcpy (buf + *len, piece, room);
    *len += room;
    memcpy (buf + *len, "\xe2\x80\xa6", 4);     /* … and the NUL */
    *len += 3;
    return false;
}

/* A one-line summary of a map: scalars as k=v, containers as [n] / {…}. */
static void
short_data (const msgpack_object *data, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    if (!data || data->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < data->via.map.size; i++) {
        const msgpack_object *k = &data->via.map.ptr[i].key;
        const msgpack_object *v = &data->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        const char *sep = len ? " " : "";
        int kl = (int) k->via.str.size;
        const char *kp = k->via.str.ptr;
        bool ok = true;
        switch (v->type) {
        case MSGPACK_OBJECT_NIL:
            continue;               /* absent is the same as nil */
        case MSGPACK_OBJECT_BOOLEAN:
            ok = append (buf, cap, &len, "%s%.*s=%s", sep, kl, kp,
                         v->via.boolean ? "true" : "false");
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            ok = append (buf, cap, &len, "%s%.*s=%llu", sep, kl, kp,
                         (unsigned long long) v->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            ok = append (buf, cap, &len, "%s%.*s=%lld", sep, kl, kp,
                         (long long) v->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            ok = append (buf, cap, &len, "%s%.*s=%g", sep, kl, kp, v->via.f64);
            break;
        case MSGPACK_OBJECT_STR:
            ok = append (buf, cap, &len, "%s%.*s=%.*s", sep, kl, kp,
                         (int) (v->via.str.size > 120 ? 120 : v->via.str.size),
                         v->via.str.ptr);
            break;
        case MSGPACK_OBJECT_ARRAY:
            ok = append (buf, cap, &len, "%s%.*s=[%u]", sep, kl, kp,
                         v->via.array.size);
            break;
        case MSGPACK_OBJECT_MAP:
            ok = append (buf, cap, &len, "%s%.*s={%u}", sep, kl, kp,
                         v->via.map.size);
            break;
        default:
            break;
        }
        if (!ok)
            return;
    }
}

void
fmt_event_line (FILE *out, const msgpack_object *ev)
{
    char type[72], ts[40], wf[72], client[72], data[160];
    short_data (exitflow_obj_get (ev, "data"), data, sizeof data);
    fprintf (out, "%6lld  %s  %-18s  %-26s  %-20s  %s\n",
             (long long) mp_int (ev, "seq", 0),
             mp_str (ev, "ts", ts, sizeof ts, "-"),
             mp_str (ev, "type", type, sizeof type, "-"),
             mp_str (ev, "workflow_id", wf, sizeof wf, "-"),
             mp_str (ev, "client_id", client, sizeof client, "-"), data);
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
