"""`make run`'s configuration (issue 10, item 6): workers/run.sh, run in a
fresh directory as `make run` runs it, writes ./var/exitflow.cfg from
deploy/exitflow.cfg, and the daemon and both workers read it: the
notifier's ops address reaches the notifications.  A second run keeps an
operator's edits (a new ops address, the daemon's stall time, time zone
and endpoints) and runs by them."""

import json
import os
import signal
import subprocess

from exitflow import Client
from support import (REPO, Household, binary, day, exit_form, free_port,
                     income, read_all_events, wait_for)

PROGRAMS = (("exitflowd", "EXITFLOWD"), ("exitflow", "EXITFLOW_CLI"),
            ("exitflow-dq", "EXITFLOW_DQ"),
            ("exitflow-notify", "EXITFLOW_NOTIFY"))
TEMPLATE = REPO / "deploy" / "exitflow.cfg"


def programs(tmp_path):
    """run.sh's BIN: the builds under test (the environment may name
    other builds of each, as the launcher does), linked into one folder."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, env in PROGRAMS:
        (bindir / name).symlink_to(binary(name, env))
    return bindir


def run_sh(cwd, bindir, **env_extra):
    """workers/run.sh started in ``cwd`` with no daemon flag, as `make run`
    starts it; no key and no config come from the test's environment."""
    # /metrics and /health on a free port rather than make run's 5572
    env = dict(os.environ, BIN=str(bindir),
               EXITFLOW_HTTP="127.0.0.1:%d" % free_port(), **env_extra)
    for name in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY", "EXITFLOW_CONFIG"):
        env.pop(name, None)
    with open(cwd / "run.log", "ab") as log:
        return subprocess.Popen([str(REPO / "workers" / "run.sh")], cwd=cwd,
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc, cwd):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    assert rc == 0, (cwd / "run.log").read_text(errors="replace")


def notes(cwd, **match):
    """The file sink's notifications matching ``match``."""
    path = cwd / "var" / "notifications.jsonl"
    if not path.exists():
        return []
    return [n for n in map(json.loads, path.read_text().splitlines())
            if all(n.get(k) == v for k, v in match.items())]


def connect(cwd, commands):
    """An admin client with the keys the run made; once both workers are in
    consumer.list."""
    keys = cwd / "var" / "keys"
    wait_for(lambda: (keys / "admin_secret").exists(), timeout=10,
             what="the keys")
    c = Client(commands, timeout=0.5, retries=10,
               cert=str(keys / "admin_secret"),
               server_key=str(keys / "server"))
    wait_for(lambda: {"dq", "notify"} <= {
        x["consumer"] for x in c.consumer_list()["consumers"]},
        timeout=10, what="both workers in consumer.list")
    return c


def test_make_run_writes_its_config_once_and_runs_by_it(tmp_path):
    bindir = programs(tmp_path)
    cfg = tmp_path / "var" / "exitflow.cfg"
    commands = "tcp://127.0.0.1:%d" % free_port()

    # first run: the file is written from deploy/exitflow.cfg; a DQ error
    # goes to the caseworker and to the ops address written there
    proc = run_sh(tmp_path, bindir, EXITFLOW_COMMANDS=commands,
                  EXITFLOW_EVENTS="tcp://127.0.0.1:%d" % free_port())
    c = None
    try:
        c = connect(tmp_path, commands)
        written = cfg.read_text()
        assert written.endswith(TEMPLATE.read_text())
        assert written.startswith("#   Written by make run")
        assert "    ops = ops@example.org\n" in written
        h = Household()
        wf = h.start(c, actor="cw-17")
        c.save(wf, h.hoh, "exit", data=exit_form(exit_date=day(-1)),
               actor="cw-17")
        # "any source" yes with no source yes: income_inconsistent, an error
        c.save(wf, h.hoh, "income_benefits", actor="cw-17",
               data=income(any_source=1))
        (note,) = wait_for(lambda: notes(tmp_path, workflow_id=wf,
                                         kind="dq.errors"),
                           what="the DQ error's notification")
        assert note["to"] == ["actor:cw-17", "ops@example.org"]
        assert "income_inconsistent" in note["rules"]
    finally:
        if c is not None:
            c.close()
        stop(proc, tmp_path)

    # the operator edits the file: another ops address, a one-second stall,
    # the CoC's zone, other endpoints (the workers find the daemon there)
    commands = "tcp://127.0.0.1:%d" % free_port()
    events = "tcp://127.0.0.1:%d" % free_port()
    edited = written
    for old, new in (
            ("ops = ops@example.org", "ops = ops-desk@coc.example"),
            ("stall-after = 86400", "stall-after = 1"),
            ("#    timezone = America/Chicago",
             "    timezone = America/Chicago"),
            ("commands = tcp://127.0.0.1:5570", "commands = " + commands),
            ("events = tcp://127.0.0.1:5571", "events = " + events)):
        assert old in edited, old
        edited = edited.replace(old, new)
    cfg.write_text(edited)

    # second run, no endpoint in the environment: the file is kept as edited
    # and all three read it
    proc = run_sh(tmp_path, bindir)
    c = None
    try:
        c = connect(tmp_path, commands)
        assert cfg.read_text() == edited
        assert c.stats()["timezone"] == "America/Chicago"
        h = Household()
        wf = h.start(c, actor="cw-9")
        (note,) = wait_for(lambda: notes(tmp_path, workflow_id=wf,
                                         kind="workflow.stalled"),
                           timeout=10, what="the stalled notification")
        assert note["to"] == ["actor:cw-9", "ops-desk@coc.example"]
        assert any(e["type"] == "workflow.stalled" and e["workflow_id"] == wf
                   for e in read_all_events(c))
    finally:
        if c is not None:
            c.close()
        stop(proc, tmp_path)
    assert cfg.read_text() == edited
    log = (tmp_path / "run.log").read_text(errors="replace")
    assert log.count("wrote ./var/exitflow.cfg") == 1
