"""Fixtures for the CLI tests: ``daemon`` is one exitflowd (free ports, own
LMDB) shared by the tests of a module; ``make_daemon`` makes more with their
own flags, ``workers`` runs the DQ and notify workers beside one.
EXITFLOWD names another binary."""

from support.fixtures import make_daemon, workers  # noqa: F401
from support.fixtures import module_daemon as daemon  # noqa: F401
