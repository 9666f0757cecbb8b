"""The a1 sampler of gen.decays.tau (``a1_point1``, ``a1_frame1``, ``a1_build1``) against the
four-vector formulae it replaces: the current of ``a1_current1`` and the V-A rate p.X of
``a1_x1`` (checked against a Dirac trace in test_tau_a1.py), evaluated on rows built by a boost
from the hadronic frame; and the Haar rotation of ``random_rotation1``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gen.constants import M_TAU
from gen.decays import tau
from gen.kinematics import boost1

A1_MODES = [m.index for m in tau.tau_modes() if m.kind == "a1"]


def _tau_frame_rows(pions, n, s):
    """Rows (a1, nu, pions in the order given) in the tau rest frame for nu direction n."""
    q = math.sqrt(s)
    k = (M_TAU**2 - s) / (2.0 * q)
    v = -k / (k + q)
    rows = np.zeros((5, 8))
    for j, p in enumerate(pions):
        rows[2 + j, :4] = boost1(p[0], 0.0, p[1], p[2], v * n[0], v * n[1], v * n[2])
    rows[1, :4] = boost1(k * n[0], k * n[1], k * n[2], k, v * n[0], v * n[1], v * n[2])
    rows[0, :4] = rows[2, :4] + rows[3, :4] + rows[4, :4]
    return rows


@pytest.mark.parametrize("mode", A1_MODES)
def test_orientation_law_and_mean_match_four_vector_rate(mode):
    tables, _ = tau.tau_tables()
    par, masses = tables.par[mode], tables.mass[mode]
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    i2 = 2 if odd != 2 else 1
    t_lo, t_hi = tau.a1_q_range(M_TAU, par, masses)
    rng = np.random.default_rng(7 + mode)
    checked = 0
    while checked < 40:
        w, s, first, s_c, cth, c1, c2 = tau.a1_point1(rng, rng.random(), M_TAU, par, masses,
                                                     t_lo, t_hi)
        if w <= 0.0:
            continue
        checked += 1
        pi, po, ps, jx, jz, a, b, cy = tau.a1_frame1(s, first, s_c, cth, c1, c2, M_TAU, par,
                                                     masses)
        order = [0, 0, 0]  # row of each pion: identical of the pair, odd, spectator
        order[i1 if first else i2], order[odd], order[i2 if first else i1] = 0, 1, 2
        pions = [(pi, po, ps)[order[r]] for r in range(3)]
        vals, refs = [], []
        for _ in range(20):
            n = rng.normal(size=3)
            n /= np.linalg.norm(n)
            rows = _tau_frame_rows(pions, n, s)
            # the point's invariants and coefficients are those of the built rows
            cc1, cc2, d1, d2 = tau.a1_current1(par, masses, rows, 0, s)
            assert cc1 == pytest.approx(c1, rel=1e-9)
            assert cc2 == pytest.approx(c2, rel=1e-9)
            x = tau.a1_x1(tuple(rows[1, :4]), cc1, cc2, d1, d2, True)
            refs.append(M_TAU * x[3])  # p.X in the tau rest frame
            nj = jx * n[0] + jz * n[2]
            vals.append(a * abs(nj) ** 2 + b + cy * n[1])
        np.testing.assert_allclose(vals, refs, rtol=1e-8, atol=1e-10 * max(refs))
        # the weight integrates p.X over n: A |J|^2 / 3 + B, times the other factors
        jj = abs(jx) ** 2 + abs(jz) ** 2
        k = (M_TAU**2 - s) / (2.0 * math.sqrt(s))
        assert b == pytest.approx(math.sqrt(s) * k * jj, rel=1e-12)
        s1, s2 = _pair_s(rows, i1, odd), _pair_s(rows, i2, odd)
        jj_inv = -tau._a1_jj(c1, c2, s, s1, s2, masses[2 + i1], masses[2 + odd])
        assert jj_inv == pytest.approx(jj, rel=1e-8)


def _pair_s(rows, i, j):
    p = rows[2 + i, :4] + rows[2 + j, :4]
    return p[3] ** 2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2


def test_random_rotation_is_haar():
    """Proper orthogonal; the rotation angle theta has the Haar density (1 - cos theta)/pi on
    [0, pi] (trace = 1 + 2 cos theta) and a fixed vector goes to a uniform direction."""
    rng = np.random.default_rng(11)
    n = 20_000
    mats = np.array([tau.random_rotation1(rng) for _ in range(n)])
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", mats, mats),
                               np.broadcast_to(np.eye(3), mats.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(mats), 1.0, atol=1e-12)
    theta = np.arccos(np.clip((np.trace(mats, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
    assert stats.kstest(theta, lambda t: (t - np.sin(t)) / np.pi).pvalue > 1e-3
    v = mats @ np.array([0.6, 0.0, 0.8])
    assert stats.kstest(v[:, 2], "uniform", args=(-1.0, 2.0)).pvalue > 1e-3
    assert stats.kstest(np.arctan2(v[:, 1], v[:, 0]), "uniform",
                        args=(-np.pi, 2 * np.pi)).pvalue > 1e-3
