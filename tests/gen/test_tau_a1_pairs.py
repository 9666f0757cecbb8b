"""e+e- -> tau+ tau- with a1 decays: spin correlations and unchanged mode rates (process tautau).

References: E[h-_i h+_j] = <C_ij>/9 for unit isotropic polarimeters, <C> the Born average of the
correlation matrix of gen.decays.tau_spin (<C_xx> = (2 - beta^2)/(3 - beta^2), <C_yy> =
-beta^2/(3 - beta^2), <C_zz> = (1 + beta^2)/(3 - beta^2); tests/gen/test_tau_spin.py), with the a1
polarimeter evaluated here by a numerical V-A Dirac trace of the generated momenta (independent
of gen.decays.tau.a1_x1) and the pion one as +-(pion direction); and the branching fractions of
DECAY_BELLE2.DEC, which the accept/reject of the tau+ decay must not change.
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
from gen.processes.tautau import TauTau

NO_SPREAD = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
BORN = {"isr": False, "fsr": False, "z_exchange": False, "vacuum_polarisation": False}
BETA2 = 1.0 - 4.0 * M_TAU**2 / NO_SPREAD.sqrt_s_gev**2
MODES = tau.tau_modes()
A1_MODES = [m.index for m in MODES if m.kind == "a1"]
PI_MODE = next(m.index for m in MODES if m.name == "tau- -> pi- nu_tau")
A1_PDG = 20213

# ---------------------------------------------------------------- Dirac-trace reference

_G0 = np.diag([1, 1, -1, -1]).astype(complex)
_SIG = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
_GAM = np.array([_G0] + [np.block([[np.zeros((2, 2)), s], [-s, np.zeros((2, 2))]])
                         for s in _SIG], dtype=complex)
_G5 = 1j * _GAM[0] @ _GAM[1] @ _GAM[2] @ _GAM[3]
_ONE = np.eye(4)
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])
_VA = np.array([g @ (_ONE - _G5) for g in _GAM])


def _h_trace(nu, j, axes, minus):
    """Rest-frame polarimeter components along ``axes`` of tau -> nu(nu) + J ((t, x, y, z)):
    |M|^2(s) = omega (1 + h . s), |M|^2 = |u-bar(N) g^mu (1 - g5) u(P, s) J_mu|^2 (tau-) or
    |v-bar(P, s) g^mu (1 - g5) v(N) J_mu|^2 (tau+), spin projectors (P -+ m)(1 + g5 s)/2."""
    gam = np.einsum("m,mab->ab", j * _METRIC, _VA)
    gbar = _G0 @ gam.conj().T @ _G0
    nsl = np.einsum("m,mab->ab", nu * _METRIC, _GAM)
    h = np.zeros(3)
    for i in range(3):
        msq = []
        for sign in (1.0, -1.0):
            ssl = np.einsum("m,mab->ab", np.r_[0.0, sign * axes[i]] * _METRIC, _GAM)
            proj = (M_TAU * _GAM[0] + (M_TAU if minus else -M_TAU) * _ONE) @ (_ONE + _G5 @ ssl)
            prod = nsl @ gam @ proj @ gbar if minus else gam @ nsl @ gbar @ proj
            msq.append(np.trace(prod).real)
        h[i] = (msq[0] - msq[1]) / (msq[0] + msq[1])
    return h


# ---------------------------------------------------------------- event helpers


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
    b = p[:3] / p[3]
    b2 = b @ b
    if b2 == 0.0:
        return v.copy()
    g = 1.0 / math.sqrt(1.0 - b2)
    bp = b @ v[:3]
    return np.array([*(v[:3] + ((g - 1.0) * bp / b2 - g * v[3]) * b), g * (v[3] - bp)])


def _polarimeter(chunk, i, side, mode, axes, tot, tau_c, tables):
    """h of the tau- (side 0) or tau+ (side 1) of event i along the pair-frame ``axes``."""
    P = chunk.particles
    lo, hi = chunk.offset[i], chunk.offset[i + 1]

    def rest(r):
        return _boost_to_rest(_boost_to_rest(_p4(P, r), tot), tau_c)

    rows = [r for r in range(lo, hi) if P["mother"][r] == side]
    if mode == PI_MODE:
        r = next(r for r in rows if abs(P["pdg"][r]) == 211)
        v = rest(r)[:3]
        return (1.0 if side == 0 else -1.0) * (axes @ v) / np.linalg.norm(v)
    r0 = next(r for r in rows if abs(P["pdg"][r]) == A1_PDG)
    buf = np.zeros((5, 8))
    for j in range(5):
        buf[j, :4] = rest(r0 + j)
    s = buf[0, 3] ** 2 - buf[0, :3] @ buf[0, :3]
    c1, c2, d1, d2 = tau.a1_current1(tables.par[mode], tables.mass[mode], buf, 0, s)
    j = complex(c1) * np.array(d1) + complex(c2) * np.array(d2)
    nu = buf[1, :4]
    return _h_trace(np.r_[nu[3], nu[:3]], np.r_[j[3], j[:3]], axes, side == 0)


@pytest.fixture(scope="module")
def a1_pi_sample():
    """h- h+ products (pair axes) for the pair types a1-pi, pi-a1, a1-a1 of a biased sample."""
    proc = _make({"spin_correlations": True,
                  "mode_bias": {"pi": 1.0e3, "one_prong": 1.0e3, "multi_prong": 1.0e3}})
    chunk, _ = proc.generate(np.random.default_rng(51), 14_000)
    tables, _ = tau.tau_tables()
    beam, _ = NO_SPREAD.nominal_four_momenta()
    mm, mp = chunk.truth["mode_minus"], chunk.truth["mode_plus"]
    a1 = np.isin(np.arange(len(MODES)), A1_MODES)
    kinds = {"a1-pi": a1[mm] & (mp == PI_MODE), "pi-a1": (mm == PI_MODE) & a1[mp],
             "a1-a1": a1[mm] & a1[mp]}
    P = chunk.particles
    out = {}
    for name, sel in kinds.items():
        prod = []
        for i in np.flatnonzero(sel):
            lo = chunk.offset[i]
            tm, tp = _p4(P, lo), _p4(P, lo + 1)
            tot = tm + tp
            tm_c, tp_c = _boost_to_rest(tm, tot), _boost_to_rest(tp, tot)
            z = tm_c[:3] / np.linalg.norm(tm_c[:3])
            b = _boost_to_rest(beam, tot)[:3]
            x = b / np.linalg.norm(b) - (b @ z) / np.linalg.norm(b) * z
            x /= np.linalg.norm(x)
            axes = np.array([x, np.cross(z, x), z])
            hm = _polarimeter(chunk, i, 0, mm[i], axes, tot, tm_c, tables)
            hp = _polarimeter(chunk, i, 1, mp[i], axes, tot, tp_c, tables)
            prod.append(hm * hp)
        out[name] = np.array(prod)
    return out


@pytest.mark.parametrize("kind", ["a1-pi", "pi-a1", "a1-a1"])
def test_a1_spin_correlation(a1_pi_sample, kind):
    """<h-_i h+_i> = <C_ii>/9 (xx, yy, zz) with |h| = 1 on both sides; 4 sigma each. Without
    correlations all three are 0 (~12 sigma away for zz)."""
    prod = a1_pi_sample[kind]
    n = prod.shape[0]
    assert n > 1000
    expected = np.array([2.0 - BETA2, -BETA2, 1.0 + BETA2]) / (3.0 - BETA2) / 9.0
    err = prod.std(axis=0) / math.sqrt(n)
    np.testing.assert_array_less(np.abs(prod.mean(axis=0) - expected), 4.0 * err)
    assert expected[2] > 8.0 * err[2]


def _group(m) -> int:
    if m.kind == "leptonic":
        return 0 if abs(m.daughters[0]) == 11 else 1
    if m.kind == "two_body":
        return 2 if abs(m.daughters[0]) == 211 else 3
    if m.kind == "vector" and m.resonance == -213:
        return 4
    if m.kind == "a1":
        return 5
    return 6


def test_branching_fractions_unchanged_by_spin_weighting():
    """Mode classes of both taus, and of the tau+ when the tau- is an a1, against the DEC
    branching fractions (chi^2, p > 1e-3) in an unweighted spin-correlated sample."""
    proc = _make({"spin_correlations": True})
    chunk, _ = proc.generate(np.random.default_rng(61), 40_000)
    group = np.array([_group(m) for m in MODES])
    bf = np.array([m.bf for m in MODES])
    expected_p = np.array([bf[group == g].sum() for g in range(7)])
    mm, mp = group[chunk.truth["mode_minus"]], group[chunk.truth["mode_plus"]]
    for sample in (mm, mp, mp[mm == 5]):
        counts = np.bincount(sample, minlength=7)
        exp = expected_p * sample.size
        assert exp.min() > 5.0
        chi2 = float(((counts - exp) ** 2 / exp).sum())
        assert stats.chi2.sf(chi2, 6) > 1e-3
