"""workflow.stalled: once per idle period of an open workflow."""

import time

from support import RFC3339_MS, Household, exit_form, read_all_events, wait_for


def stalled(c, wf=None):
    return [e for e in read_all_events(c) if e["type"] == "workflow.stalled"
            and (wf is None or e["workflow_id"] == wf)]


def test_stalled_once_per_idle_period(make_daemon):
    d = make_daemon(stall_after=1)
    c = d.client()
    h = Household()
    wf = h.start(c)
    v = c.get(wf)["version"]
    done = Household()
    wf_done = done.start(c)
    c.cancel(wf_done, "closed at once")

    first = wait_for(lambda: stalled(c, wf), timeout=10,
                     what="a workflow.stalled event")
    assert len(first) == 1
    ev = first[0]
    assert RFC3339_MS.match(ev["ts"])
    assert ev["data"]["idle_s"] >= 1
    assert RFC3339_MS.match(ev["data"]["since"])
    assert ev["data"]["since"] <= ev["ts"]
    assert ev["data"]["progress"] == {"done": 0, "total": 7}
    view = c.get(wf)
    assert ev["data"]["since"] == view["updated_at"]
    assert view["version"] == v          # being stalled is not a change

    time.sleep(3)                      # still idle: no second event
    assert len(stalled(c, wf)) == 1

    c.save(wf, h.hoh, "exit", data=exit_form())   # a change: a new period
    second = wait_for(lambda: len(stalled(c, wf)) == 2 and stalled(c, wf),
                      timeout=10, what="a second workflow.stalled")
    assert second[1]["data"]["progress"] == {"done": 1, "total": 7}
    assert second[1]["data"]["since"] == c.get(wf)["updated_at"]
    time.sleep(3)
    assert len(stalled(c, wf)) == 2
    # never for a closed workflow
    assert stalled(c, wf_done) == []
    evs = read_all_events(c)
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))


def test_stall_scan_goes_on_after_marking_several(make_daemon):
    """A scan that marks several workflows at once must leave its cursor
    where it stopped, so later ones still stall."""
    d = make_daemon(stall_after=1)
    c = d.client()
    early = [Household().start(c) for _ in range(3)]
    wait_for(lambda: all(stalled(c, wf) for wf in early), timeout=10,
             what="the first three to stall")
    late = Household().start(c)
    wait_for(lambda: stalled(c, late), timeout=10,
             what="a workflow started later to stall too")
    assert all(len(stalled(c, wf)) == 1 for wf in early + [late])
