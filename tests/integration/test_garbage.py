"""Malformed requests: each is refused with BAD_REQUEST (or dropped, where
PROTOCOL.md says so), nothing changes, and the daemon keeps serving."""

import msgpack
import pytest
import zmq

from exitflow import Client, encode_request, unpack
from support import Household, exit_form

ANY = object()          # the reply id is not asserted
MIB = 1024 * 1024


def raw_map(*pairs):
    """A msgpack map from already-encoded (key, value) byte pairs."""
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b"".join(k + v for k, v in pairs)


def p(x):
    return msgpack.packb(x, use_bin_type=True)


def envelope_with(args_bytes, rid="g"):
    return raw_map((p("v"), p(1)), (p("id"), p(rid)), (p("cmd"), p("ping")),
                   (p("args"), args_bytes))


def sized_ping(size, rid="sized"):
    """A valid ping body of exactly ``size`` bytes (padding in args)."""
    base = len(p({"v": 1, "id": rid, "cmd": "ping", "args": {"pad": ""}}))
    pad = size - base - 4                 # str32 header instead of fixstr
    body = p({"v": 1, "id": rid, "cmd": "ping", "args": {"pad": "x" * pad}})
    assert len(body) == size, (len(body), size)
    return body


GARBAGE = [
    ("not msgpack", b"\xc1", None),
    ("text", b"not msgpack at all {", None),
    ("empty frame", b"", None),
    ("array", p([1, 2, 3]), None),
    ("string", p("ping"), None),
    ("integer", p(42), None),
    ("nil", p(None), None),
    ("int keys", p({1: 2}), None),
    ("missing cmd", p({"v": 1, "id": "m1"}), "m1"),
    ("missing id", p({"v": 1, "cmd": "ping"}), None),
    ("missing v", p({"id": "m2", "cmd": "ping"}), "m2"),
    ("id int", p({"v": 1, "id": 7, "cmd": "ping"}), None),
    ("id bin", p({"v": 1, "id": b"binary-id", "cmd": "ping"}), ANY),
    ("id empty", p({"v": 1, "id": "", "cmd": "ping"}), ANY),
    ("id 65 bytes", p({"v": 1, "id": "i" * 65, "cmd": "ping"}), ANY),
    ("cmd int", p({"v": 1, "id": "t1", "cmd": 5}), "t1"),
    ("cmd bin", p({"v": 1, "id": "t6", "cmd": b"ping"}), "t6"),
    ("v str", p({"v": "1", "id": "t2", "cmd": "ping"}), "t2"),
    ("v float", p({"v": 1.0, "id": "t7", "cmd": "ping"}), "t7"),
    ("v=2", p({"v": 2, "id": "v2", "cmd": "ping"}), "v2"),
    ("v=0", p({"v": 0, "id": "v0", "cmd": "ping"}), "v0"),
    ("args array", p({"v": 1, "id": "t3", "cmd": "ping", "args": [1]}), "t3"),
    ("args str", p({"v": 1, "id": "t8", "cmd": "ping", "args": "x"}), "t8"),
    ("actor int", p({"v": 1, "id": "t4", "cmd": "ping", "actor": 5}), "t4"),
    ("actor 65", p({"v": 1, "id": "t5", "cmd": "ping", "actor": "a" * 65}),
     "t5"),
    ("actor empty", p({"v": 1, "id": "t9", "cmd": "ping", "actor": ""}),
     "t9"),
    ("truncated", p({"v": 1, "id": "tr", "cmd": "workflow.get",
                     "args": {"workflow_id": "x" * 26}})[:-5], ANY),
    ("truncated in id", p({"v": 1, "id": "abcdefgh", "cmd": "ping"})[:9],
     None),
    ("trailing bytes", p({"v": 1, "id": "tb", "cmd": "ping"}) + b"\x00", ANY),
    ("two maps", p({"v": 1, "id": "tm", "cmd": "ping"}) * 2, ANY),
    ("map32 4G", b"\xdf\xff\xff\xff\x7b", None),
    ("array32 4G", b"\xdd\xff\xff\xff\xff", None),
    ("str32 4G", b"\x81\xa1v\xdb\xff\xff\xff\xff", None),
    ("bin32 4G", b"\x81\xa1v\xc6\xff\xff\xff\xff", None),
    ("args map32 4G", envelope_with(b"\xdf\xff\xff\xff\xff"), ANY),
    ("nested 1000", b"\x91" * 1000 + b"\xc0", None),
    ("nested 1000 in args", envelope_with(b"\x81\xa1x" + b"\x91" * 1000 +
                                          b"\xc0", "deep"), ANY),
    ("nested 40 maps", envelope_with(b"\x81\xa1x" * 40 + b"\xc0", "deep2"),
     ANY),
    ("70000 objects", envelope_with(p({"x": [None] * 70000}), "many"), ANY),
    ("ext type", envelope_with(b"\xd4\x01\x00", "ext"), ANY),
    ("id not UTF-8", raw_map((p("v"), p(1)), (p("id"), b"\xa2\xff\xfe"),
                             (p("cmd"), p("ping"))), None),
    ("args text not UTF-8", envelope_with(b"\x81\xa1x\xa3\xed\xa0\x80",
                                          "surrogate"), ANY),
    ("overlong UTF-8", envelope_with(b"\x81\xa1x\xa2\xc0\xaf", "overlong"),
     ANY),
    ("duplicate key", raw_map((p("v"), p(1)), (p("id"), p("dup")),
                              (p("cmd"), p("ping")), (p("id"), p("dup2"))),
     ANY),
    ("duplicate key in args", envelope_with(
        b"\x82" + p("x") + p(1) + p("x") + p(2), "dup3"), ANY),
    ("actor with NUL", p({"v": 1, "id": "nul", "cmd": "ping",
                          "actor": "alice\x00x"}), "nul"),
    ("2 MiB", sized_ping(2 * MIB), ANY),
    ("1 MiB + 1", sized_ping(MIB + 1), ANY),
    ("4 MiB", sized_ping(4 * MIB), ANY),
]

