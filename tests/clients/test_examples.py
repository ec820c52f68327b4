"""clients/examples/: the reporting subscriber, run as a process against a
real exitflowd with a worker certificate.

exits_by_destination follows the events from its own consumer offset and
counts member.exited by destination category per project; the expected
table is worked out here from HUD's rule (the category is the hundreds
digit of the 3.12 code: 1 homeless, 2 institutional, 3 temporary, 4
permanent, below 100 other), not from the daemon's hud.codes the program
reads.  Stopped and started again it goes on from its offset: the exits of
the first run are not counted again.
"""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from support import (Household, complete_member, exit_form, wait_for)

PROGRAM = os.environ.get("EXITFLOW_EXAMPLES", str(
    Path(__file__).resolve().parents[2] / "bin")) + "/exits_by_destination"
CATEGORY = {1: "homeless", 2: "institutional", 3: "temporary",
            4: "permanent"}


def category(code):
    return CATEGORY.get(code // 100, "other")


def start(daemon, consumer, *extra):
    keys = daemon.client_keys("worker")
    env = {k: v for k, v in os.environ.items()
           if k not in ("EXITFLOW_CERT", "EXITFLOW_SERVER_KEY")}
    p = subprocess.Popen(
        [PROGRAM, "--endpoint", daemon.commands, "--events", daemon.events,
         "--consumer", consumer, "--cert", keys["cert"], "--server-key",
         keys["server_key"], *extra], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    return p


def caught_up(client, consumer):
    """Waits until the consumer's offset is the log's end."""
    def done():
        res = client.consumer_list()
        mine = [c for c in res["consumers"] if c["consumer"] == consumer]
        return mine and mine[0]["seq"] == res["last_seq"]
    wait_for(done, timeout=20, what="%s caught up" % consumer)


def tables(text):
    """Every table printed, as {project: {category: n}} (without totals,
    which are checked against the row)."""
    out, head = [], None
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == "PROJECT":
            head = words[1:-1]
            out.append({})
        elif head is not None and len(words) == len(head) + 2:
            counts = [int(w) for w in words[1:]]
            assert sum(counts[:-1]) == counts[-1], line
            out[-1][words[0]] = {c: n for c, n in zip(head, counts) if n}
    return out


def exit_household(client, project, destinations):
    """A household of project ``project`` whose members exit to
    ``destinations`` (head, spouse, child; None: stays)."""
    h = Household(project_id=project)
    wf = h.start(client)
    members = (h.hoh, h.spouse, h.child)
    for cid, code in zip(members, destinations):
        if cid != h.hoh:
            client.decide(wf, cid, code is not None)
        if code is None:
            continue
        extra = {435: {"destination_subsidy_type": 419},
                 17: {"other_destination": "with family abroad"}}
        steps = ["exit", "universal_data", "health_insurance", "disabilities"]
        if cid != h.child:
            steps.append("income_benefits")
        client.save(wf, cid, "exit", data=exit_form(destination=code,
                                                    **extra.get(code, {})))
        complete_member(client, wf, cid, steps=steps[1:])
    stays = [cid for cid, code in zip(members, destinations) if code is None]
    client.finish(wf, new_head_of_household=stays[0] if stays else None)


def expected(households):
    table = {}
    for project, destinations in households:
        for code in destinations:
            if code is not None:
                row = table.setdefault(project, {})
                row[category(code)] = row.get(category(code), 0) + 1
    return table


def stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    return out


def test_exits_by_destination_counts_and_resumes(daemon):
    client = daemon.client()
    consumer = "report-" + uuid.uuid4().hex[:8]
    tag = uuid.uuid4().hex[:6]
    pa, pb = "PA-" + tag, "PB-" + tag
    p = start(daemon, consumer)
    try:
        first = [(pa, (435, 101, 215)), (pb, (302, None, None)),
                 (pb, (17, 422, 313))]
        for project, destinations in first:
            exit_household(client, project, destinations)
        caught_up(client, consumer)
        p.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        out = stop(p)
    finally:
        if p.poll() is None:
            p.kill()
    printed = tables(out)
    assert len(printed) == 2                    # SIGUSR1, then on stop
    assert printed[0] == printed[1] == expected(first)
    assert printed[1][pa] == {"permanent": 1, "homeless": 1,
                              "institutional": 1}

    # again, from its offset: only what came since
    p = start(daemon, consumer)
    try:
        second = [(pa, (30, None, None))]
        exit_household(client, pa, second[0][1])
        caught_up(client, consumer)
        out = stop(p)
    finally:
        if p.poll() is None:
            p.kill()
    assert tables(out) == [expected(second)]


def test_with_a_state_file_the_totals_survive_restarts(daemon, tmp_path):
    """--state keeps the counts with the seq they cover, written before
    each ack: a restart, even after kill -9, goes on with the totals, and
    counts each exit once. (A new state file starts from the log's first
    event, so the daemon's other tests' projects are in the table too: only
    this test's project is compared.)"""
    client = daemon.client()
    consumer = "report-" + uuid.uuid4().hex[:8]
    state = str(tmp_path / "exits.tsv")
    project = "PS-" + uuid.uuid4().hex[:6]
    done = []
    for batch, how in (([(project, (435, 101, None))], "term"),
                       ([(project, (302, 17, 215))], "kill"),
                       ([(project, (410, None, None))], "term")):
        p = start(daemon, consumer, "--state", state)
        try:
            for project_id, destinations in batch:
                exit_household(client, project_id, destinations)
            done += batch
            caught_up(client, consumer)
            if how == "kill":
                p.kill()
                p.wait(20)
                continue
            out = stop(p)
        finally:
            if p.poll() is None:
                p.kill()
        [table] = tables(out)
        assert table[project] == expected(done)[project]
    # and once more with nothing new: the file alone gives the totals
    p = start(daemon, consumer, "--state", state)
    try:
        caught_up(client, consumer)
        time.sleep(0.3)
        out = stop(p)
    finally:
        if p.poll() is None:
            p.kill()
    [table] = tables(out)
    assert table[project] == expected(done)[project]
    assert expected(done)[project] == {"permanent": 2, "homeless": 1,
                                       "temporary": 1, "other": 1,
                                       "institutional": 1}


@pytest.mark.parametrize("role", ["ops", "frontend"])
def test_it_needs_a_worker_certificate(daemon, role):
    """consumer.ack is for workers (and admin): with another certificate
    it could not keep its offset, and says so at once instead of counting
    what a restart would count again."""
    keys = daemon.client_keys(role)
    r = subprocess.run(
        [PROGRAM, "--endpoint", daemon.commands, "--events", daemon.events,
         "--cert", keys["cert"], "--server-key", keys["server_key"]],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stderr
    assert "FORBIDDEN" in r.stderr and "worker certificate" in r.stderr
