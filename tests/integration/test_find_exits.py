"""Finding exits (issue 10, item 1): workflow.list by client_id,
enrollment_id, household_id, actor (who started it or made its last change)
and stalled, alone and with state / project_id / idle_for_s; every one
served by an index that must follow each change: an actor handing a
workflow on, a stall set then cleared, a state change moving it from open
to finished.  Items carry started_by, last_actor and stalled; a key filter
without a state lists every state, open first, then finished, then
cancelled, each in creation order."""

import uuid

import pytest

from support import (RFC3339_MS, Household, complete_member, error_of,
                     exit_form, wait_for)

STATE_ORDER = {"open": 0, "finished": 1, "cancelled": 2}
ITEM_KEYS = {"workflow_id", "state", "project_id", "household_id",
             "created_at", "updated_at", "started_by", "last_actor",
             "stalled", "progress"}


def find(c, **args):
    """Every item of workflow.list with ``args`` (None values left out),
    following ``next`` page by page."""
    args = {k: v for k, v in args.items() if v is not None}
    items, after = [], None
    while True:
        page = c.call("workflow.list", dict(args, **(
            {"after": after} if after else {})))
        items.extend(page["workflows"])
        after = page.get("next")
        if not after:
            return items


def ids(c, **args):
    return [w["workflow_id"] for w in find(c, **args)]


def item(c, wf, **args):
    (found,) = [w for w in find(c, **args) if w["workflow_id"] == wf]
    return found


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def finish_head_only(c, h, wf, actor=None):
    """The head exits with every step saved; the others stay, the spouse
    the new head."""
    kw = {"actor": actor} if actor else {}
    complete_member(c, wf, h.hoh)
    c.decide(wf, h.spouse, False, **kw)
    c.decide(wf, h.child, False, **kw)
    c.finish(wf, new_head_of_household=h.spouse, **kw)


@pytest.fixture(scope="module")
def c(module_daemon):
    return module_daemon.client()


def test_by_client_enrollment_household_in_every_state(c):
    """One household's three workflows (finished, cancelled, open): each
    key finds all three without a state, open first, then finished, then
    cancelled; with a state, only that state's; another household's stays
    out; project_id narrows."""
    project = unique("P-find")
    h = Household(project_id=project)
    other = Household(project_id=project)
    wf_other = other.start(c)
    wf_done = h.start(c)
    finish_head_only(c, h, wf_done)
    wf_cancelled = h.start(c)
    c.cancel(wf_cancelled, "started twice")
    wf_open = h.start(c)
    want = [wf_open, wf_done, wf_cancelled]
    states = {wf_open: "open", wf_done: "finished", wf_cancelled: "cancelled"}

    for key, value in (("client_id", h.spouse), ("client_id", h.hoh),
                       ("enrollment_id", h.enrollment[h.child]),
                       ("household_id", h.household_id)):
        found = find(c, **{key: value})
        assert [w["workflow_id"] for w in found] == want, key
        assert [w["state"] for w in found] == ["open", "finished",
                                               "cancelled"]
        for w in found:
            assert ITEM_KEYS <= set(w), w
            assert w["household_id"] == h.household_id
            assert w["project_id"] == project
            assert RFC3339_MS.match(w["created_at"])
        for state in STATE_ORDER:
            assert ids(c, state=state, **{key: value}) == [
                wf for wf in want if states[wf] == state], (key, state)
        assert ids(c, project_id=project, **{key: value}) == want
        assert ids(c, project_id=unique("P-none"), **{key: value}) == []
        assert ids(c, state="open", project_id=project,
                   **{key: value}) == [wf_open]

    assert ids(c, client_id=other.hoh) == [wf_other]
    assert ids(c, enrollment_id=other.enrollment[other.spouse]) == [wf_other]
    # an id is matched whole, in its own kind only
    assert ids(c, client_id=h.enrollment[h.hoh]) == []
    assert ids(c, client_id=h.hoh[:-1]) == []
    assert ids(c, household_id=h.hoh) == []
    assert ids(c, enrollment_id=unique("E-none")) == []
    # the list without a key filter still takes its state
    assert set(ids(c, state="open", project_id=project)) == {wf_open,
                                                             wf_other}


