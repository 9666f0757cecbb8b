"""Born e+e- -> f f-bar (a charged lepton of mass m) with gamma + Z exchange and running alpha.

Shared by ``mumu`` and ``tautau``. Massless electrons, the final-state mass kept in the photon
term (Peskin & Schroeder sec. 5.1; PDG RPP 2024 "Cross-section formulae", e+e- -> f f-bar):

    d sigma / d cos = (pi alpha^2 / (2 s)) beta [(1 + c^2) C1 + (1 - beta^2)(1 - c^2) CM
                                                 + 2 beta c C2],
    sigma           = (pi alpha^2 / (2 s)) beta [8/3 C1 + 4/3 (1 - beta^2) CM],

with alpha = alpha(0), beta = sqrt(1 - 4 m^2 / s) and, for the amplitude
alpha [P(s) (photon) + chi(s) (Z)] (standard tree-level gamma + Z, e.g. PDG RPP 2024 sec. 10),

    C1 = |P|^2 + 2 v^2 Re(P* chi) + (v^2 + a^2)^2 |chi|^2,    CM = |P|^2,
    C2 = 2 a^2 Re(P* chi) + 4 v^2 a^2 |chi|^2,
    chi = r_Z s / (s - M_Z^2 + i M_Z Gamma_Z) / (4 sin^2 cos^2),  v = -1/2 + 2 sin^2, a = -1/2,

sin^2 = sin^2(theta_eff^lept). The Z parts are massless (their m-corrections are
O(m^2/s x 1e-2) < 1e-4 at 10.58 GeV).

Vacuum polarisation (``vp``): P = 1 / (1 - Delta alpha(s)) with the complex Delta alpha of
``gen.vacpol`` (leptons one loop + hadrons, Burkhardt & Pietrzyk; its tabulated form, 1e-8
absolute) evaluated at the s of the
hard process (the reduced s' after ISR), i.e. the running coupling alpha(s') of the photon
exchange, and r_Z = alpha(M_Z^2) / alpha(0) = 1 / (1 - Re Delta alpha(M_Z^2)): the Z couplings
with alpha(M_Z^2) and sin^2 theta_eff, the "improved Born approximation" (Bardin & Passarino,
"The Standard Model in the making", 1999, sec. 10; equivalent to the G_F normalisation to
~1 %, which changes sigma by < 1e-6 here). Without ``vp``: P = 1, r_Z = 1 (alpha(0) everywhere).

``pair_trial_cm1``: the part of a trial common to ``mumu`` and ``tautau`` - collision, ISR
(gen.radiation.isr_fractions1, isr_photon_momenta_polar1), Born weight at s', Born angle about
the Collins-Soper axis and FSR (gen.radiation.fsr_pair_rest1: the law of fsr_pair1 in the pair
rest frame) - in the c.m. frame; the processes take it to the lab and add their
decays and cuts. It is ``pair_weight1`` (everything the weight depends on: ISR energy fractions,
s' = x1 x2 s, Born factors) followed by ``pair_event_cm1`` (photon angles, Born angle, FSR), so a
hit-or-miss sampler can draw the second part for hit trials only (``gen.unweight``).
"""

from __future__ import annotations

import math

from particle import Particle

from gen.beams import sample_collision1
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E
from gen.jit import kernel
from gen.kinematics import rotate_z_to1, two_body_momentum1
from gen.radiation import (
    ISR_K_FACTOR,
    collins_soper_axis1,
    emission_params1,
    fsr_k_factor1,
    fsr_pair_rest_p1,
    fsr_rest_params1,
    isr_consts1,
    isr_fractions_c1,
    isr_photon_directions_p1,
    isr_recoil_energies1,
    sample_azimuth1,
)
from gen.vacpol import delta_alpha1, delta_alpha_tab1

_Z = Particle.from_pdgid(23)
#: Z mass and width in GeV (PDG via ``particle``)
M_Z = _Z.mass * 1e-3
GAMMA_Z = _Z.width * 1e-3
#: effective leptonic weak mixing angle sin^2(theta_eff^lept) (PDG RPP 2024, Electroweak model)
SIN2_THETA_EFF = 0.23153

