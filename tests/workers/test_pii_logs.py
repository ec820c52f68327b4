"""PII-safe logs (issue 8): a whole household exits, with both workers
running, while every piece of client data the protocol carries as free text
or values holds a marker string; then every log the daemon (--verbose) and
the workers (--verbose) wrote is searched for the markers.  Logs may carry
ids, codes and certificate names, never the client's data."""

from exitflow import ErrorCode
from support import Household, day, error_of, exit_form
from worker_support import GOOD, caught_up, read_jsonl, wait_for

# Every marker starts with MARK so that a cut-off copy is found as well.
MARK = "PIIMARKq7"
OTHER_DESTINATION = MARK + "-other-dest"
EXIT_REASON = MARK + "-exit-reason-evicted by landlord"
CANCEL_REASON = MARK + "-cancel-reason-client in hospital"
BIRTH_DATE = MARK + "-1911-11-11"
ASSESSMENT = MARK + "-assessment-value"


# A member's real date of birth (workflow.start's birth_date): never in a
# log, the view or an event.
MEMBER_BIRTH_DATE = "1957-03-14"


def marked(step, data):
    """An assessment with the CoC's own questions (`local_` fields, kept
    and shown, never read by a rule) holding a date of birth and free text
    beside the values the DQ rules read."""
    return dict(data, local_birth_date=BIRTH_DATE, local_notes=ASSESSMENT,
                **{"local_" + step + "_text": MARK + "-" + step})


def test_logs_carry_no_client_data(make_daemon, workers, tmp_path):
    d = make_daemon(extra_args=["--verbose"])
    notes = tmp_path / "notes.jsonl"
    workers.dq(d, "--verbose")
    workers.notify(d, "--verbose", "--sink", "file:%s" % notes)
    c = d.client(role="frontend")
    admin = d.client()

    # the whole household exits: the head to "other" (17) with a reason
    h = Household()
    h.args = dict(h.args, members=[
        dict({k: v for k, v in m.items() if k != "adult"},
             birth_date=MEMBER_BIRTH_DATE) if m["client_id"] == h.hoh
        else m for m in h.args["members"]])
    wf = h.start(c, actor="cw-pii")
    forms = {
        h.hoh: {"exit_date": day(-1), "destination": 17,
                "other_destination": OTHER_DESTINATION,
                "exit_reason": EXIT_REASON},
        h.spouse: {"exit_date": day(-1), "destination": 410,
                   "exit_reason": EXIT_REASON},
        h.child: {"exit_date": day(-1), "destination": 410},
    }
    c.decide(wf, h.spouse, True, actor="cw-pii")
    c.decide(wf, h.child, True, actor="cw-pii")
    for cid, form in forms.items():
        c.save(wf, cid, "exit", data=form, actor="cw-pii")
        for step, data in GOOD.items():
            if step == "income_benefits" and cid == h.child:
                continue
            c.save(wf, cid, step, data=marked(step, data), actor="cw-pii")
    # refused writes carry the markers too: the error names the field only
    e = error_of(c.save, wf, h.hoh, "exit", actor="cw-pii",
                 data=exit_form(other_destination=OTHER_DESTINATION * 3,
                                destination=17))
    assert e.code == ErrorCode.VALIDATION and MARK not in str(e.reply)
    e = error_of(c.save, wf, h.hoh, "exit", actor="cw-pii",
                 data=exit_form(exit_reason=EXIT_REASON * 30))
    assert e.code == ErrorCode.VALIDATION and MARK not in str(e.reply)
    e = error_of(c.save, wf, h.hoh, "exit", actor="cw-pii",
                 data=exit_form(birth_date=BIRTH_DATE))
    assert e.code == ErrorCode.VALIDATION and MARK not in str(e.reply)
    c.finish(wf, actor="cw-pii")

    # and another one is cancelled, with a reason
    h2 = Household()
    wf2 = h2.start(c, actor="cw-pii")
    c.save(wf2, h2.hoh, "exit", data=forms[h.hoh], actor="cw-pii")
    c.cancel(wf2, CANCEL_REASON, actor="cw-pii")

    # the workers have seen all of it
    caught_up(admin, "dq")
    caught_up(admin, "notify")
    wait_for(lambda: [n for n in read_jsonl(notes) if n["workflow_id"] == wf],
             what="the notification of the exit")
    # the markers really went through: they are stored and in the events
    view = admin.get(wf)
    assert OTHER_DESTINATION in str(view) and BIRTH_DATE in str(view)
    assert CANCEL_REASON in str(admin.history(wf2))
    # the member's date of birth is stored, and shows only as its effect
    assert MEMBER_BIRTH_DATE not in str(view)
    assert MEMBER_BIRTH_DATE not in str(admin.history(wf))
    assert [m["age_basis"] for m in view["members"]
            if m["client_id"] == h.hoh] == ["birth_date"]
    for w in workers.made:
        w.stop()
    d.stop()

    logs = {"exitflowd": d.log()}
    logs.update((w.log_path.name, w.log()) for w in workers.made)
    # the logs are there and say what happened, by id
    assert "cmd=step.save" in logs["exitflowd"], logs["exitflowd"]
    assert all(text.strip() for text in logs.values()), logs
    assert any(wf in text for name, text in logs.items()
               if name != "exitflowd"), logs
    for name, text in logs.items():
        leaks = [line for line in text.splitlines()
                 if MARK in line or MEMBER_BIRTH_DATE in line]
        assert not leaks, "%s logged client data:\n%s" % (
            name, "\n".join(leaks))
