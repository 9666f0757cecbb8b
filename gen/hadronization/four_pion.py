"""e+e- -> gamma* -> 4 pi below 2 GeV: measured cross sections and a resonance model of the final
state (the 2 pi+ 2 pi- and pi+ pi- 2 pi0 channels of ``gen.hadronization.exclusive``).

Cross sections: the bare (vacuum polarisation removed, FSR included) cross sections measured by
BaBar with ISR, linearly interpolated in sqrt(s) between the bin centres:

- 2 pi+ 2 pi-: J.P. Lees et al., Phys. Rev. D 85 (2012) 112009, arXiv:1201.5677; HEPData
  ins1086164 table 1 (doi:10.17182/hepdata.57561.v1/t1), second column (bare), 25 MeV bins from
  0.6125 to 2.0125 GeV (as distributed with Rivet, BABAR_2012_I1086164.yoda, y02).
- pi+ pi- 2 pi0: J.P. Lees et al., Phys. Rev. D 96 (2017) 092009, arXiv:1709.01171; HEPData
  ins1621593 table 1, second column (bare), 20 MeV bins from 0.85 to 2.01 GeV (Rivet
  BABAR_2017_I1621593.yoda, d01-y02); its omega pi0 (omega -> pi+ pi- pi0) part from table 2
  (d02-y01, 40 MeV bins from 0.924 GeV).

The first column of each table is the dressed cross section: its ratio to the second equals
|1/(1 - Delta alpha)|^2 (checked against ``gen.vacpol`` in the tests), which identifies the
bare column. Below the first bin the cross section goes linearly to 0 at threshold (< 0.05 nb
there); above the last bin it is 0 (the exclusive channels are used up to 2 GeV). The tables
are the measurement itself, so sigma(s) carries BaBar's ~3 % systematic uncertainty and no
model error; between bin centres the linear interpolation is exact to the bin-to-bin
statistical scatter (~1-2 %).

Final states (gamma* rest frame, z = beam axis; ``four_pion_final_state1``), a model for the
kinematics only (the rate is the measured one):

- a1(1260) pi: gamma* -> a1 pi, a1 -> rho pi, rho -> pi pi, with the simplest vector current of
  the a1 pi term of the Kuehn-Czyz model (H. Czyz, J.H. Kuehn, Eur. Phys. J. C18 (2001) 497,
  hep-ph/0008262: J = sum BW_a1(s_3pi) BW_rho(s_pipi) (p_i - p_j), S waves in gamma* -> a1 pi
  and a1 -> rho pi, P wave in rho -> pi pi), summed coherently over the pion assignments
  (8 terms for 2 pi+ 2 pi-: a1+- -> rho0 pi+-; 4 for pi+ pi- 2 pi0: a1+- -> rho+- pi0; a1^0 pi0
  is C-forbidden); relative sign of the a1+ pi- and a1- pi+ terms from C = -1 of the photon.
  Breit-Wigners 1/(M^2 - s - i M Gamma) with constant PDG widths (``particle``: a1(1260) 1230,
  420 MeV; rho(770) 775.26, 147.4 MeV). The event density is flat 4-body phase space x
  |J_T|^2, J_T the components of J transverse to the beam (sum over the two transverse photon
  polarisations, no Z), by hit-or-miss against twice the largest weight of a 10^6-point pilot
  on a 50 MeV grid (``A1PI_MAX_*``; the analytic bound ``a1pi_bound`` is 40-250 times looser).
- omega pi0 (pi+ pi- 2 pi0 only, with the measured fraction sigma(omega pi0) / sigma(pi+ pi-
  2 pi0) at that energy): gamma* -> omega pi0 through the epsilon-tensor coupling, amplitude
  (eps_gamma x eps_omega) . p_omega, omega -> pi+ pi- pi0 with amplitude eps_omega . n,
  n = p+ x p- in the omega rest frame (Gell-Mann, Sharp, Wagner, PRL 8 (1962) 261): density
  |(n x p_omega)_T|^2 (exact: only components of n transverse to p_omega enter), i.e.
  1 + cos^2 theta for the omega direction; omega line shape Breit-Wigner with PDG mass/width.

Not modelled: rho f0 / rho sigma and rho+ rho- terms of the Kuehn-Czyz current, Bose symmetry
between the omega's pi0 and the recoil pi0 (the two pi0 rows are swapped at random), running
widths. Channel rates do not depend on these choices.
"""

from __future__ import annotations

import math

import numpy as np

