"""The HMIS rules of issue 9 over the wire, with a real daemon, real LMDB
and the real exitflow-dq: typed assessments (malformed refused with the
field, incomplete accepted and flagged), accept-and-flag households, the
CoC's calendar (--timezone), age from birth_date, the income arithmetic,
the new head of household, move-in dates, and hud.codes."""

import datetime
import json
import subprocess
import time
import types
import uuid

import pytest

from support import Daemon, Workers, error_of, free_port, member, wait_for
from support.dataset import (ASSESSMENTS, HouseholdPlan, Person,
                             dq_caught_up, dq_findings, dq_report, drive,
                             local_now, years_before)
from support.fixtures import workers  # noqa: F401
from support.launcher import binary, daemon_binary

# The module's daemon and worker count days in UTC, whatever the machine's
# zone, so that the dates below (UTC) are the CoC's.
ZONE = "UTC"


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def ago(days):
    return utc_today() - datetime.timedelta(days=days)


@pytest.fixture(scope="module")
def hmis(tmp_path_factory):
    """The module's daemon (.d), a client of it (.c) and the exitflow-dq
    worker beside them (.dq); both log every request and event (--verbose),
    so that the logs the PII check reads hold everything they may say."""
    base = tmp_path_factory.mktemp("hmis")
    d = Daemon(base / "d", extra_args=["--timezone", ZONE, "--verbose"])
    d.start()
    w = Workers(base)
    yield types.SimpleNamespace(d=d, c=d.client(),
                                dq=w.dq(d, "--timezone", ZONE, "--verbose"))
    w.close()
    d.close()


# -- households ---------------------------------------------------------------

def person(rel=1, adult=True, birth=None, exits=True, exit_date=None,
           destination=410, income=None):
    """One member; an adult leaver answering GOOD_INCOME unless told."""
    u = uuid.uuid4().hex[:10]
    p = Person("C-" + u, "E-" + u, rel, ago(200), birth_date=birth,
               adult_flag=adult, exits=exits)
    if exits:
        p.exit_date = exit_date or ago(1)
        p.destination = destination
        if p.answers_income(utc_today()):
            p.income = GOOD_INCOME if income is None else income
    return p


def household(*members, project_type=1, move_in=None, new_head=None):
    return HouseholdPlan("HH-" + uuid.uuid4().hex[:10], "P-HMIS",
                         project_type, list(members), move_in_date=move_in,
                         new_head=new_head and new_head.client_id)


GOOD_INCOME = {"income_from_any_source": 1, "earned": 1,
               "earned_amount": 1250.5, "total_monthly_income": 1250.5,
               "benefits_from_any_source": 0}


def wait_view(c, wf, test, want, timeout):
    """Waits until ``test(dq_findings(view))`` equals ``want``; the view."""
    try:
        return wait_for(lambda: test(dq_findings(c.get(wf))) == want
                        and c.get(wf), timeout=timeout)
    except AssertionError:
        raise AssertionError("findings on %s: want %r, have %r" % (
            wf, want, test(dq_findings(c.get(wf))))) from None


def findings(c, wf, want, timeout=20.0):
    """Waits until the workflow's dq findings are exactly ``want``
    ((rule, client_id) pairs, "" for none); returns the view."""
    return wait_view(c, wf, lambda f: f, sorted(want), timeout)


def rules_of(c, wf, rules, timeout=20.0):
    """Waits until the set of rules found on the workflow is ``rules``."""
    return wait_view(c, wf, lambda f: {r for r, _ in f}, set(rules), timeout)


def severity(view, rule):
    return {f["rule"]: f["severity"] for f in view["dq"]}[rule]


def save_all(c, wf, p):
    """Saves every step of leaver ``p``: the exit form, the assessments and,
    when ``p`` answers it, income."""
    c.save(wf, p.client_id, "exit", data=p.exit_form())
    for step, data in ASSESSMENTS.items():
        c.save(wf, p.client_id, step, data=data)
    if p.income is not None:
        c.save(wf, p.client_id, "income_benefits", data=p.income)