def test_pages_of_a_key_filter(c):
    """A key filter's list pages with limit/next in the same order."""
    actor = unique("cw-pages")
    made = []
    for n in range(5):
        h = Household(project_id=unique("P-pages"))
        wf = h.start(c, actor=actor)
        if n % 2:
            c.cancel(wf, "a page test", actor=actor)
        made.append((STATE_ORDER["cancelled" if n % 2 else "open"], wf))
    want = [wf for _, wf in sorted(made)]
    assert ids(c, actor=actor) == want
    pages, after = [], None
    while True:
        args = {"actor": actor, "limit": 2}
        if after:
            args["after"] = after
        page = c.call("workflow.list", args)
        pages.append([w["workflow_id"] for w in page["workflows"]])
        after = page.get("next")
        if not after:
            break
    assert [wf for p in pages for wf in p] == want
    assert all(len(p) <= 2 for p in pages) and len(pages) >= 3


def test_actor_follows_the_last_change(c):
    """Started by A, changed by B, then by C: found by A (who started it)
    and C (the last change), no longer by B: B's index entry moved."""
    a, b, d = unique("cw-a"), unique("cw-b"), unique("cw-c")
    h = Household(project_id=unique("P-actor"))
    wf = h.start(c, actor=a)
    w = item(c, wf, actor=a)
    assert (w["started_by"], w["last_actor"]) == (a, a)
    assert ids(c, actor=b) == []

    c.save(wf, h.hoh, "exit", data=exit_form(), actor=b)
    assert ids(c, actor=a) == [wf]          # started it
    assert ids(c, actor=b) == [wf]          # changed it last
    w = item(c, wf, actor=b)
    assert (w["started_by"], w["last_actor"]) == (a, b)

    c.decide(wf, h.spouse, False, actor=d)
    assert ids(c, actor=d) == [wf]
    assert ids(c, actor=a) == [wf]
    assert ids(c, actor=b) == []            # no longer the last change
    w = item(c, wf, actor=d)
    assert (w["started_by"], w["last_actor"]) == (a, d)
    # the same answer through every filter
    assert item(c, wf, household_id=h.household_id)["last_actor"] == d
    assert item(c, wf, state="open",
                project_id=h.args["project_id"])["last_actor"] == d

    # B changes it again, then finishes it: B is back, C is gone, and the
    # workflow moves from open to finished under every key
    c.decide(wf, h.child, False, actor=b)
    assert ids(c, actor=d) == []
    assert ids(c, actor=b) == [wf]
    for step in ("universal_data", "health_insurance", "disabilities",
                 "income_benefits"):
        c.save(wf, h.hoh, step, mode="default_last", actor=b)
    c.finish(wf, new_head_of_household=h.spouse, actor=b)
    for who in (a, b):
        assert ids(c, actor=who, state="open") == []
        assert ids(c, actor=who, state="finished") == [wf]
        assert ids(c, actor=who) == [wf]
    assert item(c, wf, actor=b)["state"] == "finished"
    assert ids(c, actor=d) == []


def test_actor_with_state_project_and_idle(c):
    """actor combined with state, project_id and idle_for_s; a workflow
    started by one caseworker and one last changed by them both count."""
    me, you = unique("cw-me"), unique("cw-you")
    project = unique("P-mine")
    h1, h2, h3 = (Household(project_id=project) for _ in range(3))
    mine = h1.start(c, actor=me)
    touched = h2.start(c, actor=you)
    c.save(touched, h2.hoh, "exit", data=exit_form(), actor=me)
    theirs = h3.start(c, actor=you)
    gone = Household(project_id=unique("P-elsewhere")).start(c, actor=me)
    c.cancel(gone, "duplicate", actor=me)

    assert ids(c, actor=me) == sorted([mine, touched]) + [gone]
    assert ids(c, actor=me, state="open") == sorted([mine, touched])
    assert ids(c, actor=me, state="cancelled") == [gone]
    assert ids(c, actor=me, project_id=project) == sorted([mine, touched])
    assert ids(c, actor=you) == sorted([touched, theirs])
    assert ids(c, actor=me, state="open", idle_for_s=3600) == []
    assert ids(c, actor=me, state="open", idle_for_s=0) == sorted(
        [mine, touched])
    assert item(c, touched, actor=you)["last_actor"] == me


