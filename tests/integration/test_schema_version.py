"""Store schema versions (issue 12, item 4). A store carries one schema
version, its meta record "Mformat". A daemon upgrades an older store in one
transaction when it opens it, and refuses a newer one with one line and
exit status 13, leaving it untouched.

The older stores are made here from a store this daemon wrote, with LMDB
itself (Debian's python3-lmdb) and the store's own seal (a CRC32C of key
and value, daemon/seal.h), in the two layouts earlier exitflowds left:
schema 2 as the find-exits release wrote it (the key indexes, "Mindexes"
1), and schema 2 as the releases before it did (no key or stalled index,
workflow records of layout 2: no move-in date, last actor or date of
birth, and an adult flag on every member)."""

import hashlib
import subprocess

import lmdb
import msgpack
import pytest

from support import Household, exit_form, read_all_events
from support.launcher import daemon_binary, free_port

EXIT_VERSION = 13
CURRENT = 3


# ---- the store's seal -------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFFFFFF


def test_crc32c_is_rfc3720s():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytes(32)) == 0x8A9136AA


def sealed(key, value):
    return value + crc32c(key + value).to_bytes(4, "little")


def unsealed(key, stored):
    value, seal = stored[:-4], stored[-4:]
    assert crc32c(key + value).to_bytes(4, "little") == seal, key
    return value


# ---- the store, with LMDB itself --------------------------------------------

class RawStore:
    """The closed store in ``data_dir``: read and rewritten in one LMDB
    write transaction."""

    def __init__(self, data_dir):
        self.env = lmdb.open(str(data_dir), map_size=1 << 30)
        self.txn = self.env.begin(write=True)

    def close(self):
        self.txn.commit()
        self.env.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def meta(self, name):
        stored = self.txn.get(b"M" + name)
        if stored is None:
            return None
        return int.from_bytes(unsealed(b"M" + name, stored), "big")

    def set_meta(self, name, value):
        key = b"M" + name
        if value is None:
            self.txn.delete(key)
        else:
            self.txn.put(key, sealed(key, value.to_bytes(8, "big")))

    def keys(self, prefix):
        with self.txn.cursor() as cur:
            if not cur.set_range(prefix):
                return []
            return [k for k in cur.iternext(values=False)
                    if k.startswith(prefix)]

    def records(self):
        """{key: decoded record} of every workflow record (W id w)."""
        out = {}
        for k in self.keys(b"W"):
            if len(k) == 28 and k.endswith(b"w"):
                out[k] = msgpack.unpackb(unsealed(k, self.txn.get(k)),
                                         raw=False)
        return out

    def put_record(self, key, record):
        self.txn.put(key, sealed(key, msgpack.packb(record,
                                                    use_bin_type=True)))


def as_layout2(record):
    """A layout-3 workflow record as exitflowd wrote it before layout 3."""
    assert record[0] == 3 and len(record) == 20
    old = [2] + record[1:18]
    for m in old[14]:
        del m[7]                        # birth_date
        if m[4] is None:                # adult: always a bool then
            m[4] = True
    return old


def as_older_layout(data_dir):
    """The stopped store at `data_dir` as schema 2 before the key indexes
    wrote it: no F or T entries, every workflow record of layout 2."""
    with RawStore(data_dir) as raw:
        raw.set_meta(b"format", 2)
        for prefix in (b"F", b"T"):
            for k in raw.keys(prefix):
                raw.txn.delete(k)
        for key, record in raw.records().items():
            raw.put_record(key, as_layout2(record))


# ---- running a daemon -------------------------------------------------------

def filled_store(make_daemon):
    """A stopped daemon whose store holds three households' exits in
    different states, and what it answered about them."""
    d = make_daemon()
    c = d.client()
    seen = {"households": []}
    for n in range(3):
        h = Household()
        wf = h.start(c, actor="cw-%d" % n)
        c.save(wf, h.hoh, "exit", data=exit_form(), actor="cw-x")
        if n == 1:
            c.cancel(wf, "started for the wrong household")
        seen["households"].append((h, wf))
    seen["views"] = {wf: c.get(wf) for _, wf in seen["households"]}
    seen["events"] = read_all_events(c)
    seen["by_client"] = {h.hoh: c.list(client_id=h.hoh)["workflows"]
                         for h, _ in seen["households"]}
    d.stop()
    return d, seen


def file_digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_to_exit(data_dir, *extra):
    r = subprocess.run([daemon_binary(), "--data", str(data_dir),
                        "--commands", "tcp://127.0.0.1:%d" % free_port(),
                        "--events", "tcp://127.0.0.1:%d" % free_port()]
                       + list(extra), capture_output=True, text=True,
                       timeout=30)
    return r


def error_lines(r):
    return [line for line in r.stderr.splitlines() if " error: " in line]


