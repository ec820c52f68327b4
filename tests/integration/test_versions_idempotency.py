"""Optimistic concurrency (expected_version) between racing front ends, and
request-id idempotency (PROTOCOL.md 2.5)."""

import zmq

from exitflow import encode_request, unpack
from support import (Household, assessment, complete_member, error_of,
                     exit_form, read_all_events)


def dealer(daemon):
    return daemon.socket(zmq.DEALER)


def recv_reply(sock, timeout=5.0):
    assert sock.poll(int(timeout * 1000)), "no reply"
    return unpack(sock.recv_multipart()[-1])


def test_two_front_ends_race(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    a, b = dealer(daemon), dealer(daemon)
    try:
        races = [
            ("step.save", {"workflow_id": wf, "client_id": h.hoh,
                           "step": "universal_data", "mode": "entered",
                           "data": assessment("universal_data", 1)},
             {"data": assessment("universal_data", 2)}),
            ("member.decide", {"workflow_id": wf, "client_id": h.spouse,
                               "exit": True}, {"exit": False}),
            ("step.save", {"workflow_id": wf, "client_id": h.hoh,
                           "step": "disabilities", "mode": "default_last"},
             {"mode": "entered", "data": assessment("disabilities")}),
            ("workflow.cancel", {"workflow_id": wf, "reason": "a"},
             {"reason": "b"}),
        ]
        for cmd, args_a, diff in races:
            v = c.get(wf)["version"]
            args_a = dict(args_a, expected_version=v)
            args_b = dict(args_a, **diff)
            ida, body_a = encode_request(cmd, args_a, actor="front-a")
            idb, body_b = encode_request(cmd, args_b, actor="front-b")
            a.send_multipart([b"", body_a])
            b.send_multipart([b"", body_b])
            ra, rb = recv_reply(a), recv_reply(b)
            assert ra["id"] == ida and rb["id"] == idb
            oks = [r for r in (ra, rb) if r["ok"]]
            errs = [r for r in (ra, rb) if not r["ok"]]
            assert len(oks) == 1 and len(errs) == 1, (ra, rb)
            assert oks[0]["result"]["version"] == v + 1
            assert errs[0]["error"]["code"] == "CONFLICT"
            assert errs[0]["error"]["version"] == v + 1
            assert c.get(wf)["version"] == v + 1
            winner = "front-a" if ra["ok"] else "front-b"
            last = c.history(wf)["events"][-1]
            assert last["actor"] == winner
    finally:
        a.close()
        b.close()
    # only accepted changes made events: started, exit, and one per race
    types = [e["type"] for e in c.history(wf)["events"]]
    assert types == ["workflow.started", "step.completed", "step.completed",
                     "member.decided", "step.completed", "workflow.cancelled"]


def test_stale_expected_version(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    v = c.get(wf)["version"]
    c.save(wf, h.hoh, "exit", data=exit_form(), expected_version=v)
    for fn, a, kw in [
            (c.save, (wf, h.hoh, "universal_data"), {"mode": "default_last"}),
            (c.decide, (wf, h.child, True), {}),
            (c.finish, (wf,), {}),
            (c.cancel, (wf, "x"), {})]:
        e = error_of(fn, *a, expected_version=v, **kw)
        assert e.code == "CONFLICT" and e.version == v + 1
        e = error_of(fn, *a, expected_version=v + 7, **kw)
        assert e.code == "CONFLICT" and e.version == v + 1
    assert c.get(wf)["version"] == v + 1
    c.decide(wf, h.child, True, expected_version=v + 1)
    assert c.get(wf)["version"] == v + 2


def test_version_rises_by_one_and_not_for_dq(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    v = c.get(wf)["version"]
    seen = [v]
    seen.append(c.save(wf, h.hoh, "exit", data=exit_form())["version"])
    c.dq_report(wf, "dq", [{"rule": "r", "severity": "error",
                            "message": "m"}])
    assert c.get(wf)["version"] == seen[-1]
    seen.append(c.decide(wf, h.spouse, False)["version"])
    seen.append(c.decide(wf, h.spouse, True)["version"])
    c.dq_report(wf, "dq", [])
    seen.append(c.save(wf, h.hoh, "universal_data",
                       mode="default_last")["version"])
    # a refused change does not count either
    error_of(c.save, wf, h.child, "exit", data=exit_form())
    seen.append(c.cancel(wf, "x")["version"])
    assert seen == list(range(v, v + len(seen)))
    # a dq.report with the front end's expected version still current
    c2 = daemon.client()
    h2 = Household()
    wf2 = h2.start(c2)
    v2 = c2.get(wf2)["version"]
    c.dq_report(wf2, "dq", [{"rule": "r", "severity": "warning",
                             "message": "m"}])
    c2.save(wf2, h2.hoh, "exit", data=exit_form(), expected_version=v2)


def test_same_id_same_reply(daemon):
    c = daemon.client()
    h = Household()
    rid, body = encode_request("workflow.start", h.args, actor="cw")
    first = c.request_raw(body)
    assert unpack(first)["ok"] is True
    wf = unpack(first)["result"]["workflow_id"]
    seq = c.stats()["last_seq"]
    for _ in range(3):
        assert c.request_raw(body) == first
    # from another socket too
    assert daemon.client().request_raw(body) == first
    assert c.stats()["last_seq"] == seq
    assert c.stats()["workflows"]["open"] == 1

    rid, body = encode_request("step.save", {
        "workflow_id": wf, "client_id": h.hoh, "step": "exit",
        "mode": "entered", "data": exit_form()})
    first = c.request_raw(body)
    v = c.get(wf)["version"]
    seq = c.stats()["last_seq"]
    assert c.request_raw(body) == first
    assert c.get(wf)["version"] == v
    assert c.stats()["last_seq"] == seq
    assert len(c.history(wf)["events"]) == 2

    # an error reply with a definite answer is stored too
    rid, body = encode_request("step.save", {
        "workflow_id": wf, "client_id": h.hoh, "step": "exit",
        "mode": "entered", "data": exit_form(destination=37)})
    first = c.request_raw(body)
    assert unpack(first)["error"]["code"] == "VALIDATION"
    assert c.request_raw(body) == first
    # ... and stays the stored answer even after the state changed
    rid, body = encode_request("member.decide", {
        "workflow_id": wf, "client_id": h.spouse, "exit": True,
        "expected_version": v})
    first = unpack(c.request_raw(body))
    assert first["ok"] is True
    c.decide(wf, h.child, False)
    assert unpack(c.request_raw(body)) == first
    rid, body = encode_request("member.decide", {
        "workflow_id": wf, "client_id": h.child, "exit": True,
        "expected_version": v})
    first = c.request_raw(body)
    assert unpack(first)["error"]["code"] == "CONFLICT"
    c.decide(wf, h.child, True)
    assert c.request_raw(body) == first


def test_same_id_in_one_batch(daemon):
    """Duplicates pipelined before the first one is committed."""
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    base = {"workflow_id": wf, "client_id": h.hoh, "mode": "default_last"}
    rid, body = encode_request("step.save", dict(base, step="universal_data"))
    _, other = encode_request("step.save", dict(base, step="disabilities"),
                              id=rid)
    s = dealer(daemon)
    try:
        for b in (body, body, other, body):
            s.send_multipart([b"", b])
        replies = []
        for _ in range(4):
            assert s.poll(5000)
            replies.append(s.recv_multipart()[-1])
    finally:
        s.close()
    assert replies[0] == replies[1] == replies[3]
    assert unpack(replies[0])["ok"] is True
    r = unpack(replies[2])
    assert r["error"]["code"] == "BAD_REQUEST" and r["error"]["field"] == "id"
    assert [e["type"] for e in c.history(wf)["events"]] == [
        "workflow.started", "step.completed", "step.completed"]


def test_same_id_different_request(daemon):
    """Within one scope (the workflow a command names, or none) an id names
    one request: reusing it for another is refused and changes nothing."""
    c = daemon.client()
    h = Household()
    wf = c.start(**h.args, id="req-1")["workflow_id"]
    c.save(wf, h.hoh, "exit", data=exit_form(), id="req-2")
    seq = c.stats()["last_seq"]
    other = Household()
    for cmd, args, rid in [
            ("workflow.start", other.args, "req-1"),
            ("workflow.cancel", {"workflow_id": wf, "reason": "x"}, "req-2")]:
        r = c.request(cmd, args, id=rid)
        assert r["ok"] is False and r["id"] == rid
        assert r["error"]["code"] == "BAD_REQUEST"
        assert r["error"]["field"] == "id"
    assert c.stats()["last_seq"] == seq
    assert c.get(wf)["state"] == "open"
    # still the stored replies for the original requests
    assert c.start(**h.args, id="req-1")["workflow_id"] == wf
    assert c.save(wf, h.hoh, "exit", data=exit_form(), id="req-2")[
        "version"] == 2


def test_ids_are_scoped_to_the_workflow_named(daemon):
    """The same id on two different workflows is two requests."""
    c = daemon.client()
    h1, h2 = Household(), Household()
    wf1 = c.start(**h1.args)["workflow_id"]
    wf2 = c.start(**h2.args)["workflow_id"]
    r1 = c.save(wf1, h1.hoh, "exit", data=exit_form(), id="same")
    r2 = c.save(wf2, h2.hoh, "exit", data=exit_form(), id="same")
    assert (r1["workflow_id"], r2["workflow_id"]) == (wf1, wf2)
    assert c.get(wf2)["version"] == 2


def test_read_commands_not_stored(daemon):
    c = daemon.client()
    c.ping(id="shared-id")
    c.stats(id="shared-id")
    c.ping(id="shared-id")
    h = Household()
    wf = c.start(**h.args, id="shared-id")["workflow_id"]
    assert c.get(wf, id="shared-id")["workflow_id"] == wf


def test_refusals_not_stored_are_reevaluated(daemon):
    """UNKNOWN_COMMAND / BAD_REQUEST are not stored: the id stays usable."""
    c = daemon.client()
    r = c.request("workflow.nope", {}, id="try-1")
    assert r["error"]["code"] == "UNKNOWN_COMMAND"
    r = c.request("workflow.cancel", {"workflow_id": 12, "reason": "x"},
                  id="try-2")
    assert r["error"]["code"] == "BAD_REQUEST"
    h = Household()
    assert c.start(**h.args, id="try-1")["state"] == "open"
    assert c.start(**Household().args, id="try-2")["state"] == "open"


def test_resend_after_lost_reply(daemon):
    """A request re-sent with its id after its reply was lost: applied once."""
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    rid, body = encode_request("step.save", {
        "workflow_id": wf, "client_id": h.hoh, "step": "exit",
        "mode": "entered", "data": exit_form()})
    s = dealer(daemon)
    s.send_multipart([b"", body])          # reply never read: "lost"
    first = recv_reply(s)
    s.close()
    again = unpack(c.request_raw(body, expect_id=rid))
    assert again == first
    complete_member(c, wf, h.hoh, steps=["universal_data"])
    evs = read_all_events(c)
    assert [e["type"] for e in evs] == ["workflow.started", "step.completed",
                                        "step.completed"]
