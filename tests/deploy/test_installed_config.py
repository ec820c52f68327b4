"""The installed configuration (/etc/exitflow/exitflow.cfg: deploy.mk makes
it from deploy/exitflow.cfg with deploy/installed.sed) is read by the four
programs the units start: every key it holds is one they know (an unknown
key stops each at start with exit 2), and with only the paths that belong
to the installed system replaced by flags — the data directory, the
endpoints, the metrics address, the keys, the notifier's files, the web
front end's address, users file and pages; flags override the file — a
demo exit goes through the daemon and both workers, and a caseworker made
with `exitflow-web passwd` signs in to exitflow-web and starts an exit.
EXITFLOW_INSTALLED_CFG names the file (make test-deploy makes it)."""

import json
import os
import secrets
import subprocess

from support import REPO, free_port, wait_for
from support.households import Household
from support.launcher import cli_binary
from support.web import Web, passwd

CFG = os.environ.get("EXITFLOW_INSTALLED_CFG") or str(
    REPO / "build" / "deploy" / "exitflow.cfg")


def test_the_layout_is_the_installed_one():
    text = open(CFG).read()
    assert "./var" not in text
    values = dict(line.strip().split(" = ", 1) for line in text.splitlines()
                  if " = " in line and not line.lstrip().startswith("#"))
    assert values["data"] == "/var/lib/exitflow/data"
    assert values["server-cert"] == "/etc/exitflow/keys/server_secret"
    assert values["certs"] == "/etc/exitflow/certs"
    assert values["cert"] == "/etc/exitflow/keys/worker_secret"
    assert values["server_key"] == "/etc/exitflow/keys/server"
    assert values["state"].startswith("/var/lib/exitflow/")
    assert values["sink"].startswith("file:/var/lib/exitflow/")
    # exitflow-web: loopback, the package's pages, the users file and the
    # two certificates exitflow-setup makes
    assert values["listen"].startswith("127.0.0.1:")
    assert values["static"] == "/usr/share/exitflow/web"
    assert values["users"] == "/etc/exitflow/web-users"
    assert values["frontend-cert"] == "/etc/exitflow/keys/frontend_secret"
    assert values["ops-cert"] == "/etc/exitflow/keys/ops_secret"
    assert values["server-key"] == "/etc/exitflow/keys/server"


def test_the_three_programs_run_on_it(make_daemon, workers, tmp_path):
    d = make_daemon(extra_args=["--config", CFG,
                                "--http", "127.0.0.1:%d" % free_port()])
    dq = workers.dq(d, "--config", CFG)
    sink = tmp_path / "notifications.jsonl"
    notify = workers.notify(d, "--config", CFG, "--state",
                            str(tmp_path / "notify.state"),
                            "--sink", "file:%s" % sink)
    for w in (dq, notify):
        wait_for(lambda: "starts after seq" in w.log(), timeout=15,
                 what="%s to start: %s" % (w.name(), w.log_tail()))
    env = dict(os.environ, EXITFLOW_ENDPOINT=d.commands,
               EXITFLOW_EVENTS=d.events, **d.cli_env())
    r = subprocess.run([cli_binary(), "demo", "--json"], env=env,
                       capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the finished exit reaches the notifier's sink
    wait_for(lambda: sink.exists() and any(
        json.loads(line).get("kind") == "workflow.finished"
        for line in sink.read_text().splitlines()), timeout=30,
        what="a workflow.finished notification: " + notify.log_tail())
    for w in (dq, notify):
        w.stop()
    d.stop()


def test_exitflow_web_runs_on_it(make_daemon, tmp_path):
    d = make_daemon()
    users = tmp_path / "web-users"
    password = secrets.token_urlsafe(12)
    r = passwd(users, "dana", "caseworker", password)
    assert r.returncode == 0, r.stderr
    # Web's flags: a free port, the users file, the checkout's pages, the
    # daemon's endpoints and its frontend and ops certificates; the rest
    # (session-idle, and that every key is one it knows) from the file
    web = Web(tmp_path / "web", d, users,
              extra_args=["--config", CFG]).start()
    try:
        cw = web.session()
        status, body = cw.login("dana", password)
        assert (status, body["role"]) == (200, "caseworker"), body
        h = Household()
        status, started = cw.post("/api/exits", h.args)
        assert status == 201, started
        status, listed = cw.get("/api/exits?scope=mine")
        assert status == 200, listed
        mine = [e for e in listed["exits"]
                if e["workflow_id"] == started["workflow_id"]]
        # the daemon recorded the signed-in caseworker as the actor
        assert [(e["household_id"], e["started_by"]) for e in mine] == \
            [(h.household_id, "dana")], listed
    finally:
        web.stop()                  # SIGTERM: exit 0, or it fails here
