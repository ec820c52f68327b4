"""exitflow-web under test: the gateway on a free port in front of a real
exitflowd (CURVE on, the session's certificates) with the real DQ worker
beside it, users made with the gateway's own ``passwd`` subcommand, and a
small HTTP client that keeps a session cookie and the CSRF token.

    stack = Stack(tmp_dir).start()      # daemon, dq worker, exitflow-web
    cw = stack.session("cw1")           # signed in (a WebSession)
    status, body = cw.post("/api/exits", household_args)
    stack.web.log()                     # everything the gateway logged
    stack.close()

Users: ``cw1`` and ``cw2`` (caseworker) and ``ops1`` (ops), with random
passwords in ``stack.users`` ({name: (password, role)}).  The program is
bin/exitflow-web unless EXITFLOW_WEB names another; the pages are
clients/web/static unless ``static_dir`` says otherwise.  The browser tests
(tests/web/test_browser.py) drive the same stack through ``stack.url``.
"""

import http.client
import json
import secrets
import socket
import ssl
import subprocess
import time
from pathlib import Path

from support.launcher import (REPO, Daemon, Process, Workers, binary,
                              free_port)

__all__ = ["web_binary", "passwd", "Web", "Stack", "WebSession",
           "LiveStream", "USERS"]

# The pages as the repository has them.
PAGES = REPO / "clients/web/static"
# The users every stack has: name -> role.
USERS = {"cw1": "caseworker", "cw2": "caseworker", "ops1": "ops"}


def web_binary():
    return binary("exitflow-web", "EXITFLOW_WEB")


def passwd(users_file, name, role, password, timeout=30):
    """``exitflow-web passwd NAME --role ROLE --users FILE`` with the
    password on stdin; returns the CompletedProcess."""
    return subprocess.run([web_binary(), "passwd", name, "--role", role,
                           "--users", str(users_file)],
                          input=password + "\n", capture_output=True,
                          text=True, timeout=timeout)


