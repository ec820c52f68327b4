/* notification — what the notifier tells a caseworker and ops, as a value.
 *
 * Owns: which events become notifications (workflow.stalled, dq.reported
 * with errors, workflow.finished) and the names of their kinds, in one
 * table; the notification's content (ids, codes,
 * counts and times only: no names, no free text from the workflow, no
 * assessment data), its idempotency key "<consumer>-<seq>", and its
 * renderings: one JSON line (file sink, webhook body), a subject and a
 * plain-text mail body. Pure: no I/O. */
#ifndef EXF_NOTIFICATION_H
#define EXF_NOTIFICATION_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol/codec.h"

#define NOTE_MAX_RULES 16
#define NOTE_ADDR_MAX 256

/* What a notification is about (its JSON `kind`). */
typedef enum {
    NOTE_STALLED,                       /* workflow.stalled */
    NOTE_DQ_ERRORS,                     /* dq.reported with errors > 0 */
    NOTE_FINISHED,                      /* workflow.finished */
    NOTE_KIND_COUNT
} note_kind_t;

typedef struct {
    char id[EXF_ID_MAX + 24];           /* "<consumer>-<seq>" */
    char consumer[EXF_ID_MAX + 1];
    uint64_t event_seq;
    char event_type[32];
    char event_ts[CODEC_TIME_LEN];
    note_kind_t kind;
    char workflow_id[32];
    char project_id[EXF_ID_MAX + 1];
    char household_id[EXF_ID_MAX + 1];
    char actor[EXF_ID_MAX + 1];         /* the caseworker who started it */
    char ops[NOTE_ADDR_MAX];            /* ops address from config, or "" */
    /* workflow.stalled */
    int64_t idle_s;
    char since[CODEC_TIME_LEN];
    int64_t done, total;
    /* dq.errors */
    char source[EXF_ID_MAX + 1];
    int64_t errors, warnings;
    int n_rules;
    char rules[NOTE_MAX_RULES][EXF_ID_MAX + 1];
    /* workflow.finished */
    int64_t exited, staying;
} notification_t;

/* The kind of notification an event of `type` with `data` (its data map,
 * may be NULL) makes; false when it makes none. */
bool notification_kind_of (const char *type, const msgpack_object *data,
                           note_kind_t *kind);
/* "workflow.stalled", "dq.errors", "workflow.finished". */
const char *notification_kind_name (note_kind_t kind);

/* Builds the notification for `event` (the event map), with `view` (the
 * workflow.get result, or NULL when unavailable) for the project, household,
 * caseworker and rule ids. Returns false when the event is not one that
 * notifies (then `n` is unspecified). */
bool notification_from_event (notification_t *n, const char *consumer,
                              const char *ops, const msgpack_object *event,
                              const msgpack_object *view);

/* One line of compact JSON, without the newline (jansson; free it). */
char *notification_json (const notification_t *n);
void notification_subject (const notification_t *n, FILE *out);
/* Plain text: a few lines for a person, then the JSON. */
void notification_text (const notification_t *n, FILE *out);

#endif
