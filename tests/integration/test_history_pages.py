"""workflow.history a page at a time (limit, after, next, 256 KiB), and
dq.report on a finished workflow: allowed, bounded, the view unchanged by
repeats (issue 11, item 3)."""

import time

from exitflow import ExitflowError
from support import (Household, complete_member, exit_form, read_all_events,
                     universal)

FINDING = [{"rule": "r", "severity": "warning", "message": "m"}]


def history_pages(c, wf, **args):
    pages, after = [], None
    while True:
        a = dict(args, workflow_id=wf)
        if after is not None:
            a["after"] = after
        page = c.call("workflow.history", a)
        pages.append(page)
        after = page["next"]
        if after is None:
            return pages


def test_history_pages_by_count(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    for i in range(1205):
        c.dq_report(wf, "dq%d" % (i % 3), FINDING)
    other = Household().start(c)        # not in wf's history
    mine = [e for e in read_all_events(c) if e["workflow_id"] == wf]
    assert len(mine) == 1206

    pages = history_pages(c, wf)
    assert [len(p["events"]) for p in pages] == [1000, 206]
    assert pages[0]["next"] == pages[0]["events"][-1]["seq"]
    assert [e for p in pages for e in p["events"]] == mine

    small = history_pages(c, wf, limit=500)
    assert [len(p["events"]) for p in small] == [500, 500, 206]
    assert [e for p in small for e in p["events"]] == mine

    # a history that fits comes whole, with next nil
    whole = c.history(other)
    assert len(whole["events"]) == 1 and whole["next"] is None
    # after the last event: nothing, and no next
    last = c.call("workflow.history", {"workflow_id": wf,
                                       "after": mine[-1]["seq"]})
    assert last["events"] == [] and last["next"] is None
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1},
                {"after": "x"}):
        try:
            c.call("workflow.history", dict(bad, workflow_id=wf))
            raise AssertionError("accepted %r" % bad)
        except ExitflowError as e:
            assert e.code == "BAD_REQUEST", (bad, e)


def test_history_pages_by_bytes(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    for i in range(40):
        c.save(wf, h.hoh, "universal_data",
               data=universal(local_notes="%d" % i * 30000))
    pages = history_pages(c, wf)
    assert len(pages) > 1
    for p in pages:
        size = sum(len(e["data"].get("data", {}).get("local_notes", ""))
                   for e in p["events"])
        assert size <= 256 * 1024
    events = [e for p in pages for e in p["events"]]
    assert events == [e for e in read_all_events(c)
                      if e["workflow_id"] == wf]


def test_dq_report_on_a_finished_workflow_is_bounded(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    c.finish(wf, new_head_of_household=h.spouse)
    c.dq_report(wf, "a", FINDING)
    c.dq_report(wf, "b", FINDING)
    view = c.get(wf)
    t0 = time.monotonic()
    for i in range(2000):
        c.dq_report(wf, "a" if i % 2 else "b", FINDING)
    elapsed = time.monotonic() - t0
    assert c.get(wf) == view        # the same findings, the same version
    assert view["state"] == "finished"
    # the last reports cost what the first did (a generous bound: the old
    # record carried every reply reference and grew with each report)
    t0 = time.monotonic()
    for i in range(100):
        c.dq_report(wf, "a", FINDING)
    assert time.monotonic() - t0 < 3 * elapsed / 20 + 0.5
