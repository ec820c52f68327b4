"""Security over the wire (issue 8): CURVE with real certificates made by
`exitflow keygen`, on real sockets.

An unknown or missing key gets no reply and no events; a certificate
deleted from --certs stops being served, also on an open connection; the
role of each certificate is checked for every command of the table (the
full matrix: allowed ones succeed, the rest get FORBIDDEN and change
nothing); workers and ops act only as themselves; every event names its
principal beside its actor; local mode binds loopback only.  The Python
client's rule for finding its keys is tested here too, against a daemon.
"""

import atexit
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
import zmq

from exitflow import (Client, Command, ErrorCode, ExitflowError, Subscriber,
                      Unreachable, curve_keys, encode_request, unpack)
from support import (Daemon, Household, complete_member, daemon_binary,
                     error_of, exit_form, free_port, read_all_events,
                     universal, wait_for)
from support.keys import ROLES, KeyRing

# Who may call what (PROTOCOL.md's roles table); admin may call everything.
ALLOWED = {
    Command.PING: set(ROLES),
    Command.STATS: {"ops"},
    Command.WORKFLOW_START: {"frontend"},
    Command.WORKFLOW_GET: {"frontend", "worker", "ops"},
    Command.STEP_SAVE: {"frontend"},
    Command.MEMBER_DECIDE: {"frontend"},
    Command.WORKFLOW_FINISH: {"frontend"},
    Command.WORKFLOW_CANCEL: {"frontend"},
    Command.WORKFLOW_LIST: {"frontend", "worker", "ops"},
    Command.WORKFLOW_HISTORY: {"frontend", "worker", "ops"},
    Command.EVENTS_READ: {"worker", "ops"},
    Command.CONSUMER_ACK: {"worker"},
    Command.CONSUMER_LIST: {"worker", "ops"},
    Command.DQ_REPORT: {"worker"},
    Command.HUD_CODES: set(ROLES),
    # ops only for a consumer idle past --consumer-retire-after (7 days
    # here, so never in this matrix): test_consumer_delete.py has that rule
    Command.CONSUMER_DELETE: set(),
    Command.STORE_BACKUP: set(),        # admin only
    Command.WORKFLOW_EXPORT: {"ops"},   # reporting: client data in bulk
}
ALL_COMMANDS = sorted(v for k, v in vars(Command).items() if k.isupper())
WRITES = {Command.WORKFLOW_START, Command.STEP_SAVE, Command.MEMBER_DECIDE,
          Command.WORKFLOW_FINISH, Command.WORKFLOW_CANCEL,
          Command.DQ_REPORT}             # and consumer.ack, which makes no event


def allowed(role, cmd):
    return role == "admin" or role in ALLOWED[cmd]


def answered(sock, timeout):
    """Sends a ping on ``sock``; True when its reply comes in ``timeout`` s
    (replies to earlier pings are skipped)."""
    rid, body = encode_request(Command.PING)
    sock.send_multipart([b"", body])
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(max(1, int(left * 1000))):
            return False
        if unpack(sock.recv_multipart()[-1]).get("id") == rid:
            return True


def impatient(endpoint, **keys):
    """A Client that gives up after half a second."""
    return Client(endpoint, timeout=0.5, retries=0, **keys)


def assert_not_served(endpoint, **keys):
    """A client with ``keys`` gets no reply."""
    c = impatient(endpoint, **keys)
    try:
        with pytest.raises(Unreachable):
            c.ping()
    finally:
        c.close()


def served(client):
    """True when ``client`` is answered (for wait_for)."""
    try:
        return client.ping()["pong"]
    except Unreachable:
        return False


def raw_socket(kind, endpoint, keys=None):
    """A zmq socket with no keys or ``keys`` (a CurveKeys), connected; a SUB
    subscribes to everything."""
    sock = zmq.Context.instance().socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    if keys:
        keys.apply(sock)
    sock.connect(endpoint)
    return sock


def stranger_keys(daemon, tmp_path, name="stranger", role="admin"):
    """Client keys of a certificate made but not installed in --certs."""
    ring = KeyRing(tmp_path / "other-keys")
    return {"cert": str(ring.make(name, role)),
            "server_key": str(daemon.keys.server_key())}


