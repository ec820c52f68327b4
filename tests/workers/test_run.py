"""workers/run.sh (what `make run` starts): the daemon with both workers
beside it; their lag shows in consumer.list and in `bin/exitflow consumers`;
SIGTERM stops all three cleanly."""

import os
import signal
import subprocess
import time

from exitflow import Client
from support import REPO, Household, day, free_port, wait_for
from worker_support import caught_up, exit_household, lag_of, read_jsonl


def test_run_sh_starts_daemon_and_workers(tmp_path):
    commands = "tcp://127.0.0.1:%d" % free_port()
    events = "tcp://127.0.0.1:%d" % free_port()
    env = dict(os.environ, BIN=str(REPO / "bin"), EXITFLOW_COMMANDS=commands,
               EXITFLOW_EVENTS=events)
    if os.environ.get("EXITFLOWD"):
        env["BIN"] = os.path.dirname(os.environ["EXITFLOWD"])
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([str(REPO / "workers" / "run.sh"), "--data",
                             str(tmp_path / "data")], cwd=tmp_path, env=env,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    c = Client(commands, timeout=0.5, retries=10)
    try:
        wait_for(lambda: lag_of(c, "dq") is not None
                 and lag_of(c, "notify") is not None, timeout=20,
                 what="both workers in consumer.list")
        wf = exit_household(c, Household(), {"exit_date": day(-1),
                                             "destination": 8})
        caught_up(c, "dq")
        caught_up(c, "notify")
        notes = tmp_path / "var" / "notifications.jsonl"
        wait_for(lambda: [n for n in read_jsonl(notes)
                          if n["workflow_id"] == wf], what="a notification")
        assert (tmp_path / "var" / "notify-notify.state").exists()
        cli = REPO / "bin" / "exitflow"
        if os.access(cli, os.X_OK):
            out = subprocess.run([str(cli), "--endpoint", commands,
                                  "consumers"], capture_output=True,
                                 text=True, timeout=30)
            assert out.returncode == 0, out.stderr
            rows = {line.split()[0]: line.split()[1:]
                    for line in out.stdout.splitlines() if line.strip()}
            assert rows["dq"][1] == "0" and rows["notify"][1] == "0"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            log.close()
            c.close()
    text = (tmp_path / "run.log").read_text(errors="replace")
    assert rc == 0, text
    assert "consumer dq stops" in text and "consumer notify stops" in text
    # nothing left behind
    time.sleep(0.2)
    assert subprocess.run(["pgrep", "-s", str(proc.pid)],
                          capture_output=True).stdout == b""