# -- typed assessments --------------------------------------------------------

MALFORMED = [
    # unknown field (universal_data's old free-form key, a misspelling)
    ("universal_data", {"living_situation": 116}, "living_situation"),
    ("health_insurance", {"insurance_from_any_source": 1, "medicaid_card": 1},
     "medicaid_card"),
    ("exit", {"exit_date": None, "destination": 410, "mood": "fine"}, "mood"),
    # a code outside its element's list
    ("health_insurance", {"insurance_from_any_source": 7},
     "insurance_from_any_source"),
    ("health_insurance", {"medicaid": 8}, "medicaid"),      # 1.7: 0, 1, 99
    ("disabilities", {"physical": 2}, "physical"),
    ("disabilities", {"substance_use": 4}, "substance_use"),
    ("exit", {"exit_date": None, "destination": 37}, "destination"),
    ("exit", {"exit_date": None, "destination": 435,
              "destination_subsidy_type": 999}, "destination_subsidy_type"),
    # the wrong type
    ("income_benefits", {"income_from_any_source": "1"},
     "income_from_any_source"),
    ("income_benefits", {"earned": True}, "earned"),
    ("disabilities", {"physical": 1.0}, "physical"),
    ("income_benefits", {"earned": 1, "earned_amount": "1200"},
     "earned_amount"),
    ("income_benefits", {"other_income_source_identify": 5},
     "other_income_source_identify"),
    ("universal_data", {"local_notes": {"a": 1}}, "local_notes"),
    # amounts out of range, text too long
    ("income_benefits", {"earned": 1, "earned_amount": -5}, "earned_amount"),
    ("income_benefits", {"ssi": 1, "ssi_amount": -0.01}, "ssi_amount"),
    ("income_benefits", {"total_monthly_income": 10000001},
     "total_monthly_income"),
    ("income_benefits", {"other_income_source_identify": "x" * 51},
     "other_income_source_identify"),
]


def test_malformed_assessment_refused_with_its_field(hmis):
    c = hmis.c
    hoh = person()
    plan = household(hoh)
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]
    c.save(wf, hoh.client_id, "exit", data=hoh.exit_form())
    c.save(wf, hoh.client_id, "health_insurance",
           data=ASSESSMENTS["health_insurance"])
    before = c.get(wf)
    for step, data, field in MALFORMED:
        if step == "exit":
            data = dict(data, exit_date=hoh.exit_date.isoformat())
        e = error_of(c.save, wf, hoh.client_id, step, data=data)
        assert (e.code, e.field) == (
            "VALIDATION", "members[client_id=%s].steps.%s.%s"
            % (hoh.client_id, step, field)), (step, data, e)
        assert "client %s" % hoh.client_id in e.message, e
    after = c.get(wf)
    # nothing changed: the version, the saved steps, the pending ones
    assert after["version"] == before["version"]
    assert member(after, hoh.client_id) == member(before, hoh.client_id)

    # nil is an absent answer; local_ keys hold the CoC's own scalars
    data = {"insurance_from_any_source": 1, "medicaid": 1, "schip": None,
            "local_card_seen": True, "local_card_number": "A-1"}
    r = c.save(wf, hoh.client_id, "health_insurance", data=data)
    assert r["version"] == before["version"] + 1
    saved = [s for s in member(c.get(wf), hoh.client_id)["steps"]
             if s["name"] == "health_insurance"][0]["data"]
    assert saved["local_card_seen"] is True
    assert saved["local_card_number"] == "A-1"
    c.cancel(wf, "test over")


def test_malformed_prior_values_refused_with_their_path(hmis):
    """A member's prior values (`last`, for Default Last) are typed as
    entered data is: the path names the member, the step and the field."""
    c = hmis.c
    started = c.stats()["workflows"]
    for step, data, field in MALFORMED:
        if step == "exit":
            continue                    # no prior values for the exit form
        plan = household(person(), person(3))
        args = plan.start_args()
        args["members"][1]["last"] = dict(ASSESSMENTS, **{step: data})
        e = error_of(c.call, "workflow.start", args)
        who = args["members"][1]["client_id"]
        assert (e.code, e.field) == (
            "VALIDATION", "members[client_id=%s].last.%s.%s"
            % (who, step, field)), e
        assert "client %s" % who in e.message, e
    assert c.stats()["workflows"] == started


