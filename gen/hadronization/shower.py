"""Final-state p_T-ordered dipole shower of a q qbar system (numba kernels, flat arrays).

Model: the Lund dipole cascade (G. Gustafson, U. Pettersson, Nucl. Phys. B306 (1988) 746;
ARIADNE, L. Lonnblad, Comput. Phys. Commun. 71 (1992) 15), the p_T-ordered final-state shower
in its dipole form (T. Sjostrand, P. Skands, hep-ph/0408302; Pythia 8 TimeShower). The partons
form one colour chain q g g ... g qbar (large N_c); every colour-adjacent pair (i, j) is a dipole
of mass^2 s = (p_i + p_j)^2 that emits a gluon k with

    dP = (alpha_s(pT^2) / 2 pi) C (x_i^n_i + x_j^n_j) d ln pT^2 dy,
    pT^2 = s_ik s_kj / s,   y = ln(s_ik / s_kj) / 2,   x_i = 1 - s_kj / s, x_j = 1 - s_ik / s,

n = 2 at a quark end and 3 at a gluon end (Gustafson-Pettersson; ARIADNE), C = C_F = 4/3 for the
q qbar dipole and N_c / 2 = 3/2 for dipoles with a gluon (ARIADNE's large-N_c colour factor).
For the first emission of the q qbar dipole this is the exact O(alpha_s) matrix element of
e+e- -> q qbar g (Ellis, Gaillard, Ross, Nucl. Phys. B111 (1976) 253): the matrix-element
correction Pythia applies to the first emission (TimeShower:MEcorrections) is built in. A c end
subtracts its massive eikonal term 2 mu s_other / s_own (mu = m_c^2 / s; dead cone,
Dokshitzer, Khoze, Troyan, J. Phys. G 17 (1991) 1481; for a q qbar dipole the sum of both ends
is the massive ME term of ``gluon.emission_density``); the kinematics stay massless.

Evolution: all dipoles compete in one pT^2, sampled by the veto algorithm (Sjostrand et al.,
hep-ph/0603175 sect. 4.2) with the overestimate alpha_s(pT_min^2) C 2 / (2 pi) per
d ln pT^2 dy over |y| < ln(sqrt(s) / pT), i.e. exp(-A (l^2 - l0^2) / 2) in l = ln(s / pT^2).
alpha_s: ``gluon.alpha_s_shower`` (one loop, alpha_s(M_Z) = 0.1365, Monash arXiv:1404.5630
TimeShower:alphaSvalue, Pythia's alphaSorder = 1, no CMW: TimeShower:alphaSuseCMW = off),
argument pT^2; cut-off pT_min = 0.5 GeV (Monash TimeShower:pTmin).

Recoil: the 2 -> 3 map is made in the dipole rest frame with the dipole four-momentum
conserved exactly; the harder of i, j keeps its direction (Kleiss prescription, as ARIADNE for
q qbar), uniform azimuth. Not included: g -> q qbar (rate ~ n_f T_R / C_A of the gluon
splittings, a few % of the events at 10.58 GeV; it would cut the chain into two strings),
photon emission, colour reconnection, the 1/N_c^2 colour corrections.
"""

from __future__ import annotations

import math

import numpy as np

from gen.hadronization.gluon import C_F, PT_MIN, alpha_s_shower, three_partons1
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1

#: number of colours; C_A / 2 is the colour factor of a dipole with a gluon end (ARIADNE)
N_C = 3.0
#: rows of the parton buffer (a 10.58 GeV shower makes ~3 gluons; the chain stops growing here)
MAX_PARTONS = 48


@kernel
def dipole_density1(x_i: float, x_j: float, glu_i: bool, glu_j: bool, mu_i: float,
                     mu_j: float) -> float:
    """x_i^n_i + x_j^n_j (n = 2 quark, 3 gluon) minus the massive eikonal terms 2 mu y_o / y_s
    of the ends with mu > 0 (y_s = 1 - x_other: the end's own invariant with the gluon); >= 0."""
    f = x_i * x_i * (x_i if glu_i else 1.0) + x_j * x_j * (x_j if glu_j else 1.0)
    y_ik, y_kj = 1.0 - x_j, 1.0 - x_i
    if mu_i > 0.0:
        f -= 2.0 * mu_i * y_kj / y_ik
    if mu_j > 0.0:
        f -= 2.0 * mu_j * y_ik / y_kj
    return max(f, 0.0)


@kernel
def _dot(p, i: int, j: int) -> float:
    return p[i, 3] * p[j, 3] - p[i, 0] * p[j, 0] - p[i, 1] * p[j, 1] - p[i, 2] * p[j, 2]


@kernel
def _colour_factor(n: int) -> float:
    """C_F for the bare q qbar dipole (exact first-order ME), N_c / 2 once gluons exist."""
    return C_F if n == 2 else 0.5 * N_C


