"""SuperKEKB beams at the Upsilon(4S): energies, energy spread, crossing angle, boost.

Numbers from the Belle II software's beam-parameter presets (basf2
``generators/scripts/beamparameters.py``, preset "Y4S" inheriting "SuperKEKB"): HER e- 7.004 GeV,
LER e+ 4.002 GeV, each beam tilted by 41.5 mrad in the x-z plane (83 mrad crossing angle, SuperKEKB
design, Belle II TDR arXiv:1011.0352 sec. 1), Gaussian energy spreads 5.13 MeV (HER) and
2.375 MeV (LER). The lab z axis is the solenoid axis; the e- beam runs along +z (tilted by the
half crossing angle towards +x), the e+ beam along -z (also tilted towards +x), so the e+e- system
moves with beta*gamma ~ 0.287 along z and a small component along x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gen.constants import M_E
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1


@dataclass(frozen=True)
class Beams:
    """Beam settings. ``half_crossing_angle_rad = 0`` gives head-on beams along z."""

    e_her_gev: float = 7.004
    e_ler_gev: float = 4.002
    spread_her_gev: float = 5.13e-3
    spread_ler_gev: float = 2.375e-3
    half_crossing_angle_rad: float = 0.0415

    def nominal_four_momenta(self) -> tuple[np.ndarray, np.ndarray]:
        """Nominal (px, py, pz, e) of the e- and e+ beams in the lab."""
        return (
            np.array(_beam_vector(self.e_her_gev, self.half_crossing_angle_rad, +1.0)),
            np.array(_beam_vector(self.e_ler_gev, self.half_crossing_angle_rad, -1.0)),
        )

    @property
    def sqrt_s_gev(self) -> float:
        """Nominal centre-of-mass energy."""
        em, ep = self.nominal_four_momenta()
        tot = em + ep
        return float(math.sqrt(tot[3] ** 2 - tot[0] ** 2 - tot[1] ** 2 - tot[2] ** 2))

    @property
    def boost(self) -> np.ndarray:
        """Nominal velocity (bx, by, bz) of the e+e- centre of mass in the lab."""
        em, ep = self.nominal_four_momenta()
        tot = em + ep
        return tot[:3] / tot[3]

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        """Flat parameters for kernels."""
        return (
            self.e_her_gev,
            self.e_ler_gev,
            self.spread_her_gev,
            self.spread_ler_gev,
            self.half_crossing_angle_rad,
        )


@kernel
def _beam_vector(energy: float, half_angle: float, zsign: float):
    p = math.sqrt(max(energy * energy - M_E * M_E, 0.0))
    return p * math.sin(half_angle), 0.0, zsign * p * math.cos(half_angle), energy


@kernel
def sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler):
    """Draw the two beam energies (Gaussian spreads): the only random part of a collision."""
    eh = e_her + spread_her * rng.standard_normal() if spread_her > 0.0 else e_her
    el = e_ler + spread_ler * rng.standard_normal() if spread_ler > 0.0 else e_ler
    return eh, el


@kernel
def collision_sqrt_s1(eh, el, half_angle):
    """sqrt(s) of beams with energies ``eh`` (e-) and ``el`` (e+) crossing at 2 ``half_angle``."""
    # the same arithmetic as before the split, so every process keeps its events bit for bit
    ax, ay, az, ae = _beam_vector(eh, half_angle, 1.0)
    cx, cy, cz, ce = _beam_vector(el, half_angle, -1.0)
    tx, ty, tz, te = ax + cx, ay + cy, az + cz, ae + ce
    return math.sqrt(te * te - tx * tx - ty * ty - tz * tz)


@kernel
def collision_frame1(eh, el, half_angle):
    """(bx, by, bz, nx, ny, nz) of a collision: c.m. velocity in the lab, e- direction in the c.m.

    Deterministic in the beam energies, so a process needs it only for accepted events (the
    weight depends on sqrt(s) alone, ``collision_sqrt_s1``).
    """
    ax, ay, az, ae = _beam_vector(eh, half_angle, 1.0)
    cx, cy, cz, ce = _beam_vector(el, half_angle, -1.0)
    tx, ty, tz, te = ax + cx, ay + cy, az + cz, ae + ce
    bx, by, bz = tx / te, ty / te, tz / te
    # e- direction in the c.m. frame: boost the e- beam by -b
    qx, qy, qz, _ = boost1(ax, ay, az, ae, -bx, -by, -bz)
    q = math.sqrt(qx * qx + qy * qy + qz * qz)
    return bx, by, bz, qx / q, qy / q, qz / q


@kernel
def crossing_trig1(half_angle):
    """(sin, cos) of the half crossing angle: once per chunk for ``collision_sqrt_s_sc1`` and
    ``collision_frame_sc1`` (the pair cost ~27 ns, as much as the rest of a collision)."""
    return math.sin(half_angle), math.cos(half_angle)


@kernel
def _beam_vector_sc(energy: float, sin_a: float, cos_a: float, zsign: float):
    """``_beam_vector`` with (sin, cos) of the half angle given: the same arithmetic."""
    p = math.sqrt(max(energy * energy - M_E * M_E, 0.0))
    return p * sin_a, 0.0, zsign * p * cos_a, energy


@kernel
def collision_sqrt_s_sc1(eh, el, sin_a, cos_a):
    """``collision_sqrt_s1`` with (sin_a, cos_a) = ``crossing_trig1(half_angle)``: bit for bit
    the same value (tests/gen/test_beams.py)."""
    ax, ay, az, ae = _beam_vector_sc(eh, sin_a, cos_a, 1.0)
    cx, cy, cz, ce = _beam_vector_sc(el, sin_a, cos_a, -1.0)
    tx, ty, tz, te = ax + cx, ay + cy, az + cz, ae + ce
    return math.sqrt(te * te - tx * tx - ty * ty - tz * tz)


@kernel
def collision_frame_sc1(eh, el, sin_a, cos_a):
    """``collision_frame1`` with (sin_a, cos_a) = ``crossing_trig1(half_angle)``: bit for bit
    the same values."""
    ax, ay, az, ae = _beam_vector_sc(eh, sin_a, cos_a, 1.0)
    cx, cy, cz, ce = _beam_vector_sc(el, sin_a, cos_a, -1.0)
    tx, ty, tz, te = ax + cx, ay + cy, az + cz, ae + ce
    bx, by, bz = tx / te, ty / te, tz / te
    qx, qy, qz, _ = boost1(ax, ay, az, ae, -bx, -by, -bz)
    q = math.sqrt(qx * qx + qy * qy + qz * qz)
    return bx, by, bz, qx / q, qy / q, qz / q


@kernel
def sample_collision1(rng, e_her, e_ler, spread_her, spread_ler, half_angle):
    """Draw one collision: returns (sqrt_s, bx, by, bz, nx, ny, nz).

    ``b`` is the velocity of the e+e- centre of mass in the lab; ``n`` the unit direction of the
    e- beam in that centre-of-mass frame. A process generates its final state in the c.m. frame
    with the e- along +z, then calls ``cm_to_lab1`` with (b, n). Hit-or-miss samplers can split
    it: ``sample_beam_energies1`` + ``collision_sqrt_s1`` per trial, ``collision_frame1`` only
    for accepted trials (same random draws, same values).
    """
    eh, el = sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler)
    sqrt_s = collision_sqrt_s1(eh, el, half_angle)
    bx, by, bz, nx, ny, nz = collision_frame1(eh, el, half_angle)
    return sqrt_s, bx, by, bz, nx, ny, nz


@kernel
def cm_to_lab1(px, py, pz, e, bx, by, bz, nx, ny, nz):
    """c.m. frame with the e- along +z -> lab: rotate z onto n, then boost by b."""
    rx, ry, rz = rotate_z_to1(px, py, pz, nx, ny, nz)
    return boost1(rx, ry, rz, e, bx, by, bz)


@kernel
def lab_to_cm1(px, py, pz, e, bx, by, bz):
    """Lab -> e+e- centre-of-mass frame (no rotation): boost by -b."""
    return boost1(px, py, pz, e, -bx, -by, -bz)