def test_incomplete_assessment_accepted_then_flagged(hmis):
    c = hmis.c
    # income with only the benefits answer; insurance with nothing at all
    hoh = person(income={"benefits_from_any_source": 0})
    spouse = person(rel=3)
    plan = household(hoh, spouse)
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]
    c.decide(wf, spouse.client_id, True)
    for p in (hoh, spouse):
        c.save(wf, p.client_id, "exit", data=p.exit_form())
        for step in ("universal_data", "disabilities"):
            c.save(wf, p.client_id, step, data=ASSESSMENTS[step])
    r = c.save(wf, hoh.client_id, "income_benefits", data=hoh.income)
    assert r["state"] == "open"
    c.save(wf, hoh.client_id, "health_insurance",
           data=ASSESSMENTS["health_insurance"])
    c.save(wf, spouse.client_id, "income_benefits", data=GOOD_INCOME)
    c.save(wf, spouse.client_id, "health_insurance", data={})
    c.finish(wf)
    # an assessment saved with no HUD field at all is also a half-done
    # exit (assessment_missing, a warning)
    view = findings(c, wf, [("income_missing", hoh.client_id),
                            ("insurance_missing", spouse.client_id),
                            ("assessment_missing", spouse.client_id)])
    assert severity(view, "income_missing") == "error"       # Eva #89
    assert severity(view, "insurance_missing") == "error"    # Eva #93
    assert severity(view, "assessment_missing") == "warning"


# -- accept and flag ----------------------------------------------------------

def test_relationship_99_and_head_counts_start_and_are_flagged(hmis):
    c = hmis.c
    # relationship 99: starts, exits, flagged (APR Q6b, Eva #4)
    hoh, unknown = person(), person(rel=99)
    wf = drive(c, [household(hoh, unknown)])[0].workflow_id
    view = findings(c, wf, [("relationship_missing", unknown.client_id)])
    assert severity(view, "relationship_missing") == "error"

    # two heads of household: starts and is flagged (Eva #3)
    wf = drive(c, [household(person(), person())])[0].workflow_id
    view = rules_of(c, wf, ["head_of_household_count"])
    assert severity(view, "head_of_household_count") == "error"

    # no head at all: starts and is flagged (Eva #2)
    wf = drive(c, [household(person(rel=3), person(rel=5, exits=False))]
               )[0].workflow_id
    rules_of(c, wf, ["head_of_household_count"])

    # two heads, one leaves: the other stays and must be named new head
    h1, h2 = person(), person(exits=False)
    plan = household(h1, h2)
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]
    c.decide(wf, h2.client_id, False)
    save_all(c, wf, h1)
    e = error_of(c.finish, wf)
    assert (e.code, e.field) == ("VALIDATION", "new_head_of_household")
    c.finish(wf, new_head_of_household=h2.client_id)

    # still refused: a relationship that is not a 3.15 code
    bad = household(person(), person(rel=7))
    e = error_of(c.call, "workflow.start", bad.start_args())
    assert (e.code, e.field) == (
        "VALIDATION", "members[client_id=%s].relationship"
        % bad.members[1].client_id)


# -- age from the date of birth -----------------------------------------------

def exit_day_not_leap():
    """Three days ago, or four when that is 29 February."""
    day = ago(3)
    return ago(4) if (day.month, day.day) == (2, 29) else day


