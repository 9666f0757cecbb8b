"""Tests of gen.processes.mumu: Born cross section and angular distribution, ISR against the
structure-function convolution done with scipy.integrate.quad, FSR normalisation, four-momentum
conservation, masses, event layout and generator-level cuts. Fixed seeds; tolerances from the MC
error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_MU, MUON, PHOTON
from gen.processes.mumu import SIN2_THETA_EFF, MuMu, gamma_z_factors1
from gen.radiation import _C2_SOFT, FSR_K_FACTOR, ISR_K_FACTOR, _hard_terms, ll_beta

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
HEAD_ON = Beams(spread_her_gev=0.0, spread_ler_gev=0.0, half_crossing_angle_rad=0.0)
ALL_ANGLES = {"mu_theta_min_deg": 0.0, "mu_theta_max_deg": 180.0}
BORN_ONLY = {"isr": False, "fsr": False, "z_exchange": False}


def make(params: dict, cuts: dict, beams: Beams = NO_SPREAD) -> MuMu:
    proc = MuMu(parse_table(params, MuMu.params, "process"),
                parse_table(cuts, MuMu.cuts, "cuts"), beams)
    proc.validate("test card")
    return proc


def born_pb(s: float) -> float:
    """sigma = 4 pi alpha^2/(3 s) beta (3 - beta^2)/2 (photon exchange, muon mass kept)."""
    if s <= 4.0 * M_MU**2:
        return 0.0
    b = math.sqrt(1.0 - 4.0 * M_MU**2 / s)
    return GEV2_TO_PB * 4.0 * math.pi * ALPHA_EM**2 / (3.0 * s) * b * (3.0 - b * b) / 2.0


def mc_sigma(w: np.ndarray) -> tuple[float, float]:
    return float(w.mean()), float(w.std() / math.sqrt(w.size))


def integrate_d(g, beta: float, v_break: float | None = None) -> float:
    """int_0^1 D(x) g(v) dv (v = 1 - x) with the Kuraev-Fadin D; soft part via w = v^(beta/2)."""
    soft = 1.0 + 0.375 * beta + _C2_SOFT * beta * beta
    edges = [0.0, 1.0] if v_break is None or not 0.0 < v_break < 1.0 else [0.0, v_break, 1.0]
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        total += integrate.quad(lambda w: soft * g(w ** (2.0 / beta)), lo ** (0.5 * beta),
                                hi ** (0.5 * beta), epsabs=0.0, epsrel=1e-9, limit=200)[0]
        total += integrate.quad(lambda v: _hard_terms(v, beta) * g(v), lo, hi, epsabs=0.0,
                                epsrel=1e-9, limit=200)[0]
    return total


def isr_sigma_quad(s: float) -> float:
    """K_ISR int dx1 dx2 D(x1) D(x2) sigma_Born(x1 x2 s), by nested quad."""
    beta = ll_beta(s, M_E)
    x_th = 4.0 * M_MU**2 / s

    def inner(v1: float) -> float:
        x1 = 1.0 - v1
        if x1 <= x_th:
            return 0.0
        return integrate_d(lambda v2: born_pb(x1 * (1.0 - v2) * s), beta, 1.0 - x_th / x1)

    return ISR_K_FACTOR * integrate_d(inner, beta, 1.0 - x_th)


def test_born_cross_section_exact():
    s = NO_SPREAD.sqrt_s_gev**2
    w = make(BORN_ONLY, ALL_ANGLES).trial_weights(np.random.default_rng(1), 1000)
    # without beam-energy spread every weight is the Born cross section itself
    assert np.allclose(w, born_pb(s), rtol=1e-12)
    # with the default beam-energy spread: Born averaged over s, within 3 MC sigma
    w = make(BORN_ONLY, ALL_ANGLES, Beams()).trial_weights(np.random.default_rng(2), 200_000)
    mean, err = mc_sigma(w)
    assert abs(mean - born_pb(Beams().sqrt_s_gev ** 2)) < 3.0 * err + 1e-6 * mean
    assert born_pb(s) == pytest.approx(776.0, rel=1e-3)  # 4 pi alpha^2/(3s) = 86.8 nb GeV^2/s


def _cm_cos_mu_minus(chunk, beams: Beams) -> np.ndarray:
    first = chunk.offset[:-1]
    p = chunk.particles
    bz = beams.boost[2]
    g = 1.0 / math.sqrt(1.0 - bz * bz)
    pz = g * (p["pz"][first] - bz * p["e"][first])
    pt2 = p["px"][first] ** 2 + p["py"][first] ** 2
    return pz / np.sqrt(pt2 + pz * pz)


def test_born_angular_distribution():
    proc = make(BORN_ONLY, ALL_ANGLES, HEAD_ON)
    proc.prepare(np.random.default_rng(3), 10_000)
    chunk, stats_ = proc.generate(np.random.default_rng(4), 100_000)
    c = _cm_cos_mu_minus(chunk, HEAD_ON)
    b2 = 1.0 - 4.0 * M_MU**2 / HEAD_ON.sqrt_s_gev**2
    mass = 1.0 - b2

    def cdf(x):
        return ((x + x**3 / 3 + 4 / 3) + mass * (x - x**3 / 3 + 2 / 3)) / (8 / 3 + 4 / 3 * mass)

    assert stats.kstest(c, cdf).pvalue > 0.01
    # and not flat: the 1 + cos^2 shape is resolved with this sample
    assert stats.kstest(c, lambda x: (x + 1) / 2).pvalue < 1e-6
    assert stats_.n_overweight == 0


def test_forward_backward_asymmetry_from_z():
    proc = make({"isr": False, "fsr": False, "z_exchange": True}, ALL_ANGLES, HEAD_ON)
    proc.prepare(np.random.default_rng(5), 10_000)
    chunk, _ = proc.generate(np.random.default_rng(6), 400_000)
    c = _cm_cos_mu_minus(chunk, HEAD_ON)
    s = HEAD_ON.sqrt_s_gev**2
    c1, c2 = gamma_z_factors1(s)
    b = math.sqrt(1.0 - 4.0 * M_MU**2 / s)
    afb_expected = 2.0 * b * c2 / (8.0 / 3.0 * c1 + 4.0 / 3.0 * (1.0 - b * b))
    afb = np.mean(np.sign(c))
    err = math.sqrt((1.0 - afb**2) / c.size)
    assert afb_expected == pytest.approx(-0.0072, abs=0.001)  # -3/4 G_F s/(sqrt2 pi alpha) ...
    assert abs(afb - afb_expected) < 3.0 * err
    assert pytest.approx(0.2315, abs=1e-3) == SIN2_THETA_EFF


def test_isr_cross_section_matches_structure_function_convolution():
    s = NO_SPREAD.sqrt_s_gev**2
    ref = isr_sigma_quad(s)
    params = {"isr": True, "fsr": False, "z_exchange": False, "photon_min_energy_gev": 1e-6}
    w = make(params, ALL_ANGLES).trial_weights(np.random.default_rng(7), 1_000_000)
    mean, err = mc_sigma(w)
    # photons below 1e-6 GeV returned to the beam: relative effect < 1e-6 / E_beam
    assert abs(mean - ref) < 3.0 * err + 1e-6 * ref, (mean, err, ref)
    # ISR raises sigma by ~39 % (radiative return towards the threshold, sigma ~ 1/s')
    assert ref / born_pb(s) == pytest.approx(1.39, abs=0.02)
    # FSR is unitary apart from the inclusive factor K_FSR
    params["fsr"] = True
    w = make(params, ALL_ANGLES).trial_weights(np.random.default_rng(8), 1_000_000)
    mean, err = mc_sigma(w)
    assert abs(mean - FSR_K_FACTOR * ref) < 3.0 * err + 1e-6 * ref


@pytest.fixture(scope="module")
def radiative_events():
    proc = make({}, ALL_ANGLES)
    proc.prepare(np.random.default_rng(9), 50_000)
    chunk, st = proc.generate(np.random.default_rng(10), 50_000)
    return proc, chunk, st


def test_four_momentum_conservation_and_masses(radiative_events):
    _, chunk, st = radiative_events
    em, ep = NO_SPREAD.nominal_four_momenta()
    total = em + ep
    p = chunk.particles
    idx = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    for j, name in enumerate(("px", "py", "pz", "e")):
        summed = np.bincount(idx, weights=p[name], minlength=chunk.n_events)
        assert np.max(np.abs(summed - total[j])) < 1e-9
    m2 = p["e"] ** 2 - p["px"] ** 2 - p["py"] ** 2 - p["pz"] ** 2
    mu = np.abs(p["pdg"]) == MUON
    assert np.allclose(m2[mu], M_MU**2, rtol=1e-8)
    assert np.max(np.abs(m2[p["pdg"] == PHOTON])) < 1e-9
    assert st.n_trials > chunk.n_events
    assert st.cross_section_pb > 0


def test_event_layout(radiative_events):
    _, chunk, _ = radiative_events
    p = chunk.particles
    first = chunk.offset[:-1]
    assert np.all(p["pdg"][first] == MUON)
    assert np.all(p["pdg"][first + 1] == -MUON)
    n_ph = np.diff(chunk.offset) - 2
    assert np.all(n_ph == chunk.truth["n_isr"] + chunk.truth["n_fsr"])
    assert np.all(p["pdg"][np.abs(p["pdg"]) != MUON] == PHOTON)
    assert np.sum(n_ph) == np.sum(p["pdg"] == PHOTON)
    assert np.all(p["status"] == 1)
    assert np.all(p["mother"] == -1)
    assert np.all(chunk.weight == 1.0)
    # a fair fraction of events carries photons, ISR photons have finite transverse momenta
    assert 0.3 < np.mean(n_ph > 0) < 0.95
    assert np.all(chunk.truth["sqrt_s_prime"] <= chunk.truth["sqrt_s"] + 1e-12)


SEARCH_CUTS = {"pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0}


def test_generator_cuts_hold_on_every_event():
    beams = Beams()
    proc = make({}, SEARCH_CUTS, beams)
    proc.prepare(np.random.default_rng(11), 100_000)
    chunk, st = proc.generate(np.random.default_rng(12), 2_000)
    p = chunk.particles
    first = chunk.offset[:-1]
    em, ep = beams.nominal_four_momenta()
    tot = em + ep
    mus = []
    for k in (first, first + 1):
        v = np.stack([p["px"][k], p["py"][k], p["pz"][k], p["e"][k]], axis=1)
        theta = np.degrees(np.arccos(v[:, 2] / np.linalg.norm(v[:, :3], axis=1)))
        assert np.all((theta >= 10.0) & (theta <= 170.0))
        mus.append(v)
    miss = tot - mus[0] - mus[1]
    theta = np.degrees(np.arccos(miss[:, 2] / np.linalg.norm(miss[:, :3], axis=1)))
    assert np.all((theta >= 20.0) & (theta <= 145.0))
    b = tot[:3] / tot[3]
    g = 1.0 / math.sqrt(1.0 - b @ b)
    bp = miss[:, :3] @ b
    p_cm = miss[:, :3] + np.outer((g - 1.0) * bp / (b @ b) - g * miss[:, 3], b)
    assert np.all(np.linalg.norm(p_cm, axis=1) >= 0.3)
    # the cuts keep ~11 % of the ISR+FSR cross section (1.08 nb): a stable reference value
    assert 60.0 < st.cross_section_pb < 200.0


def test_cut_validation():
    with pytest.raises(CardError, match="mu_theta_min_deg"):
        make({}, {"mu_theta_min_deg": 120.0, "mu_theta_max_deg": 100.0})
    with pytest.raises(CardError, match="pmiss_theta_min_deg"):
        make({}, {"pmiss_theta_min_deg": 150.0, "pmiss_theta_max_deg": 145.0})