# -- who is served at all ------------------------------------------------------

def test_no_certificate_gets_no_reply(daemon):
    assert_not_served(daemon.commands, cert=False, server_key=False)
    bare = raw_socket(zmq.DEALER, daemon.commands)
    try:
        assert not answered(bare, 1.0)
    finally:
        bare.close()
    # the daemon keeps serving the others
    assert daemon.running()
    assert daemon.client().ping()["pong"] is True


def test_unknown_key_and_wrong_server_key_get_no_reply(daemon, tmp_path):
    assert_not_served(daemon.commands, **stranger_keys(daemon, tmp_path))
    # a known client that takes someone else for the server
    other = KeyRing(tmp_path / "fake-server")
    assert_not_served(daemon.commands, cert=str(daemon.keys.secret("admin")),
                      server_key=str(other.make("server", "admin")))
    assert daemon.client().ping()["pong"] is True


def test_certificate_without_a_known_role_is_not_served(daemon, tmp_path):
    """The key is in --certs, but its role is none of the table's: the
    daemon refuses it rather than guess."""
    keys = stranger_keys(daemon, tmp_path, name="rooted")
    public = (tmp_path / "other-keys" / "rooted").read_text()
    assert 'role = "admin"' in public
    (daemon.certs_dir / "rooted").write_text(
        public.replace('role = "admin"', 'role = "root"'))
    assert_not_served(daemon.commands, **keys)
    assert daemon.client().ping()["pong"] is True


def test_revoked_certificate_stops_being_served(daemon):
    """Deleting a certificate from --certs revokes it within about a second,
    on a connection already open too; putting it back serves it again,
    without a restart."""
    ops = daemon.socket(zmq.DEALER, role="ops")
    admin = daemon.client()
    try:
        assert answered(ops, 5.0)
        (daemon.certs_dir / "ops").unlink()
        t0 = time.monotonic()
        wait_for(lambda: not answered(ops, 0.3), timeout=5,
                 what="the open connection to stop being served")
        revoked_after = time.monotonic() - t0
        assert revoked_after < 2.5, revoked_after
        # and it stays so, on the open connection and on a new one
        assert not answered(ops, 1.0)
        assert_not_served(daemon.commands, **daemon.client_keys("ops"))
        assert admin.ping()["pong"] is True
        shutil.copyfile(daemon.keys.public("ops"), daemon.certs_dir / "ops")
        back = daemon.client(timeout=0.5, retries=0, role="ops")
        wait_for(lambda: served(back), timeout=5,
                 what="the certificate put back")
    finally:
        ops.close()


def test_a_revoked_subscriber_is_cut_off(daemon):
    """A subscriber connected before its certificate is deleted stops
    receiving: the daemon binds its event socket again, every subscriber
    hand-shakes anew, and zauth refuses the revoked key.  Another
    subscriber reconnects by itself and hears what follows."""
    admin = daemon.client()
    ops_sub = daemon.socket(zmq.SUB, role="ops", connect=False)
    admin_sub = daemon.socket(zmq.SUB, role="admin", connect=False)
    for s in (ops_sub, admin_sub):
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(daemon.events)
    try:
        def both_hear():
            Household().start(admin)
            return (ops_sub.poll(300) and admin_sub.poll(300)
                    and ops_sub.recv_multipart() and admin_sub.recv_multipart())
        wait_for(both_hear, timeout=10, what="both subscribers to hear")
        (daemon.certs_dir / "ops").unlink()
        wait_for(lambda: "subscribers reconnect" in daemon.log(), timeout=5,
                 what="the event socket to be bound again")
        drain = time.monotonic() + 1.0
        while time.monotonic() < drain:         # what was queued before
            for s in (ops_sub, admin_sub):
                if s.poll(50):
                    s.recv_multipart()

        def admin_hears():
            Household().start(admin)
            return admin_sub.poll(300) and admin_sub.recv_multipart()
        wait_for(admin_hears, timeout=10, what="the admin subscriber back")
        for _ in range(5):
            Household().start(admin)
        assert not ops_sub.poll(1500), "the revoked subscriber still hears"
    finally:
        ops_sub.close()
        admin_sub.close()


