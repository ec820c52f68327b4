"""Damage is detected, never served (issue 11, item 5).

A store of a few hundred workflows is damaged at random, one copy per
trial: random bytes, a flipped bit, a page of random bytes, a zeroed page.
For each trial `exitflowd --verify` runs, then a daemon that reads
everything (workflow.get and workflow.history of every workflow,
workflow.list of every state, events.read, consumer.list, stats). Each
trial must be either detected (verify reports the damage and the daemon
refuses the store with exit 12 and its reason, or a read answers INTERNAL)
or provably unaffected (every read returns exactly what it returned before
the damage); never a crashed daemon, never bytes a client cannot decode.

A second test damages a record under a running daemon: the read answers
INTERNAL, the log names the key, and the daemon goes on serving."""

import os
import random
import shutil
import subprocess

import pytest

from support import Household, complete_member, exit_form
from support.launcher import Daemon, daemon_binary

TRIALS = int(os.environ.get("EXITFLOW_DAMAGE_TRIALS", "48"))
WORKFLOWS = 300
EXIT_DAMAGED = 12
PAGE = os.sysconf("SC_PAGESIZE")
SEED = int(os.environ.get("EXITFLOW_DAMAGE_SEED", "20261129"))


def build(c):
    """Workflows in every state, with DQ findings and a consumer offset."""
    wfs = []
    for i in range(WORKFLOWS):
        h = Household()
        wf = h.start(c)
        c.save(wf, h.hoh, "exit", data=exit_form())
        if i % 4 == 1:
            c.dq_report(wf, "dq", [{"rule": "r%d" % i, "severity": "warning",
                                    "client_id": h.hoh, "message": "m"}])
        if i % 10 == 2:
            complete_member(c, wf, h.hoh, default_last=("disabilities",))
            c.decide(wf, h.spouse, False)
            c.decide(wf, h.child, False)
            c.finish(wf, new_head_of_household=h.spouse)
        elif i % 7 == 3:
            c.cancel(wf, "entered in error")
        wfs.append(wf)
    c.consumer_ack("exporter", 25)
    return wfs


