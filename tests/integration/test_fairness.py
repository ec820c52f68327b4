"""Fair under a hostile client (issue 8): with CURVE on, one client
pipelines requests as fast as the daemon takes them while a second one
counts, with `stats`' `requests`, how many of the flood's requests the
daemon ran while each of its own round trips was in flight. Counted, not
timed: the machine's load cannot decide it.

The flooder is a separate process (a thread here would share the GIL with
the measuring client and so measure Python, not the daemon).  The figures
are printed: `pytest -s` shows them.
"""

import os
import subprocess
import sys
import time

import pytest

from support import REPO, Household

PROBES = 200            # round trips per measurement
BOUND = 100             # requests of others a probe may wait for (p99):
                        # 16 a batch at most, a few batches; a batch
                        # without the share holds 512

# A DEALER that keeps DEPTH requests in flight (stats, ping and
# workflow.list in turn), sending more as replies come back, until its
# stdin closes; then it drains and says how many it sent.
FLOODER = r"""
import sys
import zmq
from exitflow import Command, curve_keys, encode_request

endpoint, cert, server_key = sys.argv[1:4]
DEPTH = 2000
# each list reads every open workflow: the daemon runs them slower than
# this process sends them, so its queue stays deep (cheap requests would
# be taken as fast as they come, and no batch would ever be full)
cmds = [(Command.WORKFLOW_LIST, {"state": "open", "limit": 1000})]
bodies = [encode_request(c, a)[1] for _ in range(1200) for c, a in cmds]
sock = zmq.Context.instance().socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.setsockopt(zmq.SNDHWM, 0)
sock.setsockopt(zmq.RCVHWM, 0)
keys = curve_keys(cert, server_key)
if keys:
    keys.apply(sock)
sock.connect(endpoint)
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
poller.register(sys.stdin, zmq.POLLIN)
sent = received = 0
print("flooding", flush=True)
while True:
    while sent - received < DEPTH:
        sock.send_multipart([b"", bodies[sent % len(bodies)]])
        sent += 1
    ready = dict(poller.poll(1000))
    if sys.stdin.fileno() in ready:
        break
    while sock.poll(0):
        sock.recv_multipart()
        received += 1
while received < sent and sock.poll(10000):
    sock.recv_multipart()
    received += 1
print("sent %d received %d" % (sent, received), flush=True)
"""


def waits_of_probes(client, n=PROBES):
    """How many requests of others the daemon ran while each of `n` stats
    round trips of `client` was in flight: its `requests` count (requests
    run before it since start) between two back-to-back calls, less the
    first call itself. A count, not a clock, so a busy machine cannot
    make it pass or fail."""
    waits = []
    before = client.stats()["requests"]
    for _ in range(n):
        now = client.stats()["requests"]
        waits.append(now - before - 1)
        before = now
    return sorted(waits)


# Every request in a batch waits for the batch. Two bounds keep a flood
# from filling them: exitflowd takes at most 16 requests of one connection
# into a batch (BATCH_PEER_SHARE), and stops reading a connection whose
# unread replies pass 4 MiB (backlog.c). Either alone keeps a probe's wait
# to a few dozen of the flood's requests; with neither, a batch holds up
# to 512 of them.
def test_a_flooding_client_does_not_starve_another(daemon):
    admin = daemon.client()
    for _ in range(200):                    # something for list to list
        Household().start(admin)
    probe = daemon.client(role="ops")
    idle = waits_of_probes(probe)
    keys = daemon.client_keys("admin")
    env = dict(os.environ, PYTHONPATH=str(REPO / "clients" / "python"))
    flooder = subprocess.Popen(
        [sys.executable, "-c", FLOODER, daemon.commands, keys["cert"],
         keys["server_key"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env=env)
    try:
        assert flooder.stdout.readline().strip() == "flooding"
        time.sleep(0.5)                     # the queue is deep by now
        before = admin.stats()["last_seq"]
        flooded = waits_of_probes(probe)
    finally:
        flooder.stdin.close()
        out = flooder.stdout.read()
        flooder.wait(30)
    p99 = flooded[int(len(flooded) * 0.99) - 1]
    print("\nfairness: requests run while a probe waited: idle max %d, "
          "flooded median %d, p99 %d (flooder: %s)"
          % (idle[-1], flooded[len(flooded) // 2], p99, out.strip()))
    sent = int(out.split()[1])
    assert sent > 10 * PROBES, out           # it really flooded
    assert daemon.running()
    assert admin.stats()["last_seq"] == before   # reads only: nothing changed
    assert idle[-1] == 0                     # alone, nothing runs between
    # the flood really was in the way: probes waited for its requests
    # (not most of them on a loaded machine, where the flooder itself
    # gets too little CPU to keep the queue deep all the time)
    assert flooded[-1] > 0
    assert p99 <= BOUND, "a probe waited for %d requests of the flood" % p99
