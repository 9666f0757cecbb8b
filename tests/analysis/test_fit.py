"""Tests of analysis.fit: the binned extended likelihood, its fit and its nuisance parameters."""

from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit
from scipy.special import xlogy

from analysis.fit import (
    Dataset,
    Systematic,
    TemplateModel,
    _Fitter,
    asimov,
    fit,
    profile_likelihood_ratio,
    standard_systematics,
)

N_BINS = 20
X = np.arange(N_BINS) + 0.5


def peak(total: float, centre: float = 10.0, width: float = 1.5) -> np.ndarray:
    s = np.exp(-0.5 * ((X - centre) / width) ** 2)
    return total * s / s.sum()


def two_bkg_model(systematics=(), sumw2=None) -> TemplateModel:
    b = np.array([np.full(N_BINS, 50.0), 30.0 * np.exp(-X / 8.0)])
    return TemplateModel(peak(100.0), b, ("flat", "falling"), tuple(systematics), sumw2)


SYSTS = standard_systematics(
    ("flat", "falling"), lumi=0.02, tracking=0.03, muon_id=0.01,
    normalisation={"flat": 0.05, "falling": 0.2},
)


# ---- model construction ------------------------------------------------------------------
def test_model_validation():
    with pytest.raises(ValueError, match="shape"):
        TemplateModel(np.ones(3), np.ones((1, 4)), ("b",))
    with pytest.raises(ValueError, match="unique"):
        TemplateModel(np.ones(3), np.ones((2, 3)), ("b", "b"))
    with pytest.raises(ValueError, match="unknown"):
        TemplateModel(np.ones(3), np.ones(3), ("b",), (Systematic("x", 0.1, ("c",)),))
    with pytest.raises(ValueError, match=">= 0"):
        TemplateModel(-np.ones(3), np.ones(3), ("b",))
    with pytest.raises(ValueError, match="rel_width"):
        Systematic("x", -0.1, ("signal",))
    m = two_bkg_model(SYSTS)
    assert m.parameter_names == ("mu", "lumi", "tracking", "muon_id", "norm_flat", "norm_falling")
    # mu_min: nominal expectation mu*s + b vanishes in the most signal-dominated bin
    b = m.backgrounds.sum(axis=0)
    assert m.mu_min == pytest.approx(-np.min(b / m.signal), rel=1e-14)


def test_standard_systematics_data_driven():
    systs = standard_systematics(
        ("a", "b"), lumi=0.01, tracking=0.02, muon_id=0.03, normalisation=0.1, data_driven=("b",)
    )
    by = {x.name: x for x in systs}
    assert by["lumi"].applies_to == ("signal", "a")
    assert by["norm_b"].applies_to == ("b",)
    assert by["norm_a"].rel_width == 0.1


def test_expected_lognormal_factors():
    """Each component is scaled by prod_j (1 + sigma_j)^theta_j (module docstring)."""
    m = two_bkg_model(SYSTS)
    theta = np.array([0.5, -1.0, 2.0, 1.5, -0.7])
    mu = 0.8
    k = {x.name: 1.0 + x.rel_width for x in SYSTS}
    common = k["lumi"] ** 0.5 * k["tracking"] ** -1.0 * k["muon_id"] ** 2.0
    want = (
        mu * m.signal * common
        + m.backgrounds[0] * common * k["norm_flat"] ** 1.5
        + m.backgrounds[1] * common * k["norm_falling"] ** -0.7
    )
    np.testing.assert_allclose(m.expected(mu, theta), want, rtol=1e-13)


# ---- likelihood --------------------------------------------------------------------------
def test_nll_is_poisson_deviance():
    """nll = -ln L + const: differences equal those of the textbook Poisson log-likelihood."""
    m = two_bkg_model()
    rng = np.random.default_rng(11)
    n = rng.poisson(asimov(m, 1.0))

    def ln_l(mu):
        nu = mu * m.signal + m.backgrounds.sum(axis=0)
        return np.sum(xlogy(n, nu) - nu)

    for mu in (-0.5, 0.3, 2.0):
        assert m.nll(mu, None, n) - m.nll(1.0, None, n) == pytest.approx(
            -(ln_l(mu) - ln_l(1.0)), rel=1e-12, abs=1e-9
        )
    assert m.nll(1.0, None, asimov(m, 1.0)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("bb", [False, True])
def test_gradient_matches_finite_differences(bb):
    m = two_bkg_model(SYSTS, sumw2=0.05 * two_bkg_model().backgrounds if bb else None)
    rng = np.random.default_rng(5)
    n = rng.poisson(asimov(m, 0.5))
    f = _Fitter(m, Dataset(n, aux_theta=rng.normal(size=5), aux_gamma=1 + 0.1 * rng.normal(
        size=N_BINS)))
    x = np.array([0.7, 0.3, -0.2, 0.5, 1.0, -1.0])
    _, g = m._core.nll_grad(x[0], x[1:], f.prep)
    h = 1e-6  # central differences: truncation error ~h^2 * f''' ~ 1e-10 relative
    num = [(f.value(x + h * e) - f.value(x - h * e)) / (2 * h) for e in np.eye(x.size)]
    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-6)


