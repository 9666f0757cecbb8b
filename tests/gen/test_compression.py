"""HDF5 compression is an option (issue 4): same data read back, smaller files, one-line errors."""

import h5py
import numpy as np
import pytest

from analysis.cli import main
from gen.io import COMPRESSION_ENV, compression_filter

SIGNAL = """schema_version = 1
[sample]
process = "mumu_zprime"
events = 20000
seed = 5
[process]
mass_gev = 1.0
g_prime = 1.0e-3
"""


@pytest.fixture
def card(tmp_path, monkeypatch):
    # the command line sets the variable for its process: restore it after each test
    monkeypatch.delenv(COMPRESSION_ENV, raising=False)
    path = tmp_path / "sig.toml"
    path.write_text(SIGNAL)
    return path


def _read(path):
    data, filters = {}, {}
    with h5py.File(path) as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data[name] = obj[()]
                filters[name] = obj.compression
        f.visititems(visit)
    return data, filters


@pytest.mark.parametrize(("spec", "want"), [
    (None, {}), ("none", {}), ("", {}), ("lzf", {"compression": "lzf", "shuffle": True}),
    ("gzip", {"compression": "gzip", "compression_opts": 4, "shuffle": True}),
    ("GZIP:9", {"compression": "gzip", "compression_opts": 9, "shuffle": True}),
])
def test_compression_specs(spec, want, monkeypatch):
    monkeypatch.delenv(COMPRESSION_ENV, raising=False)
    assert compression_filter(spec) == want


@pytest.mark.parametrize("spec", ["zstd", "gzip:10", "gzip:x", "lzf:3", "none:1"])
def test_bad_specs_name_the_choices(spec):
    with pytest.raises(ValueError, match="lzf, gzip"):
        compression_filter(spec)


def test_compressed_files_hold_the_same_data(card, tmp_path, monkeypatch):
    plain, gz, lzf = tmp_path / "plain.h5", tmp_path / "gz.h5", tmp_path / "lzf.h5"
    assert main(["generate", str(card), "-o", str(plain)]) == 0
    assert main(["generate", str(card), "-o", str(gz), "--compression", "gzip"]) == 0
    monkeypatch.setenv(COMPRESSION_ENV, "lzf")  # the environment alone selects it too
    assert main(["generate", str(card), "-o", str(lzf)]) == 0
    ref, ref_filters = _read(plain)
    assert set(ref_filters.values()) == {None}
    for path, name in ((gz, "gzip"), (lzf, "lzf")):
        data, filters = _read(path)
        assert data.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(data[key], ref[key], err_msg=f"{name}: {key}")
        assert set(filters.values()) == {name}
        assert path.stat().st_size < plain.stat().st_size
    # the detector stage compresses its reco file the same way
    monkeypatch.delenv(COMPRESSION_ENV)
    reco_plain, reco_lzf = tmp_path / "r.h5", tmp_path / "r_lzf.h5"
    assert main(["simulate", str(plain), "-o", str(reco_plain)]) == 0
    assert main(["simulate", str(plain), "-o", str(reco_lzf), "--compression", "lzf"]) == 0
    ref, _ = _read(reco_plain)
    data, filters = _read(reco_lzf)
    assert data.keys() == ref.keys()
    assert set(filters.values()) == {"lzf"}
    for key in ref:
        np.testing.assert_array_equal(data[key], ref[key], err_msg=f"reco: {key}")


def test_a_bad_compression_fails_in_one_line_and_writes_nothing(card, tmp_path, capsys,
                                                               monkeypatch):
    out = tmp_path / "ev.h5"
    assert main(["generate", str(card), "-o", str(out), "--compression", "zstd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--compression" in err
    assert "gzip" in err
    monkeypatch.setenv(COMPRESSION_ENV, "bzip2")
    assert main(["generate", str(card), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert COMPRESSION_ENV in err
    assert list(tmp_path.iterdir()) == [card]
