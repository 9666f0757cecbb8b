"""Tests of gen.models.lmu_ltau: widths, branching fractions, lifetime, (g-2)_mu."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from gen.constants import HBARC_GEV_CM
from gen.models import lmu_ltau as zp

#: PDG 2024 masses (GeV), written out so the hand values below do not depend on gen.constants
M_MU_PDG = 0.1056583755
M_TAU_PDG = 1.77693


def test_widths_against_hand_computed_values():
    # M = 1 GeV, g' = 1e-3, r = m_mu^2/M^2 = 0.0111636923:
    # Gamma_mumu = 1e-6/(12 pi) * (1 + 2 r) * sqrt(1 - 4 r)
    #            = 2.65258238e-8 * 1.02232738 * 0.97741763 = 2.65056858e-8 GeV
    assert zp.partial_width_ll(1.0, 1e-3, M_MU_PDG) == pytest.approx(2.65056858e-8, rel=1e-8)
    # Gamma(nu nu-bar) per flavour = 1e-6/(24 pi) = 1.32629119e-8 GeV
    assert zp.partial_width_nunu(1.0, 1e-3) == pytest.approx(1.32629119e-8, rel=1e-8)
    widths = zp.partial_widths(1.0, 1e-3)
    assert widths["mumu"] == pytest.approx(2.65056858e-8, rel=1e-6)
    assert widths["nunu"] == pytest.approx(2.0 * 1.32629119e-8, rel=1e-8)
    assert widths["tautau"] == 0.0
    assert widths["chichi"] == 0.0
    # M = 5 GeV: r_tau = 1.77693^2/25 = 0.12629921, Gamma_tautau =
    # 5e-6/(12 pi) * (1 + 2 r) * sqrt(1 - 4 r) = 1.32629119e-7 * 1.25259842 * 0.70342246
    assert zp.partial_width_ll(5.0, 1e-3, M_TAU_PDG) == pytest.approx(1.16860295e-7, rel=1e-8)
    assert zp.partial_widths(5.0, 1e-3)["tautau"] == pytest.approx(1.16860295e-7, rel=1e-6)
    # total width and c tau = hbar c / Gamma
    total = 2.65056858e-8 + 2.0 * 1.32629119e-8
    assert zp.total_width(1.0, 1e-3) == pytest.approx(total, rel=1e-6)
    assert zp.ctau_cm(1.0, 1e-3) == pytest.approx(HBARC_GEV_CM / total, rel=1e-6)


def test_widths_scale_as_coupling_squared_and_vanish_below_threshold():
    masses = np.array([0.15, 0.3, 1.0, 3.0, 3.6, 8.0])
    w1 = zp.total_width(masses, 1e-3)
    w2 = zp.total_width(masses, 3e-3)
    np.testing.assert_allclose(w2 / w1, 9.0, rtol=1e-13)
    assert zp.partial_width_ll(2.0 * M_MU_PDG * 0.999, 1.0, M_MU_PDG) == 0.0
    assert zp.partial_width_ll(2.0 * M_TAU_PDG * 0.999, 1.0, M_TAU_PDG) == 0.0
    assert zp.partial_width_ll(2.0 * M_TAU_PDG * 1.001, 1.0, M_TAU_PDG) > 0.0
    # far above threshold the lepton width tends to g^2 M/(12 pi)
    assert zp.partial_width_ll(1e4, 1.0, M_MU_PDG) == pytest.approx(1e4 / (12 * math.pi), rel=1e-9)


def test_invisible_branching_is_one_below_dimuon_threshold():
    masses = np.array([1e-3, 0.01, 0.1, 0.2, 2.0 * M_MU_PDG * 0.9999])
    np.testing.assert_array_equal(zp.branching_invisible(masses, 1e-3), 1.0)
    assert zp.branching_fractions(0.1)["mumu"] == 0.0


def test_branching_fractions_sum_to_one_and_known_plateaus():
    masses = np.geomspace(1e-3, 10.0, 57)
    for kwargs in ({}, {"g_chi": 2e-3, "m_chi": 0.2}, {"g_chi": 1.0, "m_chi": 0.0}):
        br = zp.branching_fractions(masses, 1e-3, **kwargs)
        np.testing.assert_allclose(sum(br[c] for c in zp.CHANNELS), 1.0, rtol=1e-14)
        assert all(np.all((br[c] >= 0) & (br[c] <= 1)) for c in zp.CHANNELS)
    # 2 m_mu << M < 2 m_tau: Gamma_mumu : Gamma_nunu(2 flavours) -> 1 : 1, so B(inv) -> 1/2;
    # M >> 2 m_tau: mumu : tautau : nunu -> 1 : 1 : 1, B(inv) -> 1/3 (arXiv:1912.11276, Sec. I)
    assert zp.branching_invisible(3.0) == pytest.approx(0.5, abs=1e-4)
    assert zp.branching_invisible(1e3) == pytest.approx(1.0 / 3.0, rel=1e-4)
    # independent of g' without dark matter
    assert zp.branching_invisible(1.0, 1e-5) == pytest.approx(zp.branching_invisible(1.0, 1e-1))


def test_fully_invisible_and_dark_matter_channel():
    for mass in (0.05, 1.0, 5.0):
        assert zp.branching_invisible(mass, 1e-3, fully_invisible=True) == 1.0
        br = zp.branching_fractions(mass, 1e-3, fully_invisible=True)
        assert br["chichi"] == 1.0
        assert br["mumu"] == br["tautau"] == br["nunu"] == 0.0
    # a dark coupling much larger than g' drives B(inv) to 1 above the dimuon threshold
    assert zp.branching_invisible(1.0, 1e-3, g_chi=1.0, m_chi=0.1) > 1.0 - 1e-5
    # chi chi-bar closed below 2 m_chi
    assert zp.partial_widths(0.3, 1e-3, g_chi=1.0, m_chi=0.2)["chichi"] == 0.0


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (zp.partial_width_ll, (-1.0, 1e-3, 0.1)),
        (zp.partial_width_ll, (1.0, -1e-3, 0.1)),
        (zp.partial_width_ll, (1.0, 1e-3, -0.1)),
        (zp.partial_width_nunu, (0.0, 1e-3)),
        (zp.total_width, (-0.5, 1e-3)),
        (zp.branching_fractions, (np.array([1.0, -1.0]), 1e-3)),
        (zp.branching_invisible, (1.0, -1e-3)),
        (zp.ctau_cm, (1.0, -1e-3)),
        (zp.ctau_cm, (1.0, 0.0)),
        (zp.delta_a_mu, (-0.1, 1e-3)),
        (zp.delta_a_mu, (0.1, -1e-3)),
        (zp.g_prime_gm2_band, (-0.1,)),
        (zp.g_prime_gm2_band, (0.1, -1.0)),
    ],
)
def test_rejects_negative_masses_and_couplings(func, args):
    with pytest.raises(ValueError, match=r"must be|needs"):
        func(*args)


def test_rejects_negative_dark_matter_parameters():
    with pytest.raises(ValueError, match="g_chi"):
        zp.partial_widths(1.0, 1e-3, g_chi=-1.0)
    with pytest.raises(ValueError, match="m_chi"):
        zp.partial_widths(1.0, 1e-3, g_chi=1.0, m_chi=-0.1)


def test_delta_a_mu_limits():
    g = 1e-3
    # M -> 0: Schwinger term alpha'/(2 pi) = g'^2/(8 pi^2); the leading correction is O(M/m_mu)
    # (~1e-7 relative at M = 1e-8 GeV)
    assert zp.delta_a_mu(1e-8, g) == pytest.approx(g * g / (8 * math.pi**2), rel=1e-6)
    # M >> m_mu: g'^2 m^2/(12 pi^2 M^2); corrections O(m^2/M^2 log(M^2/m^2)) ~ 3e-6 at M = 1 TeV
    heavy = g * g * M_MU_PDG**2 / (12 * math.pi**2 * 1e3**2)
    assert zp.delta_a_mu(1e3, g) == pytest.approx(heavy, rel=2e-5)
    # monotonically falling with the mass
    values = zp.delta_a_mu(np.geomspace(1e-3, 10.0, 20), g)
    assert np.all(np.diff(values) < 0)


def test_delta_a_mu_against_independent_integral():
    # the same loop integral in the other Feynman parameter x = 1 - z (Leveille, Nucl. Phys. B137
    # (1978) 63): Delta a = g^2/(8 pi^2) int_0^1 dx 2 m^2 x^2 (1 - x) / (m^2 x^2 + M^2 (1 - x))
    for mass in (0.01, 0.1, 0.2, 1.0, 5.0):
        m2, big2 = M_MU_PDG**2, mass**2
        integral, _ = quad(
            lambda x, m2=m2, big2=big2: 2 * m2 * x * x * (1 - x) / (m2 * x * x + big2 * (1 - x)),
            0.0,
            1.0,
            epsabs=0.0,
            epsrel=1e-11,
            limit=200,
        )
        expected = 0.04**2 / (8 * math.pi**2) * integral
        assert zp.delta_a_mu(mass, 0.04) == pytest.approx(expected, rel=1e-8)


def test_gm2_band():
    masses = np.array([0.01, 0.1, 0.3])
    low, high = zp.g_prime_gm2_band(masses)
    assert np.all((low > 0) & (low < high))
    # the edges reproduce Delta a_mu = (251 -+ 2 x 59) x 1e-11 (arXiv:2104.03281)
    np.testing.assert_allclose(zp.delta_a_mu(masses, low), 133e-11, rtol=1e-10)
    np.testing.assert_allclose(zp.delta_a_mu(masses, high), 369e-11, rtol=1e-10)
    # M << m_mu: Delta a = g'^2/(8 pi^2), so g' = sqrt(8 pi^2 Delta a):
    # sqrt(78.9568 * 133e-11) = 3.2406e-4 and sqrt(78.9568 * 369e-11) = 5.3977e-4
    low0, high0 = zp.g_prime_gm2_band(1e-6)
    assert low0 == pytest.approx(3.2406e-4, rel=1e-4)
    assert high0 == pytest.approx(5.3977e-4, rel=1e-4)
    # one-sigma band sits inside the two-sigma band
    low1, high1 = zp.g_prime_gm2_band(masses, n_sigma=1.0)
    assert np.all((low < low1) & (high1 < high))
