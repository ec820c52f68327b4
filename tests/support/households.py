"""What the tests send and how they read it back: households for
workflow.start, dates, exit forms and assessments, a pipelined write flood,
and small readers of replies and views (PROTOCOL.md is the contract)."""

import datetime
import re
import uuid

import zmq
from exitflow import ExitflowError, encode_request, unpack

__all__ = ["RFC3339_MS", "ULID", "UNKNOWN_WF", "STEPS", "CHILD_STEPS",
           "today", "day", "Household", "exit_form", "assessment",
           "complete_member", "write_until_refused", "flood",
           "read_all_events", "error_of", "has",
           "member", "step_of"]

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UNKNOWN_WF = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

STEPS = ["exit", "universal_data", "health_insurance", "disabilities",
         "income_benefits"]
CHILD_STEPS = STEPS[:4]


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def day(offset):
    """The UTC date ``offset`` days from today, as YYYY-MM-DD."""
    return (today() + datetime.timedelta(days=offset)).isoformat()


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


def write_until_refused(client, wf, cid, attempts=200):
    """step.save of 60 KB assessments until the daemon refuses one (a full
    store); returns (body, reply) of the refused write, or None."""
    big = {"notes": "x" * 60000}
    for i in range(attempts):
        _, body = encode_request("step.save", {
            "workflow_id": wf, "client_id": cid, "step": "universal_data",
            "mode": "entered", "data": dict(big, i=i)})
        r = unpack(client.request_raw(body))
        if not r["ok"]:
            return body, r
    return None


def flood(daemon, wf, n, hoh=None):
    """Pipeline ``n`` writes through one DEALER; wait for every reply.

    dq.report gives one dq.reported event each; with ``hoh`` every third
    write is a step.save instead (a step.completed event).
    """
    s = daemon.socket(zmq.DEALER, options={zmq.SNDHWM: 0, zmq.RCVHWM: 0})
    for i in range(n):
        if hoh is not None and i % 3 == 0:
            _, body = encode_request("step.save", {
                "workflow_id": wf, "client_id": hoh, "step": "exit",
                "mode": "entered", "data": exit_form(exit_reason="r%d" % i)})
        else:
            _, body = encode_request("dq.report", {
                "workflow_id": wf, "source": "s%d" % (i % 7),
                "findings": [{"rule": "r%d" % i, "severity": "warning",
                              "message": "m"}]})
        s.send_multipart([b"", body])
    for _ in range(n):
        assert s.poll(30000), "flood: no reply"
        assert unpack(s.recv_multipart()[-1])["ok"] is True
    s.close()


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
