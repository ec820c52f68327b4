"""exitflow-web's JSON API over plain HTTP (and HTTPS), against a real
exitflowd (CURVE on), the real DQ worker and the gateway on free ports
(tests/web/conftest.py): sign-in, cookies, CSRF, a whole exit through the
API, the daemon's refusals passed through, conflicts naming who changed
what, ops sessions read-only (and the ops certificate refused by the
daemon itself), the live feed, the log, the pages, passwd, TLS.

What the daemon holds is read back with an admin client of its own
(stack.daemon.client()), never through the gateway under test."""

import http.client
import os
import re
import socket
import stat
import subprocess
import threading
import uuid

import pytest

import exitflow
from support.households import Household, day, disabilities, insurance, \
    universal
from support.launcher import REPO
from support.web import Web, WebSession, passwd

TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
SCRIPT = "<script>alert(1)</script>"


# -- helpers ---------------------------------------------------------------

def admin(stack):
    return stack.daemon.client()


def view(stack, wf):
    return admin(stack).get(wf)


def start(session, household=None):
    h = household or Household()
    status, body = session.post("/api/exits", h.args)
    assert status == 201, body
    return h, body["workflow_id"], body["version"]


def save(session, wf, client_id, step, data=None, version=None,
         mode="entered", **kw):
    body = {"client_id": client_id, "step": step, "mode": mode,
            "expected_version": version}
    if data is not None:
        body["data"] = data
    return session.post("/api/exits/%s/steps" % wf, body, **kw)


def exit_435(**over):
    form = {"exit_date": day(-1), "destination": 435,
            "destination_subsidy_type": 419, "exit_reason": "Voucher"}
    form.update(over)
    return form


def cookie_attrs(session):
    value = session.last.headers.get("Set-Cookie")
    assert value, "no Set-Cookie"
    parts = [p.strip() for p in value.split(";")]
    return parts[0], set(parts[1:])


