"""The key rule on an installed system: with no flag, no environment and no
./var/keys, the CLI and the Python client take /etc/exitflow/keys/
admin_secret and server (what the package makes); ./var/keys still comes
first.  /etc is this machine's, so each run gets a private mount namespace
(unshare) with an overlay on /etc holding the test's keys: nothing is
written to the real /etc.  Skipped where a mount namespace or an overlay
cannot be made (not root, a container without CAP_SYS_ADMIN)."""

import os
import shutil
import subprocess
import sys

import pytest

from support import REPO
from support.launcher import cli_binary


def overlay_etc(tmp_path, keys):
    """The upper and work directories of an overlay over /etc whose
    exitflow/keys holds `keys` ({name: source file})."""
    upper = tmp_path / "upper"
    (upper / "exitflow" / "keys").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    for name, source in keys.items():
        shutil.copy(source, upper / "exitflow" / "keys" / name)
    return upper, tmp_path / "work"


def run_with_etc(tmp_path, keys, argv, cwd, env):
    upper, work = overlay_etc(tmp_path, keys)
    script = ('mount -t overlay overlay -o lowerdir=/etc,upperdir="$1",'
              'workdir="$2" /etc && shift 2 && exec "$@"')
    return subprocess.run(["unshare", "--mount", "--propagation", "private",
                           "sh", "-c", script, "sh", str(upper), str(work)]
                          + argv, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def can_overlay(tmp_path):
    if not shutil.which("unshare"):
        pytest.skip("no unshare")
    r = run_with_etc(tmp_path / "probe", {}, ["true"], tmp_path, os.environ)
    if r.returncode != 0:
        pytest.skip("cannot overlay /etc here: %s" % r.stderr.strip())


def clean_env(d):
    env = {k: v for k, v in os.environ.items()
           if k not in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY")}
    env.update(EXITFLOW_ENDPOINT=d.commands, EXITFLOW_TIMEOUT_MS="1000",
               EXITFLOW_RETRIES="0")
    return env


def test_cli_and_python_take_etc_exitflow_keys(can_overlay, make_daemon,
                                               tmp_path):
    d = make_daemon()
    keys = {"admin_secret": d.keys.secret("admin"),
            "server": d.keys.server_key()}
    here = tmp_path / "elsewhere"          # no ./var/keys here
    here.mkdir()
    env = clean_env(d)
    # without the keys in /etc: no CURVE, which this daemon does not answer
    r = run_with_etc(tmp_path / "none", {}, [cli_binary(), "ping"], here, env)
    assert r.returncode == 3, r.stdout + r.stderr
    r = run_with_etc(tmp_path / "cli", keys, [cli_binary(), "ping"], here, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pong" in r.stdout
    code = ("import exitflow; c = exitflow.Client(%r, timeout=1.0, retries=0);"
            " print(c.ping()); c.close()" % d.commands)
    env_py = dict(env, PYTHONPATH=str(REPO / "clients" / "python"))
    r = run_with_etc(tmp_path / "py", keys, [sys.executable, "-c", code],
                     here, env_py)
    assert r.returncode == 0, r.stdout + r.stderr


def test_var_keys_come_first(can_overlay, make_daemon, tmp_path):
    d = make_daemon()
    keys = {"admin_secret": d.keys.secret("admin"),
            "server": d.keys.server_key()}
    here = tmp_path / "checkout"
    (here / "var" / "keys").mkdir(parents=True)
    # a stranger's certificate in ./var/keys wins over /etc's admin one
    subprocess.run([cli_binary(), "keygen", "admin", "--role", "admin",
                    "--out", str(here / "var" / "keys")], check=True,
                   capture_output=True)
    r = run_with_etc(tmp_path / "cli", keys, [cli_binary(), "ping"], here,
                     clean_env(d))
    assert r.returncode == 3, r.stdout + r.stderr
