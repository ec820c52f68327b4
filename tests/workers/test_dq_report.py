"""`exitflow-dq report` and `exitflow dq-report` (which runs it): the
APR-Q6-style summary from what is stored."""

import datetime
import json
import os
import subprocess
import zoneinfo

import pytest

from support import REPO, Household, day, wait_for
from worker_support import caught_up, exit_household


# The report is `exitflow-dq report`; `exitflow dq-report` runs it. Both are
# tested: each builds its argv from the endpoint and the report's arguments.
# Each finds its certificate in the environment: the CLI runs as admin,
# exitflow-dq as the worker it is.
def cli_argv(endpoint, args):
    return [os.environ.get("EXITFLOW_CLI") or str(REPO / "bin" / "exitflow"),
            "--endpoint", endpoint, "dq-report"] + list(args)


cli_argv.cert = "admin"


def dq_argv(endpoint, args):
    return [os.environ.get("EXITFLOW_DQ") or str(REPO / "bin" / "exitflow-dq"),
            "report", "--endpoint", endpoint] + list(args)


dq_argv.cert = "worker"


def run(prog, daemon, *args, env=None, timeout=30):
    env = dict(os.environ if env is None else env,
               **daemon.cli_env(prog.cert))
    return subprocess.run(prog(daemon.commands, args), capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module", params=[cli_argv, dq_argv],
                ids=["exitflow dq-report", "exitflow-dq report"])
def programs(request):
    return [request.param]


def test_dq_report_summary(daemon, workers, programs):
    c = daemon.client()
    workers.dq(daemon)
    # P-A: three exits of one head each: one 8, one 99 recorded 15 days
    # late with income inconsistent, one clean; one open exit. P-B: one.
    exit_household(c, Household(project_id="P-A"),
                   {"exit_date": day(-2), "destination": 8})
    exit_household(c, Household(project_id="P-A"),
                   {"exit_date": day(-15), "destination": 99},
                   assessments={"income_benefits": {
                       "income_from_any_source": 0, "ssi": 1,
                       "ssi_amount": 943, "total_monthly_income": 943,
                       "benefits_from_any_source": 0}})
    exit_household(c, Household(project_id="P-A"),
                   {"exit_date": day(0), "destination": 410})
    Household(project_id="P-A").start(c)
    exit_household(c, Household(project_id="P-B"),
                   {"exit_date": day(-1), "destination": 422}, others="exit")
    caught_up(c, "dq")

    for prog in programs:
        r = run(prog, daemon, "--project", "P-A")
        assert r.returncode == 0, r.stderr
        out = r.stdout
        assert "finished exits 3, leavers 3" in out
        assert "destination errors                           2  66.67%" in out
        assert "Open exits: 1 (0 stalled)" in out
        assert "income_inconsistent" in out and "exit_timeliness" in out
        assert "not an APR Q6e row" in out and "<0" not in out
        assert "Outcomes: leavers by destination category" in out

        r = run(prog, daemon, "--json", "--project", "P-A")
        assert r.returncode == 0, r.stderr
        s = json.loads(r.stdout)
        assert s["project_id"] == "P-A" and s["leavers"] == 3
        assert s["destination"] == {"dk_pnta": 1, "missing": 1, "errors": 2,
                                    "error_rate": pytest.approx(2 / 3, 1e-3)}
        assert s["income"] == {"leavers": 3, "missing": 0, "inconsistent": 1}
        # recorded today: exit dated today 0 days, 2 days ago 1-3, 15 11+
        assert s["timeliness"] == {"0": 1, "1-3": 1, "4-6": 0, "7-10": 0,
                                   "11+": 1}
        assert s["timeliness_not_hud"] == {"recorded_before_exit_date": 0,
                                           "unknown": 0}
        # 410 is permanent; 8 and 99 are "other"
        none = {"count": 0, "percent": 0}
        assert s["outcomes"] == {
            "leavers": 3, "other_destination_17": 0,
            "categories": {"permanent": {"count": 1, "percent": 33.33},
                           "temporary": none, "institutional": none,
                           "homeless": none,
                           "other": {"count": 2, "percent": 66.67}}}
        assert s["open"] == {"total": 1, "stalled": 0}
        rules = {f["rule"]: f for f in s["findings"]}
        assert rules["income_inconsistent"]["errors"] == 1
        assert rules["destination_dk_pnta"]["warnings"] == 1

        # every project; a period that holds only the late exit
        s = json.loads(run(prog, daemon, "--json").stdout)
        assert s["leavers"] == 3 + 3 and s["open"]["total"] == 1
        s = json.loads(run(prog, daemon, "--json", "--from", day(-20),
                           "--to", day(-10)).stdout)
        assert s["leavers"] == 1 and s["timeliness"]["11+"] == 1
        assert s["destination"]["missing"] == 1

        r = run(prog, daemon, "--from", "not-a-date")
        assert r.returncode == 2
        r = run(prog, daemon, "--from", day(0), "--to", day(-1))
        assert r.returncode == 2
        r = run(prog, daemon, "--timezone", "Mars/Olympus_Mons")
        assert r.returncode == 2 and "Mars/Olympus_Mons" in r.stderr


