"""What the tests send and how they read it back: households for
workflow.start, dates, exit forms and typed assessments, a pipelined write
flood, and small readers of replies and views (PROTOCOL.md is the contract).

Assessments are typed (protocol/hud_fields.c is the one table; the daemon
refuses an unknown field, a wrong type or a code outside its list): the
helpers here build data a front end would send -- ``universal()``,
``insurance()``, ``disabilities()``, ``income()`` -- and ``assessment(step,
n)`` gives complete, consistent data for a step (no DQ finding) that differs
for every ``n``.  Free text and bulk go in ``local_`` fields (the CoC's own
questions: kept, never read by a rule)."""

import datetime
import re
import uuid

import zmq
from exitflow import ExitflowError, encode_request, unpack

__all__ = ["RFC3339_MS", "ULID", "UNKNOWN_WF", "STEPS", "CHILD_STEPS",
           "LOCAL_PREFIX", "INCOME_SOURCES", "BENEFIT_SOURCES",
           "INSURANCE_SOURCES", "DISABILITIES", "PERMANENT_HOUSING",
           "today", "day", "born", "Household", "exit_form", "universal",
           "insurance", "disabilities", "income", "amount_field",
           "assessment", "complete_member", "write_until_refused", "flood",
           "read_all_events", "error_of", "has",
           "member", "step_of"]

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
UNKNOWN_WF = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

STEPS = ["exit", "universal_data", "health_insurance", "disabilities",
         "income_benefits"]
CHILD_STEPS = STEPS[:4]

# -- the typed fields the helpers fill (protocol/hud_fields.c's names; the
# daemon's hud.codes lists them: tests/clients/test_python_client.py holds
# these to it) --------------------------------------------------------------

LOCAL_PREFIX = "local_"
# 4.02: each source (0/1/99) has its amount, amount_field(source).
INCOME_SOURCES = ("earned", "unemployment", "ssi", "ssdi",
                  "va_disability_service", "va_disability_non_service",
                  "private_disability", "workers_comp", "tanf", "ga",
                  "soc_sec_retirement", "pension", "child_support", "alimony",
                  "other_income_source")
# 4.03 non-cash benefits and 4.04 health insurance sources (0/1/99).
BENEFIT_SOURCES = ("snap", "wic", "tanf_child_care", "tanf_transportation",
                   "other_tanf", "other_benefits_source")
INSURANCE_SOURCES = ("medicaid", "medicare", "schip", "vha_services",
                     "employer_provided", "cobra", "private_pay",
                     "state_health_ins", "indian_health_services",
                     "other_insurance")
# 4.05-4.10, in order; substance_use has its own codes (0/1/2/3/8/9/99).
DISABILITIES = ("physical", "developmental", "chronic_health", "hiv_aids",
                "mental_health", "substance_use")
# 2.02.6 project types that record a move-in date (3.20).
PERMANENT_HOUSING = (3, 9, 10, 13)

NO, YES = 0, 1
_AUTO = object()


def today():
    """Today in the system's time zone: the daemon's calendar when it is
    started without --timezone (issue 9: "today" is the CoC's day)."""
    return datetime.date.today()


def day(offset):
    """The date ``offset`` days from today(), as YYYY-MM-DD."""
    return (today() + datetime.timedelta(days=offset)).isoformat()


def born(years, days=0):
    """The date of birth of someone ``years`` old today (their birthday
    ``days`` days from now when ``days`` > 0: still ``years - 1`` until
    then), as YYYY-MM-DD.  29 February falls back to the 28th."""
    d = today() + datetime.timedelta(days=days)
    try:
        d = d.replace(year=d.year - years)
    except ValueError:
        d = d.replace(year=d.year - years, day=28)
    return d.isoformat()


def amount_field(source):
    """The monthly amount field of income source ``source`` (4.02A)."""
    if source == "other_income_source":
        return "other_income_amount"
    return source + "_amount"


def _any(given, answered):
    """A "from any source" answer: as given (None: left out), else yes
    when some source says yes, else no."""
    if given is _AUTO:
        return YES if answered else NO
    return given


def _form(fields, any_name, any_value, sources, whole_form):
    data = {}
    if whole_form:
        data.update({name: NO for name in fields})
    data.update({name: YES for name in sources})
    if any_value is not None:
        data[any_name] = any_value
    return data


def universal(disabling_condition=NO, **extra):
    """universal_data: 3.08 disabling condition, plus ``extra`` fields."""
    return dict({"disabling_condition": disabling_condition}, **extra)


def insurance(sources=("medicaid",), any_source=_AUTO, whole_form=False,
              **extra):
    """health_insurance (4.04): ``sources`` answered yes, and
    insurance_from_any_source yes when there are some, else no (or
    ``any_source`` as given; None leaves it out).  ``whole_form`` answers
    every other source no, as a form showing every question does."""
    data = _form(INSURANCE_SOURCES, "insurance_from_any_source",
                 _any(any_source, sources), sources, whole_form)
    data.update(extra)
    return data


