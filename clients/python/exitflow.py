"""exitflow -- a small Python client for the EXITFLOW/1 protocol.

The wire contract is ``protocol/PROTOCOL.md``.  This module needs pyzmq and
msgpack and nothing else.

    >>> c = Client("tcp://127.0.0.1:5570")
    >>> c.ping()
    {'pong': True, 'version': 'exitflow/1'}

``Client`` talks to the command socket (ROUTER) through a DEALER socket.
Every request carries an id (uuid4 hex) that is also the daemon's idempotency
key: on a timeout the socket is closed (LINGER 0), reopened, and the very same
request -- same id, same bytes -- is sent again after a short backoff, so a
retried write is applied at most once.

``Subscriber`` follows the event socket (PUB) and yields every event of the
chosen type prefix exactly once and in ``seq`` order, filling the gaps that
PUB/SUB may leave (slow joiner, high-water mark) from ``events.read``.

Both speak CURVE when they have keys: a client certificate (``cert``: the
secret half of a czmq certificate, as ``exitflow keygen`` writes it) and the
daemon's public key (``server_key``: its public certificate file or the
40-character Z85 key).  The rule is every exitflow program's: the arguments,
else ``$EXITFLOW_CERT`` / ``$EXITFLOW_SERVER_KEY``, else the checkout's
``./var/keys/admin_secret`` and ``./var/keys/server`` when they exist, else
an installed system's ``/etc/exitflow/keys/`` ones; with
neither, no CURVE (a daemon in local mode).  ``cert=False,
server_key=False`` asks for no CURVE whatever the environment says.
"""

import collections
import os
import time
import uuid

import msgpack
import zmq
import zmq.auth
from zmq.utils import z85

__all__ = [
    "PROTOCOL_VERSION", "Command", "Event", "ErrorCode", "ExitflowError",
    "Unreachable", "Client", "Subscriber", "CurveKeys", "curve_keys",
    "encode_request", "pack", "unpack",
]

PROTOCOL_VERSION = 1


# -- the protocol's names -----------------------------------------------------
# Written once for Python, here; protocol/names.h is the C side's one table
# of each (tests/clients/test_python_names.py holds the two to each other).

class Command:
    """The command names (PROTOCOL.md section 3)."""
    PING = "ping"
    STATS = "stats"
    WORKFLOW_START = "workflow.start"
    WORKFLOW_GET = "workflow.get"
    STEP_SAVE = "step.save"
    MEMBER_DECIDE = "member.decide"
    WORKFLOW_FINISH = "workflow.finish"
    WORKFLOW_CANCEL = "workflow.cancel"
    WORKFLOW_LIST = "workflow.list"
    WORKFLOW_HISTORY = "workflow.history"
    EVENTS_READ = "events.read"
    CONSUMER_ACK = "consumer.ack"
    CONSUMER_LIST = "consumer.list"
    CONSUMER_DELETE = "consumer.delete"
    DQ_REPORT = "dq.report"
    HUD_CODES = "hud.codes"
    STORE_BACKUP = "store.backup"
    WORKFLOW_EXPORT = "workflow.export"


class Event:
    """The event types (PROTOCOL.md section 5)."""
    WORKFLOW_STARTED = "workflow.started"
    STEP_COMPLETED = "step.completed"
    MEMBER_DECIDED = "member.decided"
    MEMBER_EXITED = "member.exited"
    WORKFLOW_FINISHED = "workflow.finished"
    WORKFLOW_CANCELLED = "workflow.cancelled"
    DQ_REPORTED = "dq.reported"
    WORKFLOW_STALLED = "workflow.stalled"


class ErrorCode:
    """The codes of ``ExitflowError.code`` (PROTOCOL.md section 2.4)."""
    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_COMMAND = "UNKNOWN_COMMAND"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INVALID_STATE = "INVALID_STATE"
    VALIDATION = "VALIDATION"
    FORBIDDEN = "FORBIDDEN"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


