"""ping, stats, full household exits over the wire, the workflow view,
events (SUB socket and events.read) and workflow.history."""

import time

import zmq

from support import (CHILD_STEPS, RFC3339_MS, STEPS, ULID, Household,
                     assessment, complete_member, day, exit_form, has, member,
                     read_all_events, step_of)
from exitflow import encode_request, unpack


def open_sub(daemon, prefix=b""):
    sub = daemon.socket(zmq.SUB, options={zmq.SUBSCRIBE: prefix})
    time.sleep(0.5)       # let the subscription reach the PUB (slow joiner)
    return sub


def drain_sub(sub, want, timeout=10.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        if sub.poll(100):
            got.append(sub.recv_multipart())
    return got


def test_ping(daemon):
    c = daemon.client()
    assert c.ping() == {"pong": True, "version": "exitflow/1"}
    reply = c.request("ping", id="ping-1")
    assert reply["v"] == 1 and reply["id"] == "ping-1" and reply["ok"] is True


def test_stats_fresh_and_counts(daemon):
    c = daemon.client()
    s = c.stats()
    assert s["workflows"] == {"open": 0, "finished": 0, "cancelled": 0}
    assert s["last_seq"] == 0
    assert isinstance(s["uptime_s"], int) and s["uptime_s"] >= 0

    a, b, x = Household(), Household(), Household()
    wa, wb = a.start(c), b.start(c)
    x.start(c)
    c.cancel(wb, "entered by mistake")
    complete_member(c, wa, a.hoh)
    c.decide(wa, a.spouse, False)
    c.decide(wa, a.child, False)
    c.finish(wa, new_head_of_household=a.spouse)
    s = c.stats()
    assert s["workflows"] == {"open": 1, "finished": 1, "cancelled": 1}
    assert s["last_seq"] == len(read_all_events(c))


def test_req_and_bare_dealer_framing(daemon):
    req = daemon.socket(zmq.REQ)
    rid, body = encode_request("ping")
    req.send(body)
    assert req.poll(5000)
    reply = unpack(req.recv())
    assert reply["id"] == rid and reply["ok"] is True
    req.close()

    dealer = daemon.socket(zmq.DEALER)
    rid, body = encode_request("ping")
    dealer.send(body)                             # no delimiter at all
    assert dealer.poll(5000)
    frames = dealer.recv_multipart()
    assert len(frames) == 1 and unpack(frames[0])["id"] == rid
    # envelope frames come back unchanged
    dealer.send_multipart([b"", b"env-a", b"env-b", body])
    assert dealer.poll(5000)
    frames = dealer.recv_multipart()
    assert frames[:3] == [b"", b"env-a", b"env-b"] and len(frames) == 4
    assert unpack(frames[3])["ok"] is True
    dealer.close()


def check_event_shape(ev):
    assert set(ev) >= {"seq", "type", "ts", "workflow_id", "data"}
    assert isinstance(ev["seq"], int)
    assert RFC3339_MS.match(ev["ts"]), ev["ts"]
    assert isinstance(ev["data"], dict)


def test_full_household_exit(daemon):
    c = daemon.client()
    sub = open_sub(daemon)
    h = Household()
    r = c.start(**h.args, actor="cw-17")
    wf, v = r["workflow_id"], r["version"]
    assert ULID.match(wf) and r["state"] == "open" and isinstance(v, int)

    # -- the view right after start
    view = c.get(wf)
    assert view["workflow_id"] == wf and view["version"] == v
    assert view["state"] == "open"
    assert view["enrollment_id"] == h.enrollment[h.hoh]
    assert view["household_id"] == h.household_id
    assert view["project_id"] == h.project_id and view["project_type"] == 1
    assert RFC3339_MS.match(view["created_at"])
    assert RFC3339_MS.match(view["updated_at"])
    assert view["started_by"] == "cw-17"
    assert view["new_head_of_household"] is None
    assert view["cancel_reason"] is None
    assert view["dq"] == []
    assert view["progress"] == {"done": 0, "total": 5 + 2}
    assert [m["client_id"] for m in view["members"]] == [h.hoh, h.spouse,
                                                          h.child]
    hoh = member(view, h.hoh)
    assert hoh["decision"] == "exiting" and hoh["next_step"] == "exit"
    assert hoh["relationship"] == 1 and hoh["adult"] is True
    assert hoh["enrollment_id"] == h.enrollment[h.hoh]
    assert hoh["entry_date"] == h.entry_date[h.hoh]
    assert [s["name"] for s in hoh["steps"]] == STEPS
    for s in hoh["steps"]:
        assert s["status"] == "pending"
        assert s["mode"] is None and s["data"] is None
        assert s["completed_at"] is None and s["actor"] is None
    assert member(view, h.spouse)["decision"] == "undecided"
    child = member(view, h.child)
    assert child["decision"] == "undecided" and child["adult"] is False
    assert [s["name"] for s in child["steps"]] == CHILD_STEPS

    # -- the head of household's exit, step by step
    versions = [v]
    res = c.save(wf, h.hoh, "exit", data=exit_form(), actor="cw-17")
    assert has(res, workflow_id=wf, version=v + 1, client_id=h.hoh,
               step="exit", next_step="universal_data")
    versions.append(res["version"])
    res = c.save(wf, h.hoh, "universal_data",
                 data=assessment("universal_data"))
    assert res["next_step"] == "health_insurance"
    versions.append(res["version"])
    res = c.save(wf, h.hoh, "health_insurance", mode="default_last")
    assert res["next_step"] == "disabilities"
    versions.append(res["version"])
    res = c.save(wf, h.hoh, "disabilities", data=assessment("disabilities"))
    assert res["next_step"] == "income_benefits"
    versions.append(res["version"])
    res = c.save(wf, h.hoh, "income_benefits", mode="default_last")
    assert res["next_step"] is None
    versions.append(res["version"])

    view = c.get(wf)
    hoh = member(view, h.hoh)
    assert hoh["next_step"] is None
    assert all(s["status"] == "done" for s in hoh["steps"])
    ex = step_of(view, h.hoh, "exit")
    assert ex["mode"] == "entered" and ex["data"] == exit_form()
    assert ex["actor"] == "cw-17" and RFC3339_MS.match(ex["completed_at"])
    hi = step_of(view, h.hoh, "health_insurance")
    assert hi["mode"] == "default_last"
    assert hi["data"] == h.last[h.hoh]["health_insurance"]
    assert step_of(view, h.hoh, "income_benefits")["data"] == \
        h.last[h.hoh]["income_benefits"]
    assert step_of(view, h.hoh, "universal_data")["data"] == \
        assessment("universal_data")
    assert view["progress"] == {"done": 5, "total": 7}

    # -- the other members
    res = c.decide(wf, h.spouse, True)
    assert has(res, workflow_id=wf, version=versions[-1] + 1,
               client_id=h.spouse, decision="exiting")
    versions.append(res["version"])
    res = c.decide(wf, h.child, True)
    assert res["decision"] == "exiting"
    versions.append(res["version"])
    view = c.get(wf)
    assert member(view, h.spouse)["next_step"] == "exit"
    assert view["progress"] == {"done": 7, "total": 5 + 5 + 4 + 2}
    for step in STEPS:
        versions.append(c.save(wf, h.spouse, step,
                               data=exit_form() if step == "exit"
                               else assessment(step))["version"])
    versions.append(c.save(wf, h.child, "exit", data=exit_form(
        destination=422, exit_reason=None))["version"])
    for step in CHILD_STEPS[1:]:
        versions.append(c.save(wf, h.child, step,
                               mode="default_last")["version"])
    view = c.get(wf)
    assert view["progress"] == {"done": 16, "total": 16}
    assert member(view, h.child)["next_step"] is None

    res = c.finish(wf)
    assert has(res, workflow_id=wf, version=versions[-1] + 1,
               state="finished")
    versions.append(res["version"])
    assert versions == list(range(v, v + len(versions)))
    view = c.get(wf)
    assert view["state"] == "finished" and view["version"] == versions[-1]
    assert view["new_head_of_household"] is None

    # -- events, from the log
    events = read_all_events(c)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for e in events:
        check_event_shape(e)
        assert e["workflow_id"] == wf
    types = [e["type"] for e in events]
    assert types == (["workflow.started"] + ["step.completed"] * 5 +
                     ["member.decided"] * 2 + ["step.completed"] * 9 +
                     ["member.exited"] * 3 + ["workflow.finished"])
    started = events[0]
    assert started["client_id"] == h.hoh and started["actor"] == "cw-17"
    d = started["data"]
    assert d["enrollment_id"] == h.enrollment[h.hoh]
    assert d["household_id"] == h.household_id
    assert d["project_id"] == h.project_id and d["project_type"] == 1
    assert d["members"] == [
        {"client_id": h.hoh, "relationship": 1, "decision": "exiting"},
        {"client_id": h.spouse, "relationship": 3, "decision": "undecided"},
        {"client_id": h.child, "relationship": 2, "decision": "undecided"}]
    sc = events[1]
    assert sc["client_id"] == h.hoh and sc["actor"] == "cw-17"
    assert sc["data"] == {"step": "exit", "mode": "entered",
                          "version": v + 1, "data": exit_form()}
    assert events[3]["data"]["mode"] == "default_last"
    assert events[3]["data"]["data"] == h.last[h.hoh]["health_insurance"]
    step_versions = [e["data"]["version"] for e in events
                     if e["type"] in ("step.completed", "member.decided")]
    assert step_versions == versions[1:-1]
    dec = events[6]
    assert dec["client_id"] == h.spouse
    assert dec["data"] == {"decision": "exiting", "version": v + 6}

    exited = {e["client_id"]: e for e in events[17:20]}
    assert set(exited) == {h.hoh, h.spouse, h.child}
    for cid, e in exited.items():
        rec = e["data"]
        assert rec["enrollment_id"] == h.enrollment[cid]
        assert rec["relationship"] == {h.hoh: 1, h.spouse: 3, h.child: 2}[cid]
        assert rec["exit_date"] == exit_form()["exit_date"]
        assert rec["destination"] == (422 if cid == h.child else 410)
        assert rec["destination_subsidy_type"] is None
        assert rec["other_destination"] is None
        assert rec["exit_reason"] == (None if cid == h.child
                                      else "Moved in with a lease")
        assert RFC3339_MS.match(rec["exit_recorded_at"])
    # exit_recorded_at: when the member's exit form was first saved
    assert exited[h.hoh]["data"]["exit_recorded_at"] == \
        step_of(view, h.hoh, "exit")["completed_at"]
    fin = events[-1]
    assert fin["data"]["version"] == versions[-1]
    assert sorted(fin["data"]["exited"]) == sorted([h.hoh, h.spouse, h.child])
    assert fin["data"]["staying"] == []
    assert fin["data"]["new_head_of_household"] is None
    assert c.events_read(0, limit=5)["last_seq"] == len(events)
    assert [e["seq"] for e in c.events_read(10, limit=3)["events"]] == \
        [11, 12, 13]

    # -- the same events on the SUB socket, byte for byte the stored ones
    frames = drain_sub(sub, len(events))
    sub.close()
    assert len(frames) == len(events)
    for fr, e in zip(frames, events):
        assert len(fr) == 2
        assert fr[0] == e["type"].encode()
        assert unpack(fr[1]) == e

    # -- history
    hist = c.history(wf)
    assert hist["workflow_id"] == wf and hist["events"] == events


def test_head_exits_spouse_stays(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    complete_member(c, wf, h.hoh, default_last=("universal_data",))
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, True)
    complete_member(c, wf, h.child, steps=CHILD_STEPS)
    view = c.get(wf)
    assert member(view, h.spouse)["decision"] == "staying"
    assert view["progress"] == {"done": 5 + 4 + 2, "total": 5 + 4 + 2}
    res = c.finish(wf, new_head_of_household=h.spouse)
    assert res["state"] == "finished"
    view = c.get(wf)
    assert view["new_head_of_household"] == h.spouse
    hist = c.history(wf)["events"]
    exited = [e["client_id"] for e in hist if e["type"] == "member.exited"]
    assert sorted(exited) == sorted([h.hoh, h.child])
    fin = hist[-1]
    assert fin["type"] == "workflow.finished"
    assert sorted(fin["data"]["exited"]) == sorted([h.hoh, h.child])
    assert fin["data"]["staying"] == [h.spouse]
    assert fin["data"]["new_head_of_household"] == h.spouse


def test_one_member_leaves_household(daemon):
    """The spouse leaves; the head of household and child stay enrolled."""
    c = daemon.client()
    h = Household(start_for="spouse")
    wf = h.start(c)
    view = c.get(wf)
    assert member(view, h.spouse)["decision"] == "exiting"
    assert member(view, h.hoh)["decision"] == "undecided"
    complete_member(c, wf, h.spouse)
    c.decide(wf, h.hoh, False)
    c.decide(wf, h.child, False)
    assert c.get(wf)["progress"] == {"done": 7, "total": 7}
    c.finish(wf)
    hist = c.history(wf)["events"]
    assert hist[0]["client_id"] == h.spouse
    assert [e["client_id"] for e in hist
            if e["type"] == "member.exited"] == [h.spouse]
    assert sorted(hist[-1]["data"]["staying"]) == sorted([h.hoh, h.child])


def test_decision_can_change_and_steps_kept(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.decide(wf, h.spouse, True)
    c.save(wf, h.spouse, "exit", data=exit_form())
    c.decide(wf, h.spouse, False)
    view = c.get(wf)
    assert member(view, h.spouse)["decision"] == "staying"
    c.decide(wf, h.spouse, True)
    view = c.get(wf)
    assert member(view, h.spouse)["decision"] == "exiting"
    assert step_of(view, h.spouse, "exit")["status"] == "done"
    assert member(view, h.spouse)["next_step"] == "universal_data"
    # a done step may be saved again while open
    v = view["version"]
    res = c.save(wf, h.spouse, "exit", data=exit_form(destination=411))
    assert res["version"] == v + 1
    assert step_of(c.get(wf), h.spouse, "exit")["data"]["destination"] == 411


def test_cancel(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    v = c.get(wf)["version"]
    res = c.cancel(wf, "duplicate enrollment", actor="cw-2")
    assert has(res, workflow_id=wf, version=v + 1, state="cancelled")
    view = c.get(wf)
    assert view["state"] == "cancelled"
    assert view["cancel_reason"] == "duplicate enrollment"
    ev = c.history(wf)["events"][-1]
    assert ev["type"] == "workflow.cancelled" and ev["actor"] == "cw-2"
    assert ev["data"] == {"version": v + 1, "reason": "duplicate enrollment"}
    assert c.stats()["workflows"]["cancelled"] == 1


def test_events_read_limits(daemon):
    c = daemon.client()
    for _ in range(3):
        Household().start(c)
    res = c.events_read(0)
    assert [e["seq"] for e in res["events"]] == [1, 2, 3]
    assert res["last_seq"] == 3
    assert c.events_read(3)["events"] == []
    assert [e["seq"] for e in c.events_read(1, limit=1)["events"]] == [2]
    wf = Household().start(c)
    for i in range(120):
        c.dq_report(wf, "s%d" % i, [])
    res = c.events_read(0)
    assert len(res["events"]) == 100 and res["last_seq"] == 124
    assert len(c.events_read(0, limit=1000)["events"]) == 124
    for bad in (0, 1001):
        r = c.request("events.read", {"after": 0, "limit": bad})
        assert r["error"]["code"] in ("BAD_REQUEST", "VALIDATION")
        assert r["error"]["field"] == "limit"


def test_history_only_that_workflow(daemon):
    c = daemon.client()
    hs = [Household() for _ in range(3)]
    wfs = [h.start(c) for h in hs]
    for h, wf in zip(hs, wfs):
        c.save(wf, h.hoh, "exit", data=exit_form())
    c.cancel(wfs[1], "x")
    log = read_all_events(c)
    for wf in wfs:
        hist = c.history(wf)["events"]
        assert hist == [e for e in log if e["workflow_id"] == wf]


def test_exit_record(daemon):
    """member.exited carries the exit form; exit_recorded_at is the first
    save of the exit form (timeliness), not a later correction."""
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.decide(wf, h.spouse, True)
    c.decide(wf, h.child, True)
    c.save(wf, h.hoh, "exit", data=exit_form(destination=410))
    first_saved = step_of(c.get(wf), h.hoh, "exit")["completed_at"]
    time.sleep(0.01)
    c.save(wf, h.hoh, "exit", data=exit_form(
        destination=435, destination_subsidy_type=419, exit_date=day(-2)))
    assert step_of(c.get(wf), h.hoh, "exit")["data"]["destination"] == 435
    c.save(wf, h.spouse, "exit", data=exit_form(
        destination=17, other_destination="Couch of a cousin",
        exit_reason=None))
    c.save(wf, h.child, "exit", data=exit_form(destination=24))
    for cid, steps in ((h.hoh, STEPS), (h.spouse, STEPS),
                       (h.child, CHILD_STEPS)):
        for step in steps[1:]:
            c.save(wf, cid, step, mode="default_last")
    c.finish(wf)
    recs = {e["client_id"]: e["data"] for e in c.history(wf)["events"]
            if e["type"] == "member.exited"}
    assert recs[h.hoh] == {
        "enrollment_id": h.enrollment[h.hoh], "relationship": 1,
        "exit_date": day(-2), "destination": 435,
        "destination_subsidy_type": 419, "other_destination": None,
        "exit_reason": "Moved in with a lease",
        "exit_recorded_at": first_saved}
    assert recs[h.spouse]["destination"] == 17
    assert recs[h.spouse]["other_destination"] == "Couch of a cousin"
    assert recs[h.spouse]["destination_subsidy_type"] is None
    assert recs[h.spouse]["exit_reason"] is None
    assert recs[h.child]["destination"] == 24
    assert recs[h.child]["relationship"] == 2
