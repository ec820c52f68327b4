"""exitflowd and systemd's readiness protocol (daemon/ready.c): with
NOTIFY_SOCKET set, as under Type=notify, the daemon sends READY=1 once its
store is open and both sockets are bound, and STOPPING=1 when SIGTERM ends
its loop; a start that fails sends no READY=1.  The notify socket here is a
real AF_UNIX datagram socket, as systemd's is."""

import socket
import subprocess

import pytest

from exitflow import Client
from support import REPO, Daemon, Process, free_port
from support.launcher import daemon_binary


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    """A datagram socket the daemon started next will notify (its path in
    NOTIFY_SOCKET, which the daemon inherits)."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield sock
    sock.close()


def messages(sock, timeout):
    """The next notification: its lines as {key: value}."""
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines() if line)


def test_ready_once_serving_then_stopping_on_sigterm(tmp_path, notify_socket):
    d = Daemon(tmp_path / "d")
    try:
        Process.start(d)        # not Daemon.start's ping: READY=1 must say it
        ready = messages(notify_socket, 15)
        assert ready.get("READY") == "1", ready
        assert ready.get("STATUS") == "serving, last seq 0"
        # READY=1 means answering now: one attempt, no retry
        c = Client(d.commands, timeout=2.0, retries=0, **d.client_keys())
        try:
            assert c.ping()
        finally:
            c.close()
        d.proc.send_signal(15)
        stopping = messages(notify_socket, 15)
        assert stopping.get("STOPPING") == "1", stopping
        assert d.proc.wait(15) == 0
    finally:
        d.close()


def test_no_ready_when_a_socket_cannot_be_bound(tmp_path, notify_socket):
    taken = socket.socket()
    taken.bind(("127.0.0.1", free_port()))
    taken.listen(1)
    port = taken.getsockname()[1]
    d = Daemon(tmp_path / "d")
    d.commands = "tcp://127.0.0.1:%d" % port
    try:
        Process.start(d)
        assert d.proc.wait(15) == 1, d.log_tail()
        assert "cannot bind" in d.log()
        notify_socket.settimeout(0.5)
        with pytest.raises(socket.timeout):
            notify_socket.recv(4096)
    finally:
        taken.close()
        d.close()


def test_no_notify_socket_is_no_difference(tmp_path, monkeypatch):
    """A NOTIFY_SOCKET nobody listens on (a unit's socket gone, a stale
    variable): the daemon serves and stops as ever."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody"))
    d = Daemon(tmp_path / "d")
    try:
        d.start()
        assert d.client().ping()
        d.stop()                # asserts exit status 0
        assert d.proc.returncode == 0
    finally:
        d.close()


def test_the_units_read_the_statuses_the_daemon_exits_with():
    """RestartPreventExitStatus= names exactly the start-up statuses
    `exitflowd --help` documents as needing an operator (2, 10-13)."""
    help_text = subprocess.run([daemon_binary(), "--help"],
                               capture_output=True, text=True).stdout
    for status in ("10", "11", "12", "13"):
        assert "  %s " % status in help_text
    unit = (REPO / "deploy" / "systemd" / "exitflowd.service").read_text()
    line = [ln for ln in unit.splitlines()
            if ln.startswith("RestartPreventExitStatus=")]
    assert line == ["RestartPreventExitStatus=2 10 11 12 13"]
