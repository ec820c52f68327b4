"""exitflow-notify against a real daemon: JSON-lines notifications with ids
only, exactly one per stalled workflow, a webhook that fails twice then
succeeds, a webhook that refuses, SMTP, and a worker killed mid-stream that
misses nothing and sends nothing twice."""

import json
import time

from support import Household, day, read_all_events, wait_for
from worker_support import (HookServer, SmtpServer, caught_up,
                            exit_household, lag_of, read_jsonl, wait_quiet)


def notes_of(path, **match):
    return [n for n in read_jsonl(path)
            if all(n.get(k) == v for k, v in match.items())]


def test_file_sink_finished_and_dq_errors(daemon, workers, tmp_path):
    c = daemon.client()
    out = tmp_path / "notes.jsonl"
    workers.dq(daemon)
    workers.notify(daemon, "--sink", "file:%s" % out, "--ops",
                   "ops@example.org")
    h = Household()
    wf = exit_household(c, h, {"exit_date": day(-1), "destination": 8},
                        assessments={"income_benefits": {
                            "income_from_any_source": 1, "earned": 0,
                            "benefits_from_any_source": 0}},
                        actor="cw-17")
    wait_for(lambda: len(notes_of(out, workflow_id=wf)) == 2,
             what="two notifications for %s" % wf)
    caught_up(c, "notify")
    caught_up(c, "dq")
    notes = notes_of(out, workflow_id=wf)
    assert len(notes) == 2
    by_kind = {n["kind"]: n for n in notes}
    fin, dq = by_kind["workflow.finished"], by_kind["dq.errors"]
    events = {e["seq"]: e for e in read_all_events(c)}
    for n in notes:
        assert n["id"] == "notify-%d" % n["event_seq"]
        assert n["consumer"] == "notify"
        assert events[n["event_seq"]]["type"] == n["event_type"]
        assert events[n["event_seq"]]["ts"] == n["event_ts"]
        assert n["project_id"] == h.project_id
        assert n["household_id"] == h.household_id
        assert n["actor"] == "cw-17"
        assert n["to"] == ["actor:cw-17", "ops@example.org"]
    assert fin["exited"] == 1 and fin["staying"] == 2
    assert dq["errors"] == 1 and dq["rules"] == ["income_inconsistent"]
    assert dq["source"] == "dq"
    # ids and codes only: nothing from the forms or the assessments
    text = out.read_text()
    for secret in ("Moved in", "earned", h.hoh, h.spouse, h.child,
                   h.entry_date[h.hoh]):
        assert secret not in text


def test_stalled_workflow_exactly_one_notification(make_daemon, workers,
                                                   tmp_path):
    d = make_daemon(stall_after=1)
    c = d.client()
    out = tmp_path / "notes.jsonl"
    w = workers.notify(d, "--sink", "file:%s" % out)
    h = Household()
    wf = h.start(c, actor="cw-9")
    wait_for(lambda: notes_of(out, workflow_id=wf, kind="workflow.stalled"),
             timeout=15, what="a stalled notification")
    time.sleep(3)                   # still idle: no second event, no second note
    caught_up(c, "notify")
    w.stop()
    w.start()                       # a restart resends nothing
    time.sleep(1)
    caught_up(c, "notify")
    (note,) = notes_of(out, workflow_id=wf, kind="workflow.stalled")
    assert note["actor"] == "cw-9" and note["to"] == ["actor:cw-9"]
    assert note["idle_s"] >= 1
    assert note["progress"] == {"done": 0, "total": 7}
    stalled = [e for e in read_all_events(c) if e["type"] == "workflow.stalled"
               and e["workflow_id"] == wf]
    assert [note["event_seq"]] == [e["seq"] for e in stalled]
    w.stop()


