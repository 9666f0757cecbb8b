"""Tests of gen.hadronization.eta_pipi: BaBar eta pi+ pi- cross section and eta rho0 final state."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gen.constants import M_PI
from gen.hadronization import eta_pipi as ep
from gen.hadronization.four_pion import G_RHO0, M_RHO0


@pytest.mark.parametrize(("e", "nb"), [(1.275, 0.66), (1.525, 4.29), (1.775, 1.90)])
def test_table_values(e, nb):
    """At the cited bin centres (arXiv:0704.0630, HEPData ins758568 t2) sigma is BaBar's."""
    assert math.isclose(ep.sigma_etapipi1(e * e) / ep.NB_TO_GEV2, nb, rel_tol=1e-9)


def test_range():
    assert ep.sigma_etapipi1(ep.THR_ETAPIPI**2) == 0.0
    assert ep.sigma_etapipi1(2.026**2) == 0.0
    mid = 1.5
    want = 0.5 * (3.59 + 4.29) * ep.NB_TO_GEV2
    assert math.isclose(ep.sigma_etapipi1(mid * mid), want, rel_tol=1e-9)


def test_final_state_kinematics_and_rho():
    """eta pi+ pi- on shell, four-momentum conserved; the pi+ pi- mass follows the rho (median
    within one width of M_rho); the rho direction follows 1 + cos^2 theta (KS)."""
    rng = np.random.default_rng(21)
    pdg = np.zeros(4, np.int32)
    p = np.zeros((4, 4))
    e = 1.6
    mpp, cos = [], []
    for _ in range(4000):
        assert ep.eta_pipi_final_state1(rng, e * e, pdg, p) == 3
        np.testing.assert_allclose(p[:3].sum(axis=0), [0, 0, 0, e], atol=1e-12)
        for r, m in ((0, M_PI), (1, M_PI), (2, ep.M_ETA)):
            assert math.isclose(p[r, 3] ** 2 - (p[r, :3] ** 2).sum(), m * m, rel_tol=1e-9)
        q = p[0] + p[1]
        mpp.append(math.sqrt(q[3] ** 2 - (q[:3] ** 2).sum()))
        cos.append(q[2] / np.linalg.norm(q[:3]))
    assert sorted(pdg[:3].tolist()) == [-211, 211, 221]
    assert abs(np.median(mpp) - M_RHO0) < G_RHO0
    cdf = lambda c: (c + c**3 / 3 + 4 / 3) / (8 / 3)  # noqa: E731
    assert stats.kstest(np.array(cos), cdf).pvalue > 1e-3
    assert ep.eta_pipi_final_state1(rng, (ep.THR_ETAPIPI * 0.99) ** 2, pdg, p) == 0
