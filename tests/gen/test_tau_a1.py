"""tau -> a1 nu -> 3 pi nu: the complex-current polarimeter and its spin correlations.

References, independent of the algebra of ``gen.decays.tau.a1_x1``: the V-A Dirac trace of
tau -> nu + J with explicit gamma matrices (spin projectors (p -+ m)(1 + g5 s)/2, as in
tests/gen/test_tau_spin.py); the real-current formula of the vector modes; |h| = 1 for a fully
known final state of spinless hadrons (one amplitude per tau spin state: the massless nu_tau has
one helicity); CP (tau+ rates at p = tau- rates at -p); and the tau-pair correlation
E[h-_i h+_j] = <C_ij>/9 for unit isotropic polarimeters (<C> the Born-averaged correlation
matrix of gen.decays.tau_spin, checked there against a Dirac trace).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from gen.constants import M_TAU
from gen.decays import tau
from gen.decays.tau_spin import _x_of_current, correlation_matrix1, polarimeter_x1, spin_weight1
from gen.phasespace import genbod1

A1_MODES = [m.index for m in tau.tau_modes() if m.kind == "a1"]
N_MODES = len(tau.tau_modes())

# ---------------------------------------------------------------- Dirac-trace reference

_G0 = np.diag([1, 1, -1, -1]).astype(complex)
_SIG = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
_GAM = np.array([_G0] + [np.block([[np.zeros((2, 2)), s], [-s, np.zeros((2, 2))]])
                         for s in _SIG], dtype=complex)
_G5 = 1j * _GAM[0] @ _GAM[1] @ _GAM[2] @ _GAM[3]
_ONE = np.eye(4)
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])
_VA = np.array([g @ (_ONE - _G5) for g in _GAM])  # gamma^mu (1 - g5)


def _slash(p):
    """p-slash of (n, 4) four-vectors (t, x, y, z) -> (n, 4, 4)."""
    return np.einsum("nm,mab->nab", p * _METRIC, _GAM)


def _msq_trace(n_tzyx, j_tzyx, s_vec, minus):
    """|M|^2 (up to a constant) of tau(rest, spin s) -> nu(N) + J for arrays of events.

    tau-: |u-bar(N) g^mu (1 - g5) u(P, s) J_mu|^2; tau+: |v-bar(P, s) g^mu (1 - g5) v(N) J_mu|^2
    (the CP-conjugate current has the same form). n_tzyx (n, 4) real, j_tzyx (n, 4) complex,
    s_vec (n, 3) rest-frame spin directions.
    """
    gam = np.einsum("nm,mab->nab", j_tzyx * _METRIC, _VA)
    gbar = np.einsum("ab,nbc,cd->nad", _G0, np.conj(np.transpose(gam, (0, 2, 1))), _G0)
    s4 = np.column_stack([np.zeros(len(s_vec)), s_vec])
    p_slash = M_TAU * _GAM[0]
    spin = _ONE + np.einsum("ab,nbc->nac", _G5, _slash(s4))
    proj = ((p_slash + (M_TAU if minus else -M_TAU) * _ONE) @ spin) / 2.0
    nsl = _slash(n_tzyx)
    if minus:
        return np.einsum("nab,nbc,ncd,nda->n", nsl, gam, proj, gbar).real
    return np.einsum("nab,nbc,ncd,nda->n", gam, nsl, gbar, proj).real


def _h_trace(n_tzyx, j_tzyx, axes, minus):
    """Polarimeter components along ``axes`` (3, 3): |M|^2(s) = omega (1 + h . s)."""
    h = np.zeros((len(n_tzyx), 3))
    for i in range(3):
        up = _msq_trace(n_tzyx, j_tzyx, np.broadcast_to(axes[i], (len(n_tzyx), 3)), minus)
        dn = _msq_trace(n_tzyx, j_tzyx, np.broadcast_to(-axes[i], (len(n_tzyx), 3)), minus)
        h[:, i] = (up - dn) / (up + dn)
    return h


def _tzyx(v):
    """(px, py, pz, e) -> (t, x, y, z)."""
    v = np.asarray(v)
    return np.concatenate([v[..., 3:4], v[..., :3]], axis=-1)


def _xyzt(v):
    v = np.asarray(v)
    return np.concatenate([v[..., 1:4], v[..., 0:1]], axis=-1)


# ---------------------------------------------------------------- the formula


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_x_of_complex_current_matches_dirac_trace(seed):
    """a1_x1: |M|^2(s) ~ (p - m s).X (tau-), (p + m s).X (tau+), for random complex currents."""
    rng = np.random.default_rng(seed)
    n = 40
    u = rng.normal(size=(n, 3))
    e_nu = 0.2 + 0.6 * rng.random(n)
    nu = np.column_stack([e_nu, u / np.linalg.norm(u, axis=1, keepdims=True) * e_nu[:, None]])
    d1, d2 = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    c1 = rng.normal(size=n) + 1j * rng.normal(size=n)
    c2 = rng.normal(size=n) + 1j * rng.normal(size=n)
    j = c1[:, None] * d1 + c2[:, None] * d2
    s = rng.normal(size=(n, 3))
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    for minus in (True, False):
        ref = _msq_trace(nu, j, s, minus)
        x = np.array([_tzyx(tau.a1_x1(tuple(_xyzt(nu[k])), complex(c1[k]), complex(c2[k]),
                                      tuple(_xyzt(d1[k])), tuple(_xyzt(d2[k])), minus))
                      for k in range(n)])
        # P = (m, 0), s = (0, s): (P -+ m s).X = m (X^0 +- s.X_vec)
        sign = 1.0 if minus else -1.0
        ours = M_TAU * (x[:, 0] + sign * (s * x[:, 1:]).sum(1))
        ratio = ref / ours
        np.testing.assert_allclose(ratio, 4.0, rtol=1e-9)
        # the parity-odd term matters here: without it the trace is not reproduced
        x_sym = np.array([_tzyx(_x_of_current(tuple(_xyzt(nu[k])), tuple(_xyzt(j[k].real))))
                          for k in range(n)]) + np.array(
            [_tzyx(_x_of_current(tuple(_xyzt(nu[k])), tuple(_xyzt(j[k].imag))))
             for k in range(n)])
        sym = M_TAU * (x_sym[:, 0] + sign * (s * x_sym[:, 1:]).sum(1))
        assert np.max(np.abs(ref / sym - 4.0)) > 1e-2


def test_real_current_reduces_to_vector_formula():
    """With one common phase (Im c1 c2* = 0) a1_x1 is |c|^2 times the light-like X of the
    vector modes, for both charges."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        k = rng.normal(size=3)
        k = (*k, float(np.linalg.norm(k)))
        d1, d2 = tuple(rng.normal(size=4)), tuple(rng.normal(size=4))
        c1 = complex(*rng.normal(size=2))
        r = float(rng.normal())
        j = tuple(np.array(d1) + r * np.array(d2))
        ref = abs(c1) ** 2 * np.array(_x_of_current(k, j))
        for minus in (True, False):
            x = np.array(tau.a1_x1(k, c1, c1 * r, d1, d2, minus))
            np.testing.assert_allclose(x, ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
        # light-like
        assert abs(ref[3] ** 2 - ref[:3] @ ref[:3]) < 1e-9 * ref[3] ** 2


# ---------------------------------------------------------------- generated decays


def _boost_to_rest(v, p):
    """Four-vectors v (n, 4) (px, py, pz, e) in the rest frames of p (n, 4) (pure boosts)."""
    b = p[:, :3] / p[:, 3:4]
    b2 = (b * b).sum(1)
    g = 1.0 / np.sqrt(1.0 - b2)
    bp = (b * v[:, :3]).sum(1)
    f = np.where(b2 > 0, (g - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0) - g * v[:, 3]
    return np.column_stack([v[:, :3] + f[:, None] * b, g * (v[:, 3] - bp)])


def _rows(chunk):
    P = chunk.particles
    return np.stack([P[k] for k in ("px", "py", "pz", "e", "vx", "vy", "vz", "t")], axis=1)


def _a1_decays(mode, charge, n, seed):
    """(chunk, float rows) of n taus (random momenta up to 5 GeV) decayed in ``mode``."""
    rng = np.random.default_rng(seed)
    p = 5.0 * rng.random(n)
    c = 2.0 * rng.random(n) - 1.0
    phi = 2.0 * np.pi * rng.random(n)
    s = np.sqrt(1.0 - c * c)
    mask = np.zeros(N_MODES, bool)
    mask[mode] = True
    chunk = tau.decay_taus(rng, p * s * np.cos(phi), p * s * np.sin(phi), p * c,
                           np.sqrt(p * p + M_TAU**2), np.full(n, float(charge)), mode_mask=mask)
    return chunk, _rows(chunk)


def _x_rest(chunk, f, mode, minus):
    """X of every a1 block (rows 1.. of each entry) in its tau rest frame, (n, 4)."""
    tables, _ = tau.tau_tables()
    lo = chunk.offset[:-1]
    x = np.array([polarimeter_x1(tables, mode, f, r + 1, minus)[1] for r in lo])
    return _boost_to_rest(x, f[lo, :4])


@pytest.mark.parametrize("charge", [-1, 1])
@pytest.mark.parametrize("mode", A1_MODES)
def test_generated_polarimeter_is_a_unit_isotropic_vector(mode, charge):
    """h = +-X/X^0 has |h| = 1 at every generated point (X future light-like, so |M|^2 >= 0
    for every spin) and <h> = 0 (an unpolarised tau): 4 sigma, sigma^2 = 1/(3 n)."""
    n = 3000
    chunk, f = _a1_decays(mode, charge, n, 10 + mode + (charge > 0))
    x = _x_rest(chunk, f, mode, charge < 0)
    assert np.all(x[:, 3] > 0.0)
    h = x[:, :3] / x[:, 3:4]
    np.testing.assert_allclose(np.linalg.norm(h, axis=1), 1.0, atol=1e-9)
    assert np.all(np.abs(h.mean(axis=0)) < 4.0 / math.sqrt(3.0 * n))


@pytest.mark.parametrize("charge", [-1, 1])
@pytest.mark.parametrize("mode", A1_MODES)
def test_parity_odd_part_of_the_rate_is_generated(mode, charge):
    """The unpolarised rate is omega = S^0 + Y^0 (tau rest frame) with a parity-odd Y^0. If
    events follow omega, E[Y0/S0] = E[Y0^2/(S0 omega)] (both = int Y0^2/S0 / int S0): checked
    at 4 sigma; an even generation (omega = S^0, the former model, or the tau+ not mirrored)
    would give E[Y0/S0] = 0 and E[Y0^2/(S0 omega)] > 0."""
    n = 6000
    chunk, f = _a1_decays(mode, charge, n, 20 + mode + (charge > 0))
    own = _x_rest(chunk, f, mode, charge < 0)  # X of this tau: S + Y (tau-), S - Y (tau+)
    other = _x_rest(chunk, f, mode, charge > 0)
    s0 = 0.5 * (own[:, 3] + other[:, 3])
    y0 = 0.5 * (own[:, 3] - other[:, 3])  # the parity-odd part, with this tau's sign
    a = y0 / s0
    diff = a - y0**2 / (s0 * own[:, 3])
    assert abs(diff.mean()) < 4.0 * diff.std() / math.sqrt(n)
    assert a.mean() > 5.0 * a.std() / math.sqrt(n)


def test_tau_plus_is_the_mirror_of_tau_minus():
    """CP: the invariant masses of tau+ -> pi+ pi0 pi0 nu follow those of the tau- (KS
    2-sample), while the parity-odd Y0/S0, evaluated with the tau- formula, changes sign."""
    mode = A1_MODES[0]
    out = {}
    for charge in (-1, 1):
        chunk, f = _a1_decays(mode, charge, 6000, 30 + (charge > 0))
        lo = chunk.offset[:-1]
        pions = [f[lo + 2 + j, :4] for j in range(3)]
        odd = int(tau.tau_tables()[0].par[mode, 7])
        same = [j for j in range(3) if j != odd]
        m2 = [((pions[a] + pions[odd])[:, 3] ** 2
               - ((pions[a] + pions[odd])[:, :3] ** 2).sum(1)) for a in same]
        xm = _x_rest(chunk, f, mode, True)
        xp = _x_rest(chunk, f, mode, False)
        out[charge] = (np.concatenate(m2), (xm[:, 3] - xp[:, 3]) / (xm[:, 3] + xp[:, 3]))
    assert stats.ks_2samp(out[-1][0], out[1][0]).pvalue > 1e-3
    am, ap = out[-1][1], out[1][1]
    err = math.sqrt(am.var() / am.size + ap.var() / ap.size)
    assert abs(am.mean() + ap.mean()) < 4.0 * err
    assert am.mean() > 5.0 * err


# ---------------------------------------------------------------- the tau-pair weight


def test_correlation_matrix_norm_at_most_one():
    """W = 1 + h- C h+ in [0, W_max], W_max = 1 + |C^T h-| <= 2 needs |h| <= 1 (above) and the
    spectral norm of C <= 1 at every angle and energy."""
    for gamma in (1.0001, 1.2, 2.98, 30.0):
        for c in np.linspace(-1.0, 1.0, 41):
            cxx, cyy, czz, cxz = correlation_matrix1(float(c), gamma)
            cm = np.array([[cxx, 0.0, cxz], [0.0, cyy, 0.0], [cxz, 0.0, czz]])
            assert np.linalg.norm(cm, 2) <= 1.0 + 1e-12


def test_spin_weight_bound_with_a1():
    """spin_weight1 on (a1 or pi) x (a1 or pi) pairs: 0 <= W <= W_max <= 2, and for one tau-
    decay the mean of W over tau+ decays is 1 (<h+> = 0): 4 sigma."""
    tables, _ = tau.tau_tables()
    pi_mode = next(m.index for m in tau.tau_modes() if m.name == "tau- -> pi- nu_tau")
    beam = (0.0, 0.0, 7.0, 7.0)
    rng = np.random.default_rng(5)
    for mode_m, mode_p in ((A1_MODES[0], A1_MODES[1]), (A1_MODES[1], pi_mode),
                           (pi_mode, A1_MODES[0])):
        n = 2000
        mm, mp = np.zeros(N_MODES, bool), np.zeros(N_MODES, bool)
        mm[mode_m], mp[mode_p] = True, True
        # one tau- (fixed decay) against n tau+ decays, back to back at 90 deg to the beam
        # (there |C^T h-| >= 0.8 for any h-)
        p = np.array([4.5, 0.0, 0.0])
        e = math.sqrt(p @ p + M_TAU**2)
        cm_ = tau.decay_taus(rng, *(np.array([v]) for v in (*p, e)), np.array([-1.0]),
                             mode_mask=mm)
        cp_ = tau.decay_taus(rng, *(np.full(n, v) for v in (*(-p), e)), np.full(n, 1.0),
                             mode_mask=mp)
        fm, fp = _rows(cm_), _rows(cp_)
        w = np.zeros(n)
        w_max = np.zeros(n)
        nm = len(fm) - 1
        for k in range(n):
            blk = fp[cp_.offset[k]:cp_.offset[k + 1]]
            buf = np.concatenate([fm[:1], blk[:1], fm[1:], blk[1:]])
            w[k], w_max[k] = spin_weight1(tables, buf, 0, 1, mode_m, 2, mode_p, 2 + nm, beam)
        assert np.all(w >= -1e-12)
        assert np.all(w <= w_max + 1e-12)
        assert np.ptp(w_max) < 1e-12
        assert w_max[0] <= 2.0
        assert w_max[0] > 1.5  # a1 and pi polarimeters have |h| = 1: the weight varies
        assert abs(w.mean() - 1.0) < 4.0 * w.std() / math.sqrt(n)


# ---------------------------------------------------------------- the sampler against a reference


@numba.njit(cache=False)
def _flat_reference(rng, tables, mode, n):
    """n flat four-body phase-space points tau- (rest) -> nu 3 pi (GENBOD, gen.phasespace),
    weights = GENBOD weight x |M|^2 (M X^0 of ``a1_x1``, tau- rest frame); returns (Q^2, s13,
    s23, weight). Independent of the Breit-Wigner and rho-channel maps of ``_a1_trial``."""
    masses = tables.mass[mode]
    par = tables.par[mode]
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    i2 = 2 if odd != 2 else 1
    scr = np.zeros((6, 8))
    out = np.zeros((n, 4))
    for k in range(n):
        w = genbod1(rng, tables.m_tau, masses[1:5], 4, scr, 1)
        for c in range(4):
            scr[0, c] = scr[2, c] + scr[3, c] + scr[4, c]
        a = scr[0]
        s = a[3] ** 2 - a[0] ** 2 - a[1] ** 2 - a[2] ** 2
        c1, c2, d1, d2 = tau.a1_current1(par, masses, scr, 0, s)
        x = tau.a1_x1((scr[1, 0], scr[1, 1], scr[1, 2], scr[1, 3]), c1, c2, d1, d2, True)
        p13 = scr[2 + i1, :4] + scr[2 + odd, :4]
        p23 = scr[2 + i2, :4] + scr[2 + odd, :4]
        out[k, 0] = s
        out[k, 1] = p13[3] ** 2 - p13[0] ** 2 - p13[1] ** 2 - p13[2] ** 2
        out[k, 2] = p23[3] ** 2 - p23[0] ** 2 - p23[1] ** 2 - p23[2] ** 2
        out[k, 3] = w * x[3]
    return out


@pytest.mark.parametrize("mode", A1_MODES)
def test_a1_spectra_match_weighted_flat_phase_space(mode):
    """Q^2 and the two rho-pair masses^2 of generated tau- -> 3 pi nu (Breit-Wigner x rho
    multichannel hit-or-miss) against flat four-body phase space weighted by the same |M|^2:
    chi^2 of 20-bin histograms (variance of both samples, reference sum w^2), p > 1e-3 each."""
    tables, _ = tau.tau_tables()
    ref = _flat_reference(np.random.default_rng(7 + mode), tables, mode, 400_000)
    n = 40_000
    mask = np.zeros(N_MODES, bool)
    mask[mode] = True
    z = np.zeros(n)
    chunk = tau.decay_taus(np.random.default_rng(40 + mode), z, z, z, np.full(n, M_TAU),
                           np.full(n, -1.0), mode_mask=mask)
    f = _rows(chunk)
    lo = chunk.offset[:-1]
    odd = int(tables.par[mode, 7])
    i1 = 0 if odd != 0 else 1
    i2 = 2 if odd != 2 else 1

    def m2(v):
        return v[:, 3] ** 2 - (v[:, :3] ** 2).sum(1)

    gen = [m2(f[lo + 1, :4]), m2(f[lo + 3 + i1, :4] + f[lo + 3 + odd, :4]),
           m2(f[lo + 3 + i2, :4] + f[lo + 3 + odd, :4])]
    w = ref[:, 3]
    for j in range(3):
        edges = np.quantile(gen[j], np.linspace(0.0, 1.0, 21))
        edges[0], edges[-1] = -np.inf, np.inf
        h_gen = np.histogram(gen[j], edges)[0].astype(float)
        h_ref = np.histogram(ref[:, j], edges, weights=w)[0]
        v_ref = np.histogram(ref[:, j], edges, weights=w * w)[0]
        scale = n / w.sum()
        chi2 = np.sum((h_gen - scale * h_ref) ** 2 / (h_gen + scale**2 * v_ref))
        assert stats.chi2.sf(chi2, 19) > 1e-3, (j, chi2)
