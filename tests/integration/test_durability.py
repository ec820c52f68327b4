"""Restart (SIGTERM) and kill -9 under pipelined writes: every acknowledged
write survives, each request is applied at most once, seqs stay gapless;
a full store answers UNAVAILABLE and keeps serving reads."""

import threading
import time

import pytest
import zmq

from exitflow import Client, Unreachable, encode_request, unpack
from support import (Household, assessment, exit_form, read_all_events,
                     write_until_refused)

SOCKETS = 4
WORKFLOWS_PER_SOCKET = 2
SAVES_PER_WORKFLOW = 250


def saved(k, wf):
    """The k-th universal_data a pipelined socket saves for ``wf``."""
    return dict(assessment("universal_data", k), local_wf=wf)


def check_log(c):
    evs = read_all_events(c)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert c.stats()["last_seq"] == len(evs)
    return evs


def test_restart_keeps_everything(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    rid, body = encode_request("step.save", {
        "workflow_id": wf, "client_id": h.hoh, "step": "exit",
        "mode": "entered", "data": exit_form()})
    first = c.request_raw(body)
    c.consumer_ack("exporter", 2)
    c.dq_report(wf, "dq", [{"rule": "r", "severity": "warning",
                            "message": "m"}])
    view, evs = c.get(wf), check_log(c)
    listing = c.list(state="open")
    consumers = c.consumer_list()["consumers"]
    daemon.restart()
    c2 = daemon.client()
    assert c2.get(wf) == view
    assert check_log(c2) == evs
    assert c2.list(state="open") == listing
    assert c2.consumer_list()["consumers"] == consumers == [
        {"consumer": "exporter", "seq": 2, "lag": len(evs) - 2,
         "acked_at": consumers[0]["acked_at"]}]
    # the idempotency store survives too
    assert c2.request_raw(body) == first
    assert c2.stats()["workflows"] == {"open": 1, "finished": 0,
                                       "cancelled": 0}
    # and writing goes on with the next seq and version
    r = c2.save(wf, h.hoh, "universal_data", mode="default_last")
    assert r["version"] == view["version"] + 1
    assert check_log(c2)[-1]["seq"] == len(evs) + 1


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_pipelined_writes_survive(daemon, how):
    c = daemon.client()
    owned = []                    # per socket: [(wf, household), ...]
    for _ in range(SOCKETS):
        mine = []
        for _ in range(WORKFLOWS_PER_SOCKET):
            h = Household()
            wf = h.start(c)
            c.save(wf, h.hoh, "exit", data=exit_form())
            mine.append((wf, h))
        owned.append(mine)

    socks = [daemon.socket(zmq.DEALER,
                           options={zmq.SNDHWM: 0, zmq.RCVHWM: 0})
             for _ in range(SOCKETS)]

    requests = {}                 # id -> (body, wf, n)
    for k in range(SAVES_PER_WORKFLOW):
        for s, mine in zip(socks, owned):
            for wf, h in mine:
                args = {"workflow_id": wf, "client_id": h.hoh,
                        "step": "universal_data", "mode": "entered",
                        "data": saved(k, wf)}
                rid, body = encode_request("step.save", args, actor="pipe")
                requests[rid] = (body, wf, k)
                s.send_multipart([b"", body])
    total = len(requests)

    acked = {}                    # id -> result
    poller = zmq.Poller()
    for s in socks:
        poller.register(s, zmq.POLLIN)
    stopped_at = None
    deadline = time.monotonic() + 60
    while len(acked) < total and time.monotonic() < deadline:
        ready = dict(poller.poll(100))
        for s in ready:
            while s.poll(0):
                r = unpack(s.recv_multipart()[-1])
                assert r["ok"] is True, r
                assert r["id"] not in acked
                acked[r["id"]] = r["result"]
        if stopped_at is None and len(acked) >= total // 10:
            if how == "sigterm":
                daemon.stop()             # must exit 0
            else:
                daemon.kill9()
            stopped_at = time.monotonic()
        elif stopped_at is not None and not ready and \
                time.monotonic() - stopped_at > 1.0:
            break
    assert stopped_at is not None, "daemon answered too few requests"
    print("%s: %d of %d requests acknowledged before the stop"
          % (how, len(acked), total))
    for s in socks:
        s.close(linger=0)

    daemon.start()
    c = daemon.client()
    evs = check_log(c)

    def verify():
        for wf, h in (p for mine in owned for p in mine):
            hist = c.history(wf)["events"]
            versions = [e["data"]["version"] for e in hist
                        if e["type"] == "step.completed"]
            assert versions == sorted(set(versions)), "duplicate versions"
            assert c.get(wf)["version"] == versions[-1]
            by_version = {e["data"]["version"]: e for e in hist
                          if e["type"] == "step.completed"}
            for rid, res in acked.items():
                body, rwf, k = requests[rid]
                if rwf != wf:
                    continue
                ev = by_version.get(res["version"])
                assert ev is not None, "acknowledged write lost"
                assert ev["data"]["data"] == saved(k, wf)

    verify()
    seen_seqs = [e["seq"] for e in evs]
    assert len(seen_seqs) == len(set(seen_seqs))

    # Re-send every request that got no reply, with its id: each one is
    # then applied exactly once, whether or not it was committed before.
    for rid, (body, wf, k) in requests.items():
        if rid not in acked:
            r = unpack(c.request_raw(body, expect_id=rid))
            assert r["ok"] is True, r
            acked[rid] = r["result"]
    verify()
    evs = check_log(c)
    saves = [e for e in evs if e["type"] == "step.completed"
             and e["data"]["step"] == "universal_data"]
    assert len(saves) == total
    assert sorted((e["workflow_id"], e["data"]["data"]["local_n"])
                  for e in saves) == sorted((wf, k) for _, wf, k in
                                            requests.values())
    # every acknowledged version is distinct per workflow
    pairs = [(requests[rid][1], res["version"]) for rid, res in acked.items()]
    assert len(pairs) == len(set(pairs))


def test_storage_full_is_unavailable(make_daemon):
    d = make_daemon(extra_args=["--map-size", "1048576"])
    c = d.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    failed = write_until_refused(c, wf, h.hoh)
    assert failed is not None, "1 MiB store never filled"
    body, r = failed
    assert r["error"]["code"] == "UNAVAILABLE", r
    view = c.get(wf)
    seq = c.stats()["last_seq"]
    # reads are still served
    assert c.ping()["pong"] is True
    check_log(c)
    assert c.list(state="open")["workflows"][0]["workflow_id"] == wf
    # the refused write changed nothing and is evaluated anew on retry
    r = unpack(c.request_raw(body))
    assert r["ok"] is False and r["error"]["code"] == "UNAVAILABLE", r
    assert c.get(wf) == view and c.stats()["last_seq"] == seq
    # a restart does not lose anything either
    d.restart()
    c = d.client()
    assert c.get(wf) == view
    assert c.stats()["last_seq"] == seq


def test_client_unreachable_and_retry_across_restart(daemon):
    """The Client raises Unreachable when nobody answers, and re-sends the
    same request (same id) until a restarted daemon answers it once."""
    daemon.kill9()
    c = Client(daemon.commands, timeout=0.2, retries=1,
               **daemon.client_keys())
    try:
        with pytest.raises(Unreachable):
            c.ping()
    finally:
        c.close()
    h = Household()
    restarter = threading.Timer(0.7, daemon.start)
    restarter.start()
    c = Client(daemon.commands, timeout=0.3, retries=20,
               **daemon.client_keys())
    try:
        wf = h.start(c)
    finally:
        restarter.join()
        c.close()
    c = daemon.client()
    assert c.get(wf)["household_id"] == h.household_id
    evs = check_log(c)
    assert [e["type"] for e in evs] == ["workflow.started"]