def test_a_certificate_added_is_served_without_a_restart(daemon, tmp_path):
    keys = stranger_keys(daemon, tmp_path, name="newcomer", role="ops")
    c = impatient(daemon.commands, **keys)
    try:
        assert not served(c)
        shutil.copyfile(tmp_path / "other-keys" / "newcomer",
                        daemon.certs_dir / "newcomer")
        wait_for(lambda: served(c), timeout=5, what="the new certificate")
        assert c.stats()["last_seq"] >= 0          # ops may read stats
        e = error_of(c.start, **Household().args)
        assert e.code == ErrorCode.FORBIDDEN       # but not start
    finally:
        c.close()


# -- the role x command matrix ---------------------------------------------------

def test_the_matrix_covers_every_command():
    assert set(ALLOWED) == set(ALL_COMMANDS)


def prepare(admin, cmd):
    """``(args, workflow_id)`` of one valid ``cmd`` on fresh state, made by
    admin; workflow_id is None when the command names none."""
    if cmd in (Command.PING, Command.STATS, Command.CONSUMER_LIST,
               Command.HUD_CODES, Command.WORKFLOW_EXPORT):
        return None, None
    if cmd == Command.WORKFLOW_START:
        return Household().args, None
    if cmd == Command.WORKFLOW_LIST:
        return {"state": "open"}, None
    if cmd == Command.EVENTS_READ:
        return {"after": 0, "limit": 5}, None
    if cmd == Command.STORE_BACKUP:
        return {"dir": backup_dir()}, None
    if cmd == Command.CONSUMER_ACK:
        return {"consumer": "matrix-" + uuid.uuid4().hex[:8],
                "seq": admin.stats()["last_seq"]}, None
    if cmd == Command.CONSUMER_DELETE:
        name = "matrix-" + uuid.uuid4().hex[:8]
        admin.consumer_ack(name, admin.stats()["last_seq"])
        return {"consumer": name}, None
    h = Household()
    wf = h.start(admin)
    args = {"workflow_id": wf}
    if cmd == Command.STEP_SAVE:
        args.update(client_id=h.hoh, step="exit", mode="entered",
                    data=exit_form())
    elif cmd == Command.MEMBER_DECIDE:
        args.update(client_id=h.spouse, exit=False)
    elif cmd == Command.WORKFLOW_CANCEL:
        args.update(reason="matrix")
    elif cmd == Command.DQ_REPORT:
        args.update(source="matrix", findings=[
            {"rule": "r1", "severity": "warning", "message": "m"}])
    elif cmd == Command.WORKFLOW_FINISH:
        complete_member(admin, wf, h.hoh)
        admin.decide(wf, h.spouse, False)
        admin.decide(wf, h.child, False)
        args.update(new_head_of_household=h.spouse)
    return args, wf


BACKUPS = tempfile.mkdtemp(prefix="exitflow-matrix-")
atexit.register(shutil.rmtree, BACKUPS, True)


def backup_dir():
    """A directory store.backup may make, new each time."""
    return "%s/%s" % (BACKUPS, uuid.uuid4().hex[:8])


def snapshot(admin, wf):
    """What a refused command must leave as it was: the log's end, the
    counts, the consumers' offsets and the workflow named."""
    s = admin.stats()
    return (s["last_seq"], s["workflows"], admin.consumer_list(),
            admin.get(wf) if wf else None)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cmd", ALL_COMMANDS)
