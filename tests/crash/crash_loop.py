#!/usr/bin/python3
"""The crash loop: household exits driven by concurrent clients while
exitflowd is SIGKILLed at random moments and restarted on the same data
directory, then everything checked.

    /usr/bin/python3 tests/crash/crash_loop.py --kills 500      (make crash)
    /usr/bin/python3 tests/crash/crash_loop.py --quick          (make test)

The daemon is tests/support's launcher's (CURVE on, the session's keys;
$EXITFLOWD names another build).  Each client is a thread with its own
DEALER sockets (a ``frontend`` certificate for the workflow commands, a
``worker`` one for dq.report) and keeps --pipeline households under way at
once, one command of each in flight.
A household's script is what a caseworker does (tests/support's
households): workflow.start, the exit form and the typed assessments of
the head of household (``assessment()``, some as default_last), the
spouse decided in and completed, the child decided in or out, a DQ
report, then workflow.finish -- or, now and then, workflow.cancel at a
random point.  Every command's effect is recognisable in the event log:
the version it gives the workflow, and a mark in its data (``local_n`` of
an assessment, ``exit_reason`` of an exit form, the DQ source).

A kill: the driver stops clients from sending new commands, SIGKILLs the
daemon (what was sent and not answered is *in flight*), waits until every
client has closed its sockets, restarts the daemon (one restart in ten is
itself killed 0-0.4 s in, while the daemon opens and checks its store, and
so on), reads the log to see
which in-flight commands were committed before the kill, and lets the
clients go on: each first sends its in-flight commands again, same id,
same bytes.  Checked along the way:

  - every reply is ok and gives the version the script predicts (a command
    applied twice, or lost after its ack, shows up as another version);
  - a reply that comes twice comes with the same bytes;
  - the log read in one daemon's life is still there, the same, after the
    next kill, and goes on from it without a gap;
  - while the clients wait, every household whose script is done is
    checked whole: its history is exactly the events its commands emit, in
    order, each once; workflow.get agrees (version, state, decisions,
    steps); its commands that were in flight at a kill -- whether committed
    before it (their retry was answered from the idempotency record) or
    not -- and a sample of the others are sent again: the first reply's
    bytes come back, and the log does not move.  Then it is forgotten but
    for its number of events.

After the last kill -- taken with commands in flight and *not* retried --
and a restart:

  - events.read from 0: seqs 1..N without a gap, N = stats.last_seq, the
    same events as read along the way, each of a household's workflow, as
    many as its history holds -- nothing else;
  - every household not yet checked is a prefix of its script: the
    acknowledged commands, plus possibly the one in flight at the last
    kill -- never a part of a command, never a command twice;
  - the commands in flight at the last kill, then sent again, are
    answered, and the log grows by exactly the events of those that were
    not committed before the kill;
  - replays as above.

It prints kills, commands acknowledged, checked and lost (must be 0), and
exits 1 on any problem.
"""

import argparse
import array
import collections
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "clients" / "python")]

import msgpack  # noqa: E402
import zmq  # noqa: E402

import exitflow  # noqa: E402
from exitflow import Client, encode_request, unpack  # noqa: E402
from support.households import (CHILD_STEPS, STEPS, Household,  # noqa: E402
                                 assessment, exit_form)
from support.launcher import Daemon, Process  # noqa: E402

POLL_MS = 20
REPLY_PATIENCE_S = 30.0         # then the same bytes are sent again


