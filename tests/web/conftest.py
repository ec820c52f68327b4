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
"""

import pytest

from support.web import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("web-stack"))
    try:
        s.start()
        yield s
    finally:
        s.close()


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
        s.close()
