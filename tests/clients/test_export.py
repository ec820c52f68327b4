"""`exitflow export` and workflow.export, over the wire against a real
exitflowd whose CoC lives in America/Chicago.

Every file is parsed with Python's csv module; each header is compared
column by column with the HMIS CSV Format Specifications' list (written
out below from the spec, FY2024 -- unchanged for these files in FY2026
v1.0 --, not taken from the code), and every row with what the workflow's
own history says: the values of the last step.completed of each step, the
time (in the CoC's zone) and actor of its first step.completed
(DateCreated, UserID) and the time of its last (DateUpdated).  A household
exits with a 435 exit and its subsidy type 419, a destination 17 exit with
its "other destination" text, an adult with income sources and amounts, a
Default Last assessment, and a child.  Then who may export (the daemon
says: ops and admin, not a front end or a worker), spans that hold nothing
(header-only files), the directory rules and the command line's refusals.
"""

import csv
import datetime
import io
import json
import os
import subprocess
import uuid
import zoneinfo

import pytest

from exitflow import ErrorCode
from support import (Daemon, Household, cli_binary, day, disabilities,
                     error_of, exit_form, income, insurance, universal)

CLI = cli_binary()
ZONE = "America/Chicago"

# -- the spec's headers (HMIS CSV Format Specifications FY2024) ---------------

EXIT = (
    "ExitID,EnrollmentID,PersonalID,ExitDate,Destination,"
    "DestinationSubsidyType,OtherDestination,HousingAssessment,"
    "SubsidyInformation,ProjectCompletionStatus,EarlyExitReason,"
    "ExchangeForSex,ExchangeForSexPastThreeMonths,CountOfExchangeForSex,"
    "AskedOrForcedToExchangeForSex,"
    "AskedOrForcedToExchangeForSexPastThreeMonths,WorkplaceViolenceThreats,"
    "WorkplacePromiseDifference,CoercedToContinueWork,"
    "LaborExploitPastThreeMonths,CounselingReceived,IndividualCounseling,"
    "FamilyCounseling,GroupCounseling,SessionCountAtExit,"
    "PostExitCounselingPlan,SessionsInPlan,DestinationSafeClient,"
    "DestinationSafeWorker,PosAdultConnections,PosPeerConnections,"
    "PosCommunityConnections,AftercareDate,AftercareProvided,"
    "EmailSocialMedia,Telephone,InPersonIndividual,InPersonGroup,"
    "CMExitReason,DateCreated,DateUpdated,UserID,DateDeleted,ExportID"
).split(",")

INCOME_BENEFITS = (
    "IncomeBenefitsID,EnrollmentID,PersonalID,InformationDate,"
    "IncomeFromAnySource,TotalMonthlyIncome,Earned,EarnedAmount,"
    "Unemployment,UnemploymentAmount,SSI,SSIAmount,SSDI,SSDIAmount,"
    "VADisabilityService,VADisabilityServiceAmount,VADisabilityNonService,"
    "VADisabilityNonServiceAmount,PrivateDisability,PrivateDisabilityAmount,"
    "WorkersComp,WorkersCompAmount,TANF,TANFAmount,GA,GAAmount,"
    "SocSecRetirement,SocSecRetirementAmount,Pension,PensionAmount,"
    "ChildSupport,ChildSupportAmount,Alimony,AlimonyAmount,OtherIncomeSource,"
    "OtherIncomeAmount,OtherIncomeSourceIdentify,BenefitsFromAnySource,SNAP,"
    "WIC,TANFChildCare,TANFTransportation,OtherTANF,OtherBenefitsSource,"
    "OtherBenefitsSourceIdentify,InsuranceFromAnySource,Medicaid,"
    "NoMedicaidReason,Medicare,NoMedicareReason,SCHIP,NoSCHIPReason,"
    "VHAServices,NoVHAReason,EmployerProvided,NoEmployerProvidedReason,COBRA,"
    "NoCOBRAReason,PrivatePay,NoPrivatePayReason,StateHealthIns,"
    "NoStateHealthInsReason,IndianHealthServices,"
    "NoIndianHealthServicesReason,OtherInsurance,OtherInsuranceIdentify,ADAP,"
    "NoADAPReason,RyanWhiteMedDent,NoRyanWhiteReason,ConnectionWithSOAR,"
    "DataCollectionStage,DateCreated,DateUpdated,UserID,DateDeleted,ExportID"
).split(",")

