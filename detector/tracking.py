"""Charged-track reconstruction: acceptance, finding efficiency, helix perigee, smearing.

Model (parameters and sources in ``detector/config.py``, ``TrackingConfig``):

- Trackable: status-1 e, mu, pi, K, p (by |pdg|; charge from a small lookup, ``charge_of``).
  Other charged states (Sigma, deuteron, tau left undecayed) give no track.
- Found if the true polar angle of the momentum at production is inside the CDC acceptance
  (17 < theta < 150 deg, lab), pT >= ``pt_min_gev``, the production vertex has transverse radius
  < ``max_vertex_r_cm``, and a uniform draw passes ``efficiency``. No clones, fakes, charge flips
  or curler duplicates; tracks from decays in flight of status-2 particles are not made.
- Perigee: the true helix (uniform field B along +z, ``b_field_t``) from the production vertex is
  taken to its point of closest approach (PCA) to the z axis through the origin (the nominal IP).
  d0 is signed like (r_PCA x p)_z, i.e. positive when the momentum points anticlockwise about the
  z axis (the basf2 ``Helix`` convention); z0 is the z of the PCA; the momentum is the one at the
  PCA (rotated from the production momentum by the helix turning angle; identical for prompt
  tracks).
- Smearing (all Gaussian): pT by sigma_pT/pT = a pT (+) b/beta; theta and phi by
  a (+) b/(p beta) [mrad]; d0 by a (+) b/(p beta sin^1.5 theta) and z0 by
  a (+) b/(p beta sin^2.5 theta) [um] (the usual multiple-scattering scalings, e.g. PDG RPP
  "Passage of particles through matter", sec. multiple scattering, and the TDR vertexing chapter).
  beta = p/E with the generated energy. The stored point (vx, vy, vz) is the smeared PCA:
  (d0 sin phi, -d0 cos phi, z0).

Radius of curvature R[m] = pT[GeV] / (0.299792458 B[T]) (PDG RPP, "Kinematics"/"Passage of
particles": p[GeV] = 0.3 B[T] R[m] for unit charge).
"""

from __future__ import annotations

import math

import numpy as np
from particle import Particle

from gen.jit import kernel

from .config import TrackingConfig

#: pT[GeV] = C_GEV_PER_T_M * B[T] * R[m] for a unit charge (c = 299792458 m/s).
C_GEV_PER_T_M = 0.299792458

# indices of the flat tracking parameter array (angles in rad, d0/z0 terms in cm)
T_B = 0
T_THETA_MIN = 1
T_THETA_MAX = 2
T_PT_MIN = 3
T_EFF = 4
T_VTX_R = 5
T_PT_A = 6
T_PT_B = 7
T_TH_A = 8
T_TH_B = 9
T_PH_A = 10
T_PH_B = 11
T_D0_A = 12
T_D0_B = 13
T_Z0_A = 14
T_Z0_B = 15
N_TRACKING_PARAMS = 16

_UM_TO_CM = 1.0e-4
_MRAD = 1.0e-3


def tracking_params(cfg: TrackingConfig) -> np.ndarray:
    """The flat float64 parameter array the tracking kernels read."""
    out = np.empty(N_TRACKING_PARAMS)
    out[T_B] = cfg.b_field_t
    out[T_THETA_MIN] = math.radians(cfg.theta_min_deg)
    out[T_THETA_MAX] = math.radians(cfg.theta_max_deg)
    out[T_PT_MIN] = cfg.pt_min_gev
    out[T_EFF] = cfg.efficiency
    out[T_VTX_R] = cfg.max_vertex_r_cm
    out[T_PT_A] = cfg.sigma_pt_a_per_gev
    out[T_PT_B] = cfg.sigma_pt_b
    out[T_TH_A] = cfg.sigma_theta_a_mrad * _MRAD
    out[T_TH_B] = cfg.sigma_theta_b_mrad_gev * _MRAD
    out[T_PH_A] = cfg.sigma_phi_a_mrad * _MRAD
    out[T_PH_B] = cfg.sigma_phi_b_mrad_gev * _MRAD
    out[T_D0_A] = cfg.sigma_d0_a_um * _UM_TO_CM
    out[T_D0_B] = cfg.sigma_d0_b_um_gev * _UM_TO_CM
    out[T_Z0_A] = cfg.sigma_z0_a_um * _UM_TO_CM
    out[T_Z0_B] = cfg.sigma_z0_b_um_gev * _UM_TO_CM
    return out