from gen.constants import GEV2_TO_PB, M_PI, M_PI0, mass_gev
from gen.jit import kernel
from gen.kinematics import boost1, two_body_momentum1
from gen.phasespace import genbod_wmax, genbod_work1, isotropic1, three_body1


def _width_gev(pdgid: int) -> float:
    """Total width (GeV) from ``particle`` (PDG; MeV there)."""
    from particle import Particle

    return float(Particle.from_pdgid(pdgid).width) * 1e-3


#: nb -> GeV^-2
NB_TO_GEV2 = 1e3 / GEV2_TO_PB

#: BaBar 2 pi+ 2 pi- bare cross section (nb), arXiv:1201.5677, HEPData ins1086164 t1 (y02);
#: bin centres E_4C0 + i * 25 MeV
E_4C0, DE_4C = 0.6125, 0.025
SIG_4C_NB = np.array([
    0.02, 0.04, 0.02, 0.01, 0.02, 0.03, 0.05, 0.10, 0.10, 0.12,   # 0.6125 - 0.8375
    0.16, 0.25, 0.32, 0.55, 0.69, 0.86, 1.23, 1.51, 2.06, 3.14,   # 0.8625 - 1.0875
    4.31, 5.72, 7.09, 8.51, 10.40, 12.17, 14.05, 15.83, 18.41, 20.42,  # 1.1125 - 1.3375
    22.59, 24.90, 26.61, 28.96, 29.32, 30.97, 29.93, 29.06, 27.26, 25.86,  # 1.3625 - 1.5875
    23.78, 21.89, 20.19, 18.09, 16.61, 14.75, 12.86, 11.17, 9.84, 8.53,  # 1.6125 - 1.8375
    7.37, 7.02, 6.90, 6.67, 6.30, 5.82, 5.95,  # 1.8625 - 2.0125
])
#: BaBar pi+ pi- 2 pi0 bare cross section (nb), arXiv:1709.01171, HEPData ins1621593 t1 (y02);
#: bin centres E_2N0 + i * 20 MeV
E_2N0, DE_2N = 0.85, 0.02
SIG_2N_NB = np.array([
    0.05, 0.23, 0.22, 0.30, 0.95, 2.38, 3.86, 4.75, 6.41, 7.43,   # 0.85 - 1.03
    9.32, 9.59, 11.56, 12.10, 13.47, 14.67, 15.77, 16.69, 17.98, 19.89,  # 1.05 - 1.23
    19.93, 21.00, 22.81, 23.68, 24.57, 25.25, 27.54, 27.55, 28.58, 30.41,  # 1.25 - 1.43
    30.62, 30.75, 31.00, 30.57, 29.48, 28.21, 28.23, 26.05, 26.06, 25.26,  # 1.45 - 1.63
    23.91, 23.71, 21.73, 21.07, 20.14, 18.47, 17.08, 15.33, 14.37, 12.53,  # 1.65 - 1.83
    11.99, 10.53, 10.34, 9.02, 8.81, 8.68, 8.40, 8.35, 8.59,  # 1.85 - 2.01
])
M_OMEGA, G_OMEGA = mass_gev(223), _width_gev(223)
#: omega pi0 (omega -> pi+ pi- pi0) part of pi+ pi- 2 pi0 (nb), arXiv:1709.01171, HEPData
#: ins1621593 t2; a first point 0 at the omega pi0 threshold
E_OM = np.array([M_OMEGA + M_PI0, 0.924, 0.965, 1.005, 1.045, 1.086, 1.126, 1.167, 1.207,
                 1.247, 1.288, 1.328, 1.369, 1.409, 1.449, 1.490, 1.530, 1.571, 1.611, 1.652,
                 1.692, 1.732, 1.773, 1.813, 1.854, 1.894, 1.934, 1.975, 2.015])
SIG_OM_NB = np.array([0.0, 0.48, 2.96, 6.26, 9.87, 10.82, 12.45, 12.30, 14.75, 13.95, 15.30,
                      14.85, 15.37, 15.19, 15.57, 14.22, 11.52, 9.05, 6.66, 4.94, 3.52, 2.21,
                      1.68, 1.19, 1.30, 0.80, 0.63, 0.65, 0.85])
#: thresholds (GeV)
THR_4C = 4.0 * M_PI
THR_2N = 2.0 * M_PI + 2.0 * M_PI0
#: resonances of the kinematic model (PDG via ``particle``)
M_A1, G_A1 = mass_gev(20213), _width_gev(20213)
M_RHO0, G_RHO0 = mass_gev(113), _width_gev(113)
MASSES_4C = np.array([M_PI, M_PI, M_PI, M_PI])
MASSES_2N = np.array([M_PI, M_PI, M_PI0, M_PI0])


