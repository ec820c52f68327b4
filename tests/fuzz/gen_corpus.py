#!/usr/bin/python3
"""Writes the fuzzers' seed corpus from the requests the Python suites send.

    /usr/bin/python3 tests/fuzz/gen_corpus.py      (make fuzz-corpus)

The requests are built by the suites' own helpers (tests/support's
Household, exit_form, assessment, income, ...), and the malformed ones are
the suites' own lists (test_garbage.GARBAGE and BAD_ARGS,
test_hmis_rules.MALFORMED) when they import; the dates are counted from
2026-11-25, the fuzz_commands clock, and the household ids come from a
seeded generator, so the output is the same on every run.  Writes:

    corpus/codec/       one request body per file (fuzz_codec)
    corpus/commands/    one script per file: a flow of the suites, in
                        fuzz_commands' format (see fuzz_commands.c)
    base_script.inc     the script that gives every fresh store of
                        fuzz_commands its base workflows (@0 @1 @2)
    exitflow.dict       a libFuzzer dictionary: every key, command name and
                        short string of the corpus, encoded as msgpack str

Each file is named by its content's SHA-1 prefix and a word; the
directories are emptied of seeds first (regressions live elsewhere).
"""

import datetime
import hashlib
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "clients" / "python"),
                str(REPO / "tests" / "integration")]

import msgpack  # noqa: E402

import support.households as hh  # noqa: E402

TODAY = datetime.date(2026, 11, 25)         # fuzz_commands.c's NOW
hh.today = lambda: TODAY
_rng = random.Random(12)


class _Uuid:
    def __init__(self):
        self.hex = "%032x" % _rng.getrandbits(128)


hh.uuid.uuid4 = _Uuid

SEP = b"\xc1\xc1"
# control byte bits (fuzz_commands.c)
ADMIN, FRONTEND, WORKER, OPS = 0, 1, 2, 3
OTHER_NAME, NEW_BATCH = 0x04, 0x08
PLUS_1S, PLUS_1H, PLUS_25H = 0x10, 0x20, 0x30
STALL, SWEEP = 0x40, 0x80

WF = ["@%d" % i for i in range(10)]        # placeholders
NEWEST = "@3"


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


class Script:
    """A fuzz_commands script: requests with their control bytes."""

    def __init__(self, name):
        self.name = name
        self.items = []             # (ctl, body bytes)
        self.n = 0

    def raw(self, body, ctl=FRONTEND | NEW_BATCH):
        self.items.append((ctl, body))
        return self

    def req(self, cmd, args=None, ctl=FRONTEND | NEW_BATCH, actor=None,
            rid=None):
        self.n += 1
        body = {"v": 1, "id": rid or "%s-%d" % (self.name, self.n),
                "cmd": cmd}
        if args is not None:
            body["args"] = args
        if actor is not None:
            body["actor"] = actor
        return self.raw(pack(body), ctl)

    def encode(self):
        return SEP.join(bytes([ctl]) + body for ctl, body in self.items)

    def bodies(self):
        return [body for _, body in self.items]


def save(wf, cid, step, data=None, mode="entered", **kw):
    args = {"workflow_id": wf, "client_id": cid, "step": step, "mode": mode}
    if data is not None:
        args["data"] = data
    args.update(kw)
    return args


def complete(s, wf, cid, steps=hh.STEPS, default_last=(), ctl=FRONTEND):
    for step in steps:
        if step == "exit":
            s.req("step.save", save(wf, cid, "exit", hh.exit_form()), ctl,
                  actor="cw-1")
        elif step in default_last:
            s.req("step.save", save(wf, cid, step, mode="default_last"), ctl)
        else:
            s.req("step.save", save(wf, cid, step, hh.assessment(step, s.n)),
                  ctl, actor="cw-1")


# -- the base workflows of every fresh store ---------------------------------

BASE_A = hh.Household(project_type=3, move_in_days_ago=100, ages="both")
BASE_B = hh.Household()
BASE_C = hh.Household(ages="birth_date", with_last=False)