def charge_from_particle(pdg: int) -> int:
    """Charge of ``pdg`` from ``particle`` (reference for ``charge_of``; not for kernels)."""
    return int(Particle.from_pdgid(int(pdg)).charge)


@kernel
def charge_of(pdg):
    """Charge (in e) of a trackable particle e, mu, pi, K, p; 0 for every other id."""
    a = abs(pdg)
    s = 1 if pdg > 0 else -1
    if a == 11 or a == 13:
        return -s
    if a == 211 or a == 321 or a == 2212:
        return s
    return 0


@kernel
def radius_cm(pt, b_t):
    """Helix radius (cm) of a unit-charge track of transverse momentum ``pt`` in field ``b_t``."""
    return 100.0 * pt / (C_GEV_PER_T_M * b_t)


@kernel
def helix_center1(x0, y0, px, py, q, b_t):
    """Centre (cx, cy) and radius R (cm) of the transverse circle; q > 0 turns clockwise."""
    pt = math.hypot(px, py)
    r = radius_cm(pt, b_t)
    s = 1.0 if q > 0 else -1.0
    return x0 + s * r * py / pt, y0 - s * r * px / pt, r


@kernel
def helix_position1(x0, y0, z0, px, py, pz, q, b_t, s):
    """Position after a transverse path length ``s`` (cm); a straight line when q == 0."""
    pt = math.hypot(px, py)
    if q == 0:
        return x0 + s * px / pt, y0 + s * py / pt, z0 + s * pz / pt
    cx, cy, r = helix_center1(x0, y0, px, py, q, b_t)
    ux = (x0 - cx) / r
    uy = (y0 - cy) / r
    a = -s / r if q > 0 else s / r
    ca = math.cos(a)
    sa = math.sin(a)
    return cx + r * (ux * ca - uy * sa), cy + r * (ux * sa + uy * ca), z0 + s * pz / pt


@kernel
def arc_to_radius1(x0, y0, px, py, q, b_t, radius):
    """Transverse path length (cm) until the trajectory first reaches ``radius``.

    0 if the start is already at or beyond ``radius``; NaN if the helix never gets there
    (curler). Straight line for q == 0.
    """
    r0sq = x0 * x0 + y0 * y0
    if r0sq >= radius * radius:
        return 0.0
    pt = math.hypot(px, py)
    if pt <= 0.0:
        return math.nan
    if q == 0:
        bdot = (x0 * px + y0 * py) / pt
        return -bdot + math.sqrt(bdot * bdot - (r0sq - radius * radius))
    cx, cy, r = helix_center1(x0, y0, px, py, q, b_t)
    d = math.hypot(cx, cy)
    if d + r < radius or d <= 0.0:
        return math.nan
    # intersections of the circle |P| = radius with |P - c| = r
    a = (radius * radius - r * r + d * d) / (2.0 * d)
    h = math.sqrt(max(radius * radius - a * a, 0.0))
    ex = cx / d
    ey = cy / d
    ux0 = (x0 - cx) / r
    uy0 = (y0 - cy) / r
    best = math.inf
    for sign in (-1.0, 1.0):
        qx = a * ex - sign * h * ey
        qy = a * ey + sign * h * ex
        ux = (qx - cx) / r
        uy = (qy - cy) / r
        alpha = math.atan2(ux0 * uy - uy0 * ux, ux0 * ux + uy0 * uy)  # anticlockwise angle
        ang = -alpha if q > 0 else alpha  # angle along the motion
        if ang < 0.0:
            ang += 2.0 * math.pi
        best = min(best, ang * r)
    return best