HEALTH_AND_DV = (
    "HealthAndDVID,EnrollmentID,PersonalID,InformationDate,"
    "DomesticViolenceSurvivor,WhenOccurred,CurrentlyFleeing,"
    "GeneralHealthStatus,DentalHealthStatus,MentalHealthStatus,"
    "PregnancyStatus,DueDate,DataCollectionStage,DateCreated,DateUpdated,"
    "UserID,DateDeleted,ExportID"
).split(",")

DISABILITIES = (
    "DisabilitiesID,EnrollmentID,PersonalID,InformationDate,DisabilityType,"
    "DisabilityResponse,IndefiniteAndImpairs,TCellCountAvailable,TcellCount,"
    "TcellSource,ViralLoadAvailable,ViralLoad,ViralLoadSource,AntiRetroviral,"
    "DataCollectionStage,DateCreated,DateUpdated,UserID,DateDeleted,ExportID"
).split(",")

EXPORT = (
    "ExportID,SourceType,SourceID,SourceName,SourceContactFirst,"
    "SourceContactLast,SourceContactPhone,SourceContactExtension,"
    "SourceContactEmail,ExportDate,ExportStartDate,ExportEndDate,"
    "SoftwareName,SoftwareVersion,CSVVersion,ExportPeriodType,"
    "ExportDirective,HashStatus,ImplementationID"
).split(",")

HEADERS = {"Exit.csv": EXIT, "IncomeBenefits.csv": INCOME_BENEFITS,
           "HealthAndDV.csv": HEALTH_AND_DV,
           "Disabilities.csv": DISABILITIES, "Export.csv": EXPORT}

# 4.05-4.10: HUD's DisabilityType of each answer (Data Dictionary 1.3)
DISABILITY_TYPE = {"physical": 5, "developmental": 6, "chronic_health": 7,
                   "hiv_aids": 8, "mental_health": 9, "substance_use": 10}
# the steps whose answers IncomeBenefits.csv holds (4.02-4.04)
INCOME_STEPS = ("health_insurance", "income_benefits")
OTHER_TEXT = 'Tía\'s, "across" the state'     # a comma, quotes, UTF-8


# -- the daemon, the CLI -------------------------------------------------------

@pytest.fixture(scope="module")
def chicago(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("exitflowd"),
               extra_args=["--timezone", ZONE])
    d.start()
    yield d
    d.close()


