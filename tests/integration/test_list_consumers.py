"""workflow.list (filters, order, paging, progress) and consumer offsets."""

import time

from support import (CHILD_STEPS, RFC3339_MS, Household, complete_member,
                     error_of, exit_form, has)


def start_apart(c, households):
    """Start each workflow in its own millisecond (distinct updated_at)."""
    wfs = []
    for h in households:
        time.sleep(0.003)
        wfs.append(h.start(c))
    return wfs


def test_list_state_and_project_filters(daemon):
    c = daemon.client()
    opened, finished, cancelled = [], [], []
    for i in range(4):
        h = Household(project_id="P-A" if i % 2 else "P-B")
        opened.append((h.start(c), h))
    for _ in range(2):
        h = Household(project_id="P-A")
        wf = h.start(c)
        complete_member(c, wf, h.hoh)
        c.decide(wf, h.spouse, False)
        c.decide(wf, h.child, False)
        c.finish(wf, new_head_of_household=h.spouse)
        finished.append(wf)
    h = Household(project_id="P-B")
    wf = h.start(c)
    c.cancel(wf, "mistake")
    cancelled.append(wf)

    def ids(**kw):
        return [w["workflow_id"] for w in c.list(**kw)["workflows"]]

    assert sorted(ids(state="open")) == sorted(w for w, _ in opened)
    assert sorted(ids(state="finished")) == sorted(finished)
    assert ids(state="cancelled") == cancelled
    assert sorted(ids(state="open", project_id="P-A")) == sorted(
        w for w, h in opened if h.project_id == "P-A")
    assert ids(state="finished", project_id="P-B") == []
    assert ids(state="open", project_id="P-none") == []
    page = c.list(state="cancelled")
    assert page["next"] is None
    item = page["workflows"][0]
    assert set(item) >= {"workflow_id", "state", "project_id", "household_id",
                         "created_at", "updated_at", "progress"}
    assert item["state"] == "cancelled" and item["project_id"] == "P-B"
    assert item["household_id"] == h.household_id
    assert RFC3339_MS.match(item["created_at"])
    assert RFC3339_MS.match(item["updated_at"])
    assert item["updated_at"] >= item["created_at"]
    for state in ("open", "finished", "cancelled"):
        for w in c.list(state=state)["workflows"]:
            view = c.get(w["workflow_id"])
            assert w["progress"] == view["progress"]
            assert w["updated_at"] == view["updated_at"]
            assert w["state"] == state
    assert error_of(c.list, state="closed").code in ("BAD_REQUEST",
                                                     "VALIDATION")


def test_list_progress(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)

    def progress():
        (item,) = c.list(state="open")["workflows"]
        return item["progress"]

    assert progress() == {"done": 0, "total": 7}
    c.save(wf, h.hoh, "exit", data=exit_form())
    assert progress() == {"done": 1, "total": 7}
    c.decide(wf, h.child, True)
    assert progress() == {"done": 2, "total": 11}
    c.decide(wf, h.spouse, False)
    complete_member(c, wf, h.child, steps=CHILD_STEPS)
    assert progress() == {"done": 7, "total": 11}
    c.decide(wf, h.child, False)                      # steps are kept
    assert progress() == {"done": 3, "total": 7}


def test_list_oldest_idle_first_and_idle_for(daemon):
    c = daemon.client()
    hs = [Household() for _ in range(4)]
    wfs = start_apart(c, hs)
    items = c.list(state="open")["workflows"]
    assert [w["workflow_id"] for w in items] == wfs
    # touching the oldest moves it to the end
    time.sleep(0.003)
    c.save(wfs[0], hs[0].hoh, "exit", data=exit_form())
    items = c.list(state="open")["workflows"]
    assert [w["workflow_id"] for w in items] == wfs[1:] + wfs[:1]
    upd = [w["updated_at"] for w in items]
    assert upd == sorted(upd)
    # dq.report does not count as a change
    c.dq_report(wfs[1], "dq", [])
    items = c.list(state="open")["workflows"]
    assert [w["workflow_id"] for w in items] == wfs[1:] + wfs[:1]

    time.sleep(2.2)
    fresh = Household()
    wf_new = fresh.start(c)
    time.sleep(0.003)
    c.save(wfs[2], hs[2].hoh, "exit", data=exit_form())
    idle = [w["workflow_id"] for w in c.list(state="open",
                                             idle_for_s=2)["workflows"]]
    assert idle == [wfs[1], wfs[3], wfs[0]]
    everything = [w["workflow_id"] for w in c.list(state="open",
                                                   idle_for_s=0)["workflows"]]
    assert everything == [wfs[1], wfs[3], wfs[0], wf_new, wfs[2]]
    assert c.list(state="open", idle_for_s=3600)["workflows"] == []