def read_everything(c, wfs):
    """Every read, keyed; each value the whole reply (an error included)."""
    out = {}
    for wf in wfs:
        out["get", wf] = c.request("workflow.get", {"workflow_id": wf})
        out["history", wf] = c.request("workflow.history",
                                       {"workflow_id": wf})
    for state in ("open", "finished", "cancelled"):
        after, page = None, 0
        while True:
            args = {"state": state, "limit": 50}
            if after is not None:
                args["after"] = after
            r = out["list", state, page] = c.request("workflow.list", args)
            if not r.get("ok") or r["result"]["next"] is None:
                break
            after, page = r["result"]["next"], page + 1
    after = 0
    while True:
        r = out["events", after] = c.request("events.read",
                                            {"after": after, "limit": 500})
        if not r.get("ok") or not r["result"]["events"]:
            break
        after = r["result"]["events"][-1]["seq"]
    out["consumers"] = c.request("consumer.list")
    stats = c.request("stats")
    if stats.get("ok"):         # the process's, not the store's
        stats["result"].pop("uptime_s", None)
        stats["result"].pop("requests", None)
    out["stats"] = stats
    for r in out.values():      # replies differ in their ids only
        r.pop("id", None)
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A store of WORKFLOWS workflows and everything read from it."""
    base = tmp_path_factory.mktemp("pristine")
    d = Daemon(base)
    try:
        d.start()
        wfs = build(d.client())
        d.stop()
        d.start()       # read from a reopened store, as the trials will
        reads = read_everything(d.client(), wfs)
        d.stop()
    finally:
        d.close()
    assert all(r.get("ok") for r in reads.values())
    return d.data_dir, wfs, reads


def damage(path, rng):
    """One kind of damage at a random place of the file; says what."""
    size = os.path.getsize(path)
    pages = size // PAGE
    kind = rng.choice(["bytes", "bit", "random page", "zero page"])
    with open(path, "r+b") as f:
        if kind in ("random page", "zero page"):
            pg = rng.randrange(pages)
            f.seek(pg * PAGE)
            f.write(rng.randbytes(PAGE) if kind == "random page"
                    else bytes(PAGE))
            return "%s %d of %d" % (kind, pg, pages)
        if kind == "bit":
            at = rng.randrange(size)
            f.seek(at)
            byte = f.read(1)[0] ^ (1 << rng.randrange(8))
            f.seek(at)
            f.write(bytes([byte]))
            return "bit at %d (page %d)" % (at, at // PAGE)
        where = sorted(rng.randrange(size) for _ in range(rng.randint(1, 8)))
        for at in where:
            f.seek(at)
            f.write(rng.randbytes(1))
        return "bytes at %s" % ", ".join("%d" % a for a in where)


def verify(data_dir):
    r = subprocess.run([daemon_binary(), "--verify", str(data_dir)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, EXIT_DAMAGED), \
        "verify exited %s:\n%s%s" % (r.returncode, r.stdout, r.stderr)
    return r.returncode == EXIT_DAMAGED, r.stdout


def serve_and_read(trial_dir, data_dir, wfs, expected):
    """A daemon on the damaged store: 'refused', or the reads that differ
    (each an INTERNAL error, or the test fails)."""
    d = Daemon(trial_dir)
    d.data_dir = data_dir
    try:
        d.start()
    except RuntimeError:
        assert d.proc.returncode == EXIT_DAMAGED, d.log_tail()
        assert "is damaged" in d.log() and "--verify" in d.log()
        return "refused"
    try:
        got = read_everything(d.client(), wfs)
        differ = [k for k in expected if got.get(k) != expected[k]]
        for k in differ:
            r = got.get(k)
            assert r is not None and not r["ok"] \
                and r["error"]["code"] == "INTERNAL", \
                "damaged data served for %s: %r" % (k, r)
        assert d.running(), "the daemon died:\n" + d.log_tail()
        d.stop()
        return differ
    finally:
        d.close()


def test_random_damage_is_detected_or_harmless(pristine, tmp_path):
    source, wfs, expected = pristine
    rng = random.Random(SEED)
    tally = {"detected": 0, "unaffected": 0}
    for trial in range(TRIALS):
        trial_dir = tmp_path / ("t%02d" % trial)
        data_dir = trial_dir / "data"
        shutil.copytree(source, data_dir,
                        ignore=shutil.ignore_patterns("lock.mdb",
                                                      "exitflowd.lock"))
        what = damage(data_dir / "data.mdb", rng)
        found, report = verify(data_dir)
        outcome = serve_and_read(trial_dir, data_dir, wfs, expected)
        # the daemon runs the same check before it serves a store
        assert found == (outcome == "refused"), (what, report, outcome)
        if found or outcome:
            tally["detected"] += 1
        else:
            tally["unaffected"] += 1
        print("trial %2d: %-44s %s" % (trial, what,
                                       "detected" if found or outcome
                                       else "unaffected"))
        shutil.rmtree(trial_dir)
    print("damage: %d detected / %d unaffected / %d trials (seed %d)"
          % (tally["detected"], tally["unaffected"], TRIALS, SEED))
    assert tally["detected"] + tally["unaffected"] == TRIALS
    assert tally["detected"] > 0


def test_damage_under_a_running_daemon_is_internal(tmp_path):
    d = Daemon(tmp_path / "live")
    try:
        damage_under(d)
    finally:
        d.close()


def damage_under(d):
    d.start()
    c = d.client()
    hurt, whole = Household(), Household()
    wf, other = hurt.start(c), whole.start(c)
    view = c.get(other)
    # flip a byte of the record's value in every copy of it in the file
    key = b"W" + wf.encode() + b"w"
    path = d.data_dir / "data.mdb"
    data = bytearray(path.read_bytes())
    at, copies = data.find(key), 0
    with open(path, "r+b") as f:
        while at >= 0:
            f.seek(at + len(key) + 6)
            f.write(bytes([data[at + len(key) + 6] ^ 0x20]))
            copies += 1
            at = data.find(key, at + 1)
    assert copies
    r = c.request("workflow.get", {"workflow_id": wf})
    assert r["ok"] is False and r["error"]["code"] == "INTERNAL", r
    assert "W%sw" % wf in d.log() and "seal" in d.log(), d.log_tail()
    # everything else is served, writes included
    assert c.get(other) == view
    c.save(other, whole.hoh, "exit", data=exit_form())
    r = c.request("workflow.history", {"workflow_id": wf})
    assert r["ok"] is False and r["error"]["code"] == "INTERNAL", r
    assert d.running()
    d.stop()
    # and a restart refuses the store, naming the key
    with pytest.raises(RuntimeError):
        d.start()
    assert d.proc.returncode == EXIT_DAMAGED
    assert "W%sw" % wf in d.log()