def test_webhook_fails_twice_then_succeeds(daemon, workers):
    c = daemon.client()
    hook = HookServer(script=[500, 500])
    try:
        w = workers.notify(daemon, "--sink", hook.url, "--backoff-ms", "50",
                           "--ops", "ops@example.org")
        h = Household()
        wf = exit_household(c, h, {"exit_date": day(-1), "destination": 410},
                            actor="cw-3")
        wait_for(lambda: hook.accepted(), what="an accepted delivery")
        caught_up(c, "notify")
        time.sleep(0.5)
        reqs = hook.all()
        assert [s for s, _, _ in reqs] == [500, 500, 200]
        keys = {hd.get("Idempotency-Key") for _, hd, _ in reqs}
        bodies = {json.dumps(b, sort_keys=True) for _, _, b in reqs}
        assert len(keys) == 1 and len(bodies) == 1     # the same request, 3x
        (headers, body), = hook.accepted()
        assert headers["Content-Type"] == "application/json"
        assert headers["Idempotency-Key"] == body["id"]
        assert body["kind"] == "workflow.finished" and body["workflow_id"] == wf
        assert body["to"] == ["actor:cw-3", "ops@example.org"]
        assert "after retries" in w.log()
        # nothing more once delivered, also across a restart
        w.stop()
        w.start()
        caught_up(c, "notify")
        time.sleep(0.5)
        assert len(hook.all()) == 3
        w.stop()
    finally:
        hook.close()


def test_webhook_refusal_is_given_up_and_logged(daemon, workers, tmp_path):
    """A 4xx is final: logged, recorded, and the offset moves on; the file
    sink beside it still gets the notification."""
    c = daemon.client()
    hook = HookServer(script=[400])
    out = tmp_path / "notes.jsonl"
    try:
        w = workers.notify(daemon, "--sink", hook.url, "--sink",
                           "file:%s" % out, "--backoff-ms", "10")
        wf = exit_household(c, Household(), {"exit_date": day(-1),
                                             "destination": 410})
        wait_for(lambda: notes_of(out, workflow_id=wf), what="the file note")
        caught_up(c, "notify")
        assert len(hook.all()) == 1
        assert "gave up after 1 attempt(s)" in w.log()
        assert "HTTP 400" in w.log()
        w.stop()
        w.start()
        caught_up(c, "notify")
        time.sleep(0.3)
        assert len(hook.all()) == 1
        assert len(notes_of(out, workflow_id=wf)) == 1
        w.stop()
    finally:
        hook.close()


def test_webhook_down_holds_the_offset(daemon, workers):
    """While a sink keeps failing, the offset stays before the event."""
    c = daemon.client()
    hook = HookServer(script=[503] * 6)
    try:
        w = workers.notify(daemon, "--sink", hook.url, "--backoff-ms", "300",
                           "--retries", "20")
        exit_household(c, Household(), {"exit_date": day(-1),
                                         "destination": 410})
        wait_for(lambda: len(hook.all()) >= 3, what="failing attempts")
        assert lag_of(c, "notify") >= 1
        wait_for(lambda: hook.accepted(), timeout=30, what="the delivery")
        caught_up(c, "notify")
        assert len(hook.accepted()) == 1
        w.stop()
    finally:
        hook.close()


def test_smtp_sink(daemon, workers):
    c = daemon.client()
    smtp = SmtpServer()
    try:
        workers.notify(daemon, "--sink", smtp.url, "--ops", "ops@example.org",
                       "--actor-domain", "example.org", "--from",
                       "exitflow@example.org")
        h = Household()
        wf = exit_household(c, h, {"exit_date": day(-1), "destination": 410},
                            actor="cw-5")
        wait_for(lambda: smtp.received(), what="a mail")
        caught_up(c, "notify")
        (mail,) = smtp.received()
        assert mail["from"] == "<exitflow@example.org>"
        assert mail["rcpt"] == ["<cw-5@example.org>", "<ops@example.org>"]
        seq = [e["seq"] for e in read_all_events(c)
               if e["type"] == "workflow.finished"][0]
        assert "Message-ID: <notify-%d@exitflow>" % seq in mail["data"]
        assert "Subject: exitflow: exit %s finished" % wf in mail["data"]
        assert h.hoh not in mail["data"]
    finally:
        smtp.close()