def disabilities(**answers):
    """disabilities (4.05-4.10): every condition answered no, except the
    ``answers`` given (e.g. ``mental_health=1,
    mental_health_indefinite_and_impairs=1``)."""
    data = {name: NO for name in DISABILITIES}
    data.update(answers)
    return data


def income(amounts=None, benefits=(), total=_AUTO, any_source=_AUTO,
           benefits_any=_AUTO, whole_form=False, **extra):
    """income_benefits (4.02, 4.03) as a front end computes it.

    ``amounts`` maps income sources to monthly dollars: each is answered
    yes with its amount, income_from_any_source is yes when there are some
    (else no), and total_monthly_income is their sum to the cent.
    ``benefits`` are the non-cash benefit sources answered yes, and
    benefits_from_any_source follows them.  ``total``, ``any_source`` and
    ``benefits_any`` override what is computed (None leaves the field
    out); ``whole_form`` answers every other source no; ``extra`` fields
    are added last (``earned=1`` with no amount, ``local_...``).
    """
    amounts = dict(amounts or {})
    data = _form(INCOME_SOURCES, "income_from_any_source",
                 _any(any_source, amounts), amounts, whole_form)
    for source, dollars in amounts.items():
        data[amount_field(source)] = dollars
    if total is _AUTO:
        total = round(sum(amounts.values()), 2) if amounts else None
    if total is not None:
        data["total_monthly_income"] = total
    data.update(_form(BENEFIT_SOURCES, "benefits_from_any_source",
                      _any(benefits_any, benefits), benefits, whole_form))
    data.update(extra)
    return data


class Household:
    """workflow.start arguments for a head of household, spouse and child.

    ``ages`` says how each member's age is given: "adult" (the adult flag,
    the default), "birth_date" (dates of birth only: 41, 39 and 9 years
    old), "both", or "none" (neither: the daemon assumes an adult and the
    DQ worker flags the age as unknown).  ``move_in_days_ago`` adds the
    workflow's move_in_date (HUD 3.20; permanent housing project types
    only, PERMANENT_HOUSING).
    """

    def __init__(self, project_id="P-1", project_type=1, entry_days_ago=200,
                 start_for="hoh", with_last=True, ages="adult",
                 move_in_days_ago=None):
        assert ages in ("adult", "birth_date", "both", "none"), ages
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
        self.birth_date = {self.hoh: born(41, -45), self.spouse: born(39, -7),
                           self.child: born(9, -120)}
        adult_last = {
            "universal_data": universal(),
            "health_insurance": insurance(("medicaid",)),
            "disabilities": disabilities(),
            "income_benefits": income({"earned": 1250.5}),
        }
        child_last = {k: v for k, v in adult_last.items()
                      if k != "income_benefits"}
        self.last = {self.hoh: adult_last, self.spouse: adult_last,
                     self.child: child_last}
        members = []
        for cid, rel, adult in ((self.hoh, 1, True), (self.spouse, 3, True),
                                (self.child, 2, False)):
            m = {"client_id": cid, "enrollment_id": self.enrollment[cid],
                 "relationship": rel, "entry_date": self.entry_date[cid]}
            if ages in ("adult", "both"):
                m["adult"] = adult
            if ages in ("birth_date", "both"):
                m["birth_date"] = self.birth_date[cid]
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
        if move_in_days_ago is not None:
            self.args["move_in_date"] = day(-move_in_days_ago)

    def start(self, client, **kw):
        """Start the workflow; returns its workflow_id."""
        return client.call("workflow.start", self.args, **kw)["workflow_id"]


def exit_form(**over):
    """The exit step's data (3.11, 3.12): yesterday, to 410 (rental, no
    subsidy); ``over`` replaces fields, None takes one out."""
    form = {"exit_date": day(-1), "destination": 410,
            "exit_reason": "Moved in with a lease"}
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


def assessment(step, n=0):
    """Complete and consistent data for ``step`` (nothing a DQ rule
    flags), different for every ``n``: the income varies with it, and
    every step carries it as ``local_n``.  Equal for equal arguments."""
    if step == "exit":
        return exit_form(exit_reason="Moved in with a lease (%d)" % n)
    data = {"universal_data": universal,
            "health_insurance": insurance,
            "disabilities": disabilities,
            "income_benefits": lambda: income({"earned": 1000 + n})}[step]()
    data["local_n"] = n
    return data


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
    """step.save of 60 KB assessments (a local_ text) until the daemon
    refuses one (a full store); returns (body, reply) of the refused
    write, or None."""
    big = universal(local_notes="x" * 60000)
    for i in range(attempts):
        _, body = encode_request("step.save", {
            "workflow_id": wf, "client_id": cid, "step": "universal_data",
            "mode": "entered", "data": dict(big, local_i=i)})
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
