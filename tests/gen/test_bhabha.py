"""Tests of gen.processes.bhabha: Born against the textbook formula, running alpha, sampling,
four-momentum conservation, cards."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from scipy import integrate, stats

import gen.processes.bhabha as bhabha_mod
from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E
from gen.processes import get_process
from gen.processes.bhabha import (
    P_MARG,
    Bhabha,
    born_sigma_pb,
    cm_window1,
    collinear_isr1,
    collinear_isr_c1,
    dsigma_domega,
    dsigma_domega_fast1,
    dsigma_domega_tab1,
    joint_isr1,
    joint_isr_consts1,
    joint_isr_consts2,
)
from gen.radiation import _C2_SOFT, isr_consts1, ll_beta, structure_function
from gen.runcard import load_sample
from gen.vacpol import delta_alpha1

HEAD_ON = Beams(spread_her_gev=0.0, spread_ler_gev=0.0, half_crossing_angle_rad=0.0)
NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
BORN = {"isr": False, "fsr": False, "vacuum_polarization": False, "z_exchange": False}
CARD = Path(__file__).resolve().parents[2] / "cards" / "samples" / "bhabha.toml"


def make(params=None, cuts=None, beams=HEAD_ON, pilot_points=50_000):
    proc = Bhabha(parse_table(params or {}, Bhabha.params, "process"),
                  parse_table(cuts or {}, Bhabha.cuts, "cuts"), beams)
    proc.validate("test card")
    proc.prepare(np.random.default_rng(1), pilot_points)
    return proc


def textbook(s, c):
    """QED Bhabha dsigma/dOmega (alpha^2/2s)[(1 + cos^4 h)/sin^4 h - 2 cos^4 h/sin^2 h
    + (1 + c^2)/2], h = theta/2 (Peskin & Schroeder problem 5.2; Berends et al. 1974)."""
    h = 0.5 * math.acos(c)
    ch, sh = math.cos(h), math.sin(h)
    return ALPHA_EM**2 / (2 * s) * ((1 + ch**4) / sh**4 - 2 * ch**4 / sh**2 + (1 + c * c) / 2)


def with_vp(s, c):
    """dsigma/dOmega with V(q2) = 1/(1 - Delta alpha(q2)) in each photon propagator, written
    from the s-, t-channel and interference terms: (alpha^2/2s)[|V_t|^2 (s^2 + u^2)/t^2
    + 2 u^2 Re(V_s V_t*)/(s t) + |V_s|^2 (t^2 + u^2)/s^2]."""
    t, u = -s * (1 - c) / 2, -s * (1 + c) / 2
    vs = 1 / complex(1 - delta_alpha1(s)[0], -delta_alpha1(s)[1])
    vt = 1 / complex(1 - delta_alpha1(t)[0], -delta_alpha1(t)[1])
    return ALPHA_EM**2 / (2 * s) * (abs(vt) ** 2 * (s * s + u * u) / t**2
                                    + 2 * u * u * (vs * vt.conjugate()).real / (s * t)
                                    + abs(vs) ** 2 * (t * t + u * u) / s**2)


def quad_sigma_pb(f, s, cmin, cmax):
    return GEV2_TO_PB * 2 * math.pi * integrate.quad(lambda c: f(s, c), cmin, cmax,
                                                     epsrel=1e-10, limit=200)[0]


@pytest.mark.parametrize("c", [-0.99, -0.5, 0.0, 0.3, 0.9, 0.985, 0.9998])
def test_born_matches_textbook(c):
    s = 10.58**2
    assert dsigma_domega(s, c, False, False) == pytest.approx(textbook(s, c), rel=1e-12)
    # Z exchange: a small correction at 10.58 GeV (s/M_Z^2 ~ 1.3 %)
    z = dsigma_domega(s, c, False, True) / textbook(s, c) - 1
    assert abs(z) < 5e-3


@pytest.mark.parametrize("c", [-0.9, 0.0, 0.5, 0.985, 0.9998])
def test_vacuum_polarisation_in_each_channel(c):
    s = 10.58**2
    assert dsigma_domega(s, c, True, False) == pytest.approx(with_vp(s, c), rel=1e-10)
    # forward (t-channel) limit: the factor tends to |V(t)|^2 of the spacelike channel
    if c > 0.999:
        t = -s * (1 - c) / 2
        ratio = dsigma_domega(s, c, True, False) / dsigma_domega(s, c, False, False)
        assert ratio == pytest.approx(1 / (1 - delta_alpha1(t)[0]) ** 2, rel=2e-3)


def test_tabulated_t_channel_running_alpha():
    # the event loop's dsigma (spacelike Delta alpha from the gen.vacpol table, error < 1e-8 in
    # Delta alpha, i.e. < 2.2e-8 in |V(t)|^2) against the exact one, over s' and the angle
    rng = np.random.default_rng(5)
    for _ in range(3000):
        s = 10.58**2 * rng.uniform(1e-3, 1.0)
        c = 1.0 - 10.0 ** rng.uniform(-4.0, np.log10(1.99))
        for zex in (False, True):
            ref = dsigma_domega(s, c, True, zex)
            assert abs(dsigma_domega_tab1(s, c, True, zex) / ref - 1.0) < 3e-8
        assert dsigma_domega_tab1(s, c, False, True) == dsigma_domega(s, c, False, True)


def test_born_cross_section_mc_vs_quad():
    """Radiation and VP off, no beam spread: MC sigma within 3 sigma of quad of the textbook."""
    s = HEAD_ON.sqrt_s_gev**2
    c10 = math.cos(math.radians(10))
    ref = quad_sigma_pb(textbook, s, -c10, c10)
    # nb at the nominal sqrt(s) = 10.5796 GeV (crossing angle), alpha(0): module docstring
    nominal = quad_sigma_pb(textbook, Beams().sqrt_s_gev**2, -c10, c10)
    assert nominal / 1e3 == pytest.approx(286.78, abs=0.01)
    assert born_sigma_pb(HEAD_ON, 10, 170) == pytest.approx(ref, rel=1e-8)
    proc = make(BORN)
    _, st = proc.generate(np.random.default_rng(2), 20_000)
    assert abs(st.cross_section_pb - ref) < 3 * st.cross_section_err_pb
    assert st.cross_section_err_pb < 1e-3 * ref  # the 1/(1 - c)^2 sampler is efficient
    assert st.n_overweight == 0


def test_vp_and_z_scale_the_cross_section():
    s = HEAD_ON.sqrt_s_gev**2
    c10 = math.cos(math.radians(10))
    ref_vp = quad_sigma_pb(with_vp, s, -c10, c10)
    proc = make({**BORN, "vacuum_polarization": True})
    w = proc.trial_weights(np.random.default_rng(3), 200_000)
    err = w.std() / math.sqrt(w.size)
    assert abs(w.mean() - ref_vp) < 3 * err
    ratio = ref_vp / quad_sigma_pb(textbook, s, -c10, c10)
    assert 1.03 < ratio < 1.05  # Delta alpha(t) ~ 0.02 for |t| ~ 1-10 GeV^2
    # the same random numbers with VP off: the per-trial ratio is the VP factor
    w0 = make(BORN).trial_weights(np.random.default_rng(3), 200_000)
    assert np.all((w > 0) == (w0 > 0))
    assert w.sum() / w0.sum() == pytest.approx(ratio, rel=3e-3)
    z = born_sigma_pb(HEAD_ON, 10, 170, False, True) / born_sigma_pb(HEAD_ON, 10, 170) - 1
    assert abs(z) < 1e-3


def test_angular_distribution_chi2():
    """c.m. polar angle of the e- against the Born shape (head-on beams: c.m. = boost along z)."""
    proc = make(BORN)
    chunk, _ = proc.generate(np.random.default_rng(4), 40_000)
    p = chunk.particles
    em = np.flatnonzero(p["pdg"] == 11)
    bz = HEAD_ON.boost[2]
    g = 1 / math.sqrt(1 - bz * bz)
    pz_cm = g * (p["pz"][em] - bz * p["e"][em])
    e_cm = g * (p["e"][em] - bz * p["pz"][em])
    cos = pz_cm / np.sqrt(e_cm**2 - M_E**2)
    np.testing.assert_allclose(cos, chunk.truth["cos_theta"], atol=1e-9)
    # bins equally spaced in y = 1/(1 - c), the variable the sampler is flat in
    c10 = math.cos(math.radians(10))
    y = np.linspace(1 / (1 + c10), 1 / (1 - c10), 21)
    edges = 1 - 1 / y
    s = HEAD_ON.sqrt_s_gev**2
    prob = np.array([integrate.quad(lambda c: textbook(s, c), a, b)[0]
                     for a, b in zip(edges[:-1], edges[1:], strict=True)])
    prob /= prob.sum()
    obs = np.histogram(cos, edges)[0]
    chi2 = float(((obs - prob * obs.sum()) ** 2 / (prob * obs.sum())).sum())
    assert stats.chi2.sf(chi2, len(obs) - 1) > 1e-3


def test_four_momentum_conservation_with_radiation():
    proc = make({}, beams=NO_SPREAD)
    chunk, st = proc.generate(np.random.default_rng(5), 5_000)
    p = chunk.particles
    idx = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    em, ep = NO_SPREAD.nominal_four_momenta()
    tot = em + ep
    for j, name in enumerate(("px", "py", "pz", "e")):
        sums = np.bincount(idx, weights=p[name], minlength=chunk.n_events)
        np.testing.assert_allclose(sums, tot[j], rtol=0, atol=1e-9 * tot[3])
    m2 = p["e"] ** 2 - p["px"] ** 2 - p["py"] ** 2 - p["pz"] ** 2
    lep = np.abs(p["pdg"]) == 11
    np.testing.assert_allclose(np.sqrt(np.maximum(m2[lep], 0)), M_E, rtol=1e-4)
    assert np.all(np.abs(m2[~lep]) < 1e-9 * p["e"][~lep] ** 2 + 1e-12)
    # each event: e- first, e+ second, then photons
    first = chunk.offset[:-1]
    assert np.all(p["pdg"][first] == 11)
    assert np.all(p["pdg"][first + 1] == -11)
    assert np.all(p["pdg"][lep == 0] == 22)
    assert np.count_nonzero(~lep) > 0
    assert st.n_overweight <= 1e-3 * st.n_trials


def test_cuts_hold_in_cm_frame():
    proc = make({}, {"theta_min_deg": 30.0, "theta_max_deg": 150.0, "e_min_gev": 1.0})
    chunk, _ = proc.generate(np.random.default_rng(6), 5_000)
    p = chunk.particles
    lep = np.abs(p["pdg"]) == 11
    bz = HEAD_ON.boost[2]
    g = 1 / math.sqrt(1 - bz * bz)
    pz = g * (p["pz"][lep] - bz * p["e"][lep])
    e = g * (p["e"][lep] - bz * p["pz"][lep])
    cos = pz / np.sqrt(e**2 - M_E**2)
    assert np.all(e >= 1.0 - 1e-9)
    assert np.all(np.abs(cos) <= math.cos(math.radians(30)) + 1e-9)


def test_reproducible_and_registered():
    a, sa = make().generate(np.random.default_rng(7), 500)
    b, sb = make().generate(np.random.default_rng(7), 500)
    for k in a.particles:
        np.testing.assert_array_equal(a.particles[k], b.particles[k])
    assert sa == sb
    assert get_process("bhabha") is Bhabha
    card = load_sample(CARD)
    assert card.process == "bhabha"
    assert card.cuts == {"theta_min_deg": 10.0, "theta_max_deg": 170.0, "e_min_gev": 0.15}
    card.build()


@pytest.mark.parametrize(("cuts", "key"), [
    ({"theta_min_deg": 120.0, "theta_max_deg": 100.0}, "theta_min_deg"),
    ({"e_min_gev": 6.0}, "e_min_gev"),
    ({"theta_min_deg": 0.5}, "theta_min_deg"),
    ({"theta_min_deg": 100.0, "theta_max_deg": 170.0}, "theta_min_deg"),
])
def test_bad_cards(cuts, key):
    def build():
        proc = Bhabha(parse_table({}, Bhabha.params, "process"),
                      parse_table(cuts, Bhabha.cuts, "cuts"), HEAD_ON)
        proc.validate("card.toml [process]")

    with pytest.raises(CardError, match=key):
        build()
    with pytest.raises(CardError, match="unknown key"):
        parse_table({"theta_min": 10.0}, Bhabha.cuts, "cuts")


@njit
def _collinear_pairs(rng_a, rng_b, n, sqrt_s0, spread, a, x_min, e_min):
    cst = isr_consts1(sqrt_s0, M_E, a, x_min)
    ka = np.zeros((2, 4))
    kb = np.zeros((2, 4))
    out = np.empty((n, 2, 9))
    for i in range(n):
        sqrt_s = sqrt_s0 + spread * (rng_a.random() - 0.5)
        rng_b.random()
        out[i, 0, 0] = collinear_isr1(rng_a, sqrt_s, a, x_min, e_min, ka)
        out[i, 1, 0] = collinear_isr_c1(rng_b, sqrt_s, e_min, cst, kb)
        for r in range(2):
            for j in range(4):
                out[i, 0, 1 + 4 * r + j] = ka[r, j]
                out[i, 1, 1 + 4 * r + j] = kb[r, j]
    return out


def test_collinear_isr_with_hoisted_constants_equals_the_plain_kernel():
    # generate uses collinear_isr_c1 (ISR constants once per chunk), the pilot collinear_isr1's
    # algebra: the same draws give the same photons and weights to rounding
    out = _collinear_pairs(np.random.default_rng(31), np.random.default_rng(31), 100_000, 10.58,
                           0.03, 0.15, 4.3e-4, 1e-4)
    assert np.allclose(out[:, 1], out[:, 0], rtol=1e-12, atol=1e-13)
    assert np.array_equal(out[:, 1, 4] == 0.0, out[:, 0, 4] == 0.0)


def test_dsigma_with_hoisted_reciprocals_equals_the_event_loop_formula():
    # dsigma_domega_fast1 (generate) against dsigma_domega_tab1 (the same running alpha)
    rng = np.random.default_rng(33)
    for _ in range(3000):
        s = 10.58**2 * rng.uniform(1e-3, 1.0)
        c = 1.0 - 10.0 ** rng.uniform(-4.0, np.log10(1.99))
        for vp in (False, True):
            for zex in (False, True):
                ref = dsigma_domega_tab1(s, c, vp, zex)
                assert dsigma_domega_fast1(s, c, vp, zex) == pytest.approx(ref, rel=1e-13)


@njit
def _joint_draws(rng, n, sqrt_s, hh, sh, x_min, x_min2):
    cst = (joint_isr_consts1(sqrt_s, x_min) if x_min2 == x_min
           else joint_isr_consts2(sqrt_s, x_min, x_min2))
    out = np.empty((n, 3))
    for i in range(n):
        out[i, 0], out[i, 1], out[i, 2] = joint_isr1(rng, sqrt_s, hh, sh, cst)
    return out


@pytest.mark.parametrize(("hh", "sh", "x_min2"), [(0.04, 0.05, 4.3e-4), (0.0225, 0.1275, 4.3e-4),
                                                  (0.3, 0.2, 4.3e-4), (0.04, 0.05, 6.3e-3)])
def test_joint_isr_weight_is_d_d_over_the_mixture_density(hh, sh, x_min2):
    """weight = D(x1) D(x2) / pdf(x1, x2), pdf written out independently from the channels;
    the draws follow pdf (the mean weight is (int D)^2, int D by quad). Also with a different
    lower edge of the dx/x channel per beam (``joint_isr_consts2``)."""
    sqrt_s, x_min = 10.58, 4.3e-4
    beta = ll_beta(sqrt_s**2, M_E)
    lmins = (-math.log(x_min), -math.log(x_min2))
    out = _joint_draws(np.random.default_rng(41), 200_000, sqrt_s, hh, sh, x_min, x_min2)
    w, v1, v2 = out.T
    # structure_function takes x: below v ~ 1e-6, 1 - x loses the digits of v
    sel = (v1 > 1e-6) & (v2 > 1e-6) & (v1 < 1 - 1e-12) & (v2 < 1 - 1e-12)
    for i in np.flatnonzero(sel)[:2000]:
        ps = [0.5 * beta * v ** (0.5 * beta - 1) for v in (v1[i], v2[i])]
        h = [1 / ((1 - v) * lm) if 1 - v >= xm else 0.0
             for v, xm, lm in ((v1[i], x_min, lmins[0]), (v2[i], x_min2, lmins[1]))]
        pdf = ((1 - hh - 2 * sh) * ps[0] * ps[1] + sh * (h[0] * ps[1] + ps[0] * h[1])
               + hh * h[0] * h[1])
        d = structure_function(1 - v1[i], beta) * structure_function(1 - v2[i], beta)
        assert w[i] == pytest.approx(d / pdf, rel=1e-9)
    # int_0^1 D dx with the v^(beta/2 - 1) end point handled by quad's algebraic weight
    soft = 0.5 * beta * (1 + 0.375 * beta + _C2_SOFT * beta * beta)  # D / v^(beta/2-1), v -> 0

    def smooth(v):
        return soft if v < 1e-9 else structure_function(1 - v, beta) / v ** (0.5 * beta - 1)

    norm = integrate.quad(smooth, 0, 1, weight="alg", wvar=(0.5 * beta - 1, 0),
                          epsabs=1e-12)[0]
    assert abs(w.mean() - norm**2) < 3 * w.std() / math.sqrt(w.size)


@pytest.mark.parametrize("cuts", [{}, {"theta_min_deg": 20.0, "theta_max_deg": 150.0,
                                       "e_min_gev": 1.0}])
def test_cm_window_is_where_the_boosted_born_pair_passes(cuts):
    """Without margin, a in [a_lo, a_hi] iff the Born e- and e+ (massive), boosted along z
    with the pair, pass the c.m. cuts and lie in the pair-frame window."""
    proc = make(BORN, cuts, pilot_points=1000)
    par = proc._par()
    par[P_MARG] = 1.0
    lo_deg, hi_deg = proc.born_window_deg()
    clo, chi = math.cos(math.radians(proc.c["theta_max_deg"])), math.cos(
        math.radians(proc.c["theta_min_deg"]))
    rng = np.random.default_rng(43)
    n_in = 0
    for _ in range(3000):
        bq = rng.uniform(-0.95, 0.95)
        msp = 10.58 * rng.uniform(0.05, 1.0)
        estar = 0.5 * msp
        pstar = math.sqrt(estar**2 - M_E**2)
        a_lo, a_hi = cm_window1(bq, estar, pstar, par)
        a = 2.0 * rng.random()
        c = 1 - a
        g = 1 / math.sqrt(1 - bq * bq)
        ok = math.cos(math.radians(hi_deg)) <= c <= math.cos(math.radians(lo_deg))
        for sign in (1, -1):
            pz, e = g * (sign * pstar * c + bq * estar), g * (estar + bq * sign * pstar * c)
            pt = pstar * math.sqrt(max(1 - c * c, 0))
            ct = pz / math.hypot(pz, pt)
            ok = ok and clo <= ct <= chi and e >= proc.c["e_min_gev"]
        inside = a_lo <= a <= a_hi
        if abs(a - a_lo) > 1e-7 and abs(a - a_hi) > 1e-7:  # massless edges: 1e-8 off
            assert inside == ok, (bq, msp, a, a_lo, a_hi)
        n_in += inside
    assert 100 < n_in < 2900


def test_window_sampler_keeps_sigma_without_fsr(monkeypatch):
    """FSR off (no migration across the cuts): the c.m.-window sampler with the joint ISR and
    the sampler before it (pair-frame window: margin -> infinity; per-beam ISR mixture of share
    a: hh = a^2, sh = a (1 - a)) estimate the same sigma."""
    params = {"fsr": False}
    w_new = make(params, beams=Beams(), pilot_points=1000).trial_weights(
        np.random.default_rng(45), 300_000)
    a = bhabha_mod.ISR_HARD_SHARE
    monkeypatch.setattr(bhabha_mod, "BORN_ETA_MARGIN", 50.0)
    monkeypatch.setattr(bhabha_mod, "ISR_HH_SHARE", a * a)
    monkeypatch.setattr(bhabha_mod, "ISR_SH_SHARE", a * (1 - a))
    w_old = make(params, beams=Beams(), pilot_points=1000).trial_weights(
        np.random.default_rng(46), 300_000)
    err = math.hypot(w_new.std() / math.sqrt(w_new.size), w_old.std() / math.sqrt(w_old.size))
    assert abs(w_new.mean() - w_old.mean()) < 3 * err
    assert err < 2e-3 * w_old.mean()  # resolves a 0.5 % difference
    # the window removes the trials that cannot pass: fewer zero weights
    assert np.mean(w_new > 0) > np.mean(w_old > 0) + 0.1


@pytest.mark.parametrize("cuts", [{"theta_min_deg": 20.0, "theta_max_deg": 150.0,
                                   "e_min_gev": 1.0},
                                  {"theta_min_deg": 30.0, "theta_max_deg": 160.0,
                                   "e_min_gev": 0.5}])
def test_pair_frame_window_keeps_every_pair_that_isr_boosts_into_asymmetric_cuts(cuts):
    """FSR off, no rapidity margin: the c.m. cuts alone decide (``cm_window1`` is exact), so
    sigma with the production pair-frame window equals sigma with a window of 1-179 deg. The
    former window (the cuts intersected with their mirror) missed 2.7 % of sigma here (~20
    standard errors at this size); seeds fixed, tolerance 4 standard errors."""
    proc = Bhabha(parse_table({"fsr": False}, Bhabha.params, "process"),
                  parse_table(cuts, Bhabha.cuts, "cuts"), Beams())
    par = proc._par()
    par[P_MARG] = 1.0
    wide = par.copy()
    wide[bhabha_mod.P_YLO], wide[bhabha_mod.P_YHI] = bhabha_mod.y_range(1.0, 179.0)
    wa = bhabha_mod._bhabha_weights(np.random.default_rng(11), par, 300_000)
    wb = bhabha_mod._bhabha_weights(np.random.default_rng(12), wide, 300_000)
    err = math.hypot(wa.std(), wb.std()) / math.sqrt(wa.size)
    assert abs(wa.mean() - wb.mean()) < 4.0 * err, (wa.mean(), wb.mean(), err)
    assert err < 0.0015 * wb.mean()  # the test resolves the former 2.7 % deficit
