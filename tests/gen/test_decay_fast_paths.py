"""The fast paths of the generic decayer against the code they replace (same law of events).

- ``generic._pick_mode`` (bisection of the cumulative BF when every mode is open) picks the mode
  of ``generic._pick_open`` (linear scan), and falls back to it below the largest threshold;
- ``generic.decay_tree_forced1`` (stable rows skipped without a call, the B decays inlined)
  writes the same rows, bit for bit, as ``decay_row1`` on the forced rows then ``decay_tree1``;
- ``quark_modes.m_generator1`` (hit-or-miss on the GENBOD weight of the intermediate masses,
  kinematics built for accepted points only, as Pythia 8's mGenerator) has the law of the
  former loop that built every trial (KS tests of the momenta, fixed seeds).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from gen.constants import mass_gev
from gen.decays import generic as g
from gen.decays import quark_modes as qm
from gen.decays.tau import tau_tables
from gen.events import FINAL
from gen.jit import kernel
from gen.phasespace import genbod_wmax, genbod_work1


@kernel
def _picks(tb, k, m, u, fast, slow):
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    for i in range(u.shape[0]):
        fast[i] = g._pick_mode(tb, k, m, u[i])
        slow[i] = g._pick_open(tb, lo, hi, m, u[i])


def test_pick_mode_equals_the_linear_scan():
    """Every species with modes, at its nominal mass (all-open path for most, fallback for the
    rest) and 0.1 GeV below it: identical picks for 4000 uniforms each and for u = 0. At u equal
    to a cumulative BF (measure zero) the linear scan's running differences may round either
    way: any mode whose BF interval holds u up to rounding is allowed there, and the bisection
    gives the exact inverse."""
    tb = g.decay_tables()
    rng = np.random.default_rng(11)
    n_fast = 0
    for k in np.flatnonzero(np.diff(tb.sp_first) > 0):
        lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
        edges = tb.md_cum[lo:hi][tb.md_cum[lo:hi] < 1.0]  # uniforms are below 1
        u = np.concatenate([[0.0], rng.random(4000), edges])
        for m in (tb.sp_mass[k], tb.sp_mass[k] - 0.1):
            fast = np.empty(u.size, np.int64)
            slow = np.empty(u.size, np.int64)
            _picks(tb, k, m, u, fast, slow)
            n = u.size - edges.size
            np.testing.assert_array_equal(fast[:n], slow[:n])
            if not m > tb.sp_thr_max[k]:  # fallback: the linear scan itself
                np.testing.assert_array_equal(fast[n:], slow[n:])
            else:
                # at a boundary the picked mode's BF interval holds u up to rounding
                cum = np.concatenate([[0.0], tb.md_cum[lo:hi]])
                for pick in (fast[n:], slow[n:]):
                    assert np.all(cum[pick - lo] <= edges + 1e-12)
                    assert np.all(edges <= cum[pick - lo + 1] + 1e-12)
                n_fast += 1
                want = lo + np.searchsorted(tb.md_cum[lo:hi], edges, side="right")
                np.testing.assert_array_equal(fast[n:], want)
    assert n_fast > 100  # the bisection path is exercised (B, D, light mesons)


def _old_route(rng, tb, tau_tb, out_i, out_f, pos, margin, dm, ct1, ct2):
    # from Python, not as one kernel: a kernel inlining both routes took ~70 s to compile in CI
    pos = g.decay_row1(rng, tb, tau_tb, out_i, out_f, 1, 0, pos, ct1, dm)
    pos = g.decay_row1(rng, tb, tau_tb, out_i, out_f, 2, 0, pos, ct2, dm)
    return g.decay_tree1(rng, tb, tau_tb, out_i, out_f, 3, pos, 0, margin, dm)


def _pair_rows(pdg1: int, pdg2: int) -> tuple[np.ndarray, np.ndarray]:
    out_i = np.zeros((400, g.ICOLS), np.int64)
    out_f = np.zeros((400, g.COLS))
    m1, m2 = mass_gev(abs(pdg1)), mass_gev(abs(pdg2))
    p = 0.34  # back to back along z: any momenta will do
    out_i[0] = (300553, 2, -1, g.POL_NONE)
    out_f[0, 3] = 10.58
    for r, pdg, m, s in ((1, pdg1, m1, 1.0), (2, pdg2, m2, -1.0)):
        out_i[r] = (pdg, FINAL, 0, g.POL_NONE)
        out_f[r, 2] = s * p
        out_f[r, 3] = np.hypot(p, m)
    return out_i, out_f


def test_forced_tree_equals_row_by_row_decays():
    """200 B0 anti-B0 and B+ B- trees with forced decay lengths: the same rows bit for bit."""
    tb = g.decay_tables()
    tau_tb = tau_tables()[0]
    margin = g.row_margin()
    for pair in ((511, -511), (521, -521)):
        for seed in range(100):
            ai, af = _pair_rows(*pair)
            bi, bf = ai.copy(), af.copy()
            dm = np.zeros(g.MAXD)
            pa, ai, af = _old_route(np.random.default_rng(seed), tb, tau_tb, ai, af, 3, margin,
                                    dm, 0.01 * seed, 0.02)
            pb, bi, bf = g.decay_tree_forced1(np.random.default_rng(seed), tb, tau_tb, bi, bf, 1,
                                              3, 0, margin, dm, 2, 0.01 * seed, 0.02)
            assert pa == pb
            np.testing.assert_array_equal(ai[:pa], bi[:pb])
            np.testing.assert_array_equal(af[:pa], bf[:pb])


@kernel
def _mgen_both(rng, m, ms, n, ids, me, n_ev, out_new, out_old):
    """n_ev M-generator decays with the current code and with the former loop (every trial
    built, then hit-or-miss), |p| of each product."""
    rows = np.zeros((n, 8))
    work = np.empty(3 * n)
    wmax = genbod_wmax(m, ms, n) / qm.WTCORRECTION[n]
    for i in range(n_ev):
        qm.m_generator1(rng, m, ms, n, ids, me, rows, 0)
        for j in range(n):
            out_new[i, j] = np.sqrt(rows[j, 0] ** 2 + rows[j, 1] ** 2 + rows[j, 2] ** 2)
        while True:
            while True:
                w = genbod_work1(rng, m, ms, n, rows, 0, work)
                if rng.random() * wmax <= w:
                    break
            w_me, w_me_max = qm._me_weight(ids, ms, n, m, rows, 0, me)
            if rng.random() * w_me_max <= w_me:
                break
        for j in range(n):
            out_old[i, j] = np.sqrt(rows[j, 0] ** 2 + rows[j, 1] ** 2 + rows[j, 2] ** 2)


def test_m_generator_law_unchanged():
    """B0 -> D- pi+ pi0 K+ K- (meMode 23, matrix element x1 (3 - 2 x1) on the D) and a
    semileptonic-type list e+ nu D- pi+ (lepton first): KS p > 1e-3 for every product's
    momentum, 6000 decays each way."""
    m_b = mass_gev(511)
    for ids in ((-411, 211, 111, 321, -321), (-11, 12, -411, 211)):
        ids = np.array(ids, np.int64)
        ms = np.array([0.0 if abs(i) == 12 else mass_gev(abs(int(i))) for i in ids])
        n = ids.size
        new = np.empty((6000, n))
        old = np.empty((6000, n))
        _mgen_both(np.random.default_rng(3), m_b, ms, n, ids, 23, 6000, new, old)
        for j in range(n):
            assert stats.ks_2samp(new[:, j], old[:, j]).pvalue > 1e-3, (ids, j)