# PROTOCOL.md 2.1: the largest request body the daemon answers.
BODY_MAX = 1024 * 1024


def check_endpoint(endpoint):
    """Raise ValueError unless ``endpoint`` is tcp://HOST:PORT (port 1 to
    65535), ipc://PATH or inproc://NAME -- the rule every exitflow program
    applies (protocol/setup.c), so a typo is not a connection elsewhere."""
    e = endpoint if isinstance(endpoint, str) else ""
    if (e.startswith("ipc://") and len(e) > 6) or \
            (e.startswith("inproc://") and len(e) > 9):
        return
    host, _, port = e[len("tcp://"):].rpartition(":")
    if not e.startswith("tcp://") or not host:
        raise ValueError("%.200r is not tcp://HOST:PORT, ipc://PATH or "
                         "inproc://NAME" % endpoint)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("%.200s: the port must be 1 to 65535" % endpoint)


def pack(obj):
    """msgpack-encode ``obj`` with strings as ``str`` and bytes as ``bin``."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    """Decode one msgpack object (strings to ``str``)."""
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def new_id():
    """A fresh request id: 32 hex characters."""
    return uuid.uuid4().hex


def encode_request(cmd, args=None, actor=None, id=None):
    """Build a request body.  Returns ``(id, body_bytes)``."""
    rid = id if id is not None else new_id()
    body = {"v": PROTOCOL_VERSION, "id": rid, "cmd": cmd}
    if args is not None:
        body["args"] = args
    if actor is not None:
        body["actor"] = actor
    return rid, pack(body)


def _args(**kv):
    """The given keyword arguments without the ones that are None."""
    return {k: v for k, v in kv.items() if v is not None}


# -- CURVE keys ---------------------------------------------------------------

ENV_CERT = "EXITFLOW_CERT"
ENV_SERVER_KEY = "EXITFLOW_SERVER_KEY"
# Where a key is looked for when none is given, in order: a checkout's
# ./var/keys (make run), then an installed system's /etc/exitflow/keys.
KEY_DIRS = (os.path.join(".", "var", "keys"), "/etc/exitflow/keys")
DEFAULT_CERT_NAME = "admin"
Z85_KEY_LEN = 40


class CurveKeys:
    """A client's CURVE keys (Z85 bytes), put on a socket before it
    connects."""

    def __init__(self, public, secret, server):
        self.public = public
        self.secret = secret
        self.server = server

    def apply(self, sock):
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret
        sock.curve_serverkey = self.server


def _given(value):
    return value is not None and value is not False and value != ""


def _load_secret_cert(path):
    """(public, secret) of the secret certificate at ``path``.  Like czmq's
    zcert_load, a public file with its ``_secret`` beside it will do."""
    path = os.fspath(path)
    try:
        public, secret = zmq.auth.load_certificate(path)
        if secret is None and os.path.exists(path + "_secret"):
            public, secret = zmq.auth.load_certificate(path + "_secret")
    except (OSError, ValueError) as e:
        raise ValueError("cannot load certificate %s: %s" % (path, e)) from e
    if secret is None:
        raise ValueError("certificate %s holds no secret key (give the "
                         "NAME_secret file)" % path)
    return public, secret


def _is_z85_key(text):
    if len(text) != Z85_KEY_LEN or os.path.exists(text):
        return False
    try:
        z85.decode(text)
    except Exception:
        return False
    return True


def _load_server_key(text):
    """The daemon's public key from a Z85 key or a certificate file."""
    if isinstance(text, bytes):
        text = text.decode()
    text = os.fspath(text)
    if _is_z85_key(text):
        return text.encode()
    try:
        return zmq.auth.load_certificate(text)[0]
    except (OSError, ValueError) as e:
        raise ValueError("server key %s is neither a 40-character Z85 key "
                         "nor a readable certificate: %s" % (text, e)) from e


def _default_file(name):
    for directory in KEY_DIRS:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    return None


