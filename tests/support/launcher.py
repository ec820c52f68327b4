"""The one launcher of the Python suites: exitflowd on free ports with its own
LMDB directory, and the workers beside it, each process with its log file.

Every daemon runs with CURVE on unless made with ``secure=False`` (local
mode): the server certificate and one client certificate per role come from
the session's key ring (support.keys), and the daemon gets its own --certs
directory.  What talks to it takes the keys from the daemon object:
``client(role=...)``, ``client_keys(role)`` for a Client or Subscriber made
by hand, ``socket(kind, role)`` for a raw zmq socket, ``cli_env(role)`` for
the CLI, ``worker_args(role)`` for a worker's flags.

The programs are repo/bin/<name> unless an environment variable names another
build: EXITFLOWD, EXITFLOW_DQ, EXITFLOW_NOTIFY, EXITFLOW_CLI (the Makefile's
asan targets point them at bin-asan/).
"""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import zmq

import exitflow
from exitflow import Client, Subscriber, curve_keys
from support.keys import session_keys

__all__ = ["REPO", "binary", "daemon_binary", "cli_binary", "free_port",
           "wait_for", "Process", "Daemon", "Worker", "Workers"]

REPO = Path(__file__).resolve().parents[2]


def binary(name, env):
    """The program ``name``: $``env`` when set, else bin/``name``."""
    return os.environ.get(env) or str(REPO / "bin" / name)


def daemon_binary():
    return binary("exitflowd", "EXITFLOWD")


def cli_binary():
    return binary("exitflow", "EXITFLOW_CLI")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll ``pred`` until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


