"""The Subscriber: gapless, ordered events over a lossy SUB socket."""

import time

import zmq

from support import Household, exit_form, flood, read_all_events


def collect(sub, n, timeout=30.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        assert left > 0, "only %d of %d events" % (len(out), n)
        ev = sub.next(timeout=left)
        if ev is not None:
            out.append(ev)
    return out


def test_catches_up_then_follows(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    with daemon.subscriber() as sub:
        first = collect(sub, 2)
        assert [e["seq"] for e in first] == [1, 2]
        c.save(wf, h.hoh, "universal_data", mode="default_last")
        c.decide(wf, h.spouse, True)
        more = collect(sub, 2)
        assert [e["seq"] for e in more] == [3, 4]
        assert [e["type"] for e in more] == ["step.completed",
                                             "member.decided"]
        assert sub.next(timeout=0.3) is None
    with daemon.subscriber(after=2) as sub:
        assert [e["seq"] for e in collect(sub, 2)] == [3, 4]


def test_gaps_filled_from_the_log(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    n = 3000
    sub = daemon.subscriber(rcvhwm=1, sockopts={zmq.RCVBUF: 4096})
    try:
        assert collect(sub, 1)[0]["seq"] == 1       # caught up, following
        time.sleep(0.3)                             # subscription settled
        flood(daemon, wf, n, hoh=h.hoh)             # the subscriber sleeps
        time.sleep(0.5)
        got = collect(sub, n)
        assert [e["seq"] for e in got] == list(range(2, n + 2))
        assert got == read_all_events(c)[1:]
        assert sub.next(timeout=0.3) is None
        print("gap reads: %d" % sub.gap_reads)
    finally:
        sub.close()


def test_lost_events_filled_from_the_log(daemon):
    """Events published while the SUB is disconnected are really lost on
    the socket; the Subscriber notices the seq jump and reads the log."""
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    sub = daemon.subscriber(rcvhwm=1,
                            poll_interval=30)       # no tail polling: gaps only
    try:
        assert collect(sub, 1)[0]["seq"] == 1
        sub._sub.disconnect(daemon.events)
        flood(daemon, wf, 200, hoh=h.hoh)   # nobody hears these
        sub._sub.connect(daemon.events)
        time.sleep(0.5)                     # reconnected and subscribed
        flood(daemon, wf, 50)
        got = collect(sub, 250, timeout=20)
        assert [e["seq"] for e in got] == list(range(2, 252))
        assert got == read_all_events(c)[1:]
        assert sub.gap_reads >= 1
    finally:
        sub.close()


def test_prefix_filter(daemon):
    c = daemon.client()
    hs = [Household() for _ in range(3)]
    wfs = [h.start(c) for h in hs]
    sub = daemon.subscriber(prefix=b"workflow.", rcvhwm=1)
    try:
        got = collect(sub, 3)                       # caught up from the log
        time.sleep(0.3)                             # subscription settled
        flood(daemon, wfs[0], 600, hoh=hs[0].hoh)
        c.cancel(wfs[1], "x")
        c.save(wfs[2], hs[2].hoh, "exit", data=exit_form())
        c.cancel(wfs[2], "y")
        want = [e for e in read_all_events(c)
                if e["type"].startswith("workflow.")]
        assert len(want) == 5
        got += collect(sub, 2)
        assert got == want
        assert sub.gap_reads >= 1           # skipped types read from the log
        assert sub.next(timeout=0.3) is None
    finally:
        sub.close()


def test_catching_up_a_long_backlog_holds_a_page_at_most(daemon):
    c = daemon.client()
    h = Household()
    wf = h.start(c)
    flood(daemon, wf, 300)
    last = c.stats()["last_seq"]
    with daemon.subscriber(after=0, page=50) as sub:
        first = sub.next(timeout=10)
        assert first["seq"] == 1
        assert len(sub._buf) < 50          # one page read, not the backlog
        rest = collect(sub, last - 1)
    assert [e["seq"] for e in [first] + rest] == list(range(1, last + 1))