def curve_keys(cert=None, server_key=None, default_cert_name=DEFAULT_CERT_NAME):
    """The CURVE keys the rule finds (see the module's text), or None for no
    CURVE.  ValueError when only one of the two is found, or when a file
    named cannot be loaded (the message names it)."""
    if cert is False or server_key is False:
        if _given(cert) or _given(server_key):
            raise ValueError("cert=False and server_key=False go together")
        return None
    if not _given(cert):
        cert = (os.environ.get(ENV_CERT)
                or _default_file(default_cert_name + "_secret"))
    if not _given(server_key):
        server_key = (os.environ.get(ENV_SERVER_KEY)
                      or _default_file("server"))
    if not _given(cert) and not _given(server_key):
        return None
    if not _given(server_key):
        raise ValueError("a client certificate (%s) needs the server's public "
                         "key too: give server_key or $%s"
                         % (cert, ENV_SERVER_KEY))
    if not _given(cert):
        raise ValueError("a server key needs a client certificate too: give "
                         "cert or $%s" % ENV_CERT)
    public, secret = _load_secret_cert(cert)
    return CurveKeys(public, secret, _load_server_key(server_key))


class ExitflowError(Exception):
    """The daemon answered ``ok: false``.

    ``code`` is the error code (``VALIDATION``, ``CONFLICT``, ...), ``field``
    the argument at fault, ``workflow_id`` / ``version`` the extra details of
    a ``CONFLICT``; ``reply`` is the whole decoded reply.
    """

    def __init__(self, reply):
        err = reply.get("error") or {}
        self.reply = reply
        self.code = err.get("code")
        self.message = err.get("message")
        self.field = err.get("field")
        self.workflow_id = err.get("workflow_id")
        self.version = err.get("version")
        text = "%s: %s" % (self.code, self.message)
        if self.field is not None:
            text += " (field %s)" % self.field
        super().__init__(text)


class Unreachable(Exception):
    """No reply within the timeout, after every retry."""


