"""The pytest fixtures of the Python suites.  Each suite's conftest.py
imports the ones it offers (pytest finds fixtures by the name they are
imported under).

    make_daemon(...)  a factory: make_daemon(stall_after=1,
                      extra_args=["--map-size", "1048576"], start=True,
                      secure=True); secure=False is local mode (no keys)
    daemon            a fresh daemon for one test (--stall-after 3600)
    module_daemon     one daemon shared by the tests of a module
    workers           a factory: workers.dq(daemon, *args),
                      workers.notify(daemon, *args); every worker is
                      SIGKILLed at teardown if it is still running
"""

import pytest

from support.launcher import Daemon, Workers


@pytest.fixture
def make_daemon(tmp_path):
    made = []

    def make(stall_after=3600, extra_args=(), start=True, secure=True):
        d = Daemon(tmp_path / ("d%d" % len(made)), stall_after, extra_args,
                   secure=secure)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture(scope="module")
def module_daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("exitflowd"))
    d.start()
    yield d
    d.close()


@pytest.fixture
def workers(tmp_path):
    w = Workers(tmp_path)
    yield w
    w.close()
