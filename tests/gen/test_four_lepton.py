"""Tests of gen.helicity and gen.processes.four_lepton.

|M|^2: spinor completeness, an independent NumPy evaluation by Dirac traces (Dirac
representation) of single-pairing diagram subsets, current conservation (a line's current
replaced by its photon momentum cancels in the gauge-invariant subset), Lorentz, parity and
charge-conjugation invariance, identical-particle symmetry and the Pauli principle (Fermi
signs). Sampler: the estimate does not depend on the channel shares; four-momentum
conservation and layout of generated events (also with tau decays). Fixed seeds; tolerances
from floating-point precision or the stated MC errors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gen.beams import Beams
from gen.cards import CardError, parse_table
from gen.constants import ALPHA_EM, M_E
from gen.events import FINAL
from gen.helicity import bar1, helicity_amplitudes, me2_summed, spinor1
from gen.processes import get_process
from gen.processes.four_lepton import (
    CH_BREMS,
    CH_FSR,
    CH_PAIRS,
    CH_PERIPHERAL,
    CH_TARGET,
    FINAL_STATES,
    FourLepton,
    legs_setup,
)

# ------------------------------------------------------------------------------------------
# helpers: phase-space points in NumPy
# ------------------------------------------------------------------------------------------


def _boost(p: np.ndarray, b) -> np.ndarray:
    b = np.asarray(b, float)
    b2 = b @ b
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = b @ p[:3]
    return np.array([*(p[:3] + ((g - 1.0) * bp / b2 + g * p[3]) * b), g * (p[3] + bp)])


def _two_body(parent: np.ndarray, m1: float, m2: float, rng) -> tuple[np.ndarray, np.ndarray]:
    mm = math.sqrt(parent[3] ** 2 - parent[:3] @ parent[:3])
    q = math.sqrt((mm * mm - (m1 + m2) ** 2) * (mm * mm - (m1 - m2) ** 2)) / (2.0 * mm)
    c = 2.0 * rng.random() - 1.0
    ph = 2.0 * math.pi * rng.random()
    s = math.sqrt(1.0 - c * c)
    d = q * np.array([s * math.cos(ph), s * math.sin(ph), c])
    a = np.array([*d, math.hypot(q, m1)])
    b = np.array([*(-d), math.hypot(q, m2)])
    beta = parent[:3] / parent[3]
    if beta @ beta == 0.0:
        return a, b
    return _boost(a, beta), _boost(b, beta)


def random_point(rng, final_state: str, sqrt_s: float = 10.58) -> np.ndarray:
    """(6, 4) momenta (px, py, pz, E): beams along +-z, four leptons from nested decays."""
    mass = legs_setup(final_state)[0]
    ma, mb = mass[2], mass[4]
    m1 = 2 * ma + 0.1 + (sqrt_s - 2 * ma - 2 * mb - 0.2) * 0.5 * rng.random()
    m2 = 2 * mb + 0.05 + (sqrt_s - m1 - 2 * mb - 0.1) * rng.random()
    x1, x2 = _two_body(np.array([0.0, 0.0, 0.0, sqrt_s]), m1, m2, rng)
    p = np.zeros((6, 4))
    p[2], p[3] = _two_body(x1, ma, ma, rng)
    p[4], p[5] = _two_body(x2, mb, mb, rng)
    e = 0.5 * sqrt_s
    pz = math.sqrt(e * e - M_E**2)
    p[0] = [0.0, 0.0, pz, e]
    p[1] = [0.0, 0.0, -pz, e]
    return p


def me2(final_state: str, p: np.ndarray, incl=None) -> float:
    mass, sgn, _, left, right, pairs, psign = legs_setup(final_state)
    if incl is None:
        incl = np.ones((pairs.shape[0], 3), bool)
    return me2_summed(p, mass, sgn, left, right, pairs, psign, incl, np.zeros(64, complex))


# ------------------------------------------------------------------------------------------
# independent reference: Dirac-representation gamma matrices and traces
# ------------------------------------------------------------------------------------------

_S = [np.array([[0, 1], [1, 0]], complex), np.array([[0, -1j], [1j, 0]]),
      np.array([[1, 0], [0, -1]], complex)]
_Z = np.zeros((2, 2), complex)
_I = np.eye(2, dtype=complex)
GAMMA = [np.block([[_I, _Z], [_Z, -_I]])] + [np.block([[_Z, s], [-s, _Z]]) for s in _S]
METRIC = np.diag([1.0, -1.0, -1.0, -1.0])


def _slash(p) -> np.ndarray:
    """p rows (px, py, pz, E)."""
    return GAMMA[0] * p[3] - GAMMA[1] * p[0] - GAMMA[2] * p[1] - GAMMA[3] * p[2]


def _gbar(m: np.ndarray) -> np.ndarray:
    return GAMMA[0] @ m.conj().T @ GAMMA[0]


def trace_me2(final_state: str, p: np.ndarray, pairing: int, middle: int) -> float:
    """Spin-summed |M|^2 of the two diagrams of one pairing with one middle line, by traces.

    Line (L, R): projector sum over spins of the bar end (ubar: pslash + m, vbar: pslash - m)
    and of the spinor end (u: pslash + m, v: pslash - m); the spin sum of
    [Lbar Gamma R][Lbar Gamma' R]^* is Tr[P_L Gamma P_R Gamma'bar].
    """
    mass, sgn, _, left, right, pairs, _ = legs_setup(final_state)
    lines = [(left[i], right[pairs[pairing, i]]) for i in range(3)]
    lb, rb = lines[middle]
    ends = [lines[(middle + 1) % 3], lines[(middle + 2) % 3]]

    def proj(leg: int, bar_end: bool) -> np.ndarray:
        # ubar (outgoing fermion) and u (incoming fermion): + m; vbar, v: - m
        fermion = (sgn[leg] > 0) == bar_end
        return _slash(p[leg]) + (1 if fermion else -1) * mass[leg] * np.eye(4)

    tens = []
    qs = []
    for (l_, r_) in ends:
        pl, pr = proj(l_, True), proj(r_, False)
        t = np.array([[np.trace(pl @ GAMMA[m1] @ pr @ GAMMA[m2]) for m2 in range(4)]
                      for m1 in range(4)])
        tens.append(t)
        qs.append(sgn[l_] * p[l_] + sgn[r_] * p[r_])
    m = mass[lb]

    def prop(k):
        k2 = k[3] ** 2 - k[:3] @ k[:3]
        return (_slash(k) + m * np.eye(4)) / (k2 - m * m)

    kl = sgn[lb] * p[lb]
    sa, sc = prop(kl + qs[0]), prop(kl + qs[1])
    gam = [[GAMMA[a] @ sa @ GAMMA[c] + GAMMA[c] @ sc @ GAMMA[a] for c in range(4)]
           for a in range(4)]
    pl, pr = proj(lb, True), proj(rb, False)
    tm = np.zeros((4, 4, 4, 4), complex)
    for a, c, a2, c2 in itertools.product(range(4), repeat=4):
        tm[a, c, a2, c2] = np.trace(pl @ gam[a][c] @ pr @ _gbar(gam[a2][c2]))
    g = np.diag(METRIC)
    tm = tm * g[:, None, None, None] * g[None, :, None, None] * g[None, None, :, None] * g
    val = np.einsum("ab,cd,acbd->", tens[0], tens[1], tm)
    q2 = [q[3] ** 2 - q[:3] @ q[:3] for q in qs]
    assert abs(val.imag) < 1e-9 * abs(val.real)
    return float(val.real) * (4.0 * math.pi * ALPHA_EM) ** 4 / (q2[0] * q2[1]) ** 2


# ------------------------------------------------------------------------------------------
# matrix element
# ------------------------------------------------------------------------------------------


def test_spinor_completeness():
    # sum_lam u ubar = pslash + m, sum_lam v vbar = pslash - m (P&S eqs. 3.66, 3.67), chiral
    # basis: gamma^0 = [[0, 1], [1, 0]], gamma^i = [[0, s_i], [-s_i, 0]]
    g0 = np.block([[_Z, _I], [_I, _Z]])
    gs = [np.block([[_Z, s], [-s, _Z]]) for s in _S]
    rng = np.random.default_rng(1)
    for m in (M_E, 0.1057, 1.777):
        for _ in range(5):
            pv = rng.normal(size=3) * rng.choice([1e-3, 1.0, 5.0])
            e = math.sqrt(pv @ pv + m * m)
            ps = g0 * e - gs[0] * pv[0] - gs[1] * pv[1] - gs[2] * pv[2]
            for anti, sign in ((False, 1.0), (True, -1.0)):
                tot = np.zeros((4, 4), complex)
                for lam in (1, -1):
                    w = np.zeros(4, complex)
                    wb = np.zeros(4, complex)
                    spinor1(pv[0], pv[1], pv[2], e, m, lam, anti, w)
                    bar1(w, wb)
                    tot += np.outer(w, wb)
                np.testing.assert_allclose(tot, ps + sign * m * np.eye(4), atol=1e-12 * e)


@pytest.mark.parametrize(("final_state", "pairing", "middle"),
                         [("eemumu", 0, 2), ("eemumu", 0, 0), ("eemumu", 1, 1),
                          ("eeee", 3, 1), ("mumutautau", 0, 1), ("eetautau", 1, 2)])
def test_subsets_match_trace_evaluation(final_state, pairing, middle):
    rng = np.random.default_rng(2)
    for _ in range(3):
        p = random_point(rng, final_state)
        incl = np.zeros((legs_setup(final_state)[5].shape[0], 3), bool)
        incl[pairing, middle] = True
        assert me2(final_state, p, incl) == pytest.approx(
            trace_me2(final_state, p, pairing, middle), rel=1e-9)


@pytest.mark.parametrize("final_state", list(FINAL_STATES))
def test_current_conservation(final_state):
    # the photon of line i couples to the conserved current of the other two lines: with J_i
    # replaced by its momentum, the four diagrams where line i is an end line cancel
    mass, sgn, _, left, right, pairs, psign = legs_setup(final_state)
    rng = np.random.default_rng(3)
    amp = np.zeros(64, complex)
    for _ in range(3):
        p = random_point(rng, final_state)
        for n in range(pairs.shape[0]):
            for i in range(3):
                incl = np.ones((1, 3), bool)
                incl[0, i] = False
                args = (p, mass, sgn, left, right, pairs[n:n + 1], psign[n:n + 1], incl)
                helicity_amplitudes(*args, -1, amp)
                scale = np.abs(amp).max()
                # dimension of the replaced current: sqrt(E) x sqrt(E) ~ E
                helicity_amplitudes(*args, i, amp)
                assert np.abs(amp).max() < 1e-10 * scale * 10.58


@pytest.mark.parametrize("final_state", list(FINAL_STATES))
def test_lorentz_parity_and_charge_conjugation_invariance(final_state):
    rng = np.random.default_rng(4)
    for _ in range(3):
        p = random_point(rng, final_state)
        ref = me2(final_state, p)
        b = [0.1, -0.25, 0.3]
        boosted = np.array([_boost(x, b) for x in p])
        assert me2(final_state, boosted) == pytest.approx(ref, rel=1e-9)
        par = p.copy()
        par[:, :3] *= -1.0
        assert me2(final_state, par) == pytest.approx(ref, rel=1e-9)
        # C: every particle <-> its antiparticle (legs 0<->1, 2<->3, 4<->5)
        cc = p[[1, 0, 3, 2, 5, 4]]
        assert me2(final_state, cc) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("final_state", ["eeee", "mumumumu"])
def test_identical_particles_symmetry_and_pauli(final_state):
    rng = np.random.default_rng(5)
    mass, sgn, _, left, right, pairs, psign = legs_setup(final_state)
    incl = np.ones((pairs.shape[0], 3), bool)
    amp = np.zeros(64, complex)
    for _ in range(3):
        p = random_point(rng, final_state)
        ref = me2(final_state, p)
        assert me2(final_state, p[[0, 1, 4, 3, 2, 5]]) == pytest.approx(ref, rel=1e-9)
        assert me2(final_state, p[[0, 1, 2, 5, 4, 3]]) == pytest.approx(ref, rel=1e-9)
    # Pauli: two identical fermions with equal momenta and helicities give zero amplitude,
    # which holds only with the permutation-parity signs of the pairings
    p = random_point(rng, final_state)
    q = p.copy()
    q[4] = q[2]
    # restore momentum balance with the antileptons (the identity is algebraic anyway)
    helicity_amplitudes(q, mass, sgn, left, right, pairs, psign, incl, -1, amp)
    scale = np.abs(amp).max()
    assert scale > 0.0
    for k in range(64):
        if ((k >> 2) & 1) == ((k >> 4) & 1):
            assert abs(amp[k]) < 1e-10 * scale
    # wrong (all +) signs do not vanish: the test can fail
    helicity_amplitudes(q, mass, sgn, left, right, pairs, np.abs(psign), incl, -1, amp)
    same = [k for k in range(64) if ((k >> 2) & 1) == ((k >> 4) & 1)]
    assert np.abs(amp[same]).max() > 1e-3 * scale


def test_fermi_sign_matters_for_eemumu():
    # the two pairings (multiperipheral vs annihilation/conversion) interfere: flipping the
    # relative sign changes |M|^2 at a generic point
    mass, sgn, _, left, right, pairs, psign = legs_setup("eemumu")
    incl = np.ones((2, 3), bool)
    p = random_point(np.random.default_rng(6), "eemumu")
    amp = np.zeros(64, complex)
    a = me2_summed(p, mass, sgn, left, right, pairs, psign, incl, amp)
    b = me2_summed(p, mass, sgn, left, right, pairs, -np.abs(psign), incl, amp)
    assert abs(a / b - 1.0) > 1e-3


# ------------------------------------------------------------------------------------------
# process
# ------------------------------------------------------------------------------------------


def make(params: dict, cuts: dict | None = None, beams: Beams | None = None) -> FourLepton:
    proc = FourLepton(parse_table(params, FourLepton.params, "process"),
                      parse_table(cuts or {}, FourLepton.cuts, "cuts"), beams or Beams())
    proc.validate("test card")
    return proc


def test_registered_and_card_errors():
    assert get_process("four_lepton") is FourLepton
    with pytest.raises(CardError, match="final_state"):
        parse_table({"final_state": "eeff"}, FourLepton.params, "process")
    with pytest.raises(CardError, match="charged_theta_min_deg"):
        make({}, {"charged_theta_min_deg": 150.0, "charged_theta_max_deg": 20.0})
    with pytest.raises(CardError, match="w_min_gev"):
        make({"final_state": "mumutautau", "w_min_gev": 5.0})


@pytest.mark.parametrize("final_state", ["eeee", "eemumu", "mumumumu"])
def test_estimate_independent_of_channel_shares(final_state):
    # weights are f / sum alpha_k g_k: any shares give the same cross section (exactness of
    # every channel density); the second set moves the trials to the non-peripheral
    # channels; 4 combined standard errors
    proc = make({"final_state": final_state})
    kinds = proc._kinds
    share = {CH_PERIPHERAL: 0.1, CH_BREMS: 0.3, CH_PAIRS: 0.3, CH_FSR: 0.3}
    other = np.array([share[k] / (kinds == k).sum() for k in kinds])
    res = []
    for alpha in (proc.alpha.copy(), other / other.sum()):
        proc.alpha = alpha
        w = proc.trial_weights(np.random.default_rng(7), 20_000)
        res.append((w.mean(), w.std() / math.sqrt(w.size)))
    (a, ea), (b, eb) = res
    assert abs(a - b) < 4.0 * math.hypot(ea, eb), res


def test_multiperipheral_subset_is_smaller_part_of_eemumu():
    # the two-photon diagrams alone (labelled, W cut on the muon pair only) vs all 12: the
    # other classes add a little for W_mumu > 0.5 GeV (Berends et al. 1986); both positive
    full = make({"final_state": "eemumu"}).trial_weights(np.random.default_rng(12), 20_000)
    mp_proc = make({"final_state": "eemumu", "diagrams": "multiperipheral"})
    mp = mp_proc.trial_weights(np.random.default_rng(12), 20_000)
    err = math.hypot(full.std(), mp.std()) / math.sqrt(full.size)
    assert abs(full.mean() - mp.mean()) < 0.1 * full.mean() + 4.0 * err
    with pytest.raises(CardError, match="diagrams"):
        make({"final_state": "mumumumu", "diagrams": "multiperipheral"})


@pytest.mark.parametrize("final_state", ["eemumu", "eetautau"])
def test_events_conserve_four_momentum(final_state):
    proc = make({"final_state": final_state}, {"min_charged": 1})
    proc.prepare(np.random.default_rng(8), 8_000)
    chunk, st = proc.generate(np.random.default_rng(9), 300)
    assert chunk.n_events == 300
    assert st.n_trials >= 300
    part = chunk.particles
    for i in range(chunk.n_events):
        sl = slice(chunk.offset[i], chunk.offset[i + 1])
        fin = part["status"][sl] == FINAL
        tot = np.array([part[k][sl][fin].sum() for k in ("px", "py", "pz", "e")])
        m = math.sqrt(tot[3] ** 2 - tot[:3] @ tot[:3])
        assert m == pytest.approx(chunk.truth["sqrt_s"][i], rel=1e-9)
        # the four leptons come first, in the order l_a-, l_a+, l_b-, l_b+
        pa, pb, _ = FINAL_STATES[final_state]
        assert list(part["pdg"][sl][:4]) == [pa, -pa, pb, -pb]
    assert np.all(chunk.truth["w_a"] > 0.5)
    assert np.all(chunk.truth["w_b"] > 0.5)


# ------------------------------------------------------------------------------------------
# muon-pair generator-level cuts (the [cuts] of cards/samples/eemumu.toml) and target channels
# ------------------------------------------------------------------------------------------

SEARCH_CUTS = {"mu_theta_min_deg": 10.0, "mu_theta_max_deg": 170.0, "mu_p_min_gev": 0.6,
               "pmiss_cm_min_gev": 0.3, "pmiss_theta_min_deg": 20.0, "pmiss_theta_max_deg": 145.0}


def _passes_search_cuts(mu_m: np.ndarray, mu_p: np.ndarray, beams: Beams) -> np.ndarray:
    """NumPy version of the cuts (rows px, py, pz, e in the lab): both muons in 10-170 deg with
    p > 0.6 GeV; P_beams(nominal) - p_mu- - p_mu+ above 0.3 GeV in the nominal c.m. frame and
    at 20-145 deg in the lab."""
    ok = np.ones(len(mu_m), bool)
    for mu in (mu_m, mu_p):
        p = np.linalg.norm(mu[:, :3], axis=1)
        th = np.degrees(np.arccos(mu[:, 2] / p))
        ok &= (p > 0.6) & (th > 10.0) & (th < 170.0)
    em, ep = beams.nominal_four_momenta()
    tot = em + ep
    miss = tot - mu_m - mu_p
    pm = np.linalg.norm(miss[:, :3], axis=1)
    th = np.degrees(np.arccos(miss[:, 2] / pm))
    cm = np.array([_boost(x, -tot[:3] / tot[3]) for x in miss])
    return ok & (np.linalg.norm(cm[:, :3], axis=1) > 0.3) & (th > 20.0) & (th < 145.0)


def test_mu_pair_cut_errors():
    with pytest.raises(CardError, match="mu_theta_min_deg"):
        make({}, {"mu_theta_min_deg": 120.0, "mu_theta_max_deg": 60.0})
    with pytest.raises(CardError, match="pmiss_theta_min_deg"):
        make({}, {"pmiss_theta_min_deg": 150.0, "pmiss_theta_max_deg": 20.0})
    with pytest.raises(CardError, match="pmiss_cm_min_gev"):
        make({}, {"pmiss_cm_min_gev": 6.0})
    with pytest.raises(CardError, match="pmiss_cm_min_gev"):
        make({}, {"pmiss_cm_min_gev": -0.1})
    with pytest.raises(CardError, match="mu_p_min_gev"):
        make({}, {"mu_p_min_gev": 20.0})
    with pytest.raises(CardError, match="mu_theta_max_deg"):
        make({}, {"mu_theta_max_deg": 200.0})
    with pytest.raises(CardError, match="muon pair"):
        make({"final_state": "eeee"}, {"mu_p_min_gev": 0.6})
    # the defaults are off: no target channel, the uncut process
    assert CH_TARGET not in make({})._kinds
    assert CH_TARGET in make({}, SEARCH_CUTS)._kinds
    assert CH_TARGET not in make({"adaptive": False}, SEARCH_CUTS)._kinds


def test_target_channels_keep_the_cross_section():
    # sigma within the cuts with the adapted target channel (~90 % of the trials) equals that of
    # the channels of the uncut process with the same cuts: the target density is exact.
    # Fixed seeds, 4 combined standard errors
    res = []
    for adaptive in (True, False):
        proc = make({"adaptive": adaptive}, SEARCH_CUTS)
        proc.prepare(np.random.default_rng(21), 60_000)
        w = proc.trial_weights(np.random.default_rng(22), 150_000)
        res.append((w.mean(), w.std() / math.sqrt(w.size), proc))
    (a, ea, pa), (b, eb, _) = res
    assert abs(a - b) < 4.0 * math.hypot(ea, eb), (a, ea, b, eb)
    assert ea < 0.5 * eb  # the point of the target channel: smaller variance per trial
    assert pa.alpha[pa._kinds == CH_TARGET].sum() > 0.5
    # the target channel alone (plus the floor of the others) still gives the same sigma
    pa.alpha = np.where(pa._kinds == CH_TARGET, 1.0, 1e-3)
    pa.alpha /= pa.alpha.sum()
    w = pa.trial_weights(np.random.default_rng(23), 100_000)
    c, ec = w.mean(), w.std() / math.sqrt(w.size)
    assert abs(c - b) < 4.0 * math.hypot(ec, eb), (c, ec, b, eb)


def test_cut_events_equal_uncut_events_restricted_by_the_cuts():
    # sigma(cuts) from the cut process vs sigma(no cuts) x fraction of its unweighted events
    # passing an independent NumPy version of the cuts; all cut events pass it and conserve
    # four-momentum. Binomial error of the fraction; 4 combined standard errors
    beams = Beams()
    uncut = make({}, beams=beams)
    uncut.prepare(np.random.default_rng(31), 40_000)
    chunk, st = uncut.generate(np.random.default_rng(32), 12_000)
    part = chunk.particles
    mom = np.stack([part[k] for k in ("px", "py", "pz", "e")], axis=1)
    start = chunk.offset[:-1]
    passed = _passes_search_cuts(mom[start + 2], mom[start + 3], beams)
    frac = passed.mean()
    s_uncut = st.sum_w / st.n_trials
    s_uncut_err = math.sqrt(st.sum_w2 / st.n_trials - s_uncut**2) / math.sqrt(st.n_trials)
    ref = s_uncut * frac
    ref_err = ref * math.hypot(math.sqrt(frac * (1 - frac) / passed.size) / frac,
                               s_uncut_err / s_uncut)
    cut = make({}, SEARCH_CUTS, beams=beams)
    cut.prepare(np.random.default_rng(33), 60_000)
    chunk, st = cut.generate(np.random.default_rng(34), 400)
    sig = st.sum_w / st.n_trials
    sig_err = math.sqrt(st.sum_w2 / st.n_trials - sig**2) / math.sqrt(st.n_trials)
    assert abs(sig - ref) < 4.0 * math.hypot(sig_err, ref_err), (sig, sig_err, ref, ref_err)
    part = chunk.particles
    mom = np.stack([part[k] for k in ("px", "py", "pz", "e")], axis=1)
    start = chunk.offset[:-1]
    assert np.all(_passes_search_cuts(mom[start + 2], mom[start + 3], beams))
    tot = np.add.reduceat(mom, start, axis=0)
    m = np.sqrt(tot[:, 3] ** 2 - np.sum(tot[:, :3] ** 2, axis=1))
    np.testing.assert_allclose(m, chunk.truth["sqrt_s"], rtol=1e-9)


# ------------------------------------------------------------------------------------------
# multiperipheral pair-decay map of virtual, linearly polarised photons (P_VPEAK)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("final_state", ["eeee", "eemumu"])
def test_polarised_peripheral_density_is_normalised(final_state):
    # the new map (lepton-exchange peak of photon 1's virtuality, cos(4 phi - delta) azimuth,
    # three-part polar angle) and the former one share the scattered-lepton map, so each is
    # a density on the same points: E_{x ~ g_a}[g_b(x) / g_a(x)] = P(point exists) for
    # either order; a wrong normalisation or shape of either density shows. Fixed seed,
    # 4 standard errors
    from gen.processes import four_lepton as fl

    proc = make({"final_state": final_state})
    legs = proc._chlegs[np.flatnonzero(proc._kinds == CH_PERIPHERAL)[0]]
    mass = proc._mass
    wmin2 = proc.p["w_min_gev"] ** 2
    sqrt_s = 10.58
    e = 0.5 * sqrt_s
    pz = math.sqrt(e * e - M_E**2)
    n = 6000
    for virt in (True, False):
        rng = np.random.default_rng(17)
        ratio = np.zeros(n)
        n_ok = 0
        for i in range(n):
            mom = np.zeros((6, 4))
            mom[0] = [0.0, 0.0, pz, e]
            mom[1] = [0.0, 0.0, -pz, e]
            if not fl._gen_peripheral(rng, mom, sqrt_s, legs, mass, wmin2, virt):
                continue
            n_ok += 1
            own = fl._dens_peripheral(mom, sqrt_s, legs, mass, wmin2, virt)
            ratio[i] = fl._dens_peripheral(mom, sqrt_s, legs, mass, wmin2, not virt) / own
        p_ok = n_ok / n
        err = ratio.std() / math.sqrt(n)
        assert abs(ratio.mean() - p_ok) < 4.0 * err + 1e-12, (virt, ratio.mean(), p_ok, err)
        # the two maps differ (this is not a comparison of a density with itself)
        assert ratio[ratio > 0].std() > 0.1


def test_polarised_map_only_without_target_channels():
    # only an e+e- pair (eeee) takes the new map; the search cards (muon-pair cuts, target
    # channels) and the muon / tau pairs keep the former map and their events
    from gen.processes.four_lepton import P_VPEAK

    assert make({}, SEARCH_CUTS)._par()[P_VPEAK] == 0.0
    assert make({"adaptive": False}, SEARCH_CUTS)._par()[P_VPEAK] == 0.0
    assert make({"final_state": "eetautau"}, {"min_charged": 2})._par()[P_VPEAK] == 0.0
    assert make({"final_state": "eeee"}, {"min_charged": 2})._par()[P_VPEAK] == 1.0
    assert make({"final_state": "eeee"})._par()[P_VPEAK] == 1.0


def test_polarised_map_keeps_the_cross_section_in_the_acceptance():
    # eemumu within the card's acceptance cut (two leptons in 17-150 deg, p > 0.1 GeV), the
    # map forced on (eemumu is ~3x faster than eeee): sigma with the new map equals sigma
    # with the former map (same channels and shares), fixed seeds, 4 combined standard errors
    from gen.processes.four_lepton import P_VPEAK

    cuts = {"min_charged": 2, "charged_p_min_gev": 0.1}
    res = []
    for virt in (1.0, 0.0):
        proc = make({"final_state": "eemumu"}, cuts)
        par = proc._par()
        par[P_VPEAK] = virt
        proc._par = lambda par=par: par
        w = proc.trial_weights(np.random.default_rng(41 + int(virt)), 40_000)
        res.append((w.mean(), w.std() / math.sqrt(w.size)))
    (a, ea), (b, eb) = res
    assert abs(a - b) < 4.0 * math.hypot(ea, eb), res


def test_polarised_map_same_seed_same_events_for_any_chunking():
    # the accept-reject azimuth draws a varying number of uniforms: blocks still draw from
    # stream(seed, GENERATION, k) only, so two blocks in one chunk equal them in two chunks
    from gen.generate import generate_chunk
    from gen.streams import PILOT, stream

    procs = []
    for _ in range(2):
        proc = make({"final_state": "eeee"}, {"min_charged": 2, "charged_p_min_gev": 0.1})
        proc.prepare(stream(5, PILOT, 0), 20_000)
        procs.append(proc)
    a, b = procs
    assert a.w_max == b.w_max
    one, st_one = generate_chunk(a, (5, 0, 0, [40, 40]))
    first, st_first = generate_chunk(b, (5, 0, 0, [40]))
    second, st_second = generate_chunk(b, (5, 1, 1, [40]))
    np.testing.assert_array_equal(st_one, np.vstack((st_first, st_second)))
    for got, ref in zip(one, first + second, strict=True):
        assert got.keys() == ref.keys()
        for key in ref:
            np.testing.assert_array_equal(got[key], ref[key])


def test_virtual_peak_is_the_lepton_exchange_propagator():
    # t - m^2 = -2 |q1| p* (A - c), u - m^2 = -2 |q1| p* (A + c) in the pair rest frame, so
    # A = c (t + u - 2 m^2) / (u - t) from the invariants of generated points, against
    # 1 / _peak_b_virtual; real photons: A = 1 / beta*
    from gen.processes import four_lepton as fl

    proc = make({"final_state": "eemumu"})
    legs = proc._chlegs[np.flatnonzero(proc._kinds == CH_PERIPHERAL)[0]]
    le, lm, lq = legs[0], legs[2], legs[3]
    mass = proc._mass
    sqrt_s = 10.58
    e = 0.5 * sqrt_s
    pz = math.sqrt(e * e - M_E**2)
    rng = np.random.default_rng(29)

    def dot(a, b):
        return a[3] * b[3] - a[:3] @ b[:3]

    n_done = 0
    while n_done < 40:
        mom = np.zeros((6, 4))
        mom[0] = [0.0, 0.0, pz, e]
        mom[1] = [0.0, 0.0, -pz, e]
        if not fl._gen_peripheral(rng, mom, sqrt_s, legs, mass, 0.25, True):
            continue
        q1 = mom[0] - mom[le]
        x = mom[lm] + mom[lq]
        w2 = dot(x, x)
        m = mass[lm]
        t = dot(q1 - mom[lm], q1 - mom[lm]) - m * m
        u = dot(q1 - mom[lq], q1 - mom[lq]) - m * m
        if -dot(q1, q1) < 1e-4:  # the invariants lose digits at tiny Q^2
            continue
        q1r = _boost(q1, -x[:3] / x[3])
        kr = _boost(mom[lm], -x[:3] / x[3])
        c = (q1r[:3] @ kr[:3]) / math.sqrt((q1r[:3] @ q1r[:3]) * (kr[:3] @ kr[:3]))
        a_ref = c * (t + u) / (u - t)
        b = fl._peak_b_virtual(mom, le, e, pz, q1r[3], w2, m, m)
        assert 1.0 / b == pytest.approx(a_ref, rel=1e-6), (a_ref, 1.0 / b, c)
        n_done += 1
    # Q^2 -> 0: A -> E*/p* = 1/beta*
    b_real = fl._peak_b_virtual(np.array([[0, 0, pz, e], [0, 0, -pz, e], [0, 0, pz, e],
                                          [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0.0]]),
                                2, e, pz, 0.5, 1.0, 0.1, 0.1)
    assert b_real == pytest.approx(math.sqrt(1.0 - 4 * 0.01 / 1.0), rel=1e-12)