class Web(Process):
    """One exitflow-web in front of ``daemon`` (its frontend and ops
    certificates), listening on a free loopback port; ``start`` returns
    once it answers HTTP.  ``tls`` = (cert_file, key_file) serves HTTPS."""

    def __init__(self, base_dir, daemon, users_file, static_dir=None,
                 extra_args=(), tls=None):
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(self.base_dir / "exitflow-web.log")
        self.daemon = daemon
        self.users_file = Path(users_file)
        self.static_dir = Path(static_dir or PAGES)
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.tls = tls

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def key_args(self):
        d = self.daemon
        if not d.secure:
            return []
        return ["--frontend-cert", str(d.keys.secret("frontend")),
                "--ops-cert", str(d.keys.secret("ops")),
                "--server-key", str(d.keys.server_key())]

    def argv(self):
        argv = [web_binary(), "--listen", "127.0.0.1:%d" % self.port,
                "--users", str(self.users_file),
                "--static", str(self.static_dir),
                "--commands", self.daemon.commands,
                "--events", self.daemon.events] + self.key_args()
        if self.tls:
            argv += ["--tls-cert", str(self.tls[0]),
                     "--tls-key", str(self.tls[1])]
        return argv + self.extra_args

    def connection(self, timeout=10.0):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port,
                                               timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def start(self, timeout=15.0):
        super().start()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("exitflow-web exited with %s at start:\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                c = self.connection(timeout=1.0)
                c.request("GET", "/api/me")
                c.getresponse().read()
                c.close()
                return self
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError("exitflow-web did not answer in %ss:\n%s"
                                   % (timeout, self.log_tail()))
            time.sleep(0.05)

    def session(self):
        """A WebSession on this gateway, signed in as nobody yet."""
        return WebSession(self)


class WebSession:
    """A browser's worth of state: the session cookie and the CSRF token.

    Every call returns (status, body) with body the decoded JSON (None when
    empty); ``last`` keeps the last http.client response (headers)."""

    COOKIE = "exitflow_session"

    def __init__(self, web):
        self.web = web
        self.cookie = None
        self.csrf = None
        self.user = None
        self.last = None

    def request(self, method, path, body=None, csrf=True, headers=None,
                raw=None):
        """``csrf``: True sends the session's token, False none, a string
        that string.  ``raw``: bytes to send as the body instead of
        ``body`` as JSON."""
        hdrs = dict(headers or {})
        data = raw
        if body is not None and raw is None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        if self.cookie:
            hdrs["Cookie"] = "%s=%s" % (self.COOKIE, self.cookie)
        if csrf is True and self.csrf:
            hdrs["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            hdrs["X-CSRF-Token"] = csrf
        c = self.web.connection()
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            payload = r.read()
        finally:
            c.close()
        self.last = r
        for value in r.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            if name.strip() == self.COOKIE:
                self.cookie = rest.split(";", 1)[0] or None
        if not payload:
            return r.status, None
        ctype = r.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            return r.status, json.loads(payload)
        return r.status, payload

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None
                            else {}, **kw)

    def login(self, name, password):
        status, body = self.post("/api/login",
                                 {"name": name, "password": password},
                                 csrf=False)
        if status == 200:
            self.csrf = body["csrf"]
            self.user = body["user"]
        return status, body

    def live(self, query="", last_event_id=None):
        """A LiveStream on /api/live with this session's cookie."""
        return LiveStream(self, query, last_event_id)


class LiveStream:
    """/api/live read over a raw socket (so that a test can wait on it
    without a library that buffers): ``next_event(timeout)`` returns the
    next {id, event, data} message, heartbeats skipped."""

    def __init__(self, session, query="", last_event_id=None):
        web = session.web
        sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
        if web.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
        self.sock = sock
        lines = ["GET /api/live%s HTTP/1.1" % query, "Host: 127.0.0.1",
                 "Accept: text/event-stream"]
        if session.cookie:
            lines.append("Cookie: %s=%s" % (WebSession.COOKIE,
                                            session.cookie))
        if last_event_id is not None:
            lines.append("Last-Event-ID: %s" % last_event_id)
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        self.status, self.headers = self._read_head()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        self.text = ""

    def _read_until(self, sep, deadline):
        while sep not in self.buf:
            self._recv(deadline)
        head, _, self.buf = self.buf.partition(sep)
        return head

    def _read_head(self):
        head = self._read_until(b"\r\n\r\n", time.monotonic() + 10)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("nothing more on /api/live")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("/api/live closed")
        self.buf += chunk

    def _more_text(self, deadline):
        if not self.chunked:            # HTTP/1.0 style: the bytes as sent
            if not self.buf:
                self._recv(deadline)
            self.text += self.buf.decode()
            self.buf = b""
            return
        size = int(self._read_until(b"\r\n", deadline).split(b";")[0], 16)
        if size == 0:
            raise EOFError("/api/live ended")
        while len(self.buf) < size + 2:
            self._recv(deadline)
        self.text += self.buf[:size].decode()
        self.buf = self.buf[size + 2:]

    def next_message(self, timeout=10.0):
        """The next SSE block as a dict of its fields ({"comment": ...}
        for a comment line)."""
        deadline = time.monotonic() + timeout
        while "\n\n" not in self.text:
            self._more_text(deadline)
        block, _, self.text = self.text.partition("\n\n")
        msg = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                msg["comment"] = line[1:].strip()
                continue
            k, _, v = line.partition(":")
            msg[k] = v[1:] if v.startswith(" ") else v
        if "data" in msg and msg.get("event") == "change":
            msg["data"] = json.loads(msg["data"])
        return msg

    def next_event(self, timeout=10.0):
        """The next message with an ``event`` (not a heartbeat, not the
        stream's opening ``retry``)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next_message(max(0.01, deadline - time.monotonic()))
            if "event" in msg:
                return msg

    def wait_for(self, pred, timeout=10.0):
        """Events until one for which ``pred(data)`` holds; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next_event(max(0.01, deadline - time.monotonic()))
            if msg.get("event") == "change" and pred(msg["data"]):
                return msg

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Stack:
    """exitflowd (CURVE on), exitflow-dq and exitflow-web under ``base``,
    with the users of USERS (random passwords: ``users``).  The pages are
    ``static_dir``, else clients/web/static, else (a tree without them) a
    placeholder index.html under ``base``."""

    def __init__(self, base, static_dir=None, web_args=(), tls=None,
                 daemon_args=()):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.daemon = Daemon(self.base / "daemon", extra_args=daemon_args)
        self.workers = Workers(self.base)
        self.users_file = self.base / "web-users"
        self.users = {}
        if static_dir is None and not PAGES.is_dir():
            static_dir = self.base / "static"       # a branch without pages
            static_dir.mkdir(exist_ok=True)
            (static_dir / "index.html").write_text(
                "<!doctype html><title>exitflow</title>\n")
        self.web = Web(self.base / "web", self.daemon, self.users_file,
                       static_dir, web_args, tls)
        self.dq = None

    @property
    def url(self):
        return self.web.url

    def add_user(self, name, role):
        password = secrets.token_urlsafe(12)
        r = passwd(self.users_file, name, role, password)
        if r.returncode != 0:
            raise RuntimeError("exitflow-web passwd %s -> %d: %s"
                               % (name, r.returncode, r.stderr))
        self.users[name] = (password, role)
        return password

    def start(self):
        for name, role in USERS.items():
            self.add_user(name, role)
        self.daemon.start()
        self.dq = self.workers.dq(self.daemon)
        self.web.start()
        return self

    def session(self, name=None):
        """A WebSession; signed in as ``name`` when given (asserted)."""
        s = self.web.session()
        if name:
            status, body = s.login(name, self.users[name][0])
            assert status == 200, (status, body, self.web.log_tail())
        return s

    def close(self):
        self.web.kill9()
        self.workers.close()
        self.daemon.close()
