"""Event variables of the searches, as numba kernels over flat arrays.

Recoil against a visible system: M_rec^2 = (P_beams - p_vis)^2 with the nominal beam four-momenta
(the analyses use nominal beam energies, as data does); evaluated in the c.m. frame as
(sqrt(s) - E*_vis)^2 - |p*_vis|^2 (Belle II Z' search, arXiv:2212.03066, eq. 1).
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import Beams
from gen.jit import kernel
from gen.kinematics import boost1


@kernel
def _pair_recoil(px1, py1, pz1, m1, px2, py2, pz2, m2, sqrt_s, bx, by, bz):
    n = px1.shape[0]
    m2rec = np.empty(n)
    p_rec = np.empty(n)
    cos_rec_lab = np.empty(n)
    pt_pair_cm = np.empty(n)
    for i in range(n):
        e1 = math.sqrt(px1[i] ** 2 + py1[i] ** 2 + pz1[i] ** 2 + m1 * m1)
        e2 = math.sqrt(px2[i] ** 2 + py2[i] ** 2 + pz2[i] ** 2 + m2 * m2)
        a = boost1(px1[i], py1[i], pz1[i], e1, -bx, -by, -bz)
        b = boost1(px2[i], py2[i], pz2[i], e2, -bx, -by, -bz)
        qx, qy, qz, qe = -(a[0] + b[0]), -(a[1] + b[1]), -(a[2] + b[2]), sqrt_s - (a[3] + b[3])
        m2rec[i] = qe * qe - qx * qx - qy * qy - qz * qz
        p_rec[i] = math.sqrt(qx * qx + qy * qy + qz * qz)
        pt_pair_cm[i] = math.sqrt(qx * qx + qy * qy)
        # recoil direction in the lab: boost the recoil four-vector back
        lx, ly, lz, _ = boost1(qx, qy, qz, qe, bx, by, bz)
        lp = math.sqrt(lx * lx + ly * ly + lz * lz)
        cos_rec_lab[i] = lz / lp if lp > 0 else 1.0
    return m2rec, p_rec, cos_rec_lab, pt_pair_cm


def pair_recoil(p1: np.ndarray, m1: float, p2: np.ndarray, m2: float, beams: Beams | None = None):
    """Recoil against two particles with lab momenta ``p1``, ``p2`` (shape (3, n)) and masses.

    Returns (M_rec^2, |p_rec| in the c.m. frame, cos(theta_rec) in the lab, p_T of the recoil in
    the c.m. frame), all float64 arrays.
    """
    beams = beams or Beams()
    bx, by, bz = beams.boost
    p1 = np.ascontiguousarray(p1, dtype=np.float64)
    p2 = np.ascontiguousarray(p2, dtype=np.float64)
    return _pair_recoil(
        p1[0], p1[1], p1[2], m1, p2[0], p2[1], p2[2], m2, beams.sqrt_s_gev, bx, by, bz
    )


@kernel
def _pair_topology(px1, py1, pz1, m1, px2, py2, pz2, m2, bx, by, bz):
    n = px1.shape[0]
    cos_rec_max = np.empty(n)
    acop = np.empty(n)
    for i in range(n):
        e1 = math.sqrt(px1[i] ** 2 + py1[i] ** 2 + pz1[i] ** 2 + m1 * m1)
        e2 = math.sqrt(px2[i] ** 2 + py2[i] ** 2 + pz2[i] ** 2 + m2 * m2)
        a = boost1(px1[i], py1[i], pz1[i], e1, -bx, -by, -bz)
        b = boost1(px2[i], py2[i], pz2[i], e2, -bx, -by, -bz)
        rx, ry, rz = -(a[0] + b[0]), -(a[1] + b[1]), -(a[2] + b[2])
        pr = math.sqrt(rx * rx + ry * ry + rz * rz)
        pa = math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)
        pb = math.sqrt(b[0] ** 2 + b[1] ** 2 + b[2] ** 2)
        if pr > 0.0:
            ca = (rx * a[0] + ry * a[1] + rz * a[2]) / (pr * pa)
            cb = (rx * b[0] + ry * b[1] + rz * b[2]) / (pr * pb)
            cos_rec_max[i] = max(ca, cb)
        else:
            cos_rec_max[i] = -1.0
        dphi = abs(math.atan2(a[1], a[0]) - math.atan2(b[1], b[0]))
        if dphi > math.pi:
            dphi = 2.0 * math.pi - dphi
        acop[i] = math.pi - dphi
    return cos_rec_max, acop


def pair_topology(p1: np.ndarray, m1: float, p2: np.ndarray, m2: float, beams: Beams | None = None):
    """c.m.-frame topology of a particle pair: (largest cosine between the recoil and either
    particle, acoplanarity pi - |phi1 - phi2|).

    In tau pairs the neutrinos follow their tau, so the recoil lines up with one lepton and the
    leptons are nearly back to back (small acoplanarity); a Z' radiated off a muon recoils
    against both (cf. the tau-pair suppression of Belle II, arXiv:1912.11276 and 2212.03066).
    """
    beams = beams or Beams()
    bx, by, bz = beams.boost
    p1 = np.ascontiguousarray(p1, dtype=np.float64)
    p2 = np.ascontiguousarray(p2, dtype=np.float64)
    return _pair_topology(p1[0], p1[1], p1[2], m1, p2[0], p2[1], p2[2], m2, bx, by, bz)
