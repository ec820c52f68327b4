"""Set-up mistakes stop a worker with the reason, and a stop is prompt
(issue 11, item 7), for exitflow-dq and exitflow-notify alike: an unusable
--config file is exit 2 with one line naming the file and why, never a run
on defaults; an endpoint that is not tcp://HOST:PORT (port 1 to 65535),
ipc:// or inproc:// is exit 2 before anything connects; and SIGTERM ends
the worker (status 0) within a second whatever the daemon is doing --
nobody listening, or a daemon stopped with SIGSTOP mid-stream."""

import os
import signal
import subprocess
import time

import pytest

from support import Worker, binary, free_port, wait_for
from support.setup_errors import BAD_ENDPOINTS, UNUSABLE_CONFIGS, \
    unusable_config
from worker_support import lag_of

PROGRAMS = {"exitflow-dq": "EXITFLOW_DQ", "exitflow-notify": "EXITFLOW_NOTIFY"}
SECTION = {"exitflow-dq": "dq", "exitflow-notify": "notify"}


def program(name):
    return binary(name, PROGRAMS[name])


def run_worker(name, tmp_path, *args):
    """The worker run to its end in ``tmp_path`` (no keys anywhere)."""
    env = dict(os.environ)
    for var in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY"):
        env.pop(var, None)
    return subprocess.run([program(name)] + list(args), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL)


def nowhere():
    """--commands and --events at ports nobody listens on."""
    return ["--commands", "tcp://127.0.0.1:%d" % free_port(),
            "--events", "tcp://127.0.0.1:%d" % free_port()]


# -- the config file -------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("what", UNUSABLE_CONFIGS)
def test_an_unusable_config_stops_the_worker(tmp_path, name, what):
    path, reason = unusable_config(tmp_path, what, SECTION[name], "nmae")
    t0 = time.monotonic()
    r = run_worker(name, tmp_path, "--config", str(path), *nowhere())
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert time.monotonic() - t0 < 5          # refused, not run on defaults
    assert r.stderr.splitlines() == [r.stderr.rstrip("\n")], r.stderr
    assert r.stderr.startswith("%s: cannot use config %s: " % (name, path))
    assert reason in r.stderr


def test_each_worker_judges_only_its_own_section(tmp_path):
    """The daemon's file holds both workers' sections: dq does not know
    `sink` and need not; a key the daemon does not know is its to refuse."""
    cfg = tmp_path / "exitflow.cfg"
    cfg.write_text("exitflowd\n    commands = tcp://127.0.0.1:1\n"
                   "    some-daemon-key = 1\n"
                   "dq\n    timeliness-days = 3\n"
                   "notify\n    sink = file:x.jsonl\n")
    for name in sorted(PROGRAMS):
        w = Worker([program(name), "--config", str(cfg)] + nowhere(),
                   tmp_path / ("%s.log" % name), tmp_path).start()
        try:
            wait_for(lambda: "starting" in w.log(), what="%s to start" % name)
        finally:
            w.stop()


# -- the CoC's time zone -------------------------------------------------------

@pytest.mark.parametrize("where", ["flag", "dq", "exitflowd"])
def test_an_unknown_time_zone_stops_the_dq_worker(tmp_path, where):
    """--timezone, else dq/timezone, else exitflowd/timezone: a zone the
    system does not know is exit 2 with one line, never days counted in
    UTC instead."""
    args = nowhere()
    if where == "flag":
        args += ["--timezone", "Mars/Olympus_Mons"]
    else:
        cfg = tmp_path / "exitflow.cfg"
        cfg.write_text("%s\n    timezone = Mars/Olympus_Mons\n" % where)
        args += ["--config", str(cfg)]
    r = run_worker("exitflow-dq", tmp_path, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.splitlines() == [r.stderr.rstrip("\n")], r.stderr
    assert "Mars/Olympus_Mons" in r.stderr
    assert r.stderr.startswith("exitflow-dq: %s" % (
        "--timezone" if where == "flag" else "config %s/timezone" % where))


def test_a_known_time_zone_is_logged(tmp_path):
    w = Worker([program("exitflow-dq"), "--timezone", "America/Los_Angeles"]
               + nowhere(), tmp_path / "dq.log", tmp_path).start()
    try:
        wait_for(lambda: "time zone America/Los_Angeles" in w.log(),
                 what="exitflow-dq to start in America/Los_Angeles")
    finally:
        w.stop()


# -- endpoints ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("endpoint,reason", BAD_ENDPOINTS)
@pytest.mark.parametrize("given", ["--commands", "--events", "config"])
def test_an_invalid_endpoint_is_refused_before_connecting(tmp_path, name,
                                                          endpoint, reason,
                                                          given):
    args = nowhere()
    if given == "config":
        cfg = tmp_path / "exitflow.cfg"
        cfg.write_text("exitflowd\n    events = \"%s\"\n" % endpoint)
        args = ["--config", str(cfg), "--commands", args[1]]
        where = "config exitflowd/events"
    else:
        args[args.index(given) + 1] = endpoint
        where = given
    r = run_worker(name, tmp_path, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("%s: %s: %s" % (name, where, endpoint))
    assert reason in r.stderr
    assert "starting" not in r.stdout + r.stderr


# -- stopping ----------------------------------------------------------------

def stop_within_a_second(w):
    """SIGTERM; the worker must exit 0 in under a second, measured."""
    t0 = time.monotonic()
    w.proc.send_signal(signal.SIGTERM)
    try:
        rc = w.proc.wait(10)
    except subprocess.TimeoutExpired:
        w.kill9()
        raise AssertionError("still running 10 s after SIGTERM")
    took = time.monotonic() - t0
    assert rc == 0, "exit %s:\n%s" % (rc, w.log_tail())
    assert took < 1.0, "took %.2fs to stop:\n%s" % (took, w.log_tail())


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_sigterm_stops_a_worker_whose_daemon_is_not_there(tmp_path, name):
    w = Worker([program(name), "--verbose"] + nowhere(),
               tmp_path / "worker.log", tmp_path).start()
    try:
        wait_for(lambda: "starting" in w.log(), what="the worker to start")
        time.sleep(0.5)             # well inside its first call's timeout
        stop_within_a_second(w)
    finally:
        w.kill9()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_sigterm_stops_a_worker_whose_daemon_is_stopped(daemon, workers, name):
    w = workers.dq(daemon) if name == "exitflow-dq" else workers.notify(daemon)
    c = daemon.client()
    wait_for(lambda: lag_of(c, SECTION[name]) is not None, timeout=20,
             what="the worker in consumer.list")
    daemon.proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(1.0)             # its idle log read is waiting by now
        stop_within_a_second(w)
    finally:
        daemon.proc.send_signal(signal.SIGCONT)
