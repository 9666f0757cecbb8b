"""gen/diskcache.py: computed once per key, read back exactly, robust to bad or missing files."""

import json
import os

import pytest

from gen.diskcache import cache_dir, cached_json, file_key


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_computed_once_then_read_back_bit_for_bit(folder):
    value = {"m_mu": 0.1056583755, "third": 1.0 / 3.0, "modes": [["mu-", "anti-nu_mu"]]}
    compute, calls = _counting(value)
    assert cached_json("masses", {"v": 1}, compute) == value
    assert cached_json("masses", {"v": 1}, compute) == value  # floats exact through JSON
    assert len(calls) == 1
    assert cache_dir() == folder
    assert len(list(folder.glob("masses-*.json"))) == 1


def test_another_key_or_name_is_computed_again(folder):
    compute, calls = _counting([1, 2])
    cached_json("a", {"v": 1}, compute)
    cached_json("a", {"v": 2}, compute)
    cached_json("b", {"v": 1}, compute)
    assert len(calls) == 3


def test_corrupt_or_foreign_files_are_recomputed(folder):
    compute, calls = _counting(7)
    cached_json("x", {"v": 1}, compute)
    (path,) = folder.glob("x-*.json")
    path.write_text("{not json")
    assert cached_json("x", {"v": 1}, compute) == 7
    path.write_text(json.dumps({"format": "other", "key": {"v": 1}, "value": 8}))
    assert cached_json("x", {"v": 1}, compute) == 7
    assert len(calls) == 3
    assert not list(folder.glob(".*tmp-*"))


def test_unwritable_cache_still_gives_the_value(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(blocker / "sub"))
    compute, calls = _counting(3.5)
    assert cached_json("y", {"v": 1}, compute) == 3.5
    assert cached_json("y", {"v": 1}, compute) == 3.5
    assert len(calls) == 2


def test_file_key_changes_with_the_file(tmp_path):
    f = tmp_path / "in.dec"
    f.write_text("Decay tau-\n")
    k1 = file_key(f)
    f.write_text("Decay tau-\n0.1 mu- anti-nu_mu nu_tau PHOTOS TAULNUNU;\n")
    os.utime(f, ns=(k1["mtime_ns"] + 10**9, k1["mtime_ns"] + 10**9))
    assert file_key(f) != k1
