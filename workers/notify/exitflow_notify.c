/* exitflow-notify — the notifier.
 *
 * Owns: turning workflow.stalled, dq.reported with errors and
 * workflow.finished into notifications for the caseworker who started the
 * workflow and the ops address, and delivering each to every sink, once.
 *
 * Once per event and sink: before delivering, the sent log (the state file,
 * fsync'd after each delivery) and the sink's own record (the file sink's
 * tail) are asked whether it went out already; the notification's id is
 * "<consumer>-<seq>", sent as the webhook's Idempotency-Key and as the
 * mail's Message-ID. A sink that fails is retried with backoff; the offset
 * does not move past the event until every sink has delivered it or been
 * given up on (logged, and recorded so a restart does not try again). The
 * one window left: a webhook or mail server that accepted the notification
 * just before the worker died, before the state line reached the disk,
 * gets it again after the restart — with the same id, so it can tell. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "protocol/names.h"
#include "workers/common/config.h"
#include "workers/common/consumer.h"
#include "workers/common/stop.h"
#include "workers/common/wlog.h"
#include "workers/notify/notification.h"
#include "workers/notify/sent_log.h"
#include "workers/notify/sink.h"

/* The settings' sizes are the sinks' and the notifications'. */
_Static_assert (WORKER_SINK_SPEC_MAX == SINK_SPEC_MAX, "sink spec size");
_Static_assert (WORKER_ADDR_MAX == NOTE_ADDR_MAX, "address size");

typedef struct {
    const worker_config_t *cfg;
    sink_t *sinks[WORKER_MAX_SINKS];
    int n_sinks;
    sent_log_t *sent;
    retry_policy_t policy;
    volatile sig_atomic_t *stop;
    uint64_t delivered, gave_up;
} notifier_t;

static void
record (notifier_t *nt, uint64_t seq, const sink_t *sink, const char *status)
{
    int rc = sent_log_add (nt->sent, seq, sink->spec, status);
    if (rc)
        wlog ("cannot record seq %llu for %s in the state file: %s (a restart "
              "before the ack may deliver it again)", (unsigned long long) seq,
              sink->spec, strerror (rc));
}

static consumer_status_t
handle_event (void *arg, exitflow_client_t *client, const exitflow_event_t *ev)
{
    notifier_t *nt = arg;
    note_kind_t kind;
    if (!notification_kind_of (exitflow_event_type (ev),
                               exitflow_event_data (ev), &kind))
        return CONSUMER_DONE;
    uint64_t seq = exitflow_event_seq (ev);
    bool pending = false;
    for (int i = 0; i < nt->n_sinks && !pending; i++)
        pending = !sent_log_has (nt->sent, seq, nt->sinks[i]->spec);
    if (!pending)
        return CONSUMER_EFFECT;     /* all done before a restart: just ack */

    /* The view names the project, household and caseworker. */
    exitflow_error_t err;
    exitflow_reply_t *view = exitflow_get (client, exitflow_event_workflow_id (ev),
                                           &err);
    if (!view && exitflow_error_is_transient (&err)) {
        wlog ("event %llu: %s failed: %s %s", (unsigned long long) seq,
              EXF_CMD_NAME (WORKFLOW_GET), err.code, err.message);
        return CONSUMER_RETRY;
    }
    notification_t n;
    bool notifies = notification_from_event (
        &n, nt->cfg->name, nt->cfg->ops, exitflow_event_object (ev),
        view ? exitflow_reply_result (view) : NULL);
    exitflow_reply_destroy (&view);
    if (!notifies)
        return CONSUMER_DONE;

    for (int i = 0; i < nt->n_sinks; i++) {
        sink_t *sink = nt->sinks[i];
        if (sent_log_has (nt->sent, seq, sink->spec))
            continue;
        if (sink->delivered && sink->delivered (sink, &n)) {
            record (nt, seq, sink, "delivered");
            continue;
        }
        char why[512] = "";
        int attempts = 0;
        deliver_result_t r = sink_deliver (sink, &n, &nt->policy, nt->stop,
                                           &attempts, why, sizeof why);
        if (r == DELIVER_STOPPED) {
            wlog ("%s to %s interrupted by a signal after %d attempt(s); it "
                  "is delivered after the restart", n.id, sink->spec, attempts);
            return CONSUMER_STOP;
        }
        if (r == DELIVER_OK) {
            record (nt, seq, sink, "delivered");
            nt->delivered++;
            wlog ("%s (%s, %s) delivered to %s%s", n.id,
                  notification_kind_name (n.kind), n.workflow_id, sink->spec,
                  attempts > 1 ? " after retries" : "");
        } else {
            record (nt, seq, sink, "gave-up");
            nt->gave_up++;
            wlog ("%s (%s, %s) NOT delivered to %s: gave up after %d "
                  "attempt(s): %s", n.id, notification_kind_name (n.kind),
                  n.workflow_id, sink->spec, attempts, why);
        }
    }
    return CONSUMER_EFFECT;
}

