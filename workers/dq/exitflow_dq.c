/* exitflow-dq — the data-quality worker.
 *
 * Owns: turning events into DQ reports. On step.completed, member.decided,
 * workflow.finished (and workflow.cancelled) it fetches the workflow
 * (workflow.get, and workflow.history for the exits' record times),
 * evaluates every rule of dq_rules.c over that snapshot, and files the
 * findings with ONE dq.report under its source, which replaces the
 * source's findings. Days are the CoC's (--timezone, checked at start).
 * Idempotent twice over: the same snapshot gives the same findings (the
 * rules' "today" is the CoC's day of the event's ts), and a report equal to
 * what the view already holds is not sent at all. An event older than the
 * workflow's version is skipped: the later event re-evaluates. A cancelled
 * exit is not an exit: its findings are cleared.
 *
 * `exitflow-dq report ...` is the program's other mode: the summary of
 * stored exits (dq_report.h), what `exitflow dq-report` runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/calendar.h"
#include "protocol/names.h"
#include "workers/common/config.h"
#include "workers/common/consumer.h"
#include "workers/common/stop.h"
#include "workers/common/wlog.h"
#include "workers/dq/dq_report.h"
#include "workers/dq/dq_rules.h"

typedef struct {
    const worker_config_t *cfg;
    dq_rule_t *rules;               /* the table, with config applied */
    size_t n_rules;
    dq_snapshot_t snapshot;
    dq_findings_t findings;
    uint64_t reports;
} dq_worker_t;

/* The events after which a workflow's findings may change. */
static bool
is_trigger (const char *type)
{
    switch (exf_event_by_name (type, strlen (type))) {
    case EXF_EV_STEP_COMPLETED:
    case EXF_EV_MEMBER_DECIDED:
    case EXF_EV_WORKFLOW_FINISHED:
    case EXF_EV_WORKFLOW_CANCELLED:
        return true;
    default:
        return false;
    }
}

/* A transient failure (worth a retry) or the daemon's refusal (logged,
 * then the event is done: retrying would get the same answer). */
static consumer_status_t
failed (const exitflow_event_t *ev, const char *what,
        const exitflow_error_t *err)
{
    if (!exitflow_error_is_transient (err)) {
        wlog ("event %llu: %s of %s refused: %s %s%s%s; skipped",
              (unsigned long long) exitflow_event_seq (ev), what,
              exitflow_event_workflow_id (ev), err->code, err->message,
              err->field[0] ? " field " : "", err->field);
        return CONSUMER_DONE;
    }
    wlog ("event %llu: %s of %s failed: %s %s",
          (unsigned long long) exitflow_event_seq (ev), what,
          exitflow_event_workflow_id (ev), err->code, err->message);
    return CONSUMER_RETRY;
}

static bool
any_exit_saved (const dq_snapshot_t *s)
{
    for (int i = 0; i < s->n_members; i++)
        if (s->members[i].exit.done)
            return true;
    return false;
}

/* Applies the workflow's whole history to `s`, a page at a time
 * (workflow.history pages by count and bytes: a long-lived workflow's
 * member.exited can be pages away from its start). False with `err` when
 * a page cannot be read. */
static bool
apply_history (exitflow_client_t *client, const char *wf, dq_snapshot_t *s,
               exitflow_error_t *err)
{
    int64_t after = 0;
    for (int page = 0; page < 100000; page++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map (&pk, 2);
        codec_pack_cstr (&pk, "workflow_id");
        codec_pack_cstr (&pk, wf);
        codec_pack_cstr (&pk, "after");
        msgpack_pack_int64 (&pk, after);
        exitflow_reply_t *r = exitflow_call (client,
                                             EXF_CMD_NAME (WORKFLOW_HISTORY),
                                             sb.data, sb.size, err);
        msgpack_sbuffer_destroy (&sb);
        if (!r)
            return false;
        const msgpack_object *res = exitflow_reply_result (r);
        dq_snapshot_apply_history (s, exitflow_obj_get (res, "events"));
        bool more = exitflow_obj_int (res, "next", &after);
        exitflow_reply_destroy (&r);
        if (!more)
            return true;
    }
    return true;
}