_KAPPA = 1.0 / (4.0 * SIN2_THETA_EFF * (1.0 - SIN2_THETA_EFF))
_GV = -0.5 + 2.0 * SIN2_THETA_EFF
_GA = -0.5
_MZ2 = M_Z * M_Z
_MZGZ = M_Z * GAMMA_Z
#: alpha(M_Z^2) / alpha(0) with the Delta alpha of gen.vacpol (~1.063)
R_Z_VP = 1.0 / (1.0 - delta_alpha1(_MZ2)[0])


@kernel
def born_factors1(s: float, m: float, zex: bool, vp: bool):
    """(C1, C2, CM) of the Born cross section (module docstring) at c.m. energy squared s."""
    p_re, p_im = 1.0, 0.0
    r_z = 1.0
    if vp:
        d_re, d_im = delta_alpha_tab1(s)  # exact to 1e-8 (gen.vacpol)
        den = (1.0 - d_re) ** 2 + d_im * d_im
        # 1 / (1 - d) = (1 - d*) / |1 - d|^2
        p_re, p_im = (1.0 - d_re) / den, d_im / den
        r_z = R_Z_VP
    p2 = p_re * p_re + p_im * p_im
    if not zex:
        return p2, 0.0, p2
    den = (s - _MZ2) ** 2 + _MZGZ * _MZGZ
    chi_re = r_z * _KAPPA * s * (s - _MZ2) / den
    chi_im = -r_z * _KAPPA * s * _MZGZ / den
    chi2 = chi_re * chi_re + chi_im * chi_im
    re_pchi = p_re * chi_re + p_im * chi_im
    gv2, ga2 = _GV * _GV, _GA * _GA
    c1 = p2 + 2.0 * gv2 * re_pchi + (gv2 + ga2) ** 2 * chi2
    c2 = 2.0 * ga2 * re_pchi + 4.0 * gv2 * ga2 * chi2
    return c1, c2, p2


@kernel
def born_sigma_f1(s: float, m: float, alpha0: float, c1: float, cm: float) -> float:
    """Born sigma in GeV^-2 from the factors of ``born_factors1``; 0 at and below threshold."""
    if s <= 4.0 * m * m:
        return 0.0
    beta = math.sqrt(1.0 - 4.0 * m * m / s)
    return math.pi * alpha0 * alpha0 / (2.0 * s) * beta * (
        8.0 / 3.0 * c1 + 4.0 / 3.0 * (1.0 - beta * beta) * cm)


@kernel
def born_sigma_b1(inv_s: float, beta: float, alpha0: float, c1: float, cm: float) -> float:
    """``born_sigma_f1`` above threshold from 1/s and beta = sqrt(1 - 4 m^2/s) (event loops
    need beta for the FSR factor as well: one square root and one division per trial)."""
    return (0.5 * math.pi * alpha0 * alpha0) * inv_s * beta * (
        8.0 / 3.0 * c1 + 4.0 / 3.0 * (1.0 - beta * beta) * cm)


@kernel
def born_cos_density_f1(c: float, s: float, m: float, c1: float, c2: float, cm: float) -> float:
    """Normalised density in cos(theta*) (e- to f) from the factors of ``born_factors1``."""
    beta = math.sqrt(1.0 - 4.0 * m * m / s)
    mass = (1.0 - beta * beta) * cm
    f = (1.0 + c * c) * c1 + mass * (1.0 - c * c) + 2.0 * beta * c2 * c
    return f / (8.0 / 3.0 * c1 + 4.0 / 3.0 * mass)


@kernel
def sample_born_cos_f1(rng, s: float, m: float, c1: float, c2: float, cm: float) -> float:
    """cos(theta*) between e- and f from the Born distribution (hit-or-miss, exact)."""
    beta = math.sqrt(1.0 - 4.0 * m * m / s)
    mass = (1.0 - beta * beta) * cm
    fmax = 2.0 * c1 + mass + 2.0 * abs(c2)
    while True:
        c = 2.0 * rng.random() - 1.0
        f = (1.0 + c * c) * c1 + mass * (1.0 - c * c) + 2.0 * beta * c2 * c
        if rng.random() * fmax < f:
            return c


@kernel
def born_sigma_ff(s: float, m: float, alpha0: float, zex: bool, vp: bool) -> float:
    """Born sigma(e+e- -> f f-bar) in GeV^-2 (module docstring); 0 at and below threshold."""
    if s <= 4.0 * m * m:
        return 0.0
    c1, _, cm = born_factors1(s, m, zex, vp)
    return born_sigma_f1(s, m, alpha0, c1, cm)