def without(view, *keys):
    return {k: v for k, v in view.items() if k not in keys}


def check_upgraded(d, seen, with_last_actor):
    """The daemon upgraded the store, says so, and serves what it served."""
    assert "upgraded from schema 2 to %d" % CURRENT in d.log()
    c = d.client()
    assert c.stats()["store"]["schema"] == CURRENT
    for _, wf in seen["households"]:
        view = c.get(wf)
        if with_last_actor:
            assert view == seen["views"][wf]
        else:
            assert without(view, "last_actor") == without(
                seen["views"][wf], "last_actor")
    assert read_all_events(c) == seen["events"]
    for h, _ in seen["households"]:
        listed = c.list(client_id=h.hoh)["workflows"]
        keep = ("workflow_id", "state", "household_id", "created_at")
        assert [{k: w[k] for k in keep} for w in listed] == [
            {k: w[k] for k in keep} for w in seen["by_client"][h.hoh]]
    # and it goes on
    h = Household()
    wf = h.start(c)
    c.save(wf, h.hoh, "exit", data=exit_form())
    d.stop()
    with RawStore(d.data_dir) as raw:
        assert raw.meta(b"format") == CURRENT
        assert raw.meta(b"indexes") is None
        assert {r[0] for r in raw.records().values()} == {CURRENT}


# ---- the tests ---------------------------------------------------------------

def test_previous_release_layout_upgraded(make_daemon):
    """Schema 2 with its key indexes (the release before issue 12)."""
    d, seen = filled_store(make_daemon)
    with RawStore(d.data_dir) as raw:
        assert raw.meta(b"format") == CURRENT
        raw.set_meta(b"format", 2)
        raw.set_meta(b"indexes", 1)
    d.start()
    check_upgraded(d, seen, with_last_actor=True)


def test_older_layout_upgraded(make_daemon):
    """Schema 2 before the key indexes: no F or T entries, and every
    workflow record of layout 2."""
    d, seen = filled_store(make_daemon)
    as_older_layout(d.data_dir)
    d.start()
    check_upgraded(d, seen, with_last_actor=False)


def test_an_upgrade_that_needs_room_grows_the_map(make_daemon):
    """The older layout's upgrade rewrites every record and writes the
    indexes: in a map barely larger than the file it meets the end of the
    map, which grows (up to --max-map-size) and the upgrade runs again."""
    d, seen = filled_store(make_daemon)
    d.start()
    c = d.client()
    for _ in range(150):                # records and index entries to rewrite
        Household().start(c)
    seen["events"] = read_all_events(c)
    d.stop()
    as_older_layout(d.data_dir)
    size = (d.data_dir / "data.mdb").stat().st_size
    tight = (size // 4096 + 1) * 4096
    d.extra_args = ["--map-size", str(tight),
                    "--max-map-size", str(64 << 20)]
    d.start()
    assert d.client().stats()["store"]["map_size"] > tight    # it grew
    check_upgraded(d, seen, with_last_actor=False)


@pytest.mark.parametrize("newer", [CURRENT + 1, 1000])
def test_newer_schema_refused_untouched(make_daemon, newer):
    d, seen = filled_store(make_daemon)
    with RawStore(d.data_dir) as raw:
        raw.set_meta(b"format", newer)
    data = d.data_dir / "data.mdb"
    before = file_digest(data)
    r = run_to_exit(d.data_dir)
    assert r.returncode == EXIT_VERSION, r.stderr
    lines = error_lines(r)
    assert len(lines) == 1, r.stderr
    assert "schema %d" % newer in lines[0] and "newer" in lines[0], lines
    assert file_digest(data) == before
    # --verify says the same, with the same status
    v = subprocess.run([daemon_binary(), "--verify", str(d.data_dir)],
                       capture_output=True, text=True, timeout=60)
    assert v.returncode == EXIT_VERSION, v.stdout + v.stderr
    assert "newer" in v.stderr
    assert file_digest(data) == before
    # marked with this schema again, it is served as it was
    with RawStore(d.data_dir) as raw:
        raw.set_meta(b"format", CURRENT)
    d.start()
    c = d.client()
    assert read_all_events(c) == seen["events"]


def test_first_schema_refused(tmp_path):
    """A store of the first, unsealed schema: no upgrade, exit 13."""
    env = lmdb.open(str(tmp_path / "old"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"L" + (1).to_bytes(8, "big"), b"an unsealed event")
    env.close()
    r = run_to_exit(tmp_path / "old")
    assert r.returncode == EXIT_VERSION, r.stderr
    lines = error_lines(r)
    assert len(lines) == 1 and "older exitflowd" in lines[0], r.stderr


def test_help_names_exit_13():
    r = subprocess.run([daemon_binary(), "--help"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0
    assert "13 the store is of a schema this exitflowd does not serve" \
        in r.stdout