def test_state_is_required_without_a_key_filter(c):
    e = error_of(c.call, "workflow.list", {"project_id": "P-1"})
    assert e.code in ("BAD_REQUEST", "VALIDATION") and e.field == "state"
    e = error_of(c.call, "workflow.list", {"stalled": True})
    assert e.code in ("BAD_REQUEST", "VALIDATION") and e.field == "state"
    # a key filter of the wrong type is the request's shape
    for key in ("client_id", "enrollment_id", "household_id", "actor"):
        e = error_of(c.call, "workflow.list", {key: 7})
        assert e.code == "BAD_REQUEST" and e.field == key, key
    e = error_of(c.call, "workflow.list", {"state": "open", "stalled": "yes"})
    assert e.code == "BAD_REQUEST" and e.field == "stalled"


def test_stalled_set_then_cleared(make_daemon):
    """stalled: true finds a workflow once it stalls, and no longer once a
    change clears it (the index entry moves back); with a key filter too;
    items say stalled."""
    d = make_daemon(stall_after=2)
    c = d.client()
    h = Household()
    wf = h.start(c, actor="cw-1")
    assert ids(c, state="open", stalled=True) == []
    assert ids(c, state="open", stalled=False) == [wf]
    assert item(c, wf, state="open")["stalled"] is False

    wait_for(lambda: ids(c, state="open", stalled=True) == [wf], timeout=10,
             what="the workflow to stall")
    assert item(c, wf, state="open")["stalled"] is True
    assert ids(c, state="open", stalled=False) == []
    assert ids(c, client_id=h.spouse, stalled=True) == [wf]
    assert ids(c, actor="cw-1", state="open", stalled=True) == [wf]
    assert ids(c, household_id=h.household_id, state="open",
               stalled=False) == []
    assert item(c, wf, enrollment_id=h.enrollment[h.child])["stalled"] is True

    # a change: a new idle period, no longer stalled (stall_after is 2 s,
    # so the next stall is at least that far away)
    c.save(wf, h.hoh, "exit", data=exit_form(), actor="cw-2")
    assert ids(c, state="open", stalled=True) == []
    assert ids(c, state="open", stalled=False) == [wf]
    assert ids(c, client_id=h.spouse, stalled=True) == []
    assert ids(c, client_id=h.spouse, state="open", stalled=False) == [wf]
    assert ids(c, actor="cw-2", state="open", stalled=False) == [wf]
    assert item(c, wf, client_id=h.hoh)["stalled"] is False

    # stalled again, then finished: no longer among the stalled
    wait_for(lambda: ids(c, state="open", stalled=True) == [wf], timeout=10,
             what="the workflow to stall again")
    finish_head_only(c, h, wf)
    assert ids(c, state="open", stalled=True) == []
    assert ids(c, client_id=h.spouse, stalled=True) == []
    w = item(c, wf, client_id=h.spouse)
    assert w["state"] == "finished" and w["stalled"] is False


def test_indexes_survive_a_restart(make_daemon):
    """The indexes are in the store: after a restart every key finds what
    it found before, and keeps following changes."""
    d = make_daemon()
    c = d.client()
    h = Household()
    wf = h.start(c, actor="cw-x")
    c.save(wf, h.hoh, "exit", data=exit_form(), actor="cw-y")
    keys = {"client_id": h.child, "enrollment_id": h.enrollment[h.hoh],
            "household_id": h.household_id, "actor": "cw-y"}
    for k, v in keys.items():
        assert ids(c, **{k: v}) == [wf], k
    d.restart()
    c = d.client()
    for k, v in keys.items():
        assert ids(c, **{k: v}) == [wf], k
    c.decide(wf, h.spouse, True, actor="cw-z")
    assert ids(c, actor="cw-y") == []
    assert ids(c, actor="cw-z") == [wf]
    assert ids(c, actor="cw-x") == [wf]


def test_unknown_ids_find_nothing(c):
    """A filter on an id nobody has is an empty list, never the whole
    store."""
    for key in ("client_id", "enrollment_id", "household_id", "actor"):
        assert find(c, **{key: unique("nobody")}) == [], key
