"""consumer.delete (issue 10, item 5): admin may always; ops only once the
consumer has not acked for longer than --consumer-retire-after (config key
consumer-retire-after, default 7 days), else FORBIDDEN saying how long it
has been idle and the limit; frontend and worker never.  NOT_FOUND for a
consumer nobody has.  A deleted consumer is gone from consumer.list, comes
back, new, when it acks again, and stays deleted across a restart.
consumer.list items carry acked_at."""

import re
import time

import pytest

from support import RFC3339_MS, Household, error_of

RETIRE_S = 2


def delete(c, name, **kw):
    return c.call("consumer.delete", {"consumer": name}, **kw)


def listed(c):
    return {x["consumer"]: x for x in c.consumer_list()["consumers"]}


def events(c, n=1):
    """At least ``n`` events in the log (one start each); the last seq."""
    for _ in range(n):
        Household().start(c)
    return c.consumer_list()["last_seq"]


@pytest.fixture
def d(make_daemon):
    return make_daemon(extra_args=["--consumer-retire-after", str(RETIRE_S)])


def test_admin_deletes_and_the_consumer_can_come_back(d):
    c = d.client()
    last = events(c, 2)
    c.consumer_ack("old-dq", last)
    c.consumer_ack("keeper", 1)
    got = listed(c)
    assert set(got) == {"old-dq", "keeper"}
    for x in got.values():
        assert RFC3339_MS.match(x["acked_at"]), x
    assert delete(c, "old-dq") == {"consumer": "old-dq", "deleted": True}
    assert set(listed(c)) == {"keeper"}
    # gone: a second delete finds nothing
    e = error_of(delete, c, "old-dq")
    assert e.code == "NOT_FOUND" and "old-dq" in e.message
    # an ack creates it again, from where that ack says (not the old offset)
    assert c.consumer_ack("old-dq", 1)["seq"] == 1
    got = listed(c)
    assert got["old-dq"]["seq"] == 1 and got["old-dq"]["lag"] == last - 1
    assert RFC3339_MS.match(got["old-dq"]["acked_at"])
    assert got["keeper"]["seq"] == 1


def test_unknown_consumer_is_not_found(d):
    for role in ("admin", "ops"):
        e = error_of(delete, d.client(role=role), "nobody-%s" % role)
        assert e.code == "NOT_FOUND", (role, e)


def test_ops_only_once_the_consumer_is_idle(d):
    admin, ops = d.client(), d.client(role="ops")
    last = events(admin)
    admin.consumer_ack("spare-dq", last)
    e = error_of(delete, ops, "spare-dq")
    assert e.code == "FORBIDDEN", e
    # it says how long the consumer has been idle and the limit
    assert str(RETIRE_S) in re.findall(r"\d+", e.message), e
    assert "spare-dq" in listed(admin)
    time.sleep(RETIRE_S + 0.5)
    assert delete(ops, "spare-dq") == {"consumer": "spare-dq",
                                       "deleted": True}
    assert "spare-dq" not in listed(admin)
    # an ack is what counts: acked again, it is fresh again
    admin.consumer_ack("spare-dq", last)
    time.sleep(RETIRE_S + 0.5)
    admin.consumer_ack("spare-dq", last)         # acks even without news
    assert error_of(delete, ops, "spare-dq").code == "FORBIDDEN"
    assert delete(admin, "spare-dq")["deleted"] is True


def test_frontend_and_worker_may_not_delete(d):
    admin = d.client()
    last = events(admin)
    admin.consumer_ack("dq", last)
    time.sleep(RETIRE_S + 0.5)                 # idle enough for ops
    for role in ("frontend", "worker"):
        e = error_of(delete, d.client(role=role), "dq")
        assert e.code == "FORBIDDEN", (role, e)
        e = error_of(delete, d.client(role=role), "nobody")
        assert e.code == "FORBIDDEN", (role, e)
    assert "dq" in listed(admin)


def test_default_limit_is_seven_days(make_daemon):
    d = make_daemon()
    admin, ops = d.client(), d.client(role="ops")
    admin.consumer_ack("dq", events(admin))
    e = error_of(delete, ops, "dq")
    assert e.code == "FORBIDDEN", e
    assert "604800" in e.message or "7 day" in e.message, e
    assert delete(admin, "dq")["deleted"] is True


def test_limit_from_the_config_file(make_daemon, tmp_path):
    cfg = tmp_path / "exitflow.cfg"
    cfg.write_text("exitflowd\n    consumer-retire-after = %d\n" % RETIRE_S)
    d = make_daemon(extra_args=["--config", str(cfg)])
    admin, ops = d.client(), d.client(role="ops")
    admin.consumer_ack("dq", events(admin))
    assert error_of(delete, ops, "dq").code == "FORBIDDEN"
    time.sleep(RETIRE_S + 0.5)
    assert delete(ops, "dq")["deleted"] is True


def test_bad_arguments(d):
    c = d.client()
    for args in ({}, {"consumer": 7}, {"consumer": ""}):
        e = error_of(c.call, "consumer.delete", args)
        assert e.code in ("BAD_REQUEST", "VALIDATION"), (args, e)
        assert e.field == "consumer", (args, e)


def test_delete_is_durable_and_idempotent(d):
    c = d.client()
    last = events(c)
    c.consumer_ack("gone", last)
    c.consumer_ack("stays", last)
    first = c.call("consumer.delete", {"consumer": "gone"}, id="del-gone-1")
    # the same request again is the same reply, not NOT_FOUND (§2.5)
    assert c.call("consumer.delete", {"consumer": "gone"},
                  id="del-gone-1") == first
    d.restart()
    c = d.client()
    got = listed(c)
    assert set(got) == {"stays"} and got["stays"]["seq"] == last
    assert error_of(delete, c, "gone").code == "NOT_FOUND"
    # the log is untouched: every event is still there
    assert c.consumer_list()["last_seq"] >= last