def test_dq_report_leaves_the_demo_project_out(daemon, workers, programs):
    """Project `demo` (where `exitflow demo` runs) is not in the report
    unless asked for: --project demo, or --include-demo."""
    c = daemon.client()
    workers.dq(daemon)
    exit_household(c, Household(project_id="P-REAL"),
                   {"exit_date": day(-1), "destination": 410})
    exit_household(c, Household(project_id="demo"),
                   {"exit_date": day(-1), "destination": 8}, others="exit")
    Household(project_id="demo").start(c)
    caught_up(c, "dq")
    for prog in programs:
        s = json.loads(run(prog, daemon, "--json").stdout)
        assert (s["workflows"], s["leavers"], s["open"]["total"]) == (1, 1, 0)
        assert s["destination"]["dk_pnta"] == 0
        assert "destination_dk_pnta" not in {f["rule"] for f in s["findings"]}
        r = run(prog, daemon)
        assert r.returncode == 0, r.stderr
        assert "all projects but demo (--include-demo)" in r.stdout
        s = json.loads(run(prog, daemon, "--json", "--include-demo").stdout)
        assert (s["workflows"], s["leavers"], s["open"]["total"]) == (2, 4, 1)
        assert "all projects\n" in run(prog, daemon, "--include-demo").stdout
        s = json.loads(run(prog, daemon, "--json", "--project", "demo").stdout)
        assert (s["workflows"], s["leavers"], s["open"]["total"]) == (1, 3, 1)
        assert s["project_id"] == "demo" and s["destination"]["dk_pnta"] == 1


def local_day(ts, zone):
    """The date of the wire time `ts` (UTC) in `zone`, computed here with
    Python's tz database, not by the code under test."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return t.astimezone(zoneinfo.ZoneInfo(zone)).date()


def test_dq_report_counts_days_on_the_cocs_calendar(daemon, workers,
                                                    programs):
    """APR Q6e's days late are counted on --timezone's calendar: an exit
    dated today (UTC) and recorded now is 0 or 1 day late at UTC+14 and 0
    days or recorded before its date at UTC-11, depending on the hour."""
    c = daemon.client()
    workers.dq(daemon)
    exit_date = day(0)
    wf = exit_household(c, Household(project_id="P-TZ"),
                        {"exit_date": exit_date, "destination": 410},
                        others="exit")
    caught_up(c, "dq")
    recorded = [e["data"]["exit_recorded_at"] for e in c.history(wf)["events"]
                if e["type"] == "member.exited"]
    assert len(recorded) == 3
    for prog in programs:
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"):
            r = run(prog, daemon, "--json", "--project", "P-TZ",
                    "--timezone", zone)
            assert r.returncode == 0, r.stderr
            s = json.loads(r.stdout)
            rows = {"0": 0, "1-3": 0, "4-6": 0, "7-10": 0, "11+": 0}
            before = 0
            for ts in recorded:
                late = (local_day(ts, zone)
                        - datetime.date.fromisoformat(exit_date)).days
                if late < 0:
                    before += 1
                else:
                    rows["0" if late == 0 else "1-3"] += 1
            assert s["timeliness"] == rows, (zone, recorded)
            assert s["timeliness_not_hud"] == {
                "recorded_before_exit_date": before, "unknown": 0}, zone


def test_dq_report_unreachable(programs):
    class Nobody:
        commands = "tcp://127.0.0.1:9"

        @staticmethod
        def cli_env(cert):
            return {}
    env = dict(os.environ, EXITFLOW_TIMEOUT_MS="100", EXITFLOW_RETRIES="1")
    r = run(programs[0], Nobody, env=env, timeout=60)
    assert r.returncode == 3