@kernel
def _interp_table(rs: float, e0: float, de: float, tab, thr: float) -> float:
    """Linear interpolation on a uniform table (bin centres e0 + i de); linear to 0 at ``thr``
    below the first centre, 0 above the last."""
    n = tab.shape[0]
    if rs <= thr:
        return 0.0
    if rs < e0:
        return tab[0] * (rs - thr) / (e0 - thr)
    t = (rs - e0) / de
    if t > n - 1:
        return 0.0
    i = min(int(t), n - 2)
    f = t - i
    return tab[i] * (1.0 - f) + tab[i + 1] * f


@kernel
def sigma_4pi1(s: float, charged: bool) -> float:
    """Bare sigma(e+e- -> 2 pi+ 2 pi-) (``charged``) or (pi+ pi- 2 pi0) in GeV^-2 (BaBar)."""
    if s <= 0.0:
        return 0.0
    rs = math.sqrt(s)
    if charged:
        return _interp_table(rs, E_4C0, DE_4C, SIG_4C_NB, THR_4C) * NB_TO_GEV2
    return _interp_table(rs, E_2N0, DE_2N, SIG_2N_NB, THR_2N) * NB_TO_GEV2


@kernel
def omega_fraction1(rs: float) -> float:
    """Measured share of omega pi0 in pi+ pi- 2 pi0 at sqrt(s) = ``rs`` (0..1)."""
    tot = _interp_table(rs, E_2N0, DE_2N, SIG_2N_NB, THR_2N)
    if tot <= 0.0 or rs <= E_OM[0]:
        return 0.0
    om = np.interp(rs, E_OM, SIG_OM_NB)
    return min(max(om / tot, 0.0), 1.0)


# ---------------------------------------------------------------------------------------------
# a1 pi

@kernel
def _bw(s: float, m: float, g: float) -> complex:
    return 1.0 / complex(m * m - s, -m * g)


@kernel
def _bw_max(lo: float, hi: float, m: float, g: float) -> float:
    """max |1/(M^2 - s - i M G)| for s in [lo, hi]."""
    m2 = m * m
    if lo <= m2 <= hi:
        return 1.0 / (m * g)
    d = lo - m2 if lo > m2 else m2 - hi
    return 1.0 / math.sqrt(d * d + m2 * g * g)


@kernel
def _m2(p, i: int, j: int) -> float:
    e = p[i, 3] + p[j, 3]
    x = p[i, 0] + p[j, 0]
    y = p[i, 1] + p[j, 1]
    z = p[i, 2] + p[j, 2]
    return e * e - x * x - y * y - z * z


@kernel
def _m3(p, i: int, j: int, k: int) -> float:
    e = p[i, 3] + p[j, 3] + p[k, 3]
    x = p[i, 0] + p[j, 0] + p[k, 0]
    y = p[i, 1] + p[j, 1] + p[k, 1]
    z = p[i, 2] + p[j, 2] + p[k, 2]
    return e * e - x * x - y * y - z * z


@kernel
def _term(p, r0: int, a: int, b: int, c: int, ra: int, rb: int, sign: float, jx, jy):
    """Add sign BW_a1(m^2(a b c)) BW_rho(m^2(ra rb)) (p_ra - p_rb)_T to (jx, jy)."""
    amp = sign * _bw(_m3(p, r0 + a, r0 + b, r0 + c), M_A1, G_A1) * _bw(
        _m2(p, r0 + ra, r0 + rb), M_RHO0, G_RHO0)
    return (jx + amp * (p[r0 + ra, 0] - p[r0 + rb, 0]),
            jy + amp * (p[r0 + ra, 1] - p[r0 + rb, 1]))