BAD_ARGS = [
    ("workflow.get", {"workflow_id": 5}, "workflow_id"),
    ("workflow.get", {}, "workflow_id"),
    ("workflow.get", None, "workflow_id"),
    ("member.decide", {"workflow_id": "W", "client_id": "c", "exit": "yes"},
     "exit"),
    ("step.save", {"workflow_id": "W", "client_id": "c", "step": "exit",
                   "mode": "entered", "data": exit_form(),
                   "expected_version": "3"}, "expected_version"),
    ("events.read", {"after": "0"}, "after"),
    ("events.read", {}, "after"),
    ("workflow.list", {}, "state"),
    ("workflow.list", {"state": "open", "project_id": ""}, "project_id"),
    ("workflow.start", {"enrollment_id": "e", "household_id": "h",
                        "project_id": "p", "members": "everyone"}, "members"),
    ("workflow.cancel", {"workflow_id": "W"}, "reason"),
    ("consumer.ack", {"consumer": "c", "seq": "1"}, "seq"),
    ("workflow.list", {"state": "open", "idle_for_s": 2 ** 62}, "idle_for_s"),
    ("dq.report", {"workflow_id": "W", "source": "s", "findings": {}},
     "findings"),
]


@pytest.fixture(scope="module")
def state(module_daemon):
    c = module_daemon.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    return {"wf": wf, "view": c.get(wf), "stats": c.stats()}


def assert_unchanged(d, state):
    assert d.running(), "exitflowd died:\n" + d.log()
    c = Client(d.commands, timeout=5, retries=0, **d.client_keys())
    try:
        assert c.ping()["pong"] is True
        s = c.stats()
        assert s["last_seq"] == state["stats"]["last_seq"]
        assert s["workflows"] == state["stats"]["workflows"]
        assert c.get(state["wf"]) == state["view"]
    finally:
        c.close()


@pytest.mark.parametrize("name, body, rid", GARBAGE,
                         ids=[g[0] for g in GARBAGE])
def test_garbage_body(module_daemon, state, name, body, rid):
    # under CURVE a 4 MiB body is 33 bytes more on the wire: the daemon's
    # frame limit allows for that (PROTOCOL.md 2.1: up to 4 MiB BAD_REQUEST)
    c = module_daemon.client(timeout=5, retries=0)
    frames = c.raw([b"", body])
    assert frames is not None, "no reply to %s" % name
    assert frames[0] == b"" and len(frames) == 2
    reply = unpack(frames[1])
    assert reply["v"] == 1 and reply["ok"] is False, reply
    assert reply["error"]["code"] == "BAD_REQUEST", reply
    assert isinstance(reply["error"]["message"], str)
    if rid is not ANY:
        assert reply["id"] == rid
    assert_unchanged(module_daemon, state)


