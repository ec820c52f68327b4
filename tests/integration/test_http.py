"""/metrics and /health over HTTP (issue 12, item 1): exitflowd --http on a
free loopback port.  The metrics, parsed with Debian's prometheus_client,
count what the test did — commands by name and outcome (refusals by their
code), the latency and batch histograms, workflows by state, stalled ones,
the idle time of the oldest, the last seq, a consumer's lag, the map and
the stored replies; /health answers 200, and 503 with its reason while the
map is full, until a restart with a larger --map-size; every other path is
404 and every other method 405; a bad --http is a usage error (exit 2)
and a port in use a fault (exit 1); and deploy/prometheus/'s alert rules
pass `promtool check rules` and their own `promtool test rules`."""

import http.client
import json
import re
import shutil
import socket
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exitflow import encode_request, unpack
from support import (REPO, Household, daemon_binary, error_of, exit_form,
                     free_port, wait_for, write_until_refused)

RULES = REPO / "deploy" / "prometheus" / "exitflow.rules.yml"
RULES_TEST = REPO / "tests" / "integration" / "exitflow_rules_test.yml"
MAP = 64 << 20


def http_daemon(make_daemon, *args, **kw):
    """A daemon serving HTTP on a free loopback port; (daemon, port)."""
    port = free_port()
    d = make_daemon(extra_args=["--http", "127.0.0.1:%d" % port] + list(args),
                    **kw)
    return d, port