def test_birth_date_decides_who_answers_income(hmis):
    c = hmis.c
    exit_day = exit_day_not_leap()
    seq0 = c.stats()["last_seq"]
    hoh = person(adult=None, birth=years_before(exit_day, 40),
                 exit_date=exit_day)
    people = {
        # (adult flag, birth date) -> (age_basis, adult at exit)
        "ten": (person(2, None, years_before(exit_day, 10),
                       exit_date=exit_day), "birth_date", False),
        "turns_18_on_exit": (person(4, None, years_before(exit_day, 18),
                                    exit_date=exit_day), "birth_date", True),
        "turns_18_after_exit": (person(
            4, None, years_before(exit_day, 18) + datetime.timedelta(days=1),
            exit_date=exit_day), "birth_date", False),
        "flag_adult": (person(2, True, years_before(exit_day, 10) -
                              datetime.timedelta(days=7),
                              exit_date=exit_day), "adult_flag", True),
        "flag_child": (person(5, False, years_before(exit_day, 30),
                              exit_date=exit_day), "adult_flag", False),
        "neither": (person(5, None, None, exit_date=exit_day),
                    "unknown", True),
    }
    plan = household(hoh, *[p for p, _, _ in people.values()])
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]

    # before the exit form: as of today (the 18th birthday two days ago
    # counts), and the view never holds the date itself
    view = c.get(wf)
    late = people["turns_18_after_exit"][0]
    assert member(view, late.client_id)["adult"] is True
    assert member(view, hoh.client_id)["age_basis"] == "birth_date"
    for p, basis, _ in people.values():
        assert "birth_date" not in member(view, p.client_id)
        assert member(view, p.client_id)["age_basis"] == basis

    # each leaver's own exit date decides
    for p, _, _ in people.values():
        c.decide(wf, p.client_id, True)
    for p in plan.members:
        c.save(wf, p.client_id, "exit", data=p.exit_form())
    view = c.get(wf)
    for name, (p, _, adult) in people.items():
        m = member(view, p.client_id)
        steps = [s["name"] for s in m["steps"]]
        assert m["adult"] is adult, name
        assert ("income_benefits" in steps) is adult, (name, steps)
        # the test's own reading agrees
        assert p.answers_income(utc_today()) is adult, name
    ten = people["ten"][0]
    e = error_of(c.save, wf, ten.client_id, "income_benefits",
                 data=GOOD_INCOME)
    assert (e.code, e.field) == (
        "VALIDATION",
        "members[client_id=%s].steps.income_benefits" % ten.client_id)

    for p in plan.members:
        for step, data in ASSESSMENTS.items():
            c.save(wf, p.client_id, step, data=data)
        if p.income is not None:
            c.save(wf, p.client_id, "income_benefits", data=p.income)
    c.finish(wf)
    # only the member with neither a flag nor a date: age unknown (3.03)
    view = findings(c, wf, [("age_unknown", people["neither"][0].client_id)])
    assert severity(view, "age_unknown") == "error"

    # refused: born in the future, born after the entry date
    for birth in (ago(-1), ago(100)):
        bad = household(person(adult=None, birth=birth))
        e = error_of(c.call, "workflow.start", bad.start_args())
        assert e.code == "VALIDATION" and "birth_date" in e.field, e
        assert birth.isoformat() not in e.message

    # never in a view, the event log, the history or a log line
    dq_caught_up(c)
    births = [p.birth_date.isoformat() for p in plan.members
              if p.birth_date] + [ago(-1).isoformat(), ago(100).isoformat()]
    events, after = [], seq0
    while True:
        page = c.events_read(after, limit=1000)["events"]
        if not page:
            break
        events += page
        after = page[-1]["seq"]
    texts = {"history": json.dumps(c.history(wf)),
             "events": json.dumps(events),
             "daemon log": hmis.d.log(), "worker log": hmis.dq.log()}
    for where, text in texts.items():
        assert "birth" not in text, where
    # the view names the basis ("birth_date"), never the date
    texts["view"] = json.dumps(c.get(wf))
    for where, text in texts.items():
        for b in births:
            assert b not in text, (where, b)


# -- the income arithmetic ----------------------------------------------------

def two_sources(total):
    return {"income_from_any_source": 1, "earned": 1, "earned_amount": 1000,
            "ssi": 1, "ssi_amount": 500.5, "total_monthly_income": total,
            "benefits_from_any_source": 0}