static consumer_status_t
handle_event (void *arg, exitflow_client_t *client, const exitflow_event_t *ev)
{
    dq_worker_t *w = arg;
    if (!is_trigger (exitflow_event_type (ev)))
        return CONSUMER_DONE;
    const char *wf = exitflow_event_workflow_id (ev);
    exitflow_error_t err;
    exitflow_reply_t *view_reply = exitflow_get (client, wf, &err);
    if (!view_reply)
        return failed (ev, EXF_CMD_NAME (WORKFLOW_GET), &err);
    const msgpack_object *view = exitflow_reply_result (view_reply);
    consumer_status_t status = CONSUMER_DONE;

    const char *why = NULL;
    dq_snapshot_t *s = &w->snapshot;
    if (!dq_snapshot_from_view (s, view, &why)) {
        wlog ("event %llu: the view of %s is unreadable (%s); skipped",
              (unsigned long long) exitflow_event_seq (ev), wf, why);
        goto done;
    }
    int64_t event_version = -1;
    exitflow_obj_int (exitflow_event_data (ev), "version", &event_version);
    if (event_version >= 0 && event_version < s->version) {
        if (w->cfg->verbose)
            wlog ("event %llu: %s is at version %lld already; a later event "
                  "evaluates it", (unsigned long long) exitflow_event_seq (ev),
                  wf, (long long) s->version);
        goto done;
    }
    int64_t now_ms = 0;
    codec_parse_time ((exf_str_t) { exitflow_event_ts (ev),
                                    (uint32_t) strlen (exitflow_event_ts (ev)) },
                      &now_ms);
    dq_snapshot_set_now (s, now_ms);
    if (s->state != DQ_STATE_CANCELLED && any_exit_saved (s)) {
        if (!apply_history (client, wf, s, &err)) {
            status = failed (ev, EXF_CMD_NAME (WORKFLOW_HISTORY), &err);
            goto done;
        }
    }
    dq_evaluate (w->rules, w->n_rules, s, &w->findings);
    if (w->findings.overflow)
        wlog ("%s: more than %d findings; the first %d are reported", wf,
              DQ_MAX_FINDINGS, DQ_MAX_FINDINGS);
    if (dq_findings_equal_view (&w->findings, w->cfg->source,
                                exitflow_obj_get (view, "dq")))
        goto done;                  /* already filed: nothing to change */

    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    dq_findings_pack (&pk, &w->findings);
    exitflow_reply_t *r = exitflow_dq_report (client, wf, w->cfg->source,
                                              sb.data, sb.size,
                                              EXITFLOW_ANY_VERSION, &err);
    msgpack_sbuffer_destroy (&sb);
    if (!r) {
        status = failed (ev, EXF_CMD_NAME (DQ_REPORT), &err);
        goto done;
    }
    exitflow_reply_destroy (&r);
    w->reports++;
    int errors = 0;
    for (int i = 0; i < w->findings.n; i++)
        errors += w->findings.items[i].severity == DQ_ERROR;
    wlog ("event %llu: %s: %d finding(s), %d error(s)",
          (unsigned long long) exitflow_event_seq (ev), wf, w->findings.n,
          errors);
    status = CONSUMER_EFFECT;
done:
    exitflow_reply_destroy (&view_reply);
    return status;
}

/* The default table with the config's threshold and disabled rules. */
static bool
build_rules (dq_worker_t *w, const worker_config_t *cfg)
{
    w->rules = calloc (dq_rule_count, sizeof *w->rules);
    if (!w->rules)
        return false;
    /* every disabled id must name a rule: a typo would silently check all */
    bool *disabled = calloc (dq_rule_count, sizeof *disabled);
    if (!disabled)
        return false;
    char copy[sizeof cfg->disable];
    snprintf (copy, sizeof copy, "%s", cfg->disable);
    for (char *save, *id = strtok_r (copy, ", ", &save); id;
         id = strtok_r (NULL, ", ", &save)) {
        const dq_rule_t *r = dq_rule_find (dq_rules, dq_rule_count, id);
        if (!r) {
            fprintf (stderr, "exitflow-dq: --disable: no rule %s\n", id);
            free (disabled);
            return false;
        }
        disabled[r - dq_rules] = true;
    }
    for (size_t i = 0; i < dq_rule_count; i++) {
        if (disabled[i])
            continue;
        w->rules[w->n_rules] = dq_rules[i];
        if (strcmp (dq_rules[i].id, "exit_timeliness") == 0)
            w->rules[w->n_rules].param = cfg->timeliness_days;
        w->n_rules++;
    }
    free (disabled);
    return true;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], DQ_REPORT_MODE) == 0)
        return dq_report_main (argc - 1, argv + 1);
    static worker_config_t cfg;
    int rc = worker_config_start (&cfg, WORKER_DQ, argc, argv);
    if (rc == 0)                    /* after --help: the other mode */
        printf ("\n`exitflow-dq " DQ_REPORT_MODE " [options]` prints the "
                "data-quality summary of stored\nexits (what `exitflow "
                "dq-report` runs; see exitflow-dq " DQ_REPORT_MODE
                " --help).\n");
    if (rc >= 0)
        return rc;
    static dq_worker_t w;
    w.cfg = &cfg;
    if (!build_rules (&w, &cfg)) {
        free (w.rules);
        return 2;
    }
    static volatile sig_atomic_t stop;
    stop_on_signals (&stop);
    wlog ("starting: consumer %s, commands %s, events %s, %zu rules, "
          "time zone %s", cfg.name, cfg.commands, cfg.events, w.n_rules,
          calendar_zone ());
    rc = consumer_run_worker (&cfg, handle_event, NULL, &w, &stop);
    wlog ("stopped: %llu report(s) filed", (unsigned long long) w.reports);
    free (w.rules);
    return rc;
}
