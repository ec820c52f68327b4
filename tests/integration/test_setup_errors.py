"""Set-up mistakes are errors with a reason, never a daemon that runs on
defaults or binds something other than what it says (issue 11, item 7)."""

import subprocess

import pytest

from support import daemon_binary, free_port
from support.setup_errors import BAD_ENDPOINTS, UNUSABLE_CONFIGS, \
    unusable_config


def run_daemon(tmp_path, *args):
    argv = [daemon_binary(), "--data", str(tmp_path / "data"),
            "--commands", "tcp://127.0.0.1:%d" % free_port(),
            "--events", "tcp://127.0.0.1:%d" % free_port()] + list(args)
    return subprocess.run(argv, capture_output=True, timeout=10,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("what", UNUSABLE_CONFIGS)
def test_an_unusable_config_stops_the_daemon(tmp_path, what):
    path, reason = unusable_config(tmp_path, what, "exitflowd", "stall-afer")
    r = run_daemon(tmp_path, "--config", str(path))
    assert r.returncode == 2
    line = r.stderr.decode()
    assert "cannot use config %s" % path in line
    assert reason in line
    assert not (tmp_path / "data").exists()     # stopped before the store


@pytest.mark.parametrize("endpoint,reason", BAD_ENDPOINTS)
def test_an_invalid_endpoint_is_refused_before_binding(tmp_path, endpoint,
                                                       reason):
    r = run_daemon(tmp_path, "--events", endpoint)
    assert r.returncode == 2
    assert reason in r.stderr.decode()


def test_a_good_config_file_is_used(tmp_path):
    port = free_port()
    cfg = tmp_path / "ok.cfg"
    cfg.write_text("exitflowd\n    stall-after = 60\n    commands = "
                   "tcp://127.0.0.1:%d\n" % port)
    argv = [daemon_binary(), "--data", str(tmp_path / "data"), "--config",
            str(cfg), "--events", "tcp://127.0.0.1:%d" % free_port()]
    p = subprocess.Popen(argv, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        line = p.stderr.readline().decode()
        while "ready" not in line and line:
            line = p.stderr.readline().decode()
        assert ":%d" % port in line and "stall after 60s" in line
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_a_key_twice_in_any_encoding_is_refused(daemon):
    """`destination` as a fixstr (410) and again as a str8 (99999) is one
    key twice, not two keys: BAD_REQUEST, nothing stored (issue 11, 1)."""
    import msgpack
    import zmq
    from support import Household, exit_form
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    form = dict(exit_form())
    form.pop("destination")
    data = (bytes([0x80 | (len(form) + 2)])
            + b"".join(msgpack.packb(k) + msgpack.packb(v)
                       for k, v in form.items())
            + msgpack.packb("destination") + msgpack.packb(410)
            + b"\xd9\x0bdestination" + msgpack.packb(99999))
    args = (b"\x85" + b"".join(msgpack.packb(k) + msgpack.packb(v) for k, v in
                               (("workflow_id", wf), ("client_id", h.hoh),
                                ("step", "exit"), ("mode", "entered")))
            + msgpack.packb("data") + data)
    body = (b"\x84" + msgpack.packb("v") + msgpack.packb(1)
            + msgpack.packb("id") + msgpack.packb("dup-1")
            + msgpack.packb("cmd") + msgpack.packb("step.save")
            + msgpack.packb("args") + args)
    sock = daemon.socket(zmq.DEALER)
    try:
        sock.send_multipart([b"", body])
        assert sock.poll(5000)
        reply = msgpack.unpackb(sock.recv_multipart()[-1])
    finally:
        sock.close()
    assert reply["ok"] is False
    assert reply["error"]["code"] == "BAD_REQUEST"
    assert "same key twice" in reply["error"]["message"]
    view = c.get(wf)
    assert view["version"] == 1


def test_the_python_client_checks_endpoints_and_sizes():
    """The Python client applies the same rules as the C library: a bad
    endpoint is a ValueError at once, and a body over 1 MiB is refused
    before anything is sent (no daemon is listening here: an attempt to
    send would end in Unreachable after its timeout, not in ValueError)."""
    import time
    from exitflow import BODY_MAX, Client, Subscriber
    for bad in ("tcp://127.0.0.1:99999", "tcp://127.0.0.1:0",
                "udp://127.0.0.1:5570", "tcp://127.0.0.1", ""):
        with pytest.raises(ValueError):
            Client(bad, cert=False, server_key=False)
    with pytest.raises(ValueError):
        Subscriber("tcp://127.0.0.1:%d" % free_port(), "tcp://h:70000",
                   cert=False, server_key=False)
    c = Client("tcp://127.0.0.1:%d" % free_port(), timeout=5, retries=0,
               cert=False, server_key=False)
    try:
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="too large"):
            c.call("dq.report", {"workflow_id": "W", "source": "s",
                                 "findings": [{"message": "x" * BODY_MAX}]})
        assert time.monotonic() - t0 < 1.0
    finally:
        c.close()
