"""Tests of the retry-free spin correlation of gen.decays.tau_spin: the rigid rotation of the
tau+ rest-frame block (``rotate_block1``) and its inverse-CDF cosine (``linear_cos1``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gen.decays import tau
from gen.decays.tau_spin import linear_cos1, polarimeter_rows1, rotate_block1


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_linear_cos_follows_its_density(a):
    """c = linear_cos1(a, u), u uniform, has the CDF [(c + 1) + a (c^2 - 1)/2] / 2."""
    u = np.random.default_rng(1).random(20_000)
    c = np.array([linear_cos1(a, x) for x in u])
    assert np.all(np.abs(c) <= 1.0)
    cdf = lambda x: ((x + 1.0) + a * (x * x - 1.0) / 2.0) / 2.0  # noqa: E731
    assert stats.kstest(c, cdf).pvalue > 1e-3
    assert linear_cos1(a, 0.0) == pytest.approx(-1.0, abs=1e-15)
    assert linear_cos1(a, 1.0) == pytest.approx(1.0, abs=1e-15)


def _block(mode, seed):
    tables, _ = tau.tau_tables()
    buf = np.zeros((tau.MAXD, tau.COLS))
    tau.decay_rest1(np.random.default_rng(seed), tables, mode, False, buf, 0)
    return tables, buf


@pytest.mark.parametrize("name", ["pi- nu_tau", "pi- pi- pi+ nu_tau"])
def test_rotation_is_rigid_and_follows_one_plus_g_dot_h(name):
    """The block keeps its invariants (energies, every scalar product, the orientation sign of
    the a1's three pions: a proper rotation) and h+ = -X_vec/X^0 ends with density
    (1 + G . h+)/(4 pi): <G^ . h+> = |G|/3 and the orthogonal components average to 0."""
    mode = next(m.index for m in tau.tau_modes() if m.name.startswith("tau- -> " + name))
    tables, buf0 = _block(mode, 3)
    kind, par, masses = tables.kind[mode], tables.par[mode], tables.mass[mode]
    n = tables.nrow[mode]
    g = np.array([0.2, -0.5, 0.6])
    g_hat = g / np.linalg.norm(g)
    rng = np.random.default_rng(5)
    k = 4000
    dots = np.empty((k, 3))
    p0 = buf0[:n, :3]
    for i in range(k):
        buf = buf0.copy()
        rotate_block1(rng, g[0], g[1], g[2], polarimeter_rows1(kind, par, masses, buf0, 0,
                                                                False)[1], buf, 0, n)
        p = buf[:n, :3]
        assert np.allclose(p @ p.T, p0 @ p0.T, atol=1e-12)
        assert np.array_equal(buf[:n, 3], buf0[:n, 3])
        if n >= 5:
            assert np.linalg.det(p[2:5]) * np.linalg.det(p0[2:5]) > 0.0
        ok, x = polarimeter_rows1(kind, par, masses, buf, 0, False)
        h = -np.array(x[:3]) / x[3]
        e1 = np.cross(g_hat, [1.0, 0.0, 0.0])
        e1 /= np.linalg.norm(e1)
        dots[i] = h @ g_hat, h @ e1, h @ np.cross(g_hat, e1)
    err = np.sqrt(1.0 / 3.0 / k)  # |h| = 1: each component has variance <= 1/3
    assert dots[:, 0].mean() == pytest.approx(np.linalg.norm(g) / 3.0, abs=4 * err)
    assert abs(dots[:, 1].mean()) < 4 * err
    assert abs(dots[:, 2].mean()) < 4 * err