class Problems:
    """What went wrong, kept for the end (the first few printed at once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def add(self, text):
        with self.lock:
            self.items.append(text)
            if len(self.items) <= 20:
                print("PROBLEM: " + text, file=sys.stderr, flush=True)

    def __len__(self):
        return len(self.items)


PROBLEMS = Problems()


# -- a household's script ------------------------------------------------------

class Cmd:
    """One write command of a script, with what it must do."""

    __slots__ = ("plan", "index", "kind", "params", "version", "rid",
                 "body", "role", "reply", "sent", "kills", "acked")

    def __init__(self, plan, index, kind, params, version):
        self.plan = plan
        self.index = index
        self.kind = kind
        self.params = params
        self.version = version          # the workflow's version after it
        self.rid = None
        self.body = None
        self.role = "worker" if kind == "dq" else "frontend"
        self.reply = None               # the first reply's bytes
        self.sent = 0                   # times sent
        self.kills = 0                  # kills it was in flight at
        self.acked = False

    def describe(self):
        return "%s #%d of %s (%s)" % (self.kind, self.index,
                                       self.plan.name, self.rid)


class Plan:
    """A household exit as a script of commands, with the events each one
    must leave in the log."""

    def __init__(self, name, rng, uid):
        self.name = name
        self.h = Household(ages=rng.choice(("adult", "both",
                                            "birth_date")))
        self.uid = uid
        self.wf = None
        self.cmds = []
        self.next = 0                   # the next command to send
        self.broken = False
        h = self.h
        v = 0

        def add(kind, params, versioned=True):
            nonlocal v
            if versioned:
                v += 1
            self.cmds.append(Cmd(self, len(self.cmds), kind, params, v))

        cancel_at = rng.randrange(2, 16) if rng.random() < 0.15 else None
        add("start", None)
        for who, steps in ((h.hoh, STEPS), (h.spouse, STEPS)):
            if who == h.spouse:
                add("decide", (h.spouse, True))
            for step in steps:
                mode = ("default_last" if step != "exit"
                        and rng.random() < 0.3 else "entered")
                add("save", (who, step, mode))
        child_exits = rng.random() < 0.5
        add("decide", (h.child, child_exits))
        if child_exits:
            for step in CHILD_STEPS:
                add("save", (h.child, step, "entered"))
        if rng.random() < 0.5:
            add("dq", ("crash-dq", 1 + rng.randrange(3)), versioned=False)
        add("finish", None if child_exits else h.child)
        if cancel_at is not None and cancel_at < len(self.cmds) - 1:
            del self.cmds[cancel_at:]
            v = self.cmds[-1].version
            add("cancel", "cancelled at command %d" % cancel_at)
        self.exiting = [h.hoh, h.spouse] + ([h.child] if child_exits else [])

    def done(self):
        return self.next >= len(self.cmds) or self.broken

    # -- the wire -----------------------------------------------------------

    def args(self, c):
        h, p = self.h, c.params
        if c.kind == "start":
            return h.args
        if c.kind == "save":
            who, step, mode = p
            a = {"workflow_id": self.wf, "client_id": who, "step": step,
                 "mode": mode}
            if mode == "entered":
                a["data"] = self.data(c)
            return a
        if c.kind == "decide":
            return {"workflow_id": self.wf, "client_id": p[0], "exit": p[1]}
        if c.kind == "dq":
            source, n = p
            return {"workflow_id": self.wf, "source": source,
                    "findings": [{"rule": "crash_%d" % i,
                                  "severity": "warning",
                                  "client_id": self.h.hoh,
                                  "message": "finding %d" % i}
                                 for i in range(n)]}
        if c.kind == "finish":
            a = {"workflow_id": self.wf}
            if p:
                a["new_head_of_household"] = p
            return a
        if c.kind == "cancel":
            return {"workflow_id": self.wf, "reason": p}
        raise AssertionError(c.kind)

    def data(self, c):
        """Entered step data, marked with the command (exit_reason of an
        exit form, local_n of an assessment)."""
        step = c.params[1]
        mark = self.mark(c)
        if step == "exit":
            return exit_form(exit_reason=mark)
        data = assessment(step, mark % 100000)    # amounts stay in range
        data["local_n"] = mark
        return data

    def mark(self, c):
        if c.kind != "save":
            return None
        who, step, mode = c.params
        if mode == "default_last":
            return "last"
        if step == "exit":
            return "%s/%d" % (self.name, c.index)
        return self.uid * 100 + c.index

    def command(self, c):
        return {"start": "workflow.start", "save": "step.save",
                "decide": "member.decide", "dq": "dq.report",
                "finish": "workflow.finish",
                "cancel": "workflow.cancel"}[c.kind]

    def encode(self, c):
        """The request's bytes, made once: a retry sends the same."""
        if c.body is None:
            c.rid, c.body = encode_request(
                self.command(c), self.args(c),
                actor="cw-crash" if c.role == "frontend" else None)
        return c.body

    # -- what the log must hold -----------------------------------------------

    def events(self, c):
        """Signatures of the events command ``c`` emits, in order."""
        p = c.params
        if c.kind == "start":
            return [("workflow.started", self.h.starter, None, None)]
        if c.kind == "save":
            return [("step.completed", p[0], c.version, (p[1], self.mark(c)))]
        if c.kind == "decide":
            return [("member.decided", p[0], c.version,
                     "exiting" if p[1] else "staying")]
        if c.kind == "dq":
            return [("dq.reported", None, None, (p[0], p[1]))]
        if c.kind == "finish":
            return sorted(("member.exited", cid, None, None)
                          for cid in self.exiting) + \
                [("workflow.finished", None, c.version, None)]
        if c.kind == "cancel":
            return [("workflow.cancelled", None, c.version, p)]
        raise AssertionError(c.kind)

    def expected_history(self, prefix):
        out = []
        for c in self.cmds[:prefix]:
            out.extend(self.events(c))
        return out

    def expected_view(self, prefix):
        """(version, state, {client: decision}, {(client, step): mode})."""
        h = self.h
        version, state = 0, "open"
        decision = {h.hoh: "exiting", h.spouse: "undecided",
                    h.child: "undecided"}
        decision[h.starter] = "exiting"
        done = {}
        for c in self.cmds[:prefix]:
            version = c.version
            if c.kind == "save":
                done[(c.params[0], c.params[1])] = c.params[2]
            elif c.kind == "decide":
                decision[c.params[0]] = "exiting" if c.params[1] \
                    else "staying"
            elif c.kind == "finish":
                state = "finished"
            elif c.kind == "cancel":
                state = "cancelled"
        return version, state, decision, done