@kernel
def a1pi_current_t2(p, r0: int, charged: bool) -> float:
    """|J_T|^2 of the a1 pi current (module docstring) for the pions in rows r0..r0+3:
    2 pi+ 2 pi- (``charged``: rows pi+, pi+, pi-, pi-) or pi+ pi- 2 pi0 (pi+, pi-, pi0, pi0)."""
    jx = complex(0.0, 0.0)
    jy = complex(0.0, 0.0)
    if charged:
        # a1+ (pi+0 pi+1 pi-o) pi-b, rho0 = (pi+a pi-o), vector p+ - p-; C partner with +1
        for o in (2, 3):
            for a in (0, 1):
                jx, jy = _term(p, r0, 0, 1, o, a, o, 1.0, jx, jy)
        for o in (0, 1):
            for a in (2, 3):
                jx, jy = _term(p, r0, 2, 3, o, o, a, 1.0, jx, jy)
    else:
        # a1+ (pi+ pi0 pi0) pi-, rho+ = (pi+ pi0a); a1- pi+, rho- = (pi- pi0a); vectors
        # p(charged) - p(pi0) are C-even, so the C partner enters with -1
        for a in (2, 3):
            jx, jy = _term(p, r0, 0, 2, 3, 0, a, 1.0, jx, jy)
            jx, jy = _term(p, r0, 1, 2, 3, 1, a, -1.0, jx, jy)
    return jx.real**2 + jx.imag**2 + jy.real**2 + jy.imag**2


@kernel
def a1pi_bound(rs: float, charged: bool) -> float:
    """Upper bound of ``a1pi_current_t2`` at sqrt(s) = rs: (terms x max|BW_a1| max|BW_rho| x
    2 p_max)^2, p_max the largest pion momentum (lightest masses: a safe bound)."""
    m = M_PI0
    n = 8.0 if charged else 4.0
    a1 = _bw_max(9.0 * m * m, (rs - m) ** 2, M_A1, G_A1)
    rho = _bw_max(4.0 * m * m, (rs - 2.0 * m) ** 2, M_RHO0, G_RHO0)
    pmax = two_body_momentum1(rs, m, 3.0 * m)
    return (n * a1 * rho * 2.0 * pmax) ** 2


#: largest GENBOD weight x |J_T|^2 found by ``pilot_a1pi_max`` (10^6 trials per point, seeds
#: [2012 or 2017, i]) at sqrt(s) = A1PI_E0 + i A1PI_DE; the analytic ``a1pi_bound`` is 40-250
#: times larger (hit-or-miss against it costs ~2-7 ms per event instead of ~20 us)
A1PI_E0, A1PI_DE = 0.55, 0.05
A1PI_MAX_C = np.array([
    0.0, 0.000132, 0.001182, 0.004512, 0.01246, 0.02915, 0.06509, 0.1376, 0.3063, 0.703,
    1.584, 3.005, 5.598, 12.83, 21.76, 31.68, 41.58, 50.97, 61.42, 90.27, 143.1, 219.2, 272.6,
    319.4, 308.9, 323.6, 277.8, 239.2, 211.9, 205.6, 195.5])
A1PI_MAX_N = np.array([
    6.156e-10, 1.989e-05, 0.0001484, 0.000569, 0.001633, 0.004157, 0.009812, 0.02254,
    0.05492, 0.1456, 0.3774, 0.7814, 1.669, 3.84, 8.402, 11.21, 13.4, 15.67, 17.74, 19.99,
    22.88, 26.07, 29.9, 34.81, 39.5, 43.46, 49.58, 63.61, 78.69, 83.08, 100.4])
#: margin on the pilot maxima (the maxima of 10^6 trials still move by a few % between seeds;
#: tests check fresh seeds between the grid points)
A1PI_SAFETY = 2.0


@kernel
def a1pi_wmax1(rs: float, charged: bool) -> float:
    """Hit-or-miss bound at sqrt(s) = rs: safety x the larger pilot maximum of the two grid
    points around rs, never above the analytic bound."""
    tab = A1PI_MAX_C if charged else A1PI_MAX_N
    i = min(max(int((rs - A1PI_E0) / A1PI_DE), 0), tab.shape[0] - 2)
    masses = MASSES_4C if charged else MASSES_2N
    analytic = genbod_wmax(rs, masses, 4) * a1pi_bound(rs, charged)
    return min(A1PI_SAFETY * max(tab[i], tab[i + 1]), analytic)


@kernel
def _a1pi_event1(rng, rs: float, charged: bool, out_p, work) -> None:
    masses = MASSES_4C if charged else MASSES_2N
    wmax = a1pi_wmax1(rs, charged)
    while True:
        w = genbod_work1(rng, rs, masses, 4, out_p, 0, work)
        if w <= 0.0:
            continue
        if rng.random() * wmax < w * a1pi_current_t2(out_p, 0, charged):
            return


# ---------------------------------------------------------------------------------------------
# omega pi0