def base_script():
    s = Script("base")
    # @0: open, half done (the newest while it is being built is @3)
    s.req("workflow.start", BASE_A.args, actor="cw-1")
    s.req("step.save", save(NEWEST, BASE_A.hoh, "exit", hh.exit_form()))
    s.req("step.save", save(NEWEST, BASE_A.hoh, "universal_data",
                            mode="default_last"))
    s.req("member.decide", {"workflow_id": NEWEST, "client_id":
                            BASE_A.spouse, "exit": True})
    # @1: finished, the child staying as the new head of household
    s.req("workflow.start", BASE_B.args)
    complete(s, NEWEST, BASE_B.hoh, ctl=FRONTEND | NEW_BATCH)
    s.req("member.decide", {"workflow_id": NEWEST, "client_id":
                            BASE_B.spouse, "exit": True})
    complete(s, NEWEST, BASE_B.spouse, default_last=("disabilities",),
             ctl=FRONTEND | NEW_BATCH)
    s.req("member.decide", {"workflow_id": NEWEST, "client_id": BASE_B.child,
                            "exit": False})
    s.req("workflow.finish", {"workflow_id": NEWEST,
                              "new_head_of_household": BASE_B.child})
    s.req("dq.report", {"workflow_id": NEWEST, "source": "dq",
                        "findings": [{"rule": "income_missing",
                                      "severity": "warning",
                                      "client_id": BASE_B.hoh,
                                      "step": "income_benefits",
                                      "message": "income is missing"}]},
          WORKER | NEW_BATCH)
    # @2: cancelled
    s.req("workflow.start", BASE_C.args)
    s.req("workflow.cancel", {"workflow_id": NEWEST, "reason": "entered twice"})
    return s


# -- the suites' flows --------------------------------------------------------

