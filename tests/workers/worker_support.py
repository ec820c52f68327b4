"""Helpers for the workers' integration tests: tiny HTTP and SMTP servers,
households with DQ-shaped assessments, consumer lag.  The worker processes
themselves are support.launcher's."""

import http.server
import json
import socket
import socketserver
import threading
import time
from pathlib import Path

# Worker and binary are read as worker_support.Worker / .binary by the test
# that starts both workers from one --config file.
from support import Worker, binary, wait_for  # noqa: F401


def lag_of(client, name):
    """The consumer's lag, or None when it is not listed."""
    for c in client.consumer_list()["consumers"]:
        if c["consumer"] == name:
            return c["lag"]
    return None


def caught_up(client, name, timeout=20.0):
    """Waits until the consumer has acked every event in the log."""
    return wait_for(lambda: lag_of(client, name) == 0, timeout=timeout,
                    what="consumer %s to catch up" % name)


# -- households with assessments of the typed fields (hud.codes) -------------

# What a clean exit saves: every answer given, "any source" agreeing with
# the sources, each income source with its amount and the total their sum.
GOOD = {
    "universal_data": {"disabling_condition": 0},
    "health_insurance": {"insurance_from_any_source": 1, "medicaid": 1},
    "disabilities": {"physical": 0, "developmental": 0, "chronic_health": 0,
                     "hiv_aids": 0, "mental_health": 0, "substance_use": 0},
    "income_benefits": {"income_from_any_source": 1, "earned": 1,
                        "earned_amount": 1250.5,
                        "total_monthly_income": 1250.5,
                        "benefits_from_any_source": 0},
}


def exit_household(c, h, exit_form, assessments=None, others="stay",
                   actor="cw-17", finish=True):
    """The head exits with `exit_form` and the given assessments (GOOD by
    default); the others stay (a new head is named) or exit cleanly."""
    steps = dict(GOOD)
    steps.update(assessments or {})
    wf = h.start(c, actor=actor)
    c.save(wf, h.hoh, "exit", data=exit_form, actor=actor)
    for step, data in steps.items():
        c.save(wf, h.hoh, step, data=data, actor=actor)
    if others == "stay":
        c.decide(wf, h.spouse, False, actor=actor)
        c.decide(wf, h.child, False, actor=actor)
        new_hoh = h.spouse
    else:
        new_hoh = None
        for cid in (h.spouse, h.child):
            c.decide(wf, cid, True, actor=actor)
            c.save(wf, cid, "exit", data={"exit_date": exit_form["exit_date"],
                                          "destination": 410}, actor=actor)
            for step, data in GOOD.items():
                if step == "income_benefits" and cid == h.child:
                    continue
                c.save(wf, cid, step, data=data, actor=actor)
    if finish:
        c.finish(wf, new_head_of_household=new_hoh, actor=actor)
    return wf


def dq_rules(view, source="dq"):
    """The view's findings of `source` as sorted (rule, client_id) pairs
    (client_id "" for the household's)."""
    return sorted((f["rule"], f["client_id"] or "") for f in view["dq"]
                  if f["source"] == source)


def findings(c, wf, want, timeout=20.0):
    """Waits until the workflow's dq findings (rule, client) equal `want`
    (client "" or None for the household); returns the view."""
    want = sorted((rule, client or "") for rule, client in want)
    return wait_for(lambda: dq_rules(c.get(wf)) == want and c.get(wf),
                    timeout=timeout,
                    what="findings %r on %s (have %r)" % (
                        want, wf, dq_rules(c.get(wf))))


# -- notifications ---------------------------------------------------------

def read_jsonl(path):
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class HookServer:
    """An HTTP server in a thread that answers each POST with the next code
    of `script` (then 200) and records every request."""

    def __init__(self, script=()):
        self.script = list(script)
        self.requests = []          # (status, headers dict, body dict)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer.lock:
                    status = outer.script.pop(0) if outer.script else 200
                    outer.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def accepted(self):
        with self.lock:
            return [(h, b) for s, h, b in self.requests if 200 <= s < 300]

    def all(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpServer:
    """A tiny SMTP responder in a thread (Python 3.11's smtpd is deprecated
    and gone in 3.12): records each mail's envelope and data."""

    def __init__(self):
        self.mails = []             # {"from", "rcpt": [...], "data"}
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = "smtp://127.0.0.1:%d" % self.port
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")

        def say(text):
            conn.sendall(text.encode() + b"\r\n")

        say("220 test ESMTP")
        mail = {"from": None, "rcpt": [], "data": ""}
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                cmd = line.decode(errors="replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith(("EHLO", "HELO")):
                    say("250 test")
                elif up.startswith("MAIL FROM:"):
                    mail = {"from": cmd[10:].strip(), "rcpt": [], "data": ""}
                    say("250 OK")
                elif up.startswith("RCPT TO:"):
                    mail["rcpt"].append(cmd[8:].strip())
                    say("250 OK")
                elif up == "DATA":
                    say("354 go ahead")
                    lines = []
                    while True:
                        dl = f.readline()
                        if not dl or dl in (b".\r\n", b".\n"):
                            break
                        lines.append(dl.decode(errors="replace"))
                    mail["data"] = "".join(lines)
                    with self.lock:
                        self.mails.append(mail)
                    say("250 queued")
                elif up == "QUIT":
                    say("221 bye")
                    break
                else:
                    say("250 OK")
        finally:
            conn.close()

    def received(self):
        with self.lock:
            return list(self.mails)

    def close(self):
        self.stopping = True
        self.sock.close()


def wait_quiet(pred_value, settle=1.5, timeout=20.0):
    """Waits until pred_value() stops changing for `settle` seconds."""
    deadline = time.monotonic() + timeout
    last = pred_value()
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = pred_value()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            return now
    return last
