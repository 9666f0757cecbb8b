"""gen/decays/generic.py: the decay tables from the on-disk cache equal freshly built ones."""

import numpy as np
import pytest

from gen.decays import generic as g


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache folder; the in-memory tables are forgotten before and after."""
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(tmp_path / "cache"))
    g._all_tables.cache_clear()
    g.decay_tables.cache_clear()
    yield tmp_path / "cache"
    g._all_tables.cache_clear()
    g.decay_tables.cache_clear()


@pytest.fixture(scope="module")
def fresh():
    """Tables built from the DEC file, bypassing the disk cache."""
    return g._fresh_tables()


def _assert_same(a, b):
    tb_a, modes_a, cov_a, models_a = a
    tb_b, modes_b, cov_b, models_b = b
    for field in g.DecayTables._fields:
        x, y = getattr(tb_a, field), getattr(tb_b, field)
        assert x.dtype == y.dtype, field
        assert x.shape == y.shape, field
        np.testing.assert_array_equal(x, y, err_msg=field, strict=True)  # exact, NaN == NaN
        assert y.flags.writeable, field
        assert y.flags.c_contiguous, field
    assert modes_a == modes_b
    assert cov_a == cov_b
    assert list(cov_a) == list(cov_b)
    assert models_a == models_b


def _from_disk():
    g._all_tables.cache_clear()
    return g._all_tables()


def test_cached_tables_equal_freshly_built_ones(fresh_cache, fresh):
    first = g._all_tables()  # builds and stores
    assert len(list(fresh_cache.glob("decay-tables-*.npz"))) == 1
    _assert_same(fresh, first)
    _assert_same(fresh, _from_disk())
    # the public API over the loaded tables
    assert g.decay_modes() == fresh[1]
    assert g.coverage() == fresh[2]
    assert g.model_summary() == fresh[3]


def test_loading_does_not_parse_the_dec_file(fresh_cache, fresh, monkeypatch):
    g._all_tables()

    def no_parse():
        raise AssertionError("the DEC file was parsed although the cache holds the tables")

    monkeypatch.setattr(g, "_raw_table", no_parse)
    _assert_same(fresh, _from_disk())


def test_corrupted_cache_file_is_silently_rebuilt(fresh_cache, fresh):
    g._all_tables()
    (path,) = fresh_cache.glob("decay-tables-*.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    _assert_same(fresh, _from_disk())
    assert path.stat().st_size == len(data)  # written again, whole
    _assert_same(fresh, _from_disk())


def test_key_follows_the_dec_content_not_its_path(tmp_path, monkeypatch):
    key = g.tables_key()
    text = g.dec_file_path().read_text(encoding="utf-8", errors="surrogateescape")
    copy = tmp_path / "DECAY_BELLE2.DEC"
    copy.write_text(text, encoding="utf-8", errors="surrogateescape")
    monkeypatch.setattr(g, "dec_file_path", lambda: copy)
    assert g.tables_key() == key
    # one BF changed: another key, so the tables are rebuilt
    edited = tmp_path / "edited.DEC"
    edited.write_text(text.replace("Decay B0\n", "Decay B0\n0.0001 pi+ pi- PHSP;\n", 1),
                      encoding="utf-8", errors="surrogateescape")
    monkeypatch.setattr(g, "dec_file_path", lambda: edited)
    assert "Decay B0\n" in text
    assert g.tables_key()["dec_sha256"] != key["dec_sha256"]
    assert g.tables_key()["code_sha256"] == key["code_sha256"]


def test_dec_block_matches_the_parser(tmp_path, monkeypatch):
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(tmp_path / "cache"))
    parser = g.dec_parser()
    expected = [parser._decay_mode_details(t) for t in parser._find_decay_modes("Upsilon(4S)")]
    for _ in range(2):  # computed, then read back
        rows = g.dec_block("Upsilon(4S)")
        assert [r["bf"] for r in rows] == [float(d["bf"]) for d in expected]
        assert [r["fs"] for r in rows] == [list(d["fs"]) for d in expected]
        assert [r["model"] for r in rows] == [str(d["model"]) for d in expected]
