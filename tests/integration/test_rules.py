"""Every domain rule of PROTOCOL.md section 4, each refusal with its code and
field, and that a refused command changes nothing."""

import pytest

from support import (CHILD_STEPS, UNKNOWN_WF, Household, assessment,
                     complete_member, day, error_of, exit_form, has, member,
                     universal)


@pytest.fixture
def c(module_daemon):
    return module_daemon.client()


def about(client_id, path):
    """The field of a refusal about a member (PROTOCOL.md section 2.3)."""
    return "members[client_id=%s].%s" % (client_id, path)


def refused(c, wf, code, field, fn, *a, **kw):
    """``fn`` must fail with ``code``/``field`` and leave ``wf`` unchanged;
    a refusal about a member names its client in the message too."""
    before = c.get(wf)
    seq = c.stats()["last_seq"]
    e = error_of(fn, *a, **kw)
    codes = (code,) if isinstance(code, str) else code
    assert e.code in codes, (e.code, e.message, e.field)
    if field is not None:
        assert e.field == field, (e.code, e.message, e.field)
    if e.field and e.field.startswith("members[client_id="):
        client = e.field[len("members[client_id="):].split("]")[0]
        assert "client %s" % client in e.message, (e.message, e.field)
    assert isinstance(e.message, str) and e.message
    assert e.reply["ok"] is False and e.reply["v"] == 1
    assert c.get(wf) == before
    assert c.stats()["last_seq"] == seq
    return e


def started(c, **kw):
    h = Household(**kw)
    return h, h.start(c)


# -- the exit form --------------------------------------------------------

@pytest.mark.parametrize("form, field", [
    (exit_form(exit_date=None), "exit_date"),
    (exit_form(destination=None), "destination"),
    (exit_form(exit_date="2024-02-30"), "exit_date"),
    (exit_form(exit_date="2023-13-01"), "exit_date"),
    (exit_form(exit_date="yesterday"), "exit_date"),
    (exit_form(exit_date="2024-1-5"), "exit_date"),
    (exit_form(exit_date=20240105), "exit_date"),
    (exit_form(exit_date=day(-201)), "exit_date"),        # before entry
    (exit_form(exit_date=day(2)), "exit_date"),           # in the future
    (exit_form(destination=37), "destination"),
    (exit_form(destination=335), "destination"),
    (exit_form(destination=336), "destination"),
    (exit_form(destination=0), "destination"),
    (exit_form(destination=999), "destination"),
    (exit_form(destination="410"), "destination"),
    (exit_form(destination=435), "destination_subsidy_type"),
    (exit_form(destination=435, destination_subsidy_type=999),
     "destination_subsidy_type"),
    (exit_form(destination=435, destination_subsidy_type=410),
     "destination_subsidy_type"),
    (exit_form(destination=410, destination_subsidy_type=419),
     "destination_subsidy_type"),
    (exit_form(destination=17), "other_destination"),
    (exit_form(destination=17, other_destination=""), "other_destination"),
    (exit_form(destination=17, other_destination="x" * 51),
     "other_destination"),
    (exit_form(destination=410, other_destination="couch"),
     "other_destination"),
    (exit_form(exit_reason="r" * 501), "exit_reason"),
    (exit_form(favourite_colour="blue"), "favourite_colour"),
])
def test_exit_form_refused(c, form, field):
    h, wf = started(c)
    refused(c, wf, "VALIDATION", about(h.hoh, "steps.exit." + field), c.save,
            wf, h.hoh, "exit", data=form)


@pytest.mark.parametrize("form", [
    exit_form(exit_date=day(-200)),                       # on the entry date
    exit_form(exit_date=day(0)),                          # today
    exit_form(destination=435, destination_subsidy_type=419),
    exit_form(destination=435, destination_subsidy_type=440),
    exit_form(destination=17, other_destination="x" * 50),
    exit_form(destination=17, other_destination="y"),
    exit_form(destination=24, exit_reason=None),
    exit_form(destination=30),
    exit_form(destination=99),
    exit_form(exit_reason="r" * 500),
])
def test_exit_form_accepted(c, form):
    h, wf = started(c)
    v = c.get(wf)["version"]
    assert c.save(wf, h.hoh, "exit", data=form)["version"] == v + 1