class Client:
    """A connection to exitflowd's command socket.

    ``timeout`` is the wait for one reply, in seconds; ``retries`` how many
    times a request is re-sent after a timeout before ``Unreachable`` is
    raised.  ``cert`` and ``server_key`` are the CURVE keys (the module's
    text says where they are looked for when not given).  Not thread-safe:
    use one Client per thread.
    """

    def __init__(self, endpoint, timeout=5.0, retries=3, context=None,
                 cert=None, server_key=None):
        check_endpoint(endpoint)
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self.keys = curve_keys(cert, server_key)
        self._ctx = context or zmq.Context.instance()
        self._sock = None

    # -- socket handling ---------------------------------------------------

    def _socket(self):
        if self._sock is None:
            sock = self._ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            if self.keys:
                self.keys.apply(sock)
            sock.connect(self.endpoint)
            self._sock = sock
        return self._sock

    def _reset(self):
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def close(self):
        """Close the socket (a later call opens a new one)."""
        self._reset()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- raw exchange ------------------------------------------------------

    def raw(self, frames, timeout=None):
        """Send ``frames`` exactly as given; return the reply frames, or None.

        No retry.  On a timeout the socket is replaced, so a late reply can
        never be mistaken for the answer to a later request.  Meant for tests
        that send malformed requests.
        """
        sock = self._socket()
        sock.send_multipart(frames)
        wait = self.timeout if timeout is None else timeout
        if sock.poll(int(wait * 1000)):
            return sock.recv_multipart()
        self._reset()
        return None

    def request_raw(self, body, expect_id=None):
        """Send one body frame (bytes) and return the reply body (bytes).

        The same bytes are re-sent on a timeout (see ``retries``).  With
        ``expect_id``, replies carrying another id are ignored.
        """
        delay = 0.05
        for attempt in range(1 + max(0, self.retries)):
            if attempt:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            sock = self._socket()
            sock.send_multipart([b"", body])
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sock.poll(max(1, int(left * 1000))):
                    break
                reply = sock.recv_multipart()[-1]
                if expect_id is None:
                    return reply
                try:
                    rid = unpack(reply).get("id")
                except Exception:
                    return reply
                if rid == expect_id or rid is None:
                    return reply
                # a stale reply to some earlier request: keep waiting
            self._reset()
        raise Unreachable("no reply from %s after %d attempt(s)"
                          % (self.endpoint, 1 + max(0, self.retries)))

    def request(self, cmd, args=None, actor=None, id=None):
        """Send a request; return the whole decoded reply map.  A body over
        BODY_MAX is refused here (ValueError), before anything is sent."""
        rid, body = encode_request(cmd, args, actor, id)
        if len(body) > BODY_MAX:
            raise ValueError("the request is too large: %d bytes, the limit "
                             "is %d (1 MiB, PROTOCOL.md 2.1); nothing was "
                             "sent" % (len(body), BODY_MAX))
        return unpack(self.request_raw(body, expect_id=rid))

    def call(self, cmd, args=None, actor=None, id=None):
        """Send a request; return its ``result`` or raise ``ExitflowError``."""
        reply = self.request(cmd, args, actor, id)
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            raise ExitflowError(reply if isinstance(reply, dict) else {})
        return reply.get("result")

    # -- one method per command -------------------------------------------
    # Every method takes the keyword arguments ``actor`` and ``id`` of call().

    def ping(self, **kw):
        return self.call(Command.PING, **kw)

    def stats(self, **kw):
        return self.call(Command.STATS, **kw)

    def start(self, enrollment_id, household_id, project_id, members,
              project_type=None, move_in_date=None, **kw):
        """workflow.start (PROTOCOL.md section 4.1).

        ``members`` is a list of dicts: client_id, enrollment_id,
        relationship (HUD 3.15), entry_date, and optionally birth_date
        ("YYYY-MM-DD": the daemon derives who is an adult on the exit
        date), adult (a bool that overrides it, for front ends without
        dates of birth) and last ({step: prior values}).  ``move_in_date``
        (HUD 3.20) is for permanent housing project types only.
        """
        return self.call(Command.WORKFLOW_START, _args(
            enrollment_id=enrollment_id, household_id=household_id,
            project_id=project_id, project_type=project_type,
            move_in_date=move_in_date, members=members), **kw)

    def get(self, workflow_id, **kw):
        return self.call(Command.WORKFLOW_GET, {"workflow_id": workflow_id},
                         **kw)

    def save(self, workflow_id, client_id, step, mode="entered", data=None,
             expected_version=None, **kw):
        """step.save; ``data`` is sent only when given."""
        return self.call(Command.STEP_SAVE, _args(
            workflow_id=workflow_id, client_id=client_id, step=step,
            mode=mode, data=data, expected_version=expected_version), **kw)

    def decide(self, workflow_id, client_id, exit, expected_version=None,
               **kw):
        return self.call(Command.MEMBER_DECIDE, _args(
            workflow_id=workflow_id, client_id=client_id, exit=exit,
            expected_version=expected_version), **kw)

    def finish(self, workflow_id, new_head_of_household=None,
               expected_version=None, **kw):
        return self.call(Command.WORKFLOW_FINISH, _args(
            workflow_id=workflow_id,
            new_head_of_household=new_head_of_household,
            expected_version=expected_version), **kw)

    def cancel(self, workflow_id, reason, expected_version=None, **kw):
        return self.call(Command.WORKFLOW_CANCEL, _args(
            workflow_id=workflow_id, reason=reason,
            expected_version=expected_version), **kw)

    def list(self, state=None, project_id=None, idle_for_s=None, limit=None,
             after=None, stalled=None, client_id=None, enrollment_id=None,
             household_id=None, actor=None, **kw):
        """One page of workflow.list: ``{workflows: [...], next}``.

        ``state`` may be None only with a key filter -- ``client_id``,
        ``enrollment_id``, ``household_id`` or ``actor`` (who started the
        workflow or made its last change) -- and then means every state.
        ``stalled`` (True/False) keeps open workflows that are (not)
        stalled.  Each item carries ``started_by``, ``last_actor`` and
        ``stalled``.
        """
        return self.call(Command.WORKFLOW_LIST, _args(
            state=state, project_id=project_id, idle_for_s=idle_for_s,
            stalled=stalled, client_id=client_id,
            enrollment_id=enrollment_id, household_id=household_id,
            actor=actor, limit=limit, after=after), **kw)

    def list_all(self, state=None, project_id=None, idle_for_s=None,
                 limit=None, **filters):
        """Every workflow.list item, following ``next`` page by page;
        ``filters`` are list()'s other keyword arguments."""
        after = None
        while True:
            page = self.list(state, project_id, idle_for_s, limit, after,
                             **filters)
            for item in page["workflows"]:
                yield item
            after = page.get("next")
            if after is None:
                return

    def history(self, workflow_id, **kw):
        return self.call(Command.WORKFLOW_HISTORY,
                         {"workflow_id": workflow_id}, **kw)

    def events_read(self, after, limit=None, **kw):
        return self.call(Command.EVENTS_READ, _args(after=after, limit=limit),
                         **kw)

    def consumer_ack(self, consumer, seq, **kw):
        return self.call(Command.CONSUMER_ACK,
                         {"consumer": consumer, "seq": seq}, **kw)

    def consumer_list(self, **kw):
        """consumer.list: ``{consumers: [{consumer, seq, lag, acked_at}],
        last_seq}``."""
        return self.call(Command.CONSUMER_LIST, **kw)

    def consumer_delete(self, consumer, **kw):
        """consumer.delete: ``{consumer, deleted: True}``.  admin may
        always; ops only once the consumer has not acked for the daemon's
        --consumer-retire-after (else FORBIDDEN)."""
        return self.call(Command.CONSUMER_DELETE, {"consumer": consumer},
                         **kw)

    def hud_codes(self, **kw):
        """hud.codes: the HUD code lists with their labels, the
        destinations with their categories, and every step's typed fields
        (PROTOCOL.md): what a front end shows and checks."""
        return self.call(Command.HUD_CODES, **kw)

    def backup(self, dir, wait=None, **kw):
        """store.backup (admin): a compacted copy of the store into ``dir``
        on the daemon's machine (new or empty; relative to the daemon's
        working directory), written while the daemon serves.  The reply
        comes when the copy is done: ``{dir, bytes, last_seq}``.  ``wait``
        (seconds) replaces the client's timeout for this call; a retry
        after a timeout waits for the same copy.  Restore: start exitflowd
        with --data on the copy."""
        saved = self.timeout
        if wait is not None:
            self.timeout = wait
        try:
            return self.call(Command.STORE_BACKUP, {"dir": str(dir)}, **kw)
        finally:
            self.timeout = saved

    def export(self, from_date=None, to_date=None, limit=None, after=None,
               **kw):
        """One page of workflow.export (ops, admin): the workflows finished
        from ``from_date`` to ``to_date`` ("YYYY-MM-DD", days of the CoC's
        calendar, both included; ``to_date`` defaults to the CoC's today,
        ``from_date`` to ``to_date``): ``{from, to, timezone, workflows:
        [{workflow: view, exits: [{client_id, exit_recorded_at,
        exit_recorded_by, exit_updated_at, first_saved: {step: {at, by}}}]}],
        next}``: each exiting member's exit first recorded when and by whom
        (HMIS DateCreated, UserID), last changed when (DateUpdated), and
        each step first saved when and by whom."""
        return self.call(Command.WORKFLOW_EXPORT, _args(
            limit=limit, after=after, **{"from": from_date, "to": to_date}),
            **kw)

    def export_all(self, from_date=None, to_date=None, limit=None):
        """Every workflow.export item of the span, following ``next`` page
        by page."""
        after = None
        while True:
            page = self.export(from_date, to_date, limit, after)
            for item in page["workflows"]:
                yield item
            after = page.get("next")
            if after is None:
                return

    def dq_report(self, workflow_id, source, findings, **kw):
        return self.call(Command.DQ_REPORT, {"workflow_id": workflow_id,
                                             "source": source,
                                             "findings": findings}, **kw)


