"""Shared helpers for the integration tests (imported by conftest and tests)."""

import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))

import exitflow  # noqa: E402
from exitflow import Client, ExitflowError  # noqa: E402,F401

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UNKNOWN_WF = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

STEPS = ["exit", "universal_data", "health_insurance", "disabilities",
         "income_benefits"]
CHILD_STEPS = STEPS[:4]


def daemon_binary():
    return os.environ.get("EXITFLOWD") or str(REPO / "bin" / "exitflowd")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def day(offset):
    """The UTC date ``offset`` days from today, as YYYY-MM-DD."""
    return (today() + datetime.timedelta(days=offset)).isoformat()


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


class Daemon:
    """One exitflowd process on free ports with its own data directory."""

    def __init__(self, base_dir, stall_after=3600, extra_args=()):
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.base_dir / "exitflowd.log"
        self.commands = "tcp://127.0.0.1:%d" % free_port()
        self.events = "tcp://127.0.0.1:%d" % free_port()
        self.stall_after = stall_after
        self.extra_args = list(extra_args)
        self.proc = None
        self._clients = []

    def argv(self):
        return [daemon_binary(), "--data", str(self.data_dir),
                "--commands", self.commands, "--events", self.events,
                "--stall-after", str(self.stall_after)] + self.extra_args

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        assert not self.running()
        binary = daemon_binary()
        if not os.access(binary, os.X_OK):
            raise RuntimeError("no daemon binary at %s (build with make, or "
                               "set EXITFLOWD)" % binary)
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv(), stdout=logf,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            logf.close()
        probe = Client(self.commands, timeout=0.2, retries=0)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("exitflowd exited with %s at start:\n%s"
                                       % (self.proc.returncode, self.log()))
                try:
                    probe.ping()
                    return self
                except exitflow.Unreachable:
                    pass
                if time.monotonic() > deadline:
                    self.kill9()
                    raise RuntimeError("exitflowd did not answer ping in %ss:"
                                       "\n%s" % (timeout, self.log()))
        finally:
            probe.close()

    def client(self, timeout=5.0, retries=3):
        c = Client(self.commands, timeout=timeout, retries=retries)
        self._clients.append(c)
        return c

    def stop(self, timeout=10.0):
        """SIGTERM; the daemon must exit with status 0."""
        if not self.running():
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("exitflowd did not exit %ss after SIGTERM"
                                 % timeout)
        assert rc == 0, "exitflowd exited %s after SIGTERM:\n%s" % (
            rc, self.log())

    def kill9(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        for c in self._clients:
            c.close()
        self._clients = []
        self.kill9()


# -- domain helpers --------------------------------------------------------

class Household:
    """workflow.start arguments for a head of household, spouse and child."""

    def __init__(self, project_id="P-1", project_type=1, entry_days_ago=200,
                 start_for="hoh", with_last=True):
        u = uuid.uuid4().hex[:10]
        self.household_id = "HH-" + u
        self.project_id = project_id
        self.hoh = "C-%s-hoh" % u
        self.spouse = "C-%s-spouse" % u
        self.child = "C-%s-child" % u
        self.entry_date = {self.hoh: day(-entry_days_ago),
                           self.spouse: day(-entry_days_ago),
                           self.child: day(-entry_days_ago + 30)}
        self.enrollment = {self.hoh: "E-%s-1" % u, self.spouse: "E-%s-2" % u,
                           self.child: "E-%s-3" % u}
        adult_last = {
            "universal_data": {"living_situation": 116, "disabling_condition": 0},
            "health_insurance": {"insurance_from_any_source": 1, "medicaid": 1},
            "disabilities": {"physical": 0, "developmental": 0,
                             "chronic_health": 0, "hiv_aids": 0,
                             "mental_health": 0, "substance_use": 0},
            "income_benefits": {"income_from_any_source": 1,
                                "earned": 1, "earned_amount": 1250.5,
                                "benefits_from_any_source": 0},
        }
        child_last = {k: v for k, v in adult_last.items()
                      if k != "income_benefits"}
        self.last = {self.hoh: adult_last, self.spouse: adult_last,
                     self.child: child_last}
        members = []
        for cid, rel, adult in ((self.hoh, 1, True), (self.spouse, 3, True),
                                (self.child, 2, False)):
            m = {"client_id": cid, "enrollment_id": self.enrollment[cid],
                 "relationship": rel, "entry_date": self.entry_date[cid],
                 "adult": adult}
            if with_last:
                m["last"] = self.last[cid]
            members.append(m)
        self.members = members
        self.starter = {"hoh": self.hoh, "spouse": self.spouse,
                        "child": self.child}[start_for]
        self.args = {"enrollment_id": self.enrollment[self.starter],
                     "household_id": self.household_id,
                     "project_id": project_id, "project_type": project_type,
                     "members": members}

    def start(self, client, **kw):
        """Start the workflow; returns its workflow_id."""
        return client.call("workflow.start", self.args, **kw)["workflow_id"]


def exit_form(**over):
    form = {"exit_date": day(-1), "destination": 410,
            "exit_reason": "Moved in with a lease"}
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


def assessment(step, n=0):
    return {"step": step, "answer": n, "notes": "entered at exit"}


def complete_member(client, wf, cid, steps=STEPS, default_last=()):
    """Save every step of a member; returns the last step.save result."""
    res = None
    for step in steps:
        if step == "exit":
            res = client.save(wf, cid, "exit", data=exit_form())
        elif step in default_last:
            res = client.save(wf, cid, step, mode="default_last")
        else:
            res = client.save(wf, cid, step, data=assessment(step))
    return res


def read_all_events(client, after=0, limit=1000):
    out = []
    while True:
        res = client.events_read(after, limit=limit)
        out.extend(res["events"])
        if not res["events"]:
            return out
        after = res["events"][-1]["seq"]


def error_of(fn, *a, **kw):
    """Run ``fn``; it must raise ExitflowError, which is returned."""
    try:
        res = fn(*a, **kw)
    except ExitflowError as e:
        return e
    raise AssertionError("expected an error reply, got ok: %r" % (res,))


def has(result, **expected):
    """``result`` carries every expected key with the expected value.

    PROTOCOL.md lists what a result contains; extra keys are tolerated.
    """
    missing = {k: v for k, v in expected.items()
               if k not in result or result[k] != v}
    assert not missing, "result %r lacks %r" % (result, missing)
    return True


def member(view, cid):
    for m in view["members"]:
        if m["client_id"] == cid:
            return m
    raise KeyError(cid)


def step_of(view, cid, name):
    for s in member(view, cid)["steps"]:
        if s["name"] == name:
            return s
    raise KeyError(name)
