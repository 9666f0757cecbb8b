"""Tests of gen.processes.radiative_return: the two-channel ISR sampler is an unbiased estimator
of the structure-function convolution (scipy quad), also for the narrow low-mass resonances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from gen.constants import GEV2_TO_PB, M_E
from gen.hadronization import exclusive as ex
from gen.jit import kernel
from gen.processes import radiative_return as rr
from gen.radiation import ISR_HARD_FRACTION, ll_beta

SQRT_S = 10.58
S_HI = 4.0  # (2 GeV)^2
Q = rr.proposal(ex.S_THRESHOLD, S_HI, [(ex.M_RHO, ex.G_RHO), (ex.M_OMEGA, ex.G_OMEGA),
                                      (ex.M_PHI, ex.G_PHI)], [0.55, 0.08, 0.12, 0.25])


def test_proposal_density_normalised_and_sampled():
    parts = [ex.S_THRESHOLD, ex.M_RHO**2, ex.M_OMEGA**2, ex.M_PHI**2, S_HI]
    tot = sum(integrate.quad(lambda s: rr.proposal_density1(s, Q), a, b, limit=400,
                             epsrel=1e-10)[0] for a, b in zip(parts[:-1], parts[1:], strict=True))
    assert math.isclose(tot, 1.0, rel_tol=1e-7)
    assert rr.proposal_density1(S_HI * 1.01, Q) == 0.0
    rng = np.random.default_rng(3)
    draws = np.array([rr.sample_proposal1(rng, Q) for _ in range(20_000)])
    grid = np.linspace(ex.S_THRESHOLD, S_HI, 4001)
    dens = np.array([rr.proposal_density1(s, Q) for s in grid])
    # CDF on a fine grid with the narrow peaks resolved through their atan form
    def cdf(s):
        s = np.atleast_1d(s)
        return np.array([integrate.quad(lambda t: rr.proposal_density1(t, Q), ex.S_THRESHOLD,
                                        v, points=[p for p in parts[1:-1] if p < v],
                                        limit=400)[0] for v in s])
    assert dens.min() > 0
    assert stats.kstest(draws[:2000], cdf).pvalue > 1e-3


@kernel
def _mc_tail(rng, n, c_low, q, x, wgrid):
    """Mean and error of w sigma_excl(s') over n trials of the two-channel sampler (pb)."""
    sig = np.zeros(ex.N_CHANNELS)
    x_min = (2.0 / 10.58) ** 2
    s = 10.58 * 10.58
    acc = 0.0
    acc2 = 0.0
    for _ in range(n):
        w, v1, v2 = rr.isr_fractions_two_channel1(rng, 10.58, M_E, ISR_HARD_FRACTION, x_min,
                                                  0.0, c_low, q)
        sp = (1.0 - v1) * (1.0 - v2) * s
        f = 0.0
        if ex.S_THRESHOLD < sp <= S_HI:
            f = ex.channel_sigmas1(sp, x, wgrid, sig)
        val = w * f * GEV2_TO_PB
        acc += val
        acc2 += val * val
    mean = acc / n
    return mean, math.sqrt(max(acc2 / n - mean * mean, 0.0) / n)


def _quad_tail(x, wgrid):
    """The same convolution by quad (``radiative_return.isr_convolution_quad``), pb."""
    sig = np.zeros(ex.N_CHANNELS)
    return GEV2_TO_PB * rr.isr_convolution_quad(
        lambda sp: ex.channel_sigmas1(sp, x, wgrid, sig), SQRT_S, M_E, ex.S_THRESHOLD, S_HI,
        [ex.M_RHO**2, ex.M_OMEGA**2, ex.M_PHI**2])


def test_isr_luminosity_is_the_structure_function_convolution():
    """L(z) against a direct two-dimensional integral in (t1, t2) at a z where nothing is
    singular inside the domain: int over x1 in [z, 1] of D(x1) D(z/x1) / x1."""
    from gen.radiation import structure_function as d

    beta = ll_beta(SQRT_S**2, M_E)
    z = 0.2
    ref = integrate.quad(lambda x1: d(x1, beta) * d(z / x1, beta) / x1, z, 1.0, limit=400,
                         points=[math.sqrt(z)], epsrel=1e-10)[0]
    assert math.isclose(rr.isr_luminosity(z, SQRT_S, M_E), ref, rel_tol=1e-6)


@pytest.mark.parametrize("c_low", [0.2, 0.6])
def test_two_channel_sampler_is_unbiased(c_low):
    """MC of the convolution of the exclusive cross sections (no VP, no K factor) against
    nested scipy quad; 5 sigma of the MC. Any channel probability must give the same result."""
    x, wgrid = ex.tables()
    mean, err = _mc_tail(np.random.default_rng(5), 2_000_000, c_low, Q, x, wgrid)
    ref = _quad_tail(x, wgrid)
    print(f"tail: MC {mean:.2f} +- {err:.2f} pb, quad {ref:.2f} pb")
    assert abs(mean - ref) < 5 * err
    assert err < 0.01 * ref


@kernel
def _mc_channels(rng, n, c_low, q, x, wgrid):
    """Per-channel means and errors of w sigma_i(s') (pb) over n trials of the sampler."""
    nc = ex.N_CHANNELS
    sig = np.zeros(nc)
    acc = np.zeros(nc)
    acc2 = np.zeros(nc)
    x_min = (2.0 / 10.58) ** 2
    s = 10.58 * 10.58
    for _ in range(n):
        w, v1, v2 = rr.isr_fractions_two_channel1(rng, 10.58, M_E, ISR_HARD_FRACTION, x_min,
                                                  0.0, c_low, q)
        sp = (1.0 - v1) * (1.0 - v2) * s
        if ex.S_THRESHOLD < sp <= S_HI:
            ex.channel_sigmas1(sp, x, wgrid, sig)
            for i in range(nc):
                val = w * sig[i] * GEV2_TO_PB
                acc[i] += val
                acc2[i] += val * val
    mean = acc / n
    return mean, np.sqrt(np.maximum(acc2 / n - mean * mean, 0.0) / n)


@pytest.fixture(scope="module")
def mc_channels():
    """One MC run of the sampler for all channels (seed 6, 10^6 trials)."""
    x, wgrid = ex.tables()
    return _mc_channels(np.random.default_rng(6), 1_000_000, 0.2, Q, x, wgrid)


@pytest.mark.parametrize("channel", [ex.FOURPI_C, ex.FOURPI_N, ex.ETAPIPI])
def test_new_channels_with_isr_against_quad(channel, mc_channels):
    """Each new channel integrated over the ISR spectrum (two-channel sampler, no VP, no K
    factor) against scipy quad of sigma_i(s') times the radiator L(s'/s)
    (``isr_convolution_quad``, break points at the table nodes): 5 sigma of the MC, MC error
    below 3 %. Measured (pb): printed."""
    from gen.hadronization import eta_pipi as ep
    from gen.hadronization import four_pion as fp

    mean, err = mc_channels
    if channel == ex.ETAPIPI:
        e0, de, n, sigma = ep.E_ETA0, ep.DE_ETA, ep.SIG_ETA_NB.size, ep.sigma_etapipi1
    elif channel == ex.FOURPI_C:
        e0, de, n = fp.E_4C0, fp.DE_4C, fp.SIG_4C_NB.size
        sigma = lambda sp: fp.sigma_4pi1(sp, True)  # noqa: E731
    else:
        e0, de, n = fp.E_2N0, fp.DE_2N, fp.SIG_2N_NB.size
        sigma = lambda sp: fp.sigma_4pi1(sp, False)  # noqa: E731
    nodes = [(e0 + i * de) ** 2 for i in range(n)]
    ref = GEV2_TO_PB * rr.isr_convolution_quad(sigma, SQRT_S, M_E, ex.S_THRESHOLD, S_HI, nodes)
    i = channel - 1
    print(f"{ex.CHANNELS[channel]} with ISR: MC {mean[i]:.2f} +- {err[i]:.2f} pb, "
          f"quad {ref:.2f} pb")
    assert abs(mean[i] - ref) < 5 * err[i]
    assert err[i] < 0.03 * ref