def signature(e):
    """An event as Plan.events describes it."""
    d = e.get("data") or {}
    t = e["type"]
    extra = None
    if t == "step.completed":
        data = d.get("data") or {}
        mark = data.get("local_n", data.get("exit_reason"))
        if d.get("mode") == "default_last":
            mark = "last"
        extra = (d.get("step"), mark)
    elif t == "member.decided":
        extra = d.get("decision")
    elif t == "workflow.cancelled":
        extra = d.get("reason")
    elif t == "dq.reported":
        extra = (d.get("source"), d.get("count"))
    client = e.get("client_id")
    if t in ("workflow.finished", "workflow.cancelled", "dq.reported"):
        client = None
    return (t, client, d.get("version"), extra)


def normalized(sigs):
    """member.exited events sorted within each run of them."""
    out, run = [], []
    for s in sigs:
        if s[0] == "member.exited":
            run.append(s)
            continue
        out.extend(sorted(run))
        run = []
        out.append(s)
    return out + sorted(run)


# -- the shared state of a run -------------------------------------------------

class World:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Condition()
        self.gate = threading.Event()   # set: clients may send new commands
        self.stop = threading.Event()
        self.epoch = 0                  # daemon lives: +1 per kill
        self.seen_epoch = {}            # client id -> the epoch it reached
        self.plans = []
        self.inflight = []              # (epoch, cmd) at each kill
        self.acked = 0
        self.sent = 0
        self.twice_same = 0             # replies that came twice, same bytes
        self.replayed_on_retry = 0      # in flight, committed, retried
        self.applied_on_retry = 0       # in flight, not committed, retried
        self.uid = 0
        self.seed = args.seed

    def new_uid(self):
        with self.lock:
            self.uid += 1
            return self.uid