def test_income_amounts_and_total(hmis):
    c = hmis.c
    members = {
        "source_without_amount": {"income_from_any_source": 1, "earned": 1,
                                  "benefits_from_any_source": 0},
        "amount_zero": {"income_from_any_source": 1, "earned": 1,
                        "earned_amount": 0, "total_monthly_income": 0,
                        "benefits_from_any_source": 0},
        # earned 1000 + ssi 500.50 = 1500.50: more than $1 off is flagged
        "total_off_150_cents": two_sources(total=1502.0),
        "total_off_1_dollar": two_sources(total=1501.5),
        "total_off_1_cent": two_sources(total=1500.49),
        "no_total": {"income_from_any_source": 1, "pension": 1,
                     "pension_amount": 900, "benefits_from_any_source": 0},
        "any_no_source_yes": {"income_from_any_source": 0, "earned": 1,
                              "earned_amount": 800,
                              "total_monthly_income": 800,
                              "benefits_from_any_source": 0},
    }
    people = {name: person(1 if i == 0 else 5, income=data)
              for i, (name, data) in enumerate(members.items())}
    wf = drive(c, [household(*people.values())])[0].workflow_id
    want = [("income_amount_missing", "source_without_amount"),
            ("income_amount_missing", "amount_zero"),
            ("income_total_mismatch", "total_off_150_cents"),
            ("income_total_mismatch", "no_total"),
            ("income_inconsistent", "any_no_source_yes")]
    view = findings(c, wf, [(r, people[n].client_id) for r, n in want])
    assert severity(view, "income_amount_missing") == "warning"
    assert severity(view, "income_total_mismatch") == "warning"
    assert severity(view, "income_inconsistent") == "error"   # Eva #90


# -- the new head of household ------------------------------------------------

def test_new_head_minor_and_only_minors_remain(hmis):
    c = hmis.c
    minor = years_before(ago(1), 10)
    # a minor named head while an adult stays: a warning (Eva #86)
    kid = person(2, None, minor, exits=False)
    plan = household(person(), person(3, exits=False), kid, new_head=kid)
    wf = drive(c, [plan])[0].workflow_id
    view = rules_of(c, wf, ["new_head_minor"])
    assert severity(view, "new_head_minor") == "warning"

    # the adults leave, only minors stay: an error, and no new_head_minor
    kid1 = person(2, None, minor, exits=False)
    kid2 = person(2, False, exits=False)
    plan = household(person(), person(3), kid1, kid2, new_head=kid1)
    wf = drive(c, [plan])[0].workflow_id
    view = rules_of(c, wf, ["only_minors_remain"])
    assert severity(view, "only_minors_remain") == "error"

    # an adult named head: nothing to say
    spouse = person(3, exits=False)
    plan = household(person(), spouse, person(2, False, exits=False),
                     new_head=spouse)
    wf = drive(c, [plan])[0].workflow_id
    dq_caught_up(c)
    assert dq_findings(c.get(wf)) == []
    ev = [e for e in c.history(wf)["events"]
          if e["type"] == "workflow.finished"][0]["data"]
    assert ev["new_head_of_household"] == spouse.client_id
    assert sorted(ev["staying"]) == sorted(
        m.client_id for m in plan.members if not m.exits)


# -- move-in dates (3.20) -----------------------------------------------------