@pytest.mark.parametrize("dest", [116, 101, 118, 215, 206, 207, 225, 204, 205,
                                  302, 329, 314, 332, 312, 313, 327, 422, 423,
                                  426, 410, 421, 411, 30, 24, 8, 9, 99])
def test_every_plain_destination_accepted(c, dest):
    h, wf = started(c)
    c.save(wf, h.hoh, "exit", data=exit_form(destination=dest))


# -- step order and applicability -----------------------------------------

@pytest.mark.parametrize("step", CHILD_STEPS[1:] + ["income_benefits"])
def test_assessment_before_exit(c, step):
    h, wf = started(c)
    refused(c, wf, "INVALID_STATE", None, c.save, wf, h.hoh, step,
            data=assessment(step))


def test_default_last_without_last(c):
    h = Household(with_last=False)
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    refused(c, wf, "VALIDATION", about(h.hoh, "last.universal_data"), c.save,
            wf, h.hoh, "universal_data", mode="default_last")


def test_default_last_missing_for_that_step(c):
    h = Household()
    for m in h.args["members"]:
        m["last"] = {"universal_data": universal()}
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    c.save(wf, h.hoh, "universal_data", mode="default_last")
    refused(c, wf, "VALIDATION", about(h.hoh, "last.disabilities"), c.save,
            wf, h.hoh, "disabilities", mode="default_last")


def test_default_last_never_for_exit(c):
    h, wf = started(c)
    refused(c, wf, "VALIDATION", about(h.hoh, "steps.exit.mode"), c.save, wf,
            h.hoh, "exit", mode="default_last")


def test_income_benefits_not_for_child(c):
    h, wf = started(c)
    c.decide(wf, h.child, True)
    c.save(wf, h.child, "exit", data=exit_form())
    refused(c, wf, "VALIDATION", about(h.child, "steps.income_benefits"),
            c.save, wf, h.child, "income_benefits",
            data=assessment("income_benefits"))


def test_income_benefits_for_child_head_of_household(c):
    """A minor head of household is asked income and benefits."""
    h = Household()
    h.args["members"][0]["adult"] = False
    wf = h.start(c)
    view = c.get(wf)
    assert [s["name"] for s in member(view, h.hoh)["steps"]][-1] == \
        "income_benefits"
    complete_member(c, wf, h.hoh)


def test_step_save_arguments(c):
    h, wf = started(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    either = ("BAD_REQUEST", "VALIDATION")      # PROTOCOL.md does not say
    refused(c, wf, either, "mode", c.save, wf, h.hoh, "universal_data",
            mode="guess", data={})
    refused(c, wf, "VALIDATION", "step", c.save, wf, h.hoh, "bogus",
            data={})
    data = about(h.hoh, "steps.universal_data.data")
    refused(c, wf, either, data, c.save, wf, h.hoh, "universal_data",
            mode="default_last", data=universal())
    refused(c, wf, either, data, c.save, wf, h.hoh, "universal_data")
    refused(c, wf, either, data, c.save, wf, h.hoh, "universal_data",
            data=universal(local_notes="x" * 70000))     # over 64 KiB
    c.save(wf, h.hoh, "universal_data", data=universal(local_notes="x" * 60000))


def test_save_for_undecided_or_staying_member(c):
    h, wf = started(c)
    refused(c, wf, "INVALID_STATE", None, c.save, wf, h.spouse, "exit",
            data=exit_form())
    c.decide(wf, h.spouse, False)
    refused(c, wf, "INVALID_STATE", None, c.save, wf, h.spouse, "exit",
            data=exit_form())


def test_unknown_client(c):
    h, wf = started(c)
    refused(c, wf, "NOT_FOUND", None, c.save, wf, "C-nobody", "exit",
            data=exit_form())
    refused(c, wf, "NOT_FOUND", None, c.decide, wf, "C-nobody", True)


def test_decide_for_the_starting_member(c):
    h, wf = started(c)
    refused(c, wf, "VALIDATION", about(h.hoh, "decision"), c.decide, wf,
            h.hoh, False)


# -- finish ---------------------------------------------------------------

def test_finish_with_undecided_member(c):
    h, wf = started(c)
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, True)
    complete_member(c, wf, h.spouse)
    refused(c, wf, "INVALID_STATE", None, c.finish, wf)


