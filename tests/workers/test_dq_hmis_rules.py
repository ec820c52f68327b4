"""exitflow-dq's issue-9 rules over the wire: what the daemon accepts and
the worker flags (Eva #2/#3/#4, APR Q6a/Q6b), the income arithmetic
(vendors' IncomeBenefits.csv checks), who stays (Eva #86), permanent
housing's move-in date (Eva #40) and the own-housing exit (local policy).
Each case checks the findings (rule, client) the worker files, exactly."""

import copy

from support import Household, day
from worker_support import GOOD, exit_household, findings


def with_members(h, **changes):
    """`h` with member fields changed: changes[name] = {field: value or
    None to drop it}, name one of hoh, spouse, child."""
    ids = {"hoh": h.hoh, "spouse": h.spouse, "child": h.child}
    h.args = copy.deepcopy(h.args)
    for name, fields in changes.items():
        m = next(m for m in h.args["members"] if m["client_id"] == ids[name])
        for k, v in fields.items():
            if v is None:
                m.pop(k, None)
            else:
                m[k] = v
    return h


def test_two_heads_and_relationship_99_start_and_are_flagged(daemon, workers):
    """Eva #3 (several heads), APR Q6b / Eva #4 (relationship 99): the
    exit starts and the data problem is flagged."""
    c = daemon.client()
    workers.dq(daemon)
    h = with_members(Household(), spouse={"relationship": 1},
                     child={"relationship": 99})
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data={"exit_date": day(-1), "destination": 410})
    view = findings(c, wf, [("head_of_household_count", None),
                            ("relationship_missing", h.child)])
    by_rule = {f["rule"]: f for f in view["dq"]}
    assert by_rule["head_of_household_count"]["severity"] == "error"
    assert "2 heads" in by_rule["head_of_household_count"]["message"]
    assert by_rule["relationship_missing"]["severity"] == "error"

    # Eva #2: no head at all
    h = with_members(Household(), hoh={"relationship": 3})
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data={"exit_date": day(-1), "destination": 410})
    findings(c, wf, [("head_of_household_count", None)])


def test_age_unknown_and_birth_date_decide_who_answers_income(daemon, workers):
    """APR Q6a: a leaver with neither a date of birth nor an adult flag is
    treated as an adult and flagged; a date of birth decides instead."""
    c = daemon.client()
    workers.dq(daemon)
    h = with_members(Household(), hoh={"adult": None},
                     spouse={"adult": None, "birth_date": "1980-02-29"},
                     child={"adult": None, "birth_date": day(-365 * 10)})
    wf = exit_household(c, h, {"exit_date": day(-1), "destination": 410},
                        others="exit")
    view = findings(c, wf, [("age_unknown", h.hoh)])
    assert view["dq"][0]["severity"] == "error"
    members = {m["client_id"]: m for m in view["members"]}
    assert members[h.hoh]["age_basis"] == "unknown"
    assert members[h.hoh]["adult"] is True
    assert members[h.spouse]["age_basis"] == "birth_date"
    assert members[h.child]["adult"] is False
    assert "birth_date" not in members[h.spouse]


def test_income_arithmetic(daemon, workers):
    """A source marked yes needs an amount; the total is the sum of the
    amounts to within $1 ($1.00 off is fine, $1.50 is not)."""
    c = daemon.client()
    workers.dq(daemon)
    h = Household()
    income = {"income_from_any_source": 1, "earned": 1, "earned_amount": 1000,
              "ssi": 1, "total_monthly_income": 1001.5,
              "benefits_from_any_source": 0}
    wf = exit_household(c, h, {"exit_date": day(-1), "destination": 410},
                        assessments={"income_benefits": income}, finish=False)
    view = findings(c, wf, [("income_amount_missing", h.hoh),
                            ("income_total_mismatch", h.hoh)])
    for f in view["dq"]:
        assert f["severity"] == "warning"
        assert "1000" not in f["message"]       # no money in messages
    c.save(wf, h.hoh, "income_benefits",
           data=dict(income, ssi_amount=943.25, total_monthly_income=1944.25))
    findings(c, wf, [])                         # $1.00 above: within $1
    c.save(wf, h.hoh, "income_benefits",
           data=dict(income, ssi_amount=943.25, total_monthly_income=1942.25))
    findings(c, wf, [])                         # $1.00 below: within $1
    c.save(wf, h.hoh, "income_benefits",
           data=dict(income, ssi_amount=943.25, total_monthly_income=1942.24))
    findings(c, wf, [("income_total_mismatch", h.hoh)])


