"""Fixtures of the web suites (tests/web: the API tests of exitflow-web and
the browser tests of its pages), over support.web:

    stack       one running stack for the tests of a module: a real
                exitflowd (CURVE, free ports, its own LMDB), the real DQ
                worker and exitflow-web on a free loopback port, serving
                clients/web/static; users cw1, cw2 (caseworker) and ops1
                (ops) with random passwords: stack.users[name] ==
                (password, role).  stack.url is the base URL,
                stack.session("cw1") a signed-in WebSession,
                stack.web.log() the gateway's log.
    make_stack  a factory for stacks of one test, with their own flags:
                make_stack(web_args=[...], static_dir=..., tls=(cert, key))

The programs are bin/exitflowd, bin/exitflow-dq and bin/exitflow-web
unless EXITFLOWD, EXITFLOW_DQ and EXITFLOW_WEB name others.

A stack's gateway is stopped with SIGTERM at the end (it must exit 0),
and its log must hold no sanitizer report: under `make asan-web` that is
where AddressSanitizer, LeakSanitizer and UBSan say what they found.
"""

import pytest

from support.web import Stack

SANITIZER_SIGNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ThreadSanitizer")


def close(s):
    try:
        if s.web.running():
            s.web.stop()
        log = s.web.log()
    finally:
        s.close()
    found = [line for line in log.splitlines()
             if any(sign in line for sign in SANITIZER_SIGNS)]
    assert not found, "exitflow-web's log:\n" + log[-6000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("web-stack"))
    try:
        s.start()
        yield s
    finally:
        close(s)


@pytest.fixture
def make_stack(tmp_path):
    made = []

    def make(start=True, **kw):
        s = Stack(tmp_path / ("stack%d" % len(made)), **kw)
        made.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in made:
        close(s)