def flows():
    out = []

    # a household exits end to end (test_workflow, bin/exitflow demo)
    h = hh.Household()
    s = Script("full")
    s.req("workflow.start", h.args, actor="cw-7")
    complete(s, NEWEST, h.hoh)
    s.req("member.decide", {"workflow_id": NEWEST, "client_id": h.spouse,
                            "exit": True, "expected_version": 6})
    complete(s, NEWEST, h.spouse, default_last=("universal_data",
                                                 "health_insurance"))
    s.req("member.decide", {"workflow_id": NEWEST, "client_id": h.child,
                            "exit": False})
    s.req("workflow.finish", {"workflow_id": NEWEST,
                              "new_head_of_household": h.child})
    s.req("workflow.get", {"workflow_id": NEWEST})
    s.req("workflow.history", {"workflow_id": NEWEST})
    s.req("events.read", {"after": 0}, ADMIN | NEW_BATCH)
    out.append(s)

    # the same in one batch (group commit), the child exiting too
    h = hh.Household(start_for="spouse", ages="birth_date")
    s = Script("batch")
    s.req("workflow.start", h.args)
    for cid in (h.spouse, h.hoh, h.child):
        if cid != h.spouse:
            s.req("member.decide", {"workflow_id": NEWEST, "client_id": cid,
                                    "exit": True}, FRONTEND)
        complete(s, NEWEST, cid, steps=hh.STEPS if cid != h.child
                 else hh.CHILD_STEPS, ctl=FRONTEND)
    s.req("workflow.finish", {"workflow_id": NEWEST}, FRONTEND)
    out.append(s)

    # cancel, and writes after it (INVALID_STATE), dq.report still allowed
    h = hh.Household(with_last=False)
    s = Script("cancel")
    s.req("workflow.start", h.args)
    s.req("step.save", save(NEWEST, h.hoh, "exit", hh.exit_form()))
    s.req("workflow.cancel", {"workflow_id": NEWEST, "reason": "duplicate",
                              "expected_version": 2})
    s.req("step.save", save(NEWEST, h.hoh, "universal_data",
                            hh.universal()))
    s.req("dq.report", {"workflow_id": NEWEST, "source": "dq",
                        "findings": []}, WORKER | NEW_BATCH)
    s.req("workflow.cancel", {"workflow_id": NEWEST, "reason": "again"})
    out.append(s)

    # the base workflows: more steps, decisions, a finish refused
    s = Script("base-work")
    complete(s, WF[0], BASE_A.hoh, steps=hh.STEPS[1:],
             default_last=("health_insurance",))
    s.req("member.decide", {"workflow_id": WF[0], "client_id": BASE_A.child,
                            "exit": False})
    s.req("workflow.finish", {"workflow_id": WF[0]})
    complete(s, WF[0], BASE_A.spouse)
    s.req("workflow.finish", {"workflow_id": WF[0],
                              "new_head_of_household": BASE_A.child})
    s.req("step.save", save(WF[1], BASE_B.hoh, "exit", hh.exit_form()))
    s.req("member.decide", {"workflow_id": WF[2], "client_id": BASE_C.spouse,
                            "exit": True})
    out.append(s)

    # DQ findings and consumers: the workers' commands, and roles
    s = Script("workers")
    finding = {"rule": "r", "severity": "warning", "message": "m"}
    s.req("dq.report", {"workflow_id": WF[0], "source": "dq",
                        "findings": [finding,
                                     {"rule": "age_unknown",
                                      "severity": "error",
                                      "client_id": BASE_A.child,
                                      "message": "age is unknown"}]},
          WORKER | NEW_BATCH)
    for i in range(10):
        s.req("dq.report", {"workflow_id": WF[i % 3], "source": "s%d" % i,
                            "findings": [finding] * (i % 3)},
              WORKER | NEW_BATCH)
    s.req("consumer.ack", {"consumer": "exitflow-dq", "seq": 3},
          WORKER | NEW_BATCH)
    s.req("consumer.ack", {"consumer": "exitflow-dq", "seq": 1},
          WORKER | NEW_BATCH)
    s.req("consumer.ack", {"consumer": "exporter", "seq": 99999},
          ADMIN | NEW_BATCH)
    s.req("consumer.list", None, OPS | NEW_BATCH)
    s.req("consumer.delete", {"consumer": "exporter"}, OPS | NEW_BATCH)
    s.req("consumer.delete", {"consumer": "exitflow-dq"}, ADMIN | NEW_BATCH)
    s.req("consumer.delete", {"consumer": "exitflow-dq"}, ADMIN | NEW_BATCH)
    s.req("consumer.ack", {"consumer": "exitflow-dq", "seq": 2},
          WORKER | NEW_BATCH)
    s.req("consumer.delete", {"consumer": "exitflow-dq"},
          OPS | NEW_BATCH | PLUS_25H)
    s.req("events.read", {"after": 2, "limit": 3}, WORKER | NEW_BATCH)
    s.req("dq.report", {"workflow_id": WF[0], "source": "x",
                        "findings": [finding]}, FRONTEND | NEW_BATCH)
    s.req("dq.report", {"workflow_id": WF[0], "source": "x",
                        "findings": [finding]}, WORKER | OTHER_NAME |
          NEW_BATCH, actor="someone-else")
    s.req("step.save", save(WF[0], BASE_A.hoh, "disabilities",
                            hh.disabilities()), WORKER | NEW_BATCH)
    out.append(s)

    # every read, with its options
    s = Script("reads")
    s.req("ping", None, ADMIN | NEW_BATCH)
    s.req("ping", {}, OPS)
    s.req("stats", None, OPS)
    s.req("hud.codes", None, FRONTEND)
    for state in ("open", "finished", "cancelled"):
        s.req("workflow.list", {"state": state}, OPS)
    s.req("workflow.list", {"state": "open", "idle_for_s": 0, "limit": 1,
                            "project_id": "P-1"}, FRONTEND)
    s.req("workflow.list", {"state": "open", "after": "00ff", "limit": 2},
          FRONTEND)
    s.req("workflow.list", {"state": "open", "after": "zz"}, FRONTEND)
    s.req("workflow.list", {"state": "open", "stalled": True}, OPS)
    s.req("workflow.list", {"client_id": BASE_A.hoh}, FRONTEND)
    s.req("workflow.list", {"enrollment_id": BASE_B.enrollment[BASE_B.child],
                            "state": "finished"}, FRONTEND)
    s.req("workflow.list", {"household_id": BASE_C.household_id,
                            "limit": 1}, OPS)
    s.req("workflow.list", {"actor": "cw-1", "limit": 2}, FRONTEND)
    s.req("workflow.list", {"actor": "cw-1", "after": "00"}, FRONTEND)
    s.req("workflow.history", {"workflow_id": WF[1], "limit": 2,
                               "after": 3}, OPS)
    s.req("workflow.get", {"workflow_id": WF[0]}, WORKER)
    s.req("workflow.get", {"workflow_id": hh.UNKNOWN_WF}, FRONTEND)
    s.req("events.read", {"after": 0, "limit": 1000}, OPS)
    s.req("stats", None, FRONTEND)
    out.append(s)

    # conflicts: a stale version, a household with an open exit
    s = Script("conflict")
    s.req("member.decide", {"workflow_id": WF[0], "client_id": BASE_A.child,
                            "exit": True, "expected_version": 1})
    s.req("workflow.start", BASE_A.args)
    s.req("workflow.finish", {"workflow_id": WF[0], "expected_version": 99})
    out.append(s)

    # idempotency: the same request twice, in one batch and across a
    # commit; the same id with another body; a retry after a day
    s = Script("idem")
    args = {"workflow_id": WF[0], "client_id": BASE_A.child, "exit": True}
    s.req("member.decide", args, rid="same")
    s.req("member.decide", args, FRONTEND, rid="same")
    s.req("member.decide", args, rid="same")
    s.req("member.decide", dict(args, exit=False), rid="same")
    h = hh.Household()
    s.req("workflow.start", h.args, rid="start-once")
    s.req("workflow.start", h.args, rid="start-once")
    s.req("workflow.start", h.args, FRONTEND | NEW_BATCH | PLUS_25H |
          SWEEP, rid="start-once")
    s.req("member.decide", args, FRONTEND | NEW_BATCH | PLUS_25H | SWEEP,
          rid="same")
    out.append(s)

    # many commands on one workflow: its ledger overflows into the index
    s = Script("long")
    for i in range(40):
        s.req("step.save", save(WF[0], BASE_A.hoh, "universal_data",
                                hh.assessment("universal_data", i)),
              FRONTEND | (NEW_BATCH if i % 8 == 0 else 0))
    s.req("step.save", save(WF[0], BASE_A.hoh, "universal_data",
                            hh.assessment("universal_data", 0)),
          rid="long-1")
    s.req("workflow.history", {"workflow_id": WF[0], "limit": 10})
    s.req("workflow.history", {"workflow_id": WF[0], "after": 20})
    out.append(s)

    # stalls and the clock
    s = Script("stall")
    s.req("workflow.get", {"workflow_id": WF[0]}, FRONTEND | NEW_BATCH |
          PLUS_1H | STALL)
    s.req("workflow.list", {"state": "open", "idle_for_s": 60})
    s.req("step.save", save(WF[0], BASE_A.hoh, "disabilities",
                            hh.disabilities(physical=1,
                                            physical_indefinite_and_impairs=1)))
    s.req("ping", None, ADMIN | NEW_BATCH | PLUS_1H | STALL | SWEEP)
    s.req("events.read", {"after": 0}, OPS | NEW_BATCH | PLUS_1S)
    out.append(s)

    # HMIS rules: typed assessments refused with their field, accepted
    # and flagged ones, the exit form's cross-field rules
    s = Script("hmis")
    for step, data, _field in malformed():
        if step == "exit":
            data = dict(data, exit_date=hh.day(-1))
        s.req("step.save", save(WF[0], BASE_A.hoh, step, data))
    for form in (hh.exit_form(destination=435),
                 hh.exit_form(destination=435, destination_subsidy_type=419),
                 hh.exit_form(destination=17),
                 hh.exit_form(destination=17, other_destination="a tent"),
                 hh.exit_form(destination=410, other_destination="x"),
                 hh.exit_form(exit_date=hh.day(1)),
                 hh.exit_form(exit_date="2020-01-01"),
                 hh.exit_form(exit_date="2026-02-30"),
                 hh.exit_form(destination=None),
                 hh.exit_form(exit_reason="é" * 500)):
        s.req("step.save", save(WF[0], BASE_A.spouse, "exit", form))
    s.req("step.save", save(WF[0], BASE_A.spouse, "income_benefits",
                            hh.income({"earned": 1250.5, "ssi": 914},
                                      benefits=("snap",), whole_form=True,
                                      local_note="x")))
    s.req("step.save", save(WF[0], BASE_A.spouse, "health_insurance",
                            hh.insurance(whole_form=True)))
    s.req("step.save", save(WF[0], BASE_A.spouse, "exit", mode="default_last"))
    s.req("step.save", save(WF[0], BASE_A.spouse, "universal_data",
                            mode="default_last", data=hh.universal()))
    s.req("step.save", save(WF[0], BASE_A.child, "exit", hh.exit_form()))
    s.req("step.save", save(WF[0], BASE_A.spouse, "nap", {}))
    s.req("step.save", save(WF[0], BASE_A.spouse, "exit", hh.exit_form(),
                            mode="typed"))
    out.append(s)

    # starts the HMIS rules refuse or accept and flag
    s = Script("starts")
    for kw in ({"project_type": 1, "move_in_days_ago": 3},
               {"project_type": 13, "move_in_days_ago": 3},
               {"project_type": 3, "move_in_days_ago": -3},
               {"ages": "none"}, {"ages": "both", "start_for": "child"},
               {"with_last": False}, {"entry_days_ago": -1}):
        s.req("workflow.start", hh.Household(**kw).args)
    h = hh.Household()
    bad = [dict(m) for m in h.members]
    bad[0]["relationship"] = 99
    bad[1]["relationship"] = 1
    bad[2]["birth_date"] = hh.day(3)
    s.req("workflow.start", dict(h.args, members=bad))
    bad = [dict(m) for m in h.members]
    bad[1]["last"] = {"income_benefits": {"earned": 7}}
    s.req("workflow.start", dict(h.args, members=bad))
    bad[1]["last"] = {"exit": hh.exit_form()}
    s.req("workflow.start", dict(h.args, members=bad))
    s.req("workflow.start", dict(h.args, members=h.members + h.members[:1]))
    s.req("workflow.start", dict(h.args, members=[]))
    s.req("workflow.start", dict(h.args, enrollment_id="E-nobody"))
    s.req("workflow.start", dict(h.args, project_type=1000))
    s.req("workflow.start", h.args, OPS | NEW_BATCH)
    out.append(s)

    # malformed arguments and bodies (test_garbage)
    s = Script("bad-args")
    for cmd, args, _field in bad_args():
        s.req(cmd, args)
    out.append(s)
    for i, body in enumerate(garbage()):
        out.append(Script("garbage-%d" % i).raw(body))

    # one request of every command, alone
    for cmd, args, ctl in (
            ("ping", None, ADMIN), ("stats", None, OPS),
            ("hud.codes", None, FRONTEND),
            ("workflow.get", {"workflow_id": WF[0]}, FRONTEND),
            ("workflow.list", {"state": "open"}, OPS),
            ("workflow.history", {"workflow_id": WF[1]}, WORKER),
            ("events.read", {"after": 0}, WORKER),
            ("consumer.ack", {"consumer": "c", "seq": 1}, WORKER),
            ("consumer.list", None, OPS),
            ("consumer.delete", {"consumer": "c"}, ADMIN),
            # no backup here (the target's command env has none): refused
            ("store.backup", {"dir": "/nonexistent/exitflow-backup"}, ADMIN),
            ("workflow.export", {"from": "2026-11-01", "limit": 2}, OPS),
            ("workflow.list", {"household_id": BASE_A.household_id}, OPS),
            ("dq.report", {"workflow_id": WF[0], "source": "dq",
                           "findings": [{"rule": "r", "severity": "error",
                                         "message": "m"}]}, WORKER),
            ("step.save", save(WF[0], BASE_A.spouse, "exit",
                               hh.exit_form()), FRONTEND),
            ("member.decide", {"workflow_id": WF[0], "client_id":
                               BASE_A.child, "exit": False}, FRONTEND),
            ("workflow.finish", {"workflow_id": WF[0]}, FRONTEND),
            ("workflow.cancel", {"workflow_id": WF[0], "reason": "r"},
             FRONTEND),
            ("workflow.start", hh.Household().args, FRONTEND)):
        out.append(Script("one-" + cmd).req(cmd, args, ctl | NEW_BATCH))
    return out


