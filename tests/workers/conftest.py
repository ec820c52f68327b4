"""Fixtures for the workers' integration tests: a real exitflowd and the
real worker binaries beside it.

    make_daemon(stall_after=3600)   tests/integration's fixtures, reused:
    daemon                          a daemon on free ports, temp data dir
    workers                         a factory: workers.dq(daemon, *args),
                                    workers.notify(daemon, *args); every
                                    worker is SIGKILLed at teardown if it is
                                    still running

The binaries are bin/exitflow-dq and bin/exitflow-notify unless the
environment variables EXITFLOW_DQ / EXITFLOW_NOTIFY name others (and
EXITFLOWD the daemon, as for tests/integration).
"""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(HERE, "..", "integration")
sys.path.insert(0, HERE)
sys.path.insert(0, INTEGRATION)

import worker_support  # noqa: E402


def _integration_fixtures():
    """tests/integration/conftest.py, loaded under a name of its own (this
    module is `conftest` too)."""
    spec = importlib.util.spec_from_file_location(
        "integration_conftest", os.path.join(INTEGRATION, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_integration = _integration_fixtures()
make_daemon = _integration.make_daemon
daemon = _integration.daemon


@pytest.fixture
def workers(tmp_path):
    w = worker_support.Workers(tmp_path)
    yield w
    w.close()