@kernel
def perigee1(x0, y0, z0, px, py, pz, q, b_t):
    """(d0, z0, px, py) at the PCA of the helix to the z axis; pz is unchanged.

    d0 = (r_PCA x p_hat)_z (cm, positive for anticlockwise motion about the z axis).
    """
    pt = math.hypot(px, py)
    cx, cy, r = helix_center1(x0, y0, px, py, q, b_t)
    d = math.hypot(cx, cy)
    if d <= 1.0e-12 * r:  # the z axis is the circle's centre: every point is a PCA
        return (x0 * py - y0 * px) / pt, z0, px, py
    ux = -cx / d
    uy = -cy / d
    pcx = cx + r * ux
    pcy = cy + r * uy
    s = 1.0 if q > 0 else -1.0
    vx = s * uy
    vy = -s * ux
    d0 = pcx * vy - pcy * vx
    ux0 = (x0 - cx) / r
    uy0 = (y0 - cy) / r
    alpha = math.atan2(ux * uy0 - uy * ux0, ux * ux0 + uy * uy0)  # PCA -> vertex, anticlockwise
    psi = -s * alpha  # along the motion
    return d0, z0 - psi * r * pz / pt, pt * vx, pt * vy


@kernel
def track_found1(rng, px, py, pz, vx, vy, tp):
    """Acceptance x efficiency of the offline tracking for one charged particle."""
    pt = math.hypot(px, py)
    if pt < tp[T_PT_MIN] or pt <= 0.0:
        return False
    theta = math.atan2(pt, pz)
    if theta <= tp[T_THETA_MIN] or theta >= tp[T_THETA_MAX]:
        return False
    if vx * vx + vy * vy >= tp[T_VTX_R] * tp[T_VTX_R]:
        return False
    return rng.random() < tp[T_EFF]


@kernel
def sigma_pt_rel1(pt, beta, tp):
    """sigma_pT / pT = a pT (+) b / beta."""
    return math.hypot(tp[T_PT_A] * pt, tp[T_PT_B] / beta)


@kernel
def smear_track1(rng, px, py, pz, e, d0, z0, tp):
    """Smeared (px, py, pz, d0, z0); five standard-normal draws, always in the same order."""
    pt = math.hypot(px, py)
    p = math.sqrt(pt * pt + pz * pz)
    beta = p / e if e > p else 1.0
    theta = math.atan2(pt, pz)
    phi = math.atan2(py, px)
    sin_t = math.sin(theta)
    pbeta = p * beta
    g_pt = rng.standard_normal()
    g_th = rng.standard_normal()
    g_ph = rng.standard_normal()
    g_d0 = rng.standard_normal()
    g_z0 = rng.standard_normal()
    pt_s = abs(pt * (1.0 + sigma_pt_rel1(pt, beta, tp) * g_pt))
    th_s = theta + math.hypot(tp[T_TH_A], tp[T_TH_B] / pbeta) * g_th
    th_s = min(max(th_s, 1.0e-9), math.pi - 1.0e-9)
    ph_s = phi + math.hypot(tp[T_PH_A], tp[T_PH_B] / pbeta) * g_ph
    sin15 = sin_t * math.sqrt(sin_t)
    d0_s = d0 + math.hypot(tp[T_D0_A], tp[T_D0_B] / (pbeta * sin15)) * g_d0
    z0_s = z0 + math.hypot(tp[T_Z0_A], tp[T_Z0_B] / (pbeta * sin_t * sin15)) * g_z0
    if pt_s == pt and th_s == theta and ph_s == phi:  # zero resolution: keep exact inputs
        return px, py, pz, d0_s, z0_s
    return (pt_s * math.cos(ph_s), pt_s * math.sin(ph_s), pt_s / math.tan(th_s), d0_s, z0_s)