# ---- fits against closed forms ------------------------------------------------------------
def test_one_bin_fit_closed_form():
    """One bin: mu_hat = (n - b)/s, HESSE error sqrt(n)/s (d2 nll/dmu2 = n s^2 / nu^2)."""
    s, b, n = 40.0, 200.0, 263
    m = TemplateModel(np.array([s]), np.array([[b]]), ("b",))
    r = fit(m, np.array([n]))
    assert r.valid
    assert r.mu == pytest.approx((n - b) / s, rel=1e-6)
    # HESSE uses numerical second derivatives: 1e-4 relative
    assert r.mu_err == pytest.approx(np.sqrt(n) / s, rel=1e-4)


def test_asimov_fit_returns_truth():
    m = two_bkg_model(SYSTS)
    r = fit(m, asimov(m, 1.3))
    assert r.valid
    assert r.mu == pytest.approx(1.3, abs=1e-5)
    np.testing.assert_allclose(r.theta, 0.0, atol=1e-4)
    assert r.nll == pytest.approx(0.0, abs=1e-8)


def test_lumi_error_adds_in_quadrature_at_asimov():
    """One bin, lumi on the signal only: the Fisher information at the Asimov point gives
    var(mu) = nu/s^2 + ln(1 + sigma_L)^2 exactly (2x2 matrix inverse)."""
    s, b, sl = 50.0, 100.0, 0.2
    m = TemplateModel(np.array([s]), np.array([[b]]), ("b",), (Systematic("L", sl, ("signal",)),))
    r = fit(m, asimov(m, 1.0))
    want = np.sqrt((s + b) / s**2 + np.log1p(sl) ** 2)
    assert r.mu_err == pytest.approx(want, rel=1e-3)  # HESSE numerical precision


def test_zero_width_systematic_reproduces_no_systematics_fit():
    zero = tuple(Systematic(x.name, 0.0, x.applies_to) for x in SYSTS)
    m0, mz, ms = two_bkg_model(), two_bkg_model(zero), two_bkg_model(SYSTS)
    n = np.random.default_rng(3).poisson(asimov(m0, 0.7))
    r0, rz, rs = fit(m0, n), fit(mz, n), fit(ms, n)
    assert rz.mu == pytest.approx(r0.mu, abs=1e-6)
    assert rz.mu_err == pytest.approx(r0.mu_err, rel=1e-4)
    assert rz.nll == pytest.approx(r0.nll, abs=1e-8)
    np.testing.assert_array_equal(rz.theta_err, 0.0)  # fixed, not fitted
    # genuine systematics can only widen the mu interval
    assert rs.mu_err > r0.mu_err


def test_unconstrained_nuisance_returns_its_prior():
    """A systematic acting on the signal only, with mu fixed to 0, is not constrained by the
    data: its fit returns the global observable with error 1 (the N(0,1) constraint)."""
    m = two_bkg_model((Systematic("sig_only", 0.1, ("signal",)),))
    n = np.random.default_rng(8).poisson(asimov(m, 0.0))
    r = fit(m, Dataset(n, aux_theta=np.array([0.4])), mu=0.0)
    assert r.theta[0] == pytest.approx(0.4, abs=1e-4)
    assert r.theta_err[0] == pytest.approx(1.0, rel=1e-3)
    assert r.mu_err == 0.0


def test_negative_mu_allowed_down_to_positivity():
    m = two_bkg_model()
    n = np.random.default_rng(1).poisson(m.backgrounds.sum(axis=0) * 0.9)
    n[8:12] = 0  # strong deficit under the peak
    r = fit(m, n)
    assert r.mu < 0.0
    assert r.mu >= m.mu_min
    assert np.all(m.expected(r.mu) >= 0.0)
    with pytest.raises(ValueError, match="below"):
        fit(m, n, mu=m.mu_min - 1.0)


def test_profile_likelihood_ratio_one_bin():
    """t_mu = 2 [nu - n - n ln(nu/n)] at nu = mu s + b (mu_hat = (n-b)/s inside the range)."""
    s, b, n, mu = 10.0, 30.0, 45, 0.4
    m = TemplateModel(np.array([s]), np.array([[b]]), ("b",))
    nu = mu * s + b
    want = 2.0 * (nu - n - n * np.log(nu / n))
    assert profile_likelihood_ratio(m, np.array([n]), mu) == pytest.approx(want, rel=1e-6)


