"""Fixtures of tests/deploy: real daemons and workers (support.fixtures)."""

from support.fixtures import make_daemon, workers  # noqa: F401
