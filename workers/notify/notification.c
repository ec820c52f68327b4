/* notification — events into notifications. See notification.h. */
#include "workers/notify/notification.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/names.h"
#include "workers/common/wjson.h"

/* Each kind and the event it comes from. Stalled and finished are named
 * after their events; "dq.errors" is not a wire name. */
static const struct {
    exf_event_id_t event;
    const char *name;                   /* NULL: the event's name */
} kinds[NOTE_KIND_COUNT] = {
    [NOTE_STALLED] = { EXF_EV_WORKFLOW_STALLED, NULL },
    [NOTE_DQ_ERRORS] = { EXF_EV_DQ_REPORTED, "dq.errors" },
    [NOTE_FINISHED] = { EXF_EV_WORKFLOW_FINISHED, NULL },
};

static void
copy_str (const msgpack_object *map, const char *key, char *out, size_t cap)
{
    const msgpack_object *o = map ? codec_map_get (map, key) : NULL;
    if (o && o->type == MSGPACK_OBJECT_STR)
        codec_str_copy (out, cap, codec_str_of (o));
    else
        out[0] = '\0';
}

static int64_t
get_int (const msgpack_object *map, const char *key)
{
    const msgpack_object *o = map ? codec_map_get (map, key) : NULL;
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        return (int64_t) o->via.u64;
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return 0;
}

static int64_t
array_size (const msgpack_object *map, const char *key)
{
    const msgpack_object *o = map ? codec_map_get (map, key) : NULL;
    return o && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
}

static bool
str_is (const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *o = codec_map_get (map, key);
    return o && o->type == MSGPACK_OBJECT_STR
           && codec_str_eq (codec_str_of (o), want);
}

/* The distinct rule ids of `source`'s errors in the view, in view order. */
static void
collect_rules (notification_t *n, const msgpack_object *view)
{
    const msgpack_object *dq = view ? codec_map_get (view, "dq") : NULL;
    if (!dq || dq->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < dq->via.array.size; i++) {
        const msgpack_object *f = &dq->via.array.ptr[i];
        if (f->type != MSGPACK_OBJECT_MAP || !str_is (f, "source", n->source)
            || !str_is (f, "severity", "error"))
            continue;
        char rule[EXF_ID_MAX + 1];
        copy_str (f, "rule", rule, sizeof rule);
        bool seen = !rule[0];
        for (int k = 0; k < n->n_rules && !seen; k++)
            seen = strcmp (n->rules[k], rule) == 0;
        if (!seen && n->n_rules < NOTE_MAX_RULES)
            memcpy (n->rules[n->n_rules++], rule, sizeof rule);
    }
}

const char *
notification_kind_name (note_kind_t kind)
{
    return kinds[kind].name ? kinds[kind].name
                            : exf_event_names[kinds[kind].event];
}

bool
notification_kind_of (const char *type, const msgpack_object *data,
                      note_kind_t *kind)
{
    int event = exf_event_by_name (type, strlen (type));
    for (int k = 0; k < NOTE_KIND_COUNT; k++)
        if ((int) kinds[k].event == event) {
            *kind = (note_kind_t) k;
            /* a report of warnings only is no news */
            return k != NOTE_DQ_ERRORS || get_int (data, "errors") > 0;
        }
    return false;
}

bool
notification_from_event (notification_t *n, const char *consumer,
                         const char *ops, const msgpack_object *event,
                         const msgpack_object *view)
{
    memset (n, 0, sizeof *n);
    if (!event || event->type != MSGPACK_OBJECT_MAP)
        return false;
    const msgpack_object *data = codec_map_get (event, "data");
    if (data && data->type != MSGPACK_OBJECT_MAP)
        data = NULL;
    copy_str (event, "type", n->event_type, sizeof n->event_type);
    if (!notification_kind_of (n->event_type, data, &n->kind))
        return false;

    n->event_seq = (uint64_t) get_int (event, "seq");
    snprintf (n->consumer, sizeof n->consumer, "%s", consumer);
    snprintf (n->id, sizeof n->id, "%s-%llu", consumer,
              (unsigned long long) n->event_seq);
    snprintf (n->ops, sizeof n->ops, "%s", ops ? ops : "");
    copy_str (event, "ts", n->event_ts, sizeof n->event_ts);
    copy_str (event, "workflow_id", n->workflow_id, sizeof n->workflow_id);
    copy_str (view, "project_id", n->project_id, sizeof n->project_id);
    copy_str (view, "household_id", n->household_id, sizeof n->household_id);
    copy_str (view, "started_by", n->actor, sizeof n->actor);
    if (!n->actor[0])           /* no view, or started without an actor */
        copy_str (event, "actor", n->actor, sizeof n->actor);

    if (n->kind == NOTE_STALLED) {
        n->idle_s = get_int (data, "idle_s");
        copy_str (data, "since", n->since, sizeof n->since);
        const msgpack_object *p = data ? codec_map_get (data, "progress") : NULL;
        if (p && p->type == MSGPACK_OBJECT_MAP) {
            n->done = get_int (p, "done");
            n->total = get_int (p, "total");
        }
    } else if (n->kind == NOTE_DQ_ERRORS) {
        copy_str (data, "source", n->source, sizeof n->source);
        n->errors = get_int (data, "errors");
        n->warnings = get_int (data, "warnings");
        collect_rules (n, view);
    } else {
        n->exited = array_size (data, "exited");
        n->staying = array_size (data, "staying");
    }
    return true;
}