@kernel
def born_cos_density_ff(c: float, s: float, m: float, zex: bool, vp: bool) -> float:
    """Normalised density in cos(theta*) (e- to f) of the Born distribution."""
    c1, c2, cm = born_factors1(s, m, zex, vp)
    return born_cos_density_f1(c, s, m, c1, c2, cm)


@kernel
def sample_born_cos_ff(rng, s: float, m: float, zex: bool, vp: bool) -> float:
    """cos(theta*) between e- and f from the Born distribution (hit-or-miss, exact)."""
    c1, c2, cm = born_factors1(s, m, zex, vp)
    return sample_born_cos_f1(rng, s, m, c1, c2, cm)


@kernel
def pair_weight1(rng, sqrt_s: float, m: float, isr: bool, fsr: bool, zex: bool, vp: bool,
                 e_min: float, hard_fraction: float, x_min: float):
    """Weight part of a trial at c.m. energy ``sqrt_s``: ISR energy fractions and Born at s'.

    Returns (w, v1, v2, s', C1, C2, CM): w = K_ISR D D / pdf x sigma_Born(s') [x K_FSR] in pb
    (0 at or below threshold), s' = (1 - v1)(1 - v2) s (exact in the recoil scheme of
    ``gen.radiation.isr_photon_momenta1``), the Born factors for ``pair_event_cm1``. A sampler
    may draw the rest of the event (``pair_event_cm1``) for hit trials only. Event loops call
    ``pair_weight_c1`` with the ISR constants computed once (the same values to rounding).
    """
    cst = isr_consts1(sqrt_s, M_E, hard_fraction, x_min)
    return pair_weight_c1(rng, sqrt_s, m, isr, fsr, zex, vp, e_min, cst)


@kernel
def pair_weight_c1(rng, sqrt_s: float, m: float, isr: bool, fsr: bool, zex: bool, vp: bool,
                   e_min: float, cst):
    """``pair_weight1`` with ``cst`` = ``gen.radiation.isr_consts1(nominal sqrt_s, M_E,
    hard_fraction, x_min)`` (ISR fractions by ``isr_fractions_c1``)."""
    w = 1.0
    v1 = v2 = 0.0
    if isr:
        wi, v1, v2 = isr_fractions_c1(rng, sqrt_s, M_E, e_min, cst)
        w = wi * ISR_K_FACTOR
    sp = (1.0 - v1) * (1.0 - v2) * (sqrt_s * sqrt_s)
    if w <= 0.0 or sp <= 4.0 * m * m:
        return 0.0, v1, v2, sp, 0.0, 0.0, 0.0
    # Born factors (running alpha, Z) once per trial: weight and angle share them
    f1, f2, fm = born_factors1(sp, m, zex, vp)
    inv_sp = 1.0 / sp
    beta = math.sqrt(1.0 - 4.0 * m * m * inv_sp)
    w *= GEV2_TO_PB * born_sigma_b1(inv_sp, beta, ALPHA_EM, f1, fm)
    if fsr:
        # massive inclusive FSR factor at the pair velocity (+0.085 % for taus at 10.58 GeV)
        w *= fsr_k_factor1(beta)
    return w, v1, v2, sp, f1, f2, fm


@kernel
def pair_event_cm1(rng, sqrt_s: float, m: float, isr: bool, fsr: bool, v1: float, v2: float,
                   f1: float, f2: float, fm: float, e_min: float, kk, ff):
    """Event part of a trial after ``pair_weight1``: ISR photons, Born angle, FSR (c.m. frame).

    ``kk`` and ``ff`` as in ``pair_trial_cm1``. Returns (bqx, bqy, bqz, sqrt_s_prime,
    cos_theta, mask); sqrt_s_prime from the photon momenta (= sqrt((1 - v1)(1 - v2) s) to
    rounding), so four-momentum is conserved to rounding. ``pair_event_cm_p1`` with its
    constants computed here.
    """
    return pair_event_cm_p1(rng, sqrt_s, m, isr, fsr, v1, v2, f1, f2, fm, e_min, kk, ff,
                            -1.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0)