@pytest.mark.parametrize("cmd, args, field", BAD_ARGS,
                         ids=["%d-%s-%s" % (i, a[0], a[2])
                              for i, a in enumerate(BAD_ARGS)])
def test_mistyped_arguments(module_daemon, state, cmd, args, field):
    c = module_daemon.client(timeout=5, retries=0)
    r = c.request(cmd, args, id="bad-" + field)
    assert r["ok"] is False and r["id"] == "bad-" + field
    assert r["error"]["code"] == "BAD_REQUEST", r
    assert r["error"]["field"] == field, r
    assert_unchanged(module_daemon, state)


def test_accepted_variants(module_daemon, state):
    c = module_daemon.client(timeout=5, retries=0)
    for name, body in [
            ("v as int8", raw_map((p("v"), b"\xd0\x01"), (p("id"), p("a")),
                                  (p("cmd"), p("ping")))),
            ("v as uint64", raw_map((p("v"), b"\xcf" + b"\x00" * 7 + b"\x01"),
                                    (p("id"), p("b")), (p("cmd"), p("ping")))),
            ("v as int64", raw_map((p("v"), b"\xd3" + b"\x00" * 7 + b"\x01"),
                                   (p("id"), p("c")), (p("cmd"), p("ping")))),
            ("unknown keys", p({"v": 1, "id": "d", "cmd": "ping",
                                "trace": {"x": [1]}})),
            ("args nil", p({"v": 1, "id": "e", "cmd": "ping", "args": None})),
            ("unknown args", p({"v": 1, "id": "f", "cmd": "ping",
                                "args": {"x": 1}})),
            ("id 64 bytes", p({"v": 1, "id": "i" * 64, "cmd": "ping"})),
            ("actor 64", p({"v": 1, "id": "g", "cmd": "ping",
                            "actor": "a" * 64})),
            ("1 MiB", sized_ping(MIB)),
    ]:
        r = unpack(c.request_raw(body))
        assert r["ok"] is True, (name, r)
        assert r["result"]["pong"] is True
    assert_unchanged(module_daemon, state)


def test_five_mib_drops_connection(module_daemon, state):
    c = module_daemon.client(timeout=2, retries=0)
    assert c.raw([b"", sized_ping(5 * MIB)], timeout=2) is None
    assert_unchanged(module_daemon, state)      # from a new socket


def test_envelope_limits(module_daemon, state):
    c = module_daemon.client(timeout=5, retries=0)
    rid, body = encode_request("ping")
    # the ROUTER's routing id is one envelope frame: 7 more are allowed
    env = [b"", b"a" * 255] + [b"e%d" % i for i in range(5)]
    frames = c.raw(env + [body])
    assert frames is not None and frames[:-1] == env
    assert unpack(frames[-1])["id"] == rid
    # 8 more (9 in all) or a frame of 256 bytes: dropped without reply
    assert c.raw(env + [b"x", body], timeout=1) is None
    assert c.raw([b"", b"a" * 256, body], timeout=1) is None
    # a garbage body behind a valid envelope still gets its answer
    frames = c.raw(env + [b"\xc1"])
    assert frames[:-1] == env
    assert unpack(frames[-1])["error"]["code"] == "BAD_REQUEST"
    assert_unchanged(module_daemon, state)


def test_garbage_mixed_with_writes(module_daemon, state):
    """Refused requests in the same batch do not affect the good ones."""
    d = module_daemon
    s = d.socket(zmq.DEALER)
    h = Household()
    good_id, good = encode_request("workflow.start", h.args)
    bodies = [b"\xc1", p([1]), good, b"\xdf\xff\xff\xff\x7b",
              p({"v": 2, "id": "x", "cmd": "ping"})]
    for b in bodies:
        s.send_multipart([b"", b])
    replies = []
    for _ in bodies:
        assert s.poll(5000)
        replies.append(unpack(s.recv_multipart()[-1]))
    s.close()
    oks = [r for r in replies if r["ok"]]
    assert len(oks) == 1 and oks[0]["id"] == good_id
    assert all(r["error"]["code"] == "BAD_REQUEST"
               for r in replies if not r["ok"])
    c = d.client()
    wf = oks[0]["result"]["workflow_id"]
    assert c.get(wf)["household_id"] == h.household_id
    c.cancel(wf, "test cleanup")
    # the module's reference state moves on by exactly those two changes
    state["stats"] = c.stats()
    assert_unchanged(d, state)
