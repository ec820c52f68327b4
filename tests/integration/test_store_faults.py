"""Storage faults end in clear answers (issue 11, item 4), on a small tmpfs
of their own: a full filesystem at start-up exits with its reason and exit
code 10 (never SIGBUS), a read-only one with code 11; a disk that fills
while the daemon runs answers UNAVAILABLE, goes on serving reads, and takes
writes again once space returns, without a restart.

Mounting needs root; where mount fails the tests are skipped, saying so."""

import os
import signal
import subprocess
import uuid

import pytest

from exitflow import unpack
from support import (Household, exit_form, read_all_events,
                     write_until_refused)
from support.launcher import daemon_binary, free_port

EXIT_FULL, EXIT_READ_ONLY = 10, 11


@pytest.fixture
def tmpfs(tmp_path):
    """Mounts a tmpfs of the given size; unmounted at teardown."""
    mounted = []

    def mount(size):
        where = tmp_path / ("fs%d" % len(mounted))
        where.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                            "tmpfs", str(where)], capture_output=True,
                           text=True)
        if r.returncode != 0:
            pytest.skip("cannot mount a tmpfs here (%s): storage fault tests "
                        "need root" % r.stderr.strip())
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where, leave=0):
    """Takes every free block of the filesystem at ``where`` but ``leave``
    bytes."""
    path = where / "fill"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            chunk = b"\0" * size
            try:
                while os.write(fd, chunk) == size:
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    if leave:
        os.truncate(path, max(0, os.path.getsize(path) - leave))
    return path


def run_daemon(data_dir, timeout=10):
    """exitflowd on ``data_dir`` expected to exit at start-up."""
    r = subprocess.run([daemon_binary(), "--data", str(data_dir),
                        "--commands", "tcp://127.0.0.1:%d" % free_port(),
                        "--events", "tcp://127.0.0.1:%d" % free_port()],
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode != -signal.SIGBUS and r.returncode != 128 + 7
    return r


def error_lines(r):
    return [line for line in r.stderr.splitlines() if " error: " in line]


def test_full_filesystem_at_start_up(tmpfs):
    where = tmpfs("2m")
    fill(where)
    r = run_daemon(where / "data")
    assert r.returncode == EXIT_FULL, r.stderr
    lines = error_lines(r)
    assert len(lines) == 1 and "no space" in lines[0], r.stderr
    # an existing store on a filesystem that filled up meanwhile: the same
    os.unlink(where / "fill")
    made = run_daemon_briefly(where / "data2")
    fill(where)
    r = run_daemon(made)
    assert r.returncode == EXIT_FULL, r.stderr
    assert "no space" in r.stderr


def run_daemon_briefly(data_dir):
    """Starts exitflowd on ``data_dir``, writes one workflow, stops it."""
    from support.launcher import Daemon
    d = Daemon(data_dir.parent / ("run-" + uuid.uuid4().hex[:6]))
    d.data_dir = data_dir
    try:
        d.start()
        Household().start(d.client())
        d.stop()
    finally:
        d.close()
    return data_dir


def test_read_only_filesystem(tmpfs, tmp_path):
    where = tmpfs("4m")
    made = run_daemon_briefly(where / "data")
    (where / "empty").mkdir()
    r = subprocess.run(["mount", "-o", "remount,ro", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only: %s" % r.stderr)
    for data_dir in (made, where / "empty" / "data", where / "empty"):
        r = run_daemon(data_dir)
        assert r.returncode == EXIT_READ_ONLY, r.stderr
        lines = error_lines(r)
        assert len(lines) == 1, r.stderr
        assert "read-only" in lines[0].lower(), r.stderr
        assert "in use" not in lines[0], r.stderr


# With no byte left a write fails (ENOSPC); with a few, LMDB's write falls
# short, which it reports as EIO: both are a full disk.
@pytest.mark.parametrize("leave", [0, 20000])
def test_disk_fills_while_running(tmpfs, make_daemon, leave):
    where = tmpfs("8m")
    d = make_daemon(start=False)
    d.data_dir = where / "data"
    d.start()
    c = d.client(retries=0)
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    filler = fill(where, leave)
    failed = write_until_refused(c, wf, h.hoh)
    assert failed is not None, "the filled disk never refused a write"
    body, r = failed
    assert r["error"]["code"] == "UNAVAILABLE", r
    assert "storage is full" in d.log(), d.log_tail()
    assert "Input/output error" not in d.log(), d.log_tail()
    # reads are served
    view, events = c.get(wf), read_all_events(c)
    assert c.list(state="open")["workflows"][0]["workflow_id"] == wf
    assert c.history(wf)["events"][-1] == events[-1]
    # and the refused write is refused again while the disk is full
    r = unpack(c.request_raw(body))
    assert r["ok"] is False and r["error"]["code"] == "UNAVAILABLE", r
    assert c.get(wf) == view
    # space returns: the same request goes through, no restart
    os.unlink(filler)
    r = unpack(c.request_raw(body))
    assert r["ok"] is True, r
    assert c.get(wf)["version"] == view["version"] + 1
    assert read_all_events(c)[:len(events)] == events
    assert d.running()
    d.stop()