def cli(daemon, args, role="admin"):
    env = {k: v for k, v in os.environ.items()
           if k not in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY")}
    env.update(daemon.cli_env(role), EXITFLOW_ENDPOINT=daemon.commands,
               EXITFLOW_EVENTS=daemon.events, EXITFLOW_TIMEOUT_MS="5000",
               TZ="UTC")        # the CLI takes the CoC's zone from the daemon
    return subprocess.run([CLI, "export"] + list(args), env=env,
                          capture_output=True, text=True, timeout=60)


def export(daemon, tmp_path, *args, role="admin"):
    """Runs the export into a new directory; returns (dir, {file: rows as
    dicts}, {file: raw bytes})."""
    out = tmp_path / ("export-" + uuid.uuid4().hex[:8])
    r = cli(daemon, ["--out", str(out)] + list(args), role=role)
    assert r.returncode == 0, r.stdout + r.stderr
    raw = {name: (out / name).read_bytes() for name in HEADERS}
    rows = {}
    for name, data in raw.items():
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        header = next(reader)
        assert header == HEADERS[name], name
        rows[name] = [dict(zip(header, r)) for r in reader]
        assert all(len(r) == len(header) for r in rows[name]), name
    return out, rows, raw


def local(ts):
    """An RFC 3339 UTC time of the wire in the CoC's zone, as the spec
    writes a datetime."""
    t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return t.astimezone(zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def money(value):
    return "%.2f" % value


# -- what the history says -----------------------------------------------------

def saves(client, wf):
    """{(client_id, step): [step.completed events, in order]}."""
    out = {}
    for e in client.history(wf)["events"]:
        if e["type"] == "step.completed":
            out.setdefault((e["client_id"], e["data"]["step"]), []).append(e)
    return out


def meta(saved, cid, steps):
    """DateCreated, DateUpdated and UserID of a row fed by ``steps``: the
    first save of the first of them (when and by whom), the last save of
    the last."""
    events = [e for s in steps for e in saved.get((cid, s), [])]
    first = min(events, key=lambda e: e["seq"])
    last = max(events, key=lambda e: e["seq"])
    return {"DateCreated": local(first["ts"]), "DateUpdated": local(last["ts"]),
            "UserID": first.get("actor") or ""}


def answers(saved, cid, step):
    """The values the member's step holds: those of its last save."""
    return saved[(cid, step)][-1]["data"]["data"]


def columns_of(codes, step):
    """{field: CSV column} of a step, from hud.codes (the daemon's table)."""
    s = next(s for s in codes["steps"] if s["name"] == step)
    return {f["name"]: f["column"] for f in s["fields"] if f["column"]}


def written(field_type, value):
    if value is None:
        return ""
    return money(value) if field_type == "amount" else str(value)


def field_types(codes, step):
    s = next(s for s in codes["steps"] if s["name"] == step)
    return {f["name"]: f["type"] for f in s["fields"]}


# -- the household -------------------------------------------------------------

def exit_household(client, project_id="P-export"):
    """Head 435/419 with income (exit form saved by cw-a, then again by
    cw-b), spouse 17 with its text and Default Last health insurance, child
    exiting too with two disabilities unanswered; the workflow id."""
    h = Household(project_id=project_id)
    wf = h.start(client)
    exit_date = day(-3)
    client.save(wf, h.hoh, "exit", data=exit_form(
        exit_date=day(-4), destination=410), actor="cw-a")
    client.save(wf, h.hoh, "exit", data=exit_form(
        exit_date=exit_date, destination=435, destination_subsidy_type=419),
        actor="cw-b")
    client.save(wf, h.hoh, "universal_data", data=universal(), actor="cw-b")
    client.save(wf, h.hoh, "health_insurance",
                data=insurance(("medicaid", "vha_services")), actor="cw-b")
    client.save(wf, h.hoh, "disabilities", data=disabilities(
        physical=1, physical_indefinite_and_impairs=1, substance_use=3,
        substance_use_indefinite_and_impairs=0), actor="cw-b")
    client.save(wf, h.hoh, "income_benefits", data=income(
        {"earned": 1250.5, "ssi": 943, "child_support": 120.25},
        benefits=("snap",), local_note="never exported"), actor="cw-c")
    client.decide(wf, h.spouse, True, actor="cw-b")
    client.save(wf, h.spouse, "exit", data=exit_form(
        exit_date=exit_date, destination=17, other_destination=OTHER_TEXT),
        actor="cw-b")
    client.save(wf, h.spouse, "universal_data", mode="default_last",
                actor="cw-b")
    client.save(wf, h.spouse, "health_insurance", mode="default_last",
                actor="cw-b")
    client.save(wf, h.spouse, "disabilities", data=disabilities(),
                actor="cw-b")
    client.save(wf, h.spouse, "income_benefits",
                data=income(any_source=0, total=None), actor="cw-b")
    client.decide(wf, h.child, True, actor="cw-b")
    client.save(wf, h.child, "exit", data=exit_form(exit_date=exit_date),
                actor="cw-b")
    client.save(wf, h.child, "universal_data", data=universal(), actor="cw-b")
    client.save(wf, h.child, "health_insurance",
                data=insurance(("schip",)), actor="cw-b")
    child_answers = disabilities(developmental=1)
    del child_answers["hiv_aids"], child_answers["mental_health"]
    client.save(wf, h.child, "disabilities", data=child_answers,
                actor="cw-b")
    client.finish(wf, actor="cw-b")
    return h, wf


@pytest.fixture(scope="module")
def exported(chicago, tmp_path_factory):
    """One household exited and exported today (as ops)."""
    client = chicago.client()
    h, wf = exit_household(client)
    out, rows, raw = export(chicago, tmp_path_factory.mktemp("x"),
                            role="ops")
    return client, h, wf, out, rows, raw


def rows_of(rows, name, wf_members):
    return [r for r in rows[name] if r["PersonalID"] in wf_members]


# -- the files -----------------------------------------------------------------

def test_exit_rows_are_the_history(exported):
    client, h, wf, _, rows, _ = exported
    saved = saves(client, wf)
    view = client.get(wf)
    export_id = rows["Export.csv"][0]["ExportID"]
    exits = {r["PersonalID"]: r for r in rows_of(
        rows, "Exit.csv", (h.hoh, h.spouse, h.child))}
    assert set(exits) == {h.hoh, h.spouse, h.child}
    for m in view["members"]:
        cid = m["client_id"]
        form = answers(saved, cid, "exit")
        expect = {c: "" for c in EXIT}
        expect.update(
            EnrollmentID=m["enrollment_id"], PersonalID=cid,
            ExitDate=form["exit_date"], Destination=str(form["destination"]),
            DestinationSubsidyType=str(form.get("destination_subsidy_type",
                                                "")),
            OtherDestination=form.get("other_destination", ""),
            ExportID=export_id, ExitID=exits[cid]["ExitID"],
            **meta(saved, cid, ["exit"]))
        assert exits[cid] == expect, cid
    # the head's: 435 with VASH; recorded by cw-a, who saved it first
    assert exits[h.hoh]["Destination"] == "435"
    assert exits[h.hoh]["DestinationSubsidyType"] == "419"
    assert exits[h.hoh]["UserID"] == "cw-a"
    assert exits[h.hoh]["DateUpdated"] >= exits[h.hoh]["DateCreated"]
    assert exits[h.spouse]["Destination"] == "17"
    assert exits[h.spouse]["OtherDestination"] == OTHER_TEXT
    assert exits[h.spouse]["DestinationSubsidyType"] == ""
    ids = [r["ExitID"] for r in rows["Exit.csv"]]
    assert len(set(ids)) == len(ids) and all(0 < len(i) <= 32 for i in ids)


def test_income_benefits_rows_are_the_history(exported, chicago):
    client, h, wf, _, rows, _ = exported
    saved = saves(client, wf)
    codes = client.hud_codes()
    view = client.get(wf)
    got = {r["PersonalID"]: r for r in rows_of(
        rows, "IncomeBenefits.csv", (h.hoh, h.spouse, h.child))}
    assert set(got) == {h.hoh, h.spouse, h.child}
    for m in view["members"]:
        cid = m["client_id"]
        steps = [s for s in INCOME_STEPS if (cid, s) in saved]
        expect = {c: "" for c in INCOME_BENEFITS}
        for step in steps:
            types = field_types(codes, step)
            for field, column in columns_of(codes, step).items():
                expect[column] = written(types[field],
                                         answers(saved, cid, step).get(field))
        expect.update(
            IncomeBenefitsID=got[cid]["IncomeBenefitsID"],
            EnrollmentID=m["enrollment_id"], PersonalID=cid,
            InformationDate=answers(saved, cid, "exit")["exit_date"],
            DataCollectionStage="3",
            ExportID=rows["Export.csv"][0]["ExportID"],
            **meta(saved, cid, steps))
        assert got[cid] == expect, cid
    hoh = got[h.hoh]
    assert (hoh["EarnedAmount"], hoh["SSIAmount"], hoh["ChildSupportAmount"],
            hoh["TotalMonthlyIncome"]) == ("1250.50", "943.00", "120.25",
                                           "2313.75")
    assert hoh["Earned"] == hoh["SSI"] == hoh["SNAP"] == "1"
    assert hoh["VHAServices"] == hoh["Medicaid"] == "1"
    assert hoh["UserID"] == "cw-b"       # insurance came before income
    # Default Last exports the values it carried: the spouse's prior
    # insurance, as the household's "last" gave it
    assert got[h.spouse]["Medicaid"] == "1"
    assert got[h.spouse]["InsuranceFromAnySource"] == "1"
    # a child answers no income: its row holds insurance only
    child = got[h.child]
    assert child["SCHIP"] == "1" and child["IncomeFromAnySource"] == ""


def test_disability_rows_one_per_answer(exported):
    client, h, wf, _, rows, _ = exported
    saved = saves(client, wf)
    view = client.get(wf)
    for m in view["members"]:
        cid = m["client_id"]
        data = answers(saved, cid, "disabilities")
        got = {int(r["DisabilityType"]): r
               for r in rows_of(rows, "Disabilities.csv", (cid,))}
        assert set(got) == {DISABILITY_TYPE[k] for k in data
                            if k in DISABILITY_TYPE}, cid
        for name, kind in DISABILITY_TYPE.items():
            if name not in data:
                continue
            expect = {c: "" for c in DISABILITIES}
            expect.update(
                DisabilitiesID=got[kind]["DisabilitiesID"],
                EnrollmentID=m["enrollment_id"], PersonalID=cid,
                InformationDate=answers(saved, cid, "exit")["exit_date"],
                DisabilityType=str(kind), DisabilityResponse=str(data[name]),
                IndefiniteAndImpairs=str(data.get(
                    name + "_indefinite_and_impairs", "")),
                DataCollectionStage="3",
                ExportID=rows["Export.csv"][0]["ExportID"],
                **meta(saved, cid, ["disabilities"]))
            assert got[kind] == expect, (cid, name)
    hoh = {int(r["DisabilityType"]): r
           for r in rows_of(rows, "Disabilities.csv", (h.hoh,))}
    assert hoh[5]["IndefiniteAndImpairs"] == "1"
    assert hoh[10]["DisabilityResponse"] == "3"
    ids = [r["DisabilitiesID"] for r in rows["Disabilities.csv"]]
    assert len(set(ids)) == len(ids) and all(len(i) <= 32 for i in ids)


def test_health_and_dv_and_export_rows(exported):
    _, _, _, _, rows, _ = exported
    # 4.11 is not collected at exit, and no field of an exit has a column
    # of HealthAndDV.csv: its header alone
    assert rows["HealthAndDV.csv"] == []
    (e,) = rows["Export.csv"]
    today = datetime.datetime.now(zoneinfo.ZoneInfo(ZONE)).date().isoformat()
    assert e["ExportStartDate"] == e["ExportEndDate"] == today
    assert e["ExportDate"].startswith(today)
    datetime.datetime.strptime(e["ExportDate"], "%Y-%m-%d %H:%M:%S")
    assert (e["SoftwareName"], e["ExportPeriodType"], e["ExportDirective"],
            e["HashStatus"], e["SourceType"]) == ("exitflow", "1", "1", "1",
                                                  "4")
    assert e["SoftwareVersion"] and e["CSVVersion"] and e["ExportID"]
    assert len(e["ExportID"]) <= 32
    for name in ("Exit.csv", "IncomeBenefits.csv", "Disabilities.csv"):
        assert {r["ExportID"] for r in rows[name]} == {e["ExportID"]}


def test_the_table_columns_land_in_the_files(exported):
    """Every column of the typed-assessment table is one of these files'
    (DisablingCondition is Enrollment.csv's, not an exit file), and no
    local_ field is anywhere."""
    client, _, _, _, _, raw = exported
    spec = set().union(*map(set, HEADERS.values()))
    for step in client.hud_codes()["steps"]:
        for f in step["fields"]:
            if f["column"] and f["column"] != "DisablingCondition":
                assert f["column"] in spec, f
    assert not any(b"never exported" in data for data in raw.values())


def test_format_crlf_utf8_quoting_and_modes(exported):
    _, h, _, out, _, raw = exported
    assert os.stat(out).st_mode & 0o777 == 0o700
    assert sorted(os.listdir(out)) == sorted(HEADERS)     # no leftovers
    for name, data in raw.items():
        assert os.stat(out / name).st_mode & 0o777 == 0o600
        assert data.endswith(b"\r\n") and b"\n" not in data.replace(b"\r\n",
                                                                    b"")
        assert not data.startswith(b"\xef\xbb\xbf")       # no BOM
        # the header is written bare: no column name needs quotes
        assert data.split(b"\r\n")[0] == ",".join(HEADERS[name]).encode()
    # quotes only where a value needs them: the text with a comma and
    # quotes, doubled; ids and codes bare
    line = next(l for l in raw["Exit.csv"].decode().split("\r\n")
                if h.spouse in l)
    assert '"Tía\'s, ""across"" the state"' in line
    assert ",17,," in line and '"' + h.spouse not in line


def test_ids_are_stable_across_exports(exported, chicago, tmp_path):
    _, _, _, _, first, _ = exported
    _, again, _ = export(chicago, tmp_path)
    for name, key in (("Exit.csv", "ExitID"),
                      ("IncomeBenefits.csv", "IncomeBenefitsID"),
                      ("Disabilities.csv", "DisabilitiesID")):
        ids = {r[key]: r["PersonalID"] for r in first[name]}
        assert {r[key]: r["PersonalID"] for r in again[name]} == ids
    assert again["Export.csv"][0]["ExportID"] != \
        first["Export.csv"][0]["ExportID"]


# -- who may export, and which exits -------------------------------------------

def test_roles_are_the_daemons(exported, chicago, tmp_path):
    for role in ("frontend", "worker"):
        e = error_of(chicago.client(role=role).export)
        assert e.code == ErrorCode.FORBIDDEN, role
        out = tmp_path / role
        r = cli(chicago, ["--out", str(out)], role=role)
        assert r.returncode == 1 and "FORBIDDEN" in r.stderr, r.stderr
        assert not out.exists()                 # nothing left behind
    assert chicago.client(role="ops").export()["workflows"]


def test_span_excludes_other_days_and_an_empty_span_is_headers(
        exported, chicago, tmp_path):
    _, h, wf, _, _, _ = exported
    days_ago = export(chicago, tmp_path, "--from", day(-30), "--to", day(-2))
    _, rows, raw = days_ago
    for name, data in raw.items():
        assert len(rows[name]) == (1 if name == "Export.csv" else 0), name
        if name != "Export.csv":
            assert data == (",".join(HEADERS[name]) + "\r\n").encode()
    assert rows["Export.csv"][0]["ExportStartDate"] == day(-30)
    assert rows["Export.csv"][0]["ExportEndDate"] == day(-2)
    # the same exits from the daemon, page by page: today's holds wf
    items = list(chicago.client().export_all(limit=1))
    assert wf in [i["workflow"]["workflow_id"] for i in items]
    assert not chicago.client().export(day(-30), day(-2))["workflows"]


def test_demo_project_only_when_asked(chicago, tmp_path):
    client = chicago.client()
    h, _ = exit_household(client, project_id="demo")
    _, rows, _ = export(chicago, tmp_path)
    assert h.hoh not in {r["PersonalID"] for r in rows["Exit.csv"]}
    _, rows, _ = export(chicago, tmp_path, "--include-demo")
    assert h.hoh in {r["PersonalID"] for r in rows["Exit.csv"]}


def test_json_summary(exported, chicago, tmp_path):
    out = tmp_path / "j"
    r = cli(chicago, ["--out", str(out), "--json"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dir"] == str(out) and doc["timezone"] == ZONE
    assert doc["files"]["Export.csv"] == 1
    assert doc["files"]["Exit.csv"] == doc["exits"] >= 3


# -- the command line -----------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["--from", "2026-11-02", "--to", "2026-11-01"], "is after"),
    (["--from", "2026-02-30"], "date"),
    (["--bogus"], "unknown option"),
    ([], "--out"),
    (["extra"], "unexpected argument"),
])
def test_usage_errors(chicago, tmp_path, args, says):
    out = tmp_path / "u"
    r = cli(chicago, (["--out", str(out)] if args != [] else []) + args)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not out.exists()


def test_a_directory_that_is_not_empty_is_refused(chicago, tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "Exit.csv").write_text("someone else's\n")
    r = cli(chicago, ["--out", str(out)])
    assert r.returncode == 2 and "not empty" in r.stderr, r.stderr
    assert (out / "Exit.csv").read_text() == "someone else's\n"
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    assert cli(chicago, ["--out", str(empty)]).returncode == 0
    assert os.stat(empty).st_mode & 0o777 == 0o700
    a_file = tmp_path / "file"
    a_file.write_text("")
    r = cli(chicago, ["--out", str(a_file)])
    assert r.returncode == 2 and "not a directory" in r.stderr
