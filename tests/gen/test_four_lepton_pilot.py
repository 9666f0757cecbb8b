"""Pilot of gen.processes.four_lepton: channel-share update and w_max from reweighted batches.

Toy integrand on [0, 1] with two channel densities g1 = 1, g2 = 2x (exact integrals by
scipy quad); fixed seeds, tolerances from the standard errors. Fast (< 2 s).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from gen.processes.eemumu import excess_quantile
from gen.processes.four_lepton import ALPHA_FLOOR, pooled_excess_quantile, updated_shares


def _f(x):
    return 1.0 + 30.0 * x**6


def _dens(x):
    return np.stack([np.ones_like(x), 2.0 * x], axis=-1)


def _batch(rng, alpha, n):
    """n trials of the mixture alpha_1 g1 + alpha_2 g2 (g2 by inversion: x = sqrt(u)): the
    nonzero (w, g_k/g) of four_lepton's pilot."""
    u = rng.random(n)
    x = np.where(rng.random(n) < alpha[0], u, np.sqrt(u))
    d = _dens(x)
    g = d @ alpha
    return _f(x) / g, d / g[:, None]


def test_reweighted_excess_is_unbiased_and_solved():
    # E_a[max(w_a - t, 0)] from a batch sampled with other shares b, reweighted (r = g_a/g_b),
    # equals the exact integral of max(f - t g_a, 0); 4 standard errors
    rng = np.random.default_rng(3)
    a, b = np.array([0.3, 0.7]), np.array([0.8, 0.2])
    w, ratio = _batch(rng, b, 400_000)
    r = ratio @ a
    t = 8.0
    est = np.maximum(w - t * r, 0.0)
    exact = integrate.quad(lambda x: max(_f(x) - t * (a[0] + 2.0 * a[1] * x), 0.0), 0.0, 1.0,
                           points=[0.9], limit=200)[0]
    assert abs(est.mean() - exact) < 4.0 * est.std() / math.sqrt(est.size), (est.mean(), exact)
    # the returned threshold solves sum max(w - t r, 0) = fraction sum w (independent brentq)
    frac = 1e-2
    t_q = pooled_excess_quantile(a, [(w[:200_000], ratio[:200_000]), (w[200_000:],
                                                                     ratio[200_000:])], frac)
    ref = optimize.brentq(lambda s: np.maximum(w - s * r, 0.0).sum() - frac * w.sum(),
                          0.0, 100.0, xtol=1e-12)
    assert t_q == pytest.approx(ref, rel=1e-9)
    # sampled with the shares themselves (r = 1): excess_quantile exactly
    w_a, ratio_a = _batch(rng, a, 50_000)
    assert pooled_excess_quantile(a, [(w_a, ratio_a)], frac, last_only=True) == \
        excess_quantile(w_a, frac)
    ones = pooled_excess_quantile(a, [(w_a, ratio_a)], frac)
    assert ones == pytest.approx(excess_quantile(w_a, frac), rel=1e-9)


def test_share_update_power_two_is_kleiss_pittau_and_flattens_weights():
    rng = np.random.default_rng(4)
    alpha = np.array([0.5, 0.5])
    w, ratio = _batch(rng, alpha, 100_000)
    # p = 2, one step: alpha_k sqrt(<w^2 g_k/g>) (Kleiss & Pittau 1994), normalised, floored
    ref = alpha * np.sqrt((w * w) @ ratio / w.size)
    ref = np.maximum(ref / ref.sum(), ALPHA_FLOOR / 2)
    ref /= ref.sum()
    np.testing.assert_allclose(updated_shares(alpha, [(w, ratio)], w.size, 1, power=2.0), ref,
                               rtol=1e-12)
    # f = 0.8 g1 + 0.2 g2: constant weights, the minimum of every moment, at alpha = (0.8, 0.2);
    # the reweighted fixed point reaches it from (0.5, 0.5) with one batch
    u = rng.random(100_000)
    xs = np.where(rng.random(100_000) < 0.5, u, np.sqrt(u))
    d = _dens(xs)
    g = d @ alpha
    wl = (d @ np.array([0.8, 0.2])) / g
    a = updated_shares(alpha, [(wl, d / g[:, None])], wl.size, 60, power=8.0)
    np.testing.assert_allclose(a, [0.8, 0.2], atol=0.01)
    # the max-oriented update lowers the largest weight of the peaked toy integrand
    a8 = updated_shares(alpha, [(w, ratio)], w.size, 20, power=8.0)
    xg = np.linspace(0.0, 1.0, 2001)
    top = [np.max(_f(xg) / (_dens(xg) @ s)) for s in (alpha, a8)]
    assert top[1] < 0.9 * top[0], (a8, top)
