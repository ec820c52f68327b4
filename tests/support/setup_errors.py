"""Set-up mistakes every exitflow program refuses the same way (issue 11,
item 7): endpoints it must not bind or connect to, and config files it
cannot use, each with the reason the program must name.

    from support.setup_errors import BAD_ENDPOINTS, UNUSABLE_CONFIGS, \\
        unusable_config
"""

__all__ = ["BAD_ENDPOINTS", "UNUSABLE_CONFIGS", "unusable_config"]

# (endpoint, what the refusal says)
BAD_ENDPOINTS = [
    ("tcp://127.0.0.1:99999", "the port must be 1 to 65535"),
    ("tcp://127.0.0.1:0", "the port must be 1 to 65535"),
    ("tcp://127.0.0.1:http", "the port must be 1 to 65535"),
    ("udp://127.0.0.1:5570", "is not tcp://HOST:PORT, ipc://PATH or inproc://"),
    ("tcp://127.0.0.1", "is not tcp://HOST:PORT"),
]

UNUSABLE_CONFIGS = ["bad-zpl", "binary", "dev-zero", "directory", "missing",
                    "unknown-key"]


def unusable_config(tmp_path, what, section, typo):
    """The config file of case ``what`` (one of UNUSABLE_CONFIGS) for a
    program that reads ``section``, where ``typo`` is a key it does not
    know; returns (path, the reason its refusal must give)."""
    path = tmp_path / "exitflow.cfg"
    if what == "binary":
        path.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    elif what == "directory":
        path.mkdir()
    elif what == "dev-zero":
        path = "/dev/zero"
    elif what == "bad-zpl":
        path.write_text("%s\n   %s = 1\n" % (section, typo))   # 3 spaces
    elif what == "unknown-key":
        path.write_text("%s\n    %s = 1\n" % (section, typo))
    reason = {"binary": "not a text file", "directory": "not a regular file",
              "dev-zero": "not a regular file", "missing": "No such file",
              "bad-zpl": "not valid ZPL",
              "unknown-key": "unknown key %s/%s" % (section, typo)}[what]
    return path, reason