def get(port, path, method="GET"):
    """(status, headers, body) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def scrape(port):
    """Every sample of /metrics: {(name, frozenset(labels)): value}, parsed
    by prometheus_client (which refuses a malformed exposition)."""
    status, headers, body = get(port, "/metrics")
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def histogram(samples, name, **labels):
    """(buckets [(le, count)] in order, sum, count) of one histogram."""
    buckets = sorted(
        ((float(dict(k)["le"]), v) for (n, k), v in samples.items()
         if n == name + "_bucket"
         and {x: y for x, y in k if x != "le"} == labels),
        key=lambda b: b[0])
    return (buckets, value(samples, name + "_sum", **labels),
            value(samples, name + "_count", **labels))


def check_histogram(samples, name, **labels):
    """Cumulative buckets ending in +Inf == count; returns the count."""
    buckets, total, count = histogram(samples, name, **labels)
    assert buckets and buckets[-1][0] == float("inf"), (name, labels)
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), (name, labels, buckets)
    assert counts[-1] == count
    assert total >= 0
    return count


def test_metrics_count_what_was_done(make_daemon):
    d, port = http_daemon(make_daemon, "--map-size", str(MAP), stall_after=1)
    c = d.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    c.get(wf)
    # refusals: a bad destination, a write by ops, a command nobody knows
    bad = error_of(c.save, wf, h.hoh, "exit", data=exit_form(destination=-1))
    assert bad.code == "VALIDATION"
    ops = d.client(role="ops")
    assert error_of(ops.save, wf, h.hoh, "exit",
                    data=exit_form()).code == "FORBIDDEN"
    _, body = encode_request("no.such.command", {})
    assert unpack(c.request_raw(body))["error"]["code"] == "UNKNOWN_COMMAND"
    c.consumer_ack("metrics-test", 1)
    last = c.stats()["last_seq"]

    # the store's figures are read once a second; the workflow stalls
    # after a second of idling
    def ready():
        s = scrape(port)
        return s if value(s, "exitflow_stalled_workflows") == 1 and value(
            s, "exitflow_consumer_lag_events",
            consumer="metrics-test") is not None else None
    s = wait_for(ready, timeout=15, what="the store's figures")

    def count(cmd, outcome="ok"):
        return value(s, "exitflow_commands_total", command=cmd,
                     outcome=outcome)
    assert count("workflow.start") == 1
    assert count("step.save") == 1
    assert count("step.save", "VALIDATION") == 1
    assert count("step.save", "FORBIDDEN") == 1
    assert count("workflow.get") == 1
    assert count("unknown", "UNKNOWN_COMMAND") == 1
    assert count("consumer.ack") == 1
    assert count("stats") == 1
    assert count("ping") >= 1                   # the launcher's probe
    assert count("hud.codes") == 0              # every command's ok is there
    # every answered request is in one batch, and in its command's latency
    answered = sum(v for (n, _), v in s.items()
                   if n == "exitflow_commands_total")
    assert check_histogram(s, "exitflow_batch_size") >= 1
    assert value(s, "exitflow_batch_size_sum") == answered
    assert sum(check_histogram(s, "exitflow_command_duration_seconds",
                               command=cmd)
               for cmd in ("workflow.start", "step.save", "workflow.get",
                           "unknown", "consumer.ack", "stats", "ping")) \
        == answered
    assert check_histogram(s, "exitflow_command_duration_seconds",
                           command="step.save") == 3
    assert value(s, "exitflow_command_duration_seconds_sum",
                 command="step.save") > 0
    # start, save, the refused save, the forbidden one, the ack: write
    # batches, each committed once
    assert check_histogram(s, "exitflow_commit_duration_seconds") >= 5
    # the store
    assert value(s, "exitflow_last_event_seq") >= last
    assert value(s, "exitflow_workflows", state="open") == 1
    assert value(s, "exitflow_workflows", state="finished") == 0
    assert value(s, "exitflow_oldest_open_workflow_idle_seconds") >= 1
    assert value(s, "exitflow_consumer_lag_events",
                 consumer="metrics-test") == \
        value(s, "exitflow_last_event_seq") - 1
    assert value(s, "exitflow_lmdb_map_size_bytes") == MAP
    # no --max-map-size: the map cannot grow past what it is
    assert value(s, "exitflow_lmdb_max_map_size_bytes") == MAP
    assert 0 < value(s, "exitflow_lmdb_used_bytes") < MAP
    assert value(s, "exitflow_reply_log_entries") >= 3
    assert value(s, "exitflow_health_ok") == 1
    (info,) = [dict(k) for (n, k) in s if n == "exitflow_build_info"]
    assert info["version"] and info["protocol"] == "1"
    assert abs(value(s, "exitflow_process_start_time_seconds")
               - time.time()) < 300
    # counts only: no workflow, client or household id anywhere
    text = get(port, "/metrics")[2].decode()
    for secret in (wf, h.hoh, h.spouse, h.child, h.household_id):
        assert secret not in text


def test_health_and_what_else_is_answered(make_daemon):
    d, port = http_daemon(make_daemon)
    status, headers, body = get(port, "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["content-type"] == "application/json"
    # HEAD: the headers alone
    status, headers, body = get(port, "/metrics", "HEAD")
    assert status == 200 and body == b""
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert get(port, "/health", "HEAD")[:1] == (200,)
    # a query string is no other path
    assert get(port, "/metrics?x=1")[0] == 200
    for path in ("/", "/metric", "/health/x", "/metrics/"):
        assert get(port, path)[0] == 404, path
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = get(port, "/metrics", method)
        assert status == 405 and headers["allow"] == "GET, HEAD", method
    # the daemon's own work goes on
    assert d.client().ping()["pong"] is True


def test_health_is_503_while_the_store_is_full(make_daemon):
    d, port = http_daemon(make_daemon, "--map-size", "1048576")
    c = d.client()
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    assert get(port, "/health")[0] == 200
    failed = write_until_refused(c, wf, h.hoh)
    assert failed is not None, "1 MiB store never filled"
    assert failed[1]["error"]["code"] == "UNAVAILABLE"
    status, _, body = get(port, "/health")
    assert status == 503, body
    health = json.loads(body)
    assert health["status"] == "unavailable"
    assert "full" in health["reason"] and "--map-size" in health["reason"]
    s = scrape(port)
    assert value(s, "exitflow_health_ok") == 0
    assert value(s, "exitflow_commands_total", command="step.save",
                 outcome="UNAVAILABLE") == 1
    # reads are served, and do not make it healthy
    assert c.get(wf)["workflow_id"] == wf
    assert get(port, "/health")[0] == 503
    # a restart with room: healthy again, writes go through
    d.extra_args = ["--http", "127.0.0.1:%d" % port, "--map-size",
                    str(MAP)]
    d.restart()
    assert get(port, "/health")[0] == 200
    c = d.client()
    c.save(wf, h.hoh, "exit", data=exit_form(exit_reason="after restart"))
    assert get(port, "/health")[0] == 200


def run_daemon(tmp_path, *args):
    return subprocess.run([daemon_binary(), "--data", str(tmp_path / "d"),
                           "--commands", "tcp://127.0.0.1:%d" % free_port(),
                           "--events", "tcp://127.0.0.1:%d" % free_port()]
                          + list(args), capture_output=True, text=True,
                          timeout=20)


@pytest.mark.parametrize("bad", [
    "", "127.0.0.1", "127.0.0.1:", ":5572", "127.0.0.1:0",
    "127.0.0.1:65536", "127.0.0.1:55x", "localhost:5572", "::1:5572",
    "[::1]", "[::1]5572", "1.2.3:5572", "256.0.0.1:5572", "[nope]:5572"])
def test_a_bad_http_value_is_a_usage_error(tmp_path, bad):
    r = run_daemon(tmp_path, "--http", bad)
    assert r.returncode == 2, (bad, r.stderr)
    assert r.stderr.count("\n") == 1 and "--http" in r.stderr, r.stderr
    assert not (tmp_path / "d").exists()      # refused before the store


def test_the_config_file_key_and_a_port_in_use(tmp_path, make_daemon):
    cfg = tmp_path / "x.cfg"
    cfg.write_text("exitflowd\n    http = 127.0.0.1\n")
    r = run_daemon(tmp_path, "--config", str(cfg))
    assert r.returncode == 2 and "--http" in r.stderr, r.stderr
    # the key serves like the flag
    port = free_port()
    cfg.write_text("exitflowd\n    http = 127.0.0.1:%d\n" % port)
    d = make_daemon(extra_args=["--config", str(cfg)])
    assert get(port, "/health")[0] == 200
    # a second daemon on that port: exit 1, saying so
    r = run_daemon(tmp_path, "--http", "127.0.0.1:%d" % port)
    assert r.returncode == 1, r.stderr
    assert "cannot bind 127.0.0.1:%d for --http" % port in r.stderr
    assert d.client().ping()["pong"] is True


def test_ipv6_loopback(make_daemon):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        port = s.getsockname()[1]
        s.close()
    except OSError as e:
        pytest.skip("no IPv6 loopback here (%s)" % e)
    make_daemon(extra_args=["--http", "[::1]:%d" % port])
    conn = http.client.HTTPConnection("::1", port, timeout=10)
    conn.request("GET", "/health")
    assert conn.getresponse().status == 200
    conn.close()


def promtool():
    path = shutil.which("promtool")
    if not path:
        pytest.skip("promtool is not installed (Debian package prometheus; "
                    "make test installs it)")
    return path


def test_alert_rules_pass_promtool():
    r = subprocess.run([promtool(), "check", "rules", str(RULES)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 5 rules found" in r.stdout
    r = subprocess.run([promtool(), "test", "rules", str(RULES_TEST)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rules_and_exposition_agree(make_daemon):
    """Every exitflow_ metric the rules name is one the daemon exports, and
    promtool's linter accepts the exposition."""
    d, port = http_daemon(make_daemon)
    c = d.client()
    c.consumer_ack("lint", 0)
    s = wait_for(lambda: (lambda x: x if value(
        x, "exitflow_consumer_lag_events", consumer="lint") is not None
        else None)(scrape(port)), what="the store's figures")
    exported = {re.sub(r"_(bucket|sum|count)$", "", n) for n, _ in s}
    rules = "\n".join(line for line in RULES.read_text().splitlines()
                      if not line.lstrip().startswith("#"))
    named = set(re.findall(r"\bexitflow_[a-z_]+", rules))
    assert named and named <= exported, named - exported
    r = subprocess.run([promtool(), "check", "metrics"],
                       input=get(port, "/metrics")[2], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