def test_role_matrix(module_daemon, cmd, role):
    admin = module_daemon.client()
    caller = module_daemon.client(role=role)
    args, wf = prepare(admin, cmd)
    before = snapshot(admin, wf)
    rid, body = encode_request(cmd, args)
    reply = unpack(caller.request_raw(body, expect_id=rid))
    if allowed(role, cmd):
        assert reply["ok"] is True, reply
        if cmd in WRITES:
            events = admin.events_read(before[0])["events"]
            assert events and all(e["principal"] == role for e in events)
        return
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == ErrorCode.FORBIDDEN, reply
    assert role in reply["error"]["message"], reply
    assert snapshot(admin, wf) == before
    assert admin.events_read(before[0])["events"] == []
    # the refusal was not kept for idempotency: the very same request (same
    # id, same bytes) from admin is run, and so was valid all along
    again = unpack(admin.request_raw(body, expect_id=rid))
    assert again["ok"] is True, again


# -- who acts: actor and principal ---------------------------------------------

def test_worker_and_ops_act_only_as_themselves(daemon):
    admin = daemon.client()
    h = Household()
    wf = h.start(admin)
    findings = [{"rule": "r1", "severity": "warning", "message": "m"}]
    worker, ops = daemon.client(role="worker"), daemon.client(role="ops")
    before = snapshot(admin, wf)
    e = error_of(worker.dq_report, wf, "dq", findings, actor="cw-17")
    assert e.code == ErrorCode.FORBIDDEN and e.field == "actor"
    e = error_of(ops.get, wf, actor="cw-17")
    assert e.code == ErrorCode.FORBIDDEN and e.field == "actor"
    e = error_of(ops.stats, actor="worker")
    assert e.code == ErrorCode.FORBIDDEN and e.field == "actor"
    assert snapshot(admin, wf) == before
    # their own names are fine
    worker.dq_report(wf, "dq", findings, actor="worker")
    assert ops.get(wf, actor="ops")["workflow_id"] == wf
    last = read_all_events(admin)[-1]
    assert (last["type"], last["actor"], last["principal"]) == \
        ("dq.reported", "worker", "worker")


def test_events_and_history_name_the_principal_beside_the_actor(
        make_daemon):
    d = make_daemon(stall_after=1)
    admin, frontend = d.client(), d.client(role="frontend")
    worker = d.client(role="worker")
    h = Household()
    wf = h.start(frontend, actor="cw-9")               # a trusted front end
    frontend.save(wf, h.hoh, "exit", data=exit_form(), actor="cw-10")
    admin.save(wf, h.hoh, "universal_data", data=universal())
    worker.dq_report(wf, "dq", [{"rule": "r1", "severity": "error",
                                 "message": "m"}])
    wait_for(lambda: any(e["type"] == "workflow.stalled"
                         for e in read_all_events(admin)),
             what="the stall event")
    who = [(e["type"], e.get("actor"), e["principal"])
           for e in read_all_events(admin)]
    assert who == [
        ("workflow.started", "cw-9", "frontend"),
        ("step.completed", "cw-10", "frontend"),
        ("step.completed", None, "admin"),
        ("dq.reported", None, "worker"),
        ("workflow.stalled", None, "exitflowd"),      # the daemon's own
    ]
    history = admin.history(wf)["events"]
    assert [(e["type"], e.get("actor"), e["principal"]) for e in history] \
        == who


def test_keyless_subscriber_hears_nothing_keyed_hears_everything(
        daemon, tmp_path):
    keyed = daemon.socket(zmq.SUB, role="ops",
                          options={zmq.SUBSCRIBE: b""})
    bare = raw_socket(zmq.SUB, daemon.events)
    unknown = raw_socket(zmq.SUB, daemon.events,
                         curve_keys(**stranger_keys(daemon, tmp_path)))
    try:
        time.sleep(0.7)                 # the subscriptions reach the PUB
        c = daemon.client()
        for _ in range(3):
            h = Household()
            wf = h.start(c, actor="cw-1")
            c.save(wf, h.hoh, "exit", data=exit_form())
            c.cancel(wf, "test")
        events = read_all_events(c)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < len(events) and time.monotonic() < deadline:
            if keyed.poll(100):
                got.append(unpack(keyed.recv_multipart()[-1]))
        assert got == events
        assert all(e["principal"] == "admin" for e in got)
        assert not bare.poll(1000) and not unknown.poll(0)
    finally:
        for s in (keyed, bare, unknown):
            s.close()


# -- set-ups the daemon refuses or warns about ----------------------------------

