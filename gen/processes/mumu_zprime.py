"""e+ e- -> mu+ mu- Z': the L_mu - L_tau Z' radiated off a muon of e+ e- -> gamma* -> mu+ mu-.

Process and model: the Belle II invisible-Z' search (arXiv:1912.11276, Fig. 1) and the BaBar
Z' -> mu+ mu- search (arXiv:1606.03501); the Z' couples to the muon as
g' mu-bar gamma^alpha mu Z'_alpha (``gen.models.lmu_ltau``). Two tree-level diagrams: the s-channel
photon makes the mu+ mu- pair and the Z' is emitted from the mu- or from the mu+ line. The
amplitude is

    M = (e^2 g' / s) [v-bar(q2) gamma^mu u(q1)]
        u-bar(p1) [ gamma^nu (p1+k+m) gamma_mu / D1 + gamma_mu (-p2-k+m) gamma^nu / D2 ] v(p2)
        eps*_nu(k),      D1 = (p1+k)^2 - m^2 = 2 p1.k + M^2,  D2 = (p2+k)^2 - m^2 = 2 p2.k + M^2,

with q1 (e-), q2 (e+), p1 (mu-), p2 (mu+), k (Z'), m = m_mu, M = m_Z', s = (q1+q2)^2.

|M|^2 summed over all spins and the three Z' polarizations (sum_pol eps eps* = -g + k k/M^2; the
k k term vanishes because the Z' couples to the conserved muon current) was derived for this module
with the trace technique, muon mass kept, electron mass neglected (corrections O(m_e^2/s) ~ 1e-8:
there is no t-channel), and checked against an independent numerical trace with explicit Dirac
matrices in tests/gen/test_mumu_zprime.py (agreement better than 1e-10, ~1e-14 typical). With
Q = q1 + q2, a_i = q1.p_i, b_i = q2.p_i, c = M^2 + 2 m^2:

    sum |M|^2 = 32 e^4 g'^2 / s^2 * [ T / (D1 D2) - c (t2 / D1^2 + t1 / D2^2)
                                      - s ((c + Q.p1) / D1 + (c + Q.p2) / D2) ],
    t_i = s (Q.p_i + m^2) - 4 a_i b_i,
    T   = s (M^4 + M^2 s - 4 m^4) + s (c + s) Q.(p1 + p2)
          - 4 c (a1 b2 + a2 b1) - 4 s (a1 b1 + a2 b2).

In the c.m. frame with the e- along +z (a_i = sqrt(s)(E_i - z_i)/2, b_i = sqrt(s)(E_i + z_i)/2)
this is ``32 e^4 g'^2 / s * F`` with F as in ``_msq_core``.

Phase space (c.m. frame, per trial sqrt(s) from ``gen.beams.sample_beam_energies1`` and
``collision_sqrt_s1``; the lab frame, ``collision_frame1``, only for accepted events): the Z'
momentum |k| = M sinh(u) with u drawn from min(u^2, 1) (close to the soft spectrum tanh(u)^2 du,
i.e. dE/E above E ~ M with the threshold suppression below), its direction isotropic; the muons
decay isotropically in azimuth in the mu+ mu- rest frame, with the polar angle chi to the Z'
direction drawn from the mixture (1/D1 + 1/D2)/2 of the two collinear propagators (exactly
invertible in chi). Unweighting efficiency without ISR (sigma / w_max, pilot safety factor
``PILOT_SAFETY_SHARP_EDGE``) 0.42, 0.50, 0.39 for M = 0.1, 1, 5 GeV. Trial weight (pb) =
GEV2_TO_PB * 1/(2s) * (1/4) sum |M|^2 * dPhi_3 / (sampling density).

Initial-state radiation (card ``isr``, default true; ``gen.radiation``): per trial both beams
radiate one effective collinear photon each (``isr_photons1``: Kuraev-Fadin structure functions
at O(beta^2), finite photon angles, exact recoil s' = (P - k1 - k2)^2 = x1 x2 s), and the hard
2 -> 3 process is generated at sqrt(s') in the rest frame of Q = P - k1 - k2 with the exact
|M|^2 above, so the sample integrates

    sigma = K_ISR int dx1 dx2 D(x1) D(x2) sigma_hard(x1 x2 s)

(trial weight = ISR weight * ISR_K_FACTOR * hard weight at s'; 0 below s' = (M + 2 m_mu)^2).
Approximation: in the Q rest frame the radiating e- and e+ are not exactly back-to-back when the
photons have transverse momentum; the hard process is evaluated for on-shell massless e- and e+
of energy sqrt(s')/2 along the Collins-Soper axis (bisector of the e- direction and the reversed
e+ direction in that frame; Collins, Soper, Phys. Rev. D 16 (1977) 2219; the same choice as
``gen.processes.mumu``), which neglects
O(p_T(gamma)^2 / s') effects, within the collinear (leading-log) accuracy of the structure
functions themselves. FSR off the muons and initial-final interference are not included.
Acceptance first: s' = (1 - v1)(1 - v2) s is exact in the recoil scheme of ``isr_photons1``, so a
trial draws only the energy fractions; the photon directions and energies
(``gen.radiation.isr_photon_momenta1``, the second half of ``isr_photons1``) are drawn for
accepted trials.
Unweighting efficiency with ISR (sigma / w_max, see ``ISR_HARD_FRACTION``) 0.39, 0.43, 0.30
for M = 0.1, 1, 5 GeV (0.35, 0.38, 0.27 with the generic safety factor 1.3). ISR changes sigma
by +11 %, +3 %, -8 %, -16 % at M = 0.1, 1, 5, 8 GeV (vacuum polarisation off).

Vacuum polarisation (card ``vacuum_polarisation``, default true): the s-channel photon is
dressed with the running coupling at its virtuality, the reduced s' after ISR (s without ISR):
|M|^2 -> |M|^2 / |1 - Delta alpha(s')|^2 (``gen.vacpol.vp_factor1``: one-loop leptons plus the
Burkhardt-Pietrzyk hadronic parametrisation; +7.7 % at sqrt(s') = 10.58 GeV), as for the
e+ e- -> mu+ mu- background (``gen.processes.mumu``). The g' vertex and the Z' propagator are
not dressed (Z' on shell, g' defined at the Z' mass).

Decay: only ``decay = "invisible"`` for now: the Z' is written as a final-state particle (status 1).
The sample cross section is the PRODUCTION cross section sigma(e+ e- -> mu+ mu- Z'); multiply by
``gen.models.lmu_ltau.branching_invisible`` for the vanilla model (1 in the fully invisible case).
Further modes ("mumu", "tautau") can be added as choices of ``decay`` (Z' then status 2 with
daughters).

Output per event: mu-, mu+, Z', then the ISR photons (pdg 22; the e- beam's, then the e+ beam's),
each only if emitted above ``photon_min_energy_gev`` in the c.m. frame (softer photons are not
produced and their energy stays with the beam, an O(beta E_min / E_beam) ~ 1e-6 approximation), so
events hold 3-5 particles, all status 1, mother -1. Four-momentum is conserved exactly: P_beams =
p(mu-) + p(mu+) + p(Z') + sum of photons. Truth: ``m_x`` (M), ``sqrt_s`` (of the colliding beams)
and ``sqrt_s_prime`` (= sqrt((P - k1 - k2)^2), the mass of mu+ mu- Z'; equals ``sqrt_s`` with
``isr = false``).
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import (
    cm_to_lab1,
    collision_frame1,
    collision_sqrt_s1,
    sample_beam_energies1,
)
from gen.cards import CardError, Param
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_MU, MUON, PHOTON
from gen.events import EventChunk, SamplingStats
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1
from gen.pdgids import ZPRIME
from gen.processes.base import PILOT_POINTS, PILOT_SAFETY, Process
from gen.radiation import ISR_K_FACTOR, isr_fractions_l1, isr_photon_momenta1
from gen.unweight import (
    checked_chunk,
    fill_event1,
    new_events,
    new_stats,
    stats_from_array,
    unweight1,
)
from gen.vacpol import vp_factor_tab1

#: decay modes of the Z' the process can write (see module docstring)
DECAY_MODES = ("invisible",)
#: safety factor on the pilot maximum weight, instead of the generic ``PILOT_SAFETY`` (1.3): the
#: weights of this sampler have a sharp upper edge (see ``ISR_HARD_FRACTION``), so the pilot
#: maximum (2e5 trials) is already close to the true one. Measured (default beams, VP on): the
#: largest of 4e6 further trials exceeds the pilot maximum by at most 1.6 % with ISR and 4.7 %
#: without (M = 10 GeV, next to the kinematic limit) for M = 0.01, 0.1, 1, 5, 8, 10 GeV;
#: 1.15 leaves three times that margin and raises the unweighting efficiency by 1.3/1.15 = 13 %.
#: Overweight trials stay counted in n_overweight (tests require <= 1e-3 of the trials).
PILOT_SAFETY_SHARP_EDGE = 1.15

#: default coupling: near the (g-2)_mu-favoured band and the Belle II reach (arXiv:1912.11276);
#: the cross section scales exactly as g'^2 and the kinematics do not depend on g'
DEFAULT_G_PRIME = 1.0e-3

#: probability of the dx/x channel of the ISR energy-fraction sampling (``isr_photons1``): the
#: hard-process cross section rises at most like 1/s' (times logarithms) towards the threshold,
#: so a small dx/x admixture keeps the weights bounded; 0.05 maximises the unweighting efficiency
#: among 0.01, 0.03, 0.05, 0.1, 0.2, 0.35 for M = 0.1-8 GeV (weights then have a sharp upper edge:
#: the soft-photon corner x1 = x2 = 1 times the hard-weight maximum; the largest of 8e6 trials per
#: mass is within 1.5 % of the 2e5-point pilot maximum, i.e. no overweight events)
ISR_HARD_FRACTION = 0.05

_E4 = (4.0 * math.pi * ALPHA_EM) ** 2  # e^4, e^2 = 4 pi alpha (PDG 2024, Physical constants)
_PS_NORM = 1.0 / (32.0 * math.pi**3)  # see _sample_cm1
#: the hard point of a trial below threshold (weight 0, no momenta)
_NO_HARD = (0.0,) * 13


@kernel
def _msq_core(sqrt_s, e1, e2, pt1sq, pt2sq, ezz, d1, d2, m, mz, g_prime):
    """sum |M|^2 in the c.m. frame (e- along +z) from energies, pT^2 and the propagators.

    ``ezz`` = E1 E2 - z1 z2; D1 = 2 p1.k + M^2, D2 = 2 p2.k + M^2 passed in (kept precise by the
    sampler). Module docstring: sum|M|^2 = 32 e^4 g'^2/s F with
    F = G/(D1 D2) - c [(W E2 - pT2^2)/D1^2 + (W E1 - pT1^2)/D2^2] - (c + W E1)/D1 - (c + W E2)/D2,
    G = M^4 + M^2 s - 4 m^4 + (c + s) W (E1 + E2) - 2 c ezz - s (2 m^2 + pT1^2 + pT2^2),
    W = sqrt(s), c = M^2 + 2 m^2.
    """
    s = sqrt_s * sqrt_s
    m2 = m * m
    mz2 = mz * mz
    c = mz2 + 2.0 * m2
    we1 = sqrt_s * e1
    we2 = sqrt_s * e2
    g = (
        mz2 * mz2
        + mz2 * s
        - 4.0 * m2 * m2
        + (c + s) * (we1 + we2)
        - 2.0 * c * ezz
        - s * (2.0 * m2 + pt1sq + pt2sq)
    )
    i1 = 1.0 / d1
    i2 = 1.0 / d2
    f = (
        g * i1 * i2
        - c * ((we2 - pt2sq) * i1 * i1 + (we1 - pt1sq) * i2 * i2)
        - (c + we1) * i1
        - (c + we2) * i2
    )
    return 32.0 * _E4 * g_prime * g_prime / s * f


@kernel
def msq_cm1(sqrt_s, p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, m, mz, g_prime):
    """sum over spins and Z' polarizations of |M|^2 for e- e+ -> mu- mu+ Z' (dimensionless).

    c.m. frame, e- along +z with energy sqrt_s/2, e+ along -z; p1 = mu-, p2 = mu+ (px, py, pz, e);
    the Z' momentum is k = (0, 0, 0, sqrt_s) - p1 - p2, so D1 = (p1+k)^2 - m^2 = s - 2 sqrt_s E2
    and D2 = s - 2 sqrt_s E1. Electron mass neglected. Multiply by 1/4 for the spin average.
    """
    s = sqrt_s * sqrt_s
    d1 = s - 2.0 * sqrt_s * e2
    d2 = s - 2.0 * sqrt_s * e1
    return _msq_core(
        sqrt_s,
        e1,
        e2,
        p1x * p1x + p1y * p1y,
        p2x * p2x + p2y * p2y,
        e1 * e2 - p1z * p2z,
        d1,
        d2,
        m,
        mz,
        g_prime,
    )


@kernel
def _random_azimuth1(rng):
    """(cos phi, sin phi) of a uniform azimuth without trigonometric calls.

    von Neumann's method (J. von Neumann, NBS Appl. Math. Ser. 12 (1951) 36): (a, b) uniform in
    the unit disk, cos phi = (a^2 - b^2)/r^2, sin phi = 2ab/r^2 (phi = twice the angle of (a, b)).
    """
    while True:
        a = 2.0 * rng.random() - 1.0
        b = 2.0 * rng.random() - 1.0
        r2 = a * a + b * b
        if 0.0 < r2 <= 1.0:
            return (a * a - b * b) / r2, 2.0 * a * b / r2


@kernel
def _sample_cm1(rng, sqrt_s, m, mz):
    """One phase-space point of mu- mu+ Z' in the c.m. frame (e- along +z).

    Returns (p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, kx, ky, kz, ek, d1, d2, psw): mu-, mu+, Z',
    the propagator denominators D1 = 2 p1.k + M^2 and D2 = 2 p2.k + M^2 computed without
    cancellation, and psw = dPhi_3 / (sampling density) (GeV^2; psw = 0 if below threshold).
    Draws three uniforms, then (only above threshold) the two azimuth/direction pairs by rejection.

    dPhi_3 = d^3k / ((2 pi)^3 2 E_k) * p*/(16 pi^2 m12) dOmega* (PDG RPP 2024, Kinematics review,
    recursive n-body phase space), with p* the muon momentum in the mu+ mu- rest frame (invariant
    mass m12); sampling density g(u)/E_k in |k| = M sinh(u) (g(u) = min(u^2, 1)/norm), 1/(4 pi)
    in the Z' direction, 1/(2 pi) in the azimuth and f(cos chi) in the polar angle chi of the mu-
    (mu+ mu- rest frame, measured from the Z' direction), so psw = |k|^2 p* / (32 pi^3 m12 f g(u)).
    In the mu+ mu- rest frame D1 = A - B cos(chi) and D2 = A + B cos(chi), with
    A = 2 E* E_k* + M^2, B = 2 p* k*; f = B/(2 L) (1/D1 + 1/D2), L = ln((A+B)/(A-B)).
    """
    r_k = rng.random()
    r_ch = rng.random()
    r_x = rng.random()
    s = sqrt_s * sqrt_s
    m2 = m * m
    mz2 = mz * mz
    ek_max = (s + mz2 - 4.0 * m2) / (2.0 * sqrt_s)
    if sqrt_s <= mz + 2.0 * m or ek_max <= mz:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    # |k| = M sinh(u), u in [0, u_max] with density min(u^2, 1)/norm: the soft spectrum
    # dsigma/du ~ tanh(u)^2 (|k|^2 d|k|/E_k^3 per emission, times the eikonal ~1/E_k^2)
    u_max = math.asinh(math.sqrt((ek_max - mz) * (ek_max + mz)) / mz)
    if u_max <= 1.0:
        norm = u_max * u_max * u_max / 3.0
        u = u_max * r_k ** (1.0 / 3.0)
    else:
        norm = u_max - 2.0 / 3.0
        t = r_k * norm
        u = (3.0 * t) ** (1.0 / 3.0) if t < 1.0 / 3.0 else t + 2.0 / 3.0
    g_u = min(u * u, 1.0) / norm
    em = math.expm1(u)  # sinh u = em (em + 2) / (2 (em + 1)), cosh u = sinh u + 1/(em + 1)
    kk = 0.5 * mz * em * (em + 2.0) / (em + 1.0)
    ek = kk + mz / (em + 1.0)
    e12 = sqrt_s - ek
    m12sq = (e12 - kk) * (e12 + kk)
    half = 0.5 * math.sqrt(m12sq)
    if kk <= 0.0 or half <= m:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0)
    m12 = 2.0 * half
    e_st = half
    p_st = math.sqrt((half - m) * (half + m))
    k_st = sqrt_s * kk / m12  # |k| in the mu+ mu- rest frame = sqrt(lambda(s, m12^2, M^2))/(2 m12)
    ek_st = math.sqrt(k_st * k_st + mz2)
    b = 2.0 * p_st * k_st
    # A - B without cancellation: E* E_k* - p* k* = (m^2 E_k*^2 + M^2 p*^2) / (E* E_k* + p* k*)
    amb = 2.0 * (m2 * ek_st * ek_st + mz2 * p_st * p_st) / (e_st * ek_st + p_st * k_st) + mz2
    lg = math.log1p(2.0 * b / amb)
    x = amb * math.expm1(r_x * lg) / b  # 1 - cos(chi) (channel 1) or 1 + cos(chi) (channel 2)
    x = min(x, 2.0)
    if r_ch < 0.5:  # D1 ~ 1/D1: Z' collinear with the mu-
        cchi = 1.0 - x
        d1 = amb + b * x
        d2 = amb + b * (2.0 - x)
    else:  # Z' collinear with the mu+
        cchi = x - 1.0
        d2 = amb + b * x
        d1 = amb + b * (2.0 - x)
    schi = math.sqrt(x * (2.0 - x))
    f = 0.5 * b / lg * (1.0 / d1 + 1.0 / d2)
    cphi, sphi = _random_azimuth1(rng)  # azimuth of the mu- about the Z' axis
    ux = p_st * schi * cphi
    uy = p_st * schi * sphi
    uz = p_st * cchi
    # boost from the mu+ mu- rest frame (Z' along +z) to the c.m. frame: velocity -|k|/E12 along z
    z1 = (e12 * uz - kk * e_st) / m12
    e1 = (e12 * e_st - kk * uz) / m12
    z2 = (-e12 * uz - kk * e_st) / m12
    e2 = (e12 * e_st + kk * uz) / m12
    # isotropic Z' direction n (Marsaglia, Ann. Math. Stat. 43 (1972) 645: (a, b) uniform in the
    # unit disk, S = a^2 + b^2, n = (2 a sqrt(1-S), 2 b sqrt(1-S), 1 - 2 S)); the orthonormal frame
    # (e_theta, e_phi, n) with e_phi = (-b, a, 0)/sqrt(S) takes the z axis onto n
    while True:
        a = 2.0 * rng.random() - 1.0
        bb = 2.0 * rng.random() - 1.0
        sq = a * a + bb * bb
        if 0.0 < sq < 1.0:
            break
    inv = 1.0 / math.sqrt(sq)
    cp = a * inv
    sp = bb * inv
    ct = 1.0 - 2.0 * sq
    st = 2.0 * math.sqrt(1.0 - sq) * sq * inv
    nx, ny, nz = st * cp, st * sp, ct
    tx, ty, tz = ct * cp, ct * sp, -st
    p1x = ux * tx - uy * sp + z1 * nx
    p1y = ux * ty + uy * cp + z1 * ny
    p1z = ux * tz + z1 * nz
    p2x = -ux * tx + uy * sp + z2 * nx
    p2y = -ux * ty - uy * cp + z2 * ny
    p2z = -ux * tz + z2 * nz
    psw = _PS_NORM * kk * kk * p_st / (m12 * f * g_u)
    return (p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, kk * nx, kk * ny, kk * nz, ek, d1, d2, psw)


@kernel
def _sample_cm_arrays(rng, n, sqrt_s, m, mz):
    """``n`` points of ``_sample_cm1`` at fixed sqrt_s as an (n, 15) array (tests, diagnostics)."""
    out = np.empty((n, 15))
    for i in range(n):
        r = _sample_cm1(rng, sqrt_s, m, mz)
        for j in range(15):
            out[i, j] = r[j]
    return out


@kernel
def _hard1(rng, sqrt_s, m, mz, g_prime, vp):
    """Hard point at c.m. energy ``sqrt_s`` (e- along +z): (w, 12 momenta mu-, mu+, Z').

    w (pb) = GEV2_TO_PB * 1/(2s) * (1/4) sum|M|^2 * dPhi_3 / (sampling density); 0 below
    threshold. ``vp``: times the vacuum polarisation of the s-channel photon,
    |1/(1 - Delta alpha(s))|^2 (``gen.vacpol.vp_factor1``; module docstring).
    """
    p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, kx, ky, kz, ek, d1, d2, psw = _sample_cm1(
        rng, sqrt_s, m, mz
    )
    w = 0.0
    if psw > 0.0:
        msq = _msq_core(
            sqrt_s,
            e1,
            e2,
            p1x * p1x + p1y * p1y,
            p2x * p2x + p2y * p2y,
            e1 * e2 - p1z * p2z,
            d1,
            d2,
            m,
            mz,
            g_prime,
        )
        # flux 1/(2s) (massless beams), spin average 1/4, GeV^-2 -> pb
        w = GEV2_TO_PB * 0.125 * msq * psw / (sqrt_s * sqrt_s)
        if vp:
            w *= vp_factor_tab1(sqrt_s * sqrt_s)  # tabulated: 2e-8 relative (gen.vacpol)
    return (w, p1x, p1y, p1z, e1, p2x, p2y, p2z, e2, kx, ky, kz, ek)


@kernel
def _trial_weights(rng, n, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp):
    out = np.empty(n)
    for i in range(n):
        eh, el = sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler)
        out[i] = _hard1(rng, collision_sqrt_s1(eh, el, half_angle), m, mz, g_prime, vp)[0]
    return out


@kernel
def _generate(
    rng, n, w_max, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp,
    px, py, pz, e, sqrt_s_out,
):  # fmt: skip
    """Hit-or-miss until n events; fills particles 3 i .. 3 i + 2 (mu-, mu+, Z') in the lab.

    The weight needs only sqrt(s): the lab frame of the collision (``collision_frame1``, a
    deterministic function of the drawn beam energies) is computed for accepted trials only.
    Returns the ``gen.unweight`` stats array.
    """
    stats = new_stats()
    i = 0
    while i < n:
        eh, el = sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler)
        sqrt_s = collision_sqrt_s1(eh, el, half_angle)
        h = _hard1(rng, sqrt_s, m, mz, g_prime, vp)
        if not unweight1(rng, stats, h[0], w_max):
            continue
        bx, by, bz, nx, ny, nz = collision_frame1(eh, el, half_angle)
        for j in range(3):
            q = 3 * i + j
            px[q], py[q], pz[q], e[q] = cm_to_lab1(
                h[1 + 4 * j], h[2 + 4 * j], h[3 + 4 * j], h[4 + 4 * j],
                bx, by, bz, nx, ny, nz,
            )  # fmt: skip
        sqrt_s_out[i] = sqrt_s
        i += 1
    return stats


# ------------------------------------------------------------------ initial-state radiation
@kernel
def _isr_trial1(rng, sqrt_s, m, mz, g_prime, vp, hard_fraction, x_min, lmin, e_min):
    """Weight of one ISR trial at c.m. energy ``sqrt_s``: (w, v1, v2, sqrt_s_prime, hard point).

    w (pb) = ISR weight (``gen.radiation.isr_fractions1``) * ISR_K_FACTOR * hard weight at
    s' = (1 - v1)(1 - v2) s (``_hard1``, whose momenta are in the rest frame of Q = P - k1 - k2
    with the colliding e- along +z); an unbiased estimator of
    K_ISR int dx1 dx2 D(x1) D(x2) sigma_hard(x1 x2 s) (gen.radiation). w = 0 below the
    mu mu Z' threshold.
    """
    wi, v1, v2 = isr_fractions_l1(rng, sqrt_s, M_E, hard_fraction, x_min, lmin, e_min)
    sp = (1.0 - v1) * (1.0 - v2) * (sqrt_s * sqrt_s)
    thr = mz + 2.0 * m
    if wi <= 0.0 or sp <= thr * thr:
        return 0.0, v1, v2, 0.0, _NO_HARD
    sqrt_sp = math.sqrt(sp)
    h = _hard1(rng, sqrt_sp, m, mz, g_prime, vp)
    return wi * ISR_K_FACTOR * h[0], v1, v2, sqrt_sp, h


@kernel
def _isr_to_lab1(sqrt_s, bx, by, bz, nx, ny, nz, kk, ff, buf):
    """mu-, mu+, Z' (``ff``, Q rest frame) and the ISR photons (``kk``, c.m.) into ``buf``, lab.

    Rows: mu-, mu+, Z', then the photon of the e- beam and of the e+ beam if present (energy
    > 0). Returns the number of rows written. Q = P - k1 - k2 moves with velocity Q/Q^0 in the
    c.m. frame; the hard process's +z axis is the Collins-Soper axis of the Q rest frame (bisector
    of the e- direction and the reversed e+ direction, boosted massless beams), as in
    ``gen.processes.mumu``.
    """
    qx = -(kk[0, 0] + kk[1, 0])
    qy = -(kk[0, 1] + kk[1, 1])
    qz = -(kk[0, 2] + kk[1, 2])
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    bqx, bqy, bqz = qx / qe, qy / qe, qz / qe
    ax, ay, az = 0.0, 0.0, 1.0
    if bqx * bqx + bqy * bqy + bqz * bqz > 0.0:
        a1 = boost1(0.0, 0.0, 1.0, 1.0, -bqx, -bqy, -bqz)
        a2 = boost1(0.0, 0.0, -1.0, 1.0, -bqx, -bqy, -bqz)
        ax = a1[0] / a1[3] - a2[0] / a2[3]
        ay = a1[1] / a1[3] - a2[1] / a2[3]
        az = a1[2] / a1[3] - a2[2] / a2[3]
        na = math.sqrt(ax * ax + ay * ay + az * az)
        ax, ay, az = ax / na, ay / na, az / na
    for r in range(3):
        rx, ry, rz = rotate_z_to1(ff[r, 0], ff[r, 1], ff[r, 2], ax, ay, az)
        v = boost1(rx, ry, rz, ff[r, 3], bqx, bqy, bqz)
        lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
        for j in range(4):
            buf[r, j] = lab[j]
    n = 3
    for i in range(2):
        if kk[i, 3] > 0.0:
            lab = cm_to_lab1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3], bx, by, bz, nx, ny, nz)
            for j in range(4):
                buf[n, j] = lab[j]
            n += 1
    return n


@kernel
def _isr_trial_weights(
    rng, n, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp,
    hard_fraction, x_min, e_min,
):  # fmt: skip
    out = np.empty(n)
    lmin = -math.log(x_min)
    for i in range(n):
        eh, el = sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler)
        sqrt_s = collision_sqrt_s1(eh, el, half_angle)
        out[i] = _isr_trial1(rng, sqrt_s, m, mz, g_prime, vp, hard_fraction, x_min, lmin,
                             e_min)[0]
    return out


#: particle ids of the rows of an event (mu-, mu+, Z', ISR photons)
_PDG_ROWS = np.array([MUON, -MUON, ZPRIME, PHOTON, PHOTON], dtype=np.int32)


@kernel
def _isr_generate(
    rng, n, w_max, e_her, e_ler, spread_her, spread_ler, half_angle, m, mz, g_prime, vp,
    hard_fraction, x_min, e_min,
):  # fmt: skip
    """Hit-or-miss until n events; returns particle arrays, offsets, truth and statistics.

    Acceptance first: a trial draws the beam energies, the ISR energy fractions and the hard
    point; the collision frame and the photon directions (which do not change the weight) are
    drawn for accepted trials only.
    """
    mom, pdg, offset = new_events(n, 5)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    kk = np.zeros((2, 4))
    ff = np.zeros((3, 4))
    buf = np.zeros((5, 4))
    stats = new_stats()
    lmin = -math.log(x_min)
    i = 0
    while i < n:
        eh, el = sample_beam_energies1(rng, e_her, e_ler, spread_her, spread_ler)
        sqrt_s = collision_sqrt_s1(eh, el, half_angle)
        w, v1, v2, sqrt_sp, h = _isr_trial1(
            rng, sqrt_s, m, mz, g_prime, vp, hard_fraction, x_min, lmin, e_min
        )
        if not unweight1(rng, stats, w, w_max):
            continue
        bx, by, bz, nx, ny, nz = collision_frame1(eh, el, half_angle)
        isr_photon_momenta1(rng, sqrt_s, M_E, v1, v2, kk)
        for r in range(3):
            for j in range(4):
                ff[r, j] = h[1 + 4 * r + j]
        npart = _isr_to_lab1(sqrt_s, bx, by, bz, nx, ny, nz, kk, ff, buf)
        fill_event1(mom, pdg, offset, i, buf, npart, _PDG_ROWS)
        t_sqrt_s[i] = sqrt_s
        t_sqrt_sp[i] = sqrt_sp
        i += 1
    return mom, pdg, offset, t_sqrt_s, t_sqrt_sp, stats


class MuMuZPrime(Process):
    """e+ e- -> mu+ mu- Z' with an invisible (final-state) L_mu - L_tau Z'."""

    name = "mumu_zprime"
    description = (
        "e+ e- -> mu+ mu- Z' (L_mu - L_tau Z' radiated off a muon; exact tree-level |M|^2 with "
        "muon mass), Z' invisible, ISR structure functions"
    )
    params = {
        "mass_gev": Param(
            float,
            doc="Z' mass in GeV (0 < M < sqrt(s) - 2 m_mu)",
            minimum=0.0,
            exclusive_minimum=True,
            required=True,
        ),
        "g_prime": Param(
            float,
            default=DEFAULT_G_PRIME,
            doc="L_mu - L_tau gauge coupling g' (cross section scales as g'^2); perturbative: "
            "g'^2/(4 pi) < 1",
            minimum=0.0,
            exclusive_minimum=True,
            maximum=math.sqrt(4.0 * math.pi),
        ),
        "decay": Param(
            str,
            default="invisible",
            doc="Z' decay mode: 'invisible' writes the Z' as a final-state particle",
            choices=DECAY_MODES,
        ),
        "isr": Param(
            bool,
            default=True,
            doc="initial-state radiation (Kuraev-Fadin structure functions, photons written)",
        ),
        "vacuum_polarisation": Param(
            bool,
            default=True,
            doc="running alpha in the s-channel photon: |M|^2 times |1/(1 - Delta alpha(s'))|^2 "
            "(gen.vacpol; +7.7 % at 10.58 GeV)",
        ),
        "photon_min_energy_gev": Param(
            float,
            default=1e-4,
            doc="ISR photons softer than this (c.m. frame) are not produced (energy kept by the "
            "beam)",
            minimum=1e-6,
            maximum=0.05,
        ),
    }
    cuts = {}

    def validate(self, where: str) -> None:
        mz = self.p["mass_gev"]
        limit = self.beams.sqrt_s_gev - 2.0 * M_MU
        if not mz < limit:
            raise CardError(
                f"{where}.mass_gev: must be < sqrt(s) - 2 m_mu = {limit:.6g} GeV for these beams, "
                f"got {mz!r}"
            )

    def _args(self) -> tuple:
        return (
            *self.beams.as_tuple(), M_MU, float(self.p["mass_gev"]), float(self.p["g_prime"]),
            bool(self.p["vacuum_polarisation"]),
        )  # fmt: skip

    def _isr_args(self) -> tuple:
        """``_args`` plus the ISR sampling: hard-channel fraction, x_min, photon energy cut."""
        # lower edge of the dx/x channel: the mu mu Z' threshold x_min = (M + 2 m_mu)^2 / s
        x_min = (float(self.p["mass_gev"]) + 2.0 * M_MU) ** 2 / self.beams.sqrt_s_gev**2
        return (
            *self._args(), ISR_HARD_FRACTION, x_min, float(self.p["photon_min_energy_gev"])
        )

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run (``Process.prepare``) with ``PILOT_SAFETY_SHARP_EDGE`` as safety factor."""
        super().prepare(rng, points)
        self.w_max *= PILOT_SAFETY_SHARP_EDGE / PILOT_SAFETY

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.p["isr"]:
            return _isr_trial_weights(rng, int(n), *self._isr_args())
        return _trial_weights(rng, int(n), *self._args())

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if not self.w_max > 0.0:
            raise RuntimeError(f"process {self.name!r}: call prepare() before generate()")
        n = int(n)
        if self.p["isr"]:
            return self._generate_isr(rng, n)
        sqrt_s = np.empty(n)
        truth = {"m_x": np.full(n, float(self.p["mass_gev"])), "sqrt_s": sqrt_s}
        chunk = EventChunk.fixed_multiplicity(n, 3, truth)
        part = chunk.particles
        stats = _generate(
            rng, n, self.w_max, *self._args(),
            part["px"], part["py"], part["pz"], part["e"], sqrt_s,
        )  # fmt: skip
        part["pdg"][:] = np.tile(np.array([MUON, -MUON, ZPRIME], dtype=np.int32), n)
        truth["sqrt_s_prime"] = sqrt_s.copy()  # no ISR: the hard process runs at sqrt(s)
        return chunk, stats_from_array(stats)

    def _generate_isr(
        self, rng: np.random.Generator, n: int
    ) -> tuple[EventChunk, SamplingStats]:
        mom, pdg, offset, sqrt_s, sqrt_sp, stats = _isr_generate(rng, n, self.w_max,
                                                                 *self._isr_args())
        truth = {
            "m_x": np.full(n, float(self.p["mass_gev"])),
            "sqrt_s": sqrt_s,
            "sqrt_s_prime": sqrt_sp,
        }
        return checked_chunk(mom, pdg, offset, truth, self.name), stats_from_array(stats)