def test_finish_with_pending_step(c):
    h, wf = started(c)
    complete_member(c, wf, h.hoh, steps=["exit", "universal_data",
                                         "health_insurance", "disabilities"])
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    refused(c, wf, "INVALID_STATE", None, c.finish, wf,
            new_head_of_household=h.spouse)
    # a pending step of another exiting member blocks too
    c.save(wf, h.hoh, "income_benefits", mode="default_last")
    c.decide(wf, h.child, True)
    refused(c, wf, "INVALID_STATE", None, c.finish, wf,
            new_head_of_household=h.spouse)
    complete_member(c, wf, h.child, steps=CHILD_STEPS)
    c.finish(wf, new_head_of_household=h.spouse)


def test_new_head_of_household_rules(c):
    h, wf = started(c)
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, True)
    complete_member(c, wf, h.child, steps=CHILD_STEPS)
    f = "new_head_of_household"
    refused(c, wf, "VALIDATION", f, c.finish, wf)
    refused(c, wf, "VALIDATION", f, c.finish, wf, new_head_of_household=h.hoh)
    refused(c, wf, "VALIDATION", f, c.finish, wf,
            new_head_of_household=h.child)
    refused(c, wf, "VALIDATION", f, c.finish, wf,
            new_head_of_household="C-nobody")
    c.finish(wf, new_head_of_household=h.spouse)


def test_new_head_of_household_must_be_absent_when_all_exit(c):
    h, wf = started(c)
    for cid in (h.spouse, h.child):
        c.decide(wf, cid, True)
    complete_member(c, wf, h.hoh)
    complete_member(c, wf, h.spouse)
    complete_member(c, wf, h.child, steps=CHILD_STEPS)
    refused(c, wf, "VALIDATION", "new_head_of_household", c.finish, wf,
            new_head_of_household=h.spouse)
    c.finish(wf)


def test_new_head_of_household_must_be_absent_when_head_stays(c):
    h, wf = started(c, start_for="spouse")
    complete_member(c, wf, h.spouse)
    c.decide(wf, h.hoh, False)
    c.decide(wf, h.child, False)
    refused(c, wf, "VALIDATION", "new_head_of_household", c.finish, wf,
            new_head_of_household=h.child)
    c.finish(wf)


# -- closed workflows -----------------------------------------------------

def finished_workflow(c):
    h, wf = started(c)
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    c.finish(wf, new_head_of_household=h.spouse)
    return h, wf


@pytest.mark.parametrize("closing", ["finish", "cancel"])
def test_writes_after_close(c, closing):
    if closing == "finish":
        h, wf = finished_workflow(c)
    else:
        h, wf = started(c)
        c.save(wf, h.hoh, "exit", data=exit_form())
        c.cancel(wf, "client returned")
    for fn, a, kw in [
            (c.save, (wf, h.hoh, "exit"), {"data": exit_form()}),
            (c.save, (wf, h.hoh, "universal_data"), {"mode": "default_last"}),
            (c.decide, (wf, h.spouse, True), {}),
            (c.decide, (wf, h.child, False), {}),
            (c.finish, (wf,), {}),
            (c.finish, (wf,), {"new_head_of_household": h.spouse}),
            (c.cancel, (wf, "again"), {})]:
        refused(c, wf, "INVALID_STATE", None, fn, *a, **kw)


