"""bin/exitflow as a process, against a real exitflowd.

Output for people, ``--json`` for scripts, the exit statuses (0 ok, 1 refused,
2 usage, 3 unreachable -- within the timeout, never a hang), ``--help`` on
every subcommand, the demo, ``events tail`` following gapless, ``keygen`` and
the keys (flag, environment, ./var/keys) against a CURVE server made here
with pyzmq.

The daemon is the ``daemon`` fixture of conftest.py (support.Daemon: free
ports, own LMDB); the CLI is ``$EXITFLOW_CLI`` or bin/exitflow.
"""

import datetime
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import msgpack
import pytest
import zmq
import zmq.auth
import zmq.auth.thread

import support
from support import Household, cli_binary, day, exit_form, flood, free_port
from support.setup_errors import BAD_ENDPOINTS

CLI = cli_binary()

COMMANDS = ["start", "show", "codes", "save", "decide", "finish", "cancel",
            "list",
            "history", "events tail", "consumers", "ack", "dq", "dq-report",
            "stats", "ping", "demo", "keygen", "export"]


# -- fixtures and helpers ----------------------------------------------------

def env_for(daemon=None, **extra):
    """The CLI's environment for ``daemon`` (its endpoints and the admin
    certificate), or for nobody at free ports."""
    env = dict(os.environ)
    for name in ("EXITFLOW_ACTOR", "EXITFLOW_CERT", "EXITFLOW_SERVER_KEY"):
        env.pop(name, None)
    env.update(daemon.cli_env() if daemon else {})
    env.update({
        "EXITFLOW_ENDPOINT": daemon.commands if daemon else
        "tcp://127.0.0.1:%d" % free_port(),
        "EXITFLOW_EVENTS": daemon.events if daemon else
        "tcp://127.0.0.1:%d" % free_port(),
        "EXITFLOW_TIMEOUT_MS": "3000",
        "EXITFLOW_RETRIES": "1",
        "TZ": "UTC",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, daemon=None, env=None, timeout=30, input=None):
    return subprocess.run([CLI] + list(args), env=env or env_for(daemon),
                          capture_output=True, text=True, timeout=timeout,
                          input=input)


def ok(args, daemon, **kw):
    r = run(args, daemon, **kw)
    assert r.returncode == 0, "exitflow %s -> %d\n%s%s" % (
        " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def ok_json(args, daemon, **kw):
    return json.loads(ok(list(args) + ["--json"], daemon, **kw).stdout)


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def member_flags(h):
    """--member specs for a support.Household: its date of birth and its
    adult flag when the member has them."""
    flags = []
    for m in h.members:
        spec = "%s:%s:%d:%s" % (m["client_id"], m["enrollment_id"],
                                m["relationship"], m["entry_date"])
        if "birth_date" in m:
            spec += ":" + m["birth_date"]
        if "adult" in m:
            spec += ":adult" if m["adult"] else ":child"
        flags += ["--member", spec]
    return flags


def start_by_flags(daemon, h, project=None):
    args = ["start", "--enrollment", h.enrollment[h.hoh], "--household",
            h.household_id, "--project", project or h.project_id,
            "--project-type", str(h.args["project_type"])] + member_flags(h)
    if "move_in_date" in h.args:
        args += ["--move-in-date", h.args["move_in_date"]]
    return ok_json(args, daemon)["workflow_id"]


def columns(line):
    """Start offsets of the cells of a table line (cells split by 2+ blanks)."""
    return [m.start() for m in re.finditer(r"(?:(?<=  )|^)\S", line)]


class Tail:
    """`exitflow events tail` running in the background, read line by line.

    A thread reads stdout into a queue: select() on the pipe would miss
    lines already sitting in the file object's buffer.
    """

    def __init__(self, args, env):
        self.proc = subprocess.Popen([CLI, "events", "tail"] + list(args),
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self._queue = queue.Queue()
        self._reader = threading.Thread(target=self._read_all, daemon=True)
        self._reader.start()

    def _read_all(self):
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def read(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.lines) < n:
            left = deadline - time.monotonic()
            assert left > 0, "tail: %d of %d lines" % (len(self.lines), n)
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            assert line is not None, "tail ended: %s" % self.proc.stderr.read()
            self.lines.append(line)
        return self.lines

    def interrupt(self, timeout=5):
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


# -- help and usage ------------------------------------------------------------

def help_section(text, title):
    """The lines of a --help section ("fields:", "example:") up to the
    next blank line."""
    lines = text.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_on_every_subcommand(command):
    """Every subcommand's --help: its usage, its fields (what it reads or
    prints) and an example to copy, then the common options."""
    r = run(command.split() + ["--help"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: exitflow %s" % command)
    for common in ("--endpoint", "--json", "--timeout", "exit status"):
        assert common in r.stdout
    assert r.stderr == ""
    assert help_section(r.stdout, "fields:"), r.stdout
    example = help_section(r.stdout, "example:")
    assert example and all(l.startswith("  ") for l in example)
    assert example[0].strip().startswith("exitflow ")
    assert [l for l in example if l.strip().startswith("exitflow %s" % command)
            or l.strip().startswith("exitflow --actor")], example
    h = run(["help"] + command.split())
    assert h.returncode == 0 and h.stdout == r.stdout


def test_start_help_lists_every_field_of_the_file():
    """start --help names every key of the household file --example
    prints (a newcomer need not read PROTOCOL.md), and every flag's."""
    text = run(["start", "--help"]).stdout
    fields = "\n".join(help_section(text, "fields:"))
    doc = json.loads(run(["start", "--example"]).stdout)
    keys = set(doc) | {k for m in doc["members"] for k in m} | {"adult"}
    for key in keys:
        assert re.search(r"\b%s\b" % key, fields), key
    for flag in ("--file", "--example", "--enrollment", "--household",
                 "--project", "--project-type", "--move-in-date", "--member",
                 "--last", "birth_date=", "adult=true|false"):
        assert flag in text, flag


def test_overview_and_version():
    r = run(["--help"])
    assert r.returncode == 0
    for command in COMMANDS:
        assert "  %s " % command in r.stdout
    assert run(["--version"]).stdout.startswith("exitflow ")
    bare = run([])
    assert bare.returncode == 2 and "usage: exitflow" in bare.stderr
    group = run(["events"])
    assert group.returncode == 2 and "events tail" in group.stderr


@pytest.mark.parametrize("args", [
    ["bogus"],
    ["list", "--bogus"],
    ["list", "--state", "sleeping"],
    ["list", "--idle", "5x"],
    ["show"],
    ["show", "a", "b"],
    ["save", "W", "C", "exit"],
    ["save", "W", "C", "exit", "--data", "{}", "--default-last"],
    ["save", "W", "C", "exit", "--data", "{not json"],
    ["save", "W", "C", "exit", "--data", "[1]"],
    ["save", "W", "C", "exit", "--data", "@/no/such/file.json"],
    ["decide", "W", "C", "maybe"],
    ["cancel", "W"],
    ["start", "--household", "H"],
    ["start", "--file", "x.json", "--household", "H"],
] + [
    ["start", "--enrollment", "E", "--household", "H", "--project", "P",
     "--member", spec] for spec in (
         "c1:e1:1",
         "c1:e1:1:2024-01-01:grown-up",
         "c1:e1:1:2024-01-01:1990-01-01:1991-01-01",    # two dates of birth
         "c1:e1:1:2024-01-01:adult:child",
         "c1:e1:1:2024-01-01:1990-02-30",               # not a date
         "c1:e1:1:2024-01-01:1990-01-01:adult:x")
] + [
    ["list", "--mine"],                         # no --actor: who is "me"?
    ["list", "--mine", "--caseworker", "cw-1", "--actor", "cw-1"],
    ["list", "--client"],
    ["start", "--example", "--file", "x.json"],
    ["start", "--enrollment", "E", "--household", "H", "--project", "P",
     "--member", "c1:e1:1:2024-01-01:adult=maybe"],
    ["start", "--enrollment", "E", "--household", "H", "--project", "P",
     "--member", "c1:e1:1:2024-01-01:birth_date=1990-13-01"],
    ["demo", "--dq-wait", "-1"],
    ["codes", "a", "b"],
    ["events", "tail", "--from", "-3"],
    ["ack", "w1", "many"],
    ["--timeout", "soon", "stats"],
    ["--endpoint", "not-an-endpoint", "stats"],
])
def test_usage_errors_exit_2(args):
    r = run(args)           # no daemon needed: nothing is sent
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("exitflow")


# -- unreachable ---------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["stats"], ["ping"], ["list", "--state", "open", "--idle", "1s"],
    ["show", support.UNKNOWN_WF], ["history", support.UNKNOWN_WF], ["codes"],
    ["save", support.UNKNOWN_WF, "C", "exit", "--default-last"],
    ["consumers"], ["events", "tail"], ["events", "tail", "--from", "0"],
    ["demo"],
])
def test_daemon_down_exits_3_within_the_timeout(args):
    env = env_for(None, EXITFLOW_TIMEOUT_MS=500, EXITFLOW_RETRIES=1)
    t0 = time.monotonic()
    r = run(args, env=env, timeout=20)
    took = time.monotonic() - t0
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "UNREACHABLE" in r.stderr
    assert took < 3.0, "took %.1fs" % took      # 2 × 500 ms + 100 ms backoff


def test_daemon_down_json_error():
    env = env_for(None, EXITFLOW_TIMEOUT_MS=300, EXITFLOW_RETRIES=0)
    r = run(["stats", "--json"], env=env)
    assert r.returncode == 3
    assert r.stdout == ""
    err = json.loads(r.stderr)
    assert err["ok"] is False and err["error"]["code"] == "UNREACHABLE"


# -- set-up errors (issue 11, item 7) -----------------------------------------

@pytest.mark.parametrize("endpoint,reason", BAD_ENDPOINTS)
@pytest.mark.parametrize("given", ["--endpoint", "EXITFLOW_ENDPOINT",
                                   "--events", "EXITFLOW_EVENTS"])
def test_an_invalid_endpoint_is_a_usage_error(endpoint, reason, given):
    """Judged before anything connects (libzmq would take port 99999 as
    another one), whichever command; the events endpoint by events tail."""
    env = env_for(None)
    args = ["events", "tail", "--no-follow"] if "EVENTS" in given.upper() \
        else ["stats"]
    if given.startswith("--"):
        args = [given, endpoint] + args
    else:
        env[given] = endpoint
    t0 = time.monotonic()
    r = run(args, env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stdout == ""
    first = r.stderr.splitlines()[0]
    command = "events tail" if "tail" in args else "stats"
    assert first.startswith("exitflow %s: %s" % (command, endpoint))
    assert reason in first
    option = "--events" if "EVENTS" in given.upper() else "--endpoint"
    assert "(%s or EXITFLOW_%s)" % (option, option[2:].upper()) in first
    assert time.monotonic() - t0 < 2.0


def test_a_port_past_65535_never_reaches_another_port(daemon):
    """tcp://HOST:PORT+65536 is refused, not wrapped round to PORT (where
    the daemon would answer)."""
    port = int(daemon.commands.rsplit(":", 1)[1])
    for cmd in (["ping"], ["dq-report"]):
        r = run(["--endpoint", "tcp://127.0.0.1:%d" % (port + 65536)] + cmd,
                daemon)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "the port must be 1 to 65535" in r.stderr
        assert "pong" not in r.stdout


def big_request(kind, tmp_path, size):
    """The arguments of a `kind` command carrying `size` bytes of text."""
    f = tmp_path / ("%s-%d.json" % (kind, size))
    big = "x" * size
    if kind == "save":
        f.write_text(json.dumps({"local_note": big}))
        return ["save", support.UNKNOWN_WF, "C", "exit", "--data", "@%s" % f]
    if kind == "start":
        f.write_text(json.dumps({"household_id": "H", "note": big}))
        return ["start", "--file", str(f)]
    f.write_text(json.dumps([{"rule": "r", "severity": "warning",
                              "message": big}]))
    return ["dq", support.UNKNOWN_WF, "--source", "s", "--findings", "@%s" % f]


@pytest.mark.parametrize("size", [1536 * 1024, 5 * 1024 * 1024])
@pytest.mark.parametrize("kind", ["save", "start", "dq"])
def test_a_request_over_the_limit_is_refused_before_sending(daemon, tmp_path,
                                                            kind, size):
    """Over 1 MiB (PROTOCOL.md §2.1) the CLI says so itself, at once, with
    the limit: not the daemon's BAD_REQUEST, and above 4 MiB not an
    UNREACHABLE after every retry (the daemon drops such a connection)."""
    args = big_request(kind, tmp_path, size)
    t0 = time.monotonic()
    r = run(args, daemon)
    assert time.monotonic() - t0 < 2.0
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert "too large" in r.stderr and "1048576" in r.stderr
    assert "§2.1" in r.stderr and "nothing was sent" in r.stderr
    assert "UNREACHABLE" not in r.stderr
    j = run(args + ["--json"], daemon)
    assert j.returncode == 2
    assert json.loads(j.stderr)["error"]["code"] == "TOO_LARGE"


def test_a_request_just_under_the_limit_is_sent(daemon, tmp_path):
    r = run(big_request("save", tmp_path, 1024 * 1024 - 4096), daemon)
    assert r.returncode == 1, r.stderr          # the daemon's answer
    assert "TOO_LARGE" not in r.stderr and "too large" not in r.stderr


# -- the caseworker flow -------------------------------------------------------

def test_caseworker_flow_by_flags(daemon, tmp_path):
    h = Household()
    wf = start_by_flags(daemon, h)
    assert support.ULID.match(wf)

    view = ok(["show", wf], daemon).stdout
    lines = view.splitlines()
    assert lines[0].startswith("Workflow %s (open, v1)" % wf)
    assert "household %s" % h.household_id in lines[0]
    assert lines[1].startswith("Progress 0/7")
    assert re.search(r"\[Self \(head of household\)\] +%s +exiting" % h.hoh,
                     view)
    assert re.search(r"\[Head of household's child\] +%s +undecided  \(minor\)"
                     % h.child, view)
    assert "\u25b8 exit" in view and "\u2190 next" in view
    assert "Next: exit for %s" % h.hoh in view

    r = ok(["save", wf, h.hoh, "exit", "--data", json.dumps(exit_form())],
           daemon)
    assert "v2" in r.stdout and "next: universal_data" in r.stdout
    # started from flags: no prior values, so default_last is refused
    r = run(["save", wf, h.hoh, "universal_data", "--default-last"], daemon)
    assert r.returncode == 1
    assert "(field members[client_id=%s].last.universal_data: --default-last " \
        "(the member has no prior values for it: give them at start, a " \
        "file's \"last\" or --last FILE))" % h.hoh in r.stderr, r.stderr
    res = ok_json(["save", wf, h.hoh, "universal_data", "--data",
                   '{"disabling_condition": 0}', "--expected-version", "2"],
                  daemon)
    assert res["version"] == 3 and res["next_step"] == "health_insurance"
    data = tmp_path / "hi.json"
    data.write_text(json.dumps({"insurance_from_any_source": 1}))
    ok(["save", wf, h.hoh, "health_insurance", "--data", "@" + str(data)],
       daemon)
    ok(["save", wf, h.hoh, "disabilities", "--data", "@-"], daemon,
       input='{"physical": 0}')
    ok(["save", wf, h.hoh, "income_benefits", "--data",
        json.dumps(support.income({"earned": 1250.5}))], daemon)
    assert "staying" in ok(["decide", wf, h.spouse, "no"], daemon).stdout
    res = ok_json(["decide", wf, h.child, "yes"], daemon)
    assert res["decision"] == "exiting"
    for step in support.CHILD_STEPS:
        if step == "exit":
            ok(["save", wf, h.child, step, "--data", json.dumps(exit_form())],
               daemon)
        else:
            ok(["save", wf, h.child, step, "--data",
                json.dumps(support.assessment(step, 1))], daemon)

    view = ok(["show", wf], daemon).stdout
    assert "Next: finish, naming a staying member" in view
    r = run(["finish", wf], daemon)
    assert r.returncode == 1 and "new_head_of_household" in r.stderr
    res = ok_json(["finish", wf, "--new-hoh", h.spouse], daemon)
    assert res["state"] == "finished"

    view = ok(["show", wf], daemon).stdout
    assert "(finished, v" in view
    assert "Finished; new head of household %s" % h.spouse in view
    assert view.count("\u2714") == 9            # 5 + 4 steps done
    got = ok_json(["show", wf], daemon)
    assert got["state"] == "finished"
    assert got["new_head_of_household"] == h.spouse


def labels(daemon, name):
    """{code: label} of a code list, as hud.codes serves it."""
    codes = daemon.client().hud_codes()["lists"][name]["codes"]
    return {c["code"]: c["label"] for c in codes}


def test_start_by_flags_with_dates_of_birth_and_move_in(daemon):
    """--member carries a date of birth (the daemon works out who is an
    adult) and, after it, an adult flag that wins; --move-in-date for a
    permanent housing project."""
    h = support.Household(ages="birth_date", project_type=13,
                          move_in_days_ago=30)
    h.members[1]["adult"] = False           # a flag beside the date wins
    h.members[2].pop("birth_date")          # neither: the age is unknown
    wf = start_by_flags(daemon, h)
    view = ok_json(["show", wf], daemon)
    assert view["move_in_date"] == h.args["move_in_date"]
    got = {m["client_id"]: (m["age_basis"], m["adult"])
           for m in view["members"]}
    assert got == {h.hoh: ("birth_date", True),
                   h.spouse: ("adult_flag", False),
                   h.child: ("unknown", True)}
    for m in view["members"]:               # never shown, never in events
        assert "birth_date" not in m
    assert h.birth_date[h.hoh] not in json.dumps(view)
    text = ok(["show", wf], daemon).stdout
    head = text.splitlines()[0]
    assert "project %s (type 13 \"%s\")" % (
        h.project_id, labels(daemon, "project_type")[13]) in head
    assert "moved in %s" % h.args["move_in_date"] in head
    assert re.search(r"%s +undecided  \(minor\)" % h.spouse, text)
    assert re.search(r"%s +undecided  \(age unknown\)" % h.child, text)
    assert re.search(r"%s +exiting\n" % h.hoh, text)
    # a child by date of birth: not asked income and benefits
    kid = support.Household(ages="birth_date")
    kid.members[0]["birth_date"] = support.born(17, -300)
    wf = start_by_flags(daemon, kid)
    hoh = ok_json(["show", wf], daemon)["members"][0]
    assert (hoh["age_basis"], hoh["adult"]) == ("birth_date", False)


def test_start_by_flags_refusals_name_the_field(daemon):
    h = support.Household(ages="birth_date", move_in_days_ago=30)
    base = ["start", "--enrollment", h.enrollment[h.hoh], "--household",
            h.household_id, "--project", h.project_id]
    # a move-in date outside permanent housing (project type 1)
    r = run(base + ["--project-type", "1", "--move-in-date",
                    h.args["move_in_date"], "--json"] + member_flags(h), daemon)
    assert r.returncode == 1, r.stderr
    err = json.loads(r.stderr)["error"]
    assert (err["code"], err["field"]) == ("VALIDATION", "move_in_date")
    # a date of birth in the future
    h.members[0]["birth_date"] = day(5)
    r = run(base + ["--json"] + member_flags(h), daemon)
    assert r.returncode == 1, r.stderr
    err = json.loads(r.stderr)["error"]
    assert (err["code"], err["field"]) == (
        "VALIDATION", "members[client_id=%s].birth_date" % h.hoh)


def test_show_prints_hud_labels(daemon):
    """Destination with its category, rental subsidy type, relationship:
    HUD's labels (the protocol's tables, as hud.codes serves them)."""
    h = Household()
    c = daemon.client()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form(
        destination=435, destination_subsidy_type=431))
    c.decide(wf, h.child, True)
    c.save(wf, h.child, "exit", data=exit_form(destination=17,
                                               other_destination="couch"))
    text = ok(["show", wf], daemon).stdout
    codes = c.hud_codes()
    dest = {d["code"]: d for d in codes["destinations"]}
    subsidy = labels(daemon, "subsidy_type")
    # the exit form's fields by the daemon's labels (hud.codes)
    label = {f["name"]: f["label"] for f in codes["steps"][0]["fields"]}
    assert codes["steps"][0]["name"] == "exit"
    assert ('%s: %s; %s: 435 "%s" (permanent); %s: 431 "%s"'
            % (label["exit_date"], day(-1), label["destination"],
               dest[435]["label"], label["destination_subsidy_type"],
               subsidy[431])) in text
    assert dest[435]["category"] == "permanent"
    assert ('%s: 17 "%s" (other); %s: "couch"'
            % (label["destination"], dest[17]["label"],
               label["other_destination"])) in text
    relationship = labels(daemon, "relationship")
    for cid, code in ((h.hoh, 1), (h.spouse, 3), (h.child, 2)):
        assert re.search(r"\[%s\] +%s " % (re.escape(relationship[code]), cid),
                         text), (code, text)
    # the saved codes stay codes in --json
    exit_data = [s for s in ok_json(["show", wf], daemon)["members"][0]["steps"]
                 if s["name"] == "exit"][0]["data"]
    assert exit_data["destination"] == 435


def test_codes(daemon):
    codes = daemon.client().hud_codes()
    assert ok_json(["codes"], daemon) == codes
    text = ok(["codes"], daemon).stdout
    lines = text.splitlines()
    for d in codes["destinations"]:
        row = [l for l in lines if re.match(r"  %d +%s +" % (d["code"],
                                                           d["category"]), l)]
        assert len(row) == 1 and d["label"] in row[0], d
    assert "[needs a rental subsidy type, 3.12.A]" in \
        [l for l in lines if l.startswith("  435 ")][0]
    for name, lst in codes["lists"].items():
        assert "%s (HUD %s)" % (name, lst["element"]) in lines
        for code in lst["codes"]:
            assert re.search(r"^  %d +%s$" % (code["code"],
                                               re.escape(code["label"])),
                             text, re.M), (name, code)
    for step in codes["steps"]:
        assert any(l.startswith("step %s (HUD %s" % (step["name"],
                                                     step["elements"]))
                   for l in lines)
        for f in step["fields"]:
            row = [l for l in lines if l.startswith("  %s " % f["name"])]
            assert row, f
            assert f["element"] in row[0]
            if f["column"]:
                assert f["column"] in row[0]
            if f["list"]:
                assert "code: %s" % f["list"] in row[0]
            if f["pair"]:
                assert " %s " % f["pair"] in row[0]
            # the daemon's label, last: no label spelled from the name
            assert row[0].rstrip().endswith("  " + f["label"]), f
    assert "step income_benefits (HUD 4.02, 4.03; adults and heads of " \
        "household only; default last allowed)" in lines
    assert codes["local_prefix"] in lines[-1]
    # one section by name, as text and as JSON
    only = ok(["codes", "relationship"], daemon).stdout.splitlines()
    assert only[0] == "relationship (HUD 3.15)"
    assert len(only) == 1 + len(codes["lists"]["relationship"]["codes"])
    assert ok_json(["codes", "destinations"], daemon) == codes["destinations"]
    assert ok_json(["codes", "subsidy_type"], daemon) == \
        codes["lists"]["subsidy_type"]
    step = ok(["codes", "health_insurance"], daemon).stdout.splitlines()
    assert step[0].startswith("step health_insurance (HUD 4.04")
    assert len(step) == 2 + len([s for s in codes["steps"] if s["name"] ==
                                 "health_insurance"][0]["fields"])
    r = run(["codes", "bogus"], daemon)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("exitflow codes: no section 'bogus'")


def test_show_columns_line_up(daemon):
    h = Household()
    wf = h.start(daemon.client())
    c = daemon.client()
    c.save(wf, h.hoh, "exit", data=exit_form())
    c.save(wf, h.hoh, "universal_data", mode="default_last")
    c.decide(wf, h.child, True)
    view = ok(["show", wf], daemon).stdout.splitlines()
    steps = [l for l in view if l.startswith("    ") and l[4] != " "]
    # the saved exit form, in words, under its step
    assert view[view.index(steps[0]) + 1].startswith("        Project exit "
                                                     "date: ")
    marks = [l[4] for l in steps]
    assert marks.count("\u2714") == 2 and marks.count("\u25b8") == 2
    # the annotations of done and next steps start in one column
    annotated = [l for l in steps if "(" in l or "\u2190" in l]
    starts = {len(re.match(r"    . \S+ +", l).group(0)) for l in annotated}
    assert len(starts) == 1, steps
    member_lines = [l for l in view if l.startswith("  [")]
    cid_cols = {l.index("C-") for l in member_lines}
    assert len(cid_cols) == 1, member_lines
    assert "(default last" in "\n".join(view)


def test_start_from_file(daemon, tmp_path):
    h = Household()
    f = tmp_path / "household.json"
    f.write_text(json.dumps(h.args))
    r = ok(["start", "--file", str(f)], daemon)
    m = re.search(r"Started workflow (\S+) \(v1\)", r.stdout)
    assert m and support.ULID.match(m.group(1))
    assert ok_json(["show", m.group(1)], daemon)["household_id"] == \
        h.household_id
    # the same household again: refused, naming the open workflow
    r = run(["start", "--file", str(f)], daemon)
    assert r.returncode == 1
    assert "CONFLICT" in r.stderr and m.group(1) in r.stderr
    r = run(["start", "--file", str(f), "--json"], daemon)
    err = json.loads(r.stderr)["error"]
    assert err["code"] == "CONFLICT" and err["workflow_id"] == m.group(1)


def test_refusals_exit_1(daemon):
    h = Household()
    wf = h.start(daemon.client())
    r = run(["save", wf, h.hoh, "exit", "--data",
             json.dumps(exit_form(destination=9999))], daemon)
    assert r.returncode == 1
    assert "VALIDATION" in r.stderr and "destination" in r.stderr
    assert r.stdout == ""
    r = run(["save", wf, h.hoh, "exit", "--json", "--data",
             json.dumps(exit_form(exit_date=day(3)))], daemon)
    assert r.returncode == 1
    err = json.loads(r.stderr)
    assert err["error"]["code"] == "VALIDATION"
    assert err["error"]["field"] == \
        "members[client_id=%s].steps.exit.exit_date" % h.hoh
    r = run(["show", support.UNKNOWN_WF], daemon)
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    r = run(["save", wf, h.hoh, "exit", "--default-last"], daemon)
    assert r.returncode == 1
    assert "(field members[client_id=%s].steps.exit.mode: --default-last)" \
        % h.hoh in r.stderr, r.stderr
    r = run(["cancel", wf, "--reason", "x", "--expected-version", "5"], daemon)
    assert r.returncode == 1 and "CONFLICT" in r.stderr
    assert "current version 1" in r.stderr
    assert "cancelled" in ok(["cancel", wf, "--reason", "entered twice"],
                             daemon).stdout.lower()
    r = run(["decide", wf, h.spouse, "yes"], daemon)
    assert r.returncode == 1 and "INVALID_STATE" in r.stderr


# -- operations ----------------------------------------------------------------

def test_list_table_idle_and_json(daemon):
    project = uniq("P-list")
    hs = [Household(project_id=project) for _ in range(2)]
    c = daemon.client()
    wfs = [h.start(c) for h in hs]
    time.sleep(0.01)        # the save must not share a millisecond with them
    c.save(wfs[1], hs[1].hoh, "exit", data=exit_form())
    time.sleep(1.2)
    r = ok(["list", "--state", "open", "--idle", "1s", "--project", project],
           daemon)
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "PROJECT", "HOUSEHOLD",
                                "CASEWORKER", "STARTED", "LAST", "ACTIVITY",
                                "PROGRESS", "IDLE", "STALLED"]
    assert len(lines) == 4
    assert lines[3].startswith("times in ")
    rows = lines[1:3]
    assert [l.split()[0] for l in rows] == wfs   # oldest-idle first
    head = columns(lines[0])
    for line in rows:
        assert columns(line) == head, (lines[0], line)
        assert re.search(r" \d+s +no$", line)
        assert line.split()[1] == "open"
    assert " 0/7 " in rows[0] and " 1/7 " in rows[1]

    items = ok_json(["list", "--project", project], daemon)["workflows"]
    assert [w["workflow_id"] for w in items] == wfs
    assert items[1]["progress"] == {"done": 1, "total": 7}
    assert "No open workflows" in ok(["list", "--project", project, "--idle",
                                      "1h"], daemon).stdout
    assert ok_json(["list", "--project", project, "--idle", "1d"],
                   daemon)["workflows"] == []
    limited = ok_json(["list", "--project", project, "--limit", "1"], daemon)
    assert len(limited["workflows"]) == 1


def test_list_pages_through_everything(daemon):
    project = uniq("P-many")
    c = daemon.client()
    wfs = {Household(project_id=project).start(c) for _ in range(5)}
    # ties on updated_at have no defined order: compare with the daemon's
    # own paging, as the Python client follows it
    expected = [w["workflow_id"] for w in
                c.list_all("open", project_id=project, limit=2)]
    assert set(expected) == wfs
    got = ok_json(["list", "--project", project, "--page-size", "2"],
                  daemon)["workflows"]
    assert [w["workflow_id"] for w in got] == expected
    table = ok(["list", "--project", project, "--page-size", "2"],
               daemon).stdout.splitlines()
    assert [l.split()[0] for l in table[1:-1]] == expected
    got = ok_json(["list", "--project", project, "--page-size", "2",
                   "--limit", "3"], daemon)["workflows"]
    assert [w["workflow_id"] for w in got] == expected[:3]


def test_history_consumers_stats_ping(daemon):
    h = Household()
    c = daemon.client()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    lines = ok(["history", wf], daemon).stdout.splitlines()
    assert len(lines) == 2
    assert "workflow.started" in lines[0] and "step.completed" in lines[1]
    assert " step exit mode entered version 2 data {exit_date %s " % day(-1) \
        in lines[1]
    events = ok_json(["history", wf], daemon)["events"]
    assert [e["type"] for e in events] == ["workflow.started",
                                          "step.completed"]
    assert int(lines[0].split()[0]) == events[0]["seq"]

    last = c.stats()["last_seq"]
    name = uniq("cli-consumer")
    assert "lag 1" in ok(["ack", name, str(last - 1)], daemon).stdout
    table = ok(["consumers"], daemon).stdout.splitlines()
    assert table[0].split() == ["CONSUMER", "SEQ", "LAG", "LAST", "ACK",
                                "IDLE"]
    row = [l for l in table if l.startswith(name)]
    assert row and row[0].split()[1:3] == [str(last - 1), "1"]
    assert re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d +\d+s$", row[0]), row
    assert columns(row[0]) == columns(table[0])
    assert table[-2].startswith("times in ") and table[-1].startswith("last seq")
    listed = [e for e in ok_json(["consumers"], daemon)["consumers"]
              if e["consumer"] == name]
    assert len(listed) == 1 and support.RFC3339_MS.match(listed[0]["acked_at"])
    assert {k: listed[0][k] for k in ("consumer", "seq", "lag")} == \
        {"consumer": name, "seq": last - 1, "lag": 1}
    r = run(["ack", name, str(last + 100)], daemon)
    assert r.returncode == 1 and "VALIDATION" in r.stderr

    stats = ok(["stats"], daemon).stdout
    assert re.search(r"open \d+ +finished \d+ +cancelled \d+", stats)
    assert "last seq" in stats
    assert ok_json(["stats"], daemon)["last_seq"] >= last
    assert "pong" in ok(["ping"], daemon).stdout
    assert ok_json(["ping"], daemon) == {"pong": True,
                                         "version": "exitflow/1"}


def test_dq_report(daemon):
    h = Household()
    wf = h.start(daemon.client())
    findings = [{"rule": "destination-dk", "severity": "warning",
                 "client_id": h.hoh, "message": "destination is don't know"}]
    r = ok(["dq", wf, "--source", "cli", "--findings", json.dumps(findings)],
           daemon)
    assert "1 finding" in r.stdout
    view = ok(["show", wf], daemon).stdout
    assert "DQ: warning destination-dk (%s): destination is don't know" % \
        h.hoh in view
    # a finding about a step is shown under that step of its member; one
    # about the household at the end
    findings = [dict(findings[0], step="exit"),
                {"rule": "household", "severity": "error", "message": "hh"}]
    ok(["dq", wf, "--source", "cli", "--findings", json.dumps(findings)],
       daemon)
    lines = ok(["show", wf], daemon).stdout.splitlines()
    at = [i for i, l in enumerate(lines)
          if l.startswith("        DQ: warning destination-dk (%s): " % h.hoh)]
    assert len(at) == 1, lines
    above = [l for l in lines[:at[0]] if re.match(r"    \S ", l)]
    assert above[-1].split()[1] == "exit", lines
    assert lines[-1] == "DQ: error household: hh  [cli]", lines
    assert not [l for l in lines if l.startswith("DQ: warning")], lines
    assert ok_json(["dq", wf, "--source", "cli", "--findings", "[]"],
                   daemon)["count"] == 0
    assert "DQ: no findings" in ok(["show", wf], daemon).stdout


def test_actor_is_recorded(daemon):
    h = Household()
    wf = start_by_flags(daemon, h)
    ok(["save", wf, h.hoh, "exit", "--actor", "cw-17", "--data",
        json.dumps(exit_form())], daemon)
    events = daemon.client().history(wf)["events"]
    assert events[1]["actor"] == "cw-17"
    ok(["save", wf, h.hoh, "universal_data", "--data", "{}"], daemon,
       env=dict(env_for(daemon), EXITFLOW_ACTOR="cw-18"))
    assert daemon.client().history(wf)["events"][2]["actor"] == "cw-18"


# -- a CLI that teaches (issue 10, item 3) -------------------------------------

def example_file():
    r = run(["start", "--example"])        # nothing is sent: no daemon
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return r.stdout, json.loads(r.stdout)


def test_start_example_starts_a_workflow_unchanged(daemon):
    text, doc = example_file()
    assert doc["project_id"] == "demo"
    assert json.loads(example_file()[0])["household_id"] != doc["household_id"]
    r = ok(["start", "--file", "-"], daemon, input=text)
    wf = re.search(r"Started workflow (\S+) \(v1\)", r.stdout).group(1)
    c = daemon.client()
    view = c.get(wf)
    for key in ("enrollment_id", "household_id", "project_id", "project_type",
                "move_in_date"):
        assert view[key] == doc[key], key
    assert [(m["client_id"], m["enrollment_id"], m["relationship"],
             m["entry_date"]) for m in view["members"]] == \
        [(m["client_id"], m["enrollment_id"], m["relationship"],
          m["entry_date"]) for m in doc["members"]]
    assert [(m["age_basis"], m["adult"]) for m in view["members"]] == [
        ("birth_date", True), ("birth_date", True), ("birth_date", False)]
    # its prior values are there for Default Last
    hoh = doc["members"][0]
    ok(["save", wf, hoh["client_id"], "exit", "--data",
        json.dumps(exit_form())], daemon)
    for step in ("universal_data", "health_insurance", "disabilities",
                 "income_benefits"):
        ok(["save", wf, hoh["client_id"], step, "--default-last"], daemon)
        assert support.step_of(c.get(wf), hoh["client_id"], step)["data"] \
            == hoh["last"][step], step
    # the same file from a path, once the first exit is closed
    c.cancel(wf, "tried the example")
    f = Path(daemon.base_dir) / "example.json"
    f.write_text(text)
    ok(["start", "--file", str(f)], daemon)
    # --example goes alone
    r = run(["start", "--example", "--household", "H"])
    assert r.returncode == 2 and "--example" in r.stderr


def flags_of(doc, ages):
    """start's flags for the household file `doc`; `ages` says, per member,
    how its age is given: "birth_date", "adult=true" or "adult=false"."""
    args = ["start", "--enrollment", doc["enrollment_id"], "--household",
            doc["household_id"], "--project", doc["project_id"],
            "--project-type", str(doc["project_type"]), "--move-in-date",
            doc["move_in_date"]]
    for m, age in zip(doc["members"], ages):
        spec = "%s:%s:%d:%s:" % (m["client_id"], m["enrollment_id"],
                                 m["relationship"], m["entry_date"])
        spec += "birth_date=" + m["birth_date"] if age == "birth_date" else age
        args += ["--member", spec]
    return args


@pytest.mark.parametrize("last_form", ["household file", "by client"])
def test_start_flags_agree_with_the_file(daemon, tmp_path, last_form):
    """--member says birth_date= and adult= as the file does, and --last
    FILE gives a household started from flags its prior values."""
    text, doc = example_file()
    last = tmp_path / "last.json"
    if last_form == "household file":
        last.write_text(text)
    else:
        last.write_text(json.dumps({m["client_id"]: m["last"]
                                    for m in doc["members"]}))
    args = flags_of(doc, ["birth_date", "adult=true", "adult=false"])
    wf = ok_json(args + ["--last", str(last)], daemon)["workflow_id"]
    c = daemon.client()
    view = c.get(wf)
    assert [(m["age_basis"], m["adult"]) for m in view["members"]] == [
        ("birth_date", True), ("adult_flag", True), ("adult_flag", False)]
    hoh = doc["members"][0]
    ok(["save", wf, hoh["client_id"], "exit", "--data",
        json.dumps(exit_form())], daemon)
    ok(["save", wf, hoh["client_id"], "disabilities", "--default-last"],
       daemon)
    assert support.step_of(c.get(wf), hoh["client_id"], "disabilities")[
        "data"] == hoh["last"]["disabilities"]


def test_start_flags_without_last_and_bad_last_files(daemon, tmp_path):
    text, doc = example_file()
    args = flags_of(doc, ["birth_date"] * 3)
    # without --last: Default Last has nothing to copy, and says which flag
    wf = ok_json(args, daemon)["workflow_id"]
    hoh = doc["members"][0]["client_id"]
    ok(["save", wf, hoh, "exit", "--data", json.dumps(exit_form())], daemon)
    r = run(["save", wf, hoh, "universal_data", "--default-last"], daemon)
    assert r.returncode == 1 and "--default-last" in r.stderr, r.stderr
    daemon.client().cancel(wf, "no prior values")
    # a --last naming someone else, or not prior values: usage, nothing sent
    stranger = tmp_path / "stranger.json"
    stranger.write_text(json.dumps({"C-nobody": {"universal_data": {}}}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({hoh: [1, 2]}))
    for path, why in ((stranger, "client C-nobody is not a --member"),
                      (bad, "not a JSON object"),
                      (tmp_path / "missing.json", "cannot read")):
        r = run(args + ["--last", str(path)], daemon)
        assert r.returncode == 2 and why in r.stderr, (path, r.stderr)
    assert daemon.client().list(household_id=doc["household_id"],
                                state="open")["workflows"] == []


def test_refusals_name_the_flag_and_the_client(daemon):
    """A refusal printed for people names the field's path (by client id)
    and the flag it came from; --json keeps the daemon's error as it is."""
    h = Household(ages="birth_date")
    h.members[1]["birth_date"] = day(3)          # in the future
    r = run(["start", "--enrollment", h.enrollment[h.hoh], "--household",
             h.household_id, "--project", h.project_id] + member_flags(h),
            daemon)
    assert r.returncode == 1
    assert "(field members[client_id=%s].birth_date: --member " \
        "...:birth_date=YYYY-MM-DD)" % h.spouse in r.stderr, r.stderr
    assert "client %s" % h.spouse in r.stderr
    # from a file the fields are the file's own: no flag to name
    f = Path(daemon.base_dir) / ("future-%s.json" % h.household_id)
    f.write_text(json.dumps(h.args))
    r = run(["start", "--file", str(f)], daemon)
    assert r.returncode == 1
    assert "(field members[client_id=%s].birth_date)" % h.spouse in r.stderr

    h = Household()
    c = daemon.client()
    wf = h.start(c)
    r = run(["save", wf, h.hoh, "exit", "--data",
             json.dumps(exit_form(destination=999))], daemon)
    assert r.returncode == 1
    assert "(field members[client_id=%s].steps.exit.destination: " \
        "\"destination\" in --data)" % h.hoh in r.stderr, r.stderr
    assert "hud.codes" in r.stderr
    support.complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    r = run(["finish", wf], daemon)
    assert r.returncode == 1
    assert "(field new_head_of_household: --new-hoh)" in r.stderr, r.stderr
    err = json.loads(run(["finish", wf, "--json"], daemon).stderr)["error"]
    assert err["field"] == "new_head_of_household" and "--new-hoh" not in \
        json.dumps(err)


def test_show_on_closed_exits_offers_nothing_next(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    c.cancel(wf, "entered twice")
    text = ok(["show", wf], daemon).stdout
    assert "(cancelled, v3)" in text and "Cancelled: entered twice" in text
    for nothing in ("\u25b8", "\u2190 next", "Next:", "exitflow save"):
        assert nothing not in text, nothing
    assert "\u00b7 universal_data" in text

    h = Household()
    wf = h.start(c)
    support.complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, True)
    support.complete_member(c, wf, h.child, steps=support.CHILD_STEPS)
    c.finish(wf, new_head_of_household=h.spouse)
    text = ok(["show", wf], daemon).stdout
    assert "(finished, " in text
    for nothing in ("\u25b8", "\u2190 next", "Next:", "\u00b7 "):
        assert nothing not in text, nothing


def test_show_offers_only_what_the_step_allows(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    nxt = [l for l in ok(["show", wf], daemon).stdout.splitlines()
           if l.startswith("Next:")]
    assert nxt == ["Next: exit for %s  (exitflow save %s %s exit --data JSON;"
                   " fields: exitflow codes exit)" % (h.hoh, wf, h.hoh)]
    c.save(wf, h.hoh, "exit", data=exit_form())
    nxt = [l for l in ok(["show", wf], daemon).stdout.splitlines()
           if l.startswith("Next:")]
    assert nxt == ["Next: universal_data for %s  (exitflow save %s %s "
                   "universal_data --data JSON | --default-last; fields: "
                   "exitflow codes universal_data)" % (h.hoh, wf, h.hoh)]


def local_minute(rfc3339, zone):
    """`rfc3339` as "YYYY-MM-DD HH:MM" in `zone`."""
    import zoneinfo
    t = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return t.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def test_times_are_the_cocs_and_say_so(make_daemon):
    """show and list print times in the daemon's zone (stats timezone),
    named, whatever the CLI's own; where stats is refused (a frontend
    certificate) in the CLI's own zone, named too."""
    zone = "America/Chicago"
    d = make_daemon(extra_args=["--timezone", zone])
    c = d.client()
    h = Household(project_id=uniq("P-zone"))
    wf = h.start(c)
    created = c.get(wf)["created_at"]
    text = ok(["show", wf], d).stdout           # the CLI runs with TZ=UTC
    assert "times in %s" % zone in text
    assert "started %s" % local_minute(created, zone) in text.splitlines()[0]
    table = ok(["list", "--project", h.project_id], d).stdout.splitlines()
    assert table[-1] == "times in %s" % zone
    assert local_minute(created, zone) in table[1]
    fe = env_for(d)
    fe.update(d.cli_env("frontend"))
    text = run(["show", wf], d, env=fe).stdout
    assert "times in UTC" in text
    assert "started %s" % local_minute(created, "UTC") in text.splitlines()[0]


def event_lines(text, wf):
    return [l for l in text.splitlines() if wf in l]


def test_events_tail_and_history_say_what_happened(daemon):
    """One readable line per event, codes with their HUD labels (as
    hud.codes serves them), never sizes; --json the raw events."""
    c = daemon.client()
    codes = c.hud_codes()
    dest = {d["code"]: d["label"] for d in codes["destinations"]}
    rel = labels(daemon, "relationship")
    yes_no = labels(daemon, "no_yes_reasons")
    h = Household()
    first = c.stats()["last_seq"]
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form(destination=435,
                                             destination_subsidy_type=431))
    c.save(wf, h.hoh, "universal_data", data=support.universal(1))
    for step in ("health_insurance", "disabilities", "income_benefits"):
        c.save(wf, h.hoh, step, mode="default_last")
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    c.finish(wf, new_head_of_household=h.spouse)
    hist = ok(["history", wf], daemon).stdout
    tail = ok(["events", "tail", "--from", str(first), "--no-follow"],
              daemon).stdout
    assert event_lines(tail, wf) == hist.splitlines()
    lines = {l.split()[2] + ("" if l.split()[2] != "step.completed"
                             else ":" + l.split()[6]): l
             for l in hist.splitlines()}
    started = lines["workflow.started"]
    assert "household_id %s project_id %s project_type 1 (%s)" % (
        h.household_id, h.project_id, labels(daemon, "project_type")[1]) \
        in started
    assert "{client_id %s relationship 1 (%s) decision exiting}" % (
        h.hoh, rel[1]) in started
    assert "{client_id %s relationship 2 (%s) decision undecided}" % (
        h.child, rel[2]) in started
    saved = lines["step.completed:exit"]
    assert "step exit mode entered version 2 data {exit_date %s destination " \
        "435 (%s) " % (day(-1), dest[435]) in saved
    assert "destination_subsidy_type 431 (%s)" % labels(
        daemon, "subsidy_type")[431] in saved
    assert "data {disabling_condition 1 (%s)}" % yes_no[1] in \
        lines["step.completed:universal_data"]
    assert "mode default_last" in lines["step.completed:disabilities"]
    exited = lines["member.exited"]
    assert exited.split()[4] == h.hoh
    assert "relationship 1 (%s) exit_date %s destination 435 (%s) " \
        "destination_subsidy_type 431 (" % (rel[1], day(-1), dest[435]) \
        in exited
    assert 'exit_reason "Moved in with a lease"' in exited
    assert [l.split(None, 5)[4:] for l in hist.splitlines()
            if " member.decided " in l] == [
        [h.spouse, "decision staying version 7"],
        [h.child, "decision staying version 8"]]
    assert "exited %s staying %s,%s new_head_of_household %s" % (
        h.hoh, h.spouse, h.child, h.spouse) in lines["workflow.finished"]
    for line in hist.splitlines():
        assert not re.search(r"=[\[{]|[\[{]\d+[\]}]", line), line
    # --json: the events as they are
    raw = [json.loads(l) for l in ok(
        ["events", "tail", "--from", str(first), "--no-follow", "--json"],
        daemon).stdout.splitlines()]
    assert [e for e in raw if e["workflow_id"] == wf] == \
        ok_json(["history", wf], daemon)["events"]


# -- finding exits (issue 10, item 1) -------------------------------------------

def table_rows(text):
    """{workflow id: cells} of a list table (cells split on 2+ blanks)."""
    rows = {}
    for line in text.splitlines()[1:]:
        cells = re.split(r"  +", line.strip())
        if support.ULID.match(cells[0]):
            rows[cells[0]] = cells
    return rows


def test_list_finds_a_households_and_a_clients_exits(daemon):
    c = daemon.client()
    h = Household(project_id=uniq("P-find"))
    wf_cancelled = h.start(c)
    c.cancel(wf_cancelled, "started twice")
    wf_done = h.start(c)
    support.complete_member(c, wf_done, h.hoh)
    c.decide(wf_done, h.spouse, False)
    c.decide(wf_done, h.child, False)
    c.finish(wf_done, new_head_of_household=h.spouse)
    wf_open = h.start(c)
    want = [wf_open, wf_done, wf_cancelled]
    for flag, value in (("--household", h.household_id),
                        ("--client", h.child),
                        ("--enrollment", h.enrollment[h.spouse])):
        text = ok(["list", flag, value], daemon).stdout
        rows = table_rows(text)
        assert list(rows) == want, (flag, text)
        assert [rows[w][1] for w in want] == ["open", "finished", "cancelled"]
        assert ok_json(["list", flag, value, "--state", "open"],
                       daemon)["workflows"][0]["workflow_id"] == wf_open
        assert [w["workflow_id"] for w in ok_json(
            ["list", flag, value], daemon)["workflows"]] == want
    assert ok(["list", "--client", uniq("C-nobody")], daemon).stdout \
        .startswith("No workflows with client C-nobody-")
    # the sandbox: left out, and said so, unless asked
    sandbox = Household(project_id="demo")
    wf_demo = sandbox.start(c)
    text = ok(["list", "--client", sandbox.hoh], daemon).stdout
    assert text == "No workflows with client %s.\n(1 in project demo left " \
        "out: --include-demo shows them)\n" % sandbox.hoh
    for asked in (["--include-demo"], ["--project", "demo"]):
        assert list(table_rows(ok(["list", "--client", sandbox.hoh] + asked,
                                  daemon).stdout)) == [wf_demo]


def test_list_mine_and_the_caseworker_column(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c, actor="cw-mine-1")
    me = uniq("cw-me")
    c.save(wf, h.hoh, "exit", data=exit_form(), actor=me)
    mine = table_rows(ok(["--actor", me, "list", "--mine"], daemon).stdout)
    assert list(mine) == [wf]
    assert mine[wf][4] == "cw-mine-1/%s" % me
    env = env_for(daemon, EXITFLOW_ACTOR=me)
    assert list(table_rows(ok(["list", "--mine"], daemon, env=env).stdout)) \
        == [wf]
    assert wf in table_rows(ok(["list", "--caseworker", "cw-mine-1"],
                               daemon).stdout)
    # someone else changes it last: still the starter's, no longer mine
    c.save(wf, h.hoh, "universal_data", data=support.universal(),
           actor="cw-mine-1")
    assert ok(["list", "--mine"], daemon, env=env).stdout == \
        "No workflows started or last changed by %s.\n" % me
    assert table_rows(ok(["list", "--caseworker", "cw-mine-1"],
                         daemon).stdout)[wf][4] == "cw-mine-1"
    # without an actor --mine cannot know who "me" is
    r = run(["list", "--mine"], daemon)
    assert r.returncode == 2 and r.stdout == ""
    assert "--actor ID" in r.stderr and "EXITFLOW_ACTOR" in r.stderr


def test_list_stalled(make_daemon):
    d = make_daemon(stall_after=2)
    c = d.client()
    h = Household(project_id=uniq("P-stall"))
    wf = h.start(c)
    support.wait_for(lambda: c.get(wf)["stalled"], timeout=15,
                     what="the stall")
    fresh = Household(project_id=h.project_id).start(c)     # 2 s to stall
    rows = table_rows(ok(["list", "--stalled", "--project", h.project_id],
                         d).stdout)
    assert list(rows) == [wf] and rows[wf][-1] == "yes"
    rows = table_rows(ok(["list", "--project", h.project_id], d).stdout)
    assert rows[wf][-1] == "yes" and rows[fresh][-1] == "no"


# -- consumers can be retired (issue 10, item 5) ---------------------------------

def test_consumers_delete(make_daemon):
    """admin deletes any consumer; ops only one idle past the daemon's
    limit, and before it the refusal says how long and the limit."""
    d = make_daemon(extra_args=["--consumer-retire-after", "2"])
    c = d.client()
    Household().start(c)
    for name in ("spare-1", "old-1"):
        c.consumer_ack(name, 1)
    ops = env_for(d)
    ops.update(d.cli_env("ops"))
    r = run(["consumers", "--delete", "spare-1"], d, env=ops)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("exitflow consumers: FORBIDDEN: ")
    assert re.search(r"consumer spare-1 last acked \d+s ago; ops may delete "
                     r"only a consumer idle for more than 2s", r.stderr)
    assert r.stderr.rstrip().endswith("(field consumer: --delete NAME)")
    assert "spare-1" in ok(["consumers"], d).stdout
    assert ok(["consumers", "--delete", "spare-1"], d).stdout == \
        "Deleted consumer spare-1.\n"
    assert "spare-1" not in ok(["consumers"], d).stdout
    r = run(["consumers", "--delete", "spare-1"], d)
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    time.sleep(2.5)
    assert ok_json(["consumers", "--delete", "old-1"], d, env=ops) == \
        {"consumer": "old-1", "deleted": True}
    assert "old-1" not in ok(["consumers"], d).stdout


# -- dq-report: the DQ worker's report mode ------------------------------------
# The summary is made by `exitflow-dq report` (the DQ rules are the workers'
# code); the CLI finds that program and runs it in its place. A stub stands
# in for it here: what it is given and how it ends is what is checked. The
# report itself is tested with the workers (tests/workers/test_dq_report.py).

STUB = """#!/bin/sh
printf '%s\\n' "$0" "$@"
echo "stub stderr" >&2
exit 5
"""


def stub_program(directory, name="exitflow-dq"):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(STUB)
    path.chmod(0o755)
    return path


def cli_copy(directory):
    """The CLI alone in `directory`, so nothing is found beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "exitflow"
    path.write_bytes(Path(CLI).read_bytes())
    path.chmod(0o755)
    return str(path)


def report_env(**extra):
    env = env_for(None, **extra)
    env.pop("EXITFLOW_DQ", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def test_dq_report_hands_over_to_exitflow_dq_report(tmp_path):
    stub = stub_program(tmp_path)
    env = report_env(EXITFLOW_DQ=stub, EXITFLOW_ENDPOINT="tcp://10.0.0.1:1",
                     EXITFLOW_TIMEOUT_MS=700, EXITFLOW_RETRIES=4)
    args = ["--project", "P-A", "--from=2024-01-01", "--to", "2024-12-31",
            "--retries", "2", "--actor", "cw-1", "--", "-h"]
    r = subprocess.run([CLI, "--json", "dq-report"] + args, env=env,
                       capture_output=True, text=True, timeout=30)
    # the program's own status and output, untouched
    assert r.returncode == 5 and r.stderr == "stub stderr\n"
    # what was resolved before the name (environment, options before it)
    # explicitly, then the subcommand's words as given: the last one wins
    assert r.stdout.splitlines() == [
        str(stub), "report", "--endpoint", "tcp://10.0.0.1:1",
        "--timeout", "700", "--retries", "4", "--json"] + args


def test_dq_report_help_is_the_clis_own(tmp_path):
    env = report_env(EXITFLOW_DQ=stub_program(tmp_path))
    for args in (["--help"], ["--project", "P", "-h"]):
        r = subprocess.run([CLI, "dq-report"] + args, env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "stub" not in r.stdout + r.stderr
        assert r.stdout.startswith("usage: exitflow dq-report ")


def test_dq_report_finds_exitflow_dq_beside_itself_then_on_path(tmp_path):
    cli = cli_copy(tmp_path / "bin")
    elsewhere = stub_program(tmp_path / "elsewhere")
    env = report_env(PATH="%s:%s" % (elsewhere.parent, os.environ["PATH"]))
    r = subprocess.run([cli, "dq-report"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 5
    assert r.stdout.splitlines()[:2] == [str(elsewhere), "report"]
    beside = stub_program(tmp_path / "bin")
    r = subprocess.run([cli, "dq-report"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 5
    assert r.stdout.splitlines()[0] == str(beside)


def test_dq_report_without_exitflow_dq_says_where_it_looked(tmp_path):
    cli = cli_copy(tmp_path / "bin")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = subprocess.run([cli, "dq-report"], env=report_env(PATH=str(empty)),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3 and r.stdout == ""
    assert r.stderr.startswith("exitflow dq-report: ")
    for place in ("exitflow-dq report", "EXITFLOW_DQ", "beside", "PATH"):
        assert place in r.stderr
    r = subprocess.run([cli, "dq-report"],
                       env=report_env(EXITFLOW_DQ=tmp_path / "no-such"),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3
    assert "EXITFLOW_DQ=%s" % (tmp_path / "no-such") in r.stderr


# -- the demo ------------------------------------------------------------------

def demo_events(out):
    """(count, workflow id) of the demo's finished exit, from its text."""
    m = re.search(r"(\d+) events recorded for workflow (\S+)", out)
    assert m, out
    return int(m.group(1)), m.group(2)


def test_demo_end_to_end(daemon):
    """Without a DQ worker (no consumer dq): the demo says so and files no
    finding itself; everything is in project demo, which list leaves out
    unless asked."""
    assert "dq" not in [e["consumer"] for e in
                        daemon.client().consumer_list()["consumers"]]
    before = daemon.client().stats()["last_seq"]
    t0 = time.monotonic()
    r = ok(["demo"], daemon)
    assert time.monotonic() - t0 < 4.0      # not waiting for a missing worker
    out = r.stdout
    assert re.search(r"^ +1\. start the exit", out, re.M)
    assert "(finished, v13)" in out
    assert out.count("\u2714") == 9
    assert "Finished; new head of household" in out
    assert "No data-quality findings: the DQ worker is not running: there " \
        "is no consumer dq" in out
    assert "DQ: no findings" in out and "demo-dq" not in out
    assert "project demo " in out and "times in " in out
    n, wf = demo_events(out)
    assert n == 15
    left = re.search(r"Left open for you to explore: workflow (\S+)", out)
    assert left
    assert "exitflow list --include-demo" in out
    c = daemon.client()
    view = c.get(wf)
    assert view["state"] == "finished" and view["project_id"] == "demo"
    assert view["dq"] == []
    assert c.get(left.group(1))["project_id"] == "demo"
    assert c.stats()["last_seq"] == before + 15 + 3
    assert [e["type"] for e in c.history(wf)["events"]].count(
        "dq.reported") == 0
    # list leaves the sandbox out unless asked
    listed = [w["workflow_id"] for w in
              ok_json(["list", "--state", "open"], daemon)["workflows"]]
    assert left.group(1) not in listed
    for asked in (["--include-demo"], ["--project", "demo"]):
        listed = [w["workflow_id"] for w in ok_json(
            ["list", "--state", "open"] + asked, daemon)["workflows"]]
        assert left.group(1) in listed, asked
    # a second run works against the same daemon (fresh ids)
    doc = ok_json(["demo", "--dq-wait", "0"], daemon)
    assert doc["events"] == 15 and doc["view"]["state"] == "finished"
    assert doc["open_workflow_id"] != left.group(1)
    assert doc["dq_worker"]["ran"] is False


def caught_up(c, consumer, timeout=20):
    """Waits until `consumer` has processed every event of the log."""
    def done():
        last = c.stats()["last_seq"]
        return any(e["consumer"] == consumer and e["seq"] >= last
                   for e in c.consumer_list()["consumers"])
    support.wait_for(done, timeout=timeout, what="%s caught up" % consumer)


def test_demo_with_the_dq_worker_leaves_dq_report_unchanged(make_daemon,
                                                             workers):
    """With the real DQ worker running, the demo prints what it made of the
    exit (the demo invents nothing), and `exitflow dq-report` reads the
    same before and after: the demo's project is left out of it."""
    d = make_daemon()
    c = d.client()
    # a real exit with a finding (destination 8: client doesn't know), so
    # the report has something in it
    h = Household()
    wf = h.start(c)
    support.complete_member(c, wf, h.hoh)
    c.save(wf, h.hoh, "exit", data=exit_form(destination=8))
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    c.finish(wf, new_head_of_household=h.spouse)
    workers.dq(d)
    caught_up(c, "dq")
    assert [f for f in c.get(wf)["dq"] if f["source"] == "dq"]
    before = ok(["dq-report"], d).stdout
    before_json = ok_json(["dq-report"], d)
    with_demo_before = ok_json(["dq-report", "--include-demo"], d)

    out = ok(["demo"], d).stdout
    n, demo_wf = demo_events(out)
    assert "not running" not in out
    filed = [f for f in c.get(demo_wf)["dq"] if f["source"] == "dq"]
    if filed:
        assert "The DQ worker filed %d finding" % len(filed) in out
        for f in filed:
            assert "DQ: %s %s" % (f["severity"], f["rule"]) in out
    else:
        assert "The DQ worker checked this exit and found nothing to " \
            "flag." in out
    caught_up(c, "dq")
    assert ok(["dq-report"], d).stdout == before
    assert ok_json(["dq-report"], d) == before_json
    # the demo's exit is in the store all the same, when asked for
    assert ok_json(["dq-report", "--include-demo"], d) != with_demo_before


# -- events tail ---------------------------------------------------------------

def test_events_tail_from_the_start_with_count(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    last = c.stats()["last_seq"]
    r = ok(["events", "tail", "--from", "0", "--count", str(last), "--json"],
           daemon)
    seqs = [json.loads(l)["seq"] for l in r.stdout.splitlines()]
    assert seqs == list(range(1, last + 1))
    r = ok(["events", "tail", "--from", str(last - 2), "--no-follow"], daemon)
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[1].split()[0] == str(last)
    assert "step.completed" in lines[1] and wf in lines[1] and h.hoh in lines[1]
    r = ok(["events", "tail", "--from", "0", "--no-follow", "--type",
            "workflow.", "--json"], daemon)
    types = [json.loads(l)["type"] for l in r.stdout.splitlines()]
    assert types and all(t.startswith("workflow.") for t in types)


def test_events_tail_follows_live_and_gapless(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    start = c.stats()["last_seq"]
    tail = Tail(["--json"], env_for(daemon, EXITFLOW_RCVHWM=1))
    try:
        time.sleep(0.7)                 # it has read last_seq and subscribed
        n = 1500
        flood(daemon, wf, n)
        lines = tail.read(n, timeout=60)
        seqs = [json.loads(l)["seq"] for l in lines]
        assert seqs == list(range(start + 1, start + n + 1))
        assert tail.interrupt() == 0    # Ctrl-C ends it cleanly
    finally:
        tail.kill()


def test_events_tail_human_lines_and_type(daemon):
    c = daemon.client()
    tail = Tail(["--type", "workflow."], env_for(daemon))
    try:
        time.sleep(0.7)
        h = Household()
        wf = h.start(c)
        c.save(wf, h.hoh, "exit", data=exit_form())
        c.cancel(wf, "test")
        lines = tail.read(2, timeout=20)
        assert lines[0].split()[2] == "workflow.started"
        assert lines[1].split()[2] == "workflow.cancelled"
        assert wf in lines[0] and h.hoh in lines[0]
        assert int(lines[1].split()[0]) == int(lines[0].split()[0]) + 2
        assert tail.interrupt() == 0
    finally:
        tail.kill()


def test_events_tail_survives_a_daemon_restart(tmp_path):
    """The SUB reconnects; what was published while nobody listened comes
    from the log, so the stream stays complete and in order."""
    d = support.Daemon(tmp_path / "d")
    d.start()
    try:
        c = d.client(timeout=2.0, retries=5)
        h = Household()
        wf = h.start(c)
        tail = Tail(["--from", "0", "--json"],
                    env_for(d, EXITFLOW_TIMEOUT_MS=500, EXITFLOW_RETRIES=1))
        try:
            tail.read(1, timeout=20)
            d.restart()
            c.close()
            flood(d, wf, 100)
            lines = tail.read(101, timeout=30)
            assert [json.loads(l)["seq"] for l in lines] == \
                list(range(1, 102))
            assert tail.interrupt() == 0
        finally:
            tail.kill()
    finally:
        d.close()


# -- keys: keygen and CURVE -----------------------------------------------------

def keygen(name, role, out, *extra, **kw):
    return run(["keygen", name, "--role", role, "--out", str(out)] + list(extra),
               **kw)


def cert_metadata(path):
    """The `metadata` section of a czmq certificate (ZPL) as a dict."""
    meta, section = {}, None
    for line in Path(path).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            section = line.strip()
        elif section == "metadata" and "=" in line:
            key, value = line.split("=", 1)
            meta[key.strip()] = value.strip().strip('"')
    return meta


def test_keygen_writes_a_czmq_certificate_pair(tmp_path):
    out = tmp_path / "keys" / "new"            # made, with its parent
    r = keygen("fe-1", "frontend", out)
    assert r.returncode == 0, r.stderr
    public_key = r.stdout.strip()
    assert len(public_key) == 40 and r.stdout == public_key + "\n"
    public, secret = out / "fe-1", out / "fe-1_secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert public.stat().st_mode & 0o022 == 0
    assert out.stat().st_mode & 0o077 == 0
    # pyzmq reads both files; both carry the name and the role
    assert zmq.auth.load_certificate(str(public)) == (public_key.encode(), None)
    pub, sec = zmq.auth.load_certificate(str(secret))
    assert pub == public_key.encode() and len(sec) == 40
    for path in (public, secret):
        assert cert_metadata(path) == {"name": "fe-1", "role": "frontend"}
    assert str(public) in r.stderr and str(secret) in r.stderr

    j = keygen("w-1", "worker", out, "--json")
    assert j.returncode == 0, j.stderr
    doc = json.loads(j.stdout)
    assert doc == {"name": "w-1", "role": "worker",
                   "public_key": zmq.auth.load_certificate(
                       str(out / "w-1"))[0].decode(),
                   "public_file": str(out / "w-1"),
                   "secret_file": str(out / "w-1_secret")}


def test_keygen_never_overwrites(tmp_path):
    assert keygen("ops-1", "ops", tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = keygen("ops-1", "admin", tmp_path)
    assert again.returncode == 1 and again.stdout == ""
    assert str(tmp_path / "ops-1") in again.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # a secret file alone blocks the pair too, and nothing is left behind
    (tmp_path / "lone_secret").write_text("mine")
    r = keygen("lone", "ops", tmp_path)
    assert r.returncode == 1 and "lone_secret" in r.stderr
    assert not (tmp_path / "lone").exists()
    assert (tmp_path / "lone_secret").read_text() == "mine"


@pytest.mark.parametrize("args", [
    ["keygen", "x", "--role", "boss", "--out", "OUT"],
    ["keygen", "x", "--out", "OUT"],
    ["keygen", "x", "--role", "ops"],
    ["keygen", "--role", "ops", "--out", "OUT"],
    ["keygen", "../x", "--role", "ops", "--out", "OUT"],
    ["keygen", ".hidden", "--role", "ops", "--out", "OUT"],
    ["keygen", "a" * 65, "--role", "ops", "--out", "OUT"],
    ["keygen", "x", "y", "--role", "ops", "--out", "OUT"],
])
def test_keygen_usage_errors_exit_2(tmp_path, args):
    out = tmp_path / "out"
    r = run([str(out) if a == "OUT" else a for a in args])
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("exitflow keygen: ") and r.stdout == ""
    assert not out.exists()
    if "boss" in args:
        assert "frontend worker ops admin" in r.stderr


class CurveServer:
    """A CURVE ROUTER under pyzmq's authenticator with a certificate
    directory, answering every request with a pong: the stand-in for a
    daemon with --certs."""

    def __init__(self, directory):
        self.dir = directory
        self.certs = directory / "certs"
        self.certs.mkdir(parents=True)
        assert keygen("server", "admin", directory).returncode == 0
        self.server_cert = directory / "server"
        self.server_key = zmq.auth.load_certificate(str(self.server_cert))[0]
        self.ctx = zmq.Context()
        self.auth = zmq.auth.thread.ThreadAuthenticator(self.ctx)
        self.auth.start()
        self.auth.configure_curve(domain="*", location=str(self.certs))
        pub, sec = zmq.auth.load_certificate(str(directory / "server_secret"))
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.curve_secretkey, self.sock.curve_publickey = sec, pub
        self.sock.curve_server = True
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            if not self.sock.poll(50):
                continue
            frames = self.sock.recv_multipart()
            req = msgpack.unpackb(frames[-1], raw=False)
            body = msgpack.packb({"id": req.get("id"), "ok": True,
                                  "result": {"version": "curve-stand-in"}})
            self.sock.send_multipart(frames[:-1] + [body])

    def client_cert(self, name, known=True):
        """keygen's pair for `name`; its public half in the store if known."""
        where = self.dir / "clients"
        assert keygen(name, "admin", where).returncode == 0
        if known:       # pyzmq's authenticator reads *.key files, once
            shutil.copy(where / name, self.certs / (name + ".key"))
            self.auth.configure_curve(domain="*", location=str(self.certs))
        return where / (name + "_secret")

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close(0)
        self.auth.stop()
        self.ctx.term()


@pytest.fixture
def curve(tmp_path):
    server = CurveServer(tmp_path / "srv")
    yield server
    server.close()


def ping_in(cwd, endpoint, *flags, **env):
    """`exitflow ping` run from `cwd` (where ./var/keys may be)."""
    e = env_for(None, EXITFLOW_ENDPOINT=endpoint, EXITFLOW_TIMEOUT_MS=400,
                EXITFLOW_RETRIES=0, **env)
    for name in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY"):
        if name not in env:
            e.pop(name, None)
    return subprocess.run([CLI] + list(flags) + ["ping"], env=e, cwd=cwd,
                          capture_output=True, text=True, timeout=30)


def test_keys_by_flag_environment_and_var_keys(curve, tmp_path):
    cert = curve.client_cert("alice")
    here = tmp_path / "elsewhere"
    here.mkdir()
    # flags; the server key as its certificate file or as Z85
    for server_key in (str(curve.server_cert), curve.server_key.decode()):
        r = ping_in(here, curve.endpoint, "--cert", str(cert),
                    "--server-key", server_key)
        assert r.returncode == 0, r.stderr
        assert "curve-stand-in" in r.stdout
    # the environment
    r = ping_in(here, curve.endpoint, EXITFLOW_CERT=cert,
                EXITFLOW_SERVER_KEY=curve.server_cert)
    assert r.returncode == 0, r.stderr
    # no keys at all: local mode, which a CURVE server does not answer
    assert ping_in(here, curve.endpoint).returncode == 3
    # ./var/keys of the working directory: admin_secret and server
    keys = here / "var" / "keys"
    keys.mkdir(parents=True)
    shutil.copy(cert, keys / "admin_secret")
    shutil.copy(curve.server_cert, keys / "server")
    r = ping_in(here, curve.endpoint)
    assert r.returncode == 0, r.stderr
    # a flag wins over ./var/keys (and over the environment)
    stranger = curve.client_cert("stranger", known=False)
    assert ping_in(here, curve.endpoint, "--cert", str(stranger)).returncode == 3
    r = ping_in(here, curve.endpoint, "--cert", str(cert),
                EXITFLOW_CERT=stranger)
    assert r.returncode == 0, r.stderr
    assert ping_in(here, curve.endpoint, EXITFLOW_CERT=stranger).returncode == 3


def test_unknown_certificate_is_unreachable(curve, tmp_path):
    stranger = curve.client_cert("stranger", known=False)
    t0 = time.monotonic()
    r = ping_in(tmp_path, curve.endpoint, "--cert", str(stranger),
                "--server-key", str(curve.server_cert))
    assert r.returncode == 3 and time.monotonic() - t0 < 10


@pytest.mark.parametrize("given,missing", [
    ("--cert", "--server-key"), ("--server-key", "--cert")])
def test_one_key_without_the_other_exits_2(tmp_path, given, missing):
    assert keygen("solo", "admin", tmp_path).returncode == 0
    r = ping_in(tmp_path, "tcp://127.0.0.1:%d" % free_port(), given,
                str(tmp_path / "solo_secret"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("exitflow ping: ")
    assert missing in r.stderr


def test_unusable_certificate_exits_2_naming_the_file(tmp_path):
    broken = tmp_path / "broken_secret"
    broken.write_text("curve\n    public-key = \"short\"\n")
    for cert in (broken, tmp_path / "no-such-file"):
        r = ping_in(tmp_path, "tcp://127.0.0.1:%d" % free_port(),
                    "--cert", str(cert), "--server-key", str(cert))
        assert r.returncode == 2, r.stderr
        assert str(cert) in r.stderr


def test_dq_report_hands_over_the_keys(tmp_path):
    stub = stub_program(tmp_path)
    assert keygen("admin", "admin", tmp_path / "k").returncode == 0
    cert = tmp_path / "k" / "admin_secret"
    env = report_env(EXITFLOW_DQ=stub, EXITFLOW_ENDPOINT="tcp://10.0.0.1:1",
                     EXITFLOW_CERT=cert, EXITFLOW_SERVER_KEY="K" * 40)
    r = subprocess.run([CLI, "dq-report", "--project", "P"], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert r.returncode == 5, r.stderr
    words = r.stdout.splitlines()
    assert words[words.index("--cert") + 1] == str(cert)
    assert words[words.index("--server-key") + 1] == "K" * 40
    assert words[-2:] == ["--project", "P"]
    # judged before the hand-over: one key alone is the CLI's usage error
    env.pop("EXITFLOW_SERVER_KEY")
    r = subprocess.run([CLI, "dq-report"], env=env, cwd=tmp_path,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "stub" not in r.stdout
    assert "--server-key" in r.stderr
