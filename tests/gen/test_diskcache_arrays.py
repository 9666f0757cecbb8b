"""gen/diskcache.py, arrays: exact round trip, rebuilt when corrupted, atomic under concurrency."""

import threading
import types

import numpy as np
import pytest

from gen import diskcache
from gen.diskcache import cached_arrays, content_key, source_key


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _compute(calls):
    def compute():
        calls.append(1)
        rng = np.random.default_rng(1)
        arrays = {"f": rng.standard_normal(1000), "i": np.arange(12, dtype=np.int64).reshape(3, 4),
                  "b": np.array([np.nan, -0.0, np.inf])}
        return arrays, {"third": 1.0 / 3.0, "names": ["B0", "anti-B0"]}

    return compute


def _same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype
        assert a[k].shape == b[k].shape
        assert a[k].tobytes() == b[k].tobytes()  # bit for bit, NaN and -0.0 included


def test_stored_once_and_read_back_bit_for_bit(folder):
    calls = []
    a1, m1 = cached_arrays("t", {"v": 1}, _compute(calls))
    a2, m2 = cached_arrays("t", {"v": 1}, _compute(calls))
    assert len(calls) == 1
    _same(a1, a2)
    assert m1 == m2 == {"third": 1.0 / 3.0, "names": ["B0", "anti-B0"]}
    assert all(a.flags.c_contiguous for a in a2.values())
    cached_arrays("t", {"v": 2}, _compute(calls))
    assert len(calls) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "foreign"])
def test_corrupted_file_is_silently_rebuilt(folder, damage):
    calls = []
    ref, _ = cached_arrays("t", {"v": 1}, _compute(calls))
    (path,) = folder.glob("t-*.npz")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(data[:100] + bytes(reversed(data[100:])))
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a valid npz without our metadata
        np.savez(path, f=np.zeros(3))
    again, _ = cached_arrays("t", {"v": 1}, _compute(calls))
    assert len(calls) == 2
    _same(ref, again)
    cached_arrays("t", {"v": 1}, _compute(calls))  # the rebuilt file is good
    assert len(calls) == 2
    assert not list(folder.glob(".*tmp-*"))


def test_concurrent_writers_leave_one_whole_file(folder):
    calls, results, errors = [], [], []

    def worker():
        try:
            results.append(cached_arrays("c", {"v": 1}, _compute(calls)))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for arrays, _ in results[1:]:
        _same(results[0][0], arrays)
    assert len(list(folder.glob("c-*.npz"))) == 1
    assert not list(folder.glob(".*tmp-*"))


def test_old_entries_are_pruned(folder):
    calls = []
    for v in range(diskcache.KEEP_ENTRIES + 3):
        cached_arrays("p", {"v": v}, _compute(calls))
    assert len(list(folder.glob("p-*.npz"))) == diskcache.KEEP_ENTRIES
    cached_arrays("p", {"v": diskcache.KEEP_ENTRIES + 2}, _compute(calls))  # newest kept
    assert len(calls) == diskcache.KEEP_ENTRIES + 3


def test_unwritable_cache_still_gives_the_arrays(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(blocker / "sub"))
    calls = []
    a, _ = cached_arrays("u", {"v": 1}, _compute(calls))
    b, _ = cached_arrays("u", {"v": 1}, _compute(calls))
    _same(a, b)
    assert len(calls) == 2


def test_content_and_source_keys_follow_the_bytes(tmp_path):
    f = tmp_path / "a.dec"
    f.write_text("Decay B0\n")
    k = content_key(f)
    g = tmp_path / "copy.dec"
    g.write_bytes(f.read_bytes())
    assert content_key(g) == k  # content, not path or mtime
    f.write_text("Decay B+\n")
    assert content_key(f) != k
    src = tmp_path / "mod.py"
    src.write_text("X = 1\n")
    mod = types.SimpleNamespace(__name__="mod", __file__=str(src))
    s1 = source_key(mod)
    src.write_text("X = 2\n")
    assert source_key(mod) != s1
