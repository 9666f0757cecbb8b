"""simulate_chunk: reco-contract keys and dtypes, offsets, truth convention, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

from detector.config import DetectorConfig
from detector.simulate import RECO_KEYS, simulate_chunk
from detector.tracking import charge_from_particle
from gen.constants import M_MU, M_PI, mass_gev
from gen.streams import DETECTOR, stream

DTYPES = {
    "trigger": np.uint32, "track_offset": np.int64, "cluster_offset": np.int64,
    "tracks/charge": np.int8, "tracks/pid": np.int32, "tracks/truth": np.int32,
    "tracks/mu_id": np.float32, "tracks/e_id": np.float32, "tracks/pi_id": np.float32,
    "tracks/k_id": np.float32, "clusters/truth": np.int32,
}
MASS = {13: M_MU, 211: M_PI, 22: 0.0, 11: mass_gev(11), 321: mass_gev(321), 12: 0.0,
        111: mass_gev(111), 2212: mass_gev(2212)}


def mixed_events(n, seed=0):
    """Events of 0-7 particles drawn from a visible/invisible mix, with a decayed mother."""
    rng = np.random.default_rng(seed)
    ids = np.array([13, -13, 211, -211, 22, 11, -321, 12, 111, 2212])
    mult = rng.integers(0, 8, n)
    offset = np.concatenate([[0], np.cumsum(mult)]).astype(np.int64)
    m = int(offset[-1])
    pdg = rng.choice(ids, m).astype(np.int32)
    p = rng.uniform(0.05, 5.0, m)
    ct = rng.uniform(-1, 1, m)
    ph = rng.uniform(-np.pi, np.pi, m)
    st = np.sqrt(1 - ct * ct)
    mass = np.array([MASS[abs(int(x))] for x in pdg])
    status = np.where(rng.random(m) < 0.1, 2, 1).astype(np.int8)
    particles = {
        "pdg": pdg, "status": status, "mother": np.full(m, -1, np.int32),
        "px": p * st * np.cos(ph), "py": p * st * np.sin(ph), "pz": p * ct,
        "e": np.sqrt(p * p + mass * mass), "vx": rng.normal(0, 0.01, m),
        "vy": rng.normal(0, 0.01, m), "vz": rng.normal(0, 0.3, m), "t": np.zeros(m),
    }
    return particles, offset


def test_contract_keys_dtypes_and_offsets():
    n = 3000
    particles, offset = mixed_events(n)
    out = simulate_chunk(particles, offset, np.random.default_rng(1), DetectorConfig())
    assert tuple(out) == RECO_KEYS
    for key, arr in out.items():
        assert arr.dtype == DTYPES.get(key, np.float64), key
        assert arr.ndim == 1
    assert out["trigger"].shape == (n,)
    for kind, prefix in (("track", "tracks/"), ("cluster", "clusters/")):
        off = out[f"{kind}_offset"]
        assert off.shape == (n + 1,)
        assert off[0] == 0
        assert np.all(np.diff(off) >= 0)
        for key in RECO_KEYS:
            if key.startswith(prefix):
                assert out[key].shape == (off[-1],), key
    assert out["track_offset"][-1] > 0
    assert out["cluster_offset"][-1] > 0


def test_truth_is_the_index_within_the_event():
    n = 3000
    particles, offset = mixed_events(n, seed=4)
    out = simulate_chunk(particles, offset, np.random.default_rng(2), DetectorConfig())
    ev = np.repeat(np.arange(n), np.diff(out["track_offset"]))
    truth = out["tracks/truth"]
    assert np.all(truth >= 0)
    assert np.all(truth < np.diff(offset)[ev])
    gen = offset[ev] + truth
    assert np.all(particles["status"][gen] == 1)
    charges = np.array([charge_from_particle(int(x)) for x in particles["pdg"][gen]])
    np.testing.assert_array_equal(out["tracks/charge"], charges)
    p_reco = np.sqrt(out["tracks/px"] ** 2 + out["tracks/py"] ** 2 + out["tracks/pz"] ** 2)
    p_gen = np.sqrt(particles["px"][gen] ** 2 + particles["py"][gen] ** 2
                    + particles["pz"][gen] ** 2)
    assert np.median(np.abs(p_reco / p_gen - 1)) < 0.01
    cev = np.repeat(np.arange(n), np.diff(out["cluster_offset"]))
    ctruth = out["clusters/truth"]
    assert np.all((ctruth >= 0) & (ctruth < np.diff(offset)[cev]))
    assert np.all(particles["pdg"][offset[cev] + ctruth] != 12)


def test_deterministic_for_a_given_stream():
    particles, offset = mixed_events(500, seed=8)
    cfg = DetectorConfig()
    a = simulate_chunk(particles, offset, stream(5, DETECTOR, 0), cfg)
    b = simulate_chunk(particles, offset, stream(5, DETECTOR, 0), cfg)
    c = simulate_chunk(particles, offset, stream(5, DETECTOR, 1), cfg)
    for key in RECO_KEYS:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["tracks/px"], c["tracks/px"])


def test_empty_inputs():
    empty = {k: np.zeros(0) for k in ("px", "py", "pz", "e", "vx", "vy", "vz", "t")}
    empty |= {"pdg": np.zeros(0, np.int32), "status": np.zeros(0, np.int8),
              "mother": np.zeros(0, np.int32)}
    out = simulate_chunk(empty, np.zeros(1, np.int64), np.random.default_rng(0), DetectorConfig())
    assert out["trigger"].shape == (0,)
    np.testing.assert_array_equal(out["track_offset"], [0])
    out = simulate_chunk(empty, np.zeros(4, np.int64), np.random.default_rng(0), DetectorConfig())
    np.testing.assert_array_equal(out["cluster_offset"], [0, 0, 0, 0])
    np.testing.assert_array_equal(out["trigger"], [0, 0, 0])


def test_bad_inputs_raise_value_error():
    particles, offset = mixed_events(10)
    cfg = DetectorConfig()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="offset"):
        simulate_chunk(particles, offset[:-1], rng, cfg)
    with pytest.raises(ValueError, match="offset"):
        simulate_chunk(particles, offset + 1, rng, cfg)
    with pytest.raises(ValueError, match="lack"):
        simulate_chunk({k: v for k, v in particles.items() if k != "pz"}, offset, rng, cfg)
    with pytest.raises(ValueError, match="Generator"):
        simulate_chunk(particles, offset, 42, cfg)
    bad = dict(particles, px=np.full_like(particles["px"], np.nan))
    with pytest.raises(ValueError, match="non-finite"):
        simulate_chunk(bad, offset, rng, cfg)
