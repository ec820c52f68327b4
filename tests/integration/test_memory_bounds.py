"""Memory a peer can hold in the daemon is bounded (issue 11, item 2).

50 clients that ask for 256 KiB pages of the event log and never read the
replies, and a subscriber that never reads, are held against the daemon
under a writing load; its RSS is sampled throughout.  The growth must stay
within the bound PROTOCOL.md §2.1 documents (per peer: 8 replies in libzmq
plus a 4 MiB backlog; per subscriber: 1,000 events), a well-behaved client
is served all along, and the memory comes back once they are gone.

EXITFLOW_SOAK_S sets how long the peers are held (15 s in make test; `make
soak` holds them a minute).
"""

import os
import time

import zmq

from exitflow import encode_request
from support import Household, wait_for

MIB = 1 << 20
PEERS = 50
PAGE = 256 * 1024                      # EXF_PAGE_BYTES
REPLIES_IN_LIBZMQ = 8                  # REPLY_QUEUE_MAX
BACKLOG_PER_PEER = 4 * MIB             # BACKLOG_PEER_BUDGET
EVENTS_PER_SUBSCRIBER = 1000           # EVENT_QUEUE_MAX
SLACK = 64 * MIB                       # allocator, libzmq buffers, LMDB pages


def rss(pid):
    """The daemon's anonymous resident memory: what peers can make it
    allocate (LMDB's mapped file pages are the store's, not theirs)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


def big_findings(i):
    return [{"rule": "r%d-%d" % (i, k), "severity": "warning",
             "message": "m" * 450} for k in range(200)]


def test_non_reading_peers_are_bounded(make_daemon):
    seconds = float(os.environ.get("EXITFLOW_SOAK_S", "15"))
    d = make_daemon()
    c = d.client()
    h = Household()
    wf = h.start(c)
    # a log of large events (about 100 KiB each) for the pages to carry
    for i in range(60):
        c.request("dq.report", {"workflow_id": wf, "source": "s%d" % (i % 8),
                                "findings": big_findings(i)})
    event_bytes = 100 * 1024
    pid = d.proc.pid
    base = rss(pid)

    small = {zmq.RCVHWM: 1, zmq.RCVBUF: 4096, zmq.SNDHWM: 0}
    peers = [d.socket(zmq.DEALER, options=small) for _ in range(PEERS)]
    sub = d.socket(zmq.SUB, options={zmq.RCVHWM: 1, zmq.RCVBUF: 4096},
                   connect=False)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(d.events)
    writer = d.client()
    peak = base
    deadline = time.monotonic() + seconds
    sent = 0
    worst_ping = 0.0
    try:
        while time.monotonic() < deadline:
            for p in peers:                 # ask, never read
                for _ in range(4):
                    _, body = encode_request("events.read",
                                             {"after": 0, "limit": 1000})
                    p.send_multipart([b"", body])
                    sent += 1
            writer.request("dq.report", {"workflow_id": wf, "source": "load",
                                         "findings": big_findings(sent)})
            t = time.monotonic()
            assert writer.ping()["pong"] is True     # others are served
            worst_ping = max(worst_ping, time.monotonic() - t)
            peak = max(peak, rss(pid))
            time.sleep(0.2)
    finally:
        growth = peak - base
        bound = (PEERS * (REPLIES_IN_LIBZMQ * PAGE + BACKLOG_PER_PEER)
                 + EVENTS_PER_SUBSCRIBER * event_bytes + SLACK)
        print("memory: %d non-reading peers, %d requests (%.0f MiB asked "
              "for), base anonymous RSS %.0f MiB, peak growth %.0f MiB, documented "
              "bound %.0f MiB, worst ping while held %.0f ms"
              % (PEERS, sent, sent * PAGE / MIB, base / MIB, growth / MIB,
                 bound / MIB, worst_ping * 1000))
        for p in peers:
            p.close()
        sub.close()
    assert growth <= bound
    assert sent * PAGE > 4 * bound          # the peers asked for far more

    def returned():
        now = rss(pid)
        return now if now - base <= max(growth // 4, 4 * MIB) else None
    after = wait_for(returned, timeout=20, interval=0.5,
                     what="the memory to come back")
    print("memory: RSS %.0f MiB once the peers are gone" % (after / MIB))
    assert c.ping()["pong"] is True
