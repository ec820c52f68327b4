"""A store that grows (issue 12, item 2): with a small --map-size and a
larger --max-map-size the daemon takes writes past the first map (it
doubles the map between batches and runs the batch again), then at the
maximum refuses writes with UNAVAILABLE while reads and events.read go on,
and after a restart with a larger maximum takes writes again. Every
acknowledged write is there at the end, and nothing that was refused."""

import subprocess

import zmq

from exitflow import encode_request, unpack
from support import Household, exit_form, read_all_events, universal

MIB = 1 << 20


def growing(make_daemon, map_size, max_map_size):
    return make_daemon(extra_args=["--map-size", str(map_size),
                                   "--max-map-size", str(max_map_size)])


def save_big(client, wf, cid, i):
    """A 60 KB universal_data save tagged local_i=i; the reply map."""
    _, body = encode_request("step.save", {
        "workflow_id": wf, "client_id": cid, "step": "universal_data",
        "mode": "entered",
        "data": dict(universal(local_notes="x" * 60000), local_i=i)})
    return unpack(client.request_raw(body))


def saved_tags(client):
    """The local_i of every universal_data save in the log, in order."""
    return [e["data"]["data"]["local_i"] for e in read_all_events(client)
            if e["type"] == "step.completed"
            and e["data"]["step"] == "universal_data"]


def test_map_grows_to_its_maximum_and_on_after_a_restart(make_daemon):
    d = growing(make_daemon, MIB, 4 * MIB)
    c = d.client()
    store = c.stats()["store"]
    assert store["map_size"] == MIB and store["max_map_size"] == 4 * MIB
    assert store["full"] is False
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())

    acked, refused = [], None
    for i in range(200):
        r = save_big(c, wf, h.hoh, i)
        if not r["ok"]:
            refused = (i, r)
            break
        acked.append(i)
    assert refused is not None, "a 4 MiB store never filled"
    i, r = refused
    assert r["error"]["code"] == "UNAVAILABLE", r
    # past the first map: it grew, and says so
    assert len(acked) * 60000 > MIB
    store = c.stats()["store"]
    assert store["map_size"] == 4 * MIB, store
    assert (d.data_dir / "data.mdb").stat().st_size > MIB
    assert store["full"] is True
    assert "the store's map grew from 1048576 to 2097152" in d.log()
    assert "grew from 2097152 to 4194304" in d.log()
    assert "full at its maximum" in d.log()

    # reads go on: get, list, events.read, stats, ping
    view = c.get(wf)
    assert c.list(state="open")["workflows"][0]["workflow_id"] == wf
    assert c.ping()["pong"] is True
    evs = read_all_events(c)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert saved_tags(c) == acked
    # the refused write changed nothing, and is refused again
    assert save_big(c, wf, h.hoh, i)["error"]["code"] == "UNAVAILABLE"
    assert c.get(wf) == view
    # a write refused before it writes anything commits nothing: the store
    # is still full (stats and /health must not say there is room again)
    _, body = encode_request("workflow.cancel", {
        "workflow_id": "01NOSUCHWORKFLOW0000000000", "reason": "x"})
    assert unpack(c.request_raw(body))["ok"] is False
    assert c.stats()["store"]["full"] is True

    # a restart with the same maximum: still full, still read
    d.restart()
    c = d.client()
    assert c.get(wf) == view
    assert save_big(c, wf, h.hoh, i)["error"]["code"] == "UNAVAILABLE"

    # a restart with a larger maximum: writes go through again
    d.extra_args = ["--map-size", str(MIB), "--max-map-size", str(16 * MIB)]
    d.restart()
    c = d.client()
    assert c.get(wf) == view
    for j in range(i, i + 5):
        r = save_big(c, wf, h.hoh, j)
        assert r["ok"] is True, r
        acked.append(j)
    store = c.stats()["store"]
    assert store["max_map_size"] == 16 * MIB and store["full"] is False
    # everything acknowledged is there, once, in order, and nothing else
    assert saved_tags(c) == acked
    evs = read_all_events(c)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert c.stats()["last_seq"] == len(evs)


def test_a_batch_that_meets_the_end_is_run_again_whole(make_daemon):
    """Pipelined writes land in one batch; the one that meets the end of the
    map aborts the batch, which runs again in the larger map: every write
    of it is answered ok, and its events are all there, gapless."""
    d = growing(make_daemon, MIB, 64 * MIB)
    c = d.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    before = c.stats()["requests"]
    sock = d.socket(zmq.DEALER)
    try:
        ids = []
        for i in range(40):
            rid, body = encode_request("step.save", {
                "workflow_id": wf, "client_id": h.hoh,
                "step": "universal_data", "mode": "entered",
                "data": dict(universal(local_notes="y" * 60000),
                             local_i=i)})
            ids.append(rid)
            sock.send_multipart([b"", body])
        replies = {}
        while len(replies) < len(ids):
            assert sock.poll(20000), "replies missing: %d of %d" % (
                len(replies), len(ids))
            r = unpack(sock.recv_multipart()[-1])
            replies[r["id"]] = r
    finally:
        sock.close()
    assert all(replies[rid]["ok"] for rid in ids), [
        replies[rid] for rid in ids if not replies[rid]["ok"]][:1]
    assert "grew" in d.log()
    # stats counts each request once, however often its batch ran: the
    # stats above, the 40 saves, and nothing else came in between
    assert c.stats()["requests"] == before + 41
    assert saved_tags(c) == list(range(40))
    assert c.stats()["store"]["map_size"] > MIB


def test_max_map_size_below_map_size_is_refused(make_daemon):
    d = make_daemon(extra_args=["--map-size", str(4 * MIB),
                                "--max-map-size", str(MIB)], start=False)
    r = subprocess.run(d.argv(), capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "--max-map-size" in r.stderr and "at least" in r.stderr


def test_config_key(make_daemon, tmp_path):
    cfg = tmp_path / "exitflow.cfg"
    cfg.write_text("exitflowd\n    map-size = %d\n    max-map-size = %d\n"
                   % (MIB, 2 * MIB))
    d = make_daemon(extra_args=["--config", str(cfg)])
    store = d.client().stats()["store"]
    assert store["map_size"] == MIB and store["max_map_size"] == 2 * MIB
    assert store["schema"] == 3