def test_move_in_date(hmis):
    c = hmis.c
    # RRH (13): exit before the move-in date is an error (Eva #40)
    hoh = person(exit_date=ago(10))
    plan = household(hoh, project_type=13, move_in=ago(5))
    wf = drive(c, [plan])[0].workflow_id
    view = findings(c, wf, [("exit_before_move_in", hoh.client_id)])
    assert severity(view, "exit_before_move_in") == "error"
    assert view["move_in_date"] == ago(5).isoformat()
    # PSH (3), moved in before the exit: fine
    wf = drive(c, [household(person(exit_date=ago(10)), project_type=3,
                             move_in=ago(20))])[0].workflow_id
    dq_caught_up(c)
    assert dq_findings(c.get(wf)) == []
    # no move-in date anywhere else
    wf = drive(c, [household(person())])[0].workflow_id
    assert c.get(wf)["move_in_date"] is None

    started = c.stats()["workflows"]
    for project_type, move_in in ((1, ago(5)), (None, ago(5)),
                                  (13, ago(-1)), (9, "2026-02-30")):
        args = household(person(), project_type=project_type).start_args()
        if project_type is None:
            del args["project_type"]
        args["move_in_date"] = (move_in if isinstance(move_in, str)
                                else move_in.isoformat())
        e = error_of(c.call, "workflow.start", args)
        assert (e.code, e.field) == ("VALIDATION", "move_in_date"), \
            (project_type, move_in, e)
    assert c.stats()["workflows"] == started


# -- hud.codes ----------------------------------------------------------------

# The HUD facts, typed here from the Data Standards (FY2024), not read from
# the code under test: destination -> (category, words of its label).
DESTINATION_FACTS = {
    116: ("homeless", "Place not meant for habitation"),
    101: ("homeless", "Host Home shelter"),
    118: ("homeless", "Safe Haven"),
    215: ("institutional", "Foster care"),
    206: ("institutional", "non-psychiatric medical facility"),
    207: ("institutional", "juvenile detention facility"),
    225: ("institutional", "nursing home"),
    204: ("institutional", "Psychiatric hospital"),
    205: ("institutional", "detox center"),
    302: ("temporary", "Transitional housing"),
    329: ("temporary", "halfway house"),
    314: ("temporary", "without emergency shelter voucher"),
    332: ("temporary", "Host Home (non-crisis)"),
    312: ("temporary", "family, temporary tenure"),
    313: ("temporary", "friends, temporary tenure"),
    327: ("temporary", "HOPWA TH"),
    422: ("permanent", "family, permanent tenure"),
    423: ("permanent", "friends, permanent tenure"),
    426: ("permanent", "HOPWA PH"),
    410: ("permanent", "Rental by client, no ongoing housing subsidy"),
    435: ("permanent", "Rental by client, with ongoing housing subsidy"),
    421: ("permanent", "Owned by client, with ongoing housing subsidy"),
    411: ("permanent", "Owned by client, no ongoing housing subsidy"),
    30: ("other", "No exit interview completed"),
    17: ("other", "Other"),
    24: ("other", "Deceased"),
    8: ("other", "Client doesn't know"),
    9: ("other", "Client prefers not to answer"),
    99: ("other", "Data not collected"),
}

LIST_FACTS = {
    "no_yes_reasons": [0, 1, 8, 9, 99],
    "no_yes_missing": [0, 1, 99],
    "substance_use": [0, 1, 2, 3, 8, 9, 99],
    "subsidy_type": [428, 419, 431, 433, 434, 420, 436, 437, 438, 439, 440],
    "relationship": [1, 2, 3, 4, 5, 99],
    "project_type": [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14],
}

INCOME_SOURCES = ["earned", "unemployment", "ssi", "ssdi",
                  "va_disability_service", "va_disability_non_service",
                  "private_disability", "workers_comp", "tanf", "ga",
                  "soc_sec_retirement", "pension", "child_support", "alimony"]
STEP_FIELDS = {
    "exit": {"exit_date", "destination", "destination_subsidy_type",
             "other_destination", "exit_reason"},
    "universal_data": {"disabling_condition"},
    "health_insurance": {"insurance_from_any_source", "medicaid", "medicare",
                         "schip", "vha_services", "employer_provided",
                         "cobra", "private_pay", "state_health_ins",
                         "indian_health_services", "other_insurance",
                         "other_insurance_identify"},
    "disabilities": {"physical", "developmental", "chronic_health",
                     "hiv_aids", "mental_health", "substance_use",
                     "physical_indefinite_and_impairs",
                     "chronic_health_indefinite_and_impairs",
                     "mental_health_indefinite_and_impairs",
                     "substance_use_indefinite_and_impairs"},
    "income_benefits": {"income_from_any_source", "total_monthly_income",
                        "other_income_source", "other_income_amount",
                        "other_income_source_identify",
                        "benefits_from_any_source", "snap", "wic",
                        "tanf_child_care", "tanf_transportation",
                        "other_tanf", "other_benefits_source",
                        "other_benefits_source_identify"}
    | set(INCOME_SOURCES) | {s + "_amount" for s in INCOME_SOURCES},
}


