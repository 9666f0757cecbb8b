"""Helicity of the D** (P-wave charm mesons) and its decay angles in gen.decays.generic.

- D_2* -> D pi: |d^2_{m0}(theta)|^2; D_2* -> D* pi: sum over lambda_D* = +-1 of
  |d^2_{m lambda}|^2 (parity forbids lambda_D* = 0) and the D* then decays with helicity +-1;
- D_1 -> D* pi (DEC VVS_PWAVE: pure D wave for D_1(2420), pure S wave for D_1(2430)): the joint
  distribution of the two helicity angles sum_lambda |A_lambda|^2 |d^1_{m lambda}|^2
  |d^1_{lambda 0}|^2 with |A_0|^2 : |A_1|^2 = 4 : 1 (D wave) or 1 : 1 (S wave);
- B -> D** l nu (LLSW): helicity fractions against the integrated helicity rates, and the chain
  B -> D_2* l nu, D_2* -> D pi through the decayer.
Wigner d functions: PDG RPP 2024 "Clebsch-Gordan coefficients, spherical harmonics and d
functions". Statistical tests: chi^2 with fixed seeds, p > 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from gen.constants import M_MU, mass_gev
from gen.decays import generic as g
from gen.decays import semileptonic as sl
from gen.decays.tau import tau_tables
from gen.events import EventChunk

M_B0 = mass_gev(511)
P_32 = (0.71, -1.6, -0.5, 2.9)  # DECAY_BELLE2.DEC LLSW parameters of D_1, D_2*
P_HALF = (0.68, -0.2, 0.3)


def _d2(m: int, lam: int, c):
    s2 = 1.0 - c * c
    table = {(0, 0): (0.5 * (3 * c * c - 1)) ** 2, (1, 0): 1.5 * s2 * c * c,
             (0, 1): 1.5 * s2 * c * c, (1, 1): (0.5 * (1 + c) * (2 * c - 1)) ** 2,
             (1, -1): (0.5 * (1 - c) * (2 * c + 1)) ** 2}
    return table[(m, lam)] if (m, lam) in table else table[(m, -lam)]


def _d1(m: int, lam: int, c):
    if m == 0 and lam == 0:
        return c * c
    if m == 0 or lam == 0:
        return 0.5 * (1 - c * c)
    return (0.5 * (1 + c)) ** 2 if m == lam else (0.5 * (1 - c)) ** 2


def _events(pdg: int, n: int, pol: int, decaying: set[int], seed: int, p: float = 1.3
            ) -> EventChunk:
    """n events: a B0 at rest (status 2) and its daughter ``pdg`` (status 1) flying along +z
    with momentum p and helicity code ``pol``; only the species in ``decaying`` decay."""
    m = mass_gev(pdg)
    parts = {"pdg": np.tile([511, pdg], n).astype(np.int32),
             "status": np.tile([2, 1], n).astype(np.int8),
             "mother": np.tile([-1, 0], n).astype(np.int32),
             "px": np.zeros(2 * n), "py": np.zeros(2 * n),
             "pz": np.tile([0.0, p], n), "e": np.tile([M_B0, np.hypot(p, m)], n)}
    for k in ("vx", "vy", "vz", "t"):
        parts[k] = np.zeros(2 * n)
    chunk = EventChunk(weight=np.ones(n), offset=np.arange(0, 2 * n + 1, 2, dtype=np.int64),
                       particles=parts, truth={})
    stable = frozenset(int(abs(x)) for x in g.decay_tables().sp_pdg) - decaying
    return g.decay_unstable(chunk, np.random.default_rng(seed), stable=stable,
                            polarisation=np.tile([g.POL_NONE, pol], n))


def _boost_to(p4: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Four-vectors (n, 4: px py pz e) boosted into the rest frame of ``frame`` (n, 4)."""
    b = frame[:, :3] / frame[:, 3:4]
    b2 = np.sum(b * b, axis=1)
    gam = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(b * p4[:, :3], axis=1)
    coef = (gam - 1.0) * bp / np.where(b2 > 0, b2, 1.0) - gam * p4[:, 3]
    return np.column_stack([p4[:, :3] + coef[:, None] * b, gam * (p4[:, 3] - bp)])