def test_missing_income_and_insurance_are_errors(daemon, workers):
    """Eva #89 / #93: income and insurance at exit that say nothing."""
    c = daemon.client()
    workers.dq(daemon)
    h = Household()
    wf = exit_household(c, h, {"exit_date": day(-1), "destination": 410},
                        assessments={
                            "income_benefits": {"income_from_any_source": 99,
                                                "benefits_from_any_source": 0},
                            "health_insurance": {"local_card_seen": True}})
    view = findings(c, wf, [("assessment_missing", h.hoh),
                            ("income_missing", h.hoh),
                            ("insurance_missing", h.hoh)])
    sev = {f["rule"]: f["severity"] for f in view["dq"]}
    assert sev == {"assessment_missing": "warning", "income_missing": "error",
                   "insurance_missing": "error"}


def exits(c, wf, h, cids, exit_date):
    """`cids` exit on `exit_date` to 410 with clean assessments."""
    for cid in cids:
        if cid != h.starter:
            c.decide(wf, cid, True)
        c.save(wf, cid, "exit", data={"exit_date": exit_date,
                                       "destination": 410})
        for step, data in GOOD.items():
            if not (step == "income_benefits" and cid == h.child):
                c.save(wf, cid, step, data=data)


def test_who_stays_eva_86(daemon, workers):
    """A minor named new head while an adult stays: a warning; only minors
    left: an error."""
    c = daemon.client()
    workers.dq(daemon)
    h = Household()
    wf = h.start(c)
    exits(c, wf, h, [h.hoh], day(-1))
    c.decide(wf, h.spouse, False)
    c.decide(wf, h.child, False)
    c.finish(wf, new_head_of_household=h.child)
    view = findings(c, wf, [("new_head_minor", h.child)])
    assert view["dq"][0]["severity"] == "warning"

    h = Household()
    wf = h.start(c)
    exits(c, wf, h, [h.hoh, h.spouse], day(-1))
    c.decide(wf, h.child, False)               # the child alone stays
    c.finish(wf, new_head_of_household=h.child)
    view = findings(c, wf, [("only_minors_remain", None)])
    assert view["dq"][0]["severity"] == "error"


def test_permanent_housing_move_in_and_own_housing(daemon, workers):
    """Eva #40: an RRH exit dated before the household moved in; and 435
    with the RRH subsidy (431) from an RRH project: local policy's warning."""
    c = daemon.client()
    workers.dq(daemon)
    h = Household(project_type=13)
    h.args = dict(h.args, move_in_date=day(-5))
    wf = exit_household(c, h, {"exit_date": day(-10), "destination": 435,
                               "destination_subsidy_type": 431})
    view = findings(c, wf, [("exit_before_move_in", h.hoh),
                            ("own_housing_exit", h.hoh)])
    by_rule = {f["rule"]: f for f in view["dq"]}
    assert by_rule["exit_before_move_in"]["severity"] == "error"
    assert "5 day(s) before" in by_rule["exit_before_move_in"]["message"]
    assert "not a HUD rule" in by_rule["own_housing_exit"]["message"]
    # a VASH voucher from the same project is not its own housing; an exit
    # on the move-in day is not before it
    h = Household(project_type=13)
    h.args = dict(h.args, move_in_date=day(-5))
    wf = exit_household(c, h, {"exit_date": day(-5), "destination": 435,
                               "destination_subsidy_type": 419})
    findings(c, wf, [])
