"""Tests of the tau+ tau- spin correlations (gen.decays.tau_spin, process tautau).

References: the correlation matrix against a numerical Dirac trace of e+e- -> gamma* ->
tau+ tau- with spin projectors; the pi-pi energy correlation corr(x+, x-) = <C_zz>/3 =
(1 + beta^2) / (3 (3 - beta^2)) (x linear in the pion angle at fixed tau energy; <C_zz> the
Born-weighted average of C_zz); the transverse correlations <C_xx> = (2 - beta^2)/(3 - beta^2),
<C_yy> = -beta^2/(3 - beta^2) from the leptonic polarimeters (anti-)neutrino directions; and
unchanged single-tau spectra.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gen.beams import Beams
from gen.cards import parse_table
from gen.constants import M_TAU
from gen.decays import tau
from gen.decays.tau_spin import correlation_matrix1, polarimeter_x1, spin_vector1, spin_weight1
from gen.processes.tautau import TauTau

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
BORN = {"isr": False, "fsr": False, "z_exchange": False, "vacuum_polarisation": False}
BETA2 = 1.0 - 4.0 * M_TAU**2 / NO_SPREAD.sqrt_s_gev**2


# ---------------------------------------------------------------- Dirac-trace reference

_G0 = np.diag([1, 1, -1, -1]).astype(complex)
_SIG = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
_GAM = [_G0] + [np.block([[np.zeros((2, 2)), s], [-s, np.zeros((2, 2))]]).astype(complex)
                for s in _SIG]
_G5 = 1j * _GAM[0] @ _GAM[1] @ _GAM[2] @ _GAM[3]
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])


def _slash(p):
    return sum(_METRIC[m] * p[m] * _GAM[m] for m in range(4))


def _msq(k1, k2, p1, s1, p2, s2, m):
    """sum over e spins |M|^2 of e-(k1) e+(k2) -> gamma* -> tau-(p1, s1) tau+(p2, s2), up to a
    constant: L^{mu nu} H_{mu nu} with u u-bar = (p + m)(1 + g5 s)/2, v v-bar = (p - m)(1 + g5 s)/2
    (Itzykson & Zuber conventions)."""
    one = np.eye(4)
    a = (_slash(p1) + m * one) @ (one + _G5 @ _slash(s1))
    b = (_slash(p2) - m * one) @ (one + _G5 @ _slash(s2))
    total = 0.0
    for mu in range(4):
        for nu in range(4):
            lt = np.trace(_slash(k2) @ _GAM[mu] @ _slash(k1) @ _GAM[nu])
            ht = np.trace(a @ _GAM[mu] @ b @ _GAM[nu])
            total += (lt * ht * _METRIC[mu] * _METRIC[nu]).real
    return total


def _spin4(s, beta, sign):
    """Rest-frame spin s of a particle moving with speed beta along sign * z, as a 4-vector."""
    g = 1.0 / math.sqrt(1.0 - beta * beta)
    return np.array([sign * g * beta * s[2], s[0], s[1], g * s[2]])


@pytest.mark.parametrize("beta", [0.3, 0.6, 0.94])
@pytest.mark.parametrize("cos_theta", [-0.7, 0.1, 0.8])
def test_correlation_matrix_against_dirac_trace(beta, cos_theta):
    m = 1.0
    g = 1.0 / math.sqrt(1.0 - beta * beta)
    e = g * m
    sin_t = math.sqrt(1.0 - cos_theta**2)
    k1 = np.array([e, e * sin_t, 0.0, e * cos_theta])  # e- beam: b = cos z + sin x
    k2 = np.array([e, -e * sin_t, 0.0, -e * cos_theta])
    p1 = np.array([e, 0.0, 0.0, g * beta * m])
    p2 = np.array([e, 0.0, 0.0, -g * beta * m])
    axes = np.eye(3)
    c = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            v = {}
            for a in (1, -1):
                for b in (1, -1):
                    v[a, b] = _msq(k1, k2, p1, _spin4(a * axes[i], beta, 1), p2,
                                   _spin4(b * axes[j], beta, -1), m)
            c[i, j] = (v[1, 1] - v[1, -1] - v[-1, 1] + v[-1, -1]) / sum(v.values())
            # no single-tau polarisation with photon exchange
            assert abs(v[1, 1] + v[1, -1] - v[-1, 1] - v[-1, -1]) < 1e-9 * sum(v.values())
    cxx, cyy, czz, cxz = correlation_matrix1(cos_theta, g)
    expected = np.array([[cxx, 0.0, cxz], [0.0, cyy, 0.0], [cxz, 0.0, czz]])
    np.testing.assert_allclose(c, expected, atol=1e-10)


# ---------------------------------------------------------------- generated events


def _make(params):
    p = parse_table({**BORN, **params}, TauTau.params, "process")
    c = parse_table({"min_charged": 0}, TauTau.cuts, "cuts")
    proc = TauTau(p, c, NO_SPREAD)
    proc.validate("test card")
    proc.prepare(np.random.default_rng(1), 2000)
    return proc


def _p4(P, r):
    return np.array([P["px"][r], P["py"][r], P["pz"][r], P["e"][r]])


def _boost_to_rest(v, p):
    """Four-vector v in the rest frame of four-momentum p (pure boost)."""
    b = p[:3] / p[3]
    b2 = b @ b
    if b2 == 0.0:
        return v.copy()
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = b @ v[:3]
    vec = v[:3] + ((g - 1.0) * bp / b2 - g * v[3]) * b
    return np.array([*vec, g * (v[3] - bp)])


def _frames(chunk, i, beam):
    """Pair-frame axes (x, y, z) and the pair-frame tau-/tau+ of event i."""
    P = chunk.particles
    lo = chunk.offset[i]
    tm, tp = _p4(P, lo), _p4(P, lo + 1)
    tot = tm + tp
    tm_c, tp_c = _boost_to_rest(tm, tot), _boost_to_rest(tp, tot)
    z = tm_c[:3] / np.linalg.norm(tm_c[:3])
    b = _boost_to_rest(beam, tot)[:3]
    b /= np.linalg.norm(b)
    x = b - (b @ z) * z
    x /= np.linalg.norm(x)
    return tot, tm_c, tp_c, np.array([x, np.cross(z, x), z])


def _daughter(chunk, i, mother, pdgs):
    P = chunk.particles
    for r in range(chunk.offset[i], chunk.offset[i + 1]):
        if P["mother"][r] == mother and P["pdg"][r] in pdgs:
            return r
    raise AssertionError("daughter not found")


def _rest_direction(chunk, i, r, tot, tau_c, axes):
    v = _boost_to_rest(_boost_to_rest(_p4(chunk.particles, r), tot), tau_c)
    return axes @ (v[:3] / np.linalg.norm(v[:3]))


@pytest.fixture(scope="module")
def pion_samples():
    cls = tau.mode_classes()
    pi = tau.MODE_CLASSES.index("pi")
    out = {}
    for spin in (True, False):
        proc = _make({"spin_correlations": spin, "mode_bias": {"pi": 1.0e4}})
        chunk, _ = proc.generate(np.random.default_rng(31), 12_000)
        ok = np.flatnonzero((cls[chunk.truth["mode_minus"]] == pi)
                            & (cls[chunk.truth["mode_plus"]] == pi))
        x = np.zeros((ok.size, 2))
        for k, i in enumerate(ok):
            P = chunk.particles
            lo = chunk.offset[i]
            tot = _p4(P, lo) + _p4(P, lo + 1)
            e_beam = math.sqrt(tot[3] ** 2 - tot[:3] @ tot[:3]) / 2.0
            for j, (mother, pdg) in enumerate(((0, (-211,)), (1, (211,)))):
                r = _daughter(chunk, i, mother, pdg)
                x[k, j] = _boost_to_rest(_p4(P, r), tot)[3] / e_beam
        out[spin] = x
    return out


def test_pi_pi_energy_correlation(pion_samples):
    """corr(x-, x+) = <C_zz>/3 = (1 + beta^2)/(3 (3 - beta^2)) = 0.298 at 10.58 GeV; 0 without
    spin correlations. Tolerance 4 sigma, sigma(r) = (1 - r^2)/sqrt(n)."""
    expected = (1.0 + BETA2) / (3.0 * (3.0 - BETA2))
    assert expected == pytest.approx(0.2977, abs=1e-3)
    x = pion_samples[True]
    n = x.shape[0]
    assert n > 10_000
    r = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
    assert abs(r - expected) < 4.0 * (1.0 - expected**2) / math.sqrt(n)
    x0 = pion_samples[False]
    r0 = np.corrcoef(x0[:, 0], x0[:, 1])[0, 1]
    assert abs(r0) < 4.0 / math.sqrt(x0.shape[0])


def test_single_pion_spectra_unchanged(pion_samples):
    """x of each pion: the same with and without correlations (KS), and flat in
    [m_pi^2/m_tau^2 - ish, 1] as for an unpolarised tau: mean from the two-body kinematics."""
    on, off = pion_samples[True], pion_samples[False]
    for j in range(2):
        assert stats.ks_2samp(on[:, j], off[:, j]).pvalue > 1e-3
    # unpolarised: E* and p* of the pion in the tau frame, <x> = E*/m_tau at fixed tau energy
    m_pi = 0.13957039
    mean_x = (M_TAU**2 + m_pi**2) / (2.0 * M_TAU**2)
    for j in range(2):
        assert abs(on[:, j].mean() - mean_x) < 4.0 * on[:, j].std() / math.sqrt(on.shape[0])


def test_leptonic_polarimeter_correlations():
    """tau -> mu nu nu on both sides: h- = anti-nu_mu direction, h+ = -(nu_mu direction) in the
    tau rest frames; <h-_i h+_j> = <C_ij>/9 for isotropic unit h: C_zz, C_xx, C_yy averaged
    over the Born angle; 4 sigma."""
    proc = _make({"spin_correlations": True, "mode_bias": {"mu": 1.0e4}})
    chunk, _ = proc.generate(np.random.default_rng(41), 12_000)
    cls = tau.mode_classes()
    mu = tau.MODE_CLASSES.index("mu")
    ok = np.flatnonzero((cls[chunk.truth["mode_minus"]] == mu)
                        & (cls[chunk.truth["mode_plus"]] == mu))
    beam, _ = NO_SPREAD.nominal_four_momenta()
    prod = np.zeros((ok.size, 3))
    single = np.zeros((ok.size, 2))
    for k, i in enumerate(ok):
        tot, tm_c, tp_c, axes = _frames(chunk, i, beam)
        hm = _rest_direction(chunk, i, _daughter(chunk, i, 0, (-14,)), tot, tm_c, axes)
        hp = -_rest_direction(chunk, i, _daughter(chunk, i, 1, (14,)), tot, tp_c, axes)
        prod[k] = hm * hp
        single[k] = hm[2], hp[2]
    expected = np.array([2.0 - BETA2, -BETA2, 1.0 + BETA2]) / (3.0 - BETA2) / 9.0
    err = prod.std(axis=0) / math.sqrt(ok.size)
    np.testing.assert_array_less(np.abs(prod.mean(axis=0) - expected), 4.0 * err)
    # no single-tau polarisation: h_z uniform in [-1, 1]
    for j in range(2):
        assert stats.kstest(single[:, j], "uniform", args=(-1.0, 2.0)).pvalue > 1e-3


@pytest.mark.parametrize("seed", [1, 2])
def test_staged_spin_weight_equals_lab_weight(seed):
    """W = 1 - G . X_vec / X^0 of ``spin_vector1`` (X of the tau+ block in its pure-boost rest
    frame, as the staged accept/reject uses it) equals ``spin_weight1`` on the lab rows, for
    tau pairs that are not back to back (ISR: a Wigner rotation between the two tau+ frames)
    and every polarimeter kind; W_max equal too."""
    rng = np.random.default_rng(seed)
    tables, _ = tau.tau_tables()
    kinds = {m.kind: m.index for m in tau.tau_modes()}
    modes = [kinds[k] for k in ("leptonic", "two_body", "vector", "a1", "phase_space")]
    beam = (0.0, 0.0, 7.0, 7.0)
    for mode_m in modes[:4]:
        for mode_p in modes:
            pm, pp = rng.normal(size=3) * 3.0, rng.normal(size=3) * 3.0
            em, ep = math.sqrt(pm @ pm + M_TAU**2), math.sqrt(pp @ pp + M_TAU**2)
            mm = np.zeros(len(tau.tau_modes()), bool)
            mm[mode_m] = True
            mp = np.zeros_like(mm)
            mp[mode_p] = True
            cm_ = tau.decay_taus(rng, *(np.array([v]) for v in (*pm, em)), np.array([-1.0]),
                                 mode_mask=mm)
            cp_ = tau.decay_taus(rng, *(np.array([v]) for v in (*pp, ep)), np.array([1.0]),
                                 mode_mask=mp)
            fm = np.stack([cm_.particles[k] for k in ("px", "py", "pz", "e", "vx", "vy", "vz",
                                                       "t")], axis=1)
            fp = np.stack([cp_.particles[k] for k in ("px", "py", "pz", "e", "vx", "vy", "vz",
                                                       "t")], axis=1)
            buf = np.concatenate([fm[:1], fp[:1], fm[1:], fp[1:]])
            r_p = 1 + len(fm)
            w_ref, wmax_ref = spin_weight1(tables, buf, 0, 1, mode_m, 2, mode_p, r_p, beam)
            rest = buf.copy()
            for r in range(r_p, len(buf)):
                rest[r, :4] = _boost_to_rest(buf[r, :4], buf[1, :4])
            ok, gx, gy, gz, w_max = spin_vector1(tables, buf, 0, 1, mode_m, 2, beam)
            assert ok
            ok_p, x = polarimeter_x1(tables, mode_p, rest, r_p, False)
            w = 1.0 - (gx * x[0] + gy * x[1] + gz * x[2]) / x[3] if ok_p else 1.0
            assert w == pytest.approx(w_ref, abs=1e-9)
            assert w_max == pytest.approx(wmax_ref, abs=1e-12)
            assert ok_p == (mode_p != modes[4])
            assert abs(w_ref - 1.0) > 1e-6 or not ok_p  # the check is not trivial