# ---- Barlow-Beeston lite -------------------------------------------------------------------
def test_barlow_beeston_profile_matches_explicit_minuit():
    """The analytic per-bin gamma equals fitting all gamma_i explicitly with Minuit."""
    base = two_bkg_model()
    w2 = 0.2 * base.backgrounds  # MC weights 0.2: relative errors ~ 5-20 %
    m = two_bkg_model(sumw2=w2)
    rng = np.random.default_rng(21)
    n = rng.poisson(asimov(m, 1.0) * rng.normal(1.0, 0.08, N_BINS).clip(0.5))
    s, b = m.signal, m.backgrounds.sum(axis=0)
    d = np.sqrt(w2.sum(axis=0)) / b

    def explicit(p):
        mu, gam = p[0], p[1:]
        nu = mu * s + gam * b
        return np.sum(nu - xlogy(n, nu)) + 0.5 * np.sum(((gam - 1.0) / d) ** 2)

    def explicit_fit(mu_fixed=None):
        mi = Minuit(explicit, np.concatenate([[1.0 if mu_fixed is None else mu_fixed],
                                              np.ones(N_BINS)]))
        mi.errordef = Minuit.LIKELIHOOD
        mi.limits = [(m.mu_min, None)] + [(1e-3, None)] * N_BINS
        mi.fixed[0] = mu_fixed is not None
        mi.strategy = 2
        mi.tol = 1e-5
        mi.migrad()
        assert mi.valid
        return mi

    const = np.sum(xlogy(n, n) - n)  # saturated-model constant of our nll
    # (1) at fixed mu the analytic profile is the exact minimum over the gammas
    for mu in (0.0, 1.0, 2.5):
        mi = explicit_fit(mu)
        # migrad EDM < 0.002 * tol * errordef = 1e-8: the minimum is known to ~1e-8
        assert m.nll(mu, None, n) == pytest.approx(mi.fval + const, abs=1e-7)
        gam = m._core.gamma(mu, np.zeros(0), Dataset(n, np.zeros(0), np.ones(N_BINS)))
        np.testing.assert_allclose(gam, np.array(mi.values[1:]), atol=1e-4)
    # (2) free fits agree: each migrad stops at EDM < 1e-5 (tol 0.01), i.e. |dmu| < sqrt(2 EDM)
    # sigma = 0.0045 sigma per fit
    mi = explicit_fit()
    r = fit(m, n)
    assert r.mu == pytest.approx(mi.values[0], abs=0.01 * mi.errors[0])
    assert r.nll == pytest.approx(mi.fval + const, abs=2e-5)
    assert r.mu_err == pytest.approx(mi.errors[0], rel=2e-3)  # HESSE numerical precision
    # MC statistics widen the mu interval
    assert r.mu_err > fit(base, n).mu_err


# ---- frequentist behaviour ----------------------------------------------------------------
@pytest.mark.parametrize("bb", [False, True])
def test_mu_pulls_are_standard_normal(bb):
    """200 pseudo-experiments at mu = 1, true theta = 0, global observables randomised.

    The pull (mu_hat - 1)/sigma_HESSE should be N(0, 1): mean within 3/sqrt(200) = 0.21, standard
    deviation within 3 * 1/sqrt(2 * 199) = 0.15 of 1 (Gaussian sampling errors, 3 sigma).
    """
    base = two_bkg_model()
    w2 = 0.1 * base.backgrounds if bb else None
    m = two_bkg_model(SYSTS, sumw2=w2)
    rng = np.random.default_rng(20240 + bb)
    nu = asimov(m, 1.0)
    pulls, theta_pulls = [], []
    d = np.sqrt(w2.sum(axis=0)) / base.backgrounds.sum(axis=0) if bb else 0.0
    for _ in range(200):
        n = rng.poisson(nu)
        g = rng.standard_normal(len(SYSTS))
        h = 1.0 + d * rng.standard_normal(N_BINS)
        r = fit(m, Dataset(n, g, h))
        assert r.valid
        pulls.append((r.mu - 1.0) / r.mu_err)
        theta_pulls.append(r.theta[-1] / r.theta_err[-1])  # norm_falling, true value 0
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.21
    assert abs(pulls.std(ddof=1) - 1.0) < 0.15
    tp = np.array(theta_pulls)
    assert abs(tp.mean()) < 0.21
    assert abs(tp.std(ddof=1) - 1.0) < 0.15


@pytest.mark.parametrize("bb", [False, True])
@pytest.mark.parametrize("mu", [-0.9, 0.0, 0.7, 3.0])
def test_compiled_nll_equals_numpy_reference(bb, mu):
    """The compiled likelihood reproduces the NumPy formulae, including empty bins, the
    Barlow-Beeston factors and the continuation below the floor (mu near mu_min)."""
    m = two_bkg_model(SYSTS, sumw2=0.05 * two_bkg_model().backgrounds if bb else None)
    rng = np.random.default_rng(11)
    n = rng.poisson(asimov(m, 0.5)).astype(float)
    n[::3] = 0.0
    f = _Fitter(m, Dataset(n, aux_theta=rng.normal(size=5), aux_gamma=1 + 0.1 * rng.normal(
        size=N_BINS)))
    mu = max(mu, m.mu_min)
    for theta in (np.zeros(5), rng.normal(size=5)):
        v, g = m._core.nll_grad(mu, theta, f.prep)
        v_ref, g_ref = m._core.nll_grad_reference(mu, theta, f.prep)
        assert v == pytest.approx(v_ref, rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-9)