def coc_zone(session, timeout=10.0):
    """/api/me's timezone, once the gateway has it (its live feed asks the
    daemon's stats as it starts)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        status, me = session.get("/api/me")
        assert status == 200, me
        if me["timezone"] or time.monotonic() > deadline:
            return me["timezone"]
        time.sleep(0.05)


def history_len(stack, wf):
    return len(admin(stack).history(wf)["events"])


# -- sign-in, cookies, sessions -------------------------------------------

def test_sign_in_sets_a_strict_http_only_cookie_and_a_csrf_token(stack):
    s = stack.web.session()
    status, body = s.login("cw1", stack.users["cw1"][0])
    assert status == 200, body
    assert body["user"] == "cw1" and body["role"] == "caseworker"
    assert TOKEN.match(body["csrf"])
    pair, attrs = cookie_attrs(s)
    name, _, value = pair.partition("=")
    assert name == "exitflow_session" and TOKEN.match(value)
    assert attrs == {"HttpOnly", "SameSite=Strict", "Path=/"}  # no Secure
    assert s.get("/api/me") == (200, body)
    # a fresh id at every sign-in; the old one is gone
    old = s.cookie
    status, again = s.login("cw1", stack.users["cw1"][0])
    assert status == 200 and s.cookie != old and again["csrf"] != body["csrf"]
    stale = stack.web.session()
    stale.cookie = old
    assert stale.get("/api/me")[0] == 401


def test_me_names_the_cocs_time_zone(stack):
    """The pages show times in the daemon's zone (stats.timezone), as the
    CLI does: the gateway says which in /api/me."""
    zone = admin(stack).stats()["timezone"]
    assert zone
    assert coc_zone(stack.session("cw1")) == zone


def test_wrong_password_and_unknown_user_get_the_same_401(stack):
    s = stack.web.session()
    wrong = s.login("cw2", "not-the-password")
    assert s.last.headers.get("Set-Cookie") is None
    unknown = s.login("nobody-" + uuid.uuid4().hex[:6], "whatever-123")
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1]
    assert wrong[1]["error"]["code"] == "UNAUTHENTICATED"
    assert s.get("/api/me")[0] == 401
    assert s.get("/api/exits")[0] == 401


def test_logout_needs_the_token_and_ends_the_session(stack):
    s = stack.session("cw2")
    status, body = s.post("/api/logout", csrf=False)
    assert status == 403 and body["error"]["code"] == "CSRF"
    assert s.get("/api/me")[0] == 200
    cookie = s.cookie
    status, _ = s.post("/api/logout")
    assert status == 204
    pair, attrs = cookie_attrs(s)
    assert pair == "exitflow_session=" and "Max-Age=0" in attrs
    s.cookie = cookie                       # the browser kept it anyway
    assert s.get("/api/me")[0] == 401


def test_sign_in_is_rate_limited_per_name_and_per_address(make_stack):
    st = make_stack(web_args=["--login-failures", "3",
                              "--login-failures-address", "8",
                              "--login-window", "300"])
    s = st.web.session()
    for _ in range(3):
        assert s.login("cw1", "wrong-password")[0] == 401
    # the right password does not help now, for this name
    status, body = s.login("cw1", st.users["cw1"][0])
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED"
    retry = int(s.last.headers["Retry-After"])
    assert 0 < retry <= 300
    assert s.cookie is None
    # another name from the same address still may
    assert s.login("cw2", st.users["cw2"][0])[0] == 200
    # failures under other names count against the address
    for i in range(5):
        assert s.login("guess%d" % i, "wrong-password")[0] == 401
    status, body = s.login("ops1", st.users["ops1"][0])
    assert status == 429 and "Retry-After" in s.last.headers
    assert "user=ops1" not in st.web.log().splitlines()[-1]


def test_sign_ins_made_at_once_cannot_outrun_the_limit(make_stack):
    """Every attempt is counted before its password is checked: 24 wrong
    passwords sent together get at most the 3 the limit allows, not one
    each while the first hashes are still being computed."""
    st = make_stack(web_args=["--login-failures", "3",
                              "--login-failures-address", "1000"])
    statuses = []
    go = threading.Barrier(24)

    def guess():
        s = st.web.session()
        go.wait()
        statuses.append(s.login("cw1", "wrong-password")[0])

    threads = [threading.Thread(target=guess) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) == 3, statuses
    assert st.web.session().login("cw1", st.users["cw1"][0])[0] == 429
    # a success takes back its count from the address (and clears the name)
    assert st.web.session().login("cw2", st.users["cw2"][0])[0] == 200


def test_taking_an_account_away_or_changing_it_ends_its_sessions(stack):
    name = "cw-gone-" + uuid.uuid4().hex[:4]
    stack.add_user(name, "caseworker")
    s, other = stack.session(name), stack.session(name)
    live = other.live()
    try:
        assert live.next_message()["comment"]
        assert s.get("/api/me")[0] == 200
        # a new password: the sessions made with the old one are over
        stack.add_user(name, "caseworker")
        status, body = s.get("/api/me")
        assert status == 401 and body["error"]["code"] == "UNAUTHENTICATED"
        start(stack.session("cw1"))           # an event the stream may not get
        with pytest.raises(EOFError):
            while True:
                assert "event" not in live.next_message(timeout=20)
    finally:
        live.close()
    # a new role too
    s = stack.session(name)
    assert s.get("/api/me")[1]["role"] == "caseworker"
    r = passwd(stack.users_file, name, "ops", stack.users[name][0])
    assert r.returncode == 0, r.stderr
    assert s.get("/api/exits")[0] == 401
    # and the line taken out of the file
    s = stack.session(name)
    lines = stack.users_file.read_text().splitlines()
    stack.users_file.write_text("".join(
        l + "\n" for l in lines if not l.startswith(name + ":")))
    assert s.get("/api/me")[0] == 401
    assert s.login(name, stack.users[name][0])[0] == 401


def test_one_session_holds_a_few_live_streams_not_all(stack):
    cw, other = stack.session("cw1"), stack.session("cw1")
    streams = []
    try:
        for _ in range(8):
            streams.append(cw.live())
            assert streams[-1].status == 200
        extra = cw.live()
        streams.append(extra)
        assert extra.status == 503
        # another session of the same user still gets one
        mine = other.live()
        streams.append(mine)
        assert mine.status == 200
    finally:
        for st in streams:
            st.close()


def test_a_daemon_that_does_not_answer_is_503_without_its_address(make_stack):
    st = make_stack(web_args=["--timeout-ms", "200"])
    cw = st.session("cw1")
    st.daemon.stop()
    status, body = cw.get("/api/codes")
    assert status == 503 and body["error"]["code"] == "UNREACHABLE", body
    message = body["error"]["message"]
    assert "does not answer" in message
    for detail in ("tcp://", "127.0.0.1", str(st.daemon.commands).rsplit(":", 1)[-1]):
        assert detail not in message, message


# -- CSRF --------------------------------------------------------------------

def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(stack):
    cw = stack.session("cw1")
    h, wf, v = start(cw)
    before = history_len(stack, wf)
    for token in (False, "x" * 43, cw.csrf[:-1] + ("A" if cw.csrf[-1] != "A"
                                                   else "B")):
        status, body = save(cw, wf, h.hoh, "exit", exit_435(), v, csrf=token)
        assert status == 403, body
        assert body["error"]["code"] == "CSRF"
    # another session's token is not this one's
    other = stack.session("cw2")
    status, _ = save(cw, wf, h.hoh, "exit", exit_435(), v, csrf=other.csrf)
    assert status == 403
    status, _ = cw.post("/api/exits", Household().args, csrf=False)
    assert status == 403
    assert view(stack, wf)["version"] == v
    assert history_len(stack, wf) == before
    # and with it, the same change goes through
    status, body = save(cw, wf, h.hoh, "exit", exit_435(), v)
    assert status == 200 and body["version"] == v + 1


def test_a_post_must_be_json(stack):
    cw = stack.session("cw1")
    status, body = cw.request("POST", "/api/exits", raw=b"household_id=H",
                              headers={"Content-Type":
                                       "application/x-www-form-urlencoded"})
    assert status == 415, body
    for ctype in ("application/jsonp", "application/json-patch+json",
                  "text/plain; x=application/json"):
        status, body = cw.request("POST", "/api/exits", raw=b"{}",
                                  headers={"Content-Type": ctype})
        assert status == 415, (ctype, body)
    status, body = cw.request("POST", "/api/exits", raw=b"{not json",
                              headers={"Content-Type":
                                       "application/json; charset=utf-8"})
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    status, body = cw.request("POST", "/api/exits", raw=b"[1, 2]")
    assert status == 400
    deep = b"{\"a\":" * 40 + b"1" + b"}" * 40
    status, body = cw.request("POST", "/api/exits", raw=deep)
    assert status == 400 and "deeper" in body["error"]["message"]
    # a declared size over 1 MiB is refused before the body is sent
    sock = socket.create_connection(("127.0.0.1", stack.web.port), timeout=10)
    try:
        sock.sendall(("POST /api/exits HTTP/1.1\r\nHost: x\r\n"
                      "Content-Type: application/json\r\nCookie: "
                      "exitflow_session=%s\r\nX-CSRF-Token: %s\r\n"
                      "Content-Length: %d\r\n\r\n"
                      % (cw.cookie, cw.csrf, 1024 * 1024 + 1)).encode())
        head = sock.recv(65536).decode()
    finally:
        sock.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert '"TOO_LARGE"' in head
    # and one that does not say its size is read to its end, then refused
    big = [b"{\"members\": \""] + [b"x" * 65536] * 17 + [b"\"}"]
    c = stack.web.connection()
    try:
        c.request("POST", "/api/exits", body=iter(big), encode_chunked=True,
                  headers={"Content-Type": "application/json",
                           "Cookie": "exitflow_session=" + cw.cookie,
                           "X-CSRF-Token": cw.csrf})
        r = c.getresponse()
        assert r.status == 413 and b"TOO_LARGE" in r.read()
    finally:
        c.close()
    # one that goes on and on is cut off: the connection closes under it
    endless = (b"x" * 65536 for _ in range(200))    # 12.5 MiB
    c = stack.web.connection()
    try:
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            c.request("POST", "/api/exits", body=endless, encode_chunked=True,
                      headers={"Content-Type": "application/json",
                               "Cookie": "exitflow_session=" + cw.cookie,
                               "X-CSRF-Token": cw.csrf})
            c.getresponse().read()
    finally:
        c.close()
    assert cw.get("/api/me")[0] == 200          # the gateway is still well


def test_unknown_routes_and_methods(stack):
    cw = stack.session("cw1")
    assert cw.get("/api/nothing")[0] == 404
    assert cw.get("/api/exits/not-an-id")[0] == 404
    status, body = cw.request("DELETE", "/api/exits")
    assert status == 405 and body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert cw.get("/api/login")[0] == 405


# -- the exit through the API ---------------------------------------------

def test_a_whole_exit_through_the_api(stack):
    cw = stack.session("cw1")
    h = Household()                  # head, spouse, child; with prior values
    h, wf, v = start(cw, h)
    status, r = save(cw, wf, h.hoh, "exit", exit_435(), v)
    assert status == 200 and r["next_step"] == "universal_data", r
    v = r["version"]
    # the exit form again: 17 needs its text, and no subsidy type
    status, r = save(cw, wf, h.hoh, "exit",
                     {"exit_date": day(-1), "destination": 17,
                      "other_destination": "With a cousin upstate"}, v)
    assert status == 200, r
    v = r["version"]
    status, r = save(cw, wf, h.hoh, "universal_data", universal(), v)
    assert status == 200
    v = r["version"]
    # Default Last: the prior value given at start
    status, r = save(cw, wf, h.hoh, "health_insurance", None, v,
                     mode="default_last")
    assert status == 200, r
    v = r["version"]
    for step, data in (("disabilities", disabilities()),
                       ("income_benefits", h.last[h.hoh]["income_benefits"])):
        status, r = save(cw, wf, h.hoh, step, data, v)
        assert status == 200, r
        v = r["version"]
    status, r = cw.post("/api/exits/%s/decisions" % wf,
                        {"client_id": h.spouse, "exit": False,
                         "expected_version": v})
    assert status == 200 and r["decision"] == "staying", r
    v = r["version"]
    status, r = cw.post("/api/exits/%s/decisions" % wf,
                        {"client_id": h.child, "exit": True,
                         "expected_version": v})
    assert status == 200 and r["decision"] == "exiting"
    v = r["version"]
    for step in ("exit", "universal_data", "health_insurance",
                 "disabilities"):
        status, r = save(cw, wf, h.child, step,
                         exit_435() if step == "exit" else None, v,
                         mode="entered" if step == "exit" else "default_last")
        assert status == 200, (step, r)
        v = r["version"]
    # the head exits and the spouse stays: a new head is required
    status, r = cw.post("/api/exits/%s/finish" % wf, {"expected_version": v})
    assert status == 422 and r["error"]["field"] == "new_head_of_household"
    status, r = cw.post("/api/exits/%s/finish" % wf,
                        {"new_head_of_household": h.spouse,
                         "expected_version": v})
    assert status == 200 and r["state"] == "finished", r

    status, got = cw.get("/api/exits/" + wf)
    assert status == 200 and got["state"] == "finished"
    assert got["new_head_of_household"] == h.spouse
    assert "dq" in got
    hoh = next(m for m in got["members"] if m["client_id"] == h.hoh)
    steps = {s["name"]: s for s in hoh["steps"]}
    assert all(s["status"] == "done" for s in steps.values())
    assert steps["health_insurance"]["mode"] == "default_last"
    assert steps["exit"]["data"]["destination"] == 17
    assert steps["exit"]["data"]["other_destination"] == "With a cousin upstate"
    assert all(s["actor"] == "cw1" for s in steps.values())
    # the daemon's own record: every change made as cw1, the view agrees
    assert admin(stack).get(wf) == got
    status, hist = cw.get("/api/exits/%s/history" % wf)
    assert status == 200
    actors = {e["actor"] for e in hist["events"] if e["type"] != "dq.reported"}
    assert actors == {"cw1"}
    status, later = cw.get("/api/exits/%s/history?after=%d"
                           % (wf, hist["events"][-2]["seq"]))
    assert later["events"] == hist["events"][-1:]
    # the list: finished, and the DQ worker's findings come to the view
    status, mine = cw.get("/api/exits?scope=mine&state=finished")
    assert wf in [e["workflow_id"] for e in mine["exits"]]


def test_the_daemons_refusals_come_through_with_their_field_paths(stack):
    cw = stack.session("cw1")
    h, wf, v = start(cw)
    status, r = save(cw, wf, h.hoh, "exit",
                     exit_435(destination_subsidy_type=None), v)
    assert status == 422, r
    assert r["error"]["code"] == "VALIDATION"
    assert r["error"]["field"] == \
        "members[client_id=%s].steps.exit.destination_subsidy_type" % h.hoh
    status, r = save(cw, wf, h.hoh, "exit",
                     {"exit_date": day(-1), "destination": 17}, v)
    assert status == 422
    assert r["error"]["field"].endswith(".steps.exit.other_destination")
    status, r = save(cw, wf, h.hoh, "disabilities", disabilities(), v)
    assert status == 409 and r["error"]["code"] == "INVALID_STATE"
    status, r = save(cw, wf, "C-nobody", "exit", exit_435(), v)
    assert status == 404 and r["error"]["field"] == "client_id"
    bad = Household()
    bad.members[1]["relationship"] = 7
    status, r = cw.post("/api/exits", bad.args)
    assert status == 422
    assert r["error"]["field"] == \
        "members[client_id=%s].relationship" % bad.spouse
    # one open exit per household: the open one is named
    status, r = cw.post("/api/exits", h.args)
    assert status == 409 and r["error"]["workflow_id"] == wf
    # a change without expected_version is never sent
    status, r = cw.post("/api/exits/%s/steps" % wf,
                        {"client_id": h.hoh, "step": "exit",
                         "mode": "entered", "data": exit_435()})
    assert status == 400 and r["error"]["field"] == "expected_version"
    assert view(stack, wf)["version"] == v
    assert cw.get("/api/exits/01ARZ3NDEKTSV4RRFFQ69G5FAV")[0] == 404


def test_a_conflict_says_who_changed_what_and_overwrites_nothing(stack):
    cw1, cw2 = stack.session("cw1"), stack.session("cw2")
    h, wf, v = start(cw1)
    status, r = save(cw2, wf, h.hoh, "exit", exit_435(exit_reason="cw2's"), v)
    assert status == 200
    status, r = cw2.post("/api/exits/%s/decisions" % wf,
                         {"client_id": h.spouse, "exit": True,
                          "expected_version": r["version"]})
    assert status == 200
    now = r["version"]
    # cw1 still shows version v
    status, r = save(cw1, wf, h.hoh, "exit", exit_435(exit_reason="cw1's"), v)
    assert status == 409, r
    assert r["error"]["code"] == "CONFLICT"
    assert r["current_version"] == now
    changes = r["changes"]
    assert [(c["actor"], c["type"], c["client_id"], c["step"])
            for c in changes] == [
        ("cw2", "step.completed", h.hoh, "exit"),
        ("cw2", "member.decided", h.spouse, None)]
    assert all(c["seq"] and c["ts"] for c in changes)
    got = view(stack, wf)
    assert got["version"] == now
    exit_step = next(s for s in got["members"][0]["steps"]
                     if s["name"] == "exit")
    assert exit_step["data"]["exit_reason"] == "cw2's"
    for path, body in (("decisions", {"client_id": h.spouse, "exit": False}),
                       ("finish", {}), ("cancel", {"reason": "dup"})):
        body["expected_version"] = v
        status, r = cw1.post("/api/exits/%s/%s" % (wf, path), body)
        assert status == 409 and r["current_version"] == now, (path, r)
        assert len(r["changes"]) == 2
    assert view(stack, wf)["version"] == now


# -- ops ----------------------------------------------------------------------

def test_an_ops_session_reads_and_changes_nothing(stack):
    cw, ops = stack.session("cw1"), stack.session("ops1")
    assert ops.get("/api/me")[1]["role"] == "ops"
    h, wf, v = start(cw)
    before = history_len(stack, wf)
    status, got = ops.get("/api/exits/" + wf)
    assert status == 200 and got["version"] == v
    assert ops.get("/api/exits/%s/history" % wf)[0] == 200
    assert ops.get("/api/codes")[0] == 200
    for path, body in (
            ("/api/exits/%s/steps" % wf, {"client_id": h.hoh, "step": "exit",
                                          "mode": "entered",
                                          "data": exit_435(),
                                          "expected_version": v}),
            ("/api/exits/%s/decisions" % wf, {"client_id": h.spouse,
                                              "exit": True,
                                              "expected_version": v}),
            ("/api/exits/%s/finish" % wf, {"expected_version": v}),
            ("/api/exits/%s/cancel" % wf, {"reason": "x",
                                           "expected_version": v}),
            ("/api/exits", Household().args)):
        status, r = ops.post(path, body)
        assert status == 403 and r["error"]["code"] == "READ_ONLY", (path, r)
    assert view(stack, wf)["version"] == v
    assert history_len(stack, wf) == before
    # and were the gateway's check bypassed, the daemon refuses the ops
    # certificate's change itself (the certificate the gateway holds)
    ops_cert = stack.daemon.client(role="ops")
    with pytest.raises(exitflow.ExitflowError) as e:
        ops_cert.save(wf, h.hoh, "exit", data=exit_435(), expected_version=v)
    assert e.value.code == "FORBIDDEN"
    assert view(stack, wf)["version"] == v


def test_the_board_shows_idle_exits_consumers_and_health(stack):
    cw, ops = stack.session("cw1"), stack.session("ops1")
    project = "P-board-" + uuid.uuid4().hex[:6]
    wfs = [start(cw, Household(project_id=project))[1] for _ in range(3)]
    status, board = ops.get("/api/board?project_id=" + project)
    assert status == 200, board
    assert [e["workflow_id"] for e in board["exits"]] == wfs   # oldest idle first
    assert all(e["idle_s"] >= 0 and e["progress"]["total"] > 0
               for e in board["exits"])
    assert "dq" in [c["consumer"] for c in board["consumers"]]
    health = board["health"]
    assert health["ok"] is True and health["workflows"]["open"] >= 3
    assert health["last_seq"] >= 3 and "store" in health
    assert ops.get("/api/board?project_id=%s&stalled=1" % project)[1][
        "exits"] == []
    assert ops.get("/api/board?project_id=%s&idle_days=3" % project)[1][
        "exits"] == []
    assert ops.get("/api/board?idle_days=soon")[0] == 400
    # a caseworker reads it too
    assert cw.get("/api/board?project_id=" + project)[0] == 200
    # the caseworker's lists: newest activity first
    status, mine = cw.get("/api/exits?scope=project&project_id=" + project)
    assert [e["workflow_id"] for e in mine["exits"]] == wfs[::-1]
    assert cw.get("/api/exits?scope=everything")[0] == 400


# -- live -------------------------------------------------------------------

def test_a_change_by_one_session_arrives_on_anothers_live_stream(stack):
    cw1, cw2 = stack.session("cw1"), stack.session("cw2")
    h, wf, v = start(cw1)
    live = cw2.live()
    other_wf = start(cw1)[1]
    only = cw2.live("?workflow_id=" + wf)
    try:
        assert live.status == 200
        assert live.headers["content-type"].startswith("text/event-stream")
        assert live.headers["cache-control"] == "no-store"
        status, r = save(cw1, wf, h.hoh, "exit", exit_435(), v)
        assert status == 200
        msg = live.wait_for(lambda d: d["workflow_id"] == wf
                            and d["type"] == "step.completed")
        d = msg["data"]
        assert set(d) == {"seq", "type", "workflow_id", "client_id", "actor",
                          "ts"}
        assert d["client_id"] == h.hoh and d["actor"] == "cw1"
        assert msg["id"] == str(d["seq"])
        # the filtered stream: nothing of the other workflow
        first = only.next_event()
        assert first["data"]["workflow_id"] == wf, first
        assert first["data"]["seq"] == d["seq"]
        seen = d["seq"]
    finally:
        live.close()
        only.close()
    # a reconnect resumes after its Last-Event-ID
    status, r = cw1.post("/api/exits/%s/decisions" % wf,
                         {"client_id": h.spouse, "exit": True,
                          "expected_version": r["version"]})
    assert status == 200
    again = cw2.live(last_event_id=seen)
    try:
        msg = again.next_event()
        assert msg["data"]["seq"] == seen + 1
        assert msg["data"]["type"] == "member.decided"
    finally:
        again.close()
    # an id the gateway does not hold: reload
    gone = cw2.live(last_event_id=10 ** 12)
    try:
        assert gone.next_event()["event"] == "reload"
    finally:
        gone.close()
    assert stack.web.session().live().status == 401
    assert other_wf


def test_a_live_stream_ends_with_its_session(stack):
    """Signing out ends the session's streams at once: nothing that
    happens afterwards reaches them."""
    cw = stack.session("cw2")
    live = cw.live()
    try:
        assert live.next_message()["comment"]     # the stream's first line
        assert cw.post("/api/logout")[0] == 204
        start(stack.session("cw1"))               # an event it may not get
        with pytest.raises(EOFError):
            while True:
                msg = live.next_message(timeout=20)
                assert "event" not in msg, msg
    finally:
        live.close()


# -- free text, the log -------------------------------------------------------

def test_markup_in_a_text_field_comes_back_as_json_data(stack):
    cw = stack.session("cw1")
    h, wf, v = start(cw)
    status, r = save(cw, wf, h.hoh, "exit", exit_435(exit_reason=SCRIPT), v)
    assert status == 200, r
    status, got = cw.get("/api/exits/" + wf)
    assert cw.last.headers["Content-Type"] == "application/json"
    assert cw.last.headers["X-Content-Type-Options"] == "nosniff"
    step = got["members"][0]["steps"][0]
    assert step["name"] == "exit" and step["data"]["exit_reason"] == SCRIPT


def test_the_log_names_routes_users_and_codes_never_client_data(stack):
    cw = stack.session("cw1")
    h = Household(ages="both", project_id="P-log")
    h, wf, v = start(cw, h)
    status, r = save(cw, wf, h.hoh, "exit",
                     exit_435(exit_reason="Private reason " + h.hoh), v)
    assert status == 200
    save(cw, wf, h.hoh, "exit", exit_435(destination_subsidy_type=None),
         r["version"])
    cw.get("/api/exits?scope=project&project_id=P-log")
    cw.post("/api/exits", h.args)                   # CONFLICT, names wf
    log = stack.web.log()
    assert "POST /api/exits/{id}/steps 422 user=cw1 code=VALIDATION" in log
    assert "GET /api/exits/{id} " in log or "POST /api/exits 201" in log
    secrets = [h.household_id, "Private reason"] + \
        [m["client_id"] for m in h.members] + \
        [m["enrollment_id"] for m in h.members] + \
        [m["birth_date"] for m in h.members] + \
        [pw for pw, _ in stack.users.values()]
    for s in secrets:
        assert s not in log, s


# -- pages -------------------------------------------------------------------

@pytest.fixture
def pages(tmp_path, stack):
    """A second gateway on the stack's daemon serving a directory made
    here, beside a secret it must never serve."""
    root = tmp_path / "www"
    (root / "static" / "sub").mkdir(parents=True)
    (root / "secret.txt").write_text("outside\n")
    static = root / "static"
    (static / "index.html").write_text("<!doctype html><title>t</title>\n")
    (static / "app.js").write_text("export const x = 1;\n")
    (static / "style.css").write_text("body { margin: 0 }\n")
    (static / "sub" / "data.json").write_text("{}\n")
    (static / ".hidden.txt").write_text("hidden\n")
    (static / "notes.exe").write_text("binary?\n")
    os.symlink(root / "secret.txt", static / "link.txt")
    web = Web(tmp_path / "gw", stack.daemon, stack.users_file, static)
    web.start()
    yield web
    web.stop()


def raw_get(web, path):
    c = web.connection()
    try:
        c.request("GET", path)      # http.client sends the path as it is
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def test_pages_have_their_types_and_security_headers(pages):
    for path, ctype in (("/", "text/html; charset=utf-8"),
                        ("/index.html", "text/html; charset=utf-8"),
                        ("/static/app.js", "text/javascript; charset=utf-8"),
                        ("/static/style.css", "text/css; charset=utf-8"),
                        ("/static/sub/data.json", "application/json")):
        status, headers, body = raw_get(pages, path)
        assert status == 200, path
        assert headers["Content-Type"] == ctype
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "Cache-Control" not in headers
    status, headers, _ = raw_get(pages, "/api/me")
    assert status == 401 and headers["Cache-Control"] == "no-store"
    assert headers["Content-Security-Policy"]


def test_no_path_leaves_the_pages_directory(pages):
    for path in ("/static/../secret.txt", "/static/sub/../../secret.txt",
                 "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
                 "/static//etc/passwd", "/static/.hidden.txt",
                 "/static/link.txt", "/static/notes.exe", "/static/",
                 "/static/sub", "/secret.txt", "/../secret.txt",
                 "/static/missing.js", "/static/sub/data.json/"):
        status, _, body = raw_get(pages, path)
        assert status == 404, path
        assert b"outside" not in body and b"hidden" not in body
    assert "secret" not in pages.log()


# -- passwd ------------------------------------------------------------------

def test_passwd_writes_a_yescrypt_line_and_signing_in_works(stack):
    name = "cw-new-" + uuid.uuid4().hex[:4]
    r = passwd(stack.users_file, name, "caseworker", "first-password-1")
    assert r.returncode == 0, r.stderr
    lines = stack.users_file.read_text().splitlines()
    line = next(x for x in lines if x.startswith(name + ":"))
    assert re.match(r"^%s:caseworker:\$y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]+"
                    r"\$[./0-9A-Za-z]{43}$" % re.escape(name), line), line
    assert "first-password-1" not in stack.users_file.read_text()
    assert stat.S_IMODE(os.stat(stack.users_file).st_mode) == 0o600
    s = stack.web.session()
    assert s.login(name, "first-password-1")[0] == 200   # no restart needed
    # a new password (and role) replaces the line
    r = passwd(stack.users_file, name, "ops", "second-password-2")
    assert r.returncode == 0
    assert sum(x.startswith(name + ":") for x in
               stack.users_file.read_text().splitlines()) == 1
    assert s.login(name, "first-password-1")[0] == 401
    status, body = s.login(name, "second-password-2")
    assert status == 200 and body["role"] == "ops"
    assert stack.session("cw1").get("/api/me")[0] == 200  # others kept


def test_passwd_runs_at_once_lose_no_account(tmp_path):
    """Each run reads the file, changes a line and renames a new file over
    it: without a lock, runs at once lose each other's lines (or share the
    temporary file)."""
    from support.web import web_binary
    users = tmp_path / "users"
    names = ["cw-%02d" % i for i in range(12)]
    runs = [subprocess.Popen([web_binary(), "passwd", n, "--role",
                              "caseworker", "--users", str(users)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for n in names]
    for r in runs:
        r.stdin.write("long-enough-password\n")
        r.stdin.close()
    for r in runs:
        assert r.wait(60) == 0, r.stderr.read()
    written = sorted(x.split(":")[0] for x in users.read_text().splitlines())
    assert written == names
    assert not list(tmp_path.glob("users.*"))     # no temporary file left


@pytest.mark.parametrize("args,password", [
    (["x", "--role", "admin"], "long-enough-1"),
    (["bad name", "--role", "ops"], "long-enough-1"),
    (["short", "--role", "ops"], "short"),
    (["x"], "long-enough-1"),
])
def test_passwd_refuses_mistakes(tmp_path, args, password):
    from support.web import web_binary
    users = tmp_path / "users"
    r = subprocess.run([web_binary(), "passwd"] + args + ["--users",
                                                          str(users)],
                       input=password + "\n", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, r
    assert not users.exists()


# -- set-up, TLS ---------------------------------------------------------------

@pytest.mark.parametrize("change,says", [
    ({"users": "/nonexistent/users"}, "/nonexistent/users"),
    ({"static": "/nonexistent/static"}, "--static"),
    ({"listen": "localhost:8080"}, "--listen"),
    ({"listen": "127.0.0.1:99999"}, "--listen"),
    ({"tls-cert": "/nonexistent.pem"}, "--tls-cert and --tls-key"),
    ({"ops-cert": "/nonexistent_secret"}, "ops"),
])
def test_set_up_mistakes_stop_it_with_status_2(stack, tmp_path, change, says):
    web = Web(tmp_path, stack.daemon, stack.users_file, stack.web.static_dir)
    argv = web.argv()
    for flag, value in change.items():
        if "--" + flag in argv:
            argv[argv.index("--" + flag) + 1] = value
        else:
            argv += ["--" + flag, value]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert says in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


@pytest.fixture
def tls_files(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", str(key), "-out", str(cert),
                        "-days", "2", "-subj", "/CN=127.0.0.1"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        pytest.fail("openssl cannot make a certificate: " + r.stderr)
    return cert, key


def legacy_tls_handshake(port):
    """The error of a TLS 1.0/1.1 handshake with the gateway (None: it
    was accepted)."""
    import ssl
    import warnings
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():         # deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            with ctx.wrap_socket(sock) as tls:
                return None if tls.version() else "no version"
        except (ssl.SSLError, OSError) as e:
            return e


def test_tls_serves_and_the_cookie_is_secure(stack, tls_files, tmp_path):
    web = Web(tmp_path / "tls", stack.daemon, stack.users_file,
              stack.web.static_dir,
              tls=tls_files)
    web.start()
    try:
        s = WebSession(web)
        status, body = s.login("cw1", stack.users["cw1"][0])
        assert status == 200, body
        _, attrs = cookie_attrs(s)
        assert "Secure" in attrs and "HttpOnly" in attrs
        assert s.last.headers["Strict-Transport-Security"] == "max-age=31536000"
        # TLS 1.2 and 1.3 only: an older client is refused at the handshake
        assert legacy_tls_handshake(web.port) is not None
        h, wf, v = start(s)
        assert s.get("/api/exits/" + wf)[1]["version"] == v
        live = s.live()
        try:
            assert live.status == 200
        finally:
            live.close()
        # plain HTTP on the TLS port is not served
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=5)
        with pytest.raises((http.client.HTTPException, OSError)):
            c.request("GET", "/api/me")
            c.getresponse().read()
        c.close()
    finally:
        web.stop()                                  # SIGTERM: exits 0
    assert "serving https://" in web.log()
    assert REPO
