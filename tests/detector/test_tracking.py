"""Tracking: charge lookup, helix geometry against brute force, acceptance, efficiency, resolution.

Statistical checks use fixed seeds and 5-sigma tolerances from the sample size: the standard
error of a fraction f is sqrt(f(1-f)/N), of a Gaussian width sigma/sqrt(2N).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from detector.config import DetectorConfig
from detector.simulate import simulate_chunk
from detector.tracking import (
    arc_to_radius1,
    charge_from_particle,
    charge_of,
    helix_center1,
    helix_position1,
    perigee1,
)
from gen import pdgids
from gen.constants import M_E, M_K, M_MU, M_PI, mass_gev

MASS = {11: M_E, 13: M_MU, 211: M_PI, 321: M_K, 2212: mass_gev(2212)}
SIGMA_KEYS = ("sigma_pt_a_per_gev", "sigma_pt_b", "sigma_theta_a_mrad", "sigma_theta_b_mrad_gev",
              "sigma_phi_a_mrad", "sigma_phi_b_mrad_gev", "sigma_d0_a_um", "sigma_d0_b_um_gev",
              "sigma_z0_a_um", "sigma_z0_b_um_gev")


def single(pdg, p, theta, phi=0.3, vertex=(0.0, 0.0, 0.0), status=1):
    """One particle per event; p, theta, phi, vertex components broadcast to n events."""
    p, theta, phi = np.broadcast_arrays(np.atleast_1d(np.asarray(p, float)),
                                        np.asarray(theta, float), np.asarray(phi, float))
    n = p.shape[0]
    m = MASS.get(abs(pdg), 0.0)
    particles = {
        "pdg": np.full(n, pdg, np.int32),
        "status": np.full(n, status, np.int8),
        "mother": np.full(n, -1, np.int32),
        "px": p * np.sin(theta) * np.cos(phi),
        "py": p * np.sin(theta) * np.sin(phi),
        "pz": p * np.cos(theta),
        "e": np.sqrt(p * p + m * m),
        "vx": np.broadcast_to(np.asarray(vertex[0], float), (n,)).copy(),
        "vy": np.broadcast_to(np.asarray(vertex[1], float), (n,)).copy(),
        "vz": np.broadcast_to(np.asarray(vertex[2], float), (n,)).copy(),
        "t": np.zeros(n),
    }
    return particles, np.arange(n + 1, dtype=np.int64)


def config(**tracking):
    return DetectorConfig.from_toml({"tracking": tracking}, "test")


def perfect():
    return config(efficiency=1.0, **{k: 0.0 for k in SIGMA_KEYS})


def run(particles, offset, cfg, seed=1):
    return simulate_chunk(particles, offset, np.random.default_rng(seed), cfg)


@pytest.mark.parametrize("pdg", [11, -11, 13, -13, 211, -211, 321, -321, 2212, -2212,
                                 22, 111, 130, 12, -16, 2112])
def test_charge_lookup_matches_particle(pdg):
    expected = charge_from_particle(pdg) if abs(pdg) in MASS else 0
    assert charge_of(pdg) == expected


def _random_helix(rng):
    q = 1 if rng.random() < 0.5 else -1
    pt = rng.uniform(0.15, 3.0)
    phi = rng.uniform(-math.pi, math.pi)
    pz = rng.uniform(-1.0, 1.0)
    x0, y0 = rng.uniform(-30.0, 30.0, 2)
    z0 = rng.uniform(-10.0, 10.0)
    return x0, y0, z0, pt * math.cos(phi), pt * math.sin(phi), pz, q


def test_perigee_matches_brute_force_minimisation():
    rng = np.random.default_rng(7)
    b = 1.5
    for _ in range(50):
        x0, y0, z0, px, py, pz, q = _random_helix(rng)
        r = helix_center1(x0, y0, px, py, q, b)[2]

        def dist2(s, x0=x0, y0=y0, z0=z0, px=px, py=py, pz=pz, q=q):
            x, y, _ = helix_position1(x0, y0, z0, px, py, pz, q, b, s)
            return x * x + y * y

        grid = np.linspace(-math.pi * r, math.pi * r, 2001)
        s0 = grid[np.argmin([dist2(s) for s in grid])]
        step = grid[1] - grid[0]
        best = minimize_scalar(dist2, bounds=(s0 - step, s0 + step), method="bounded",
                               options={"xatol": 1e-10})
        x, y, z = helix_position1(x0, y0, z0, px, py, pz, q, b, best.x)
        xe, ye, _ = helix_position1(x0, y0, z0, px, py, pz, q, b, best.x + 1e-6)
        tx, ty = xe - x, ye - y  # direction of motion at the PCA
        d0_ref = (x * ty - y * tx) / math.hypot(tx, ty)
        d0, zp, pxp, pyp = perigee1(x0, y0, z0, px, py, pz, q, b)
        assert d0 == pytest.approx(d0_ref, abs=1e-6)
        assert zp == pytest.approx(z, abs=1e-5)
        assert math.hypot(pxp, pyp) == pytest.approx(math.hypot(px, py), rel=1e-12)
        assert (pxp * ty - pyp * tx) == pytest.approx(0.0, abs=1e-6)  # parallel to the motion
        assert pxp * tx + pyp * ty > 0.0


def test_perigee_of_prompt_track_is_the_vertex():
    d0, z0, pxp, pyp = perigee1(0.0, 0.0, 1.7, 0.4, -0.3, 0.2, -1, 1.5)
    assert d0 == pytest.approx(0.0, abs=1e-12)
    assert z0 == pytest.approx(1.7, abs=1e-12)
    assert (pxp, pyp) == pytest.approx((0.4, -0.3), rel=1e-12)


def test_perigee_sign_convention():
    # positive track along +x from (0, +1 cm): r x p has z-component -1 (basf2 convention)
    d0, _, _, _ = perigee1(0.0, 1.0, 0.0, 5.0, 0.0, 0.0, 1, 1.5)
    assert d0 == pytest.approx(-1.0, rel=1e-3)


def test_arc_to_radius_reaches_the_radius_first_time():
    rng = np.random.default_rng(3)
    b = 1.5
    n_nan = 0
    for _ in range(200):
        x0, y0, z0, px, py, pz, q = _random_helix(rng)
        radius = rng.uniform(35.0, 110.0)
        cx, cy, r = helix_center1(x0, y0, px, py, q, b)
        s = arc_to_radius1(x0, y0, px, py, q, b, radius)
        if math.hypot(cx, cy) + r < radius:
            assert math.isnan(s)
            n_nan += 1
            continue
        x, y, _ = helix_position1(x0, y0, z0, px, py, pz, q, b, s)
        assert math.hypot(x, y) == pytest.approx(radius, rel=1e-9)
        inner = np.linspace(0.0, s, 200)[:-1]
        radii = [math.hypot(*helix_position1(x0, y0, z0, px, py, pz, q, b, t)[:2]) for t in inner]
        assert max(radii) < radius
    assert 0 < n_nan < 200  # both branches exercised


def test_zero_resolution_is_the_identity():
    rng = np.random.default_rng(11)
    n = 2000
    theta = rng.uniform(0.4, 2.5, n)
    particles, offset = single(13, rng.uniform(0.2, 5.0, n), theta, rng.uniform(-3, 3, n),
                               vertex=(0.0, 0.0, rng.uniform(-2, 2, n)))
    out = run(particles, offset, perfect())
    assert out["tracks/px"].shape == (n,)
    for k in ("px", "py", "pz"):
        np.testing.assert_allclose(out[f"tracks/{k}"], particles[k], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out["tracks/d0"], 0.0, atol=1e-12)
    np.testing.assert_allclose(out["tracks/z0"], particles["vz"], atol=1e-12)
    np.testing.assert_array_equal(out["tracks/charge"], -1)
    np.testing.assert_array_equal(out["tracks/truth"], 0)


@pytest.mark.parametrize("pt", [0.5, 2.0, 5.0])
def test_momentum_resolution_reproduces_configured_value(pt):
    n = 100_000
    cfg = config(efficiency=1.0)
    particles, offset = single(13, pt, math.pi / 2, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=int(pt * 10))
    reco_pt = np.hypot(out["tracks/px"], out["tracks/py"])
    rel = reco_pt / pt - 1.0
    beta = pt / math.hypot(pt, M_MU)
    expected = math.hypot(cfg.tracking.sigma_pt_a_per_gev * pt, cfg.tracking.sigma_pt_b / beta)
    assert np.std(rel) == pytest.approx(expected, rel=5.0 / math.sqrt(2 * n))
    assert abs(np.mean(rel)) < 5.0 * expected / math.sqrt(n)


def test_angular_and_impact_parameter_resolutions():
    n = 100_000
    p, theta = 1.0, math.radians(60.0)
    cfg = config(efficiency=1.0)
    particles, offset = single(211, p, theta, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=5)
    t = cfg.tracking
    pbeta = p * p / math.hypot(p, M_PI)
    s = math.sin(theta)
    reco_theta = np.arctan2(np.hypot(out["tracks/px"], out["tracks/py"]), out["tracks/pz"])
    checks = {
        "theta": (reco_theta - theta, 1e-3 * math.hypot(t.sigma_theta_a_mrad,
                                                          t.sigma_theta_b_mrad_gev / pbeta)),
        "d0": (out["tracks/d0"], 1e-4 * math.hypot(t.sigma_d0_a_um,
                                                   t.sigma_d0_b_um_gev / (pbeta * s**1.5))),
        "z0": (out["tracks/z0"], 1e-4 * math.hypot(t.sigma_z0_a_um,
                                                   t.sigma_z0_b_um_gev / (pbeta * s**2.5))),
    }
    for name, (values, sigma) in checks.items():
        assert np.std(values) == pytest.approx(sigma, rel=5.0 / math.sqrt(2 * n)), name
    # the stored point is the PCA: (d0 sin phi, -d0 cos phi, z0)
    phi = np.arctan2(out["tracks/py"], out["tracks/px"])
    np.testing.assert_allclose(out["tracks/vx"], out["tracks/d0"] * np.sin(phi), atol=1e-15)
    np.testing.assert_allclose(out["tracks/vy"], -out["tracks/d0"] * np.cos(phi), atol=1e-15)
    np.testing.assert_array_equal(out["tracks/vz"], out["tracks/z0"])


def test_efficiency_reproduces_configured_value():
    n = 200_000
    cfg = DetectorConfig()
    particles, offset = single(-211, 1.0, math.pi / 2, np.linspace(-3, 3, n))
    out = run(particles, offset, cfg, seed=9)
    eff = cfg.tracking.efficiency
    found = out["tracks/px"].shape[0] / n
    assert found == pytest.approx(eff, abs=5.0 * math.sqrt(eff * (1 - eff) / n))


@pytest.mark.parametrize(
    ("p", "theta_deg", "vertex_r", "found"),
    [
        (1.0, 17.01, 0.0, True),
        (1.0, 16.99, 0.0, False),
        (1.0, 149.99, 0.0, True),
        (1.0, 150.01, 0.0, False),
        (0.1001, 90.0, 0.0, True),
        (0.0999, 90.0, 0.0, False),
        (1.0, 90.0, 59.9, True),
        (1.0, 90.0, 60.1, False),
    ],
)
def test_acceptance_edges(p, theta_deg, vertex_r, found):
    particles, offset = single(321, p, math.radians(theta_deg), 0.7, vertex=(vertex_r, 0.0, 0.0))
    out = run(particles, offset, perfect())
    assert out["tracks/px"].shape[0] == (1 if found else 0)


def test_invisible_and_decayed_particles_make_nothing():
    ids = [12, -12, 14, -14, 16, -16, pdgids.ZPRIME, pdgids.LFV_ALPHA, pdgids.DARK_MATTER,
           -pdgids.DARK_MATTER]
    rng = np.random.default_rng(2)
    n = 500
    pdg = np.array(ids * n, np.int32)
    m = pdg.shape[0]
    p = rng.uniform(0.5, 5.0, m)
    ct = rng.uniform(-0.8, 0.8, m)
    ph = rng.uniform(-3, 3, m)
    st = np.sqrt(1 - ct * ct)
    particles = {"pdg": pdg, "status": np.ones(m, np.int8), "mother": np.full(m, -1, np.int32),
                 "px": p * st * np.cos(ph), "py": p * st * np.sin(ph), "pz": p * ct,
                 "e": p + 1.0, "vx": np.zeros(m), "vy": np.zeros(m), "vz": np.zeros(m),
                 "t": np.zeros(m)}
    offset = np.arange(0, m + 1, len(ids), dtype=np.int64)
    out = run(particles, offset, DetectorConfig())
    assert out["tracks/px"].shape[0] == 0
    assert out["clusters/e"].shape[0] == 0
    assert not out["trigger"].any()
    # decayed (status 2) visible particles make nothing either
    decayed, off = single(13, 2.0, 1.2, status=2)
    out = run(decayed, off, perfect())
    assert out["tracks/px"].shape[0] == 0
    assert out["clusters/e"].shape[0] == 0
