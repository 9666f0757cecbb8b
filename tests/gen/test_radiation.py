"""Tests of gen.radiation: structure functions, samplers and recoil schemes.

References: normalisation of D (number sum rule), its O(beta) limit (the Altarelli-Parisi
splitting function), scipy.integrate.quad for sampled moments and angular distributions, exact
four-momentum conservation. Statistical tests use fixed seeds and sigma-derived tolerances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import integrate, stats

from gen.constants import M_E, M_MU
from gen.radiation import (
    _C2_SOFT,
    dipole_beta,
    fsr_fraction_cdf_o1,
    fsr_pair1,
    fsr_pair_rest1,
    isr_consts1,
    isr_fractions_c1,
    isr_fractions_l1,
    isr_hard_terms,
    isr_photon_momenta1,
    isr_photon_momenta_polar1,
    isr_photons1,
    ll_beta,
    ll_beta_near1,
    sample_azimuth1,
    sample_emission_angle1,
    sample_fsr_fraction1,
    sample_fsr_fraction_above1,
    sample_isr_fraction1,
    structure_function,
    structure_function_o1,
)

S = 10.58**2
BETA = ll_beta(S, M_E)


def integrate_d(g, beta: float = BETA, v_break: float | None = None) -> float:
    """int_0^1 D(x) g(v) dv, v = 1 - x: soft part with w = v^(beta/2), hard part directly.

    ``v_break``: a point where g jumps (split there for quad).
    """
    soft = 1.0 + 0.375 * beta + _C2_SOFT * beta * beta
    v_edges = [0.0, 1.0] if v_break is None else [0.0, v_break, 1.0]
    total = 0.0
    for lo, hi in zip(v_edges[:-1], v_edges[1:], strict=True):
        total += integrate.quad(lambda w: soft * g(w ** (2.0 / beta)), lo ** (0.5 * beta),
                                hi ** (0.5 * beta), epsabs=1e-13, epsrel=1e-11, limit=200)[0]
        total += integrate.quad(lambda v: isr_hard_terms(v, beta) * g(v), lo, hi, epsabs=1e-13,
                                epsrel=1e-11, limit=200)[0]
    return total


def test_beta_values():
    # beta = 2 alpha/pi (ln(s/m^2) - 1) ~ 0.0877 at 10.58 GeV; the dipole form agrees to O(m^2/s)
    assert pytest.approx(0.08769, abs=1e-4) == BETA
    assert dipole_beta(math.sqrt(1.0 - 4.0 * M_E**2 / S)) == pytest.approx(BETA, rel=1e-8)
    assert dipole_beta(0.0) == 0.0


def test_structure_function_normalised():
    assert integrate_d(lambda v: 1.0) == pytest.approx(1.0, abs=1e-10)
    s1 = 1.0 + 0.375 * BETA
    o1 = s1 + integrate.quad(lambda v: -0.25 * BETA * (2.0 - v), 0.0, 1.0)[0]
    assert o1 == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("x", [0.05, 0.3, 0.7, 0.95])
def test_structure_function_first_order_limit(x):
    # D / beta -> (1/4)(1 + x^2)/(1 - x) as beta -> 0 at fixed x < 1
    beta = 1e-7
    ap = 0.25 * (1.0 + x * x) / (1.0 - x)
    assert structure_function(x, beta) / beta == pytest.approx(ap, rel=1e-5)
    assert structure_function_o1(x, beta) / beta == pytest.approx(ap, rel=1e-5)


def test_structure_function_positive():
    x = np.linspace(1e-6, 1.0 - 1e-9, 2001)
    assert all(structure_function(float(xi), BETA) > 0.0 for xi in x)


@njit
def _isr_moments(rng, n, beta, a, x_min):
    out = np.empty((n, 2))
    for i in range(n):
        v, w = sample_isr_fraction1(rng, beta, a, x_min)
        out[i, 0] = w
        x = 1.0 - v
        out[i, 1] = w / x if x > x_min else 0.0
    return out


def test_isr_fraction_sampler_moments():
    x_min = 4.0 * M_MU**2 / S
    rng = np.random.default_rng(11)
    out = _isr_moments(rng, 1_000_000, BETA, 0.1, x_min)
    n = out.shape[0]
    for col, ref in (
        (0, 1.0),
        (1, integrate_d(lambda v: 1.0 / (1.0 - v) if 1.0 - v > x_min else 0.0,
                        v_break=1.0 - x_min)),
    ):
        mean = out[:, col].mean()
        err = out[:, col].std() / math.sqrt(n)
        assert abs(mean - ref) < 3.0 * err, (col, mean, ref, err)
    # the hard channel keeps the weights bounded
    assert out[:, 0].max() < 1.5


@njit
def _fsr_fractions(rng, n, beta):
    out = np.empty(n)
    for i in range(n):
        out[i] = sample_fsr_fraction1(rng, beta)
    return out


def test_fsr_fraction_sampler_follows_d():
    beta = dipole_beta(math.sqrt(1.0 - 4.0 * M_MU**2 / S))
    s1 = 1.0 + 0.375 * beta

    def cdf(v):
        return s1 * v ** (0.5 * beta) - 0.25 * beta * (2.0 * v - 0.5 * v * v)

    v = _fsr_fractions(np.random.default_rng(12), 200_000, beta)
    assert stats.kstest(v, cdf).pvalue > 0.01


@njit
def _angles(rng, n, e, m):
    out = np.empty((n, 2))
    for i in range(n):
        out[i, 0], out[i, 1] = sample_emission_angle1(rng, e, m)
    return out


@pytest.mark.parametrize(("e", "m"), [(5.29, M_E), (1.0, 0.6), (5.29, M_MU)])
def test_emission_angle_distribution(e, m):
    b = math.sqrt(e * e - m * m) / e

    def pdf_t(t):  # in t = 1 - cos
        return t * (2.0 - t) / ((1.0 - b + b * t) ** 2 * (1.0 + b - b * t))

    out = _angles(np.random.default_rng(13), 200_000, e, m)
    t = 1.0 - out[:, 0]
    assert np.allclose(out[:, 0] ** 2 + out[:, 1] ** 2, 1.0, atol=1e-12)
    edges = np.concatenate([[0.0], np.geomspace(1e-9, 2.0, 25)])
    expected = np.array([integrate.quad(pdf_t, lo, hi, epsabs=0, limit=200)[0]
                         for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    expected *= t.size / expected.sum()
    observed = np.histogram(t, edges)[0]
    keep = expected > 20
    chi2 = np.sum((observed[keep] - expected[keep]) ** 2 / expected[keep])
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 0.01
    assert observed[~keep].sum() <= max(5.0 * expected[~keep].sum(), 10)


@njit
def _isr_events(rng, n, sqrt_s, e_min):
    k = np.zeros((2, 4))
    out = np.empty((n, 6))
    for i in range(n):
        w, v1, v2 = isr_photons1(rng, sqrt_s, M_E, 0.1, 4.0 * M_MU**2 / sqrt_s**2, e_min, k)
        qx = -(k[0, 0] + k[1, 0])
        qy = -(k[0, 1] + k[1, 1])
        qz = -(k[0, 2] + k[1, 2])
        qe = sqrt_s - k[0, 3] - k[1, 3]
        out[i, 0] = qe * qe - qx * qx - qy * qy - qz * qz
        out[i, 1] = (1.0 - v1) * (1.0 - v2) * sqrt_s**2
        out[i, 2] = k[0, 3] ** 2 - k[0, 0] ** 2 - k[0, 1] ** 2 - k[0, 2] ** 2
        out[i, 3] = k[1, 3] ** 2 - k[1, 0] ** 2 - k[1, 1] ** 2 - k[1, 2] ** 2
        out[i, 4] = k[0, 3]
        out[i, 5] = k[1, 2]
    return out


def test_isr_photons_recoil_scheme():
    sqrt_s = math.sqrt(S)
    out = _isr_events(np.random.default_rng(14), 100_000, sqrt_s, 1e-4)
    # s' = (P - k1 - k2)^2 = x1 x2 s exactly; photons massless; thresholds respected
    assert np.allclose(out[:, 0], out[:, 1], rtol=1e-10, atol=1e-9)
    assert np.all(np.abs(out[:, 2]) < 1e-10)
    assert np.all(np.abs(out[:, 3]) < 1e-10)
    emitted = out[:, 4] > 0
    assert np.all(out[emitted, 4] >= 1e-4 * (1 - 1e-3))  # scaled by lam ~ 1
    # the e+ beam's photon goes backwards in the large majority of events
    back = out[out[:, 5] != 0, 5]
    assert np.mean(back < 0) > 0.95


@njit
def _fsr_events(rng, n, pz, e_min):
    p = np.zeros((4, 4))
    out = np.empty((n, 9))
    m = M_MU
    for i in range(n):
        # a muon pair moving along z with some boost, back-to-back at 60 deg in its rest frame
        e_star = 2.5
        ps = math.sqrt(e_star**2 - m * m)
        c, s = 0.5, math.sqrt(0.75)
        gam = math.sqrt(1.0 + (pz / (2 * e_star)) ** 2)
        bg = pz / (2 * e_star)
        p[0, 0], p[0, 1], p[0, 2], p[0, 3] = ps * s, 0.0, gam * ps * c + bg * e_star, \
            gam * e_star + bg * ps * c
        p[1, 0], p[1, 1], p[1, 2], p[1, 3] = -ps * s, 0.0, -gam * ps * c + bg * e_star, \
            gam * e_star - bg * ps * c
        tot = np.zeros(4)
        for r in range(2):
            for j in range(4):
                tot[j] += p[r, j]
        mask = fsr_pair1(rng, p, m, m, e_min)
        for j in range(4):
            out[i, j] = p[0, j] + p[1, j] + p[2, j] + p[3, j] - tot[j]
        out[i, 4] = p[0, 3] ** 2 - p[0, 0] ** 2 - p[0, 1] ** 2 - p[0, 2] ** 2
        out[i, 5] = p[1, 3] ** 2 - p[1, 0] ** 2 - p[1, 1] ** 2 - p[1, 2] ** 2
        out[i, 6] = p[2, 3] ** 2 - p[2, 0] ** 2 - p[2, 1] ** 2 - p[2, 2] ** 2
        out[i, 7] = mask
        out[i, 8] = tot[3]
    return out


def test_fsr_pair_conserves_four_momentum_and_masses():
    out = _fsr_events(np.random.default_rng(15), 100_000, 3.0, 1e-4)
    assert np.max(np.abs(out[:, :4])) < 1e-11 * out[0, 8]
    assert np.allclose(out[:, 4], M_MU**2, rtol=1e-9)
    assert np.allclose(out[:, 5], M_MU**2, rtol=1e-9)
    assert np.max(np.abs(out[:, 6])) < 1e-11
    # probability that the mu- radiates above e_min = 1e-4 GeV (pair frame, E = 2.5 GeV):
    # 1 - F(v_min) from the O(beta) D with the dipole beta
    beta = dipole_beta(math.sqrt(1.0 - (M_MU / 2.5) ** 2))
    v_min = 1e-4 / 2.5
    p_emit = 1.0 - ((1.0 + 0.375 * beta) * v_min ** (0.5 * beta)
                    - 0.25 * beta * (2.0 * v_min - 0.5 * v_min**2))
    frac = np.mean(out[:, 7].astype(int) & 1)
    err = math.sqrt(p_emit * (1.0 - p_emit) / out.shape[0])
    assert abs(frac - p_emit) < 3.0 * err + 1e-4  # 1e-4: the rare dropped emissions


def test_fsr_k_factor_massive():
    # Schwinger's interpolation: the massless 3 alpha/(4 pi) at b = 1, the Coulomb (Sommerfeld)
    # term alpha pi/(2 b) near threshold, monotonic in between
    from gen.constants import ALPHA_EM, M_TAU
    from gen.radiation import FSR_K_FACTOR, fsr_k_factor1

    assert fsr_k_factor1(1.0) == pytest.approx(FSR_K_FACTOR, rel=1e-15)
    for b in (1e-3, 1e-4):
        assert (fsr_k_factor1(b) - 1.0) / (ALPHA_EM * math.pi / (2.0 * b)) == pytest.approx(
            1.0, abs=2.0 * b)
    bs = np.linspace(0.01, 1.0, 100)
    assert np.all(np.diff([fsr_k_factor1(b) for b in bs]) < 0.0)
    # tau pairs at 10.58 GeV: +0.085 % over the massless factor
    b_tau = math.sqrt(1.0 - 4.0 * M_TAU**2 / 10.58**2)
    assert fsr_k_factor1(b_tau) / FSR_K_FACTOR - 1.0 == pytest.approx(8.5e-4, abs=0.3e-4)
    assert fsr_k_factor1(0.0) == 1.0


# ---- faster equivalents used by the event loops (same distributions, other draws)


@njit
def _azimuths(rng, n):
    out = np.empty((n, 2))
    for i in range(n):
        out[i, 0], out[i, 1] = sample_azimuth1(rng)
    return out


def test_polar_azimuth_is_uniform_and_on_the_unit_circle():
    cs = _azimuths(np.random.default_rng(21), 200_000)
    assert np.max(np.abs(np.hypot(cs[:, 0], cs[:, 1]) - 1.0)) < 1e-15
    phi = np.mod(np.arctan2(cs[:, 1], cs[:, 0]), 2.0 * math.pi)
    assert stats.kstest(phi, stats.uniform(0.0, 2.0 * math.pi).cdf).pvalue > 0.01
    # the four quadrants and the sign of sin: no half-plane preferred
    assert abs(np.mean(cs[:, 1] > 0.0) - 0.5) < 3.0 * 0.5 / math.sqrt(cs.shape[0])


def test_fsr_fraction_cdf_is_the_integral_of_d():
    beta = dipole_beta(math.sqrt(1.0 - 4.0 * M_MU**2 / S))
    s1 = 1.0 + 0.375 * beta

    def d_v(v):  # the O(beta) D in v = 1 - x (Kuraev-Fadin), without the rounding of 1 - v
        return 0.5 * beta * s1 * v ** (0.5 * beta - 1.0) - 0.25 * beta * (2.0 - v)

    for v in (1e-3, 0.3, 0.7):
        assert d_v(v) == pytest.approx(structure_function_o1(1.0 - v, beta), rel=1e-12)
    for v in (1e-6, 1e-3, 0.1, 0.5, 0.9):
        # int_0^v D dt in w = t^(beta/2), dt = (2/beta) t^(1 - beta/2) dw: a smooth integrand
        def f(w):
            t = w ** (2.0 / beta)
            return d_v(t) * (2.0 / beta) * t / w if t > 0.0 else s1

        ref = integrate.quad(f, 0.0, v ** (0.5 * beta), epsabs=1e-14, epsrel=1e-11, limit=200)[0]
        assert fsr_fraction_cdf_o1(v, beta) == pytest.approx(ref, rel=1e-9)
    assert fsr_fraction_cdf_o1(1.0, beta) == 1.0
    assert fsr_fraction_cdf_o1(0.0, beta) == 0.0


@njit
def _fsr_above(rng, n, beta, v0):
    w0 = math.exp(0.5 * beta * math.log(v0))
    f0 = fsr_fraction_cdf_o1(v0, beta)
    out = np.empty(n)
    for i in range(n):
        out[i] = sample_fsr_fraction_above1(rng, beta, v0, w0, f0)
    return out


@pytest.mark.parametrize("v0", [2e-5, 1e-2, 0.3])
def test_fsr_fraction_above_threshold_follows_d(v0):
    beta = dipole_beta(math.sqrt(1.0 - 4.0 * M_MU**2 / S))
    n = 200_000
    v = _fsr_above(np.random.default_rng(22), n, beta, v0)
    f0 = fsr_fraction_cdf_o1(v0, beta)
    # P(no photon) = F(v0), binomial error
    frac0 = np.mean(v == 0.0)
    assert abs(frac0 - f0) < 3.0 * math.sqrt(f0 * (1.0 - f0) / n)
    # above v0: D normalised on [v0, 1)
    above = v[v > 0.0]
    assert above.min() >= v0 * (1.0 - 1e-12)
    cdf = np.vectorize(lambda x: (fsr_fraction_cdf_o1(x, beta) - f0) / (1.0 - f0))
    assert stats.kstest(above, cdf).pvalue > 0.01


@njit
def _fsr_rest_events(rng, n, m, mq, e_min, rest):
    p = np.zeros((4, 4))
    out = np.empty((n, 10))
    # pair at rest, the first particle along n (polar angle 60 deg, azimuth 30 deg)
    nx, ny, nz = 0.75, math.sqrt(0.75) * 0.5, 0.5
    ps = math.sqrt(0.25 * mq * mq - m * m)
    for i in range(n):
        p[0, 0], p[0, 1], p[0, 2], p[0, 3] = ps * nx, ps * ny, ps * nz, 0.5 * mq
        p[1, 0], p[1, 1], p[1, 2], p[1, 3] = -ps * nx, -ps * ny, -ps * nz, 0.5 * mq
        if rest:
            mask = fsr_pair_rest1(rng, p, m, mq, nx, ny, nz, e_min)
        else:
            mask = fsr_pair1(rng, p, m, m, e_min)
        for j in range(4):
            out[i, j] = p[0, j] + p[1, j] + p[2, j] + p[3, j] - (mq if j == 3 else 0.0)
        out[i, 4] = p[0, 3] ** 2 - p[0, 0] ** 2 - p[0, 1] ** 2 - p[0, 2] ** 2
        out[i, 5] = p[1, 3] ** 2 - p[1, 0] ** 2 - p[1, 1] ** 2 - p[1, 2] ** 2
        out[i, 6] = mask
        out[i, 7] = p[2, 3]  # photon of the first particle (0 if none)
        # cos of its angle to n, and azimuth-sensitive component about n
        out[i, 8] = (p[2, 0] * nx + p[2, 1] * ny + p[2, 2] * nz) / p[2, 3] if p[2, 3] > 0 else 2.0
        out[i, 9] = p[0, 3]
    return out


@pytest.mark.parametrize(("m", "mq"), [(M_MU, 10.58), (M_E, 10.58), (M_MU, 0.5)])
def test_fsr_pair_rest_equals_fsr_pair_in_distribution(m, mq):
    n = 100_000
    a = _fsr_rest_events(np.random.default_rng(23), n, m, mq, 1e-4, True)
    b = _fsr_rest_events(np.random.default_rng(24), n, m, mq, 1e-4, False)
    # exact four-momentum conservation and on-shell masses
    assert np.max(np.abs(a[:, :4])) < 1e-12 * mq
    # m^2 = E^2 - p^2: rounding of E^2 ~ 1e-16 mq^2 (1e-8 of m_e^2 at 10.58 GeV)
    assert np.allclose(a[:, 4], m * m, rtol=1e-9, atol=2e-15 * mq * mq)
    assert np.allclose(a[:, 5], m * m, rtol=1e-9, atol=2e-15 * mq * mq)
    # the same emission probabilities per leg and the same spectra and angles
    for bit in (1, 2):
        pa = np.mean(a[:, 6].astype(int) & bit > 0)
        pb = np.mean(b[:, 6].astype(int) & bit > 0)
        assert abs(pa - pb) < 4.0 * math.sqrt((pa * (1 - pa) + pb * (1 - pb)) / n) + 1e-9
    ea, eb = a[a[:, 7] > 0, 7], b[b[:, 7] > 0, 7]
    assert stats.ks_2samp(ea, eb).pvalue > 0.01
    ca, cb = a[a[:, 7] > 0, 8], b[b[:, 7] > 0, 8]
    assert stats.ks_2samp(ca, cb).pvalue > 0.01
    assert stats.ks_2samp(a[:, 9], b[:, 9]).pvalue > 0.01


@njit
def _isr_momenta(rng, n, polar):
    k = np.zeros((2, 4))
    out = np.empty((n, 5))
    sqrt_s = 10.58
    for i in range(n):
        v1, v2 = 0.3, 0.1
        if polar:
            isr_photon_momenta_polar1(rng, sqrt_s, M_E, v1, v2, k)
        else:
            isr_photon_momenta1(rng, sqrt_s, M_E, v1, v2, k)
        qx, qy, qz = -(k[0, 0] + k[1, 0]), -(k[0, 1] + k[1, 1]), -(k[0, 2] + k[1, 2])
        qe = sqrt_s - k[0, 3] - k[1, 3]
        out[i, 0] = (qe * qe - qx * qx - qy * qy - qz * qz) / ((1 - v1) * (1 - v2) * sqrt_s**2)
        out[i, 1] = math.atan2(k[0, 1], k[0, 0])
        out[i, 2] = k[0, 2] / k[0, 3]
        out[i, 3] = k[1, 3]
        out[i, 4] = math.atan2(k[1, 1], k[1, 0])
    return out


def test_isr_photon_momenta_polar_equal_in_distribution():
    a = _isr_momenta(np.random.default_rng(25), 100_000, True)
    b = _isr_momenta(np.random.default_rng(26), 100_000, False)
    assert np.max(np.abs(a[:, 0] - 1.0)) < 1e-12  # s' = x1 x2 s exactly
    for j in (1, 2, 3, 4):
        assert stats.ks_2samp(a[:, j], b[:, j]).pvalue > 0.01, j
    assert stats.kstest(a[:, 1], stats.uniform(-math.pi, 2.0 * math.pi).cdf).pvalue > 0.01


@njit
def _isr_pairs(rng_a, rng_b, n, sqrt_s0, spread, a, x_min, e_min):
    cst = isr_consts1(sqrt_s0, M_E, a, x_min)
    lmin = -math.log(x_min)
    out = np.empty((n, 6))
    for i in range(n):
        sqrt_s = sqrt_s0 + spread * (rng_a.random() - 0.5)
        rng_b.random()  # the same sqrt_s on both streams
        out[i, 0], out[i, 1], out[i, 2] = isr_fractions_l1(rng_a, sqrt_s, M_E, a, x_min, lmin,
                                                           e_min)
        out[i, 3], out[i, 4], out[i, 5] = isr_fractions_c1(rng_b, sqrt_s, M_E, e_min, cst)
    return out


@pytest.mark.parametrize(("spread", "a", "x_min"), [(0.0, 0.15, 4e-4), (0.03, 0.15, 4e-4),
                                                    (0.5, 0.05, 1e-2), (20.0, 0.1, 1e-3)])
def test_isr_fractions_with_hoisted_constants_equal_the_plain_kernel(spread, a, x_min):
    # the same uniforms give the same (weight, v1, v2) to rounding, on both sides of the
    # series/logarithm switch of ll_beta_near1 (|s/s0 - 1| = 5e-3 at spread ~ 0.05 GeV)
    out = _isr_pairs(np.random.default_rng(27), np.random.default_rng(27), 200_000, 10.58,
                     spread, a, x_min, 1e-4)
    # atol: weights are O(1); near x -> 0 (weights ~1e-3) D cancels to ~2e-12 relative
    assert np.allclose(out[:, 3:], out[:, :3], rtol=1e-12, atol=1e-13)
    assert np.all((out[:, 4] == 0.0) == (out[:, 1] == 0.0))


def test_ll_beta_near_nominal():
    s0 = 10.58**2
    beta0 = ll_beta(s0, M_E)
    for d in (-4.9e-3, -1e-3, 0.0, 2e-4, 4.9e-3, 6e-3, -0.2):
        s = s0 * (1.0 + d)
        assert ll_beta_near1(s, 1.0 / s0, beta0, M_E) == pytest.approx(ll_beta(s, M_E), rel=1e-15)


def test_public_isr_fraction_from_a_given_uniform():
    """``isr_fraction_u1`` (pre-drawn uniform; public API for samplers that draw in bulk) is what
    ``isr_fractions_c1`` does per beam, bit for bit; its pieces ``isr_soft_factor`` and
    ``isr_hard_terms_q1`` rebuild ``structure_function`` (Kuraev-Fadin) to rounding, and
    ``isr_log1m_over_v1`` is ln(1 - v)/v on both sides of its series switch."""
    from gen.radiation import (
        isr_consts1,
        isr_fraction_u1,
        isr_fractions_c1,
        isr_hard_terms_q1,
        isr_log1m_over_v1,
        isr_soft_factor,
    )

    sqrt_s0, e_min = 10.58, 1e-4
    cst = isr_consts1(sqrt_s0, M_E, 0.05, 0.02)
    ra, rb = np.random.default_rng(21), np.random.default_rng(21)
    for _ in range(2000):
        sqrt_s = sqrt_s0 * (1.0 + 1e-3 * ra.standard_normal())
        rb.standard_normal()
        w, v1, v2 = isr_fractions_c1(ra, sqrt_s, M_E, e_min, cst)
        beta = ll_beta_near1(sqrt_s**2, cst[0], cst[1], M_E)
        u1, n1, d1 = isr_fraction_u1(rb.random(), beta, 2.0 / beta, cst)
        u2, n2, d2 = isr_fraction_u1(rb.random(), beta, 2.0 / beta, cst)
        assert w == (n1 * n2) / (d1 * d2)
        assert v1 == (u1 if u1 * 0.5 * sqrt_s >= e_min else 0.0)
        assert v2 == (u2 if u2 * 0.5 * sqrt_s >= e_min else 0.0)
    beta = ll_beta(sqrt_s0**2, M_E)
    for v0 in (1e-9, 1e-4, 0.999e-3, 1.001e-3, 0.3, 0.9):
        x = 1.0 - v0
        v = 1.0 - x  # as structure_function(x) sees it
        q = math.log1p(-v) / v
        assert isr_log1m_over_v1(v) == pytest.approx(q, rel=1e-15)
        d = (0.5 * beta * v ** (0.5 * beta - 1.0) * isr_soft_factor(beta)
             + isr_hard_terms_q1(v, x, math.log(v), q, beta))
        assert d == pytest.approx(structure_function(x, beta), rel=1e-13)
        assert isr_hard_terms_q1(v, x, math.log(v), q, beta) == pytest.approx(
            isr_hard_terms(v, beta), rel=1e-12)