@kernel
def pair_event_cm_p1(rng, sqrt_s: float, m: float, isr: bool, fsr: bool, v1: float, v2: float,
                     f1: float, f2: float, fm: float, e_min: float, kk, ff, ib: float,
                     iomb: float, ilnr: float, fb: float, fv0: float, fw0: float, ff0: float):
    """``pair_event_cm1`` with its per-event constants passed in, so a sampler can compute them
    ahead for a block of hits (off the event's dependent chain):

    (ib, iomb, ilnr) = ``gen.radiation.emission_params1(sqrt_s/2, M_E)`` (ISR photon angles;
    ib < 0: computed here if a photon is emitted), (fb, fv0, fw0, ff0) =
    ``gen.radiation.fsr_rest_params1(m, sqrt_s', e_min)`` (fb < 0: computed here from the
    sqrt_s' of the photon momenta). The same random draws as ``pair_event_cm1``.
    """
    if isr:
        eb = 0.5 * sqrt_s
        if ib < 0.0 and (v1 > 0.0 or v2 > 0.0):
            ib, iomb, ilnr = emission_params1(eb, M_E)
        isr_photon_directions_p1(rng, ib, iomb, ilnr, v1, v2, kk, True)
        isr_recoil_energies1(kk, v1 * eb, v2 * eb, sqrt_s)
    else:
        for i in range(2):
            for j in range(4):
                kk[i, j] = 0.0
    qx = -(kk[0, 0] + kk[1, 0])
    qy = -(kk[0, 1] + kk[1, 1])
    qz = -(kk[0, 2] + kk[1, 2])
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    sp = qe * qe - qx * qx - qy * qy - qz * qz
    msp = math.sqrt(sp)
    pstar = two_body_momentum1(msp, m, m)
    estar = 0.5 * msp
    bqx, bqy, bqz = qx / qe, qy / qe, qz / qe
    ax, ay, az = collins_soper_axis1(sqrt_s, bqx, bqy, bqz)
    c = sample_born_cos_f1(rng, sp, m, f1, f2, fm)
    cphi, sphi = sample_azimuth1(rng)
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    dx, dy, dz = rotate_z_to1(sn * cphi, sn * sphi, c, ax, ay, az)
    ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = pstar * dx, pstar * dy, pstar * dz, estar
    ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -pstar * dx, -pstar * dy, -pstar * dz, estar
    mask = 0
    if fsr:
        if fb < 0.0:
            fb, fv0, fw0, ff0 = fsr_rest_params1(m, msp, e_min)
        # the pair is at rest in this frame: fsr_pair1's law without its boosts
        mask = fsr_pair_rest_p1(rng, ff, m, msp, dx, dy, dz, fb, fv0, fw0, ff0)
    return bqx, bqy, bqz, msp, c, mask


@kernel
def pair_trial_cm1(rng, e_her: float, e_ler: float, spread_her: float, spread_ler: float,
                   half_angle: float, m: float, isr: bool, fsr: bool, zex: bool, vp: bool,
                   e_min: float, hard_fraction: float, x_min: float, kk, ff):
    """Collision, ISR, Born f f-bar at s' and FSR of one trial, in the c.m. frame.

    ``kk`` (2, 4) receives the ISR photons (c.m. frame), ``ff`` (4, 4) f, f-bar and their FSR
    photons in the rest frame of the pair before FSR (which moves with velocity bq in the c.m.).
    Returns (w, sqrt_s, bx, by, bz, nx, ny, nz, bqx, bqy, bqz, sqrt_s_prime, cos_theta, mask):
    w = K_ISR D D / pdf x sigma_Born(s') [x K_FSR(beta')] in pb (0 if the point is not kinematically
    allowed: then only sqrt_s is meaningful), (bx .. nz) of ``sample_collision1``, mask the FSR
    photons emitted (bit 0: f, bit 1: f-bar). ``pair_weight1`` then ``pair_event_cm1``.
    """
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
        rng, e_her, e_ler, spread_her, spread_ler, half_angle)
    w, v1, v2, _, f1, f2, fm = pair_weight1(rng, sqrt_s, m, isr, fsr, zex, vp, e_min,
                                            hard_fraction, x_min)
    if w <= 0.0:
        return 0.0, sqrt_s, bx, by, bz, nx, ny, nz, 0.0, 0.0, 0.0, 0.0, 0.0, 0
    bqx, bqy, bqz, msp, c, mask = pair_event_cm1(rng, sqrt_s, m, isr, fsr, v1, v2, f1, f2, fm,
                                                 e_min, kk, ff)
    return w, sqrt_s, bx, by, bz, nx, ny, nz, bqx, bqy, bqz, msp, c, mask