def sample_value(f, codes):
    """A valid value of field ``f`` (a hud.codes field) for step.save."""
    return {"code": lambda: codes[f["list"]][-1], "amount": lambda: 12.5,
            "text": lambda: "y" * (f["max_chars"] or 1),
            "date": lambda: ago(1).isoformat()}[f["type"]]()


def test_hud_codes(hmis):
    c = hmis.c
    res = c.call("hud.codes")
    for role in ("frontend", "worker", "ops"):              # any role
        assert hmis.d.client(role=role).call("hud.codes") == res

    dests = {x["code"]: x for x in res["destinations"]}
    assert set(dests) == set(DESTINATION_FACTS)             # no 37, 335, 336
    for code, (category, words) in DESTINATION_FACTS.items():
        assert dests[code]["category"] == category, code
        assert words in dests[code]["label"], (code, dests[code]["label"])
        assert dests[code]["needs_subsidy_type"] is (code == 435)
        assert dests[code]["needs_other_text"] is (code == 17)
    # the full label tells 101 from 314 and 332
    assert "emergency shelter voucher" in dests[101]["label"]
    assert sorted(res["destination_categories"]) == sorted(
        ["permanent", "temporary", "institutional", "homeless", "other"])

    lists = res["lists"]
    assert {k: sorted(x["code"] for x in v["codes"])
            for k, v in lists.items()} == {k: sorted(v)
                                           for k, v in LIST_FACTS.items()}
    assert all(x["label"] for v in lists.values() for x in v["codes"])
    assert lists["substance_use"]["element"] == "4.10.2"
    labels = {x["code"]: x["label"] for x in lists["subsidy_type"]["codes"]}
    assert labels[431] == "RRH or equivalent subsidy"
    assert "Permanent Supportive Housing" in labels[439]
    assert res["local_prefix"] == "local_"

    steps = res["steps"]
    assert [s["name"] for s in steps] == [
        "exit", "universal_data", "health_insurance", "disabilities",
        "income_benefits"]
    by_name = {s["name"]: s for s in steps}
    assert [s["name"] for s in steps if s["adults_and_hoh_only"]] == [
        "income_benefits"]
    assert not by_name["exit"]["allows_default_last"]
    assert all(s["allows_default_last"] for s in steps[1:])
    for s in steps:
        assert {f["name"] for f in s["fields"]} == STEP_FIELDS[s["name"]]
    fields = {f["name"]: f for f in by_name["income_benefits"]["fields"]}
    for source in INCOME_SOURCES:
        assert fields[source]["pair"] == source + "_amount"
        assert fields[source]["list"] == "no_yes_missing"
        assert fields[source + "_amount"]["type"] == "amount"
        assert fields[source]["element"] == "4.02"
    assert fields["income_from_any_source"]["list"] == "no_yes_reasons"
    assert fields["income_from_any_source"]["column"] == "IncomeFromAnySource"
    assert fields["total_monthly_income"]["type"] == "amount"
    dis = {f["name"]: f for f in by_name["disabilities"]["fields"]}
    assert dis["substance_use"]["list"] == "substance_use"
    exit_fields = {f["name"]: f for f in by_name["exit"]["fields"]}
    assert exit_fields["exit_date"]["type"] == "date"
    assert exit_fields["destination"]["element"] == "3.12"
    assert exit_fields["other_destination"]["max_chars"] == 50

    # what hud.codes describes, step.save accepts: every field of every
    # assessment at once, each with a valid value of its type, kept as sent
    codes = {k: [x["code"] for x in v["codes"]] for k, v in lists.items()}
    hoh = person()
    plan = household(hoh)
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]
    c.save(wf, hoh.client_id, "exit", data=hoh.exit_form())
    for s in steps[1:]:
        data = {f["name"]: sample_value(f, codes) for f in s["fields"]}
        c.save(wf, hoh.client_id, s["name"], data=data)
        saved = [x for x in member(c.get(wf), hoh.client_id)["steps"]
                 if x["name"] == s["name"]][0]["data"]
        assert saved == data, s["name"]
    c.cancel(wf, "test over")


