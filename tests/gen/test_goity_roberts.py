"""Tests of the Goity-Roberts B -> D(*) pi l nu matrix element (gen.decays.goity_roberts) and
its use by the generic decayer (DEC model GOITY_ROBERTS)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.transform import Rotation

from gen.constants import mass_gev
from gen.decays import generic as g
from gen.decays import goity_roberts as gr
from gen.decays.tau import tau_tables
from gen.phasespace import genbod1

G = np.diag([1.0, -1.0, -1.0, -1.0])
M_B = mass_gev(521)


def _gammas() -> tuple[list[np.ndarray], np.ndarray]:
    """Dirac-representation gamma^mu and gamma5 = i g0 g1 g2 g3 (Bjorken-Drell)."""
    i2, z = np.eye(2), np.zeros((2, 2))
    sig = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]])]
    g0 = np.block([[i2, z], [z, -i2]]).astype(complex)
    gs = [g0] + [np.block([[z, s], [-s, z]]).astype(complex) for s in sig]
    return gs, 1j * gs[0] @ gs[1] @ gs[2] @ gs[3]


def _slash(p, gs):
    return sum(G[m, m] * p[m] * gs[m] for m in range(4))


def test_lepton_tensor_equals_dirac_trace():
    """L^{mu nu} J_mu J_nu* = Tr[(l/ + m) g^mu (1 - g5) n/ g^nu (1 - g5)] J_mu J_nu* (spin sum
    of |u-bar(l) g^mu (1 - g5) v(n) J_mu|^2 for l- nubar), from explicit gamma matrices: fixes
    the sign of the Levi-Civita term independently of any epsilon convention."""
    gs, g5 = _gammas()
    rng = np.random.default_rng(3)
    one = np.eye(4)
    for _ in range(5):
        m = 0.1057
        lp, nv = rng.normal(size=3), rng.normal(size=3)
        l4 = np.array([np.sqrt(m * m + lp @ lp), *lp])
        n4 = np.array([np.linalg.norm(nv), *nv])
        j = rng.normal(size=4) + 1j * rng.normal(size=4)
        jl = G @ j
        tr = np.array([[np.trace((_slash(l4, gs) + m * one) @ gs[a] @ (one - g5)
                                 @ _slash(n4, gs) @ gs[b] @ (one - g5)) for b in range(4)]
                       for a in range(4)])
        ref = np.real(np.einsum("ab,a,b->", tr, jl, jl.conj()))
        lep = gr._lepton_tensor(l4, n4)
        had = np.outer(j, j.conj())
        assert gr._contract(lep, had) == pytest.approx(ref, rel=1e-10)


def _point(rng, masses):
    rows = np.zeros((4, 4))
    while genbod1(rng, M_B, masses, 4, rows, 0) <= 0.0:
        pass
    return rows.copy()


@pytest.mark.parametrize("kind", [gr.D_PI, gr.DSTAR_PI])
def test_weight_is_rotation_invariant_and_positive(kind):
    """|M|^2 is a scalar: the same after one rotation of all momenta in the B frame; > 0."""
    m_d = mass_gev(411 if kind == gr.D_PI else 413)
    masses = np.array([m_d, mass_gev(211), mass_gev(13), 0.0])
    rng = np.random.default_rng(kind)
    for seed in range(5):
        rows = _point(rng, masses)
        rot = Rotation.random(random_state=seed).as_matrix()
        rr = rows.copy()
        rr[:, :3] = rows[:, :3] @ rot.T
        for refl in (False, True):
            w = gr.weight1(kind, M_B, m_d, rows[0], rows[1], rows[2], rows[3], refl)
            wr = gr.weight1(kind, M_B, m_d, rr[0], rr[1], rr[2], rr[3], refl)
            assert w > 0.0
            assert wr == pytest.approx(w, rel=1e-9)


def test_table_entries():
    assert gr.table_entry("GOITY_ROBERTS", (411, -211, 11, -12)) == (gr.D_PI, (0, 1, 2, 3), 0)
    assert gr.table_entry("GOITY_ROBERTS", (-413, 111, -13, 14)) == (gr.DSTAR_PI, (0, 1, 2, 3),
                                                                     1)
    assert gr.table_entry("PHSP", (411, -211, 11, -12))[0] == gr.NONE
    tb = g.decay_tables()
    assert np.count_nonzero(tb.gr_kind) == 32  # B0, B+ and conjugates x (D, D*) x 2 pi x (e, mu)
    assert np.all(tb.gr_wmax[tb.gr_kind > 0] > 0)


@pytest.mark.parametrize(("parent", "daughters"), [
    (-521, (411, -211, 11, -12)), (521, (-413, 211, -11, 12))])
def test_decayer_route_follows_the_matrix_element(parent, daughters):
    """B -> D(*) pi l nu through the decayer (only that mode open): the pion-energy and l nu
    mass spectra against flat phase space weighted by weight1 (2e5 points); chi^2 p > 1e-3
    with 4000 decays; no trial above the pilot bound. The spectra differ from phase space
    (soft pions from the B* pole): the same test against phase space fails."""
    tb = g.decay_tables(frozenset(int(abs(x)) for x in g.decay_tables().sp_pdg) - {abs(parent)})
    k = g.species_index(tb, parent)
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    want = [md for md in range(lo, hi) if tb.md_nd[md] == 4
            and tuple(tb.md_pdg[md, :4]) == daughters]
    assert len(want) == 1
    assert tb.gr_kind[want[0]] > 0
    md_cum = tb.md_cum.copy()
    md_cum[lo:hi] = np.where(np.arange(lo, hi) >= want[0], 1.0, 0.0)
    tb = tb._replace(md_cum=md_cum, counters=np.zeros(g.N_COUNTERS, np.int64))
    n = 4000
    in_i = np.tile([[parent, 1, -1]], (n, 1)).astype(np.int64)
    in_f = np.zeros((n, 8))
    in_f[:, 3] = M_B
    out_i, out_f, off = g._decay_chunk_kernel(
        np.random.default_rng(5), tb, tau_tables()[0], in_i, in_f, np.zeros(n, np.int64),
        np.arange(n + 1, dtype=np.int64), g.row_margin())
    assert tb.counters[g.C_OVERWEIGHT] == 0
    rows = off[:-1, None] + 1 + np.arange(4)[None, :]
    assert np.all(out_i[rows, 0] == np.array(daughters))
    e_pi = out_f[rows[:, 1], 3]
    q = out_f[rows[:, 2], :4] + out_f[rows[:, 3], :4]
    m_lnu2 = q[:, 3] ** 2 - np.sum(q[:, :3] ** 2, axis=1)
    # reference: weighted flat phase space
    kind, m_d = tb.gr_kind[want[0]], mass_gev(abs(daughters[0]))
    masses = np.array([mass_gev(abs(d)) if abs(d) not in (12, 14) else 0.0 for d in daughters])
    nref = 200_000
    pts, w_ps, w_me = np.zeros((nref, 4, 4)), np.zeros(nref), np.zeros(nref)
    gr.weighted_points(np.random.default_rng(99), kind, M_B, m_d, masses,
                       np.arange(4, dtype=np.int64), daughters[2] < 0, nref, pts, w_ps, w_me)
    qq = pts[:, 2] + pts[:, 3]
    ref = np.column_stack([pts[:, 1, 3], qq[:, 3] ** 2 - np.sum(qq[:, :3] ** 2, axis=1)])
    wts = np.column_stack([w_ps * w_me, w_ps])
    for x, col in ((e_pi, 0), (m_lnu2, 1)):
        edges = np.quantile(x, np.linspace(0, 1, 11))
        edges[0], edges[-1] = -1.0, 100.0
        obs = np.histogram(x, edges)[0]
        exp_gr = np.histogram(ref[:, col], edges, weights=wts[:, 0])[0]
        exp_ps = np.histogram(ref[:, col], edges, weights=wts[:, 1])[0]
        assert stats.chisquare(obs, exp_gr / exp_gr.sum() * n).pvalue > 1e-3
        if col == 0:
            assert stats.chisquare(obs, exp_ps / exp_ps.sum() * n).pvalue < 1e-6
