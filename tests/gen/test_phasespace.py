"""Tests of gen.phasespace: GENBOD weights, phase-space volumes, Dalitz uniformity, conservation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from gen import phasespace as ps


def _massless_volume(m: float, n: int) -> float:
    """Massless R_n = (pi/2)^(n-1) M^(2n-4) / ((n-1)! (n-2)!) (F. James, CERN 68-15)."""
    return (math.pi / 2) ** (n - 1) * m ** (2 * n - 4) / (
        math.factorial(n - 1) * math.factorial(n - 2))


def _volume_estimate(rng, m, masses, n_events):
    masses = np.asarray(masses, float)
    _, w, _ = ps.generate(rng, m, masses, n_events)
    f = ps.volume_factor(m, masses, masses.size)
    return f * w.mean(), f * w.std() / math.sqrt(n_events)


def _dalitz_limits(s12, m, m1, m2, m3):
    """s23 range at fixed s12 (PDG RPP 2024, Kinematics, eq. 49.23)."""
    e2 = (s12 - m1**2 + m2**2) / (2 * np.sqrt(s12))
    e3 = (m**2 - s12 - m3**2) / (2 * np.sqrt(s12))
    p2 = np.sqrt(np.maximum(e2**2 - m2**2, 0))
    p3 = np.sqrt(np.maximum(e3**2 - m3**2, 0))
    return (e2 + e3) ** 2 - (p2 + p3) ** 2, (e2 + e3) ** 2 - (p2 - p3) ** 2


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_massless_volume(n):
    rng = np.random.default_rng(10 + n)
    est, err = _volume_estimate(rng, 2.5, np.zeros(n), 200_000)
    ref = _massless_volume(2.5, n)
    assert abs(est - ref) < 5 * err, (est, ref, err)
    assert err / ref < 0.01


def test_two_body_volume_is_exact():
    # R_2 = pi p*/M (two-body phase space, d^3p/2E normalisation)
    est, err = _volume_estimate(np.random.default_rng(1), 3.0, [0.5, 1.2], 1000)
    p = ps.pdk(3.0, 0.5, 1.2)
    assert est == pytest.approx(math.pi * p / 3.0, rel=1e-12)
    assert err < 1e-12


def test_massive_three_body_volume_against_dalitz_area():
    # R_3 = pi^2 / (4 M^2) x area of the Dalitz plot (PDG RPP 2024 Kinematics eq. 49.22)
    m, m1, m2, m3 = 1.869, 0.4937, 0.1396, 0.1396
    area, _ = integrate.quad(lambda s: np.subtract(*_dalitz_limits(s, m, m1, m2, m3)[::-1]),
                             (m1 + m2) ** 2, (m - m3) ** 2, epsabs=0, epsrel=1e-10)
    ref = math.pi**2 / (4 * m * m) * area
    est, err = _volume_estimate(np.random.default_rng(3), m, [m1, m2, m3], 200_000)
    assert abs(est - ref) < 5 * err, (est, ref, err)


def test_dalitz_plot_is_uniform():
    """Unweighted 3-body events: s12 has the density of the s23 range, s23 | s12 is uniform."""
    m, m1, m2, m3 = 1.869, 0.4937, 0.1396, 0.1350
    rng = np.random.default_rng(7)
    p, w, over = ps.generate(rng, m, np.array([m1, m2, m3]), 50_000, weighted=False)
    assert over == 0
    assert np.all(w == 1.0)

    def s(a, b):
        q = p[:, a] + p[:, b]
        return q[:, 3] ** 2 - (q[:, :3] ** 2).sum(axis=1)

    s12, s23 = s(0, 1), s(1, 2)
    lo, hi = (m1 + m2) ** 2, (m - m3) ** 2
    grid = np.linspace(lo, hi, 4001)
    dens = np.subtract(*_dalitz_limits(grid, m, m1, m2, m3)[::-1])
    cdf = np.concatenate([[0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    assert stats.kstest(s12, lambda x: np.interp(x, grid, cdf)).pvalue > 1e-3
    a, b = _dalitz_limits(s12, m, m1, m2, m3)
    u = (s23 - a) / (b - a)
    assert np.all((u > -1e-9) & (u < 1 + 1e-9))
    assert stats.kstest(u, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_four_momentum_conservation_and_mass_shell(n):
    rng = np.random.default_rng(n)
    masses = np.linspace(0.1, 0.3, n)
    p, _, _ = ps.generate(rng, 5.0, masses, 2000)
    tot = p.sum(axis=1)
    assert np.allclose(tot[:, :3], 0.0, atol=1e-12)
    assert np.allclose(tot[:, 3], 5.0, atol=1e-12)
    m2 = p[..., 3] ** 2 - (p[..., :3] ** 2).sum(axis=-1)
    assert np.allclose(np.sqrt(np.maximum(m2, 0)), masses, atol=1e-9)


def test_isotropy_of_unweighted_events():
    rng = np.random.default_rng(5)
    p, _, _ = ps.generate(rng, 2.0, np.array([0.14, 0.14, 0.14, 0.5]), 40_000, weighted=False)
    c = p[:, 0, 2] / np.linalg.norm(p[:, 0, :3], axis=1)
    assert stats.kstest(c, stats.uniform(-1, 2).cdf).pvalue > 1e-3


def test_weight_bounds():
    masses = np.array([0.14, 0.14, 0.14, 0.5, 0.14])
    bound = ps.genbod_wmax(3.0, masses, 5)
    pilot = ps.pilot_wmax(np.random.default_rng(2), 3.0, masses, 5, 20_000, np.zeros((5, 4)))
    assert 0 < pilot <= bound


def test_same_seed_same_events():
    a = ps.generate(np.random.default_rng(9), 3.0, np.array([0.1, 0.2, 0.3, 0.4]), 100)[0]
    b = ps.generate(np.random.default_rng(9), 3.0, np.array([0.1, 0.2, 0.3, 0.4]), 100)[0]
    assert np.array_equal(a, b)


def test_closed_decay_is_an_error():
    with pytest.raises(ValueError, match="do not fit"):
        ps.generate(np.random.default_rng(0), 0.3, np.array([0.14, 0.14, 0.14]), 10)