def _helicity_cos(child: np.ndarray, parent: np.ndarray, grand: np.ndarray) -> np.ndarray:
    """cos of ``child`` in the ``parent`` frame against the direction opposite ``grand``."""
    c = _boost_to(child, parent)[:, :3]
    axis = -_boost_to(grand, parent)[:, :3]
    return np.sum(c * axis, axis=1) / np.linalg.norm(c, axis=1) / np.linalg.norm(axis, axis=1)


def _p4(ch: EventChunk, rows: np.ndarray) -> np.ndarray:
    P = ch.particles
    return np.column_stack([P["px"][rows], P["py"][rows], P["pz"][rows], P["e"][rows]])


def _two_body_rows(ch: EventChunk, mother_local: int, first_pdgs: tuple[int, ...]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per event: global rows of (the daughter with |pdg| in first_pdgs, its mother), for
    mothers at local index ``mother_local`` with two daughters."""
    P = ch.particles
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    local = np.arange(ev.size) - ch.offset[ev]
    is_d = P["mother"] == mother_local
    n_d = np.bincount(ev[is_d], minlength=ch.n_events)
    rows = np.flatnonzero(is_d & np.isin(np.abs(P["pdg"]), first_pdgs) & (n_d[ev] == 2))
    assert np.all(local[rows] > mother_local)
    return rows, ch.offset[ev[rows]] + mother_local


def _chi2_p(x: np.ndarray, density, edges: np.ndarray) -> float:
    expect = np.array([quad(density, a, b)[0] for a, b in zip(edges[:-1], edges[1:],
                                                              strict=True)])
    obs = np.histogram(x, edges)[0]
    return stats.chisquare(obs, expect / expect.sum() * obs.sum()).pvalue


EDGES = np.linspace(-1, 1, 11)


@pytest.mark.parametrize("pol", [g.POL_HEL0, g.POL_HEL1])
def test_tensor_decay_angles(pol):
    """D_2*0 of helicity 0 / +-1: D pi angle |d^2_{m0}|^2, D* pi angle sum_{+-1}
    |d^2_{m lambda}|^2, and the D* from it decays as helicity +-1 (sin^2 of D* -> D pi)."""
    m = 0 if pol == g.POL_HEL0 else 1
    n = 12000
    ch = _events(425, n, pol, {425, 413}, seed=40 + pol)
    grand = _p4(ch, ch.offset[:-1])
    rows, par = _two_body_rows(ch, 1, (411, 421))  # D pi
    c = _helicity_cos(_p4(ch, rows), _p4(ch, par), np.tile(grand[0], (rows.size, 1)))
    assert rows.size > 0.5 * n
    assert _chi2_p(c, lambda x: _d2(m, 0, x), EDGES) > 1e-3
    rows, par = _two_body_rows(ch, 1, (413, 423))  # D* pi
    c = _helicity_cos(_p4(ch, rows), _p4(ch, par), np.tile(grand[0], (rows.size, 1)))
    assert rows.size > 0.3 * n
    assert _chi2_p(c, lambda x: _d2(m, 1, x) + _d2(m, -1, x), EDGES) > 1e-3
    # D*+ -> D0 pi+ / D+ pi0 (VSS): helicity +-1 -> sin^2 about the direction opposite D_2*
    dst = rows[np.abs(ch.particles["pdg"][rows]) == 413]
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    local = np.arange(ev.size) - ch.offset[ev]
    mother_local = np.full(ch.n_events, -1)
    mother_local[ev[dst]] = local[dst]
    is_dd = (ch.particles["mother"] == mother_local[ev]) & np.isin(
        np.abs(ch.particles["pdg"]), (411, 421))
    d_rows = np.flatnonzero(is_dd)
    dst_rows = ch.offset[ev[d_rows]] + mother_local[ev[d_rows]]
    d2_rows = ch.offset[ev[d_rows]] + 1
    c2 = _helicity_cos(_p4(ch, d_rows), _p4(ch, dst_rows), _p4(ch, d2_rows))
    assert d_rows.size > 0.1 * n
    assert _chi2_p(c2, lambda x: 1 - x * x, EDGES) > 1e-3


@pytest.mark.parametrize(("pdg", "zero_share"), [(10423, 2 / 3), (20423, 1 / 3)])
@pytest.mark.parametrize("pol", [g.POL_NONE, g.POL_HEL0, g.POL_HEL1])
def test_axial_to_dstar_pi_joint_angles(pdg, zero_share, pol):
    """D_1(2420)0 (D wave) / D_1(2430)0 (S wave) -> D*+ pi-, D*+ -> D0 pi+: the 2D histogram
    of (cos theta of D* in the D_1 frame, cos theta' of D0 in the D* frame) against sum_lambda
    |A_lambda|^2 |d^1_{m lambda}(theta)|^2 |d^1_{lambda 0}(theta')|^2 (unpolarised D_1: the
    average over m); 4 x 4 bins."""
    assert g.vvs_zero_share([0, 0, 0, 0, 1, 0]) == pytest.approx(2 / 3)
    assert g.vvs_zero_share([1, 0, 0, 0, 0, 0]) == pytest.approx(1 / 3)
    n = 12000
    ch = _events(pdg, n, pol, {pdg, 413}, seed=pdg % 1000 + pol)
    P = ch.particles
    ev = np.repeat(np.arange(ch.n_events), np.diff(ch.offset))
    local = np.arange(ev.size) - ch.offset[ev]
    dst = np.flatnonzero((P["pdg"] == 413) & (P["mother"] == 1) & (P["status"] == 2))
    dst_local = np.full(ch.n_events, -1)
    dst_local[ev[dst]] = local[dst]
    d0 = np.flatnonzero((P["pdg"] == 421) & (P["mother"] == dst_local[ev]))
    e = ev[d0]
    dst_rows = ch.offset[e] + dst_local[e]
    b_rows, d1_rows = ch.offset[e], ch.offset[e] + 1
    c1 = _helicity_cos(_p4(ch, dst_rows), _p4(ch, d1_rows), _p4(ch, b_rows))
    c2 = _helicity_cos(_p4(ch, d0), _p4(ch, dst_rows), _p4(ch, d1_rows))
    assert d0.size > 0.25 * n
    amp = {0: zero_share, 1: 0.5 * (1 - zero_share), -1: 0.5 * (1 - zero_share)}
    ms = (0, 1, -1) if pol == g.POL_NONE else ((0,) if pol == g.POL_HEL0 else (1,))

    def dens(x, y):
        return sum(amp[lam] * _d1(m, lam, x) * _d1(lam, 0, y) for m in ms for lam in (0, 1, -1))

    e4 = np.linspace(-1, 1, 5)
    expect = np.array([[quad(lambda y, a=a, b=b: quad(lambda x: dens(x, y), a, b)[0], c, d)[0]
                        for c, d in zip(e4[:-1], e4[1:], strict=True)]
                       for a, b in zip(e4[:-1], e4[1:], strict=True)])
    obs = np.histogram2d(c1, c2, [e4, e4])[0]
    p = stats.chisquare(obs.ravel(), (expect / expect.sum() * obs.sum()).ravel()).pvalue
    assert p > 1e-3


def _helicity_rates(kind, par, m_d, m_l):
    """(Gamma_0, Gamma) / common factor: helicity-0 (H0 and Ht) and total, q2 integrated
    (cos theta_l integral of semileptonic's bracket, arXiv:1508.02678 eq. 10)."""
    p = np.zeros(sl.NPAR)
    p[: len(par)] = par

    def parts(q2):
        hp, hm, h0, ht = sl.helicity1(kind, p, M_B0, m_d, q2)
        x = m_l * m_l / q2
        w = sl._p_had(M_B0, m_d, q2) * q2 * (1 - x) ** 2
        return w * (h0 * h0 * (1 + 0.5 * x) + 1.5 * x * ht * ht), w * (
            (hp * hp + hm * hm + h0 * h0) * (1 + 0.5 * x) + 1.5 * x * ht * ht)

    lo, hi = m_l * m_l, (M_B0 - m_d) ** 2
    g0 = quad(lambda q: parts(q)[0], lo, hi, limit=200)[0]
    gt = quad(lambda q: parts(q)[1], lo, hi, limit=200)[0]
    return g0, gt


@pytest.mark.parametrize(("kind", "par", "pdg"), [
    (sl.KIND_LLSW_T, P_32, 415), (sl.KIND_LLSW_A32, P_32, 10413),
    (sl.KIND_LLSW_A12, P_HALF, 20423)])
def test_llsw_helicity_fractions(kind, par, pdg):
    """accept_rows1's helicity draws for B -> D** mu nu: the share of helicity 0 equals
    Gamma_0 / Gamma of the integrated helicity rates (binomial, 4 sigma; 8000 decays)."""
    m_d = mass_gev(pdg)
    n = 8000
    _, over, hel = sl.decay_at_rest(np.random.default_rng(pdg), kind, par, M_B0,
                                    (m_d, M_MU, 0.0), (0, 1, 2), n)
    assert over == 0
    g0, gt = _helicity_rates(kind, par, m_d, M_MU)
    f = g0 / gt
    got = np.mean(hel == sl.HEL_LONG)
    assert abs(got - f) < 4 * np.sqrt(f * (1 - f) / n)


def test_b_to_d2star_l_nu_chain():
    """B0 -> D_2*- e+ nu (LLSW, the only open B0 mode here) then D_2*- -> D pi through the
    decayer: the D helicity-angle distribution is f0 |d^2_00|^2 + (1 - f0) |d^2_10|^2 with f0
    from the integrated LLSW helicity rates (D_2* at its nominal mass: the Breit-Wigner spread
    moves f0 by far less than the statistical error)."""
    tb = g.decay_tables(frozenset(int(abs(x)) for x in g.decay_tables().sp_pdg) - {511, 415})
    k = g.species_index(tb, 511)
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    want = [md for md in range(lo, hi) if tb.sl_kind[md] == sl.KIND_LLSW_T
            and -11 in tb.md_pdg[md, :3]]
    assert len(want) == 1
    cum = np.where(np.arange(lo, hi) >= want[0], 1.0, 0.0)
    md_cum = tb.md_cum.copy()
    md_cum[lo:hi] = cum
    tb = tb._replace(md_cum=md_cum)
    n = 8000
    in_i = np.tile([[511, 1, -1]], (n, 1)).astype(np.int64)
    in_f = np.zeros((n, 8))
    in_f[:, 3] = M_B0
    out_i, out_f, off = g._decay_chunk_kernel(
        np.random.default_rng(7), tb, tau_tables()[0], in_i, in_f, np.zeros(n, np.int64),
        np.arange(n + 1, dtype=np.int64), g.row_margin())
    ch = EventChunk(weight=np.ones(n), offset=off, particles=g.rows_to_particles(out_i, out_f),
                    truth={})
    P = ch.particles
    ev = np.repeat(np.arange(n), np.diff(off))
    local = np.arange(ev.size) - off[ev]
    d2 = np.flatnonzero(P["pdg"] == -415)
    assert d2.size == n
    d2_local = np.full(n, -1)
    d2_local[ev[d2]] = local[d2]
    d = np.flatnonzero(np.isin(P["pdg"], (-411, -421)) & (P["mother"] == d2_local[ev]))
    e = ev[d]
    c = _helicity_cos(_p4(ch, d), _p4(ch, off[e] + d2_local[e]), _p4(ch, off[e]))
    g0, gt = _helicity_rates(sl.KIND_LLSW_T, P_32, mass_gev(415), mass_gev(11))
    f0 = g0 / gt
    assert 0.05 < f0 < 0.95  # both helicities present: the test can tell them apart
    assert _chi2_p(c, lambda x: f0 * _d2(0, 0, x) / 0.4 + (1 - f0) * _d2(1, 0, x) / 0.4,
                   EDGES) > 1e-3
    # isotropic (the previous treatment) is far off
    assert _chi2_p(c, lambda x: 1.0 + 0 * x, EDGES) < 1e-6