char *
notification_json (const notification_t *n)
{
    json_t *j = json_object ();
    json_object_set_new (j, "id", wjson_text_or_null (n->id));
    json_object_set_new (j, "consumer", wjson_text_or_null (n->consumer));
    json_object_set_new (j, "event_seq", json_integer ((json_int_t) n->event_seq));
    json_object_set_new (j, "event_type", wjson_text_or_null (n->event_type));
    json_object_set_new (j, "event_ts", wjson_text_or_null (n->event_ts));
    json_object_set_new (j, "kind",
                         wjson_text_or_null (notification_kind_name (n->kind)));
    json_object_set_new (j, "workflow_id", wjson_text_or_null (n->workflow_id));
    json_object_set_new (j, "project_id", wjson_text_or_null (n->project_id));
    json_object_set_new (j, "household_id", wjson_text_or_null (n->household_id));
    json_object_set_new (j, "actor", wjson_text_or_null (n->actor));
    json_t *to = json_array ();
    if (n->actor[0]) {
        char actor[EXF_ID_MAX + 8];
        snprintf (actor, sizeof actor, "actor:%s", n->actor);
        json_array_append_new (to, wjson_text_or_null (actor));
    }
    if (n->ops[0])
        json_array_append_new (to, wjson_text_or_null (n->ops));
    json_object_set_new (j, "to", to);
    if (n->kind == NOTE_STALLED) {
        json_object_set_new (j, "idle_s", json_integer (n->idle_s));
        json_object_set_new (j, "since", wjson_text_or_null (n->since));
        json_object_set_new (j, "progress", json_pack ("{s:I, s:I}",
                             "done", (json_int_t) n->done,
                             "total", (json_int_t) n->total));
    } else if (n->kind == NOTE_DQ_ERRORS) {
        json_object_set_new (j, "source", wjson_text_or_null (n->source));
        json_object_set_new (j, "errors", json_integer (n->errors));
        json_object_set_new (j, "warnings", json_integer (n->warnings));
        json_t *rules = json_array ();
        for (int i = 0; i < n->n_rules; i++)
            json_array_append_new (rules, wjson_text_or_null (n->rules[i]));
        json_object_set_new (j, "rules", rules);
    } else {
        json_object_set_new (j, "exited", json_integer (n->exited));
        json_object_set_new (j, "staying", json_integer (n->staying));
    }
    char *text = json_dumps (j, JSON_COMPACT);
    json_decref (j);
    if (!text)
        abort ();                   /* out of memory */
    return text;
}

void
notification_subject (const notification_t *n, FILE *out)
{
    if (n->kind == NOTE_STALLED)
        fprintf (out, "exitflow: exit %s stalled (idle %lldh, %lld of "
                 "%lld steps done)", n->workflow_id,
                 (long long) (n->idle_s / 3600), (long long) n->done,
                 (long long) n->total);
    else if (n->kind == NOTE_DQ_ERRORS)
        fprintf (out, "exitflow: %lld data-quality error(s) in exit %s",
                 (long long) n->errors, n->workflow_id);
    else
        fprintf (out, "exitflow: exit %s finished (%lld exited, %lld "
                 "staying)", n->workflow_id, (long long) n->exited,
                 (long long) n->staying);
}

void
notification_text (const notification_t *n, FILE *out)
{
    notification_subject (n, out);
    fprintf (out, "\r\n\r\nworkflow: %s\r\nproject: %s\r\nhousehold: "
             "%s\r\ncaseworker: %s\r\nevent: %s #%llu at %s\r\n",
             n->workflow_id, n->project_id, n->household_id,
             n->actor[0] ? n->actor : "-", n->event_type,
             (unsigned long long) n->event_seq, n->event_ts);
    for (int i = 0; i < n->n_rules; i++)
        fprintf (out, "rule: %s\r\n", n->rules[i]);
    char *json = notification_json (n);
    fprintf (out, "\r\n%s\r\n", json);
    free (json);
}
