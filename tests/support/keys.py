"""CURVE keys for the suites: certificates made by the project's own tool,
``exitflow keygen NAME --role ROLE --out DIR`` (czmq's format, with
metadata name and role in both halves, which is what the daemon's --certs
directory needs; pyzmq's create_certificates puts metadata only into the
secret half).

One ``KeyRing`` per test session (``session_keys()``) holds the server's
certificate and one client certificate per role, named after the role:
admin, frontend, worker, ops.  Each secure daemon gets its own --certs
directory with copies of the public halves, so a test may revoke or add a
certificate without touching the other daemons.
"""

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["ROLES", "SERVER", "KeyRing", "keygen", "session_keys"]

ROLES = ("admin", "frontend", "worker", "ops")
SERVER = "server"


def _cli():
    from support.launcher import cli_binary
    return cli_binary()


def keygen(name, role, out):
    """``exitflow keygen``: writes out/NAME and out/NAME_secret; returns the
    public key (Z85) it prints."""
    r = subprocess.run([_cli(), "keygen", name, "--role", role, "--out",
                        str(out)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("exitflow keygen %s --role %s --out %s -> %d\n%s%s"
                           % (name, role, out, r.returncode, r.stdout,
                              r.stderr))
    return r.stdout.strip()


class KeyRing:
    """A directory of certificates made with ``exitflow keygen``."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def make(self, name, role):
        """The certificate NAME with ROLE, made unless it exists; returns
        the path of its secret half."""
        if not self.public(name).exists():
            keygen(name, role, self.dir)
        return self.secret(name)

    def public(self, name):
        return self.dir / name

    def secret(self, name):
        return self.dir / (name + "_secret")

    def server_cert(self):
        """The daemon's secret certificate (--server-cert)."""
        return self.secret(SERVER)

    def server_key(self):
        """The daemon's public certificate (a client's --server-key)."""
        return self.public(SERVER)

    def install(self, certs_dir, names=ROLES):
        """Copies the public halves of ``names`` into ``certs_dir``."""
        certs_dir = Path(certs_dir)
        certs_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(self.public(name), certs_dir / name)
        return certs_dir

    def standard(self):
        """The server's certificate and one per role, named after it."""
        self.make(SERVER, "admin")
        for role in ROLES:
            self.make(role, role)
        return self


_session = None


def session_keys():
    """The key ring of this test session, made on first use in a temp dir
    that goes when the session ends."""
    global _session
    if _session is None:
        path = tempfile.mkdtemp(prefix="exitflow-keys-")
        atexit.register(shutil.rmtree, path, True)
        _session = KeyRing(path).standard()
    return _session
