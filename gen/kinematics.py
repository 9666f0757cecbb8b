"""Relativistic kinematics kernels: boosts, rotations, two-body decays, phase-space weights.

Scalar kernels (suffix ``1``) do the physics of one particle and are inlined by other kernels;
array wrappers apply them over flat float64 arrays. Four-vectors are ``(px, py, pz, e)`` in GeV,
metric (+,-,-,-). Kinematically forbidden configurations give NaN (``error_model="numpy"``).
"""

from __future__ import annotations

import math

import numpy as np

from gen.jit import kernel


@kernel
def kallen(a: float, b: float, c: float) -> float:
    """Kallen triangle function lambda(a, b, c) = a^2 + b^2 + c^2 - 2ab - 2ac - 2bc."""
    return a * a + b * b + c * c - 2.0 * (a * b + a * c + b * c)


@kernel
def two_body_momentum1(m: float, m1: float, m2: float) -> float:
    """Daughter momentum in the rest frame of a parent of mass ``m`` decaying to ``m1 m2``.

    p* = sqrt(lambda(m^2, m1^2, m2^2)) / (2 m) (PDG RPP, Kinematics, eq. 49.17); NaN if forbidden.
    """
    lam = kallen(m * m, m1 * m1, m2 * m2)
    if m < (m1 + m2) * (1.0 - 1e-12):  # rounding at threshold is not "forbidden"
        return math.nan
    return math.sqrt(max(lam, 0.0)) / (2.0 * m)


@kernel
def mass1(px: float, py: float, pz: float, e: float) -> float:
    """Invariant mass; negative m^2 (from rounding) returns -sqrt(|m^2|) so it stays visible."""
    m2 = e * e - px * px - py * py - pz * pz
    return math.sqrt(m2) if m2 >= 0.0 else -math.sqrt(-m2)


@kernel
def boost1(px: float, py: float, pz: float, e: float, bx: float, by: float, bz: float):
    """Boost a four-vector by velocity (bx, by, bz): rest frame of a system -> frame where it moves.

    Standard Lorentz transformation (Jackson, Classical Electrodynamics, eq. 11.19).
    """
    gamma, gamma2 = boost_params1(bx, by, bz)
    return boost_p1(px, py, pz, e, bx, by, bz, gamma, gamma2)


@kernel
def rotate_z_to1(px: float, py: float, pz: float, nx: float, ny: float, nz: float):
    """Rotate a three-vector by the rotation that takes the z axis onto the unit vector n.

    Rodrigues' formula about the axis z x n; the identity when n = z, a flip about x when n = -z.
    """
    # axis k = (z x n)/|z x n| = (-ny, nx, 0)/s, angle with cos = nz, sin = s (rotation_params1)
    sn, kx, ky = rotation_params1(nx, ny)
    return rotate_z_to_p1(px, py, pz, nz, sn, kx, ky)


@kernel
def direction1(cos_theta: float, phi: float):
    """Unit vector with polar angle ``acos(cos_theta)`` and azimuth ``phi``."""
    sin_theta = math.sqrt(max(0.0, 1.0 - cos_theta * cos_theta))
    return sin_theta * math.cos(phi), sin_theta * math.sin(phi), cos_theta


@kernel
def two_body_decay1(
    px: float, py: float, pz: float, e: float, m1: float, m2: float, cos_theta: float, phi: float
):
    """Decay a parent (lab four-momentum) to masses m1, m2.

    Daughter 1 goes along (cos_theta, phi) in the parent rest frame (angles measured with
    respect to the lab axes); both daughters are then boosted to the lab. Returns the eight
    components (px1, py1, pz1, e1, px2, py2, pz2, e2); NaN if the decay is forbidden.
    """
    m = mass1(px, py, pz, e)
    p = two_body_momentum1(m, m1, m2)
    ux, uy, uz = direction1(cos_theta, phi)
    e1 = math.sqrt(p * p + m1 * m1)
    e2 = math.sqrt(p * p + m2 * m2)
    bx, by, bz = px / e, py / e, pz / e
    a = boost1(p * ux, p * uy, p * uz, e1, bx, by, bz)
    b = boost1(-p * ux, -p * uy, -p * uz, e2, bx, by, bz)
    return a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]


@kernel
def boost_arrays(px, py, pz, e, bx, by, bz):
    """Boost arrays of four-vectors by per-element velocities; returns four new arrays."""
    n = px.shape[0]
    ox, oy, oz, oe = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        ox[i], oy[i], oz[i], oe[i] = boost1(px[i], py[i], pz[i], e[i], bx[i], by[i], bz[i])
    return ox, oy, oz, oe


@kernel
def mass_arrays(px, py, pz, e):
    """Invariant masses of arrays of four-vectors."""
    n = px.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = mass1(px[i], py[i], pz[i], e[i])
    return out


@kernel
def boost_params1(bx: float, by: float, bz: float):
    """(gamma, (gamma - 1)/b^2) of ``boost1``'s velocity, for ``boost_p1`` (0, 0 if b = 0)."""
    b2 = bx * bx + by * by + bz * bz
    if b2 <= 0.0:
        return 0.0, 0.0
    gamma = 1.0 / math.sqrt(1.0 - b2)
    return gamma, (gamma - 1.0) / b2


@kernel
def boost_p1(px: float, py: float, pz: float, e: float, bx: float, by: float, bz: float,
             gamma: float, gamma2: float):
    """``boost1`` with (gamma, gamma2) from ``boost_params1`` (``boost1`` is these two): no square
    root and divisions per vector when many vectors share one velocity."""
    if gamma == 0.0:
        return px, py, pz, e
    bp = bx * px + by * py + bz * pz
    f = gamma2 * bp + gamma * e
    return px + f * bx, py + f * by, pz + f * bz, gamma * (e + bp)


@kernel
def rotation_params1(nx: float, ny: float):
    """(s, kx, ky) of ``rotate_z_to1`` for the unit vector n, for ``rotate_z_to_p1``."""
    # decide the poles on s, not on nz (nz rounds to 1 while s can still be 1e-8)
    s = math.sqrt(nx * nx + ny * ny)
    if s == 0.0:
        return 0.0, 0.0, 0.0
    return s, -ny / s, nx / s


@kernel
def rotate_z_to_p1(px: float, py: float, pz: float, nz: float, s: float, kx: float, ky: float):
    """``rotate_z_to1`` with (s, kx, ky) from ``rotation_params1`` (``rotate_z_to1`` is these
    two): the parameters once when many vectors share one rotation."""
    c = nz
    if s == 0.0:
        return (px, py, pz) if c > 0.0 else (px, -py, -pz)
    # v cos + (k x v) sin + k (k.v)(1 - cos), with kz = 0
    kdotv = kx * px + ky * py
    cxv_x = ky * pz
    cxv_y = -kx * pz
    cxv_z = kx * py - ky * px
    one_c = 1.0 - c
    return (
        px * c + cxv_x * s + kx * kdotv * one_c,
        py * c + cxv_y * s + ky * kdotv * one_c,
        pz * c + cxv_z * s,
    )
