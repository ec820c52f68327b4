"""The Python client's names are the protocol's.

clients/python/exitflow.py keeps its own copy of the command names, the
event types and the error codes (another language, so another table); this
holds each of them to protocol/names.h, the C side's one table, so that
neither can drift. No daemon is needed.
"""

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAMES_H = (REPO / "protocol" / "names.h").read_text()


def load_client():
    spec = importlib.util.spec_from_file_location(
        "exitflow_names_under_test", REPO / "clients" / "python" / "exitflow.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


exitflow = load_client()


def x_macro_rows(list_name):
    """{ID: "name"} of one X-macro list of names.h (`X (ID, "name")`)."""
    body = re.search(r"#define %s\(X\)(.*?)\n\n" % list_name, NAMES_H,
                     re.S).group(1)
    return dict(re.findall(r'X \((\w+),\s*"([^"]+)"\)', body))


def constants(cls):
    return {k: v for k, v in vars(cls).items() if k.isupper()}


def test_commands_match_names_h():
    rows = x_macro_rows("EXF_COMMAND_LIST")
    assert len(rows) >= 14
    assert constants(exitflow.Command) == rows


def test_event_types_match_names_h():
    rows = x_macro_rows("EXF_EVENT_LIST")
    assert len(rows) >= 8
    assert constants(exitflow.Event) == rows


def test_error_codes_match_names_h():
    codes = dict(re.findall(r'#define EXF_(\w+)\s+"(\1)"', NAMES_H))
    assert len(codes) >= 8
    assert constants(exitflow.ErrorCode) == codes
