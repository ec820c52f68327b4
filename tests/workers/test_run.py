"""workers/run.sh (what `make run` starts): the daemon with both workers
beside it; their lag shows in consumer.list and in `bin/exitflow consumers`;
SIGTERM stops all three cleanly.  CURVE is on: the first run makes
./var/keys, later runs keep it, and the workers and the CLI run from that
directory find their certificates there by the default rule."""

import os
import signal
import stat
import subprocess
import time
import urllib.request

import pytest

from exitflow import Client, Unreachable
from support import REPO, Household, cli_binary, day, free_port, wait_for
from worker_support import caught_up, exit_household, lag_of, read_jsonl

ROLES = ("admin", "frontend", "worker", "ops")


def run_sh(tmp_path, *daemon_args):
    """workers/run.sh started in ``tmp_path``; (process, commands, log)."""
    commands = "tcp://127.0.0.1:%d" % free_port()
    events = "tcp://127.0.0.1:%d" % free_port()
    # /metrics and /health on a free port rather than make run's 5572
    env = dict(os.environ, BIN=str(REPO / "bin"), EXITFLOW_COMMANDS=commands,
               EXITFLOW_EVENTS=events,
               EXITFLOW_HTTP="127.0.0.1:%d" % free_port())
    for name in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY", "EXITFLOW_CONFIG"):
        env.pop(name, None)
    if os.environ.get("EXITFLOWD"):
        env["BIN"] = os.path.dirname(os.environ["EXITFLOWD"])
    log = open(tmp_path / "run.log", "ab")
    proc = subprocess.Popen([str(REPO / "workers" / "run.sh"), "--data",
                             str(tmp_path / "data")] + list(daemon_args),
                            cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return proc, commands, env


def cli(env, cwd, *args):
    """bin/exitflow run in ``cwd`` with no key in its environment."""
    return subprocess.run([cli_binary()] + list(args),
                          cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=30)


def test_run_sh_starts_daemon_and_workers(tmp_path):
    proc, commands, env = run_sh(tmp_path)
    keys = tmp_path / "var" / "keys"
    c = None
    try:
        wait_for(lambda: (keys / "certs" / "ops").exists(), timeout=20,
                 what="the keys")
        c = Client(commands, timeout=0.5, retries=10,
                   cert=str(keys / "admin_secret"),
                   server_key=str(keys / "server"))
        wait_for(lambda: lag_of(c, "dq") is not None
                 and lag_of(c, "notify") is not None, timeout=20,
                 what="both workers in consumer.list")
        # the daemon serves /health where EXITFLOW_HTTP says
        health = urllib.request.urlopen(
            "http://%s/health" % env["EXITFLOW_HTTP"], timeout=10)
        assert health.status == 200
        wf = exit_household(c, Household(), {"exit_date": day(-1),
                                             "destination": 8})
        caught_up(c, "dq")
        caught_up(c, "notify")
        notes = tmp_path / "var" / "notifications.jsonl"
        wait_for(lambda: [n for n in read_jsonl(notes)
                          if n["workflow_id"] == wf], what="a notification")
        assert (tmp_path / "var" / "notify-notify.state").exists()
        # the CLI run from there is admin by ./var/keys
        out = cli(env, tmp_path, "--endpoint", commands, "consumers")
        assert out.returncode == 0, out.stderr
        rows = {line.split()[0]: line.split()[1:]
                for line in out.stdout.splitlines() if line.strip()}
        assert rows["dq"][1] == "0" and rows["notify"][1] == "0"
        # and the workers were the worker certificate
        events = c.events_read(0, limit=1000)["events"]
        assert "worker" in {e["principal"] for e in events
                            if e["type"] == "dq.reported"}
        # the same CLI from elsewhere has no key, and is not answered
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        out = cli(dict(env, EXITFLOW_TIMEOUT_MS="300", EXITFLOW_RETRIES="0"),
                  elsewhere, "--endpoint", commands, "ping")
        assert out.returncode == 3, out.stdout + out.stderr
        keyless = Client(commands, timeout=0.5, retries=0, cert=False,
                         server_key=False)
        with pytest.raises(Unreachable):
            keyless.ping()
        keyless.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            if c is not None:
                c.close()
    text = (tmp_path / "run.log").read_text(errors="replace")
    assert rc == 0, text
    assert "consumer dq stops" in text and "consumer notify stops" in text
    # nothing left behind
    time.sleep(0.2)
    assert subprocess.run(["pgrep", "-s", str(proc.pid)],
                          capture_output=True).stdout == b""


def test_run_sh_makes_keys_once(tmp_path):
    """The first run makes a server key and a certificate per role, the
    public halves of the four in certs/; the next run keeps them all, and
    a certificate revoked in between stays revoked."""
    keys = tmp_path / "var" / "keys"
    # a daemon flag it refuses: the keys are made, then the run ends
    proc, _, _ = run_sh(tmp_path, "--no-such-flag")
    assert proc.wait(30) == 2
    names = ["server"] + list(ROLES)
    assert sorted(p.name for p in keys.iterdir()) == sorted(
        ["certs"] + names + [n + "_secret" for n in names])
    assert sorted(p.name for p in (keys / "certs").iterdir()) == \
        sorted(ROLES)
    for n in names:
        assert stat.S_IMODE((keys / (n + "_secret")).stat().st_mode) == 0o600
        text = (keys / n).read_text()
        assert 'name = "%s"' % n in text
        if n != "server":
            assert 'role = "%s"' % n in text
            assert (keys / "certs" / n).read_text() == text
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    before = {p.name: p.read_bytes() for p in keys.iterdir() if p.is_file()}
    assert "made keys" in (tmp_path / "run.log").read_text()

    (keys / "certs" / "ops").unlink()              # revoked
    (tmp_path / "run.log").unlink()
    proc, _, _ = run_sh(tmp_path, "--no-such-flag")
    assert proc.wait(30) == 2
    after = {p.name: p.read_bytes() for p in keys.iterdir() if p.is_file()}
    assert after == before
    assert not (keys / "certs" / "ops").exists()
    assert "made keys" not in (tmp_path / "run.log").read_text()