/* Makes the directory that will hold `path` (one level), as `make run`
 * expects ./var/ to appear by itself. */
static void
make_parent (const char *path)
{
    char copy[1024];
    snprintf (copy, sizeof copy, "%s", path);
    const char *dir = dirname (copy);
    if (mkdir (dir, 0755) != 0 && errno != EEXIST)
        wlog ("cannot make directory %s: %s", dir, strerror (errno));
}

static void
on_acked (void *arg, uint64_t seq)
{
    notifier_t *nt = arg;
    int rc = sent_log_trim (nt->sent, seq);
    if (rc)
        wlog ("cannot trim the state file: %s", strerror (rc));
}

int
main (int argc, char **argv)
{
    static worker_config_t cfg;
    int rc = worker_config_start (&cfg, WORKER_NOTIFY, argc, argv);
    if (rc >= 0)
        return rc;
    static notifier_t nt;
    nt.cfg = &cfg;
    nt.policy = (retry_policy_t) { cfg.retries, cfg.backoff_ms,
                                   cfg.backoff_max_ms };
    sink_options_t so = { .from = cfg.from, .actor_domain = cfg.actor_domain,
                          .timeout_ms = cfg.timeout_ms };
    make_parent (cfg.state);
    for (int i = 0; i < cfg.n_sinks; i++) {
        if (strncmp (cfg.sinks[i], "file:", 5) == 0)
            make_parent (cfg.sinks[i] + 5);
        char why[512] = "";
        nt.sinks[i] = sink_new (cfg.sinks[i], &so, why, sizeof why);
        if (!nt.sinks[i]) {
            fprintf (stderr, "exitflow-notify: %s\n", why);
            rc = 2;
            goto out;
        }
        nt.n_sinks++;
    }
    char why[512] = "";
    if (!(nt.sent = sent_log_new (cfg.state, why, sizeof why))) {
        fprintf (stderr, "exitflow-notify: %s\n", why);
        rc = 2;
        goto out;
    }
    static volatile sig_atomic_t stop;
    nt.stop = &stop;
    stop_on_signals (&stop);
    wlog ("starting: consumer %s, commands %s, events %s, %d sink(s), state %s",
          cfg.name, cfg.commands, cfg.events, nt.n_sinks, cfg.state);
    for (int i = 0; i < nt.n_sinks; i++)
        wlog ("sink %s", nt.sinks[i]->spec);
    rc = consumer_run_worker (&cfg, handle_event, on_acked, &nt, &stop);
    wlog ("stopped: %llu delivered, %llu given up",
          (unsigned long long) nt.delivered, (unsigned long long) nt.gave_up);
out:
    sent_log_destroy (&nt.sent);
    for (int i = 0; i < nt.n_sinks; i++)
        sink_destroy (&nt.sinks[i]);
    return rc;
}
