"""Online backup (issue 12, item 3): store.backup writes a compacted,
consistent copy of the store while the daemon serves, into a directory
only the daemon's user can read; restore is starting exitflowd on the copy.

A backup taken under load holds every workflow acknowledged before it
began, its event log is gapless up to the last seq it reports, and that
log is the live daemon's, event for event. Only admin may take one."""

import json
import os
import stat
import subprocess
import threading

from exitflow import Client
from support import (Household, error_of, exit_form, read_all_events)
from support.launcher import cli_binary, daemon_binary


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Writer(threading.Thread):
    """Starts households and saves their exit form, one after another,
    until stopped; ``acked`` holds the workflows whose two writes were
    answered ok, in order."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.client = Client(daemon.commands, timeout=10,
                             **daemon.client_keys())
        self.stop = threading.Event()
        self.acked = []
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                h = Household()
                wf = h.start(self.client)
                self.client.save(wf, h.hoh, "exit", data=exit_form())
                self.acked.append(wf)
        except Exception as e:          # reported by the test
            self.error = e
        finally:
            self.client.close()


def test_backup_under_load_restores(make_daemon, tmp_path):
    was = os.umask(0)                   # the daemon's: the files are private
    try:                                # whatever it is
        d = make_daemon()
    finally:
        os.umask(was)
    c = d.client(timeout=60)
    first = [Household().start(c) for _ in range(50)]
    writer = Writer(d)
    writer.start()
    try:
        while len(writer.acked) < 20 and writer.is_alive():
            pass
        # everything acknowledged so far: the backup begins after it
        acked_before = first + list(writer.acked)
        target = tmp_path / "backups" / "b1"
        (tmp_path / "backups").mkdir()
        res = c.backup(target, wait=60)
        during = len(writer.acked)
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert len(writer.acked) > 20
    assert res["dir"] == str(target)
    copy = target / "data.mdb"
    assert res["bytes"] == os.path.getsize(copy) > 0
    assert sorted(os.listdir(target)) == ["data.mdb"]
    assert mode(target) == 0o700
    assert mode(copy) == 0o600
    assert "backup done: %s" % target in d.log()

    # the live daemon went on: it has all the writer's workflows and more
    # events than the copy holds up to now
    live_events = read_all_events(c)
    assert live_events[-1]["seq"] >= res["last_seq"]
    assert during <= len(writer.acked)

    # the copy checks clean, and a daemon serves it
    v = subprocess.run([daemon_binary(), "--verify", str(target)],
                       capture_output=True, text=True, timeout=60)
    assert v.returncode == 0, v.stdout + v.stderr
    restored = make_daemon(start=False)
    restored.data_dir = target
    restored.start()
    rc = restored.client()
    for wf in acked_before:
        assert rc.get(wf)["workflow_id"] == wf
    evs = read_all_events(rc)
    assert [e["seq"] for e in evs] == list(range(1, res["last_seq"] + 1))
    assert rc.stats()["last_seq"] == res["last_seq"]
    # the copy's log is the live one's, event for event
    assert evs == live_events[:res["last_seq"]]
    # and the restored daemon takes writes
    h = Household()
    wf = h.start(rc)
    assert rc.get(wf)["household_id"] == h.household_id


def test_only_admin_backs_up(make_daemon, tmp_path):
    d = make_daemon()
    for role in ("frontend", "worker", "ops"):
        c = d.client(role=role)
        e = error_of(c.backup, tmp_path / role)
        assert e.code == "FORBIDDEN", (role, e)
        assert not (tmp_path / role).exists()
    res = d.client().backup(tmp_path / "admin")
    assert res["dir"] == str(tmp_path / "admin")


def test_refusals(make_daemon, tmp_path):
    d = make_daemon()
    c = d.client()
    Household().start(c)
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    e = error_of(c.backup, full)
    assert e.code == "VALIDATION" and e.field == "dir", e
    assert "not empty" in e.message
    assert sorted(os.listdir(full)) == ["something"]
    e = error_of(c.backup, tmp_path / "no" / "such" / "parent")
    assert e.code == "VALIDATION" and e.field == "dir", e
    e = error_of(c.call, "store.backup", {})
    assert e.code == "BAD_REQUEST" and e.field == "dir", e
    # an empty directory is used, and made private
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    res = c.backup(empty)
    assert res["last_seq"] == 1
    assert mode(empty) == 0o700 and mode(empty / "data.mdb") == 0o600


def test_cli_backup(make_daemon, tmp_path):
    d = make_daemon()
    Household().start(d.client())
    env = dict(os.environ, EXITFLOW_ENDPOINT=d.commands, **d.cli_env())
    target = tmp_path / "cli"
    r = subprocess.run([cli_binary(), "backup", str(target)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert str(target) in r.stdout
    assert "last seq  1" in r.stdout
    assert "%d bytes" % os.path.getsize(target / "data.mdb") in r.stdout
    r = subprocess.run([cli_binary(), "backup", str(target), "--json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "not empty" in r.stderr + r.stdout
    again = tmp_path / "cli2"
    r = subprocess.run([cli_binary(), "backup", str(again), "--json"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(r.stdout)
    assert res == {"dir": str(again), "last_seq": 1,
                   "bytes": os.path.getsize(again / "data.mdb")}
    r = subprocess.run([cli_binary(), "backup", str(tmp_path / "ops")],
                       env=dict(env, **d.cli_env("ops")),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "FORBIDDEN" in r.stderr, r.stderr


def test_cli_backup_unreachable_is_told_at_once(tmp_path):
    """A daemon that does not answer: exit 3 within the usual timeout,
    not after --wait."""
    env = dict(os.environ, EXITFLOW_ENDPOINT="tcp://127.0.0.1:9",
               EXITFLOW_TIMEOUT_MS="200", EXITFLOW_RETRIES="0")
    r = subprocess.run([cli_binary(), "backup", str(tmp_path / "x")], env=env,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 3, r.stdout + r.stderr