@kernel
def _omega_pi0_event1(rng, rs: float, out_p) -> None:
    """Rows 0..2 = omega -> pi+ pi- pi0, row 3 = recoil pi0 (gamma* frame)."""
    lo = 2.0 * M_PI + M_PI0
    hi = rs - M_PI0
    mg = M_OMEGA * G_OMEGA
    t_lo = math.atan((lo * lo - M_OMEGA * M_OMEGA) / mg)
    t_hi = math.atan((hi * hi - M_OMEGA * M_OMEGA) / mg)
    while True:
        # omega line shape (Breit-Wigner in s_omega)
        s_om = M_OMEGA * M_OMEGA + mg * math.tan(t_lo + rng.random() * (t_hi - t_lo))
        m_om = math.sqrt(min(max(s_om, lo * lo), hi * hi))
        # omega -> 3 pi at rest with |p+ x p-|^2 (GENBOD weight and GSW envelope as in
        # gen.hadronization.exclusive)
        w = three_body1(rng, m_om, M_PI, M_PI, M_PI0, out_p, 0)
        pmax = two_body_momentum1(m_om, M_PI, M_PI + M_PI0)
        wmax = (two_body_momentum1(m_om - M_PI0, M_PI, M_PI)
                * two_body_momentum1(m_om, 2.0 * M_PI, M_PI0))
        nx = out_p[0, 1] * out_p[1, 2] - out_p[0, 2] * out_p[1, 1]
        ny = out_p[0, 2] * out_p[1, 0] - out_p[0, 0] * out_p[1, 2]
        nz = out_p[0, 0] * out_p[1, 1] - out_p[0, 1] * out_p[1, 0]
        n2 = nx * nx + ny * ny + nz * nz
        if not (rng.random() * wmax * pmax**4 < w * n2):
            continue
        # omega direction u: density |(n x u)_T|^2 / |n|^2 <= 1
        ux, uy, uz = isotropic1(rng)
        cx = ny * uz - nz * uy
        cy = nz * ux - nx * uz
        if rng.random() * n2 < cx * cx + cy * cy:
            break
    p = two_body_momentum1(rs, m_om, M_PI0)
    e_om = math.sqrt(p * p + m_om * m_om)
    bx, by, bz = p * ux / e_om, p * uy / e_om, p * uz / e_om
    for r in range(3):
        v = boost1(out_p[r, 0], out_p[r, 1], out_p[r, 2], out_p[r, 3], bx, by, bz)
        for c in range(4):
            out_p[r, c] = v[c]
    out_p[3, 0], out_p[3, 1], out_p[3, 2] = -p * ux, -p * uy, -p * uz
    out_p[3, 3] = math.sqrt(p * p + M_PI0 * M_PI0)


@kernel
def four_pion_final_state1(rng, s: float, charged: bool, out_pdg, out_p) -> int:
    """Four pions at gamma* mass^2 ``s`` (rest frame, z = beam axis) in rows 0..3; returns 4, or
    0 below threshold. 2 pi+ 2 pi-: pi+ pi+ pi- pi-; pi+ pi- 2 pi0: pi+ pi- pi0 pi0."""
    rs = math.sqrt(s)
    if rs <= (THR_4C if charged else THR_2N):
        return 0
    work = np.empty(12)
    if charged:
        out_pdg[0], out_pdg[1], out_pdg[2], out_pdg[3] = 211, 211, -211, -211
        _a1pi_event1(rng, rs, True, out_p, work)
        return 4
    out_pdg[0], out_pdg[1], out_pdg[2], out_pdg[3] = 211, -211, 111, 111
    if rs > M_OMEGA + M_PI0 and rng.random() < omega_fraction1(rs):
        _omega_pi0_event1(rng, rs, out_p)
        if rng.random() < 0.5:  # the two pi0 rows in random order (identical particles)
            for c in range(4):
                out_p[2, c], out_p[3, c] = out_p[3, c], out_p[2, c]
    else:
        _a1pi_event1(rng, rs, False, out_p, work)
    return 4


@kernel
def pilot_a1pi_max(rng, rs: float, charged: bool, trials: int) -> float:
    """Largest GENBOD weight x ``a1pi_current_t2`` in ``trials`` flat phase-space points."""
    masses = MASSES_4C if charged else MASSES_2N
    work = np.empty(12)
    p = np.zeros((4, 4))
    best = 0.0
    for _ in range(trials):
        w = genbod_work1(rng, rs, masses, 4, p, 0, work)
        if w > 0.0:
            best = max(best, w * a1pi_current_t2(p, 0, charged))
    return best
