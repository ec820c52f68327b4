"""The Python client's issue-9 and issue-10 calls against a real exitflowd
(hud.codes, move_in_date; workflow.list's filters, consumer.delete), and
the typed data the test helpers (tests/support/households.py) send, held
to the daemon's own field table as hud.codes serves it.

The daemon is the ``daemon`` fixture of conftest.py (one per module).
"""

import itertools

import pytest

import support
from exitflow import Command, ExitflowError


@pytest.fixture(scope="module")
def codes(daemon):
    return daemon.client().hud_codes()


def fields_of(codes, step):
    return {f["name"]: f for s in codes["steps"] if s["name"] == step
            for f in s["fields"]}


def test_hud_codes(daemon, codes):
    c = daemon.client()
    assert c.call(Command.HUD_CODES) == codes
    assert set(codes) == {"lists", "destinations", "destination_categories",
                          "steps", "local_prefix"}
    assert [s["name"] for s in codes["steps"]] == support.STEPS
    assert codes["local_prefix"] == support.LOCAL_PREFIX
    assert {d["category"] for d in codes["destinations"]} == \
        set(codes["destination_categories"])
    # read-only and for every role
    for role in ("frontend", "worker", "ops"):
        assert daemon.client(role=role).hud_codes() == codes


def test_the_helpers_field_names_are_the_table(codes):
    income = fields_of(codes, "income_benefits")
    sources = [n for n, f in income.items() if f["role"] == "source"]
    assert [n for n in sources if income[n]["group"] == "income"] == \
        list(support.INCOME_SOURCES)
    assert [n for n in sources if income[n]["group"] == "benefits"] == \
        list(support.BENEFIT_SOURCES)
    for source in support.INCOME_SOURCES:
        assert income[source]["pair"] == support.amount_field(source)
    insurance = fields_of(codes, "health_insurance")
    assert [n for n, f in insurance.items() if f["role"] == "source"] == \
        list(support.INSURANCE_SOURCES)
    disabilities = fields_of(codes, "disabilities")
    assert [n for n, f in disabilities.items() if f["role"] == "answer"] == \
        list(support.DISABILITIES)


def well_typed(codes, step, data):
    """Every key a field of ``step`` (or local_), every value of its type."""
    fields = fields_of(codes, step)
    lists = {name: {c["code"] for c in lst["codes"]}
             for name, lst in codes["lists"].items()}
    for key, value in data.items():
        if key.startswith(codes["local_prefix"]):
            continue
        f = fields[key]
        if f["type"] == "code":
            assert value in lists[f["list"]], (step, key, value)
        elif f["type"] == "amount":
            assert isinstance(value, (int, float)) and value >= 0, (key, value)
        elif f["type"] in ("text", "date"):
            assert isinstance(value, str), (key, value)
    return True


def test_assessments_are_typed_complete_and_distinct(codes):
    for step in support.STEPS:
        bodies = [support.assessment(step, n) for n in range(12)]
        assert all(well_typed(codes, step, b) for b in bodies)
        assert len({repr(sorted(b.items())) for b in bodies}) == 12
        assert support.assessment(step, 3) == support.assessment(step, 3)
    inc = support.assessment("income_benefits", 5)
    assert inc["income_from_any_source"] == 1 and inc["earned"] == 1
    assert inc["total_monthly_income"] == inc["earned_amount"] == 1005


def test_income_helper_computes_as_a_front_end(codes):
    data = support.income({"earned": 1200.10, "ssi": 943,
                           "other_income_source": 50.005},
                          benefits=("snap",), whole_form=True)
    assert well_typed(codes, "income_benefits", data)
    assert data["total_monthly_income"] == round(1200.10 + 943 + 50.005, 2)
    assert data["other_income_amount"] == 50.005
    assert data["income_from_any_source"] == 1
    assert data["benefits_from_any_source"] == 1 and data["snap"] == 1
    assert data["wic"] == 0 and data["unemployment"] == 0
    none = support.income()
    assert none == {"income_from_any_source": 0,
                    "benefits_from_any_source": 0}
    odd = support.income({"earned": 100}, total=None, any_source=0)
    assert "total_monthly_income" not in odd
    assert odd["income_from_any_source"] == 0
    for step, data in (("health_insurance", support.insurance(whole_form=True)),
                       ("disabilities", support.disabilities()),
                       ("universal_data", support.universal())):
        assert well_typed(codes, step, data)
    assert support.insurance(()) == {"insurance_from_any_source": 0}


