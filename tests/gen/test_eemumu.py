"""Tests of gen.processes.eemumu: Breit-Wheeler cross section, the EPA cross section against an
independent scipy integration, the Belle II Physics Book reference, four-momentum conservation,
masses and event layout; the multi-channel sampler against the plain one (cross sections,
distributions, density identity, reach of the cut map, efficiency). Fixed seeds; tolerances
from the MC error and stated approximations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import integrate, stats

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, ELECTRON, GEV2_TO_PB, M_E, M_MU, MUON
from gen.processes.eemumu import (
    MODE_PLAIN,
    N_BINS,
    N_DIM,
    EEMuMu,
    _eemumu_trial,
    _mc_trial,
    _sample_bw_cos,
    breit_wheeler_dcos,
    breit_wheeler_sigma,
    build_foam,
)

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
ALL_ANGLES = {"mu_theta_min_deg": 0.0, "mu_theta_max_deg": 180.0}


def make(params: dict, cuts: dict, beams: Beams = NO_SPREAD) -> EEMuMu:
    proc = EEMuMu(parse_table(params, EEMuMu.params, "process"),
                  parse_table(cuts, EEMuMu.cuts, "cuts"), beams)
    proc.validate("test card")
    return proc


@pytest.mark.parametrize("w", [0.22, 0.5, 1.0, 3.0, 10.0])
def test_breit_wheeler_total_is_integral_of_differential(w):
    w2 = w * w
    total = integrate.quad(lambda c: breit_wheeler_dcos(c, w2, M_MU), -1.0, 1.0,
                           epsabs=0.0, epsrel=1e-11, limit=200)[0]
    assert breit_wheeler_sigma(w2, M_MU) == pytest.approx(total, rel=1e-9)


def test_breit_wheeler_limits():
    # high-energy limit (4 pi alpha^2/W^2)(ln(W^2/m^2) - 1); zero at threshold
    w2 = 1e4
    asym = 4.0 * math.pi * ALPHA_EM**2 / w2 * (math.log(w2 / M_MU**2) - 1.0)
    assert breit_wheeler_sigma(w2, M_MU) == pytest.approx(asym, rel=1e-3)
    assert breit_wheeler_sigma(4.0 * M_MU**2, M_MU) == 0.0


@njit
def _bw_cos(rng, n, b, omb):
    out = np.empty(n)
    for i in range(n):
        out[i] = _sample_bw_cos(rng, b, omb)
    return out


@pytest.mark.parametrize("w", [0.3, 2.0])
def test_breit_wheeler_angular_sampler(w):
    w2 = w * w
    b = math.sqrt(1.0 - 4.0 * M_MU**2 / w2)
    c = _bw_cos(np.random.default_rng(21), 100_000, b, 4.0 * M_MU**2 / (w2 * (1.0 + b)))
    grid = np.linspace(-1.0, 1.0, 4001)
    pdf = np.array([breit_wheeler_dcos(x, w2, M_MU) for x in grid])
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    assert stats.kstest(c, lambda x: np.interp(x, grid, cdf)).pvalue > 0.01


def epa_sigma_quad(s: float, w_min: float, scale: float) -> float:
    """Collinear EPA: int dy1 dy2 f(y1) f(y2) sigma_BW(y1 y2 s), Q^2 integrated analytically.

    f(y) = (alpha/pi)/y [(1 - y + y^2/2) ln(Q2max/Q2min) - (1 - y)(1 - Q2min/Q2max)] (Budnev et
    al. 1975), Q2max = min(scale y1 y2 s, kinematic limit), Q2min exact at zero angle.
    """
    e = math.sqrt(s) / 2.0
    p = math.sqrt(e * e - M_E**2)

    def flux(y: float, cut: float) -> float:
        w = y * e
        e2 = e - w
        if e2 <= M_E:
            return 0.0
        p2 = math.sqrt(e2 * e2 - M_E**2)
        q2min = 2.0 * M_E**2 * w * w / (e * e2 - M_E**2 + p * p2)
        q2max = min(2.0 * (e * e2 + p * p2 - M_E**2), cut)
        if q2max <= q2min:
            return 0.0
        return ALPHA_EM / math.pi / y * ((1 - y + y * y / 2) * math.log(q2max / q2min)
                                         - (1 - y) * (1 - q2min / q2max))

    def integrand(u1: float, lt: float) -> float:  # variables ln(tau), ln(y1); dy1 dy2 = tau
        tau = math.exp(lt)
        y1 = math.exp(u1)
        cut = scale * tau * s
        return tau * flux(y1, cut) * flux(tau / y1, cut) * breit_wheeler_sigma(tau * s, M_MU)

    res = integrate.dblquad(integrand, math.log(w_min**2 / s), 0.0, lambda lt: lt,
                            lambda lt: 0.0, epsabs=0.0, epsrel=1e-7)[0]
    return GEV2_TO_PB * res


def test_epa_cross_section_matches_scipy_integration():
    # At a small photon-virtuality cut-off the exact kinematics of the generator (true W of the
    # muon pair, cut on Q^2 < scale W^2) coincide with the collinear EPA formula up to
    # O(scale): tolerance 3 MC sigma + scale (relative).
    scale = 1e-3
    s = NO_SPREAD.sqrt_s_gev**2
    ref = epa_sigma_quad(s, 0.5, scale)
    proc = make({"w_min_gev": 0.5, "q2_max_scale": scale}, ALL_ANGLES)
    w = proc.trial_weights(np.random.default_rng(22), 1_000_000)
    mean, err = float(w.mean()), float(w.std() / math.sqrt(w.size))
    assert abs(mean - ref) < 3.0 * err + scale * ref, (mean, err, ref)


def test_reference_cross_section_physics_book():
    # Belle II Physics Book (arXiv:1808.10567, table of QED cross sections at 10.58 GeV):
    # sigma(ee -> ee mu mu) = 18.9 nb for W_mumu > 0.5 GeV (AAFH, full matrix element). The EPA
    # is leading-log: its own uncertainty is the dependence on the virtuality cut-off. Test:
    # the reference lies inside the band spanned by q2_max_scale = 1/4 ... 4 (+- 3 MC sigma).
    ref_pb = 18.9e3
    sig = {}
    for scale in (0.25, 1.0, 4.0):
        proc = make({"w_min_gev": 0.5, "q2_max_scale": scale}, ALL_ANGLES)
        w = proc.trial_weights(np.random.default_rng(23), 400_000)
        sig[scale] = (float(w.mean()), float(w.std() / math.sqrt(w.size)))
    lo = sig[0.25][0] - 3.0 * sig[0.25][1]
    hi = sig[4.0][0] + 3.0 * sig[4.0][1]
    assert lo < ref_pb < hi, sig
    assert sig[1.0][0] == pytest.approx(ref_pb, rel=0.15)


@pytest.fixture(scope="module")
def events():
    proc = make({}, {})
    proc.prepare(np.random.default_rng(24), 50_000)
    chunk, st = proc.generate(np.random.default_rng(25), 20_000)
    return proc, chunk, st


def test_four_momentum_conservation_masses_layout(events):
    _, chunk, st = events
    em, ep = NO_SPREAD.nominal_four_momenta()
    total = em + ep
    p = chunk.particles
    n = chunk.n_events
    assert np.array_equal(chunk.offset, np.arange(n + 1) * 4)
    assert np.array_equal(p["pdg"].reshape(n, 4),
                          np.tile([ELECTRON, -ELECTRON, MUON, -MUON], (n, 1)))
    for j, name in enumerate(("px", "py", "pz", "e")):
        assert np.max(np.abs(p[name].reshape(n, 4).sum(axis=1) - total[j])) < 1e-9
    m2 = (p["e"] ** 2 - p["px"] ** 2 - p["py"] ** 2 - p["pz"] ** 2).reshape(n, 4)
    assert np.allclose(m2[:, :2], M_E**2, rtol=1e-6, atol=1e-12)
    assert np.allclose(m2[:, 2:], M_MU**2, rtol=1e-8)
    # true muon-pair mass recorded in the truth
    mu = (p["e"].reshape(n, 4)[:, 2:].sum(1) ** 2
          - sum(p[c].reshape(n, 4)[:, 2:].sum(1) ** 2 for c in ("px", "py", "pz")))
    assert np.allclose(np.sqrt(mu), chunk.truth["w_mumu"], rtol=1e-9)
    assert np.all(chunk.truth["w_mumu"] >= 2.0 * M_MU)
    assert st.n_overweight <= 0.001 * n


def test_electrons_mostly_down_the_beam_pipe(events):
    _, chunk, _ = events
    p = chunk.particles
    n = chunk.n_events
    pt = np.hypot(p["px"], p["py"]).reshape(n, 4)
    theta_e = np.degrees(np.arctan2(pt[:, 0], p["pz"].reshape(n, 4)[:, 0]))
    # the e- keeps a small angle (median well below the 17 deg tracking acceptance) but has pT
    assert np.median(theta_e) < 5.0
    assert np.mean(pt[:, 0] > 0.01) > 0.05


def test_validation_rejects_bad_cuts():
    with pytest.raises(CardError, match="mu_theta_min_deg"):
        make({}, {"mu_theta_min_deg": 150.0, "mu_theta_max_deg": 100.0})
    with pytest.raises(CardError, match="w_min_gev"):
        make({"w_min_gev": 10.0}, {})


# ---- multi-channel sampler (adaptive = true) against the plain sampler ------------------------
# Generator-level cuts of the invisible-Z' search (cards/samples/eemumu.toml): the plain sampler
# accepts ~0.4 % of its trials there.
SEARCH_CUTS = {
    "mu_theta_min_deg": 10.0, "mu_theta_max_deg": 170.0, "mu_p_min_gev": 0.6,
    "pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0,
}


@njit
def _nonzero_trials(rng, par, edges, foam, n):
    """Rows (weight, w_plain, mu- px py pz e, mu+ px py pz e) of the nonzero trials of n."""
    out = np.empty((n, 10))
    buf = np.zeros((4, 4))
    lab_e = np.zeros((2, 4))
    qv = np.zeros((2, 4))
    jj = np.zeros(N_DIM, np.int64)
    vv = np.zeros(N_DIM)
    k = 0
    for _ in range(n):
        t = _mc_trial(rng, par, edges, foam, vv, jj, buf, lab_e, qv)
        if t[0] > 0.0:
            out[k, 0], out[k, 1] = t[0], t[3]
            for j in range(4):
                out[k, 2 + j] = buf[2, j]
                out[k, 6 + j] = buf[3, j]
            k += 1
    return out[:k]


@njit
def _plain_map_densities(rng, par, edges, n):
    """For the accepted plain-sampler trials of n: (r_win, mu_band, mu_cone) of the cut map."""
    out = np.empty((n, 3))
    buf = np.zeros((4, 4))
    lab_e = np.zeros((2, 4))
    qv = np.zeros((2, 4))
    jj = np.zeros(N_DIM, np.int64)
    vv = np.zeros(N_DIM)
    k = 0
    for _ in range(n):
        t = _eemumu_trial(rng, par, edges, MODE_PLAIN, vv, jj, buf, lab_e, qv)
        if t[0] > 0.0:
            out[k, 0], out[k, 1], out[k, 2] = t[1], t[3], t[5]
            k += 1
    return out[:k]


def mean_err(w: np.ndarray, n: int) -> tuple[float, float]:
    """Mean and MC error of n trial weights whose nonzero ones are ``w``."""
    mean = w.sum() / n
    return float(mean), float(math.sqrt(max((w * w).sum() / n - mean * mean, 0.0) / n))


def nonzero_trials(proc: EEMuMu, seed: int, n: int) -> np.ndarray:
    return _nonzero_trials(np.random.default_rng(seed), proc._par(), proc.grid, proc.foam, n)


def pair_observables(mu: np.ndarray) -> dict[str, np.ndarray]:
    """Muon-pair mass W, lab pT and recoil mass^2 against the pair (nominal beams), from rows
    (mu- px py pz e, mu+ px py pz e)."""
    em, ep = Beams().nominal_four_momenta()
    pair = mu[:, :4] + mu[:, 4:]
    rec = (em + ep)[None, :] - pair
    mass2 = lambda v: v[:, 3] ** 2 - v[:, 0] ** 2 - v[:, 1] ** 2 - v[:, 2] ** 2  # noqa: E731
    return {"w": np.sqrt(mass2(pair)), "pt": np.hypot(pair[:, 0], pair[:, 1]),
            "m2_rec": mass2(rec)}


@pytest.fixture(scope="module")
def search_samplers():
    """(plain, adaptive) processes at the search cuts (real beams); the adaptive one prepared
    with a small pilot (the card's default pilot is larger and more efficient)."""
    plain = make({"adaptive": False}, SEARCH_CUTS, Beams())
    adaptive = make({}, SEARCH_CUTS, Beams())
    adaptive.prepare(np.random.default_rng(30), 30_000)
    return plain, adaptive


@pytest.fixture(scope="module")
def plain_search_sample(search_samplers):
    plain, _ = search_samplers
    n = 2_500_000
    return n, nonzero_trials(plain, 31, n)


def test_search_cut_cross_section_matches_plain_sampler(search_samplers, plain_search_sample):
    # same cross section within cuts from the plain and the multi-channel sampler (3 combined
    # MC sigma); the latter is far more precise per trial
    _, adaptive = search_samplers
    n_plain, rows_plain = plain_search_sample
    ref, ref_err = mean_err(rows_plain[:, 0], n_plain)
    n = 400_000
    sig, err = mean_err(nonzero_trials(adaptive, 32, n)[:, 0], n)
    assert abs(sig - ref) < 3.0 * math.hypot(err, ref_err), (sig, err, ref, ref_err)
    assert err < 0.2 * ref_err * math.sqrt(n_plain / n)  # >25x less variance per trial
    assert 150.0 < ref < 800.0  # ~0.2-0.44 nb (the brief's estimate)


def test_default_cut_cross_section_unchanged():
    # default cuts (muons at 10-170 deg): the multi-channel sampler reproduces the plain one
    plain = make({"adaptive": False}, {})
    adaptive = make({}, {})
    adaptive.prepare(np.random.default_rng(33), 30_000)
    n = 800_000
    ref, ref_err = mean_err(plain.trial_weights(np.random.default_rng(34), n), n)
    sig, err = mean_err(adaptive.trial_weights(np.random.default_rng(35), n), n)
    assert abs(sig - ref) < 3.0 * math.hypot(err, ref_err), (sig, err, ref, ref_err)


def test_plain_channel_density_identity(search_samplers, plain_search_sample):
    # For the mixture density q and the plain sampler's q_p: E_q[q_p/q; w > 0] = P_p(w > 0),
    # with q_p/q = w/w_plain: checks the density ratios of all channels at accepted points
    _, adaptive = search_samplers
    n_plain, rows_plain = plain_search_sample
    acc = rows_plain.shape[0] / n_plain
    acc_err = math.sqrt(acc * (1.0 - acc) / n_plain)
    n = 400_000
    rows = nonzero_trials(adaptive, 36, n)
    est, est_err = mean_err(rows[:, 0] / rows[:, 1], n)
    assert abs(est - acc) < 3.0 * math.hypot(est_err, acc_err), (est, est_err, acc, acc_err)


def test_cut_map_reaches_every_accepted_point(search_samplers):
    # The band |h.d| < x_m is exactly where both muons pass p > p_min, and the y1 window holds
    # the missing-momentum cut: every point the plain sampler accepts is inside both (the plain
    # channel would cover a miss exactly, but with a large weight)
    _, adaptive = search_samplers
    dens = _plain_map_densities(np.random.default_rng(37), adaptive._par(), adaptive.grid,
                                1_500_000)
    assert dens.shape[0] > 3000
    assert np.all(dens[:, 0] > 0.0)
    assert np.all(dens[:, 1] > 0.0)
    assert np.all(dens[:, 2] > 0.0)


def weighted_chi2_pvalue(x: np.ndarray, ref: np.ndarray, w_ref: np.ndarray,
                         bins: int = 12) -> float:
    """p-value of a chi^2 test of unweighted events ``x`` against the weighted sample (ref, w):
    bins at quantiles of x, shares compared with the variance of both (weighted: sum w^2)."""
    edges = np.quantile(x, np.linspace(0.0, 1.0, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    n_x = np.histogram(x, edges)[0]
    s_w = np.histogram(ref, edges, weights=w_ref)[0]
    s_w2 = np.histogram(ref, edges, weights=w_ref**2)[0]
    f_x, f_r = n_x / x.size, s_w / w_ref.sum()
    var = f_x * (1.0 - f_x) / x.size + s_w2 / w_ref.sum() ** 2
    chi2 = float(((f_x - f_r) ** 2 / var).sum())
    return float(stats.chi2.sf(chi2, bins - 1))


def test_search_cut_distributions_match_plain_sampler(search_samplers, plain_search_sample):
    # Unweighted events of the multi-channel sampler against the plain sampler's weighted
    # trials (all ~8000 effective events; a hit-or-miss subsample would keep ~3000): chi^2
    # tests of the pair mass, pT and recoil mass^2. Power check: the plain trials without
    # their weights differ.
    _, adaptive = search_samplers
    chunk, st = adaptive.generate(np.random.default_rng(38), 15_000)
    p = chunk.particles
    mu = np.column_stack([p[k].reshape(chunk.n_events, 4)[:, 2] for k in ("px", "py", "pz", "e")]
                         + [p[k].reshape(chunk.n_events, 4)[:, 3] for k in ("px", "py", "pz", "e")])
    new = pair_observables(mu)
    _, rows = plain_search_sample
    old = pair_observables(rows[:, 2:])
    w = rows[:, 0]
    assert w.sum() ** 2 / (w * w).sum() > 2000
    p_raw = []
    for key in ("w", "pt", "m2_rec"):
        assert weighted_chi2_pvalue(new[key], old[key], w) > 0.01, key
        p_raw.append(weighted_chi2_pvalue(new[key], old[key], np.ones_like(w)))
    assert min(p_raw) < 1e-3, p_raw


def distorted_sampler(cuts: dict, seed: int) -> EEMuMu:
    """An adaptive sampler with a random, strongly non-uniform grid (bin densities varying by
    ~10) and a foam built on it: the weights must stay unbiased for any grid and foam, so a
    mismatch between a map and its inverse (the densities at points of other channels) shows
    up as a bias."""
    proc = make({}, cuts, Beams())
    rng = np.random.default_rng(seed)
    widths = rng.uniform(0.1, 1.0, size=(N_DIM, N_BINS))
    edges = np.concatenate([np.zeros((N_DIM, 1)), np.cumsum(widths, axis=1)], axis=1)
    proc._grid = edges / edges[:, -1:]
    proc._foam = build_foam(rng, proc._par(), proc.grid, n_cells=64, n_explore=200)[0]
    return proc


@pytest.mark.parametrize("cuts", [{}, SEARCH_CUTS], ids=["default", "search"])
def test_estimator_unbiased_for_any_grid_and_foam(cuts, plain_search_sample):
    # sigma from a distorted multi-channel sampler equals the plain sampler's (3 combined MC
    # sigma); at the search cuts the plain reference is the shared plain sample
    proc = distorted_sampler(cuts, 41)
    n = 600_000
    sig, err = mean_err(nonzero_trials(proc, 42, n)[:, 0], n)
    if cuts:
        n_plain, rows_plain = plain_search_sample
        ref, ref_err = mean_err(rows_plain[:, 0], n_plain)
    else:
        plain = make({"adaptive": False}, cuts, Beams())
        ref, ref_err = mean_err(plain.trial_weights(np.random.default_rng(43), n), n)
    assert abs(sig - ref) < 3.0 * math.hypot(err, ref_err), (sig, err, ref, ref_err)


def test_search_cut_unweighting_efficiency(search_samplers):
    # the point of the multi-channel sampler: >= 5x the plain sampler's unweighting efficiency
    # (sigma / w_max ~ 0.12 %) even with this small pilot, and few overweight events
    _, adaptive = search_samplers
    n = 10_000
    _, st = adaptive.generate(np.random.default_rng(40), n)
    assert n / st.n_trials > 0.006, n / st.n_trials
    assert st.n_overweight <= 0.001 * n
