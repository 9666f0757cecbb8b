"""Kinematics kernels against closed forms, conservation laws and invariances."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numba import njit, prange

from gen.kinematics import (
    boost1,
    boost_arrays,
    mass1,
    rotate_z_to1,
    two_body_decay1,
    two_body_momentum1,
)

finite = st.floats(-5.0, 5.0, allow_nan=False)
beta = st.floats(-0.57, 0.57, allow_nan=False)  # |b| < 1 for any three components


def test_two_body_momentum_closed_form():
    # pi+ pi- from a rho at rest: p = sqrt(M^2/4 - m^2)
    m, mpi = 0.775, 0.13957
    assert two_body_momentum1(m, mpi, mpi) == pytest.approx(
        math.sqrt(m * m / 4 - mpi * mpi), rel=1e-14
    )
    # massless daughters: p = M/2
    assert two_body_momentum1(3.0, 0.0, 0.0) == pytest.approx(1.5, rel=1e-15)
    # threshold: p = 0; below: NaN
    assert two_body_momentum1(0.3, 0.1, 0.2) == pytest.approx(0.0, abs=1e-8)
    assert math.isnan(two_body_momentum1(0.29, 0.1, 0.2))


@settings(max_examples=200, deadline=None)
@given(finite, finite, finite, st.floats(0.01, 5.0), beta, beta, beta)
def test_boost_keeps_mass_and_round_trips(px, py, pz, m, bx, by, bz):
    e = math.sqrt(px * px + py * py + pz * pz + m * m)
    b = boost1(px, py, pz, e, bx, by, bz)
    assert mass1(*b) == pytest.approx(m, rel=1e-7, abs=1e-7)
    back = boost1(*b, -bx, -by, -bz)
    np.testing.assert_allclose(back, (px, py, pz, e), rtol=1e-9, atol=1e-9)


def test_boost_of_rest_mass_gives_gamma_m():
    b = 0.6
    px, py, pz, e = boost1(0.0, 0.0, 0.0, 2.0, 0.0, 0.0, b)
    gamma = 1 / math.sqrt(1 - b * b)
    assert (px, py) == (0.0, 0.0)
    assert pz == pytest.approx(2.0 * gamma * b, rel=1e-15)
    assert e == pytest.approx(2.0 * gamma, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(finite, finite, finite, st.floats(-1, 1), st.floats(0, 2 * math.pi))
@example(0.0, 0.0, 0.0, 0.9999999999999999, 0.0)  # n_z rounds to 1 but sin(theta) = 1.5e-8
def test_rotation_keeps_length_and_maps_z(px, py, pz, c, phi):
    s = math.sqrt(1 - c * c)
    n = (s * math.cos(phi), s * math.sin(phi), c)
    r = rotate_z_to1(px, py, pz, *n)
    assert np.hypot.reduce(r) == pytest.approx(np.hypot.reduce((px, py, pz)), rel=1e-12, abs=1e-12)
    z = rotate_z_to1(0.0, 0.0, 1.0, *n)
    np.testing.assert_allclose(z, n, atol=1e-12)


@settings(max_examples=200, deadline=None)
@given(finite, finite, finite, st.floats(1.0, 10.0), st.floats(-1, 1), st.floats(0, 2 * math.pi))
def test_two_body_decay_conserves_four_momentum(px, py, pz, m, c, phi):
    m1, m2 = 0.10566, 0.13957
    e = math.sqrt(px * px + py * py + pz * pz + m * m)
    d = two_body_decay1(px, py, pz, e, m1, m2, c, phi)
    np.testing.assert_allclose(np.add(d[:4], d[4:]), (px, py, pz, e), rtol=1e-10, atol=1e-10)
    assert mass1(*d[:4]) == pytest.approx(m1, rel=1e-6)
    assert mass1(*d[4:]) == pytest.approx(m2, rel=1e-6)


def test_kernels_inside_user_parallel_njit():
    @njit(parallel=True)
    def masses(px, py, pz, e):
        out = np.empty(px.shape[0])
        for i in prange(px.shape[0]):
            out[i] = mass1(*boost1(px[i], py[i], pz[i], e[i], 0.1, 0.2, 0.3))
        return out

    rng = np.random.default_rng(1)
    p = rng.normal(size=(3, 1000))
    e = np.sqrt((p**2).sum(0) + 1.0)
    np.testing.assert_allclose(masses(p[0], p[1], p[2], e), 1.0, rtol=1e-9)
    bx = np.full(1000, 0.3)
    out = boost_arrays(p[0], p[1], p[2], e, bx, bx * 0, bx * 0)
    assert out[0].shape == (1000,)