class ClientThread(threading.Thread):
    """One client: --pipeline households at a time, one command of each in
    flight, on a DEALER per role."""

    def __init__(self, world, daemon, n):
        super().__init__(name="client-%d" % n, daemon=True)
        self.world = world
        self.daemon = daemon
        self.n = n
        self.rng = random.Random(world.seed * 1000 + n)
        self.socks = {}
        self.active = []
        self.outstanding = {}           # rid -> (cmd, sent_at)
        self.epoch = 0
        self.error = None

    def sock(self, role):
        s = self.socks.get(role)
        if s is None:
            s = self.daemon.socket(zmq.DEALER, role=role,
                                   options={zmq.SNDHWM: 0, zmq.RCVHWM: 0})
            self.socks[role] = s
        return s

    def close_socks(self):
        for s in self.socks.values():
            s.close(linger=0)
        self.socks = {}

    def send(self, c):
        body = c.plan.encode(c)
        self.sock(c.role).send_multipart([b"", body])
        c.sent += 1
        self.outstanding[c.rid] = (c, time.monotonic())
        with self.world.lock:
            self.world.sent += c.sent == 1

    def new_plan(self):
        w = self.world
        uid = w.new_uid()
        p = Plan("c%d-h%d" % (self.n, uid), self.rng, uid)
        with w.lock:
            w.plans.append(p)
        return p

    def on_reply(self, raw):
        r = unpack(raw)
        rid = r.get("id")
        got = self.outstanding.pop(rid, None)
        if got is None:
            # a reply to a request sent twice (a resend after a long wait)
            return self.on_late_reply(rid, raw)
        c = got[0]
        c.reply = raw
        c.acked = True
        with self.world.lock:
            self.world.acked += 1
        p = c.plan
        if r.get("ok") is not True:
            PROBLEMS.add("%s refused: %r" % (c.describe(), r.get("error")))
            p.broken = True
            return
        res = r["result"]
        if c.kind == "start":
            p.wf = res["workflow_id"]
        if c.kind != "dq" and res.get("version") != c.version:
            PROBLEMS.add("%s answered version %s, the script says %d"
                         % (c.describe(), res.get("version"), c.version))
            p.broken = True
        p.next = c.index + 1

    def on_late_reply(self, rid, raw):
        for p in self.active:
            for c in p.cmds:
                if c.rid == rid and c.reply is not None:
                    if c.reply != raw:
                        PROBLEMS.add("%s answered twice, differently"
                                     % c.describe())
                    else:
                        with self.world.lock:
                            self.world.twice_same += 1
                    return

    def drain(self, timeout_ms):
        poller = zmq.Poller()
        for s in self.socks.values():
            poller.register(s, zmq.POLLIN)
        if not self.socks:
            time.sleep(timeout_ms / 1000)
            return
        for s, _ in poller.poll(timeout_ms):
            while s.poll(0):
                self.on_reply(s.recv_multipart()[-1])

    def after_kill(self):
        """The daemon was killed: keep what already arrived, close the
        sockets, note what is in flight, wait for the gate."""
        w = self.world
        self.drain(0)
        self.close_socks()
        with w.lock:
            for c, _ in self.outstanding.values():
                c.kills += 1
                w.inflight.append((w.epoch, c))
            self.epoch = w.epoch
            w.seen_epoch[self.n] = self.epoch
            w.lock.notify_all()
        w.gate.wait()
        if w.stop.is_set() and w.args.final_no_retry:
            self.outstanding.clear()    # the driver checks and retries them
            return
        for c, _ in list(self.outstanding.values()):
            self.send(c)                # the same id, the same bytes

    def run(self):
        try:
            self.loop()
        except Exception as e:          # noqa: BLE001 -- reported by the driver
            self.error = e
            PROBLEMS.add("client %d: %r" % (self.n, e))
        finally:
            self.close_socks()

    def loop(self):
        w = self.world
        while True:
            if w.epoch != self.epoch:
                self.after_kill()
            if w.stop.is_set() and not self.outstanding:
                with w.lock:
                    w.seen_epoch[self.n] = -1
                    w.lock.notify_all()
                return
            if w.gate.is_set() and not w.stop.is_set():
                self.active = [p for p in self.active if not p.done()]
                while len(self.active) < w.args.pipeline:
                    self.active.append(self.new_plan())
                busy = {c.plan for c, _ in self.outstanding.values()}
                for p in self.active:
                    if p not in busy and not p.done() and w.gate.is_set() \
                            and (p.wf or p.next == 0):
                        self.send(p.cmds[p.next])
            self.drain(POLL_MS)
            now = time.monotonic()
            if w.gate.is_set():
                for rid, (c, at) in list(self.outstanding.items()):
                    if now - at > REPLY_PATIENCE_S:
                        self.send(c)    # the Client's retry: same bytes


# -- the driver ---------------------------------------------------------------

class CrashDaemon(Daemon):
    """The launcher's daemon, with a start for a loaded machine: the ping
    that says the daemon serves waits longer each time (0.2 s, doubling up
    to 3.2 s: a fresh CURVE connection to a daemon under ASan on two busy
    cores can take longer than the launcher's 0.2 s every time), and a start
    not answered in time leaves, before the kill, where the daemon's threads
    were (gdb) in ``stacks.txt`` beside its log."""

    busy_refusals = 0                   # starts refused: directory locked

    def start(self, timeout=10.0):
        Process.start(self)
        probe = Client(self.commands, timeout=0.1, retries=0,
                       **self.client_keys())
        deadline = time.monotonic() + timeout
        log_at = len(self.log())
        try:
            while True:
                probe.timeout = min(probe.timeout * 2, 3.2)
                if self.proc.poll() is not None:
                    said = self.log()[log_at:]
                    if self.proc.returncode == 1 and "in use by another " \
                            "exitflowd" in said and \
                            time.monotonic() < deadline:
                        # the killed daemon's store check (a child process)
                        # still holds the directory: a supervisor retries
                        self.busy_refusals += 1
                        time.sleep(0.1)
                        Process.start(self)
                        log_at = len(self.log())
                        continue
                    raise RuntimeError("exitflowd exited with %s at start:"
                                       "\n%s" % (self.proc.returncode,
                                                 self.log_tail()))
                try:
                    probe.ping()
                    return self
                except exitflow.Unreachable:
                    pass
                if time.monotonic() > deadline:
                    where = self.base_dir / "stacks.txt"
                    with open(where, "ab") as f:
                        subprocess.run(["gdb", "-p", str(self.proc.pid),
                                        "-batch", "-ex",
                                        "thread apply all bt"],
                                       stdout=f, stderr=subprocess.STDOUT,
                                       timeout=120)
                    self.kill9()
                    raise RuntimeError("exitflowd did not answer ping in "
                                       "%ss (its threads: %s):\n%s"
                                       % (timeout, where, self.log_tail()))
        finally:
            probe.close()


