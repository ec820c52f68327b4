"""`make run` (workers/run.sh) starts exitflow-web beside the daemon and
the workers: the first run makes the demo accounts `caseworker` and `ops`
with random passwords printed once (the users file keeps only yescrypt
hashes), later runs keep them; the gateway reads the `web` section of
./var/exitflow.cfg and the keys of ./var/keys."""

import os
import re
import signal
import subprocess

from support.launcher import REPO, free_port, wait_for
from support.web import Web, WebSession

ACCOUNT = re.compile(r"web account (\w+), password (\S+) \(shown once\)")


class Running(Web):
    """The exitflow-web run.sh started, reached on its port."""

    def __init__(self, port):   # noqa: super().__init__ is not wanted
        self.port = port
        self.tls = None


def run_sh(cwd, port):
    env = dict(os.environ, BIN=str(REPO / "bin"),
               EXITFLOW_COMMANDS="tcp://127.0.0.1:%d" % free_port(),
               EXITFLOW_EVENTS="tcp://127.0.0.1:%d" % free_port(),
               EXITFLOW_HTTP="", EXITFLOW_WEB_LISTEN="127.0.0.1:%d" % port)
    for name in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY", "EXITFLOW_CONFIG"):
        env.pop(name, None)
    if os.environ.get("EXITFLOW_WEB"):
        env["BIN"] = os.path.dirname(os.environ["EXITFLOW_WEB"])
    with open(cwd / "run.log", "ab") as log:
        return subprocess.Popen([str(REPO / "workers" / "run.sh"), "--data",
                                 str(cwd / "data")], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc, cwd):
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(20) == 0, (cwd / "run.log").read_text()
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def signed_in(port, name, password):
    s = WebSession(Running(port))
    return wait_for(lambda: _try(s, name, password), timeout=20,
                    what="exitflow-web of run.sh")


def _try(s, name, password):
    try:
        status, body = s.login(name, password)
    except OSError:
        return None
    return (status, body)


def test_run_sh_starts_the_web_with_demo_accounts_printed_once(tmp_path):
    pages = tmp_path / "clients/web/static"     # static = clients/web/static
    pages.mkdir(parents=True)
    (pages / "index.html").write_text("<!doctype html><title>x</title>\n")
    port = free_port()
    proc = run_sh(tmp_path, port)
    try:
        accounts = wait_for(
            lambda: dict(ACCOUNT.findall((tmp_path / "run.log").read_text()))
            if len(ACCOUNT.findall((tmp_path / "run.log").read_text())) == 2
            else None, timeout=20, what="the demo accounts")
        assert set(accounts) == {"caseworker", "ops"}
        users = (tmp_path / "var/web-users").read_text()
        for name, password in accounts.items():
            assert password not in users
            assert re.search(r"^%s:%s:\$y\$" % (name, name), users, re.M)
        status, body = signed_in(port, "caseworker", accounts["caseworker"])
        assert status == 200 and body["role"] == "caseworker"
        status, body = signed_in(port, "ops", accounts["ops"])
        assert status == 200 and body["role"] == "ops"
        s = WebSession(Running(port))
        s.login("caseworker", accounts["caseworker"])
        assert s.get("/api/codes")[0] == 200        # through ./var/keys
    finally:
        stop(proc, tmp_path)
    # the second run keeps them and prints no password
    proc = run_sh(tmp_path, port)
    try:
        status, _ = signed_in(port, "caseworker", accounts["caseworker"])
        assert status == 200
    finally:
        stop(proc, tmp_path)
    assert len(ACCOUNT.findall((tmp_path / "run.log").read_text())) == 2
