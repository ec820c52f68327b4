"""Refusals that name the client (issue 10, item 2; PROTOCOL.md §2.3):
every refusal about a member -- step.save, member.decide, workflow.finish,
workflow.start's member checks -- says `client C` in its message and puts
the path `members[client_id=C].FIELD` in `field`.  The position form
`members.N.FIELD` stays only where the client cannot be read or does not
tell the members apart (a client_id given twice); a client_id that is no
member is NOT_FOUND on the argument, `client_id`, naming the client.  A
refused call changes nothing."""

import pytest

from support import (Household, complete_member, day, error_of, exit_form,
                     income)

ASSESSMENTS = ("universal_data", "health_insurance", "disabilities",
               "income_benefits")


def path(cid, rest=""):
    return "members[client_id=%s]%s" % (cid, rest)


def names(e, cid, code, rest):
    """``e`` is ``code``, says `client CID` and its field is the member's
    path, ``path(cid, rest)``."""
    return named(e, cid, code, path(cid, rest))


def named(e, cid, code, field):
    """``e`` is ``code``, says `client CID`, and its field is ``field``."""
    assert e.code == code, e
    assert "client %s" % cid in e.message, e
    assert e.field == field, e
    return e


def not_a_member(e, cid):
    """No such member: the argument at fault, the client named."""
    return named(e, cid, "NOT_FOUND", "client_id")


@pytest.fixture(scope="module")
def c(module_daemon):
    return module_daemon.client()


@pytest.fixture
def started(c):
    """A household started for its head; (household, workflow_id)."""
    h = Household()
    return h, h.start(c)


def unchanged(c, wf, version):
    assert c.get(wf)["version"] == version


# ---- step.save -------------------------------------------------------------

def test_save_for_a_non_member(c, started):
    h, wf = started
    v = c.get(wf)["version"]
    not_a_member(error_of(c.save, wf, "C-not-here", "exit",
                          data=exit_form()), "C-not-here")
    unchanged(c, wf, v)


def test_save_for_an_undecided_or_staying_member(c, started):
    h, wf = started
    v = c.get(wf)["version"]
    names(error_of(c.save, wf, h.spouse, "exit", data=exit_form()),
          h.spouse, "INVALID_STATE", ".decision")
    c.decide(wf, h.child, False)
    names(error_of(c.save, wf, h.child, "exit", data=exit_form()),
          h.child, "INVALID_STATE", ".decision")
    unchanged(c, wf, v + 1)


def test_save_a_step_that_does_not_apply(c, started):
    """income_benefits is collected from adults and the head only."""
    h, wf = started
    c.decide(wf, h.child, True)
    c.save(wf, h.child, "exit", data=exit_form())
    v = c.get(wf)["version"]
    e = names(error_of(c.save, wf, h.child, "income_benefits",
                       data=income({"earned": 10})),
              h.child, "VALIDATION", ".steps.income_benefits")
    assert "income_benefits" in e.message
    unchanged(c, wf, v)


def test_save_an_assessment_before_the_exit_form(c, started):
    h, wf = started
    v = c.get(wf)["version"]
    e = names(error_of(c.save, wf, h.hoh, "universal_data",
                       data={"disabling_condition": 0}),
              h.hoh, "INVALID_STATE", ".steps.exit")
    assert "exit" in e.message
    unchanged(c, wf, v)


@pytest.mark.parametrize("step,data,rest", [
    # a code outside its list: says where the valid ones are
    ("exit", exit_form(destination=999), ".steps.exit.destination"),
    # the exit form's rules across its fields
    ("exit", exit_form(exit_date=day(-1000)), ".steps.exit.exit_date"),
    ("exit", exit_form(exit_date=day(3)), ".steps.exit.exit_date"),
    ("exit", exit_form(exit_date="2026-02-30"), ".steps.exit.exit_date"),
    ("exit", exit_form(exit_date=None), ".steps.exit.exit_date"),
    ("exit", exit_form(destination=435),
     ".steps.exit.destination_subsidy_type"),
    ("exit", exit_form(destination=17), ".steps.exit.other_destination"),
    ("universal_data", {"disabling_condition": 7},
     ".steps.universal_data.disabling_condition"),
    ("universal_data", {"not_a_field": 1},
     ".steps.universal_data.not_a_field"),
    ("disabilities", {"physical": "yes"}, ".steps.disabilities.physical"),
    ("income_benefits", {"earned_amount": -5},
     ".steps.income_benefits.earned_amount"),
    ("health_insurance", {"other_insurance_identify": "x" * 51},
     ".steps.health_insurance.other_insurance_identify"),
], ids=["destination code", "exit before entry", "exit in the future",
        "exit_date malformed", "exit_date missing", "435 without subsidy",
        "17 without text", "code outside its list", "unknown field",
        "wrong type", "amount out of range", "text too long"])
def test_save_a_malformed_field(c, started, step, data, rest):
    h, wf = started
    if step != "exit":
        c.save(wf, h.hoh, "exit", data=exit_form())
    v = c.get(wf)["version"]
    e = names(error_of(c.save, wf, h.hoh, step, data=data), h.hoh,
              "VALIDATION", rest)
    if rest.endswith((".destination", ".disabling_condition")):
        # a refused code says where the valid ones are
        assert "hud.codes" in e.message or "99" in e.message, e
    unchanged(c, wf, v)


def test_save_default_last_with_no_last_value(c):
    h = Household(with_last=False)
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    names(error_of(c.save, wf, h.hoh, "disabilities", mode="default_last"),
          h.hoh, "VALIDATION", ".last.disabilities")