class Driver:
    """Kills and restarts the daemon, reads the log after each restart, and
    checks the households whose scripts are done while the clients wait."""

    def __init__(self, args, base):
        self.args = args
        self.rng = random.Random(args.seed)
        self.daemon = CrashDaemon(base, stall_after=10 ** 7,
                             extra_args=args.daemon_args)
        self.world = World(args)
        self.crc = array.array("I")     # CRC32 of each event read, by seq - 1
        self.started = {}               # household_id -> workflow_id
        self.lives = [{}, {}]           # wf -> signatures: last two lives
        self.verified = {}              # wf -> events of a checked household
        self.kills = 0
        self.startup_kills = 0
        self.restart_s = []
        self.checked = 0                # acknowledged commands checked
        self.lost = 0
        self.half = 0
        self.replays = 0
        self.replays_same = 0
        self.final_acked = 0            # the last kill's, answered at the end
        self.gapless = True
        self.states = collections.Counter()

    def client(self):
        return self.daemon.client(timeout=60, retries=2)

    # -- the log ------------------------------------------------------------------

    def read_log(self, c):
        """Reads the log past what was read (the new daemon's view of what
        the killed one committed); checks that the last events read before
        are still there, the same."""
        n = len(self.crc)
        if n:
            back = max(0, n - 20)
            again = c.events_read(back, limit=20)["events"]
            for e in again:
                if crc_of(e) != self.crc[e["seq"] - 1]:
                    PROBLEMS.add("event %d changed across a kill" % e["seq"])
            if len(again) < n - back:
                PROBLEMS.add("the log lost events across a kill: had %d, "
                             "now %d" % (n, back + len(again)))
        life = {}
        while True:
            page = c.events_read(len(self.crc), limit=1000)["events"]
            if not page:
                break
            for e in page:
                if e["seq"] != len(self.crc) + 1:
                    PROBLEMS.add("log: seq %d after %d"
                                 % (e["seq"], len(self.crc)))
                self.crc.append(crc_of(e))
                if e["type"] == "workflow.started":
                    self.started[e["data"]["household_id"]] = \
                        e["workflow_id"]
                life.setdefault(e["workflow_id"], set()).add(signature(e))
        self.lives = [self.lives[1], life]

    def committed(self, cmd):
        """Whether ``cmd``'s events are in the log: it was in flight at the
        last kill, so it was sent in the life that kill ended (or, resent,
        in the one before)."""
        p = cmd.plan
        if cmd.kind == "start":
            return p.h.household_id in self.started
        for life in self.lives:
            have = life.get(p.wf, ())
            if all(s in have for s in p.events(cmd)):
                return True
        return False

    # -- kills ------------------------------------------------------------------------

    def wait_clients(self, epoch):
        w = self.world
        with w.lock:
            ok = w.lock.wait_for(lambda: all(
                w.seen_epoch.get(t.n) in (epoch, -1) for t in self.clients),
                timeout=120)
        if not ok:
            raise RuntimeError("clients did not notice kill %d" % epoch)

    def kill_and_restart(self, retry=True):
        w = self.world
        w.gate.clear()
        self.daemon.kill9()
        self.kills += 1
        with w.lock:
            w.epoch += 1
            epoch = w.epoch
        self.wait_clients(epoch)
        t0 = time.monotonic()
        while self.rng.random() < self.args.startup_kills:
            # killed again while it starts: opening and checking the store
            Process.start(self.daemon)
            time.sleep(self.rng.uniform(0, 0.4))
            self.daemon.kill9()
            self.startup_kills += 1
        self.daemon.start(timeout=120)
        self.restart_s.append(time.monotonic() - t0)
        c = self.client()
        self.read_log(c)
        inflight = [cmd for e, cmd in w.inflight if e == epoch]
        for cmd in inflight:
            if self.committed(cmd):
                w.replayed_on_retry += 1
            else:
                w.applied_on_retry += 1
        w.inflight = [(e, cmd) for e, cmd in w.inflight if e == epoch]
        if retry:
            self.check_done(c)
            w.gate.set()
        c.close()
        return inflight

    def run(self):
        a, w = self.args, self.world
        self.t_start = time.monotonic()
        self.daemon.start(timeout=60)
        self.clients = [ClientThread(w, self.daemon, n)
                        for n in range(a.clients)]
        w.gate.set()
        for t in self.clients:
            t.start()
        for k in range(a.kills - 1):
            time.sleep(self.rng.uniform(a.min_up, a.max_up))
            self.kill_and_restart()
            if (k + 1) % a.report_every == 0:
                self.progress()
            if PROBLEMS.items and not a.keep_going:
                break
        time.sleep(self.rng.uniform(a.min_up, a.max_up))
        # the last kill: what is in flight is checked before it is retried
        w.stop.set()
        a.final_no_retry = True
        last = self.kill_and_restart(retry=False)
        w.gate.set()                    # the clients see stop and end
        for t in self.clients:
            t.join(60)
        return self.final_check(last)

    def progress(self):
        w = self.world
        print("  %d kills, %.0f s: %d commands acknowledged, %d checked; "
              "log at seq %d; restart %.2f s"
              % (self.kills, time.monotonic() - self.t_start, w.acked,
                 self.checked, len(self.crc), self.restart_s[-1]),
              flush=True)

    # -- checking households ---------------------------------------------------------

    def history(self, c, wf):
        out, after = [], 0
        while True:
            page = c.call("workflow.history", {"workflow_id": wf,
                                               "after": after})
            out.extend(page["events"])
            if page.get("next") is None:
                return out
            after = page["next"]

    def check_plan(self, c, p, allowed, count=True):
        """The workflow's history is the events of a prefix of its script
        in ``allowed``, and its view agrees; returns that prefix or None."""
        hist = self.history(c, p.wf)
        got = normalized([signature(e) for e in hist])
        for n in allowed:
            if got == normalized(p.expected_history(n)):
                self.check_view(c, p, n, count)
                return n, hist
        acked = sum(1 for cmd in p.cmds if cmd.acked)
        for n in range(len(p.cmds), -1, -1):
            if got == normalized(p.expected_history(n)):
                if n < acked:
                    self.lost += acked - n
                    PROBLEMS.add("%s: %d acknowledged command(s) lost"
                                 % (p.name, acked - n))
                    return None, hist
                break
        self.half += 1
        PROBLEMS.add("%s: the history is no prefix of its script "
                     "(acknowledged %d, allowed %r): %r"
                     % (p.name, acked, allowed, got))
        return None, hist

    def check_view(self, c, p, prefix, count=True):
        version, state, decision, done = p.expected_view(prefix)
        v = c.get(p.wf)
        if (v["version"], v["state"]) != (version, state):
            PROBLEMS.add("%s: view at version %s %s, the prefix says %d %s"
                         % (p.name, v["version"], v["state"], version,
                            state))
        for m in v["members"]:
            cid = m["client_id"]
            if m["decision"] != decision[cid]:
                PROBLEMS.add("%s: %s is %s, the prefix says %s"
                             % (p.name, cid, m["decision"], decision[cid]))
            for s in m["steps"]:
                want = done.get((cid, s["name"]))
                got = s["mode"] if s["status"] == "done" else None
                if want != got:
                    PROBLEMS.add("%s: %s %s is %s, the prefix says %s"
                                 % (p.name, cid, s["name"], got, want))
        if count:
            self.states[state] += 1

    def replay(self, c, cmds):
        """Sends acknowledged writes again: the first reply's bytes back."""
        for cmd in cmds:
            raw = c.request_raw(cmd.body, expect_id=cmd.rid)
            self.replays += 1
            if raw == cmd.reply:
                self.replays_same += 1
            else:
                PROBLEMS.add("%s: a replay got %r, first %r"
                             % (cmd.describe(), unpack(raw),
                                unpack(cmd.reply)))

    def check_done(self, c):
        """While the clients wait: every household whose script is done and
        answered is checked whole (history, view), its commands that were in
        flight at a kill and a sample of the others are sent again, and it
        is forgotten but for its event count."""
        w = self.world
        with w.lock:
            # a household whose command was refused was reported then
            gone = set(id(p) for p in w.plans if p.broken)
            done = [p for p in w.plans if p.done() and not p.broken]
            gone.update(map(id, done))
            w.plans = [p for p in w.plans if id(p) not in gone]
        if not done:
            return
        seq0 = c.stats()["last_seq"]
        again = []
        for p in done:
            acked = p.next
            n, hist = self.check_plan(c, p, [acked])
            self.verified[p.wf] = len(hist)
            if n is not None:
                self.checked += acked
            for cmd in p.cmds[:acked]:
                if cmd.kills or self.rng.random() < self.args.replay_share:
                    again.append(cmd)
        self.replay(c, again)
        if c.stats()["last_seq"] != seq0:
            PROBLEMS.add("replays moved the log from %d" % seq0)

    # -- after the last kill --------------------------------------------------------

    def final_check(self, last):
        w = self.world
        c = self.client()
        # The whole log, from 0, a page at a time: gapless, the same as read
        # along the way, and nothing in it but what the households did.
        count = collections.Counter()
        n = 0
        while True:
            page = c.events_read(n, limit=1000)["events"]
            if not page:
                break
            for e in page:
                n += 1
                if e["seq"] != n:
                    PROBLEMS.add("the log: seq %d where %d was due"
                                 % (e["seq"], n))
                    self.gapless = False
                    n = e["seq"]
                if n <= len(self.crc) and crc_of(e) != self.crc[n - 1]:
                    PROBLEMS.add("event %d is not what was read before" % n)
                if e["type"] == "workflow.started":
                    self.started[e["data"]["household_id"]] = \
                        e["workflow_id"]
                count[e["workflow_id"]] += 1
        last_seq = c.stats()["last_seq"]
        if last_seq != n:
            PROBLEMS.add("stats.last_seq %d, the log holds %d" % (last_seq, n))
            self.gapless = False

        # The households not yet checked: each a prefix of its script, the
        # acknowledged commands or those and the one in flight.
        in_last = set(map(id, last))
        for p in w.plans:
            if not p.cmds[0].sent:
                continue
            wf = self.started.get(p.h.household_id)
            if p.wf and wf != p.wf:
                PROBLEMS.add("%s: started as %s, the log says %s"
                             % (p.name, p.wf, wf))
            acked = sum(1 for cmd in p.cmds if cmd.acked)
            if wf is None:
                if acked:
                    self.lost += 1
                    PROBLEMS.add("%s: acknowledged start lost" % p.name)
                continue
            p.wf = wf
            allowed = [acked]
            if acked < len(p.cmds) and id(p.cmds[acked]) in in_last:
                allowed.append(acked + 1)
            prefix, hist = self.check_plan(c, p, allowed)
            if prefix is not None:
                self.checked += acked
            self.verified[wf] = len(hist)
        for wf, k in self.verified.items():
            if count.get(wf, 0) != k:
                PROBLEMS.add("%s: %d events in its history, %d in the log"
                             % (wf, k, count.get(wf, 0)))
        stray = set(count) - set(self.verified)
        if stray:
            PROBLEMS.add("%d workflow(s) in the log that no household "
                         "started" % len(stray))
        total = n

        # The commands in flight at the last kill, sent again now: each is
        # answered, and applied exactly once.
        seq0 = last_seq
        want = sum(len(cmd.plan.events(cmd)) for cmd in last
                   if not self.committed(cmd))
        for cmd in last:
            raw = c.request_raw(cmd.body, expect_id=cmd.rid)
            r = unpack(raw)
            if r.get("ok") is not True:
                PROBLEMS.add("%s, retried after the last kill: %r"
                             % (cmd.describe(), r.get("error")))
                continue
            if cmd.kind == "start":
                cmd.plan.wf = r["result"]["workflow_id"]
            elif r["result"].get("version", cmd.version) != cmd.version:
                PROBLEMS.add("%s, retried after the last kill: version %s, "
                             "the script says %d"
                             % (cmd.describe(), r["result"]["version"],
                                cmd.version))
            cmd.reply, cmd.acked = raw, True
            self.checked += 1
            self.final_acked += 1
        grown = c.stats()["last_seq"] - seq0
        if grown != want:
            PROBLEMS.add("retrying the commands in flight at the last kill "
                         "added %d events, %d expected" % (grown, want))
        for p in {cmd.plan for cmd in last}:
            if p.wf is None:
                continue
            acked = sum(1 for cmd in p.cmds if cmd.acked)
            if self.check_plan(c, p, [acked], count=False)[0] is None:
                PROBLEMS.add("%s: after the retry, not its %d acknowledged "
                             "commands" % (p.name, acked))

        # Replays: every remaining command that was in flight at a kill (the
        # last one's too), and a sample of the others.
        seq0 = c.stats()["last_seq"]
        pool = [cmd for p in w.plans for cmd in p.cmds
                if cmd.acked and cmd.reply is not None
                and (cmd.kills or id(cmd) in in_last
                     or self.rng.random() < self.args.replay_share)]
        self.replay(c, pool)
        if c.stats()["last_seq"] != seq0:
            PROBLEMS.add("replays moved the log from %d" % seq0)
        c.close()
        self.daemon.stop()
        self.report(total, last)
        return self.lost

    def report(self, total, last):
        w, a = self.world, self.args
        took = time.monotonic() - self.t_start
        rs = sorted(self.restart_s)
        print("crash loop: %d kills in %.0f s (%d clients x %d households "
              "under way, seed %d)" % (self.kills, took, a.clients,
                                       a.pipeline, a.seed))
        print("  and %d kills of a daemon still starting (opening and "
              "checking its store); %d starts refused because the directory "
              "was still locked (by the killed daemon's store check, a child "
              "process), then retried" % (self.startup_kills,
                                         self.daemon.busy_refusals))
        print("  commands: %d sent, %d acknowledged, %d checked, %d lost"
              % (w.sent, w.acked + self.final_acked, self.checked, self.lost))
        print("  in flight at a kill: %d, sent again after the restart: %d "
              "answered from the idempotency record (committed before the "
              "kill), %d applied then; at the last kill %d, checked before "
              "their retry" % (w.replayed_on_retry + w.applied_on_retry,
                               w.replayed_on_retry, w.applied_on_retry,
                               len(last)))
        print("  households checked: %d (%s); half-applied: %d"
              % (len(self.verified), ", ".join(
                  "%s %d" % kv for kv in sorted(self.states.items())),
                 self.half))
        print("  events: %d; seq 1..%d without a gap: %s; no command's events "
              "twice, none half there: %s"
              % (total, total, "yes" if self.gapless else "NO",
                 "NO" if self.half or self.lost else "yes"))
        print("  replays of acknowledged writes: %d, same bytes %d, the log "
              "unmoved; replies received twice: %d, same bytes"
              % (self.replays, self.replays_same, w.twice_same))
        if rs:
            print("  restart (kill to first ping): median %.2f s, max %.2f s"
                  % (rs[len(rs) // 2], rs[-1]))
        print("  kills %d, acknowledged %d, checked %d, lost %d"
              % (self.kills, w.acked + self.final_acked, self.checked,
                 self.lost))


def crc_of(event):
    return zlib.crc32(msgpack.packb(event, use_bin_type=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--pipeline", type=int, default=3,
                    help="households each client has under way")
    ap.add_argument("--min-up", type=float, default=0.1,
                    help="shortest life of a daemon, seconds")
    ap.add_argument("--max-up", type=float, default=1.5)
    ap.add_argument("--replay-share", type=float, default=0.02,
                    help="share of the acknowledged writes sent again when "
                    "their household is checked (all those that were in "
                    "flight at a kill are)")
    ap.add_argument("--startup-kills", type=float, default=0.1,
                    help="chance that a restart is itself killed while the "
                    "daemon starts (again, with the same chance)")
    ap.add_argument("--keep-going", action="store_true",
                    help="go on killing after a problem")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    help="make test's form: 20 kills, short lives")
    ap.add_argument("--keep", help="keep the daemon's directory here")
    ap.add_argument("--report-every", type=int, default=50)
    a = ap.parse_args()
    if a.quick:
        a.kills, a.min_up, a.max_up, a.report_every = 20, 0.1, 0.8, 10
    if a.seed is None:
        a.seed = random.randrange(1 << 30)
    a.final_no_retry = False
    a.daemon_args = []
    base = a.keep or tempfile.mkdtemp(prefix="exitflow-crash-")
    print("crash loop: %d kills, %d clients, seed %d, in %s"
          % (a.kills, a.clients, a.seed, base), flush=True)
    d = Driver(a, base)
    try:
        lost = d.run()
    finally:
        d.daemon.close()
        if not a.keep and not PROBLEMS.items:
            shutil.rmtree(base, ignore_errors=True)
    if PROBLEMS.items:
        print("crash loop: %d problem(s); the daemon's directory is kept in "
              "%s" % (len(PROBLEMS), base), file=sys.stderr)
        return 1
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
