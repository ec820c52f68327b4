/* notification — events into notifications. See notification.h. */
#include "notification.h"

#include <stdio.h>
#include <string.h>

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
    if (strcmp (n->event_type, "workflow.stalled") == 0)
        n->kind = "workflow.stalled";
    else if (strcmp (n->event_type, "workflow.finished") == 0)
        n->kind = "workflow.finished";
    else if (strcmp (n->event_type, "dq.reported") == 0
             && get_int (data, "errors") > 0)
        n->kind = "dq.errors";
    else
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

    if (strcmp (n->kind, "workflow.stalled") == 0) {
        n->idle_s = get_int (data, "idle_s");
        copy_str (data, "since", n->since, sizeof n->since);
        const msgpack_object *p = data ? codec_map_get (data, "progress") : NULL;
        if (p && p->type == MSGPACK_OBJECT_MAP) {
            n->done = get_int (p, "done");
            n->total = get_int (p, "total");
        }
    } else if (strcmp (n->kind, "dq.errors") == 0) {
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

void
notification_json (const notification_t *n, strbuf_t *out)
{
    strbuf_puts (out, "{");
    json_kv_str (out, "id", n->id);
    json_kv_str (out, "consumer", n->consumer);
    json_kv_int (out, "event_seq", (int64_t) n->event_seq);
    json_kv_str (out, "event_type", n->event_type);
    json_kv_str (out, "event_ts", n->event_ts);
    json_kv_str (out, "kind", n->kind);
    json_kv_str (out, "workflow_id", n->workflow_id);
    json_kv_str (out, "project_id", n->project_id);
    json_kv_str (out, "household_id", n->household_id);
    json_kv_str (out, "actor", n->actor);
    json_key (out, "to");
    strbuf_puts (out, "[");
    if (n->actor[0]) {
        char to[EXF_ID_MAX + 8];
        snprintf (to, sizeof to, "actor:%s", n->actor);
        json_str (out, to);
    }
    if (n->ops[0]) {
        if (n->actor[0])
            strbuf_puts (out, ",");
        json_str (out, n->ops);
    }
    strbuf_puts (out, "]");
    if (strcmp (n->kind, "workflow.stalled") == 0) {
        json_kv_int (out, "idle_s", n->idle_s);
        json_kv_str (out, "since", n->since);
        json_key (out, "progress");
        strbuf_puts (out, "{");
        json_kv_int (out, "done", n->done);
        json_kv_int (out, "total", n->total);
        strbuf_puts (out, "}");
    } else if (strcmp (n->kind, "dq.errors") == 0) {
        json_kv_str (out, "source", n->source);
        json_kv_int (out, "errors", n->errors);
        json_kv_int (out, "warnings", n->warnings);
        json_key (out, "rules");
        strbuf_puts (out, "[");
        for (int i = 0; i < n->n_rules; i++) {
            if (i)
                strbuf_puts (out, ",");
            json_str (out, n->rules[i]);
        }
        strbuf_puts (out, "]");
    } else {
        json_kv_int (out, "exited", n->exited);
        json_kv_int (out, "staying", n->staying);
    }
    strbuf_puts (out, "}");
}

void
notification_subject (const notification_t *n, strbuf_t *out)
{
    if (strcmp (n->kind, "workflow.stalled") == 0)
        strbuf_printf (out, "exitflow: exit %s stalled (idle %lldh, %lld of "
                       "%lld steps done)", n->workflow_id,
                       (long long) (n->idle_s / 3600), (long long) n->done,
                       (long long) n->total);
    else if (strcmp (n->kind, "dq.errors") == 0)
        strbuf_printf (out, "exitflow: %lld data-quality error(s) in exit %s",
                       (long long) n->errors, n->workflow_id);
    else
        strbuf_printf (out, "exitflow: exit %s finished (%lld exited, %lld "
                       "staying)", n->workflow_id, (long long) n->exited,
                       (long long) n->staying);
}

void
notification_text (const notification_t *n, strbuf_t *out)
{
    notification_subject (n, out);
    strbuf_printf (out, "\r\n\r\nworkflow: %s\r\nproject: %s\r\nhousehold: "
                   "%s\r\ncaseworker: %s\r\nevent: %s #%llu at %s\r\n",
                   n->workflow_id, n->project_id, n->household_id,
                   n->actor[0] ? n->actor : "-", n->event_type,
                   (unsigned long long) n->event_seq, n->event_ts);
    for (int i = 0; i < n->n_rules; i++)
        strbuf_printf (out, "rule: %s\r\n", n->rules[i]);
    strbuf_puts (out, "\r\n");
    notification_json (n, out);
    strbuf_puts (out, "\r\n");
}
