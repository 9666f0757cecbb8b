"""PID: efficiencies and fake rates at the working points, thresholds, probability consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from detector.config import DetectorConfig, PIDConfig
from detector.pid import H_E, H_K, H_MU, H_PI, hypothesis_pdg, id_row1, pid_params
from detector.simulate import simulate_chunk
from gen.cards import CardError
from gen.constants import M_E, M_K, M_MU, M_PI, mass_gev

MASS = {11: M_E, 13: M_MU, 211: M_PI, 321: M_K, 2212: mass_gev(2212)}
CFG = DetectorConfig.from_toml({"tracking": {"efficiency": 1.0}}, "test")


def tracks_of(pdg, p, theta_deg, n=100_000, seed=1):
    phi = np.linspace(-3, 3, n)
    theta = math.radians(theta_deg)
    m = MASS[abs(pdg)]
    particles = {
        "pdg": np.full(n, pdg, np.int32), "status": np.ones(n, np.int8),
        "mother": np.full(n, -1, np.int32),
        "px": p * math.sin(theta) * np.cos(phi), "py": p * math.sin(theta) * np.sin(phi),
        "pz": np.full(n, p * math.cos(theta)), "e": np.full(n, math.hypot(p, m)),
        "vx": np.zeros(n), "vy": np.zeros(n), "vz": np.zeros(n), "t": np.zeros(n),
    }
    out = simulate_chunk(particles, np.arange(n + 1, dtype=np.int64),
                         np.random.default_rng(seed), CFG)
    assert out["tracks/px"].shape[0] == n
    return out


def fraction_close(got, expected, n):
    return abs(got - expected) <= 5 * math.sqrt(max(expected * (1 - expected), 1e-12) / n)


@pytest.mark.parametrize(
    ("pdg", "key", "wp", "expected"),
    [
        (13, "mu_id", "mu_working_point", CFG.pid.mu_efficiency),
        (-211, "mu_id", "mu_working_point", CFG.pid.pi_to_mu),
        (321, "mu_id", "mu_working_point", CFG.pid.k_to_mu),
        (11, "mu_id", "mu_working_point", CFG.pid.e_to_mu),
        (-11, "e_id", "e_working_point", CFG.pid.e_efficiency),
        (211, "e_id", "e_working_point", CFG.pid.pi_to_e),
        (-321, "k_id", "k_working_point", CFG.pid.k_efficiency),
        (211, "k_id", "k_working_point", CFG.pid.pi_to_k),
        (2212, "k_id", "k_working_point", CFG.pid.p_to_k),
    ],
)
def test_rates_at_the_working_point(pdg, key, wp, expected):
    n = 100_000
    out = tracks_of(pdg, 2.0, 90.0, n, seed=abs(pdg))
    got = np.mean(out[f"tracks/{key}"] > getattr(CFG.pid, wp))
    assert fraction_close(got, expected, n), (got, expected)


@pytest.mark.parametrize(
    ("p", "theta_deg"),
    [(0.69, 90.0), (2.0, 20.0), (2.0, 24.9)],  # below the KLM threshold, outside its acceptance
)
def test_no_muon_id_without_the_klm(p, theta_deg):
    out = tracks_of(13, p, theta_deg, n=20_000)
    assert not np.any(out["tracks/mu_id"] > CFG.pid.mu_working_point)
    assert np.all(out["tracks/pid"] != 13)


def test_muon_id_inside_klm_edges():
    out = tracks_of(13, 0.71, 25.1, n=20_000)
    got = np.mean(out["tracks/mu_id"] > CFG.pid.mu_working_point)
    assert fraction_close(got, CFG.pid.mu_efficiency, 20_000)


def test_no_electron_id_below_threshold():
    out = tracks_of(11, 0.29, 90.0, n=20_000)
    assert not np.any(out["tracks/e_id"] > CFG.pid.e_working_point)


def test_probabilities_are_consistent_with_pid():
    rng = np.random.default_rng(5)
    pieces = [tracks_of(pdg, 1.5, 80.0, n=5000, seed=int(rng.integers(1 << 30)))
              for pdg in (11, -13, 211, -321, 2212)]
    ids = np.stack([np.concatenate([o[f"tracks/{k}"] for o in pieces])
                    for k in ("e_id", "mu_id", "pi_id", "k_id")])
    assert ids.dtype == np.float32
    assert np.all((ids >= 0) & (ids <= 1))
    np.testing.assert_allclose(ids.sum(axis=0), 1.0, atol=1e-6)
    charge = np.concatenate([o["tracks/charge"] for o in pieces]).astype(np.int32)
    pid = np.concatenate([o["tracks/pid"] for o in pieces])
    best = np.argmax(ids, axis=0)
    expected = np.array([hypothesis_pdg(int(h), int(q)) for h, q in zip(best, charge,
                                                                        strict=True)])
    np.testing.assert_array_equal(pid, expected)
    wps = np.array([CFG.pid.e_working_point, CFG.pid.mu_working_point,
                    CFG.pid.pi_working_point, CFG.pid.k_working_point])[:, None]
    np.testing.assert_array_equal((ids > wps).sum(axis=0), 1)  # exactly one cut passes


def test_hypothesis_pdg_sign_convention():
    assert [hypothesis_pdg(h, -1) for h in (H_E, H_MU, H_PI, H_K)] == [11, 13, -211, -321]
    assert [hypothesis_pdg(h, 1) for h in (H_E, H_MU, H_PI, H_K)] == [-11, -13, 211, 321]


rate = st.floats(0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(mu_eff=rate, pi_mu=rate, pi_e=rate, pi_k=rate, k_eff=rate, e_eff=rate,
       abs_pdg=st.sampled_from([11, 13, 211, 321, 2212]), p=st.floats(0.05, 10.0),
       theta=st.floats(0.0, math.pi))
def test_identification_rows_are_probabilities(mu_eff, pi_mu, pi_e, pi_k, k_eff, e_eff,
                                               abs_pdg, p, theta):
    try:
        cfg = PIDConfig(mu_efficiency=mu_eff, pi_to_mu=pi_mu, pi_to_e=pi_e, pi_to_k=pi_k,
                        k_efficiency=k_eff, e_efficiency=e_eff)
        DetectorConfig(pid=cfg)
    except CardError:
        assume(False)
    row = id_row1(abs_pdg, p, theta, pid_params(cfg))
    assert all(0.0 <= x <= 1.0 for x in row)
    assert sum(row) == pytest.approx(1.0, abs=1e-12)