@kernel
def _emit(rng, p, n: int, i: int, x_i: float, x_j: float, tmp) -> int:
    """Replace dipole (i, i+1) by (i, k, i+1) with energy fractions x_i, x_j in its rest frame;
    the new gluon is inserted at row i + 1. Returns the new parton count."""
    j = i + 1
    px, py, pz = p[i, 0] + p[j, 0], p[i, 1] + p[j, 1], p[i, 2] + p[j, 2]
    e = p[i, 3] + p[j, 3]
    w = math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))
    bx, by, bz = px / e, py / e, pz / e
    q = boost1(p[i, 0], p[i, 1], p[i, 2], p[i, 3], -bx, -by, -bz)
    qn = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2])
    nx, ny, nz = q[0] / qn, q[1] / qn, q[2] / qn
    three_partons1(rng, w, x_i, x_j, tmp)
    for r in range(n - 1, i, -1):  # open row i + 1 for the gluon
        for c in range(4):
            p[r + 1, c] = p[r, c]
    for r, dst in ((0, i), (2, i + 1), (1, i + 2)):
        v0, v1, v2 = rotate_z_to1(tmp[r, 0], tmp[r, 1], tmp[r, 2], nx, ny, nz)
        v = boost1(v0, v1, v2, tmp[r, 3], bx, by, bz)
        for c in range(4):
            p[dst, c] = v[c]
    return n + 1


@kernel
def shower1(rng, p, n: int, m_end: float, pt_min: float, alpha_fixed: float,
            max_emissions: int, pt2_log):
    """Shower the colour chain in rows 0..n-1 of ``p`` (px, py, pz, E; row 0 the quark, row
    n-1 the antiquark, gluons between, massless) in place.

    ``m_end``: mass of the end quarks for the dead cone (0 for u, d, s); ``alpha_fixed`` > 0
    replaces the running alpha_s (tests); at most ``max_emissions`` gluons; the pT^2 of each
    emission is written to ``pt2_log`` (length >= max_emissions). Returns the parton count.
    """
    pt2_min = pt_min * pt_min
    a_max = alpha_fixed if alpha_fixed > 0.0 else alpha_s_shower(pt2_min)
    tmp = np.zeros((3, 4))
    pt2_cur = np.inf
    n_em = 0
    while n_em < max_emissions and n < p.shape[0]:
        best, best_pt2, best_ell, best_s = -1, 0.0, 0.0, 0.0
        c_dip = _colour_factor(n)
        big_a = a_max * c_dip / math.pi  # overestimate per d ln pT^2 dy: 2 (a / 2 pi) C
        for d in range(n - 1):
            s = 2.0 * _dot(p, d, d + 1)
            if s <= 4.0 * pt2_min:
                continue
            ell0 = max(math.log(s / pt2_cur), math.log(4.0))  # pT^2 <= s / 4
            ell = math.sqrt(ell0 * ell0 - 2.0 * math.log(rng.random()) / big_a)
            pt2 = s * math.exp(-ell)
            if pt2 > best_pt2:
                best, best_pt2, best_ell, best_s = d, pt2, ell, s
        if best < 0 or best_pt2 < pt2_min:
            break
        pt2_cur = best_pt2
        y = (rng.random() - 0.5) * best_ell
        r = math.sqrt(best_pt2 / best_s)
        y_ik, y_kj = r * math.exp(y), r * math.exp(-y)
        if y_ik + y_kj >= 1.0:
            continue
        x_i, x_j = 1.0 - y_kj, 1.0 - y_ik
        mu = m_end * m_end / best_s
        mu_i = mu if best == 0 else 0.0
        mu_j = mu if best + 1 == n - 1 else 0.0
        f = dipole_density1(x_i, x_j, best > 0, best + 1 < n - 1, mu_i, mu_j)
        a = alpha_fixed if alpha_fixed > 0.0 else alpha_s_shower(best_pt2)
        if rng.random() * 2.0 * a_max < f * a:
            n = _emit(rng, p, n, best, x_i, x_j, tmp)
            pt2_log[n_em] = best_pt2
            n_em += 1
    return n


@kernel
def _shower_many(rng, w, n_events, m_end, pt_min, alpha_fixed, max_emissions):
    n_part = np.empty(n_events, np.int64)
    parts = np.zeros((n_events, MAX_PARTONS, 4))
    pt2 = np.zeros((n_events, max(max_emissions, 1)))
    for i in range(n_events):
        p = parts[i]
        p[0, 2], p[0, 3] = 0.5 * w, 0.5 * w
        p[1, 2], p[1, 3] = -0.5 * w, 0.5 * w
        n_part[i] = shower1(rng, p, 2, m_end, pt_min, alpha_fixed, max_emissions, pt2[i])
    return n_part, parts, pt2


def shower_events(rng: np.random.Generator, w_gev: float, n_events: int, m_end_gev: float = 0.0,
                  pt_min_gev: float = PT_MIN, alpha_fixed: float = 0.0,
                  max_emissions: int = MAX_PARTONS - 2
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shower ``n_events`` q qbar systems of mass ``w_gev`` (quark along +z) in their rest frame.

    Returns (parton counts, partons [event, row, (px, py, pz, E)] in colour order, pT^2 of the
    emissions in the order made, 0 where none). For tests and studies.
    """
    if not (math.isfinite(w_gev) and w_gev > 0.0):
        raise ValueError(f"w_gev must be a positive finite mass, got {w_gev!r}")
    if not 0 <= max_emissions <= MAX_PARTONS - 2:
        raise ValueError(f"max_emissions must be in [0, {MAX_PARTONS - 2}], got {max_emissions}")
    if not pt_min_gev > 0.0:
        raise ValueError(f"pt_min_gev must be positive, got {pt_min_gev!r}")
    return _shower_many(rng, float(w_gev), int(n_events), float(m_end_gev), float(pt_min_gev),
                        float(alpha_fixed), int(max_emissions))
