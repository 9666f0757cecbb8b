"""Reproducibility under stress (issue 5).

- Same card and seed: the same events file, bit for bit, across runs, worker counts (1, 2),
  work-chunk sizes (``chunk_blocks``) and HDF5 chunk shapes (gen/io.py sizes them adaptively).
- A different seed: different events, with a statistically compatible cross section.
- The detector draws from its own stream (gen/streams.py domain DETECTOR): simulating never
  touches the events file, and a detector setting changes the reco only in the quantities it acts
  on (e.g. the muon-ID efficiency changes PID outputs, never track momenta or clusters).

Samples are tiny: two reproducibility blocks and a bit (gen.streams.BLOCK_EVENTS = 8192), so the
block and chunk boundaries are crossed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math

import h5py
import numpy as np
import pytest

from detector.config import DetectorConfig
from detector.reco_io import simulate_file
from gen.generate import generate_sample
from gen.runcard import parse_sample
from gen.streams import BLOCK_EVENTS

N_EVENTS = 2 * BLOCK_EVENTS + 100


def _card(seed: int = 11, events: int = N_EVENTS):
    table = {
        "sample": {"process": "mumu_zprime", "events": events, "seed": seed},
        "process": {"mass_gev": 1.5, "isr": True},
    }
    return parse_sample(table, "", "repro.toml")


def read(path) -> tuple[dict[str, np.ndarray], dict]:
    """Every dataset and the root attributes of an HDF5 file."""
    data: dict[str, np.ndarray] = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: data.__setitem__(name, obj[()])
            if isinstance(obj, h5py.Dataset) else None
        )
        attrs = dict(f.attrs)
    return data, attrs


def assert_same_file(a, b) -> None:
    da, aa = read(a)
    db, ab = read(b)
    assert da.keys() == db.keys()
    for key in da:
        np.testing.assert_array_equal(da[key], db[key], err_msg=key)
        assert da[key].dtype == db[key].dtype, key
    assert aa.keys() == ab.keys()
    for key in aa:
        assert np.array_equal(aa[key], ab[key]), key


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ev.h5"
    generate_sample(_card(), path)
    return path


def test_same_card_and_seed_give_the_same_file(reference, tmp_path):
    generate_sample(_card(), tmp_path / "again.h5")
    assert_same_file(reference, tmp_path / "again.h5")


@pytest.mark.skipif(
    "chunk_blocks" not in inspect.signature(generate_sample).parameters,
    reason="generate_sample has no chunk_blocks knob",
)
@pytest.mark.parametrize("chunk_blocks", [1, 2])
def test_work_chunking_does_not_change_the_events(reference, tmp_path, chunk_blocks):
    generate_sample(_card(), tmp_path / "ev.h5", chunk_blocks=chunk_blocks)
    assert_same_file(reference, tmp_path / "ev.h5")


def test_hdf5_chunk_shape_does_not_change_the_events(reference, tmp_path, monkeypatch):
    import gen.io

    monkeypatch.setattr(gen.io, "_CHUNK_BYTES", 4096)
    generate_sample(_card(), tmp_path / "ev.h5")
    with h5py.File(tmp_path / "ev.h5") as small, h5py.File(reference) as ref:
        # the knob acted: 4 KiB chunks hold 512 float64 values
        assert small["particles/px"].chunks[0] == 512
        assert ref["particles/px"].chunks[0] > 512
    assert_same_file(reference, tmp_path / "ev.h5")


# another Dask cluster on this machine may hold the default HTTP port: distributed then moves to
# another port and leaks the probe socket (warnings of distributed, not of b2dark)
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_two_workers_give_the_same_file(reference, tmp_path):
    generate_sample(_card(), tmp_path / "ev.h5", workers=2)
    assert_same_file(reference, tmp_path / "ev.h5")


def test_a_different_seed_gives_different_events(reference, tmp_path):
    generate_sample(_card(seed=12), tmp_path / "ev.h5")
    a, attrs_a = read(reference)
    b, attrs_b = read(tmp_path / "ev.h5")
    assert attrs_b["seed"] == 12
    n = min(a["particles/px"].size, b["particles/px"].size)
    assert np.mean(a["particles/px"][:n] == b["particles/px"][:n]) < 1e-3
    # independent estimates of the same cross section: compatible within 5 sigma
    diff = attrs_a["cross_section_pb"] - attrs_b["cross_section_pb"]
    sigma = math.hypot(attrs_a["cross_section_err_pb"], attrs_b["cross_section_err_pb"])
    assert 0.0 < abs(diff) < 5.0 * sigma


# ------------------------------------------------------------------ the detector's own stream


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _with(section: str, key: str, value) -> DetectorConfig:
    base = DetectorConfig()
    return dataclasses.replace(
        base, **{section: dataclasses.replace(getattr(base, section), **{key: value})}
    )


@pytest.fixture(scope="module")
def detector_runs(tmp_path_factory):
    """One small events file (ISR photons give clusters) and its default reco file."""
    d = tmp_path_factory.mktemp("det")
    generate_sample(_card(seed=21, events=3000), d / "ev.h5")
    digest = _sha256(d / "ev.h5")
    simulate_file(d / "ev.h5", d / "default.h5", DetectorConfig())
    return d, digest


def test_simulation_leaves_the_events_file_untouched(detector_runs):
    d, digest = detector_runs
    simulate_file(d / "ev.h5", d / "again.h5", _with("pid", "mu_efficiency", 0.5))
    assert _sha256(d / "ev.h5") == digest
    events, _ = read(d / "ev.h5")
    reco, attrs = read(d / "again.h5")
    assert attrs["events_sha256"] == digest
    np.testing.assert_array_equal(reco["events/weight"], events["events/weight"])
    # the same detector card and seed: the same reco file
    simulate_file(d / "ev.h5", d / "default2.h5", DetectorConfig())
    assert_same_file(d / "default.h5", d / "default2.h5")


TRACK_KINEMATICS = {"tracks/px", "tracks/py", "tracks/pz", "tracks/vx", "tracks/vy",
                    "tracks/vz", "tracks/d0", "tracks/z0"}
PID_OUTPUTS = {"tracks/pid", "tracks/mu_id", "tracks/e_id", "tracks/pi_id", "tracks/k_id"}
CLUSTERS = {"clusters/e", "clusters/theta", "clusters/phi"}
TRACK_LIST = {"events/track_offset", "tracks/charge", "tracks/truth"}
CLUSTER_LIST = {"events/cluster_offset", "clusters/truth"}

SETTINGS = [
    # (section, key, value, what it may change, what it must change)
    pytest.param("pid", "mu_efficiency", 0.5, PID_OUTPUTS, {"tracks/mu_id"}, id="muon-ID eff"),
    pytest.param("pid", "pi_to_mu", 0.2, PID_OUTPUTS, set(), id="pi->mu fake rate"),
    pytest.param("calorimeter", "sigma_angle_a_mrad", 10.0, CLUSTERS | {"events/trigger"},
                 {"clusters/theta"}, id="ECL angular resolution"),
    # the angular resolution is evaluated at the measured energy, so angles may move too
    pytest.param(
        "calorimeter", "res_constant", 0.05, CLUSTERS | CLUSTER_LIST | {"events/trigger"},
        {"clusters/e"}, id="ECL energy resolution",
    ),
    # PID and trigger thresholds act on measured momenta
    pytest.param("tracking", "sigma_pt_a_per_gev", 0.005,
                 TRACK_KINEMATICS | PID_OUTPUTS | {"events/trigger"}, {"tracks/px"},
                 id="pT resolution"),
    pytest.param(
        "trigger", "trk2d_efficiency", 0.5, {"events/trigger"}, set(), id="L1 track efficiency",
    ),
    pytest.param(
        "tracking", "efficiency", 0.9,
        TRACK_KINEMATICS | PID_OUTPUTS | TRACK_LIST | {"events/trigger"}, {"tracks/px"},
        id="tracking efficiency",
    ),
    pytest.param(
        "calorimeter", "beam_bkg_clusters_mean", 1.0,
        CLUSTERS | CLUSTER_LIST | {"events/trigger"}, {"clusters/e"},
        id="beam background",
    ),
]


@pytest.mark.parametrize(("section", "key", "value", "may", "must"), SETTINGS)
def test_a_detector_setting_changes_only_what_it_acts_on(detector_runs, section, key, value,
                                                         may, must):
    d, digest = detector_runs
    out = d / f"{section}-{key}.h5"
    simulate_file(d / "ev.h5", out, _with(section, key, value))
    assert _sha256(d / "ev.h5") == digest
    ref, _ = read(d / "default.h5")
    new, _ = read(out)
    assert ref.keys() == new.keys()
    changed = {
        k for k in ref if ref[k].shape != new[k].shape or not np.array_equal(ref[k], new[k])
    }
    assert changed <= may, f"{key} changed {sorted(changed - may)}"
    assert must <= changed, f"{key} did not change {sorted(must - changed)}"
    # the generator truth copied into the reco file never changes
    assert not {k for k in changed if k.startswith(("truth/", "events/weight"))}
