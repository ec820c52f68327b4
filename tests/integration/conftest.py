"""Fixtures: a real exitflowd on free ports with a real LMDB in a temp dir
(support.fixtures describes them).  The binary is bin/exitflowd unless
EXITFLOWD names another."""

from support.fixtures import daemon, make_daemon, module_daemon  # noqa: F401
