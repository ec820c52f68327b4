"""Fixtures for the workers' integration tests: a real exitflowd (from
tests/integration/support.py) and the real worker binaries beside it.

    make_daemon(stall_after=3600)   a daemon on free ports, temp data dir
    daemon                          one with the defaults
    workers                         a factory: workers.dq(daemon, *args),
                                    workers.notify(daemon, *args); every
                                    worker is SIGKILLed at teardown if it is
                                    still running

The binaries are bin/exitflow-dq and bin/exitflow-notify unless the
environment variables EXITFLOW_DQ / EXITFLOW_NOTIFY name others (and
EXITFLOWD the daemon, as for tests/integration).
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import support  # noqa: E402
import worker_support  # noqa: E402


@pytest.fixture
def make_daemon(tmp_path):
    made = []

    def make(stall_after=3600, extra_args=()):
        d = support.Daemon(tmp_path / ("d%d" % len(made)), stall_after,
                           extra_args)
        made.append(d)
        d.start()
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture
def workers(tmp_path):
    w = worker_support.Workers(tmp_path)
    yield w
    w.close()