def test_list_paging(daemon):
    c = daemon.client()
    wfs = start_apart(c, [Household(project_id="P-page") for _ in range(23)])
    Household(project_id="P-other").start(c)
    for limit in (1, 5, 7, 23, 100):
        seen, after, pages = [], None, 0
        while True:
            page = c.list(state="open", project_id="P-page", limit=limit,
                          after=after)
            assert len(page["workflows"]) <= limit
            seen.extend(w["workflow_id"] for w in page["workflows"])
            pages += 1
            after = page["next"]
            if after is None:
                break
            assert isinstance(after, str)
            assert pages < 100
        assert seen == wfs, limit
        assert pages >= -(-23 // limit)
    assert [w["workflow_id"] for w in
            c.list_all("open", project_id="P-page", limit=4)] == wfs
    r = c.request("workflow.list", {"state": "open", "after": "garbage"})
    assert r["error"]["code"] in ("BAD_REQUEST", "VALIDATION")
    assert r["error"]["field"] == "after"
    # the default limit is 100
    assert len(c.list(state="open")["workflows"]) == 24
    for bad in (0, 1001, -1):
        e = error_of(c.list, state="open", limit=bad)
        assert e.code in ("BAD_REQUEST", "VALIDATION") and e.field == "limit"


def test_consumers(daemon):
    c = daemon.client()
    assert c.consumer_list() == {"consumers": [], "last_seq": 0}
    for _ in range(5):
        Household().start(c)
    assert has(c.consumer_ack("dq-worker", 3), consumer="dq-worker", seq=3)
    assert has(c.consumer_ack("exporter", 5), consumer="exporter", seq=5)
    res = c.consumer_list()
    assert res["last_seq"] == 5
    # each with the time of its last ack (consumer.delete's idle rule)
    for x in res["consumers"]:
        assert RFC3339_MS.match(x.pop("acked_at")), x
    assert sorted(res["consumers"], key=lambda x: x["consumer"]) == [
        {"consumer": "dq-worker", "seq": 3, "lag": 2},
        {"consumer": "exporter", "seq": 5, "lag": 0}]
    # monotonic: a lower ack leaves the offset and returns the stored one
    assert has(c.consumer_ack("dq-worker", 1), consumer="dq-worker", seq=3)
    # beyond last_seq
    e = error_of(c.consumer_ack, "dq-worker", 6)
    assert (e.code, e.field) == ("VALIDATION", "seq")
    e = error_of(c.consumer_ack, "new-one", 99)
    assert (e.code, e.field) == ("VALIDATION", "seq")
    Household().start(c)
    res = {x["consumer"]: x for x in c.consumer_list()["consumers"]}
    assert set(res) == {"dq-worker", "exporter"}
    res["dq-worker"].pop("acked_at")
    assert res["dq-worker"] == {"consumer": "dq-worker", "seq": 3, "lag": 3}
    assert res["exporter"]["lag"] == 1
    assert c.consumer_ack("dq-worker", 6)["seq"] == 6
    assert c.stats()["last_seq"] == 6            # acks are not events


def test_a_filter_that_matches_little_pages_through_everything(make_daemon):
    """One call looks at a bounded number of rows: a project filter that
    matches little may give short (even empty) pages, and following `next`
    still finds every match exactly once."""
    d = make_daemon()
    c = d.client()
    wanted = set()
    for i in range(5200):
        h = Household(project_id="P-rare" if i % 1300 == 0 else "P-common",
                       with_last=False)
        wf = c.start(**h.args)["workflow_id"]
        if i % 1300 == 0:
            wanted.add(wf)
    seen, after, pages = [], None, 0
    while True:
        page = c.list("open", project_id="P-rare", limit=1000, after=after)
        seen += [w["workflow_id"] for w in page["workflows"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert sorted(seen) == sorted(wanted) and len(seen) == len(set(seen))
    assert pages >= 2
