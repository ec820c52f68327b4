"""Reply retention (the sweep) and the daemon's configuration surface."""

import subprocess

from support import Daemon, Household, daemon_binary, free_port, wait_for


def test_replies_expire_after_the_retention(make_daemon):
    d = make_daemon(extra_args=["--reply-retention", "1"])
    c = d.client()
    h = Household()
    wf = c.start(**h.args, id="start-1")["workflow_id"]
    cancel = {"workflow_id": wf, "reason": "duplicate enrollment"}
    first = c.request("workflow.cancel", cancel, id="cancel-1")
    assert first["ok"] is True
    # within the retention the retry gets the stored reply
    assert c.request("workflow.cancel", cancel, id="cancel-1") == first

    # past it the reply is gone: the same request is evaluated anew, and
    # refused, since the workflow is cancelled by now
    def evaluated_anew():
        r = c.request("workflow.cancel", cancel, id="cancel-1")
        return r if not r["ok"] else None
    again = wait_for(evaluated_anew, timeout=10, interval=0.5,
                     what="the cancel reply to expire")
    assert again["error"]["code"] == "INVALID_STATE"
    # and the sweep deletes the expired reply records
    wait_for(lambda: "expired" in d.log(), timeout=10, what="the sweep")
    # replies to commands naming no workflow expire by whole days: today's
    # is still there
    assert c.start(**h.args, id="start-1")["workflow_id"] == wf


def test_config_file_and_flags_override_it(tmp_path):
    port_cmd, port_ev = free_port(), free_port()
    cfg = tmp_path / "exitflow.cfg"
    cfg.write_text(
        "exitflowd\n"
        "    data = %s\n"
        "    commands = tcp://127.0.0.1:%d\n"
        "    events = tcp://127.0.0.1:%d\n"
        "    stall-after = 1\n" % (tmp_path / "from-config", port_cmd, port_ev))
    d = Daemon(tmp_path / "run")
    # the flags given by Daemon (data, events, stall-after) override the file;
    # the command endpoint comes from the file
    d.commands = "tcp://127.0.0.1:%d" % port_cmd
    d.extra_args = ["--config", str(cfg)]
    argv = d.argv()
    i = argv.index("--commands")
    del argv[i:i + 2]
    d.argv = lambda: argv
    d.start()
    try:
        c = d.client()
        assert c.ping()["pong"] is True
        assert (d.data_dir / "data.mdb").exists()
        assert not (tmp_path / "from-config").exists()
    finally:
        d.stop()


def test_bad_flags_are_usage_errors(tmp_path):
    for args in (["--stall-after", "0"], ["--map-size", "12"],
                 ["--stall-after", str(2 ** 62)],
                 ["--reply-retention", "x"], ["--no-such-flag"],
                 ["--config", str(tmp_path / "missing.cfg")], ["stray"]):
        r = subprocess.run([daemon_binary(), "--data", str(tmp_path / "d")]
                           + args, capture_output=True, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr


def test_help_exits_zero():
    r = subprocess.run([daemon_binary(), "--help"], capture_output=True,
                       timeout=10)
    assert r.returncode == 0 and b"--commands" in r.stdout


def test_a_second_daemon_on_the_same_port_fails_cleanly(make_daemon,
                                                        tmp_path):
    d = make_daemon()
    r = subprocess.run([daemon_binary(), "--data", str(tmp_path / "other"),
                        "--commands", d.commands, "--events",
                        "tcp://127.0.0.1:%d" % free_port()],
                       capture_output=True, timeout=10)
    assert r.returncode == 1
    assert b"cannot bind" in r.stderr
    assert d.client().ping()["pong"] is True


def test_a_second_daemon_on_the_same_store_refuses_to_start(make_daemon):
    d = make_daemon()
    r = subprocess.run([daemon_binary(), "--data", str(d.data_dir),
                        "--commands", "tcp://127.0.0.1:%d" % free_port(),
                        "--events", "tcp://127.0.0.1:%d" % free_port()],
                       capture_output=True, timeout=10)
    assert r.returncode == 1
    assert b"in use" in r.stderr
    assert d.client().ping()["pong"] is True