# -- the CoC's calendar -------------------------------------------------------

def zone_off_utc():
    """A zone whose local date is not UTC's now (Kiritimati, UTC+14, from
    10:00 UTC; Pago Pago, UTC-11, before), and its local now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    zone = "Pacific/Kiritimati" if now.hour >= 10 else "Pacific/Pago_Pago"
    return zone, local_now(zone)


def seconds_to_midnight(t):
    return 24 * 3600 - (t.hour * 3600 + t.minute * 60 + t.second)


def test_timezone_decides_today_and_timeliness(make_daemon, workers):  # noqa: F811
    zone, local = zone_off_utc()
    utc = datetime.datetime.now(datetime.timezone.utc)
    wait = min(seconds_to_midnight(local), seconds_to_midnight(utc))
    if wait < 120:
        time.sleep(wait + 5)    # rare: step over that midnight first
        zone, local = zone_off_utc()
    today = local.date()
    assert today != datetime.datetime.now(datetime.timezone.utc).date()
    tomorrow = today + datetime.timedelta(days=1)

    d = make_daemon(extra_args=["--timezone", zone])
    c = d.client()
    workers.dq(d, "--timezone", zone)
    hoh = person(exit_date=today)
    plan = household(hoh)
    wf = c.call("workflow.start", plan.start_args())["workflow_id"]
    version = c.get(wf)["version"]
    e = error_of(c.save, wf, hoh.client_id, "exit",
                 data=dict(hoh.exit_form(), exit_date=tomorrow.isoformat()))
    assert (e.code, e.field) == (
        "VALIDATION", "members[client_id=%s].steps.exit.exit_date"
        % hoh.client_id)
    assert c.get(wf)["version"] == version
    # the local today is accepted, whatever UTC's date is
    save_all(c, wf, hoh)
    c.finish(wf)
    dq_caught_up(c)
    assert dq_findings(c.get(wf)) == []

    s = dq_report(d, zone)
    assert s["leavers"] == 1
    assert s["timeliness"] == {"0": 1, "1-3": 0, "4-6": 0, "7-10": 0,
                               "11+": 0}
    assert s["timeliness_not_hud"] == {"recorded_before_exit_date": 0,
                                       "unknown": 0}
    # counted on UTC's calendar the same exit is not in row 0
    s = dq_report(d, "UTC")
    assert s["timeliness"]["0"] == 0
    if zone == "Pacific/Kiritimati":       # dated UTC's tomorrow
        assert s["timeliness_not_hud"]["recorded_before_exit_date"] == 1
    else:                                  # dated UTC's yesterday
        assert s["timeliness"]["1-3"] == 1
    # the text report shows HUD's rows, and apart what is in none of them
    text = dq_report(d, "UTC", text=True)
    q6e = text[text.index("Q6e"):]
    for row in ("0", "1-3", "4-6", "7-10", "11+"):
        assert "\n  %-6s" % row in q6e, row
    assert "not an APR Q6e row" in q6e and "<0" not in text


def test_unknown_timezone_is_refused(tmp_path):
    ports = ["--commands", "tcp://127.0.0.1:%d" % free_port(),
             "--events", "tcp://127.0.0.1:%d" % free_port()]
    for argv in ([daemon_binary(), "--data", str(tmp_path)] + ports,
                 [binary("exitflow-dq", "EXITFLOW_DQ")] + ports):
        r = subprocess.run(argv + ["--timezone", "Mars/Olympus_Mons"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (argv[0], r.stderr)
        assert "Mars/Olympus_Mons" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr

