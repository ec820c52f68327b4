"""A seeded synthetic HMIS data set of exiting households, the test's own
reading of HUD's rules over it, and a driver that puts it through a daemon.

``generate(seed, today)`` makes the households: 1 to 5 members with mixed
relationships (a few 99s, a few households with two heads or none), ages
from a date of birth, an explicit ``adult`` flag or neither, some turning
18 right around their exit date; destinations from every 3.12 category;
income answers complete, missing or inconsistent; exit dates from today
back to 20 days ago, so that, recorded today, they fall in every APR Q6e
row. ``drive(client, households)`` starts, decides, saves every step and
finishes each one over the wire.

The HUD facts here (destination codes and their categories, who answers
income) are typed from the HMIS Data Standards on purpose, not read from
the code under test: the data set's expected report figures
(tests/integration/test_hmis_dataset.py) must come from an independent
reading.  Category is the hundreds digit of a 3.12 code (1xx homeless,
2xx institutional, 3xx temporary, 4xx permanent, below 100 other).
"""

import datetime
import json
import os
import random
import subprocess
import zoneinfo
from dataclasses import dataclass, field

from support.launcher import binary, wait_for

__all__ = ["DESTINATIONS", "SUBSIDY_TYPES", "ASSESSMENTS", "category_of",
           "age_on", "local_now", "calm_zone", "Person", "HouseholdPlan",
           "generate", "drive", "dq_caught_up", "dq_findings", "dq_report"]

# HUD 3.12 (FY2024 Data Dictionary): every destination code.
DESTINATIONS = (116, 101, 118, 215, 206, 207, 225, 204, 205, 302, 329, 314,
                332, 312, 313, 327, 422, 423, 426, 410, 435, 421, 411, 30,
                17, 24, 8, 9, 99)
# HUD 3.12.A, asked when (and only when) the destination is 435.
SUBSIDY_TYPES = (428, 419, 431, 433, 434, 420, 436, 437, 438, 439, 440)


def category_of(destination):
    """HUD 3.12's category of a destination: the hundreds digit."""
    return {1: "homeless", 2: "institutional", 3: "temporary",
            4: "permanent"}.get(destination // 100, "other")


def age_on(birth, day):
    """Age in whole years on ``day`` (HUD 3.03: birthdays count that day)."""
    return day.year - birth.year - ((day.month, day.day)
                                    < (birth.month, birth.day))


def local_now(zone):
    """The wall clock of IANA ``zone`` now."""
    return datetime.datetime.now(zoneinfo.ZoneInfo(zone))


def calm_zone():
    """Of a few real zones, the one whose local time is now farthest from
    midnight: a run of a minute or two then stays on one local day."""
    zones = ("America/Chicago", "America/Los_Angeles", "Europe/Berlin",
             "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland")

    def distance(zone):
        t = local_now(zone)
        minutes = t.hour * 60 + t.minute
        return min(minutes, 24 * 60 - minutes)
    return max(zones, key=distance)


def years_before(day, years):
    """The same month and day ``years`` earlier (28 Feb for 29 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


# Assessments that raise no finding: every exiting member answers these
# (or takes them by Default Last from `last`, which holds the same values).
ASSESSMENTS = {
    "universal_data": {"disabling_condition": 0},
    "health_insurance": {"insurance_from_any_source": 1, "medicaid": 1},
    "disabilities": {"physical": 0, "developmental": 0, "chronic_health": 0,
                     "hiv_aids": 0, "mental_health": 0, "substance_use": 0},
}

INCOME_SOURCES = ("earned", "unemployment", "ssi", "ssdi", "tanf", "pension",
                  "child_support")


@dataclass
class Person:
    client_id: str
    enrollment_id: str
    relationship: int
    entry_date: datetime.date
    birth_date: datetime.date = None
    adult_flag: bool = None
    exits: bool = False
    exit_date: datetime.date = None
    destination: int = None
    subsidy: int = None             # 3.12.A, with destination 435
    income_kind: str = None         # what was answered, see _income
    income: dict = None             # the income_benefits data, when asked
    default_last: tuple = ()        # steps taken by Default Last

    def adult(self, today):
        """Effective adult (the contract): the flag; else 18+ on the exit
        date (today before there is one); else assumed adult."""
        if self.adult_flag is not None:
            return self.adult_flag
        if self.birth_date is None:
            return True
        return age_on(self.birth_date, self.exit_date or today) >= 18

    def answers_income(self, today):
        """4.02/4.03 are collected from adults and heads of household."""
        return self.relationship == 1 or self.adult(today)

    def start_args(self):
        m = {"client_id": self.client_id, "enrollment_id": self.enrollment_id,
             "relationship": self.relationship,
             "entry_date": self.entry_date.isoformat(),
             "last": ASSESSMENTS}
        if self.birth_date is not None:
            m["birth_date"] = self.birth_date.isoformat()
        if self.adult_flag is not None:
            m["adult"] = self.adult_flag
        return m

    def exit_form(self):
        form = {"exit_date": self.exit_date.isoformat(),
                "destination": self.destination,
                "exit_reason": "synthetic"}
        if self.destination == 435:
            form["destination_subsidy_type"] = self.subsidy
        if self.destination == 17:
            form["other_destination"] = "Boat on the river"
        return form


@dataclass
class HouseholdPlan:
    household_id: str
    project_id: str
    project_type: int
    members: list
    move_in_date: datetime.date = None
    new_head: str = None
    workflow_id: str = None
    extra: dict = field(default_factory=dict)

    def starter(self):
        return self.members[0]

    def leavers(self):
        return [m for m in self.members if m.exits]

    def start_args(self):
        args = {"enrollment_id": self.starter().enrollment_id,
                "household_id": self.household_id,
                "project_id": self.project_id,
                "project_type": self.project_type,
                "members": [m.start_args() for m in self.members]}
        if self.move_in_date is not None:
            args["move_in_date"] = self.move_in_date.isoformat()
        return args


# -- generation ---------------------------------------------------------------

# APR Q6e rows by the days from exit date to record (all recorded today).
LATE_DAYS = ((0,), (1, 2, 3), (4, 5, 6), (7, 8, 9, 10), tuple(range(11, 21)))
PROJECT_TYPES = (0, 1, 2, 3, 4, 6, 9, 10, 13)
PERMANENT_HOUSING = (3, 9, 10, 13)


def _relationships(rng, size):
    """3.15 codes: one head, mostly; now and then a 99, two heads or none."""
    rels = [1] + [rng.choice((2, 2, 3, 4, 5)) for _ in range(size - 1)]
    roll = rng.random()
    if size > 1 and roll < 0.08:
        rels[rng.randrange(1, size)] = 99
    elif size > 1 and roll < 0.12:
        rels[rng.randrange(1, size)] = 1         # two heads (Eva #3)
    elif size > 1 and roll < 0.14:
        rels[0] = rng.choice((3, 5))              # no head (Eva #2)
    return rels


def _age(rng, person, relationship, exit_day):
    """Birth date, the adult flag, both or neither."""
    roll = rng.random()
    if relationship == 2 and roll < 0.7 or roll < 0.15:
        # a child by date of birth: 1 to 17 at exit
        person.birth_date = exit_day - datetime.timedelta(
            days=rng.randrange(366, 17 * 365))
    elif roll < 0.25:
        # turns 18 within a few days of the exit date, either side
        person.birth_date = years_before(exit_day, 18) + datetime.timedelta(
            days=rng.randrange(-3, 4))
    elif roll < 0.7:
        person.birth_date = exit_day - datetime.timedelta(
            days=rng.randrange(19 * 365, 70 * 365))
    elif roll < 0.8:
        person.adult_flag = True
    elif roll < 0.86:
        person.adult_flag = False
        if rng.random() < 0.5:                    # the flag wins over the date
            person.birth_date = exit_day - datetime.timedelta(days=30 * 365)
    # else neither: assumed adult, age unknown


def _income(rng, kind):
    """The income_benefits data of one answer kind."""
    if kind == "yes":
        n = rng.randrange(1, 3)
        data = {"income_from_any_source": 1, "benefits_from_any_source": 0}
        total = 0.0
        for source in rng.sample(INCOME_SOURCES, n):
            amount = rng.choice((350, 812.5, 1250.25, 2000))
            data[source] = 1
            data[source + "_amount"] = amount
            total += amount
        data["total_monthly_income"] = total
        return data
    if kind == "other_source":
        return {"income_from_any_source": 1, "other_income_source": 1,
                "other_income_amount": 400,
                "other_income_source_identify": "Odd jobs",
                "total_monthly_income": 400, "benefits_from_any_source": 0}
    if kind == "no":
        return {"income_from_any_source": 0, "earned": 0, "ssi": 0,
                "benefits_from_any_source": 1, "snap": 1}
    if kind == "missing_absent":
        return rng.choice(({}, {"benefits_from_any_source": 0}))
    if kind == "missing_reason":
        return {"income_from_any_source": rng.choice((8, 9, 99)),
                "benefits_from_any_source": 0}
    if kind == "yes_without_source":
        return {"income_from_any_source": 1, "earned": 0,
                "benefits_from_any_source": 0}
    if kind == "no_with_source":
        return {"income_from_any_source": 0, "ssdi": 1, "ssdi_amount": 900,
                "total_monthly_income": 900, "benefits_from_any_source": 0}
    raise ValueError(kind)


INCOME_KINDS = ("yes", "yes", "yes", "other_source", "no", "no",
                "missing_absent", "missing_reason", "yes_without_source",
                "no_with_source")


def _household(rng, seed, i, today):
    size = rng.choice((1, 1, 2, 2, 3, 3, 4, 5))
    rels = _relationships(rng, size)
    # now and then an exit to the project's own kind of subsidy (the local
    # own_housing_exit warning): 435 with RRH's from RRH, PSH's from PSH
    own = {0: (13, 431), 12: (3, 439)}.get(i % 25)
    project_type = own[0] if own else rng.choice(PROJECT_TYPES)
    tag = "%d-%03d" % (seed, i)
    members = []
    for k, rel in enumerate(rels):
        exits = k == 0 or rng.random() < 0.6
        late = rng.choice(LATE_DAYS)
        exit_day = today - datetime.timedelta(days=rng.choice(late))
        p = Person("C-%s-%d" % (tag, k), "E-%s-%d" % (tag, k), rel,
                   today - datetime.timedelta(days=rng.randrange(30, 400)))
        _age(rng, p, rel, exit_day)
        if p.birth_date is not None and p.birth_date > p.entry_date:
            p.entry_date = p.birth_date       # enrolled since birth
        if exits:
            p.exits = True
            p.exit_date = exit_day
            p.destination = rng.choice(DESTINATIONS)
            if own and k == 0:
                p.destination = 435
            if p.destination == 435:
                p.subsidy = own[1] if own and k == 0 else rng.choice(
                    SUBSIDY_TYPES)
            p.default_last = tuple(s for s in ASSESSMENTS
                                   if rng.random() < 0.3)
            if p.answers_income(today):
                p.income_kind = rng.choice(INCOME_KINDS)
                p.income = _income(rng, p.income_kind)
        members.append(p)
    plan = HouseholdPlan("HH-" + tag, "P-%d" % (i % 4), project_type, members)
    if project_type in PERMANENT_HOUSING and rng.random() < 0.7:
        # moved in before every exit: no exit_before_move_in here
        plan.move_in_date = today - datetime.timedelta(days=25)
    # a head who exits while others stay hands over to a staying member
    staying = [m for m in members if not m.exits]
    if staying and any(m.exits and m.relationship == 1 for m in members):
        adults = [m for m in staying if m.adult(today)]
        plan.new_head = rng.choice(adults or staying).client_id
    return plan


def generate(seed, today, households=200):
    """``households`` household plans, the same for the same seed and day."""
    rng = random.Random(seed)
    return [_household(rng, seed, i, today) for i in range(households)]


# -- the drive ----------------------------------------------------------------

def drive(client, plans, actor="cw-synthetic"):
    """Each household through the daemon: start, decide every other member,
    save every step of each leaver (some by Default Last), finish."""
    for plan in plans:
        wf = client.call("workflow.start", plan.start_args(),
                         actor=actor)["workflow_id"]
        plan.workflow_id = wf
        for m in plan.members[1:]:
            client.decide(wf, m.client_id, m.exits, actor=actor)
        for m in plan.leavers():
            client.save(wf, m.client_id, "exit", data=m.exit_form(),
                        actor=actor)
            for step, data in ASSESSMENTS.items():
                if step in m.default_last:
                    client.save(wf, m.client_id, step, mode="default_last",
                                actor=actor)
                else:
                    client.save(wf, m.client_id, step, data=data, actor=actor)
            if m.income is not None:
                client.save(wf, m.client_id, "income_benefits",
                            data=m.income, actor=actor)
        client.finish(wf, new_head_of_household=plan.new_head, actor=actor)
    return plans


# -- reading the DQ worker's results ------------------------------------------

def dq_caught_up(client, name="dq", timeout=30.0):
    """Waits until the consumer ``name`` has acked every event in the log."""
    wait_for(lambda: any(x["consumer"] == name and x["lag"] == 0
                         for x in client.consumer_list()["consumers"]),
             timeout=timeout, what="consumer %s to catch up" % name)


def dq_findings(view, source="dq"):
    """The workflow's findings from ``source`` as sorted (rule, client_id)."""
    return sorted((f["rule"], f["client_id"] or "") for f in view["dq"]
                  if f["source"] == source)


def dq_report(daemon, zone, *args, text=False):
    """`exitflow-dq report --json` on the CoC calendar of ``zone``, run with
    the worker's certificate: the decoded summary (with ``text``, the
    report as printed for people)."""
    argv = [binary("exitflow-dq", "EXITFLOW_DQ"), "report", "--endpoint",
            daemon.commands, "--timezone", zone] + list(args)
    r = subprocess.run(argv + ([] if text else ["--json"]),
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **daemon.cli_env("worker")))
    assert r.returncode == 0, r.stderr
    return r.stdout if text else json.loads(r.stdout)
