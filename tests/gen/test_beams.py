"""SuperKEKB beams: c.m. energy, boost, and the c.m. <-> lab transformation."""

import math

import numpy as np
import pytest

from gen.beams import Beams, cm_to_lab1, lab_to_cm1, sample_collision1
from gen.streams import stream


def test_nominal_cm_energy_and_boost():
    b = Beams()
    # sqrt(s) = 2 sqrt(E1 E2) cos(alpha) for ultra-relativistic beams crossing at 2 alpha
    expected = 2 * math.sqrt(7.004 * 4.002) * math.cos(0.0415)
    assert b.sqrt_s_gev == pytest.approx(expected, rel=1e-8)
    beta = np.linalg.norm(b.boost)
    assert beta / math.sqrt(1 - beta**2) == pytest.approx(0.287, abs=0.002)  # DESIGN.md


def test_head_on_beams_have_no_transverse_boost():
    b = Beams(half_crossing_angle_rad=0.0)
    assert b.boost[0] == 0.0
    assert b.sqrt_s_gev == pytest.approx(2 * math.sqrt(7.004 * 4.002), rel=1e-8)


def test_cm_to_lab_maps_beams_onto_the_beams():
    b = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(stream(1, 0), *b.as_tuple())
    assert sqrt_s == pytest.approx(b.sqrt_s_gev, rel=1e-12)
    em, ep = b.nominal_four_momenta()
    e = sqrt_s / 2
    p = math.sqrt(e * e - 0.000511**2)
    np.testing.assert_allclose(cm_to_lab1(0.0, 0.0, p, e, bx, by, bz, nx, ny, nz), em, atol=1e-9)
    np.testing.assert_allclose(cm_to_lab1(0.0, 0.0, -p, e, bx, by, bz, nx, ny, nz), ep, atol=1e-9)
    back = lab_to_cm1(*em, bx, by, bz)
    assert back[3] == pytest.approx(e, rel=1e-10)


def test_energy_spread_gives_the_expected_sqrt_s_spread():
    b = Beams()
    rng = stream(7, 0)
    s = np.array([sample_collision1(rng, *b.as_tuple())[0] for _ in range(20000)])
    # sigma_W / W = 0.5 sqrt((s1/E1)^2 + (s2/E2)^2) to first order
    expected = 0.5 * b.sqrt_s_gev * math.hypot(5.13e-3 / 7.004, 2.375e-3 / 4.002)
    assert s.std() == pytest.approx(expected, rel=4 * 1 / math.sqrt(2 * 20000) + 0.01)
    assert s.mean() == pytest.approx(b.sqrt_s_gev, abs=4 * expected / math.sqrt(20000))


def test_split_collision_kernels_reproduce_sample_collision_bit_for_bit():
    # hit-or-miss samplers draw the energies per trial and the frame only for accepted trials
    from gen.beams import collision_frame1, collision_sqrt_s1, sample_beam_energies1

    b = Beams()
    r1, r2 = stream(3, 0), stream(3, 0)
    for _ in range(200):
        whole = sample_collision1(r1, *b.as_tuple())
        eh, el = sample_beam_energies1(r2, *b.as_tuple()[:4])
        split = (collision_sqrt_s1(eh, el, b.half_crossing_angle_rad),
                 *collision_frame1(eh, el, b.half_crossing_angle_rad))
        assert split == whole
    assert r1.random() == r2.random()  # the same number of draws


def test_hoisted_trig_kernels_equal_the_plain_ones_bit_for_bit():
    # generators compute sin/cos of the crossing angle once per chunk (crossing_trig1)
    from gen.beams import (
        collision_frame1,
        collision_frame_sc1,
        collision_sqrt_s1,
        collision_sqrt_s_sc1,
        crossing_trig1,
        sample_beam_energies1,
    )

    for b in (Beams(), Beams(half_crossing_angle_rad=0.0), Beams(half_crossing_angle_rad=0.3)):
        sa, ca = crossing_trig1(b.half_crossing_angle_rad)
        rng = stream(4, 0)
        for _ in range(200):
            eh, el = sample_beam_energies1(rng, *b.as_tuple()[:4])
            h = b.half_crossing_angle_rad
            assert collision_sqrt_s_sc1(eh, el, sa, ca) == collision_sqrt_s1(eh, el, h)
            assert collision_frame_sc1(eh, el, sa, ca) == collision_frame1(eh, el, h)
