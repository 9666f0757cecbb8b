"""Tests of gen.phasespace: GENBOD weights, phase-space volumes, Dalitz uniformity, conservation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from gen import phasespace as ps
from gen.constants import mass_gev
from gen.jit import kernel
from gen.kinematics import boost1


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


# --- the three-body path (three_body_*, block sampler of generate) and the two-body cascade ---

B0_KPIPI0 = (mass_gev(511), mass_gev(321), mass_gev(211), mass_gev(111))


def _pair_mass2(p, a, b):
    q = p[:, a] + p[:, b]
    return q[:, 3] ** 2 - (q[:, :3] ** 2).sum(axis=1)


def _pair_mass_cdf(m, ma, mb, mc):
    """CDF of the pair mass m_ab in flat 3-body phase space: density p*(M; m_ab, m_c) q*(m_ab;
    m_a, m_b) in d m_ab (PDG RPP 2024, Kinematics, three-body decays: dGamma ~ |M|^2 |p_1*| |p_3|
    dm_12 dOmega_1* dOmega_3), integrated with quad."""
    lo, hi = ma + mb, m - mc

    def dens(x):
        return ps.pdk(m, x, mc) * ps.pdk(x, ma, mb)

    grid = np.linspace(lo, hi, 401)
    pieces = [integrate.quad(dens, a, b, epsabs=0, epsrel=1e-10)[0]
              for a, b in zip(grid[:-1], grid[1:], strict=True)]
    cdf = np.concatenate([[0.0], np.cumsum(pieces)])
    cdf /= cdf[-1]
    # the density is smooth inside: linear interpolation of the CDF on 401 nodes is < 1e-5 off
    return lambda x: np.interp(x, grid, cdf)


def _unit_square(p, m, m1, m2, m3):
    """Unweighted Dalitz points mapped to [0,1]^2: (CDF of s12, position of s23 in its range).
    A flat Dalitz density is uniform there (the Jacobian of s23 -> u is the s23 range)."""
    s12, s23 = _pair_mass2(p, 0, 1), _pair_mass2(p, 1, 2)
    cdf = _pair_mass_cdf(m, m1, m2, m3)
    a, b = _dalitz_limits(s12, m, m1, m2, m3)
    return cdf(np.sqrt(s12)), (s23 - a) / (b - a)


def _chi2_uniform_2d(x, y, nbins, weights=None):
    """Pearson chi2 p-value of a (weighted) sample against uniform on [0,1]^2 (nbins^2 cells;
    weighted: the variance of each cell is its sum of w^2)."""
    w = np.ones_like(x) if weights is None else weights
    h, _, _ = np.histogram2d(x, y, bins=nbins, range=[[0, 1], [0, 1]], weights=w)
    h2, _, _ = np.histogram2d(x, y, bins=nbins, range=[[0, 1], [0, 1]], weights=w * w)
    expect = w.sum() / nbins**2
    chi2 = float((((h - expect) ** 2) / h2).sum())
    return stats.chi2.sf(chi2, nbins**2 - 1)


@pytest.mark.parametrize("weighted", [False, True])
def test_three_body_dalitz_plot_flat_chi2(weighted):
    """Block sampler of generate(n = 3): Dalitz plot flat (2-d chi2, 20 x 20 cells of equal
    expected content) and the three pair-mass spectra against their analytic densities (KS)."""
    m, m1, m2, m3 = B0_KPIPI0
    p, w, over = ps.generate(np.random.default_rng(21), m, np.array([m1, m2, m3]), 100_000,
                             weighted=weighted)
    assert over == 0
    x, y = _unit_square(p, m, m1, m2, m3)
    assert np.all((y > -1e-9) & (y < 1 + 1e-9))
    assert _chi2_uniform_2d(x, y, 20, None if not weighted else w) > 1e-3
    if weighted:
        return
    for (a, b), (ma, mb, mc) in [((0, 1), (m1, m2, m3)), ((1, 2), (m2, m3, m1)),
                                 ((0, 2), (m1, m3, m2))]:
        mab = np.sqrt(_pair_mass2(p, a, b))
        assert stats.kstest(mab, _pair_mass_cdf(m, ma, mb, mc)).pvalue > 1e-3, (a, b)


def test_three_body_same_law_as_genbod():
    """Two-sample KS: the block sampler against GENBOD (the general n-body kernel with n = 3,
    unweighted here by hit-or-miss on its weights) on s12, s23, the polar angle of particle 1
    and the opening angle of 1 and 3."""
    m, m1, m2, m3 = B0_KPIPI0
    masses = np.array([m1, m2, m3])
    n = 60_000
    out, w = np.empty((3 * n, 4)), np.ones(n)
    rng = np.random.default_rng(4)
    ps._generate_kernel(rng, m, masses, 3, n, True, 1.0, out, w)
    keep = rng.random(n) * ps.genbod_wmax(m, masses, 3) < w
    ref = out.reshape(n, 3, 4)[keep]
    new, _, _ = ps.generate(np.random.default_rng(5), m, masses, ref.shape[0], weighted=False)

    def observables(p):
        u1 = p[:, 0, :3] / np.linalg.norm(p[:, 0, :3], axis=1)[:, None]
        u3 = p[:, 2, :3] / np.linalg.norm(p[:, 2, :3], axis=1)[:, None]
        return [_pair_mass2(p, 0, 1), _pair_mass2(p, 1, 2), u1[:, 2], (u1 * u3).sum(axis=1)]

    for a, b in zip(observables(ref), observables(new), strict=True):
        assert stats.ks_2samp(a, b).pvalue > 1e-3


@kernel
def _scalar_three_body(rng, m, m1, m2, m3, n, weighted, wmax):
    """Events from the scalar kernels three_body1 / genbod_unweighted1 (n = 3 dispatch)."""
    out = np.empty((3 * n, 4))
    w = np.ones(n)
    masses = np.array([m1, m2, m3])
    over = 0
    for k in range(n):
        if weighted:
            w[k] = ps.three_body1(rng, m, m1, m2, m3, out, 3 * k)
        else:
            over += ps.genbod_unweighted1(rng, m, masses, 3, wmax, out, 3 * k)
    return out, w, over


def test_scalar_three_body_kernels():
    """three_body1 (weighted): R_3 = volume_factor x E[w] against the Dalitz area (as GENBOD);
    genbod_unweighted1 for n = 3: flat Dalitz plot (chi2); both conserve four-momentum."""
    m, m1, m2, m3 = B0_KPIPI0
    masses = np.array([m1, m2, m3])
    rng = np.random.default_rng(8)
    n = 100_000
    out, w, _ = _scalar_three_body(rng, m, m1, m2, m3, n, True, 0.0)
    area, _ = integrate.quad(lambda s: np.subtract(*_dalitz_limits(s, m, m1, m2, m3)[::-1]),
                             (m1 + m2) ** 2, (m - m3) ** 2, epsabs=0, epsrel=1e-10)
    f = ps.volume_factor(m, masses, 3)
    est, err = f * w.mean(), f * w.std() / math.sqrt(n)
    assert abs(est - math.pi**2 / (4 * m * m) * area) < 5 * err
    wmax = ps.three_body_wmax(m, m1, m2, m3)
    out, _, over = _scalar_three_body(rng, m, m1, m2, m3, n, False, wmax)
    assert over == 0
    p = out.reshape(n, 3, 4)
    tot = p.sum(axis=1)
    assert np.allclose(tot[:, :3], 0.0, atol=1e-12)
    assert np.allclose(tot[:, 3], m, atol=1e-12)
    assert _chi2_uniform_2d(*_unit_square(p, m, m1, m2, m3), 20) > 1e-3


def test_block_sampler_falls_back_to_scalar_draws():
    """An empty uniform pool: every draw comes from the generator; same laws and conservation."""
    m, m1, m2, m3 = B0_KPIPI0
    wmax = ps.three_body_wmax(m, m1, m2, m3)
    rng = np.random.default_rng(12)
    n = 4000
    out, w = np.empty((3 * n, 4)), np.ones(n)
    d, kin = np.empty((3, 2 * n)), np.empty((3, n))
    over = ps._three_body_block(np.empty(0), 0, rng, m, m1, m2, m3, n, False, wmax, out, 0, w, 0,
                                d, kin)
    assert over == 0
    p = out.reshape(n, 3, 4)
    assert np.allclose(p.sum(axis=1)[:, 3], m, atol=1e-12)
    assert _chi2_uniform_2d(*_unit_square(p, m, m1, m2, m3), 8) > 1e-3


def test_three_body_wmax_is_the_maximum():
    for m, m1, m2, m3 in [B0_KPIPI0, (1.777, 0.1396, 0.1396, 0.1396), (5.0, 0.0, 0.0, 0.0),
                          (3.1, 1.5, 0.1, 1.2)]:
        x = np.linspace(m1 + m2, m - m3, 200_001)
        grid = np.array([ps.pdk(v, m1, m2) * ps.pdk(m, v, m3) for v in x[::50]])
        wmax = ps.three_body_wmax(m, m1, m2, m3)
        assert grid.max() <= wmax < grid.max() * (1 + 1e-4)
        assert wmax <= ps.genbod_wmax(m, np.array([m1, m2, m3]), 3) * (1 + 1e-12)


def test_three_body_efficiency_against_quad():
    m, m1, m2, m3 = B0_KPIPI0
    wmax = ps.three_body_wmax(m, m1, m2, m3)
    ref, _ = integrate.quad(lambda x: ps.pdk(x, m1, m2) * ps.pdk(m, x, m3), m1 + m2, m - m3,
                            epsabs=0, epsrel=1e-10)
    ref /= (m - m1 - m2 - m3) * wmax
    assert ps.three_body_efficiency(m, np.array([m1, m2, m3]), wmax) == pytest.approx(ref, 1e-5)
    with pytest.raises(ValueError, match="wmax must be > 0"):
        ps.generate(np.random.default_rng(0), m, np.array([m1, m2, m3]), 10, weighted=False,
                    wmax=0.0)


def test_three_body_isotropy_and_prefix_stability():
    m, m1, m2, m3 = B0_KPIPI0
    masses = np.array([m1, m2, m3])
    p, _, _ = ps.generate(np.random.default_rng(3), m, masses, 40_000, weighted=False)
    for k in range(3):
        u = p[:, k, :3] / np.linalg.norm(p[:, k, :3], axis=1)[:, None]
        assert stats.kstest(u[:, 2], stats.uniform(-1, 2).cdf).pvalue > 1e-3
        phi = np.arctan2(u[:, 1], u[:, 0])
        assert stats.kstest(phi, stats.uniform(-np.pi, 2 * np.pi).cdf).pvalue > 1e-3
    # the pool has fixed regions: the first events do not depend on the number asked for
    for weighted in (True, False):
        a = ps.generate(np.random.default_rng(9), m, masses, 100, weighted=weighted)
        b = ps.generate(np.random.default_rng(9), m, masses, 5000, weighted=weighted)
        assert np.array_equal(a[0], b[0][:100])
        assert np.array_equal(a[1], b[1][:100])
    a = ps.two_body_cascade(np.random.default_rng(9), 5.3, 0.5, 1.0, 0.1, 0.1, 100)
    b = ps.two_body_cascade(np.random.default_rng(9), 5.3, 0.5, 1.0, 0.1, 0.1, 5000)
    assert np.array_equal(a, b[:100])


def test_generate_into_out_buffer():
    masses = np.array([0.14, 0.14, 0.5])
    out = np.full((50, 3, 4), np.nan)
    p, _, _ = ps.generate(np.random.default_rng(1), 2.0, masses, 50, out=out)
    assert p is out
    assert np.array_equal(out, ps.generate(np.random.default_rng(1), 2.0, masses, 50)[0])
    with pytest.raises(ValueError, match="out must be"):
        ps.generate(np.random.default_rng(1), 2.0, masses, 50, out=np.empty((50, 4, 4)))


def test_two_body_cascade():
    """B+ -> K+ S, S -> mu+ mu-: momenta pdk, four-momentum conservation at both vertices, the
    K direction and the mu helicity angle (in the S rest frame) flat in cos."""
    mb, mk, ms, mmu = mass_gev(521), mass_gev(321), 1.0, mass_gev(13)
    n = 50_000
    p = ps.two_body_cascade(np.random.default_rng(2), mb, mk, ms, mmu, mmu, n)
    k, s, mu1, mu2 = p[:, 0], p[:, 1], p[:, 2], p[:, 3]
    assert np.allclose(k[:, :3] + s[:, :3], 0.0, atol=1e-12)
    assert np.allclose(k[:, 3] + s[:, 3], mb, atol=1e-12)
    assert np.allclose(mu1 + mu2, s, atol=1e-12)
    assert np.allclose(np.linalg.norm(k[:, :3], axis=1), ps.pdk(mb, mk, ms), rtol=1e-12)
    for v, mass in ((k, mk), (s, ms), (mu1, mmu), (mu2, mmu)):
        m2 = v[:, 3] ** 2 - (v[:, :3] ** 2).sum(axis=1)
        assert np.allclose(np.sqrt(m2), mass, rtol=1e-9)
    cos_k = k[:, 2] / np.linalg.norm(k[:, :3], axis=1)
    assert stats.kstest(cos_k, stats.uniform(-1, 2).cdf).pvalue > 1e-3
    # mu+ in the S rest frame, angle to the S flight direction (helicity angle)
    bs = s[:, :3] / s[:, 3:4]
    rest = np.array([boost1(*mu1[i], *(-bs[i])) for i in range(2000)])
    cos_h = (rest[:, :3] * s[:2000, :3]).sum(axis=1) / (
        np.linalg.norm(rest[:, :3], axis=1) * np.linalg.norm(s[:2000, :3], axis=1))
    assert np.allclose(np.linalg.norm(rest[:, :3], axis=1), ps.pdk(ms, mmu, mmu), rtol=1e-9)
    assert stats.kstest(cos_h, stats.uniform(-1, 2).cdf).pvalue > 1e-3
    with pytest.raises(ValueError, match="closed"):
        ps.two_body_cascade(np.random.default_rng(0), mb, mk, 5.0, mmu, mmu, 10)


@settings(max_examples=60, deadline=None)
@given(
    big_m=st.floats(0.3, 12.0),
    fracs=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
    room=st.floats(1e-3, 1.0),
    weighted=st.booleans(),
)
def test_three_body_invariants(big_m, fracs, room, weighted):
    """Any masses that fit: four-momentum conserved, daughters on shell, 0 <= w <= wmax."""
    f = np.asarray(fracs)
    masses = (1.0 - room) * big_m * f / max(f.sum(), 1.0)  # sum <= (1 - room) M
    p, w, over = ps.generate(np.random.default_rng(0), big_m, masses, 64, weighted=weighted)
    tot = p.sum(axis=1)
    scale = 1e-12 * big_m
    assert np.allclose(tot[:, :3], 0.0, atol=10 * scale)
    assert np.allclose(tot[:, 3], big_m, atol=10 * scale)
    m2 = p[..., 3] ** 2 - (p[..., :3] ** 2).sum(axis=-1)
    assert np.allclose(m2, masses**2, atol=1e-12 * big_m**2 * 100)
    wmax = ps.three_body_wmax(big_m, *masses)
    assert np.all((w >= 0) & (w <= wmax)) if weighted else over == 0