# ---- member.decide ---------------------------------------------------------

def test_decide_for_the_member_the_workflow_exits(c, started):
    h, wf = started
    v = c.get(wf)["version"]
    names(error_of(c.decide, wf, h.hoh, False), h.hoh, "VALIDATION",
          ".decision")
    not_a_member(error_of(c.decide, wf, "C-not-here", True), "C-not-here")
    unchanged(c, wf, v)


# ---- workflow.finish -------------------------------------------------------

def test_finish_with_an_undecided_member(c, started):
    h, wf = started
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.child, False)
    v = c.get(wf)["version"]
    e = names(error_of(c.finish, wf, new_head_of_household=h.child),
              h.spouse, "INVALID_STATE", ".decision")
    assert "member 1" not in e.message      # named, not counted
    unchanged(c, wf, v)


def test_finish_with_a_pending_step(c, started):
    h, wf = started
    c.save(wf, h.hoh, "exit", data=exit_form())
    c.save(wf, h.hoh, "universal_data", mode="default_last")
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    v = c.get(wf)["version"]
    e = names(error_of(c.finish, wf, new_head_of_household=h.spouse),
              h.hoh, "INVALID_STATE", ".steps.health_insurance")
    assert "health_insurance" in e.message
    # an exiting member with nothing saved: the exit form is pending
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.child, True)
    names(error_of(c.finish, wf, new_head_of_household=h.spouse),
          h.child, "INVALID_STATE", ".steps.exit")
    unchanged(c, wf, v + len(("exit",) + ASSESSMENTS) + 1)


def new_head_refusal(e, cid):
    """A refusal about new_head_of_household: in the wire's words, naming
    the client, on the argument (which the CLI maps to --new-hoh)."""
    named(e, cid, "VALIDATION", "new_head_of_household")
    assert "new_head_of_household" in e.message, e


def test_finish_without_a_new_head(c, started):
    """The head exits while others stay: the refusal names the head."""
    h, wf = started
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    v = c.get(wf)["version"]
    new_head_refusal(error_of(c.finish, wf), h.hoh)
    unchanged(c, wf, v)


def test_finish_with_a_new_head_who_does_not_stay(c, started):
    h, wf = started
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, True)
    complete_member(c, wf, h.spouse)
    c.decide(wf, h.child, False)
    v = c.get(wf)["version"]
    new_head_refusal(error_of(c.finish, wf, new_head_of_household=h.spouse),
                     h.spouse)
    new_head_refusal(error_of(c.finish, wf,
                              new_head_of_household="C-not-here"),
                     "C-not-here")
    unchanged(c, wf, v)
    c.finish(wf, new_head_of_household=h.child)


# ---- workflow.start --------------------------------------------------------

def start_refused(c, h, i, **member):
    """workflow.start of ``h`` with member ``i`` changed (None removes a
    key); the error, after checking that nothing started."""
    m = h.args["members"][i]
    for k, v in member.items():
        if v is None:
            m.pop(k, None)
        else:
            m[k] = v
    e = error_of(h.start, c)
    listed = c.call("workflow.list", {"state": "open",
                                      "project_id": h.project_id})
    assert h.household_id not in {w["household_id"]
                                  for w in listed["workflows"]}
    return e


@pytest.mark.parametrize("i,member,code,rest", [
    (1, {"entry_date": day(2)}, "VALIDATION", ".entry_date"),
    (1, {"entry_date": "2026-13-01"}, "VALIDATION", ".entry_date"),
    (2, {"relationship": 7}, "VALIDATION", ".relationship"),
    (2, {"birth_date": day(-1)}, "VALIDATION", ".birth_date"),
    (2, {"adult": "no"}, "BAD_REQUEST", ".adult"),
    (0, {"last": {"disabilities": {"physical": 7}}}, "VALIDATION",
     ".last.disabilities.physical"),
    (0, {"last": {"exit": {}}}, "BAD_REQUEST", ".last"),
    (1, {"enrollment_id": None}, "BAD_REQUEST", ".enrollment_id"),
], ids=["entry_date future", "entry_date malformed", "relationship",
        "birth_date after entry", "adult not bool", "last field",
        "last step", "enrollment_id missing"])
def test_start_member_problems(c, i, member, code, rest):
    h = Household(project_id="P-start-%d" % i)
    cid = h.args["members"][i]["client_id"]
    names(start_refused(c, h, i, **member), cid, code, rest)


def test_start_member_twice(c):
    """A client or an enrollment twice: the second member is named.  A
    client_id twice cannot be a path by client_id (it would name two
    members): its position, members.2.client_id."""
    h = Household(project_id="P-twice")
    named(start_refused(c, h, 2, client_id=h.spouse), h.spouse,
          "VALIDATION", "members.2.client_id")
    h = Household(project_id="P-twice")
    names(start_refused(c, h, 2, enrollment_id=h.enrollment[h.spouse]),
          h.child, "VALIDATION", ".enrollment_id")


def test_start_member_without_a_readable_client_id(c):
    """No client_id to name: the position stays, members.N.FIELD."""
    h = Household(project_id="P-unnamed")
    e = start_refused(c, h, 1, client_id=None)
    assert e.code == "BAD_REQUEST" and e.field == "members.1.client_id", e
    h = Household(project_id="P-unnamed")
    e = start_refused(c, h, 2, client_id=42)
    assert e.code == "BAD_REQUEST" and e.field == "members.2.client_id", e
