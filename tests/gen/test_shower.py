"""Tests of gen.hadronization.shower: Sudakov factors against scipy integrals, alpha_s running,
splitting-kernel limits of the dipole densities, four-momentum conservation, pT ordering."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from gen.hadronization import gluon, shower

W = 10.58


def dipole_exponent(s, alpha, colour, q, glu_i, glu_j, mu_i=0.0, mu_j=0.0):
    """(alpha/2pi) C int (x_i^n_i + x_j^n_j - mass terms)/(y_ik y_kj) dy_ik dy_kj over
    pT^2 = s y_ik y_kj > q^2, y_ik + y_kj < 1 (scipy dblquad; independent of the kernels)."""

    def f(y_kj, y_ik):
        x_i, x_j = 1 - y_kj, 1 - y_ik
        d = x_i ** (3 if glu_i else 2) + x_j ** (3 if glu_j else 2)
        d -= 2 * mu_i * y_kj / y_ik + 2 * mu_j * y_ik / y_kj
        return max(d, 0.0) / (y_ik * y_kj)

    q2 = q * q / s
    val = integrate.dblquad(f, q2, 1.0, lambda y: q2 / y, lambda y: 1.0 - y,
                            epsabs=1e-10, epsrel=1e-8)[0]
    return alpha / (2 * math.pi) * colour * val


@pytest.mark.parametrize("m_end", [0.0, 1.5])
def test_first_emission_sudakov_is_the_qqbar_matrix_element(m_end):
    """Fixed alpha_s: P(no emission above q) = exp(-I(q)), I from the q qbar g matrix element
    (C_F, massive eikonal terms of both c ends); binomial 5 sigma."""
    n, alpha = 20_000, 0.2
    n_part, _, pt2 = shower.shower_events(np.random.default_rng(5), W, n, m_end_gev=m_end,
                                          alpha_fixed=alpha, max_emissions=1)
    mu = m_end**2 / W**2
    for q in (0.5, 2.0):
        observed = ((n_part == 3) & (pt2[:, 0] > q * q)).mean()
        p = 1 - math.exp(-dipole_exponent(W**2, alpha, 4 / 3, q, False, False, mu, mu))
        assert abs(observed - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-3, (q, observed, p)


def test_competing_dipoles_sudakov():
    """q g qbar (two dipoles, colour factor N_c/2, x^3 at the gluon end): P(no emission above
    pT_min) = exp(-(I_qg + I_gqbar)), each I by dblquad; binomial 5 sigma."""
    rng = np.random.default_rng(7)
    parts = np.zeros((shower.MAX_PARTONS, 4))
    gluon.three_partons1(rng, W, 0.8, 0.7, parts)
    base = parts[:3].copy()
    chain = base[[0, 2, 1]]  # colour order q, g, qbar
    s_qg = 2 * (chain[0, 3] * chain[1, 3] - chain[0, :3] @ chain[1, :3])
    s_gq = 2 * (chain[1, 3] * chain[2, 3] - chain[1, :3] @ chain[2, :3])
    alpha, q, n = 0.15, 0.5, 20_000
    log = np.zeros(shower.MAX_PARTONS)
    none = 0
    for _ in range(n):
        parts[:3] = chain
        none += shower.shower1(rng, parts, 3, 0.0, q, alpha, 1, log) == 3
    expo = (dipole_exponent(s_qg, alpha, 1.5, q, False, True)
            + dipole_exponent(s_gq, alpha, 1.5, q, True, False))
    p = math.exp(-expo)
    assert abs(none / n - p) < 5 * math.sqrt(p * (1 - p) / n), (none / n, p)


def test_alpha_s_one_loop_lambda_form():
    """alpha_s = 12 pi / ((33 - 2 n_f) ln(Q^2 / Lambda_nf^2)) with Lambda_5 from
    alpha_s(M_Z) = 0.1365 and Lambda_4, Lambda_3 matched at m_b = 4.8, m_c = 1.5 GeV
    (continuity: Lambda_{nf-1} = Lambda_nf (m / Lambda_nf)^(2 / (33 - 2 (nf - 1))))."""
    mz = 91.1876
    lam5 = mz * math.exp(-6 * math.pi / (23 * 0.1365))
    lam4 = lam5 * (4.8 / lam5) ** (2 / 25)
    lam3 = lam4 * (1.5 / lam4) ** (2 / 27)
    for q, nf, lam in ((50.0, 5, lam5), (10.58, 5, lam5), (3.0, 4, lam4), (1.0, 3, lam3),
                       (0.5, 3, lam3)):
        ref = 12 * math.pi / ((33 - 2 * nf) * math.log(q * q / lam**2))
        assert math.isclose(gluon.alpha_s_shower(q * q), ref, rel_tol=1e-10), q


def test_soft_limit_is_eikonal_for_every_dipole():
    """x_i, x_j -> 1: the density -> 2 for q qbar, q g, g g (the eikonal 2 p_i.p_j / p_i.k p_j.k
    with the same colour factor per dipole)."""
    for gi, gj in ((False, False), (False, True), (True, True)):
        assert math.isclose(shower.dipole_density1(1 - 1e-9, 1 - 1e-9, gi, gj, 0.0, 0.0), 2.0,
                            rel_tol=1e-8)


@pytest.mark.parametrize("z", [0.1, 0.35, 0.6, 0.9])
def test_collinear_limits_are_the_dglap_kernels(z):
    """y_ik -> 0 (gluon collinear to end i, end i keeps fraction z): the dipole measure
    dy_ik dy_kj / (y_ik y_kj) -> dt/t dz/(1-z), so density/(1-z) must be P/C:
    quark end (1+z^2)/(1-z) = P_qq/C_F; a gluon end's two dipoles (x^3 rule, N_c/2 each) sum
    to 2 [z/(1-z) + (1-z)/z + z(1-z)] = P_gg/(C_A/2) up to the 1/2 for identical gluons
    (Altarelli-Parisi, Nucl. Phys. B126 (1977) 298)."""
    eps = 1e-9
    x_i = z  # y_kj = 1 - x_i; x_j = 1 - y_ik -> 1
    qq = shower.dipole_density1(x_i, 1 - eps, False, False, 0.0, 0.0) / (1 - z)
    assert math.isclose(qq, (1 + z * z) / (1 - z), rel_tol=1e-6)
    g_side_a = shower.dipole_density1(z, 1 - eps, True, False, 0.0, 0.0) / (1 - z)
    g_side_b = shower.dipole_density1(1 - z, 1 - eps, True, False, 0.0, 0.0) / z
    ref = 2 * (z / (1 - z) + (1 - z) / z + z * (1 - z))
    assert math.isclose(g_side_a + g_side_b, ref, rel_tol=1e-6)


def test_massive_terms_match_the_qqbar_matrix_element():
    """Both ends massive: the same subtraction as gluon.emission_density (massive q qbar g ME
    in the eikonal approximation); a single massive end has only its own collinear term."""
    for x1, x2, mu in ((0.9, 0.8, 0.02), (0.6, 0.95, 0.05), (0.99, 0.7, 0.01)):
        assert math.isclose(shower.dipole_density1(x1, x2, False, False, mu, mu),
                            gluon.emission_density(x1, x2, mu), rel_tol=1e-12, abs_tol=1e-15)
    # dead cone: collinear to a massive end (y_ik -> 0 at fixed y_kj) the density vanishes
    assert shower.dipole_density1(0.7, 1 - 1e-6, False, True, 0.02, 0.0) == 0.0
    assert shower.dipole_density1(0.7, 1 - 1e-6, False, True, 0.0, 0.02) > 1.0


def test_conservation_masslessness_and_ordering():
    n_part, parts, pt2 = shower.shower_events(np.random.default_rng(11), W, 3000)
    assert 1.5 < (n_part - 2).mean() < 6.0  # a few gluons above 0.5 GeV at 10.58 GeV
    tot = parts.sum(axis=1)
    np.testing.assert_allclose(tot, np.tile([0, 0, 0, W], (len(n_part), 1)), atol=1e-12 * W)
    m2 = parts[..., 3] ** 2 - (parts[..., :3] ** 2).sum(axis=-1)
    assert np.abs(m2).max() < 1e-9 * W * W
    for i in range(len(n_part)):
        k = n_part[i] - 2
        assert np.all(pt2[i, :k] >= shower.PT_MIN**2)
        assert np.all(np.diff(pt2[i, :k]) <= 0.0)  # p_T-ordered
        assert np.all(pt2[i, k:] == 0.0)
        assert np.all(parts[i, n_part[i]:] == 0.0)
        assert np.all(parts[i, :n_part[i], 3] > 0.0)


def test_pt_min_and_reproducibility():
    a = shower.shower_events(np.random.default_rng(3), W, 500)
    b = shower.shower_events(np.random.default_rng(3), W, 500)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    hi, _, _ = shower.shower_events(np.random.default_rng(3), W, 2000, pt_min_gev=1.5)
    assert (hi - 2).mean() < (a[0] - 2).mean()
    none, _, _ = shower.shower_events(np.random.default_rng(3), 0.9, 200)  # s < 4 pT_min^2
    assert np.all(none == 2)


def test_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="w_gev"):
        shower.shower_events(rng, -1.0, 10)
    with pytest.raises(ValueError, match="max_emissions"):
        shower.shower_events(rng, W, 10, max_emissions=shower.MAX_PARTONS)
    with pytest.raises(ValueError, match="pt_min_gev"):
        shower.shower_events(rng, W, 10, pt_min_gev=0.0)