def run_daemon(tmp_path, *args):
    return subprocess.run([daemon_binary(), "--data", str(tmp_path / "d")]
                          + list(args), capture_output=True, text=True,
                          timeout=15)


def loopback():
    return "tcp://127.0.0.1:%d" % free_port()


def test_local_mode_refuses_a_non_loopback_bind(tmp_path):
    wild = "tcp://0.0.0.0:%d" % free_port()
    for commands, events in ((wild, loopback()), (loopback(), wild)):
        r = run_daemon(tmp_path, "--commands", commands, "--events", events)
        assert r.returncode == 2, r.stderr
        assert wild in r.stderr and "--certs" in r.stderr, r.stderr
    assert not (tmp_path / "d" / "data.mdb").exists()


def test_half_a_key_set_up_is_a_usage_error(tmp_path, daemon):
    # (czmq reads NAME_secret beside NAME, so the public half alone)
    public_only = tmp_path / "server"
    shutil.copyfile(daemon.keys.server_key(), public_only)
    for args in (["--certs", str(daemon.certs_dir)],
                 ["--server-cert", str(daemon.keys.server_cert())],
                 ["--certs", str(tmp_path / "none"),
                  "--server-cert", str(daemon.keys.server_cert())],
                 ["--certs", str(daemon.certs_dir),
                  "--server-cert", str(public_only)]):
        r = run_daemon(tmp_path, "--commands", loopback(), "--events",
                       loopback(), *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr, args


def test_with_keys_any_address_may_be_bound(tmp_path):
    port = free_port()
    d = Daemon(tmp_path / "wild")
    d.extra_args = ["--commands", "tcp://0.0.0.0:%d" % port]
    d.commands = "tcp://127.0.0.1:%d" % port
    d.start()
    try:
        assert d.client().ping()["pong"] is True
    finally:
        d.stop()


def test_keys_from_the_config_file(tmp_path):
    d = Daemon(tmp_path / "run")
    cfg = tmp_path / "exitflow.cfg"
    cfg.write_text("exitflowd\n    server-cert = %s\n    certs = %s\n"
                   % (d.keys.server_cert(), d.certs_dir))
    d.key_args = lambda: ["--config", str(cfg)]
    d.start()
    try:
        assert d.client(role="frontend").ping()["pong"] is True
        assert_not_served(d.commands, cert=False, server_key=False)
    finally:
        d.stop()


def test_local_mode_warns_once_and_everyone_is_local(make_daemon):
    d = make_daemon(secure=False)
    c = d.client()
    h = Household()
    wf = h.start(c, actor="cw-1")
    c.cancel(wf, "test")
    events = read_all_events(c)
    assert [(e.get("actor"), e["principal"]) for e in events] == \
        [("cw-1", "local"), (None, "local")]
    assert c.stats()["last_seq"] == 2            # local is admin
    warnings = [line for line in d.log().splitlines() if "LOCAL MODE" in line]
    assert len(warnings) == 1, d.log()


# -- the Python client's keys ------------------------------------------------------

@pytest.fixture
def no_key_env(monkeypatch, tmp_path):
    """No EXITFLOW_CERT / EXITFLOW_SERVER_KEY, and a cwd without var/keys."""
    monkeypatch.delenv("EXITFLOW_CERT", raising=False)
    monkeypatch.delenv("EXITFLOW_SERVER_KEY", raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_python_client_half_a_key_pair_is_an_error(daemon, no_key_env,
                                                   monkeypatch):
    cert = str(daemon.keys.secret("admin"))
    server = str(daemon.keys.server_key())
    with pytest.raises(ValueError, match="server_key"):
        Client(daemon.commands, cert=cert)
    with pytest.raises(ValueError, match="cert"):
        Client(daemon.commands, server_key=server)
    monkeypatch.setenv("EXITFLOW_CERT", cert)
    with pytest.raises(ValueError, match="EXITFLOW_SERVER_KEY"):
        Client(daemon.commands)
    with pytest.raises(ValueError, match="go together"):
        Client(daemon.commands, cert=False, server_key=server)


def test_python_client_names_the_file_it_cannot_load(daemon, no_key_env):
    server = str(daemon.keys.server_key())
    missing = str(no_key_env / "no-such_secret")
    with pytest.raises(ValueError, match=missing):
        Client(daemon.commands, cert=missing, server_key=server)
    junk = no_key_env / "junk"
    junk.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=str(junk)):
        Client(daemon.commands, cert=str(junk), server_key=server)
    public_only = no_key_env / "pub"
    shutil.copyfile(daemon.keys.public("ops"), public_only)
    with pytest.raises(ValueError, match="secret"):
        Client(daemon.commands, cert=str(public_only), server_key=server)
    with pytest.raises(ValueError, match=missing):
        Client(daemon.commands, cert=str(daemon.keys.secret("admin")),
               server_key=missing)
    with pytest.raises(ValueError, match=str(junk)):
        Subscriber(daemon.commands, daemon.events, cert=str(junk),
                   server_key=server)


def principal_of_ping_as(client, daemon):
    """The principal the daemon sees for ``client``: it starts and cancels
    a workflow and reads the principal off the event (admin reads it)."""
    wf = Household().start(client)
    client.cancel(wf, "test")
    return daemon.client().history(wf)["events"][0]["principal"]


def test_python_client_precedence(daemon, no_key_env, monkeypatch):
    """Arguments, then the environment, then ./var/keys; a server key may
    be the public certificate or its 40-character Z85 key."""
    keys = daemon.keys
    server_z85 = daemon.client().keys.server.decode()
    assert len(server_z85) == 40
    # nothing anywhere: no CURVE, so no reply from a daemon with keys
    assert impatient(daemon.commands).keys is None
    assert_not_served(daemon.commands)
    # ./var/keys (admin) when nothing else says
    kd = no_key_env / "var" / "keys"
    kd.mkdir(parents=True)
    shutil.copyfile(keys.secret("frontend"), kd / "admin_secret")
    shutil.copyfile(keys.server_key(), kd / "server")
    assert principal_of_ping_as(Client(daemon.commands), daemon) == \
        "frontend"
    # the environment beats ./var/keys
    monkeypatch.setenv("EXITFLOW_CERT", str(keys.secret("admin")))
    monkeypatch.setenv("EXITFLOW_SERVER_KEY", server_z85)
    assert principal_of_ping_as(Client(daemon.commands), daemon) == "admin"
    # an argument beats the environment
    c = Client(daemon.commands, cert=str(keys.secret("frontend")))
    assert principal_of_ping_as(c, daemon) == "frontend"
    # explicitly none beats everything
    assert impatient(daemon.commands, cert=False, server_key=False).keys \
        is None
    assert_not_served(daemon.commands, cert=False, server_key=False)


def test_python_subscriber_uses_its_keys(daemon):
    c = daemon.client(role="frontend")
    wf = Household().start(c, actor="cw-2")
    with daemon.subscriber(role="worker") as sub:
        ev = sub.next(timeout=10)
    assert (ev["workflow_id"], ev["principal"]) == (wf, "frontend")
    # a front end may not read the log (events.read), so neither may its
    # subscriber
    with daemon.subscriber(role="frontend") as sub:
        with pytest.raises(ExitflowError) as e:
            sub.next(timeout=5)
    assert e.value.code == ErrorCode.FORBIDDEN


def test_refused_handshakes_do_not_use_up_connections(make_daemon, tmp_path):
    """A connection whose key zauth refuses, or that sends no CURVE at all,
    is counted out again when libzmq drops it: strangers cannot fill
    --max-connections and lock the certificates out."""
    d = make_daemon(extra_args=["--max-connections", "4"])
    keys = stranger_keys(d, tmp_path)
    for _ in range(12):
        assert_not_served(d.commands, **keys)
        assert_not_served(d.commands, cert=False, server_key=False)
    c = impatient(d.commands, **d.client_keys("admin"))
    try:
        assert wait_for(lambda: served(c), timeout=10,
                        what="a certificate served after the strangers")
    finally:
        c.close()
