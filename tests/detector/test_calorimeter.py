"""ECL: regions and gaps, acceptance, resolutions, thresholds, pi0 decays, MIP and hadron deposits.

Statistical checks use fixed seeds and 5-sigma tolerances from the sample size.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from detector.calorimeter import ecl_region1
from detector.config import DetectorConfig
from detector.simulate import simulate_chunk
from detector.tracking import radius_cm
from gen.constants import M_K, M_MU, M_PI, M_PI0

MASS = {13: M_MU, 211: M_PI, 130: 0.497611, 111: M_PI0, 11: 0.000511}
PERFECT = {"sigma_angle_a_mrad": 0.0, "sigma_angle_b_mrad": 0.0, "res_noise_gev": 0.0,
           "res_stochastic": 0.0, "res_constant": 0.0}


def single(pdg, p, theta, phi=0.3, vertex=(0.0, 0.0, 0.0)):
    p, theta, phi = np.broadcast_arrays(np.atleast_1d(np.asarray(p, float)),
                                        np.asarray(theta, float), np.asarray(phi, float))
    n = p.shape[0]
    m = MASS.get(abs(pdg), 0.0)
    particles = {
        "pdg": np.full(n, pdg, np.int32), "status": np.ones(n, np.int8),
        "mother": np.full(n, -1, np.int32),
        "px": p * np.sin(theta) * np.cos(phi), "py": p * np.sin(theta) * np.sin(phi),
        "pz": p * np.cos(theta), "e": np.sqrt(p * p + m * m),
        "vx": np.full(n, vertex[0], float), "vy": np.full(n, vertex[1], float),
        "vz": np.full(n, vertex[2], float), "t": np.zeros(n),
    }
    return particles, np.arange(n + 1, dtype=np.int64)


def config(**calorimeter):
    return DetectorConfig.from_toml({"calorimeter": calorimeter}, "test")


def run(particles, offset, cfg, seed=1):
    return simulate_chunk(particles, offset, np.random.default_rng(seed), cfg)


def _cp():
    from detector.calorimeter import calorimeter_params
    return calorimeter_params(DetectorConfig().calorimeter)


@pytest.mark.parametrize(
    ("theta_deg", "region"),
    [(12.3, 0), (12.5, 1), (31.3, 1), (31.5, 11), (32.1, 11), (32.3, 2), (128.6, 2),
     (128.8, 13), (130.6, 13), (130.8, 3), (155.0, 3), (155.2, 0), (90.0, 2), (5.0, 0)],
)
def test_regions_follow_basf2_edges(theta_deg, region):
    assert ecl_region1(math.radians(theta_deg), _cp()) == region


@pytest.mark.parametrize(
    ("theta_deg", "seen"),
    [(12.3, False), (12.5, True), (31.3, True), (31.5, False), (32.3, True), (128.6, True),
     (128.8, False), (130.8, True), (155.0, True), (155.2, False)],
)
def test_photons_in_gaps_and_outside_make_no_cluster(theta_deg, seen):
    particles, offset = single(22, 1.0, math.radians(theta_deg))
    out = run(particles, offset, config(**PERFECT))
    assert out["clusters/e"].shape[0] == (1 if seen else 0)


def test_photon_acceptance_fraction():
    n = 200_000
    rng = np.random.default_rng(4)
    theta = np.arccos(rng.uniform(-1, 1, n))
    particles, offset = single(22, 1.0, theta, rng.uniform(-3, 3, n))
    cfg = DetectorConfig()
    out = run(particles, offset, cfg)
    c = cfg.calorimeter
    edges = [(c.theta_fwd_min_deg, c.theta_fwd_max_deg), (c.theta_brl_min_deg,
             c.theta_brl_max_deg), (c.theta_bwd_min_deg, c.theta_bwd_max_deg)]
    expected = sum(math.cos(math.radians(lo)) - math.cos(math.radians(hi))
                   for lo, hi in edges) / 2.0
    # at 1 GeV the energy never falls below the 20 MeV threshold
    seen = out["clusters/e"].shape[0] / n
    assert seen == pytest.approx(expected, abs=5 * math.sqrt(expected * (1 - expected) / n))
    np.testing.assert_array_equal(out["clusters/truth"], 0)


def test_zero_resolution_is_the_identity():
    rng = np.random.default_rng(8)
    n = 5000
    theta = rng.uniform(math.radians(35), math.radians(125), n)
    phi = rng.uniform(-3.1, 3.1, n)
    e = rng.uniform(0.05, 5.0, n)
    particles, offset = single(22, e, theta, phi)
    out = run(particles, offset, config(**PERFECT))
    np.testing.assert_allclose(out["clusters/e"], e, rtol=1e-14)
    np.testing.assert_allclose(out["clusters/theta"], theta, rtol=1e-12)
    np.testing.assert_allclose(out["clusters/phi"], phi, rtol=1e-12)


@pytest.mark.parametrize("energy", [0.1, 1.0, 5.0])
def test_energy_resolution_reproduces_configured_value(energy):
    n = 100_000
    cfg = DetectorConfig()
    c = cfg.calorimeter
    particles, offset = single(22, energy, math.pi / 2, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=int(energy * 100))
    expected = energy * math.sqrt((c.res_noise_gev / energy) ** 2
                                  + (c.res_stochastic / energy**0.25) ** 2 + c.res_constant**2)
    assert out["clusters/e"].shape[0] == n  # far above threshold
    assert np.std(out["clusters/e"]) == pytest.approx(expected, rel=5 / math.sqrt(2 * n))
    assert abs(np.mean(out["clusters/e"]) - energy) < 5 * expected / math.sqrt(n)
    sigma_angle = 1e-3 * math.hypot(c.sigma_angle_a_mrad, c.sigma_angle_b_mrad / math.sqrt(energy))
    # the angular smearing uses the reconstructed energy: allow for its spread at 0.1 GeV
    assert np.std(out["clusters/theta"] - math.pi / 2) == pytest.approx(
        sigma_angle, rel=5 / math.sqrt(2 * n) + 0.02)


def test_cluster_threshold():
    particles, offset = single(22, np.array([0.019, 0.021]), math.pi / 2)
    out = run(particles, offset, config(**PERFECT))
    np.testing.assert_array_equal(out["cluster_offset"], [0, 0, 1])


def test_pi0_decays_to_two_photons_with_the_pi0_mass():
    n = 3000
    rng = np.random.default_rng(12)
    particles, offset = single(111, rng.uniform(0.2, 3.0, n), math.pi / 2, rng.uniform(-3, 3, n))
    out = run(particles, offset, config(**PERFECT, cluster_threshold_gev=0.0))
    counts = np.diff(out["cluster_offset"])
    assert set(np.unique(counts)) <= {0, 1, 2}
    assert (counts == 2).mean() > 0.5
    np.testing.assert_array_equal(out["clusters/truth"], 0)
    two = np.flatnonzero(counts == 2)
    first = out["cluster_offset"][two]
    e, th, ph = out["clusters/e"], out["clusters/theta"], out["clusters/phi"]

    def vec(k):
        return e[k] * np.array([np.sin(th[k]) * np.cos(ph[k]), np.sin(th[k]) * np.sin(ph[k]),
                                np.cos(th[k])])

    p = vec(first) + vec(first + 1)
    etot = e[first] + e[first + 1]
    np.testing.assert_allclose(etot, particles["e"][two], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(etot**2 - (p**2).sum(axis=0)), M_PI0, rtol=1e-6)
    out = run(particles, offset, config(decay_pi0=False))
    assert out["clusters/e"].shape[0] == 0


def test_muon_deposit_follows_the_moyal_distribution():
    n = 50_000
    cfg = config(**PERFECT)
    c = cfg.calorimeter
    particles, offset = single(13, 2.0, math.pi / 2, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=3)
    e = out["clusters/e"]
    assert e.shape[0] == n
    result = stats.kstest(e, stats.moyal(loc=c.mip_mpv_gev, scale=c.mip_width_gev).cdf)
    assert result.pvalue > 1e-3


def test_charged_tracks_bend_before_the_ecl_and_curlers_never_reach_it():
    cfg = config(**PERFECT)
    c = cfg.calorimeter
    b = cfg.tracking.b_field_t
    phi0 = 0.3
    theta0 = math.radians(60.0)
    for pdg in (13, -13):
        particles, offset = single(pdg, 1.0, theta0, phi0)
        out = run(particles, offset, cfg)
        q = -1 if pdg > 0 else 1
        r = radius_cm(math.sin(theta0), b)
        half = math.asin(c.barrel_r_cm / (2 * r))
        z = 2 * r * half / math.tan(theta0)
        assert out["clusters/phi"][0] == pytest.approx(phi0 - q * half, abs=1e-12)
        assert out["clusters/theta"][0] == pytest.approx(math.atan2(c.barrel_r_cm, z), abs=1e-12)
    # 2R < barrel radius below pT = 0.3 B r_barrel / 2 ~ 0.28 GeV: no cluster in the barrel
    particles, offset = single(13, np.array([0.25, 0.30]), math.pi / 2)
    out = run(particles, offset, cfg)
    np.testing.assert_array_equal(out["cluster_offset"], [0, 0, 1])


def test_displaced_photon_cluster_angle_is_the_impact_point():
    particles, offset = single(22, 1.0, math.pi / 2, 0.0, vertex=(0.0, 0.0, 50.0))
    cfg = config(**PERFECT)
    out = run(particles, offset, cfg)
    assert out["clusters/theta"][0] == pytest.approx(
        math.atan2(cfg.calorimeter.barrel_r_cm, 50.0), abs=1e-12)


def test_electron_deposits_its_energy():
    particles, offset = single(-11, 2.5, 1.2, 0.1)
    out = run(particles, offset, config(**PERFECT))
    assert out["clusters/e"][0] == pytest.approx(particles["e"][0], rel=1e-14)


def test_neutral_hadron_cluster_probability():
    n = 100_000
    cfg = DetectorConfig()
    c = cfg.calorimeter
    particles, offset = single(130, 1.0, math.pi / 2, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=21)
    ekin = math.hypot(1.0, MASS[130]) - MASS[130]
    expected = c.hadron_interaction_prob * (1 - c.cluster_threshold_gev / ekin)
    seen = out["clusters/e"].shape[0] / n
    assert seen == pytest.approx(expected, abs=5 * math.sqrt(expected * (1 - expected) / n))
    assert MASS[130] > M_K  # the K_L0 mass used above is the PDG value (497.611 MeV)


def test_beam_background_rate():
    n = 20_000
    mean, e_mean = 3.0, 0.05
    cfg = config(beam_bkg_clusters_mean=mean, beam_bkg_energy_gev=e_mean)
    c = cfg.calorimeter
    particles, offset = single(12, 1.0, 1.0, np.zeros(n))  # invisible: only background
    out = run(particles, offset, cfg, seed=13)
    np.testing.assert_array_equal(out["clusters/truth"], -1)
    cos = [math.cos(math.radians(x)) for x in (c.theta_fwd_min_deg, c.theta_fwd_max_deg,
                                               c.theta_brl_min_deg, c.theta_brl_max_deg,
                                               c.theta_bwd_min_deg, c.theta_bwd_max_deg)]
    crystals = (cos[0] - cos[1]) + (cos[2] - cos[3]) + (cos[4] - cos[5])
    expected = mean * crystals / (cos[0] - cos[5]) * math.exp(-c.cluster_threshold_gev / e_mean)
    got = out["clusters/e"].shape[0] / n
    assert got == pytest.approx(expected, abs=5 * math.sqrt(expected / n))
    assert np.all(out["clusters/e"] > c.cluster_threshold_gev)


# ---------------------------------------------------------------- photon efficiency

EFF = {"photon_efficiency_fwd": 0.8, "photon_efficiency_brl": 0.97, "photon_efficiency_bwd": 0.6}


def test_default_photon_efficiency_is_one_and_keeps_every_photon():
    from detector.calorimeter import BRL, BWD, FWD, photon_efficiency1, photons_detected

    cp = _cp()
    assert [photon_efficiency1(r, cp) for r in (FWD, BRL, BWD)] == [1.0, 1.0, 1.0]
    regions = np.repeat(np.array([FWD, BRL, BWD], np.int64), 100_000)
    assert photons_detected(np.random.default_rng(2), regions, cp).all()


@pytest.mark.parametrize("region", [0, 11, 13])
def test_gaps_and_outside_have_zero_photon_efficiency(region):
    from detector.calorimeter import photon_efficiency1

    assert photon_efficiency1(region, _cp()) == 0.0


def test_photon_efficiency_per_region_reproduces_the_configured_value():
    """A large sample per region: detected fraction within 5 binomial sigma of the setting."""
    from detector.calorimeter import BRL, BWD, FWD, calorimeter_params, photons_detected

    cp = calorimeter_params(config(**EFF).calorimeter)
    n = 400_000
    for region, key in ((FWD, "photon_efficiency_fwd"), (BRL, "photon_efficiency_brl"),
                        (BWD, "photon_efficiency_bwd")):
        found = photons_detected(np.random.default_rng(region), np.full(n, region, np.int64), cp)
        eff = EFF[key]
        assert abs(found.mean() - eff) < 5.0 * math.sqrt(eff * (1 - eff) / n), key


def test_photon_detection_draws_once_whatever_the_efficiency():
    """Fixed draw count: the generator state after n photons does not depend on the setting."""
    from detector.calorimeter import BRL, calorimeter_params, photons_detected

    states = []
    for eff in (0.0, 0.5, 1.0):
        rng = np.random.default_rng(9)
        cp = calorimeter_params(config(photon_efficiency_brl=eff).calorimeter)
        photons_detected(rng, np.full(1000, BRL, np.int64), cp)
        states.append(rng.random())
    assert states[0] == states[1] == states[2]


def test_simulated_photon_efficiency_per_region():
    """End to end: photons into each region; electrons keep full efficiency."""
    n = 60_000
    rng = np.random.default_rng(12)
    cfg = config(**EFF, **PERFECT)
    for theta_deg, key in ((20.0, "photon_efficiency_fwd"), (90.0, "photon_efficiency_brl"),
                           (140.0, "photon_efficiency_bwd")):
        particles, offset = single(22, 1.0, math.radians(theta_deg), rng.uniform(-3, 3, n))
        found = run(particles, offset, cfg)["clusters/e"].shape[0] / n
        eff = EFF[key]
        assert abs(found - eff) < 5.0 * math.sqrt(eff * (1 - eff) / n), key
    particles, offset = single(11, 2.0, math.radians(90.0), rng.uniform(-3, 3, 1000))
    assert run(particles, offset, cfg)["clusters/e"].shape[0] == 1000


def test_photon_efficiency_one_leaves_the_reco_output_unchanged():
    """Efficiency 1 (default) and the same seed: identical clusters, bit for bit."""
    n = 2000
    rng = np.random.default_rng(13)
    particles, offset = single(22, rng.uniform(0.05, 3.0, n), np.arccos(rng.uniform(-1, 1, n)),
                               rng.uniform(-3, 3, n))
    a = run(particles, offset, DetectorConfig(), seed=5)
    b = run(particles, offset, config(photon_efficiency_brl=1.0), seed=5)
    for key in ("clusters/e", "clusters/theta", "clusters/phi", "clusters/truth"):
        np.testing.assert_array_equal(a[key], b[key])
