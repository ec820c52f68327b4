/* event_text — an event as one line people read (`events tail`,
 * `history`).
 *
 * Owns: saying what an event holds in words, every value spelled out:
 * `member.exited … destination 410 (Rental by client, no ongoing housing
 * subsidy) exit_date 2026-11-28`. A code is followed by its HUD label
 * from protocol/hud.h — a step's coded fields by the field table of that
 * step (the event's `step`, else the exit form's), relationship and
 * project type by their lists; nested maps read `{key value …}` and lists
 * their items, never their sizes. Text with blanks is quoted; a line is
 * bounded and cut at a code point with an ellipsis. --json is the raw
 * form. */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "protocol/hud.h"
#include "protocol/hud_fields.h"

#define LINE_MAX_BYTES 4096     /* what one line of content may hold */
#define TEXT_MAX_BYTES 120      /* one text value, before it is cut */

typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t len;
    bool full;
} line_t;

/* Appends, cutting at a code point and marking the cut once full. */
static void
put (line_t *l, const char *fmt, ...)
{
    if (l->full)
        return;
    char piece[512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (piece, sizeof piece, fmt, ap);
    va_end (ap);
    size_t n = strlen (piece);
    if (l->len + n + 4 < sizeof l->buf) {
        memcpy (l->buf + l->len, piece, n + 1);
        l->len += n;
        return;
    }
    size_t room = sizeof l->buf - l->len - 4;
    while (room > 0 && ((unsigned char) piece[room] & 0xc0) == 0x80)
        room--;
    memcpy (l->buf + l->len, piece, room);
    l->len += room;
    memcpy (l->buf + l->len, "\xe2\x80\xa6", 4);     /* … and the NUL */
    l->len += 3;
    l->full = true;
}

/* The coded fields outside a step's data, by their key. */
static const struct {
    const char *key;
    hud_list_id_t list;
} key_lists[] = {
    { "relationship", HUD_LIST_RELATIONSHIP },
    { "project_type", HUD_LIST_PROJECT_TYPE },
};

/* HUD's label of `code` under `key`: a field of `step` (-1: none), else
 * of the exit form (member.exited carries the exit record), else one of
 * key_lists. NULL when the key is not coded or the code not on its
 * list. */
static const char *
label_of (int step, const msgpack_object *key, int64_t code)
{
    const char *name = key->via.str.ptr;
    size_t len = key->via.str.size;
    const hud_field_t *f = step >= 0 ? hud_field_find (step, name, len) : NULL;
    if (!f)
        f = hud_field_find (STEP_EXIT, name, len);
    if (f && f->type == FIELD_DESTINATION) {
        const hud_destination_t *d = hud_destination (code);
        return d ? d->label : NULL;
    }
    if (f && f->type == FIELD_CODE) {
        const hud_code_t *c = hud_list_find (f->list, code);
        return c ? c->label : NULL;
    }
    for (size_t i = 0; i < sizeof key_lists / sizeof *key_lists; i++)
        if (strlen (key_lists[i].key) == len
            && memcmp (key_lists[i].key, name, len) == 0) {
            const hud_code_t *c = hud_list_find (key_lists[i].list, code);
            return c ? c->label : NULL;
        }
    return NULL;
}

/* Text as it reads: bare when it is one word, else in quotes; control
 * characters as blanks (a line stays a line), long text cut. */
static void
put_text (line_t *l, const char *s, uint32_t n)
{
    bool quote = n == 0;
    for (uint32_t i = 0; i < n && !quote; i++)
        quote = s[i] == ' ' || s[i] == '"' || (unsigned char) s[i] < 0x20;
    char text[TEXT_MAX_BYTES + 8];
    uint32_t k = 0;
    for (; k < n && k < TEXT_MAX_BYTES; k++)
        text[k] = (unsigned char) s[k] < 0x20 ? ' ' : s[k];
    bool cut = k < n;
    while (cut && k > 0 && ((unsigned char) s[k] & 0xc0) == 0x80)
        k--;                    /* not inside a code point */
    text[k] = '\0';
    put (l, quote ? "\"%s%s\"" : "%s%s", text, cut ? "\xe2\x80\xa6" : "");
}

static void put_map (line_t *l, const msgpack_object *map, int step);

/* One value; `key` (a str, or NULL inside a list) says which label a
 * code takes. */
static void
put_value (line_t *l, const msgpack_object *key, const msgpack_object *v,
           int step)
{
    switch (v->type) {
    case MSGPACK_OBJECT_NIL:
        put (l, "-");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        put (l, v->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: {
        int64_t code = v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                           ? v->via.i64 : (int64_t) v->via.u64;
        const char *label = key ? label_of (step, key, code) : NULL;
        put (l, "%lld", (long long) code);
        if (label)
            put (l, " (%s)", label);
        break;
    }
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        put (l, "%g", v->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        put_text (l, v->via.str.ptr, v->via.str.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        if (v->via.array.size == 0)
            put (l, "none");
        for (uint32_t i = 0; i < v->via.array.size; i++) {
            if (i)
                put (l, v->via.array.ptr[i].type == MSGPACK_OBJECT_MAP ? " "
                                                                        : ",");
            put_value (l, key, &v->via.array.ptr[i], step);
        }
        break;
    case MSGPACK_OBJECT_MAP:
        put (l, "{");
        put_map (l, v, step);
        put (l, "}");
        break;
    default:
        put (l, "?");
        break;
    }
}

/* `key value` pairs; a nil value is left out (absent and nil are the
 * same on the wire). A map with a `step` names the step whose field
 * table labels the codes inside it. */
static void
put_map (line_t *l, const msgpack_object *map, int step)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *named = exitflow_obj_get (map, "step");
    if (named && named->type == MSGPACK_OBJECT_STR)
        step = hud_step_by_name (named->via.str.ptr, named->via.str.size);
    bool first = true;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_NIL)
            continue;
        put (l, "%s%.*s ", first ? "" : " ", (int) k->via.str.size,
             k->via.str.ptr);
        put_value (l, k, v, step);
        first = false;
    }
}

void
fmt_event_line (FILE *out, const msgpack_object *ev)
{
    char type[72], ts[40], wf[72], client[72];
    line_t content = { .len = 0 };
    content.buf[0] = '\0';
    put_map (&content, exitflow_obj_get (ev, "data"), -1);
    fprintf (out, "%6lld  %s  %-18s  %-26s  %-20s  %s\n",
             (long long) mp_int (ev, "seq", 0),
             mp_str (ev, "ts", ts, sizeof ts, "-"),
             mp_str (ev, "type", type, sizeof type, "-"),
             mp_str (ev, "workflow_id", wf, sizeof wf, "-"),
             mp_str (ev, "client_id", client, sizeof client, "-"),
             content.buf);
}