class Subscriber:
    """A gapless, in-order iterator over exitflowd's events.

    Yields the decoded events whose ``type`` starts with ``prefix``, each
    exactly once, in ``seq`` order, beginning after ``after``.  It subscribes
    on the event socket, catches up from ``events.read`` first, and reads the
    log again whenever a published event skips ahead of the next expected
    seq, or when nothing has arrived for ``poll_interval`` seconds (to catch
    losses at the tail).  Events of other types are skipped using the log,
    so ``seq`` of the yielded events rises strictly but not always by one.

    ``rcvhwm`` and ``sockopts`` ({zmq option: value}) tune the SUB socket
    before it connects.  ``cert`` and ``server_key`` are the CURVE keys of
    both sockets, as for ``Client``.  ``gap_reads`` counts the log reads
    caused by a skipped seq.
    """

    def __init__(self, cmd_endpoint, events_endpoint, after=0, prefix=b"",
                 poll_interval=0.5, page=1000, rcvhwm=None, sockopts=None,
                 context=None, client=None, cert=None, server_key=None):
        if isinstance(prefix, str):
            prefix = prefix.encode()
        check_endpoint(events_endpoint)
        keys = curve_keys(cert, server_key)
        ctx = context or zmq.Context.instance()
        self.prefix = prefix
        self.next_seq = after + 1
        self.poll_interval = poll_interval
        self.page = page
        self.gap_reads = 0
        self._buf = collections.deque()
        self._own_client = client is None
        self._client = client or Client(cmd_endpoint, context=ctx,
                                        cert=cert, server_key=server_key)
        self._sub = ctx.socket(zmq.SUB)
        self._sub.setsockopt(zmq.LINGER, 0)
        if keys:
            keys.apply(self._sub)
        if rcvhwm is not None:
            self._sub.setsockopt(zmq.RCVHWM, rcvhwm)
        for opt, value in (sockopts or {}).items():
            self._sub.setsockopt(opt, value)
        self._sub.setsockopt(zmq.SUBSCRIBE, prefix)
        self._sub.connect(events_endpoint)
        self._caught_up = False

    def _take(self, ev):
        seq = ev["seq"]
        if seq < self.next_seq:
            return                              # a duplicate
        self.next_seq = seq + 1
        if ev["type"].encode().startswith(self.prefix):
            self._buf.append(ev)

    def _read_page(self):
        """Take one page of events from the log; True at the log's end."""
        res = self._client.events_read(self.next_seq - 1, limit=self.page)
        for ev in res["events"]:
            self._take(ev)
        return not res["events"] or self.next_seq > res["last_seq"]

    def _read_log(self, upto=None):
        """Take events from the log, up to seq ``upto`` or to its end."""
        while upto is None or self.next_seq <= upto:
            if self._read_page():
                return

    def next(self, timeout=None):
        """The next event, or None when none came within ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        # catching up holds at most a page: the backlog may be long
        while not self._caught_up and not self._buf:
            self._caught_up = self._read_page()
        while not self._buf:
            wait = self.poll_interval
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                wait = min(wait, left)
            if self._sub.poll(max(1, int(wait * 1000))):
                frames = self._sub.recv_multipart()
                try:
                    ev = unpack(frames[-1])
                    seq = ev["seq"]
                except Exception:
                    continue                    # not an event: ignore
                if seq > self.next_seq:
                    self.gap_reads += 1
                    self._read_log(upto=seq)
                self._take(ev)
            else:
                self._read_log()                # quiet: check the tail
        return self._buf.popleft()

    def __iter__(self):
        while True:
            yield self.next()

    def close(self):
        self._sub.close(linger=0)
        if self._own_client:
            self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
