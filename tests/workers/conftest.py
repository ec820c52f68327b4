"""Fixtures for the workers' integration tests: a real exitflowd and the
real worker binaries beside it (support.fixtures describes them).

The binaries are bin/exitflow-dq and bin/exitflow-notify unless the
environment variables EXITFLOW_DQ / EXITFLOW_NOTIFY name others (and
EXITFLOWD the daemon, as for tests/integration).
"""

from support.fixtures import daemon, make_daemon, workers  # noqa: F401