@pytest.mark.parametrize("closing", ["open", "finish", "cancel"])
def test_dq_report_in_any_state(c, closing):
    if closing == "finish":
        h, wf = finished_workflow(c)
    else:
        h, wf = started(c)
        if closing == "cancel":
            c.cancel(wf, "test")
    before = c.get(wf)
    findings = [
        {"rule": "exit_destination_missing", "severity": "warning",
         "client_id": h.hoh, "step": "exit",
         "message": "Destination is 30 or 99"},
        {"rule": "household_head", "severity": "error",
         "message": "x" * 500}]
    res = c.dq_report(wf, "dq-worker", findings)
    assert has(res, workflow_id=wf, source="dq-worker", count=2)
    after = c.get(wf)
    assert after["version"] == before["version"]
    assert after["updated_at"] == before["updated_at"]
    assert after["state"] == before["state"]
    dq = sorted(after["dq"], key=lambda f: f["rule"])
    # the step a finding concerns is kept and served; none is nil
    assert dq == [
        {"source": "dq-worker", "rule": "exit_destination_missing",
         "severity": "warning", "client_id": h.hoh, "step": "exit",
         "message": "Destination is 30 or 99"},
        {"source": "dq-worker", "rule": "household_head", "severity": "error",
         "client_id": None, "step": None, "message": "x" * 500}]
    ev = c.history(wf)["events"][-1]
    assert ev["type"] == "dq.reported"
    assert ev["data"] == {"source": "dq-worker", "count": 2, "errors": 1,
                          "warnings": 1}
    # another source adds; the same source replaces; [] clears
    c.dq_report(wf, "timeliness", [{"rule": "late_exit",
                                    "severity": "warning",
                                    "message": "recorded 12 days late"}])
    assert len(c.get(wf)["dq"]) == 3
    c.dq_report(wf, "dq-worker", [])
    assert [f["source"] for f in c.get(wf)["dq"]] == ["timeliness"]
    assert c.get(wf)["version"] == before["version"]


def test_dq_report_limits(c):
    h, wf = started(c)
    ok = {"rule": "r", "severity": "warning", "message": "m"}
    bad = ("BAD_REQUEST", "VALIDATION")     # PROTOCOL.md does not say which
    refused(c, wf, bad, None, c.dq_report, wf, "w",
            [dict(ok, severity="fatal")])
    refused(c, wf, bad, None, c.dq_report, wf, "w",
            [dict(ok, message="m" * 501)])
    refused(c, wf, bad, None, c.dq_report, wf, "w", [ok] * 257)
    assert c.dq_report(wf, "w", [ok] * 256)["count"] == 256


def test_dq_report_step_is_a_step(c):
    """A finding's step is one of hud.codes' steps, by name: anything else
    is refused naming the finding's field, and nothing changes."""
    h, wf = started(c)
    ok = {"rule": "r", "severity": "warning", "client_id": h.hoh,
          "message": "m"}
    steps = [s["name"] for s in c.hud_codes()["steps"]]
    for step in ("Exit", "exit_form", "health insurance", ""):
        e = refused(c, wf, "VALIDATION", "findings.1.step", c.dq_report, wf,
                    "w", [ok, dict(ok, step=step)])
        assert "not a step" in e.message
    refused(c, wf, "BAD_REQUEST", "findings.0.step", c.dq_report, wf, "w",
            [dict(ok, step=3)])
    c.dq_report(wf, "w", [dict(ok, rule=s, step=s) for s in steps]
                + [dict(ok, step=None)])
    assert [(f["rule"], f["step"]) for f in c.get(wf)["dq"]] == \
        [(s, s) for s in steps] + [("r", None)]


# -- workflow.start -------------------------------------------------------

def test_start_accepts_zero_or_several_heads(c):
    """HUD flags a household without a head or with two (Eva #2/#3); it
    does not block the exit: both start as given (the DQ worker flags
    them, tests/integration/test_hmis_rules.py)."""
    for who, rel in ((0, 4), (1, 1)):
        h = Household()
        h.args["members"][who]["relationship"] = rel
        wf = h.start(c)
        assert [m["relationship"] for m in c.get(wf)["members"]] == \
            [m["relationship"] for m in h.args["members"]]


def test_start_member_rules(c):
    h = Household()
    h.args["members"][2]["entry_date"] = day(3)
    e = error_of(c.start, **h.args)
    assert e.code == "VALIDATION" and e.field == about(h.child, "entry_date")
    h = Household()
    h.args["enrollment_id"] = "E-not-in-household"
    e = error_of(c.start, **h.args)
    assert (e.code, e.field) == ("VALIDATION", "enrollment_id")
    h = Household()
    h.args["members"] = []
    assert error_of(c.start, **h.args).code in ("VALIDATION", "BAD_REQUEST")
    h = Household()
    h.args["members"][2]["client_id"] = h.spouse          # duplicate
    assert error_of(c.start, **h.args).code in ("VALIDATION", "BAD_REQUEST")
    h = Household()
    h.args["project_type"] = 5                          # not a HUD code
    assert error_of(c.start, **h.args).code in ("VALIDATION", "BAD_REQUEST")


