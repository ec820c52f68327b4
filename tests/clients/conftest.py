"""Fixtures for the CLI tests: ``daemon`` is one exitflowd (free ports, own
LMDB) shared by the tests of a module; EXITFLOWD names another binary."""

from support.fixtures import module_daemon as daemon  # noqa: F401
