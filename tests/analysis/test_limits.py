"""Tests of analysis.limits: exact counting CLs, asymptotic CLs and pseudo-experiments."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import gammaincc
from scipy.stats import norm

from analysis.fit import Systematic, TemplateModel, asimov
from analysis.limits import (
    BAND_KEYS,
    _QTilde,
    _qtilde_fast,
    _simulate,
    asymptotic_limits,
    cls_counting_limit,
    pseudo_data,
    qtilde,
    toy_limit,
)

KEYS = ("observed", "expected_m2", "expected_m1", "expected", "expected_p1", "expected_p2")


# ---- exact counting ----------------------------------------------------------------------
def test_counting_known_values():
    # n = 0: CLs = exp(-s) for any b -> s = ln 10 at 90 % CL
    for b in (0.0, 0.5, 3.0, 20.0):
        assert cls_counting_limit(0, b) == pytest.approx(np.log(10.0), abs=1e-3)
    assert cls_counting_limit(0, 0.0) == pytest.approx(2.303, abs=1e-3)
    # n = 1, b = 0: (1 + s) exp(-s) = 0.1 -> 3.890 (PDG RPP "Statistics", Table 40.3)
    assert cls_counting_limit(1, 0.0) == pytest.approx(3.890, abs=1e-3)
    # 95 % CL, n = 0: ln 20 = 2.996
    assert cls_counting_limit(0, 1.0, cl=0.95) == pytest.approx(2.996, abs=1e-3)


def _helene(n: int, b: float, cl: float) -> float:
    """Flat-prior Bayesian limit (Helene, NIM 212 (1983) 319): the posterior tail
    Gamma(n+1, s+b) / Gamma(n+1, b) = 1 - cl, via the regularised incomplete gamma."""

    def h(s):
        return gammaincc(n + 1, s + b) / gammaincc(n + 1, b) - (1.0 - cl)

    return brentq(h, 0.0, 10.0 * (n + 10.0), xtol=1e-13)


@pytest.mark.parametrize(
    ("n", "b", "cl"),
    [(0, 0.0, 0.9), (1, 0.0, 0.9), (3, 1.2, 0.9), (5, 8.0, 0.9), (10, 3.5, 0.95), (42, 40.0, 0.9),
     (100, 100.0, 0.9), (7, 0.0, 0.95)],
)
def test_counting_equals_bayesian_flat_prior(n, b, cl):
    assert cls_counting_limit(n, b, cl) == pytest.approx(_helene(n, b, cl), rel=1e-4)


def test_counting_bayesian_by_quadrature():
    """Same identity with the posterior integrated numerically (no incomplete gamma)."""
    n, b, cl = 4, 2.5, 0.9
    s_up = cls_counting_limit(n, b, cl)

    def post(s):
        return (s + b) ** n * np.exp(-(s + b))

    tail = quad(post, s_up, np.inf)[0] / quad(post, 0.0, np.inf)[0]
    assert tail == pytest.approx(1.0 - cl, rel=1e-6)


def test_counting_input_checks():
    with pytest.raises(ValueError, match="n_obs"):
        cls_counting_limit(-1, 1.0)
    with pytest.raises(ValueError, match="cl"):
        cls_counting_limit(1, 1.0, cl=0.3)


# ---- asymptotic CLs against closed forms -------------------------------------------------
def one_bin(b: float) -> TemplateModel:
    return TemplateModel(np.array([1.0]), np.array([[b]]), ("b",))


def q_asimov_one_bin(mu: float, b: float) -> float:
    """q_mu,A of one bin (signal template 1, Asimov n = b): 2 [mu - b ln(1 + mu/b)]."""
    return 2.0 * (mu - b * np.log1p(mu / b))


@pytest.mark.parametrize("n_obs", [100, 80, 120])
def test_asymptotic_vs_exact_counting(n_obs):
    """b = 100: the asymptotic observed limit agrees with the exact CLs limit within 5 %.

    The asymptotic formulae neglect the Poisson skewness and discreteness, corrections of
    relative order 1/sqrt(b) = 10 % times a coefficient below one ("a few percent")."""
    b = 100.0
    lim = asymptotic_limits(one_bin(b), np.array([n_obs]))
    exact = cls_counting_limit(n_obs, b)
    assert lim["observed"] == pytest.approx(exact, rel=0.05)


def test_asymptotic_converges_at_large_b():
    """The same comparison at b = 10^4: corrections scale as 1/sqrt(b), so 5 % -> 0.5 %."""
    b = 1.0e4
    lim = asymptotic_limits(one_bin(b), np.array([10000]))
    assert lim["observed"] == pytest.approx(cls_counting_limit(10000, b), rel=0.005)


def test_asymptotic_bands_one_bin_closed_form():
    """Each band solves sqrt(q_mu,A(mu)) = N + Phi^-1(1 - alpha Phi(N)) with the closed-form
    Asimov q (independent of the fitter); the median is ~ sqrt(b) Phi^-1(1 - alpha/2)."""
    b, cl = 400.0, 0.9
    alpha = 1.0 - cl
    lim = asymptotic_limits(one_bin(b), np.array([400]), cl)
    assert tuple(lim) == KEYS
    for key, n_sigma in BAND_KEYS.items():
        c = n_sigma + norm.ppf(1.0 - alpha * norm.cdf(n_sigma))
        want = brentq(lambda mu, c=c: np.sqrt(q_asimov_one_bin(mu, b)) - c, 1e-6, 1e3)
        # fit tolerance (EDM) and brentq xtol: 1e-5 relative
        assert lim[key] == pytest.approx(want, rel=1e-5), key
    # sigma ~ sqrt(b) for mu << b: the median differs from sqrt(b) Phi^-1(0.95) by O(mu/b) ~ 3 %
    assert lim["expected"] == pytest.approx(np.sqrt(b) * norm.ppf(1 - alpha / 2), rel=0.03)
    # data equal to the background expectation: observed = median expected
    assert lim["observed"] == pytest.approx(lim["expected"], rel=1e-5)
    vals = [lim[k] for k in ("expected_m2", "expected_m1", "expected", "expected_p1",
                             "expected_p2")]
    assert np.all(np.diff(vals) > 0.0)


def test_asymptotic_cls_value_formula():
    """At the observed limit the CLs of eqs. (65)-(66) is alpha; checked with the closed-form
    q~ of one bin (mu_hat < 0 branch: data below the background)."""
    b, n, alpha = 100.0, 85, 0.1
    mu_up = asymptotic_limits(one_bin(b), np.array([n]))["observed"]
    # q~ for mu_hat < 0 uses mu = 0 as reference: 2 [nll(mu) - nll(0)]

    def nll(mu):
        return mu + b - n * np.log(mu + b)

    qt = 2.0 * (nll(mu_up) - nll(0.0))
    qa = q_asimov_one_bin(mu_up, b)
    assert qt > qa  # the second branch of eq. (65)
    p_mu = norm.sf((qt + qa) / (2 * np.sqrt(qa)))
    cl_b = norm.sf((qt - qa) / (2 * np.sqrt(qa)))
    assert p_mu / cl_b == pytest.approx(alpha, rel=1e-4)
    assert qtilde(one_bin(b), np.array([n]), mu_up) == pytest.approx(qt, rel=1e-5)


def test_asymptotic_expected_weaker_with_systematics():
    x = np.arange(50) + 0.5
    s = 10.0 * np.exp(-0.5 * ((x - 25.0) / 2.0) ** 2)
    b = np.array([np.full(50, 50.0), 20.0 * np.exp(-x / 20.0), np.full(50, 5.0)])
    names = ("a", "b", "c")
    m0 = TemplateModel(s, b, names)
    m1 = TemplateModel(s, b, names, (Systematic("lumi", 0.1, ("signal", "a", "b", "c")),
                                     Systematic("norm_a", 0.2, ("a",))))
    d = pseudo_data(m0, 17)
    l0, l1 = asymptotic_limits(m0, d), asymptotic_limits(m1, d)
    # expected limits (Asimov) can only get weaker with extra nuisance parameters; the observed
    # one need not (here the data exceed the nominal background by 1 sigma and the profiled
    # normalisations absorb part of the excess under the peak)
    for key in BAND_KEYS:
        assert l1[key] > l0[key]
    vals = [l1[k] for k in KEYS[1:]]
    assert np.all(np.diff(vals) > 0.0)


# ---- pseudo-experiments --------------------------------------------------------------------
N_BINS = 20
X = np.arange(N_BINS) + 0.5


def peak_model(systematics=()) -> TemplateModel:
    s = np.exp(-0.5 * ((X - 10.0) / 1.5) ** 2)
    return TemplateModel(s / s.sum(), np.full(N_BINS, 50.0), ("flat",), tuple(systematics))


def test_pseudo_data_reproducible():
    m = peak_model()
    a, b2, c = pseudo_data(m, 5), pseudo_data(m, 5), pseudo_data(m, 6)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a, b2)
    assert not np.array_equal(a, c)


def test_fast_toy_fit_matches_minuit():
    """The vectorised q~ of nuisance-free models equals the Minuit-based q~ toy by toy."""
    m = peak_model()
    rng = np.random.default_rng(9)
    counts = rng.poisson(asimov(m, 0.0), size=(30, N_BINS)).astype(float)
    counts[0, 8:12] = 0.0  # one toy with a deficit: mu_hat < 0 branch
    mus = np.array([10.0, 25.0, 40.0])
    fast = _qtilde_fast(m, counts, mus)
    slow = np.array([[_QTilde(m, c)(mu) for mu in mus] for c in counts])
    # migrad EDM < 1e-5 per fit: q differs by < ~4e-5 absolute
    np.testing.assert_allclose(fast, slow, atol=1e-4, rtol=1e-5)
    assert np.any(fast == 0.0)
    assert np.any(fast > 0.0)


def test_toys_reproducible_with_seed():
    m = peak_model()
    d = pseudo_data(m, 7)
    grid = [15.0, 30.0, 45.0]
    r1 = toy_limit(m, d, n_toys=200, seed=123, mu_grid=grid)
    r2 = toy_limit(m, d, n_toys=200, seed=123, mu_grid=grid)
    r3 = toy_limit(m, d, n_toys=200, seed=124, mu_grid=grid)
    np.testing.assert_array_equal(r1.cls, r2.cls)
    assert r1.as_dict() == r2.as_dict()
    assert not np.array_equal(r1.cls, r3.cls)


def test_asymptotic_vs_toys_multibin():
    """20 bins, flat background 50/bin, Gaussian signal peak, no systematics.

    Toy and asymptotic observed limits agree within 3 x the toy statistical error (binomial
    CLs errors at the crossing) plus a 3 % asymptotic tolerance (the peak holds ~250 background
    events: corrections ~1/sqrt(250) times a coefficient < 1, cf. the one-bin test).  The median
    expected limit gets the same tolerance (its statistical error is of the same size)."""
    m = peak_model()
    d = pseudo_data(m, 7)
    asy = asymptotic_limits(m, d)
    grid = np.linspace(0.6, 1.6, 21) * asy["expected"]
    toys = toy_limit(m, d, n_toys=3000, seed=2024, mu_grid=grid)
    assert np.isfinite(toys.observed_err)
    assert toys.observed_err < 0.03 * asy["observed"]
    tol = 3.0 * toys.observed_err + 0.03 * asy["observed"]
    assert toys.observed == pytest.approx(asy["observed"], abs=tol)
    assert toys.expected["expected"] == pytest.approx(asy["expected"], abs=tol)
    # +-1 sigma bands: quantiles of the b-only toys, looser (fewer toys beyond the quantile)
    for key in ("expected_m1", "expected_p1"):
        assert toys.expected[key] == pytest.approx(asy[key], rel=0.1), key


def test_asymptotic_vs_toys_with_systematics():
    """Same point with a 10 % background normalisation and a 5 % signal efficiency systematic,
    toys fitted with iminuit (profiled nuisances, randomised global observables).  Only 150 toys
    (time): 3 x the toy error plus 3 % asymptotic tolerance, as above."""
    systs = (Systematic("norm_flat", 0.1, ("flat",)), Systematic("eff", 0.05, ("signal",)))
    m = peak_model(systs)
    d = pseudo_data(peak_model(), 7)
    asy = asymptotic_limits(m, d)
    grid = np.array([0.8, 1.0, 1.2, 1.4]) * asy["observed"]
    toys = toy_limit(m, d, n_toys=150, seed=77, mu_grid=grid)
    assert np.isfinite(toys.observed_err)
    tol = 3.0 * toys.observed_err + 0.03 * asy["observed"]
    assert toys.observed == pytest.approx(asy["observed"], abs=tol)


def test_simulate_randomises_global_observables():
    """LHC-style toys: counts around the conditional fit, g ~ N(theta_hat_hat, 1)."""
    m = peak_model((Systematic("norm_flat", 0.1, ("flat",)),))
    d = pseudo_data(peak_model(), 3)
    q = _QTilde(m, d)
    x0 = q.conditional(0.0)[1]
    toys = _simulate(m, np.random.default_rng(4), 2000, 0.0, x0, q.fitter.ds)
    g = np.array([t.aux_theta[0] for t in toys])
    # mean within 4 sigma (1/sqrt(2000)), sd within 4 x 1/sqrt(4000)
    assert g.mean() == pytest.approx(x0[1], abs=4.0 / np.sqrt(2000))
    assert g.std() == pytest.approx(1.0, abs=4.0 / np.sqrt(4000))
    n = np.array([t.counts for t in toys]).sum(axis=1)
    nu = m.expected(0.0, x0[1:]).sum()
    assert n.mean() == pytest.approx(nu, abs=4.0 * np.sqrt(nu / 2000))
