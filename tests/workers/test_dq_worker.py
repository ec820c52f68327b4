"""exitflow-dq against a real daemon: findings appear in workflow.get after
a bad exit, follow corrections, are cleared by a cancel, are never filed
twice, survive a kill at any moment, and the worker's lag is visible."""

import time

from support import RFC3339_MS, Household, day, read_all_events, wait_for
from worker_support import caught_up, exit_household, findings, lag_of


def reports(c, wf=None):
    return [e for e in read_all_events(c) if e["type"] == "dq.reported"
            and (wf is None or e["workflow_id"] == wf)]


def test_bad_exit_findings_in_view(daemon, workers):
    c = daemon.client()
    workers.dq(daemon)
    h = Household()
    wf = exit_household(
        c, h, {"exit_date": day(-15), "destination": 99},
        assessments={
            "income_benefits": {"income_from_any_source": 1, "earned": 0,
                                "benefits_from_any_source": 0, "snap": 1},
            "health_insurance": {"insurance_from_any_source": 0,
                                 "medicaid": 1},
        })
    view = findings(c, wf, [
        ("benefits_inconsistent", h.hoh), ("destination_missing", h.hoh),
        ("exit_timeliness", h.hoh), ("income_inconsistent", h.hoh),
        ("insurance_inconsistent", h.hoh)])
    by_rule = {f["rule"]: f for f in view["dq"]}
    assert by_rule["income_inconsistent"]["severity"] == "error"
    assert by_rule["destination_missing"]["severity"] == "warning"
    assert "99" in by_rule["destination_missing"]["message"]
    assert "15 days" in by_rule["exit_timeliness"]["message"]
    assert "11+" in by_rule["exit_timeliness"]["message"]
    for f in view["dq"]:
        assert f["source"] == "dq" and f["client_id"] == h.hoh
        assert 10 < len(f["message"]) <= 500
    # each beside the step whose answers it is about
    assert {r: f["step"] for r, f in by_rule.items()} == {
        "benefits_inconsistent": "income_benefits",
        "destination_missing": "exit", "exit_timeliness": "exit",
        "income_inconsistent": "income_benefits",
        "insurance_inconsistent": "health_insurance"}
    assert view["state"] == "finished"

    # a clean exit gets no findings (and no report at all)
    ok = Household()
    wf_ok = exit_household(c, ok, {"exit_date": day(-1), "destination": 410})
    caught_up(c, "dq")
    assert c.get(wf_ok)["dq"] == []
    assert reports(c, wf_ok) == []


def test_findings_follow_the_workflow(daemon, workers):
    """Open workflows are evaluated as they change; a report replaces the
    previous one; a cancelled exit has no findings."""
    c = daemon.client()
    workers.dq(daemon)
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data={"exit_date": day(-2), "destination": 8})
    findings(c, wf, [("destination_dk_pnta", h.hoh)])
    c.save(wf, h.hoh, "exit", data={"exit_date": day(-2), "destination": 17,
                                     "other_destination": "Boat"})
    findings(c, wf, [])
    c.save(wf, h.hoh, "health_insurance",
           data={"insurance_from_any_source": 1})
    findings(c, wf, [("insurance_inconsistent", h.hoh)])
    # the child exits later than the head
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, True)
    c.save(wf, h.child, "exit", data={"exit_date": day(0),
                                       "destination": 410})
    findings(c, wf, [("insurance_inconsistent", h.hoh),
                     ("member_exit_after_head", h.child)])
    c.cancel(wf, "started by mistake")
    findings(c, wf, [])
    caught_up(c, "dq")


def test_not_filed_twice(daemon, workers):
    """A report equal to what the view holds is not sent: a second DQ
    consumer reading the whole log from seq 0 files nothing new."""
    c = daemon.client()
    first = workers.dq(daemon)
    hs = [Household() for _ in range(3)]
    wfs = [exit_household(c, h, {"exit_date": day(-1), "destination": 8})
           for h in hs]
    for wf, h in zip(wfs, hs):
        findings(c, wf, [("destination_dk_pnta", h.hoh)])
    caught_up(c, "dq")
    before = len(reports(c))
    assert before == 3
    first.stop()
    second = workers.dq(daemon, "--name", "dq-replay")
    caught_up(c, "dq-replay")
    assert len(reports(c)) == before
    second.stop()


def test_killed_mid_stream_misses_nothing(daemon, workers):
    c = daemon.client()
    w = workers.dq(daemon)
    hs = [Household() for _ in range(12)]
    wfs = []
    for i, h in enumerate(hs):
        wfs.append(exit_household(
            c, h, {"exit_date": day(-1), "destination": 9 if i % 2 else 410},
            assessments={} if i % 3 else {
                "income_benefits": {"income_from_any_source": 0, "ssi": 1,
                                    "ssi_amount": 943,
                                    "total_monthly_income": 943,
                                    "benefits_from_any_source": 0}}))
        if i in (3, 7):
            w.kill9()               # at whatever point it was
            time.sleep(0.2)
            w.start()
    caught_up(c, "dq", timeout=30)
    for i, (wf, h) in enumerate(zip(wfs, hs)):
        want = []
        if i % 2:
            want.append(("destination_dk_pnta", h.hoh))
        if i % 3 == 0:
            want.append(("income_inconsistent", h.hoh))
        findings(c, wf, want)
    # every workflow's report went out once per change of its findings:
    # never two identical reports in a row
    for wf in wfs:
        counts = [(e["data"]["count"], e["data"]["errors"])
                  for e in reports(c, wf)]
        assert all(a != b for a, b in zip(counts, counts[1:])), counts
    w.stop()


def test_lag_and_clean_stop(daemon, workers):
    c = daemon.client()
    for _ in range(3):
        Household().start(c)
    w = workers.dq(daemon, "--name", "dq-lag")
    # listed as soon as it starts, caught up soon after
    wait_for(lambda: lag_of(c, "dq-lag") is not None, what="dq-lag listed")
    caught_up(c, "dq-lag")
    last = c.stats()["last_seq"]
    entry = [x for x in c.consumer_list()["consumers"]
             if x["consumer"] == "dq-lag"][0]
    # the worker's last ack (issue 10: consumer.list's acked_at)
    assert RFC3339_MS.match(entry.pop("acked_at")), entry
    assert entry == {"consumer": "dq-lag", "seq": last, "lag": 0}
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 5
    # while it is down, lag grows; after a restart it catches up
    Household().start(c)
    assert lag_of(c, "dq-lag") == 1
    w.start()
    caught_up(c, "dq-lag")
    assert "consumer dq-lag starts after seq %d" % last in w.log()
    w.stop()


def test_worker_waits_for_the_daemon(make_daemon, workers):
    """Started before the daemon, the worker waits, then works."""
    d = make_daemon(start=False)
    w = workers.dq(d)
    time.sleep(1.0)
    assert w.running()
    d.start()
    c = d.client()
    h = Household()
    wf = exit_household(c, h, {"exit_date": day(-1), "destination": 30})
    findings(c, wf, [("destination_missing", h.hoh)])
    w.stop()
