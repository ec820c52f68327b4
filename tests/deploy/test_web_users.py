"""exitflow-web's users file as the package lays it down: exitflow-setup
makes /etc/exitflow/web-users root:exitflow 0640, the gateway runs as the
user exitflow and reads it through the group, and the administrator adds
accounts as root with `exitflow-web passwd NAME --role ROLE --users
/etc/exitflow/web-users` (deploy/OPERATIONS.md, "Web front end"). That
passwd replaces the file (a new file renamed over it), so the new file must
keep the old one's group and mode — otherwise the running gateway can no
longer read it and nobody can sign in. Here the group is `daemon`, standing
in for `exitflow` (this machine has no such group)."""

import grp
import os
import secrets
import stat

import pytest

from support.web import passwd


def test_passwd_as_root_keeps_the_group_and_mode(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the documented path runs passwd as root")
    group = grp.getgrnam("daemon").gr_gid
    users = tmp_path / "web-users"
    users.write_text("# no accounts yet\n")
    os.chown(users, 0, group)
    os.chmod(users, 0o640)
    for name, role in (("dana", "caseworker"), ("olu", "ops")):
        r = passwd(users, name, role, secrets.token_urlsafe(12))
        assert r.returncode == 0, r.stderr
        st = os.stat(users)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
            (0, group, 0o640), "passwd as root left %s %d:%d %03o" % (
                users, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    lines = [line.split(":")[:2] for line in users.read_text().splitlines()
             if not line.startswith("#")]
    assert lines == [["dana", "caseworker"], ["olu", "ops"]]
    # nothing left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["web-users"]