# -- the suites' malformed lists (with a fallback if they do not import) ------

def _suite(module, name):
    try:
        mod = __import__(module)
        return list(getattr(mod, name))
    except Exception as e:           # another helper may be changing it
        print("gen_corpus: %s.%s not used: %s" % (module, name, e),
              file=sys.stderr)
        return None


def malformed():
    got = _suite("test_hmis_rules", "MALFORMED")
    return got or [("universal_data", {"living_situation": 116},
                    "living_situation"),
                   ("disabilities", {"physical": 2}, "physical")]


def bad_args():
    got = _suite("test_garbage", "BAD_ARGS")
    return got or [("workflow.get", {"workflow_id": 5}, "workflow_id")]


def garbage():
    got = _suite("test_garbage", "GARBAGE")
    bodies = [body for _name, body, _id in (got or [])]
    if not bodies:
        bodies = [b"\xc1", b"\xdf\xff\xff\xff\x7b", pack([1, 2, 3])]
    return [b for b in bodies if len(b) <= 65536]


# -- writing ------------------------------------------------------------------

def write_dir(path, items):
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():
        old.unlink()
    names = set()
    for word, data in items:
        name = "%s-%s" % (hashlib.sha1(data).hexdigest()[:12], word)
        if name not in names:
            names.add(name)
            (path / name).write_bytes(data)
    return len(names)