def test_start_member_fields(c):
    h = Household()
    h.args["members"][1]["relationship"] = 6
    e = error_of(c.start, **h.args)
    assert (e.code, e.field) == ("VALIDATION", about(h.spouse, "relationship"))
    assert "client %s" % h.spouse in e.message
    h = Household()
    h.args["members"][1]["entry_date"] = "2025-02-30"
    e = error_of(c.start, **h.args)
    assert (e.code, e.field) == ("VALIDATION", about(h.spouse, "entry_date"))
    h = Household()
    h.args["members"][1]["relationship"] = 99          # data not collected
    h.start(c)


def test_start_thirty_two_members(c):
    h = Household()
    extra = [{"client_id": "%s-x%d" % (h.household_id, i),
              "enrollment_id": "%s-e%d" % (h.household_id, i),
              "relationship": 4, "entry_date": day(-10)} for i in range(29)]
    h.args["members"] = h.args["members"] + extra
    wf = h.start(c)
    assert len(c.get(wf)["members"]) == 32
    h2 = Household()
    h2.args["members"] = h2.args["members"] + [
        dict(m, client_id=m["client_id"] + "b",
             enrollment_id=m["enrollment_id"] + "b") for m in extra] + [
        {"client_id": "one-too-many", "enrollment_id": "one-too-many",
         "relationship": 5, "entry_date": day(-10)}]
    assert len(h2.args["members"]) == 33
    assert error_of(c.start, **h2.args).code in ("VALIDATION", "BAD_REQUEST")


def test_one_open_workflow_per_household(c):
    h = Household()
    wf = h.start(c)
    before = c.stats()
    e = error_of(c.start, **h.args)
    assert e.code == "CONFLICT" and e.workflow_id == wf
    # even when started for another member of that household
    h2 = Household()
    h2.args = dict(h.args, enrollment_id=h.enrollment[h.child])
    e = error_of(c.start, **h2.args)
    assert e.code == "CONFLICT" and e.workflow_id == wf
    assert c.stats()["last_seq"] == before["last_seq"]
    assert c.stats()["workflows"] == before["workflows"]
    c.cancel(wf, "restart")
    wf2 = h.start(c)
    assert wf2 != wf and wf2 > wf                       # ULIDs rise in time
    complete_member(c, wf2, h.hoh)
    c.decide(wf2, h.spouse, True)
    c.decide(wf2, h.child, True)
    complete_member(c, wf2, h.spouse)
    complete_member(c, wf2, h.child, steps=CHILD_STEPS)
    c.finish(wf2)
    wf3 = h.start(c)
    assert wf3 not in (wf, wf2)
    assert c.get(wf)["state"] == "cancelled"
    assert c.get(wf2)["state"] == "finished"
    assert c.get(wf3)["state"] == "open"


# -- unknown things -------------------------------------------------------

def test_not_found(c):
    for fn, a, kw in [
            (c.get, (UNKNOWN_WF,), {}),
            (c.history, (UNKNOWN_WF,), {}),
            (c.save, (UNKNOWN_WF, "C-1", "exit"), {"data": exit_form()}),
            (c.decide, (UNKNOWN_WF, "C-1", True), {}),
            (c.finish, (UNKNOWN_WF,), {}),
            (c.cancel, (UNKNOWN_WF, "x"), {}),
            (c.dq_report, (UNKNOWN_WF, "w", []), {})]:
        e = error_of(fn, *a, **kw)
        assert e.code == "NOT_FOUND", (fn.__name__, e.code, e.message)


def test_unknown_command(c):
    seq = c.stats()["last_seq"]
    for cmd in ("workflow.frobnicate", "PING", "workflow.start.now"):
        e = error_of(c.call, cmd, {})
        assert e.code == "UNKNOWN_COMMAND", (cmd, e.code)
    assert c.stats()["last_seq"] == seq
    assert c.ping()["pong"] is True