def test_killed_mid_stream_misses_nothing_sends_nothing_twice(
        daemon, workers, tmp_path):
    c = daemon.client()
    out = tmp_path / "notes.jsonl"
    hook = HookServer()
    try:
        workers.dq(daemon)
        w = workers.notify(daemon, "--sink", "file:%s" % out, "--sink",
                           hook.url)
        n = 16
        for i in range(n):
            exit_household(c, Household(), {"exit_date": day(-1),
                                             "destination": 410},
                           assessments={} if i % 2 else {"income_benefits": {
                               "income_from_any_source": 0, "ssi": 1,
                               "benefits_from_any_source": 0}})
            if i in (4, 9, 13):
                w.kill9()
                w.start()
        caught_up(c, "dq", timeout=30)
        caught_up(c, "notify", timeout=30)
        wait_quiet(lambda: len(read_jsonl(out)))
        events = read_all_events(c)
        expected = sorted(
            e["seq"] for e in events
            if e["type"] in ("workflow.finished", "workflow.stalled")
            or (e["type"] == "dq.reported" and e["data"]["errors"] > 0))
        assert len(expected) == n + n // 2
        # the file: every one, exactly once
        seqs = [x["event_seq"] for x in read_jsonl(out)]
        assert sorted(seqs) == expected
        # the webhook: every one; a kill between the server's 200 and the
        # state file's fsync may resend one, with the same Idempotency-Key
        got = [b["event_seq"] for _, b in hook.accepted()]
        assert sorted(set(got)) == expected
        assert len(got) - len(set(got)) <= 3
        for headers, body in hook.accepted():
            assert headers["Idempotency-Key"] == "notify-%d" % body["event_seq"]
        w.stop()
    finally:
        hook.close()


def test_settings_from_the_daemons_config_file(daemon, workers, tmp_path):
    """The same ZPL file as the daemon: endpoints from `exitflowd`, the
    rest, keys too, from `notify` (and `dq`); no flags at all."""
    out = tmp_path / "from-config.jsonl"
    cfg = tmp_path / "exitflow.cfg"
    keys = daemon.client_keys("worker")
    cfg.write_text(
        "exitflowd\n"
        "    data = ./var/exitflow\n"
        "    commands = %s\n"
        "    events = %s\n"
        "dq\n"
        "    name = dq-cfg\n"
        "    timeliness-days = 1\n"
        "    cert = %s\n"
        "    server_key = %s\n"
        "notify\n"
        "    name = notify-cfg\n"
        "    sink = file:%s\n"
        "    ops = ops@example.org\n"
        "    state = %s\n"
        "    cert = %s\n"
        "    server_key = %s\n"
        % (daemon.commands, daemon.events, keys["cert"], keys["server_key"],
           out, tmp_path / "cfg.state", keys["cert"], keys["server_key"]))
    import worker_support
    dq = worker_support.Worker(
        [worker_support.binary("exitflow-dq", "EXITFLOW_DQ"), "--config",
         str(cfg)], tmp_path / "dq-cfg.log", tmp_path).start()
    nt = worker_support.Worker(
        [worker_support.binary("exitflow-notify", "EXITFLOW_NOTIFY"),
         "--config", str(cfg)], tmp_path / "notify-cfg.log", tmp_path).start()
    workers.made.extend([dq, nt])
    c = daemon.client()
    h = Household()
    wf = exit_household(c, h, {"exit_date": day(-2), "destination": 410})
    caught_up(c, "dq-cfg")
    caught_up(c, "notify-cfg")
    # timeliness-days = 1 from the file: two days late is a finding
    assert [f["rule"] for f in c.get(wf)["dq"]] == ["exit_timeliness"]
    (note,) = notes_of(out, workflow_id=wf)
    assert note["id"].startswith("notify-cfg-")
    assert note["to"][-1] == "ops@example.org"
    assert (tmp_path / "cfg.state").exists()
    dq.stop()
    nt.stop()


def test_sigterm_while_retrying_holds_the_event(daemon, workers):
    """Stopped while a sink keeps failing: exits 0 at once, the offset stays
    before the event, and after the restart it is delivered, once."""
    c = daemon.client()
    hook = HookServer(script=[503] * 1000)
    try:
        w = workers.notify(daemon, "--sink", hook.url, "--backoff-ms", "200",
                           "--retries", "1000")
        exit_household(c, Household(), {"exit_date": day(-1),
                                         "destination": 410})
        wait_for(lambda: len(hook.all()) >= 2, what="failing attempts")
        t0 = time.monotonic()
        w.stop()
        assert time.monotonic() - t0 < 3
        assert "interrupted by a signal" in w.log()
        assert lag_of(c, "notify") >= 1
        with hook.lock:
            hook.script = []
        w.start()
        wait_for(lambda: hook.accepted(), what="the delivery after restart")
        caught_up(c, "notify")
        time.sleep(0.3)
        assert len(hook.accepted()) == 1
        w.stop()
    finally:
        hook.close()
