"""Tests of gen.vacpol: the running QED coupling.

References: the Feynman-parameter form of the one-loop vacuum polarisation integrated with
scipy.integrate.quad (Peskin & Schroeder eq. (7.90)), its large-|q^2| log limit and small-|q^2|
Uehling limit, continuity across the lepton thresholds, alpha(M_Z^2) from PDG RPP 2024 sec. 10
and Delta alpha_had(-1 GeV^2) of Eidelman & Jegerlehner (Z. Phys. C67 (1995) 585).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import integrate

from gen.constants import ALPHA_EM, M_E, M_MU, M_TAU
from gen.vacpol import (
    alpha_eff1,
    delta_alpha1,
    delta_alpha_hadron1,
    delta_alpha_lepton1,
    vp_factor1,
)

A3PI = ALPHA_EM / (3.0 * math.pi)
M_Z = 91.1876  # PDG RPP 2024


def feynman_parameter_delta_alpha(q2: float, m: float) -> complex:
    """Delta alpha = (2 alpha/pi) int_0^1 x(1-x) ln(1 - x(1-x)(q^2 + i0)/m^2) dx (P&S (7.90))."""
    r = q2 / (m * m)

    def re(x: float) -> float:
        return x * (1 - x) * math.log(abs(1.0 - x * (1.0 - x) * r))

    points = None
    im = 0.0
    if r > 4.0:
        beta = math.sqrt(1.0 - 4.0 / r)
        x1, x2 = 0.5 * (1 - beta), 0.5 * (1 + beta)
        points = [x1, x2]
        # ln of a negative number approached from below the real axis: -i pi on [x1, x2].
        im = -math.pi * integrate.quad(lambda x: x * (1 - x), x1, x2)[0]
    val = integrate.quad(re, 0.0, 1.0, points=points, limit=400, epsabs=1e-14, epsrel=1e-12)[0]
    return 2.0 * ALPHA_EM / math.pi * complex(val, im)


@pytest.mark.parametrize("m", [M_E, M_MU, M_TAU])
@pytest.mark.parametrize("r", [-1e4, -30.0, -1.0, -0.01, 0.01, 1.0, 3.99, 4.01, 10.0, 1e3, 1e5])
def test_lepton_against_feynman_parameter_integral(m: float, r: float):
    re, im = delta_alpha_lepton1(r * m * m, m)
    ref = feynman_parameter_delta_alpha(r * m * m, m)
    assert re == pytest.approx(ref.real, rel=1e-7, abs=1e-12)
    assert im == pytest.approx(ref.imag, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("q2", [-1e6, -1e4, -111.9364, 111.9364, 1e4])
def test_lepton_large_q2_log_limit(q2: float):
    # (alpha/3pi)(ln(|q^2|/m^2) - 5/3) + O(m^2/q^2 ln): for the electron at |q^2| >= 100 GeV^2
    # the correction is < 1e-9 relative
    re, _ = delta_alpha_lepton1(q2, M_E)
    assert re == pytest.approx(A3PI * (math.log(abs(q2) / M_E**2) - 5.0 / 3.0), rel=1e-9)
    # the muon: the first correction is (alpha/3pi) (6 m^2/|q^2|)(1 - ... ), test to 1e-4
    re_mu, _ = delta_alpha_lepton1(q2, M_MU)
    assert re_mu == pytest.approx(A3PI * (math.log(abs(q2) / M_MU**2) - 5.0 / 3.0), rel=2e-4)


def test_lepton_uehling_limit_and_zero():
    assert delta_alpha_lepton1(0.0, M_MU) == (0.0, 0.0)
    for q2 in (-1e-6, 1e-6):
        re, im = delta_alpha_lepton1(q2, M_MU)
        assert re == pytest.approx(-ALPHA_EM / math.pi * q2 / (15.0 * M_MU**2), rel=1e-4)
        assert im == 0.0
    # either side of the switch to the series the closed form agrees with it
    r = 1e-3
    lo = delta_alpha_lepton1(0.999 * r * M_TAU**2, M_TAU)[0]
    hi = delta_alpha_lepton1(1.001 * r * M_TAU**2, M_TAU)[0]
    assert hi / lo == pytest.approx(1.001 / 0.999, rel=1e-6)


@pytest.mark.parametrize("m", [M_E, M_MU, M_TAU])
def test_continuity_across_threshold(m: float):
    thr = 4.0 * m * m
    at = delta_alpha_lepton1(thr, m)
    assert at[0] == pytest.approx(-8.0 / 3.0 * A3PI, rel=1e-12)
    for eps in (1e-6, 1e-9):
        below = delta_alpha_lepton1(thr * (1 - eps), m)
        above = delta_alpha_lepton1(thr * (1 + eps), m)
        # Re is continuous (slope ~ sqrt(eps)), Im rises from 0 like beta ~ sqrt(eps)
        assert abs(below[0] - at[0]) < 10 * A3PI * math.sqrt(eps)
        assert abs(above[0] - at[0]) < 10 * A3PI * math.sqrt(eps)
        assert below[1] == 0.0
        assert -ALPHA_EM * math.sqrt(eps) * 1.5 < above[1] < 0.0


def test_alpha_mz_against_pdg():
    # PDG RPP 2024 sec. 10: Delta alpha_had^(5)(M_Z^2) = 0.02783(6); Delta alpha_lep = 0.031498
    # (three loops, Steinhauser hep-ph/9803313): 1/alpha(M_Z^2) = 128.906 (on-shell, no top).
    # Tolerance: the parametrisation's stated +-0.0007 on Delta alpha_had (= +-0.096 in
    # 1/alpha) plus the neglected two/three-loop leptonic terms (8e-5, 0.011 in 1/alpha).
    re, _ = delta_alpha1(M_Z**2)
    pdg = 1.0 / ALPHA_EM * (1.0 - 0.031498 - 0.02783)
    assert 1.0 / ALPHA_EM * (1.0 - re) == pytest.approx(pdg, abs=0.11)
    # the one-loop leptonic part alone: 0.031419 (Steinhauser, table 1, one-loop column)
    lep = sum(delta_alpha_lepton1(M_Z**2, m)[0] for m in (M_E, M_MU, M_TAU))
    assert lep == pytest.approx(0.031419, abs=2e-6)


def test_hadronic_against_eidelman_jegerlehner():
    # hadr5 (Eidelman & Jegerlehner 1995): Delta alpha_had(-1 GeV^2) = 3.7362e-3 +- 9.3e-5
    re, im = delta_alpha_hadron1(-1.0)
    assert im == 0.0
    assert re == pytest.approx(3.7362e-3, abs=9.3e-5)


def test_hadronic_imaginary_part_is_r_ratio():
    # Im Delta alpha_had = -(alpha/3) R: R(10.58 GeV) between the partonic udsc value with the
    # O(alpha_s) correction, 10/3 (1 + 0.2/pi) = 3.55, and udscb, 11/3 (1 + 0.2/pi) = 3.90
    # (PDG RPP 2024 sec. 10 / "Plots of cross sections": measured R ~ 3.6 below the bb threshold)
    _, im = delta_alpha_hadron1(10.58**2)
    r_ratio = -3.0 * im / ALPHA_EM
    assert 3.5 < r_ratio < 3.95
    assert delta_alpha_hadron1(0.5 * 4 * 0.13957**2)[1] == 0.0


def test_total_at_upsilon4s():
    s = 10.58**2
    re, im = delta_alpha1(s)
    parts = [delta_alpha_lepton1(s, m) for m in (M_E, M_MU, M_TAU)] + [delta_alpha_hadron1(s)]
    assert re == pytest.approx(sum(p[0] for p in parts), rel=1e-14)
    assert im == pytest.approx(sum(p[1] for p in parts), rel=1e-14)
    # electron and muon: log formula to 1e-4; all together 1/alpha(10.58 GeV) ~ 132
    assert 131.5 < 1.0 / ALPHA_EM * (1.0 - re) < 132.5
    assert vp_factor1(s) == pytest.approx(1.0 / abs(1.0 - complex(re, im)) ** 2, rel=1e-14)
    assert alpha_eff1(s) == pytest.approx(ALPHA_EM * math.sqrt(vp_factor1(s)), rel=1e-14)
    # spacelike is real, and alpha_eff -> alpha(0) at q^2 -> 0
    assert delta_alpha1(-s)[1] == 0.0
    assert alpha_eff1(-1e-12) == pytest.approx(ALPHA_EM, rel=1e-9)


def test_monotonic_spacelike():
    q2 = -np.logspace(-6, 5, 300)
    vals = np.array([delta_alpha1(x)[0] for x in q2])
    assert np.all(np.diff(vals) > 0.0)


def test_inside_user_njit():
    @njit
    def total(q2s):
        out = 0.0
        for q2 in q2s:
            out += vp_factor1(q2) + alpha_eff1(q2) + delta_alpha1(q2)[0]
        return out

    q2s = np.array([-100.0, 0.5, 111.9])
    ref = sum(vp_factor1(x) + alpha_eff1(x) + delta_alpha1(x)[0] for x in q2s)
    assert total(q2s) == pytest.approx(ref, rel=1e-14)


def test_table_matches_exact():
    # the event-loop form: linear interpolation, error bound h^2 max|f''|/8 = 1e-8 (gen.vacpol)
    from gen.vacpol import delta_alpha_tab1, vp_factor_tab1

    rng = np.random.default_rng(7)
    q2s = np.concatenate([
        rng.uniform(16.0, 144.0, 20000),
        np.linspace(99.99, 100.01, 401),  # Burkhardt-Pietrzyk breakpoint W = 10 GeV (a jump)
        np.linspace(15.9, 16.1, 41), np.linspace(143.9, 144.1, 41),  # table edges
        [-110.0, -1.0, 0.5, 4.0, 12.0, 200.0],  # outside: the exact function
    ])
    for q2 in q2s:
        re, im = delta_alpha1(q2)
        tre, tim = delta_alpha_tab1(q2)
        assert abs(tre - re) < 2e-8
        assert abs(tim - im) < 2e-8
        assert vp_factor_tab1(q2) == pytest.approx(vp_factor1(q2), rel=1e-7)
    for q2 in (-110.0, 0.5, 200.0):
        assert delta_alpha_tab1(q2) == delta_alpha1(q2)


def test_tables_from_the_disk_cache_are_the_built_ones(tmp_path, monkeypatch):
    """The interpolation tables read from the disk cache equal the kernel-built ones bit for
    bit (empty cache: built and stored; filled: read), and so do the module's globals."""
    import gen.vacpol as vp

    monkeypatch.setenv("B2DARK_CACHE_DIR", str(tmp_path))
    built, _ = vp._make_tables()
    stored = vp._load_tables()  # empty cache: built and stored
    assert len(list(tmp_path.glob("vacpol-tables-*.npz"))) == 1
    loaded = vp._load_tables()  # filled: read back
    glob = {"time": vp._TAB, "space": vp._SPC_TAB, "space_l0": vp._SPC_L0,
            "space_n": vp._SPC_N, "space_inv_step": vp._SPC_INV_STEP}
    for tables in (stored, loaded, glob):
        assert tables.keys() == built.keys()
        for k, a in built.items():
            assert tables[k].dtype == a.dtype, k
            assert tables[k].shape == a.shape, k
            assert tables[k].tobytes() == a.tobytes(), k
    # a damaged entry is rebuilt, not trusted
    (entry,) = tmp_path.glob("vacpol-tables-*.npz")
    entry.write_bytes(b"garbage")
    assert vp._load_tables()["time"].tobytes() == built["time"].tobytes()


def test_tables_key_changes_with_the_inputs(monkeypatch):
    import gen.vacpol as vp

    key = vp.tables_key()
    monkeypatch.setattr(vp, "M_TAU", vp.M_TAU * (1 + 1e-15))
    assert vp.tables_key() != key