def test_saved_helpers_data_comes_back_as_sent(daemon):
    """The daemon takes what the helpers build, and keeps it as sent."""
    c = daemon.client()
    h = support.Household(ages="both")
    wf = h.start(c)
    sent = {"exit": support.exit_form(destination=435,
                                      destination_subsidy_type=419),
            "universal_data": support.universal(local_note="kept"),
            "health_insurance": support.insurance(("medicaid", "medicare"),
                                                  whole_form=True),
            "disabilities": support.disabilities(
                mental_health=1, mental_health_indefinite_and_impairs=1),
            "income_benefits": support.income({"earned": 812.5, "ssdi": 914},
                                              benefits=("snap", "wic"))}
    for step, data in sent.items():
        c.save(wf, h.hoh, step, data=data)
    view = c.get(wf)
    for step, data in sent.items():
        assert support.step_of(view, h.hoh, step)["data"] == data


def test_start_takes_move_in_date_and_dates_of_birth(daemon):
    c = daemon.client()
    h = support.Household(ages="birth_date", project_type=3)
    move_in = support.day(-20)
    wf = c.start(h.args["enrollment_id"], h.household_id, h.project_id,
                 h.members, project_type=3, move_in_date=move_in)["workflow_id"]
    view = c.get(wf)
    assert view["move_in_date"] == move_in
    assert [(m["age_basis"], m["adult"]) for m in view["members"]] == [
        ("birth_date", True), ("birth_date", True), ("birth_date", False)]
    # and refused where HUD has no move-in date (a shelter: project type 1)
    h2 = support.Household()
    with pytest.raises(ExitflowError) as e:
        c.start(h2.args["enrollment_id"], h2.household_id, h2.project_id,
                h2.members, project_type=1, move_in_date=move_in)
    assert (e.value.code, e.value.field) == ("VALIDATION", "move_in_date")


def test_distinct_bodies_for_many_n():
    """assessment(step, n) stays distinct far beyond the few codes of a
    list: write floods and idempotency tests need distinct bodies."""
    seen = set()
    for step, n in itertools.product(support.STEPS[1:], range(300)):
        seen.add((step, repr(sorted(support.assessment(step, n).items()))))
    assert len(seen) == 4 * 300


def test_list_filters(daemon):
    """list() and list_all() pass every filter of workflow.list: a key
    filter without a state finds every state; the items say who started
    the exit, who changed it last and whether it stalled."""
    c = daemon.client()
    h = support.Household()
    wf = h.start(c, actor="cw-py-1")
    c.save(wf, h.hoh, "exit", data=support.exit_form(), actor="cw-py-2")
    done = support.Household()
    done.household_id = h.household_id
    done.args["household_id"] = h.household_id
    c.cancel(wf, "started twice", actor="cw-py-2")
    wf2 = done.start(c, actor="cw-py-1")

    def ids(**filters):
        return [w["workflow_id"] for w in c.list_all(limit=1, **filters)]

    assert ids(household_id=h.household_id) == [wf2, wf]   # open first
    assert ids(client_id=h.spouse) == [wf]
    assert ids(enrollment_id=done.enrollment[done.child]) == [wf2]
    assert ids(household_id=h.household_id, state="cancelled") == [wf]
    assert wf in ids(actor="cw-py-2") and wf2 not in ids(actor="cw-py-2")
    assert {wf, wf2} <= set(ids(actor="cw-py-1"))
    assert ids(household_id=h.household_id, stalled=True) == []
    assert ids(household_id=h.household_id, project_id="P-none") == []
    item = c.list(household_id=h.household_id, state="cancelled")[
        "workflows"][0]
    assert (item["started_by"], item["last_actor"], item["stalled"]) == \
        ("cw-py-1", "cw-py-2", False)
    # the state stays the first positional argument
    assert wf2 in [w["workflow_id"] for w in c.list_all("open")]


def test_consumer_delete(daemon):
    c = daemon.client()
    c.consumer_ack("py-retire", 0)
    listed = [e for e in c.consumer_list()["consumers"]
              if e["consumer"] == "py-retire"]
    assert len(listed) == 1 and support.RFC3339_MS.match(listed[0]["acked_at"])
    assert c.consumer_delete("py-retire") == {"consumer": "py-retire",
                                              "deleted": True}
    assert "py-retire" not in [e["consumer"] for e in
                               c.consumer_list()["consumers"]]
    e = support.error_of(c.consumer_delete, "py-retire")
    assert e.code == "NOT_FOUND"
