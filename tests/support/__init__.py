"""What the Python suites share (tests/integration, tests/workers,
tests/clients); the root pytest.ini puts tests/ and clients/python on the
path, so a test writes ``from support import Daemon, Household``.

    support.launcher    exitflowd and the workers as processes: free ports,
                        own LMDB directory, a log file each, CURVE on
    support.keys        the certificates (made by `exitflow keygen`): the
                        session's server key and one per role
    support.households  what a test sends and how it reads replies back
    support.fixtures    the pytest fixtures; a suite's conftest.py imports
                        the ones it offers
    support.setup_errors  bad endpoints and unusable config files, with the
                        reason every program must give (issue 11, item 7)

The C suites' shared header (msgpack_builder.h) lives beside them.
"""

from support.households import *  # noqa: F401,F403
from support.households import __all__ as _households
from support.launcher import *  # noqa: F401,F403
from support.launcher import __all__ as _launcher

__all__ = _launcher + _households
