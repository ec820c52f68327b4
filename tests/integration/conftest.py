"""Fixtures: a real exitflowd on free ports with a real LMDB in a temp dir.

The binary is repo_root/bin/exitflowd unless the environment variable
EXITFLOWD names another.  clients/python is put on sys.path (by support).

    daemon            a fresh daemon for one test (--stall-after 3600)
    module_daemon     one daemon shared by the tests of a module
    make_daemon(...)  a factory: make_daemon(stall_after=1,
                      extra_args=["--map-size", "1048576"])
    household()       a factory of Household (support.Household): workflow
                      .start args for head of household + spouse + child
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402


@pytest.fixture
def make_daemon(tmp_path):
    made = []

    def make(stall_after=3600, extra_args=(), start=True):
        d = support.Daemon(tmp_path / ("d%d" % len(made)), stall_after,
                           extra_args)
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
    d = support.Daemon(tmp_path_factory.mktemp("exitflowd"))
    d.start()
    yield d
    d.close()


@pytest.fixture
def household():
    return support.Household