def c_bytes(data):
    lines = []
    for i in range(0, len(data), 16):
        lines.append("    " + " ".join("0x%02x," % b for b in data[i:i + 16]))
    return "\n".join(lines)


def strings_of(obj, out):
    if isinstance(obj, str):
        out.add(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            strings_of(k, out)
            strings_of(v, out)
    elif isinstance(obj, list):
        for v in obj:
            strings_of(v, out)


def dict_entry(data):
    return '"' + "".join(chr(b) if 0x20 <= b < 0x7f and b not in (0x22, 0x5c)
                         else "\\x%02x" % b for b in data) + '"'


def main():
    base = base_script()
    scripts = flows()
    n_cmd = write_dir(HERE / "corpus" / "commands",
                      [(s.name, s.encode()) for s in scripts])
    bodies = [(s.name, b) for s in [base] + scripts for b in s.bodies()]
    n_codec = write_dir(HERE / "corpus" / "codec", bodies)

    (HERE / "base_script.inc").write_text(
        "/* base_script.inc -- generated by tests/fuzz/gen_corpus.py (make\n"
        " * fuzz-corpus); do not edit. The script fuzz_commands runs on every\n"
        " * fresh store: its three workflow.start replies become @0 (open,\n"
        " * half done), @1 (finished) and @2 (cancelled). */\n"
        "static const uint8_t base_script[] = {\n%s\n};\n"
        % c_bytes(base.encode()))

    words = set()
    for _, body in bodies:
        try:
            strings_of(msgpack.unpackb(body, raw=False,
                                       strict_map_key=False), words)
        except Exception:
            pass
    entries = {SEP, b"\xc0", b"\xc2", b"\xc3"}
    entries.update(pack("@%d" % i) for i in range(10))
    for w in words:
        b = w.encode()
        if 0 < len(b) <= 40:
            entries.add(pack(w))
    with open(HERE / "exitflow.dict", "w") as f:
        f.write("# generated by tests/fuzz/gen_corpus.py: the strings of the "
                "seed corpus as msgpack str,\n# the request separator, the "
                "placeholders and nil/false/true\n")
        for e in sorted(entries):
            f.write(dict_entry(e) + "\n")
    print("gen_corpus: %d scripts, %d bodies, %d dictionary entries"
          % (n_cmd, n_codec, len(entries)))


if __name__ == "__main__":
    main()