class Process:
    """One program run with stdout and stderr appended to ``log_path``.

    ``argv()`` is a method so that a test can change what the next start
    runs (extra flags, a flag taken out).
    """

    def __init__(self, log_path, cwd=None):
        self.log_path = Path(log_path)
        self.cwd = cwd
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def name(self):
        return os.path.basename(self.argv()[0])

    def start(self):
        assert not self.running()
        argv = self.argv()
        if not os.access(argv[0], os.X_OK):
            raise RuntimeError("no program at %s (build it with make, or "
                               "name another in the environment)" % argv[0])
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(argv, stdout=logf,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         cwd=self.cwd)
        finally:
            logf.close()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        """Everything the process wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self):
        """The end of the log, for failure messages."""
        return self.log()[-4000:]

    def stop(self, timeout=15.0):
        """SIGTERM; the process must exit 0.  Returns its status."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not exit %ss after SIGTERM:\n%s"
                                 % (self.name(), timeout, self.log_tail()))
        assert rc == 0, "%s exited %s after SIGTERM:\n%s" % (
            self.name(), rc, self.log_tail())
        return rc

    def kill9(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()


class Daemon(Process):
    """One exitflowd on free ports with its own data directory under
    ``base_dir``; ``start`` returns once it answers ping.

    With ``secure`` (the default) it runs with --server-cert and --certs
    (``certs_dir``, holding the public certificates of ``keys``' roles);
    ``keys`` is a support.keys.KeyRing, the session's by default.
    """

    def __init__(self, base_dir, stall_after=3600, extra_args=(),
                 secure=True, keys=None):
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(self.base_dir / "exitflowd.log")
        self.commands = "tcp://127.0.0.1:%d" % free_port()
        self.events = "tcp://127.0.0.1:%d" % free_port()
        self.stall_after = stall_after
        self.extra_args = list(extra_args)
        self.keys = None
        self.certs_dir = None
        if secure:
            self.keys = keys or session_keys()
            self.certs_dir = self.keys.install(self.base_dir / "certs")
        self._clients = []

    @property
    def secure(self):
        return self.keys is not None

    def key_args(self):
        """The daemon's CURVE flags (none in local mode)."""
        if not self.secure:
            return []
        return ["--server-cert", str(self.keys.server_cert()),
                "--certs", str(self.certs_dir)]

    def argv(self):
        return [daemon_binary(), "--data", str(self.data_dir),
                "--commands", self.commands, "--events", self.events,
                "--stall-after", str(self.stall_after)] \
            + self.key_args() + self.extra_args

    # -- what a client of this daemon needs -------------------------------

    def client_keys(self, role="admin"):
        """Client/Subscriber keyword arguments for the certificate ``role``
        (a certificate name of ``keys``); no CURVE in local mode, whatever
        the environment or ./var/keys say."""
        if not self.secure:
            return {"cert": False, "server_key": False}
        return {"cert": str(self.keys.secret(role)),
                "server_key": str(self.keys.server_key())}

    def cli_env(self, role="admin"):
        """EXITFLOW_CERT / EXITFLOW_SERVER_KEY for the CLI ({} when local)."""
        if not self.secure:
            return {}
        k = self.client_keys(role)
        return {"EXITFLOW_CERT": k["cert"],
                "EXITFLOW_SERVER_KEY": k["server_key"]}

    def worker_args(self, role="worker"):
        """A worker's --cert / --server-key ([] when local)."""
        if not self.secure:
            return []
        k = self.client_keys(role)
        return ["--cert", k["cert"], "--server-key", k["server_key"]]

    def socket(self, kind, role="admin", options=None, connect=True):
        """A raw zmq socket of ``kind`` (LINGER 0, then ``options``
        {option: value}) with the keys of ``role``, connected to the event
        socket if it is a SUB, else to the command socket.  The caller
        closes it."""
        sock = zmq.Context.instance().socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        for opt, value in (options or {}).items():
            sock.setsockopt(opt, value)
        keys = curve_keys(**self.client_keys(role))
        if keys:
            keys.apply(sock)
        if connect:
            sock.connect(self.events if kind == zmq.SUB else self.commands)
        return sock

    def subscriber(self, role="admin", **kw):
        """An exitflow.Subscriber on this daemon; the caller closes it."""
        return Subscriber(self.commands, self.events,
                          **dict(self.client_keys(role), **kw))

    def client(self, timeout=5.0, retries=3, role="admin"):
        """A client with the certificate ``role``, closed with the daemon."""
        c = Client(self.commands, timeout=timeout, retries=retries,
                   **self.client_keys(role))
        self._clients.append(c)
        return c

    # -- life -------------------------------------------------------------

    def start(self, timeout=10.0):
        super().start()
        probe = Client(self.commands, timeout=0.2, retries=0,
                       **self.client_keys())
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("exitflowd exited with %s at start:\n%s"
                                       % (self.proc.returncode,
                                          self.log_tail()))
                try:
                    probe.ping()
                    return self
                except exitflow.Unreachable:
                    pass
                if time.monotonic() > deadline:
                    self.kill9()
                    raise RuntimeError("exitflowd did not answer ping in %ss:"
                                       "\n%s" % (timeout, self.log_tail()))
        finally:
            probe.close()

    def stop(self, timeout=10.0):
        super().stop(timeout)

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        for c in self._clients:
            c.close()
        self._clients = []
        self.kill9()


class Worker(Process):
    """One worker process (any argv) with its log, run in ``cwd``."""

    def __init__(self, argv, log_path, cwd):
        super().__init__(log_path, cwd)
        self._argv = list(argv)

    def argv(self):
        return self._argv

    def restart(self):
        self.kill9()
        return self.start()


class Workers:
    """Workers started against a daemon, with its ``worker`` certificate;
    ``close`` SIGKILLs every one still running.  Each one's log is
    <base>/<program>-<n>.log."""

    def __init__(self, base):
        self.base = Path(base)
        self.made = []

    def _make(self, name, env, daemon, args):
        argv = [binary(name, env), "--commands", daemon.commands,
                "--events", daemon.events] + daemon.worker_args() + list(args)
        w = Worker(argv, self.base / ("%s-%d.log" % (name, len(self.made))),
                   self.base)
        self.made.append(w)
        return w.start()

    def dq(self, daemon, *args):
        return self._make("exitflow-dq", "EXITFLOW_DQ", daemon, args)

    def notify(self, daemon, *args):
        return self._make("exitflow-notify", "EXITFLOW_NOTIFY", daemon, args)

    def close(self):
        for w in self.made:
            w.kill9()
