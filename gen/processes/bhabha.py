"""Bhabha scattering e+e- -> e+e- (gamma): s- and t-channel gamma (+ Z), running alpha, ISR, FSR.

Born (massless helicity amplitudes; e.g. F.A. Berends et al., Nucl. Phys. B68 (1974) 541 for
QED, and the gamma + Z form of M. Boehm, A. Denner, W. Hollik, Fortsch. Phys. 36 (1988) 37).
For e-(p1) e+(p2) -> e-(p3) e+(p4), s = (p1 + p2)^2, t = (p1 - p3)^2, u = (p1 - p4)^2:

    dsigma/dOmega = alpha^2 / (4 s) * X,
    X = u^2 (|A_LL|^2 + |A_RR|^2) + t^2 (|S_LR|^2 + |S_RL|^2) + s^2 (T_LR^2 + T_RL^2),
    A_ii = a_ii(s) + a_ii(t),  S_ij = a_ij(s),  T_ij = a_ij(t),
    a_ij(q2) = V(q2) / q2 + g_i g_j / (q2 - M_Z^2 + i M_Z Gamma_Z [q2 > 0]),

with g_L = (-1/2 + sw2) / (sw cw), g_R = sw2 / (sw cw) (sw2 = effective leptonic mixing angle,
as in ``mumu``) and V(q2) = 1 / (1 - Delta alpha(q2)) the running-coupling factor of the photon
propagator (``gen.vacpol``: timelike, complex, in the s channel; spacelike, real, in the t
channel). With V = 1 and no Z, X / 2 = (s^2 + u^2)/t^2 + 2 u^2/(s t) + (t^2 + u^2)/s^2, i.e.
the textbook dsigma/dOmega = (alpha^2 / 2s)[(1 + cos^4(th/2))/sin^4(th/2)
- 2 cos^4(th/2)/sin^2(th/2) + (1 + cos^2 th)/2] (tested against it). Electron-mass terms of
the Born are O(m_e^2/|t|) < 3e-5 for theta > 1 deg (the smallest angle the card accepts) and
are dropped; the electron mass is kept in the kinematics and in the radiation (collinear logs).
Born sigma(10-170 deg) at 10.58 GeV: 286.78 nb (alpha(0)); Z exchange changes it by +7e-5
(s / M_Z^2 = 1.3 %, vector coupling suppressed; the Z terms use alpha(0)), vacuum polarisation
by +3.9 % (298.02 nb; mostly the t channel, Delta alpha(t) ~ 0.02 at |t| ~ 1-10 GeV^2).

Radiation, the collinear structure-function approach for Bhabha (G. Montagna, O. Nicrosini,
F. Piccinini, Riv. Nuovo Cim. 21 (1998) 1; the collinear part of BabaYaga, C.M. Carloni Calame
et al., Nucl. Phys. B584 (2000) 459, hep-ph/0003268; G. Balossini et al., Nucl. Phys. B758
(2006) 227, hep-ph/0607181):

    sigma = K_ISR K_FSR int dx1 dx2 D(x1) D(x2) sigma_0(x1 x2 s, theta*) [x FSR, unitary].

ISR: Kuraev-Fadin structure functions (``gen.radiation.structure_function``) on both beams,
one explicit photon per beam EXACTLY COLLINEAR with it (``collinear_isr1``), so the e+e- pair is
produced in the frame of Q = P - k1 - k2 moving along the beam axis, with s' = x1 x2 s and the
Born angle measured from the beam axis: four-momentum is conserved exactly. Collinear and not
the finite-angle photons of ``gen.radiation.isr_photons1``: with a hard photon at a wide angle
the pair recoils transversely, and the t-channel Born at the reduced s' (~1/s') put a low-mass
e+e- pair at wide angles with a huge weight (measured: +40 % of sigma from s' < 0.1 s, a
configuration whose exact O(alpha^2) rate is tiny since the true momentum transfer from the beam
is large). Consequence: ISR photons go down the beam pipe; photons at detectable angles
(radiative Bhabha with a photon in the ECL) come from FSR only. FSR: PHOTOS-like off the
outgoing e- and e+ (the law of ``gen.radiation.fsr_pair1``, drawn in the pair rest frame by
``fsr_pair_rest1``; unitary, exponentiated soft/collinear, finite photon angles and exact
four-momentum conservation). Non-log O(alpha) factors: K_ISR of the
s-channel annihilation and K_FSR = 1 + 3 alpha / (4 pi). The Born angle is sampled only where
a boost along z can bring the pair into the cuts (``Bhabha.born_window_deg``; for symmetric cuts
the cut window itself): collinear ISR cannot move a pair from outside into it, FSR recoil
can, but with this s-channel-dipole FSR the in-migration grows without bound towards small Born
angles (measured: ~25 nb from 2.5-4 deg into 10-170 deg) because hard wide-angle photons tilt
small-angle electrons, whereas t-channel radiation is confined to cones of the scattering angle
(angular ordering, radiator ln(|t|/m^2)); it is therefore excluded (out-migration, ~ -1.3 % of
sigma, is kept). NOT included (sizes from the O(alpha) Bhabha literature above): initial-final
interference (its soft part changes the exponent by (4 alpha/pi) ln(tan^2(th/2)), large only at
small angles), non-log O(alpha) box and t-channel vertex terms (~0.5-1 %), wide-angle ISR, pair
emission, narrow s-channel resonances. Net: sigma(10-170 deg, E > 0.15 GeV) is 1.2 % below
BabaYaga@NLO's (tests/validation/test_xsec_bhabha_gammagamma.py).

Generator-level cuts (``[cuts]``, as BabaYaga@NLO's ``cuts`` routine in the basf2 interface,
generators/babayaganlo): both the e- and the e+ have c.m. polar angle in [theta_min, theta_max]
and c.m. energy above ``e_min_gev`` (c.m. frame of the colliding pair, e- beam along +z).

Sampling. ISR fractions of both beams jointly (``joint_isr1``): a mixture of the soft peaks of
both structure functions, one beam hard (dx/x) and the other soft, and both hard, the density of
the whole mixture in the weight; the dx/x channel of each beam reaches down to the smallest x
its side of the c.m. cuts admits (``Bhabha.isr_x_min_per_beam``), and the pilot adds trials
drawn from each hard channel alone (``Bhabha.prepare``; tests/gen/test_bhabha_weight_bound.py).
Then cos(theta) in the pair frame with density ~ 1/(1 - c)^2
(the t-channel pole), i.e. y = 1/(1 - c) uniform, on the window where the Born e- and e+, boosted
with the pair along the beam axis, pass the c.m. cuts (``cm_window1``: the cuts are intervals in
1 - c; widened by ``BORN_ETA_MARGIN`` in rapidity so that the FSR in-migration kept by the
earlier pair-frame window stays within 0.05 % of sigma) and the pair-frame window of
``Bhabha.born_window_deg``. dsigma/dOmega (1 - c)^2 varies by < 2 over the whole range,
and a shrinking window (a boosted pair) lowers the weight as sigma(s') ~ 1/s' raises it, so
the weights are nearly flat: at the default card unweighting efficiency 0.59 -> 0.70, hits
failing the cuts 30 % -> 8 % (hits per event 1.42 -> 1.09). ``generate`` decides the hit on the
weight before FSR and the cuts (``_bhabha_weight1``) and draws FSR and applies the cuts for hit
trials only (``gen.unweight.cut_failed1``: unbiased cross section, the same events). It runs
the trials in blocks of ``BLOCK_TRIALS`` (as ``gen.processes.mumu``): the uniforms of the ISR,
the Born angle and the hit and the beam-energy normals drawn in bulk, the weights stage by stage
(``_block_weights1``: the arithmetic of ``_bhabha_weight_c1``, the same weight for the same
numbers), the hits' event constants in one loop (``_hit_row1``: collision frame and boost,
pair-frame boost, FSR and photon-angle parameters sharing one logarithm), then the hits'
events in trial order from scalar draws (``_bhabha_event_h1``; the lab rows reuse the leptons'
c.m. momenta of the cuts). Trials without an ISR photon (b = 0) take the chunk's window
(``with_rest_window1``). Default cuts, interleaved A/B (2026-11, load 2-6): a trial 280-300 ->
230-245 ns, a hit ~405 -> ~355 ns, an accepted event median 1063 -> 918 ns (CPU time; ~100 ns
of it the page faults of the fresh output arrays); tests/gen/test_bhabha_block.py. The pilot
keeps scalar trials (the same weights for the same random numbers).

Output per event: e- (row 0), e+ (row 1), then photons (ISR of the e- beam, ISR of the e+ beam,
FSR of the e-, FSR of the e+; each only above ``photon_min_energy_gev``), status 1, mother -1.
Truth: ``sqrt_s``, ``sqrt_s_prime`` (e+e- mass before FSR), ``cos_theta`` (Born angle in the
pair frame), ``n_isr``, ``n_fsr``.
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import (
    Beams,
    collision_sqrt_s1,
    collision_sqrt_s_sc1,
    crossing_trig1,
    sample_beam_energies1,
)
from gen.cards import Param, check
from gen.constants import ALPHA_EM, ELECTRON, GEV2_TO_PB, M_E, PHOTON
from gen.events import EventChunk, SamplingStats
from gen.jit import kernel
from gen.kinematics import (
    boost_p1,
    boost_params1,
    rotate_z_to_p1,
    rotation_params1,
    two_body_momentum1,
)
from gen.processes.base import PILOT_POINTS, PILOT_SAFETY, Process
from gen.processes.ffbar import GAMMA_Z, M_Z, SIN2_THETA_EFF
from gen.radiation import (
    FSR_K_FACTOR,
    ISR_K_FACTOR,
    fsr_pair_rest_a1,
    isr_fractions_c1,
    isr_hard_terms_q1,
    isr_log1m_over_v1,
    isr_soft_factor,
    ll_beta,
    ll_beta_near1,
    sample_azimuth1,
    sample_isr_fraction_l1,
)
from gen.unweight import (
    block_weights,
    checked_chunk,
    count_trial1,
    cut_failed1,
    draw_block1,
    fill_event1,
    new_events,
    new_stats,
    stats_from_array,
)
from gen.vacpol import delta_alpha_space_tab1, delta_alpha_tab1

_SW_CW = math.sqrt(SIN2_THETA_EFF * (1.0 - SIN2_THETA_EFF))
#: Z couplings of the left- and right-handed electron in units of e (tree level)
G_L = (-0.5 + SIN2_THETA_EFF) / _SW_CW
G_R = SIN2_THETA_EFF / _SW_CW
_MZ2 = M_Z * M_Z
_MZGZ = M_Z * GAMMA_Z

#: probability of the hard (dx/x) channel of the per-beam ISR sampling of ``gammagamma``
#: (gen.radiation default 0.1): a sampling choice, not physics. Measured unweighting efficiency
#: at the Physics Book cuts (10-170 deg, E > 0.15 GeV): 0.27 / 0.48 / 0.42 / 0.32 for 0.1 /
#: 0.15 / 0.2 / 0.3, sigma unchanged within MC errors. Bhabha samples both beams jointly
#: (``ISR_HH_SHARE``, ``ISR_SH_SHARE``).
ISR_HARD_SHARE = 0.15
#: joint ISR sampling of the two beams (``joint_isr1``; sampling choices, not physics): share of
#: the channel with both fractions dx/x on [x_min, 1] (the symmetric double radiative return,
#: sigma_t ~ 1/s' with no boost), and per beam the share of the channel with that beam dx/x and
#: the other from the soft peak (one hard photon: the boost then shrinks the Born window of
#: ``cm_window1``, so sigma within it stays ~ constant). The per-beam mixture of share a is the
#: special case ISR_HH_SHARE = a^2, ISR_SH_SHARE = a (1 - a) (a = 0.15 before: its cross channels
#: put ~25 % of the trials at boosts where no pair passes the cuts). Measured (default card, 3e5-4e5
#: events each, pilot 2e5): unweighting efficiency 0.70 / 0.69 / 0.70 / 0.64 for (hh, sh) =
#: (0.04, 0.05) / (0.06, 0.05) / (0.05, 0.03) / (0.06, 0.08); cuts 20-150 deg, E > 1 GeV: 0.67
#: for (0.04, 0.05) (0.56 with the per-beam mixture and the pair-frame window).
ISR_HH_SHARE = 0.04
ISR_SH_SHARE = 0.05
#: margin (units of rapidity) by which the Born window of ``cm_window1`` extends beyond the
#: c.m. cuts: FSR recoil moves a few Born pairs from just outside the cuts into them (the
#: in-migration the module docstring describes). The sampler before this window (the cut
#: window fixed in the pair frame) kept that in-migration for boosted pairs: 0.20 % of sigma at
#: the default cuts, of which 0.057 / 0.042 / 0.025 / 0.0075 % from Born pairs more than
#: 0.2 / 0.3 / 0.5 / 1.0 outside (2e6 trials of the old sampler, +-4 % of these values). 0.3
#: keeps sigma within 0.05 % of the earlier definition (the requirement of this change; old vs
#: new measured -0.01 +- 0.045 %), 0.5 costs 8 % in efficiency at the default cuts and 40 % at
#: 20-150 deg (narrow windows of strongly boosted pairs widened), 0 would drop 0.20 % of sigma.
BORN_ETA_MARGIN = 0.3
#: safety factor on the pilot maximum instead of the generic ``PILOT_SAFETY`` (1.3): the weights
#: have a sharp upper edge. Measured (default card, seeds 1-3): the largest of 5e6 further
#: trials is -0.07 %, +0.26 %, +0.83 % off the 2e5-trial pilot maximum; again (4e6 trials, other
#: streams) -0.01 %, +0.16 %, +0.86 %, and +0.20 %, +0.11 %, +0.13 % with cuts 30-150 deg,
#: E > 1 GeV. 1.05 leaves six times the largest (1.1 before: 8 % fewer trials per event now).
#: Overweight trials stay counted in n_overweight.
PILOT_SAFETY_SHARP_EDGE = 1.05
#: the pilot also draws points / PILOT_CORNER_DIV trials from each hard ISR channel alone
#: (``Bhabha.prepare``; a sampling choice, pilot time x 4 at 1, ~1 s). The largest weight of
#: channel-1 trials at 30-160 deg, E > 0.5 GeV (a kink where the pair-frame window edge meets
#: the c.m. cuts, x_e- ~ 0.24) still grows with their number: 44.7-45.7k / 45.3-46.4k /
#: 46.2-46.7k pb for 5e4 / 2e5 / 1e6 trials (3 seeds), so 2e5 stays within the 1.05 safety.
PILOT_CORNER_DIV = 1
#: smallest accepted cut angle: the massless Born needs |t| >> m_e^2
THETA_MIN_DEG = 1.0

# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_CLO, P_CHI, P_ECUT, P_YLO, P_YHI = 5, 6, 7, 8, 9
P_ISR, P_FSR, P_VP, P_ZEX, P_EMIN, P_XMIN, P_HARD, P_LMIN = 10, 11, 12, 13, 14, 15, 16, 17
P_HH, P_SH, P_MARG, P_XMIN2, P_FORCE, P_Y0LO, P_Y0HI = 18, 19, 20, 21, 22, 23, 24
N_PAR = 25


@kernel
def _vfactor1(q2: float, vp: bool, space_tab: bool):
    """(Re, Im) of V(q2) = 1 / (1 - Delta alpha(q2)) (1 without vacuum polarisation).

    Timelike q2 tabulated (gen.vacpol, error < 1e-8); spacelike q2 exact, or tabulated in ln|q2|
    with ``space_tab`` (error < 1e-8, ~10 ns instead of ~60 ns: the event loop).
    """
    if not vp:
        return 1.0, 0.0
    if q2 < 0.0 and space_tab:
        dr, di = delta_alpha_space_tab1(q2)
    else:
        dr, di = delta_alpha_tab1(q2)
    den = (1.0 - dr) ** 2 + di * di
    return (1.0 - dr) / den, di / den


@kernel
def _prop1(q2: float, vr: float, vi: float, g: float):
    """(Re, Im) of a(q2) = V(q2)/q2 + g /(q2 - M_Z^2 + i M_Z Gamma_Z [q2 > 0]), g = g_i g_j."""
    re, im = vr / q2, vi / q2
    if g != 0.0:
        w = _MZGZ if q2 > 0.0 else 0.0
        d = (q2 - _MZ2) ** 2 + w * w
        re += g * (q2 - _MZ2) / d
        im -= g * w / d
    return re, im


@kernel
def born_x1(s: float, c: float, vp: bool, zex: bool) -> float:
    """X of dsigma/dOmega = alpha^2 X / (4 s) (module docstring); c = cos(e- in, e- out)."""
    return _born_x1(s, c, vp, zex, False)


@kernel
def _born_x1(s: float, c: float, vp: bool, zex: bool, space_tab: bool) -> float:
    """``born_x1``; ``space_tab``: the t-channel running alpha from the table (``_vfactor1``)."""
    t = -0.5 * s * (1.0 - c)
    u = -0.5 * s * (1.0 + c)
    vsr, vsi = _vfactor1(s, vp, False)
    vtr, vti = _vfactor1(t, vp, space_tab)
    gl = G_L if zex else 0.0
    gr = G_R if zex else 0.0
    x = 0.0
    for k in range(2):
        g = gl * gl if k == 0 else gr * gr
        sr, si = _prop1(s, vsr, vsi, g)
        tr, ti = _prop1(t, vtr, vti, g)
        x += u * u * ((sr + tr) ** 2 + (si + ti) ** 2)
    sr, si = _prop1(s, vsr, vsi, gl * gr)
    tr, ti = _prop1(t, vtr, vti, gl * gr)
    x += 2.0 * (t * t * (sr * sr + si * si) + s * s * (tr * tr + ti * ti))
    return x


@kernel
def dsigma_domega(s: float, c: float, vp: bool, zex: bool) -> float:
    """Born dsigma/dOmega(e+e- -> e+e-) in GeV^-2 per steradian."""
    return ALPHA_EM * ALPHA_EM / (4.0 * s) * born_x1(s, c, vp, zex)


@kernel
def dsigma_domega_tab1(s: float, c: float, vp: bool, zex: bool) -> float:
    """``dsigma_domega`` with the tabulated spacelike running alpha (event loops; relative
    difference < 3e-8, tests/gen/test_bhabha.py)."""
    return ALPHA_EM * ALPHA_EM / (4.0 * s) * _born_x1(s, c, vp, zex, True)


@kernel
def dsigma_domega_fast1(s: float, c: float, vp: bool, zex: bool) -> float:
    """``dsigma_domega_tab1`` with the reciprocals of the propagators computed once: 4
    divisions instead of ~26 per call (the event loop; equal to rounding,
    tests/gen/test_bhabha.py). For t < 0 the Z term g/(t - M_Z^2) has no width, as in
    ``_prop1``."""
    t = -0.5 * s * (1.0 - c)
    u = -0.5 * s * (1.0 + c)
    vsr, vsi = _vfactor1(s, vp, False)
    vtr, vti = _vfactor1(t, vp, True)
    inv_s = 1.0 / s
    inv_t = 1.0 / t
    ps_r, ps_i = vsr * inv_s, vsi * inv_s
    pt_r, pt_i = vtr * inv_t, vti * inv_t
    zs_r = zs_i = zt_r = 0.0
    gl = gr = 0.0
    if zex:
        gl, gr = G_L, G_R
        ds = s - _MZ2
        inv_d = 1.0 / (ds * ds + _MZGZ * _MZGZ)
        zs_r, zs_i = ds * inv_d, -_MZGZ * inv_d
        zt_r = 1.0 / (t - _MZ2)
    x = 0.0
    for k in range(2):
        g = gl * gl if k == 0 else gr * gr
        ar = ps_r + g * zs_r + pt_r + g * zt_r
        ai = ps_i + g * zs_i + pt_i
        x += u * u * (ar * ar + ai * ai)
    g = gl * gr
    sr, si = ps_r + g * zs_r, ps_i + g * zs_i
    tr, ti = pt_r + g * zt_r, pt_i
    x += 2.0 * (t * t * (sr * sr + si * si) + s * s * (tr * tr + ti * ti))
    return ALPHA_EM * ALPHA_EM * 0.25 * inv_s * x


@kernel
def collinear_isr1(rng, sqrt_s: float, hard_fraction: float, x_min: float, e_min: float, k):
    """Collinear ISR of both beams (c.m. frame, e- along +z); photons written to ``k`` (2, 4).

    Energy fractions v_i = 1 - x_i from the Kuraev-Fadin structure function
    (``sample_isr_fraction1``, beta = ``ll_beta(s, m_e)``), each photon exactly along its beam,
    so s' = (P - k1 - k2)^2 = x1 x2 s exactly. A photon softer than ``e_min`` (GeV) is not
    produced (its energy stays with the beam, as in ``isr_photons1``). Returns D1 D2 / pdf.
    """
    return collinear_isr_l1(rng, sqrt_s, hard_fraction, x_min, -math.log(x_min), e_min, k)


@kernel
def collinear_isr_l1(rng, sqrt_s: float, hard_fraction: float, x_min: float, lmin: float,
                     e_min: float, k):
    """``collinear_isr1`` with lmin = ln(1/x_min) given (hoisted out of the event loop)."""
    return collinear_isr_l2(rng, sqrt_s, hard_fraction, x_min, lmin, x_min, lmin, e_min, k)


@kernel
def collinear_isr_l2(rng, sqrt_s: float, hard_fraction: float, x_min1: float, lmin1: float,
                     x_min2: float, lmin2: float, e_min: float, k):
    """``collinear_isr_l1`` with its own lower edge x_min_i (and
    lmin_i = ln(1/x_min_i)) of the dx/x channel for each beam (e- beam first): the same draws,
    photons and weight when both edges are equal. Returns D1 D2 / pdf."""
    beta = ll_beta(sqrt_s * sqrt_s, M_E)
    eb = 0.5 * sqrt_s
    v1, w1 = sample_isr_fraction_l1(rng, beta, hard_fraction, x_min1, lmin1)
    v2, w2 = sample_isr_fraction_l1(rng, beta, hard_fraction, x_min2, lmin2)
    for i in range(2):
        e = (v1 if i == 0 else v2) * eb
        if e < e_min:
            e = 0.0
        k[i, 0] = 0.0
        k[i, 1] = 0.0
        k[i, 2] = e if i == 0 else -e
        k[i, 3] = e
    return w1 * w2


@kernel
def collinear_isr_c1(rng, sqrt_s: float, e_min: float, cst, k):
    """``collinear_isr_l1`` with ``cst`` = ``gen.radiation.isr_consts1(nominal sqrt_s, M_E,
    hard_fraction, x_min)``: the same draws, photons and weight to rounding
    (``gen.radiation.isr_fractions_c1``; tests/gen/test_bhabha.py)."""
    w, v1, v2 = isr_fractions_c1(rng, sqrt_s, M_E, e_min, cst)
    eb = 0.5 * sqrt_s
    for i in range(2):
        e = (v1 if i == 0 else v2) * eb
        k[i, 0] = 0.0
        k[i, 1] = 0.0
        k[i, 2] = e if i == 0 else -e
        k[i, 3] = e
    return w


@kernel
def joint_isr_consts1(sqrt_s0: float, x_min: float):
    """``joint_isr_consts2`` with the same lower edge x_min for both beams."""
    return joint_isr_consts2(sqrt_s0, x_min, x_min)


@kernel
def joint_isr_consts2(sqrt_s0: float, x_min1: float, x_min2: float):
    """Constants of ``joint_isr1`` for trials near the nominal sqrt_s0, once per chunk:
    (1/s0, beta(s0) = ``ll_beta(s0, m_e)``, then per beam i = 1, 2 the lower edge of its dx/x
    channel x_min_i, ln(1/x_min_i), 1/ln(1/x_min_i))."""
    s0 = sqrt_s0 * sqrt_s0
    l1 = -math.log(x_min1)
    l2 = -math.log(x_min2)
    return 1.0 / s0, ll_beta(s0, M_E), x_min1, l1, 1.0 / l1, x_min2, l2, 1.0 / l2


@kernel
def joint_isr1(rng, sqrt_s: float, hh: float, sh: float, cst):
    """``joint_isr_ch1`` with the channel drawn from the shares (the generator)."""
    return joint_isr_ch1(rng, sqrt_s, hh, sh, cst, -1)


@kernel
def joint_isr_ch1(rng, sqrt_s: float, hh: float, sh: float, cst, force: int):
    """ISR energy fractions (v1, v2) of both beams and the weight D(x1) D(x2) / pdf(x1, x2).

    D: the Kuraev-Fadin structure function of ``gen.radiation.structure_function`` (beta from
    ``ll_beta_near1``). pdf: a mixture over the two beams of four channels, chosen by one
    uniform - both from the soft peak (beta/2) v^(beta/2 - 1) (share 1 - hh - 2 sh), beam 1
    (2) dx/x on [x_min1, 1] ([x_min2, 1]) and the other soft (sh each), both dx/x (hh) -
    evaluated at the point for every channel (so E[weight f] = int D D f exactly, for any
    shares; tested against ``structure_function`` in tests/gen/test_bhabha.py). The algebra of
    D / soft density is that of the per-beam sampler ``gen.radiation.isr_fractions_c1`` (soft +
    hard terms x r, r = 1 / soft density). ``cst`` from ``joint_isr_consts2``. Returns
    (0, v1, v2) for x <= 0. ``force`` >= 0 draws from that channel only (bit 0: beam 1 hard,
    bit 1: beam 2 hard) but weights with the mixture density: the pilot's look at corners the
    mixture visits rarely (``Bhabha.prepare``); -1: the mixture.
    """
    # three uniforms in a fixed order (channel, beam 1, beam 2): joint_isr_u1 is this kernel
    # for uniforms drawn in bulk (the block sampler of ``_bhabha_generate``)
    uc = rng.random()
    u1 = rng.random()
    u2 = rng.random()
    return joint_isr_u1(uc, u1, u2, sqrt_s, hh, sh, cst, force)


@kernel
def joint_isr_u1(uc: float, u1: float, u2: float, sqrt_s: float, hh: float, sh: float, cst,
                 force: int):
    """``joint_isr_ch1`` from its three uniforms: ``uc`` chooses the channel, ``u1`` and ``u2``
    the fractions of beam 1 and 2 (the same arithmetic; the block sampler draws them in bulk)."""
    beta = ll_beta_near1(sqrt_s * sqrt_s, cst[0], cst[1], M_E)
    tob = 2.0 / beta
    soft = isr_soft_factor(beta)
    # channel: bit 0 = beam 1 hard, bit 1 = beam 2 hard
    ch = 3 if uc < hh else (1 if uc < hh + sh else (2 if uc < hh + 2.0 * sh else 0))
    if force >= 0:
        ch = force
    num = 1.0
    hr1 = hr2 = 0.0
    v1 = v2 = 0.0
    for i in range(2):
        if i == 0:
            x_min, lmin, inv_lmin, ui = cst[2], cst[3], cst[4], u1
        else:
            x_min, lmin, inv_lmin, ui = cst[5], cst[6], cst[7], u2
        if ch & (1 << i):
            lnx = -lmin * ui
            x = math.exp(lnx)
            v = -math.expm1(lnx)
            if v <= 0.0:  # x = 1: no photon; D has no point mass there
                return 0.0, 0.0, 0.0
            lnv = math.log(v)
            r = tob * math.exp((1.0 - 0.5 * beta) * lnv)
            q = lnx / v
        else:
            w = ui
            if w <= 0.0:
                return 0.0, 0.0, 0.0
            lnv = tob * math.log(w)
            v = math.exp(lnv)
            x = 1.0 - v
            if x <= 0.0:
                return 0.0, 1.0, 1.0
            if v <= 0.0:
                # underflow (w < ~1e-14): the photon takes nothing, D / soft density = soft
                r, q, lnv = 0.0, -1.0, 0.0
            else:
                q = isr_log1m_over_v1(v)
                r = tob * v / w  # 1 / soft density, v^(1 - beta/2) = v / w
        num *= soft + isr_hard_terms_q1(v, x, lnv, q, beta) * r
        hr = r * inv_lmin / x if x >= x_min else 0.0  # dx/x density / soft density
        if i == 0:
            v1, hr1 = v, hr
        else:
            v2, hr2 = v, hr
    den = (1.0 - hh - 2.0 * sh) + sh * (hr1 + hr2) + hh * hr1 * hr2
    return num / den, v1, v2


@kernel
def cm_window1(bq: float, estar: float, pstar: float, par):
    """Range (a_lo, a_hi) of a = 1 - cos(theta*) (pair frame, e- angle) for which the Born e-
    and e+ pass the c.m. cuts of ``par`` once the pair frame moves with velocity ``bq`` along
    +z (collinear ISR), intersected with the pair-frame window [1/y_hi, 1/y_lo].

    A direction of cosine c in the pair frame has c.m. cosine (c + b)/(1 + b c) (massless), so
    each angular cut is a bound on a, written without cancellation (1 - C, 1 + C known); the
    energies gamma (E* +- b p* c) give linear bounds. The angular bounds are widened by
    ``BORN_ETA_MARGIN`` in rapidity (``par[P_MARG]`` = exp(-2 margin)). Empty window:
    a_lo >= a_hi.
    """
    clo, chi = par[P_CLO], par[P_CHI]
    # e- above theta_min or e+ below theta_max bound a = 1 - c from below; e- below theta_max
    # or e+ above theta_min bound 2 - a = 1 + c from below, by the same two expressions
    lim = max((1.0 - chi) * (1.0 + bq) / (1.0 - bq * chi),
              (1.0 + clo) * (1.0 - bq) / (1.0 - bq * clo))
    # margin in rapidity: a = 2 / (1 + exp(2 eta*)), so eta* -> eta* + margin maps a bound A to
    # 2 A f / (A f + 2 - A), f = exp(-2 margin) (~ A f at small angles, 2 stays 2)
    f = par[P_MARG]
    lim = 2.0 * lim * f / (lim * f + 2.0 - lim)
    a_lo = max(lim, 1.0 / par[P_YHI])
    a_hi = min(2.0 - lim, 1.0 / par[P_YLO])
    # energies: E(e-) = g (E* + b p* (1 - a)), E(e+) = g (E* - b p* (1 - a)) >= e_cut
    e_g = par[P_ECUT] * math.sqrt((1.0 - bq) * (1.0 + bq))
    bp = bq * pstar
    if bp > 0.0:
        a_hi = min(a_hi, (estar + bp - e_g) / bp)
        a_lo = max(a_lo, (e_g - estar + bp) / bp)
    elif bp < 0.0:
        a_lo = max(a_lo, (estar + bp - e_g) / bp)
        a_hi = min(a_hi, (e_g - estar + bp) / bp)
    elif estar < e_g:
        return 1.0, 0.0
    return a_lo, a_hi


@kernel
def _bhabha_weight1(rng, par, sqrt_s, kk):
    """Weight part of a trial: collinear ISR (photons into ``kk``) and the Born angle.

    Returns (w, s', cos_theta, 1 - cos_theta); w (pb) = 0 if the point is not allowed.
    """
    cst = joint_isr_consts2(sqrt_s, par[P_XMIN], par[P_XMIN2])
    return _bhabha_weight_c1(rng, par, sqrt_s, kk, cst)


@kernel
def _bhabha_weight_c1(rng, par, sqrt_s, kk, cst):
    """``_bhabha_weight1`` with the ISR constants ``cst`` (``joint_isr_consts1``) once per chunk.

    ISR from ``joint_isr1`` (photons along the beams, softer than ``photon_min_energy_gev`` not
    produced), then y = 1/(1 - cos theta*) uniform on the window of ``cm_window1``: Born pairs
    that fail the c.m. cuts by more than ``BORN_ETA_MARGIN`` are not sampled (weight 0 without
    the event work).
    """
    w = 1.0
    v1 = v2 = 0.0
    if par[P_ISR] > 0.5:
        wi, v1, v2 = joint_isr_ch1(rng, sqrt_s, par[P_HH], par[P_SH], cst, int(par[P_FORCE]))
        w = wi * ISR_K_FACTOR
    e1, e2, sp, ylo, yhi = _born_window1(par, sqrt_s, v1, v2)
    kk[0, 0] = kk[0, 1] = kk[1, 0] = kk[1, 1] = 0.0
    kk[0, 2], kk[0, 3] = e1, e1
    kk[1, 2], kk[1, 3] = -e2, e2
    if w <= 0.0 or not ylo < yhi:
        return 0.0, sp, 1.0, 0.0
    w, c, one_m_c = _born_point1(par, sp, w, ylo, yhi, rng.random())
    return w, sp, c, one_m_c


@kernel
def with_rest_window1(par):
    """A copy of ``par`` with par[P_Y0LO], par[P_Y0HI] = the y window of ``cm_window1`` for a
    pair at rest in the c.m. frame (no ISR photon; ``_born_window1``), set from the other
    entries: the kernels that take ``par`` from outside call it once, so a changed window or
    margin cannot leave a stale copy. The window is the same for every E* that passes the
    energy cut (``_born_window1`` checks it), so it is taken at E* = inf."""
    out = par.copy()
    a_lo, a_hi = cm_window1(0.0, math.inf, math.inf, par)
    if a_lo < a_hi:
        out[P_Y0LO], out[P_Y0HI] = 1.0 / a_hi, 1.0 / a_lo
    else:
        out[P_Y0LO], out[P_Y0HI] = 1.0, 0.0
    return out


@kernel
def _born_window1(par, sqrt_s: float, v1: float, v2: float):
    """(e1, e2, s', y_lo, y_hi): the ISR photon energies (0 below ``photon_min_energy_gev``),
    s' = (P - k1 - k2)^2 and the range of y = 1/(1 - cos theta*) of ``cm_window1``; y_lo >=
    y_hi if no Born pair of this pair frame is sampled (the window is empty or s' too small)."""
    eb = 0.5 * sqrt_s
    e1, e2 = v1 * eb, v2 * eb
    if e1 < par[P_EMIN]:
        e1 = 0.0
    if e2 < par[P_EMIN]:
        e2 = 0.0
    qz = e2 - e1
    qe = sqrt_s - e1 - e2
    sp = qe * qe - qz * qz
    if qe <= 0.0 or sp <= 4.0 * M_E * M_E * (1.0 + 1e-9):
        return e1, e2, sp, 1.0, 0.0
    estar = 0.5 * math.sqrt(sp)
    if qz == 0.0:
        # pair at rest (most trials: no ISR photon above threshold): ``cm_window1`` at b = 0
        # is the window par[P_Y0LO:P_Y0HI] if E* >= e_cut, else empty (bit for bit)
        if estar < par[P_ECUT]:
            return e1, e2, sp, 1.0, 0.0
        return e1, e2, sp, par[P_Y0LO], par[P_Y0HI]
    bq = qz / qe
    pstar = math.sqrt((estar - M_E) * (estar + M_E))
    a_lo, a_hi = cm_window1(bq, estar, pstar, par)
    if not a_lo < a_hi:
        return e1, e2, sp, 1.0, 0.0
    return e1, e2, sp, 1.0 / a_hi, 1.0 / a_lo


@kernel
def _born_point1(par, sp: float, w: float, ylo: float, yhi: float, u: float):
    """(weight, cos theta*, 1 - cos theta*) of the Born point from the uniform ``u``: y = 1/(1 -
    c) uniform on [y_lo, y_hi] (density 1/((1 - c)^2 (y_hi - y_lo)) in c), ``w`` the ISR part
    of the weight."""
    y = ylo + (yhi - ylo) * u
    one_m_c = 1.0 / y
    c = 1.0 - one_m_c
    pdf = y * y / (yhi - ylo)
    w *= GEV2_TO_PB * 2.0 * math.pi * dsigma_domega_fast1(sp, c, par[P_VP] > 0.5,
                                                      par[P_ZEX] > 0.5) / pdf
    if par[P_FSR] > 0.5:
        w *= FSR_K_FACTOR
    return w, c, one_m_c


@kernel
def _bhabha_event1(rng, par, sqrt_s, sp, c, one_m_c, kk, ff, buf, row, eh, el):
    """Event part of a trial after ``_bhabha_weight1``: azimuth, FSR, cuts, lab event in ``buf``
    (``row``: scratch (1, ``N_HP``) for ``_hit_row1``; eh, el: the beam energies).

    Returns (accepted, n_particles, n_isr, n_fsr).
    """
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    _hit_row1(row, 0, par, eh, el, sin_a, cos_a, sqrt_s, sp, one_m_c, kk[0, 3], kk[1, 3])
    return _bhabha_event_h1(rng, par, c, row, 0, kk, ff, buf)


# columns of the per-hit constants (``_hit_row1``): collision frame b, n_z and the parameters
# of its boost (``boost_params1``) and rotation (``rotation_params1``); sqrt s', p*, sin theta*,
# the pair-frame velocity b_z and its boost parameters; FSR (``fsr_rest_params1``) and photon
# angle (``emission_params1``) parameters
(H_BX, H_BY, H_BZ, H_NZ, H_GB, H_GB2, H_RS, H_KX, H_KY, H_MSP, H_PST, H_SN, H_BQZ, H_GQ, H_GQ2,
 H_FB, H_FV0, H_FW0, H_FF0, H_EB, H_EOMB, H_ELNR) = range(22)
N_HP = 22


@kernel
def _hit_row1(hp, j, par, eh, el, sin_a, cos_a, sqrt_s, sp, one_m_c, e1, e2):
    """Constants of the event of a hit into ``row``: deterministic in the trial (beam energies,
    s', 1 - cos theta*, ISR photon energies e1 along +z and e2 along -z), so the block sampler
    computes them for all its hits in one loop, off the events' dependent chains. Row ``j`` of
    ``hp`` (the array and an index, not a row view: no view per event)."""
    bx, by, bz, nx, ny, nz, gb, gb2 = collision_frame_g1(eh, el, sin_a, cos_a)
    hp[j, H_BX], hp[j, H_BY], hp[j, H_BZ], hp[j, H_NZ] = bx, by, bz, nz
    hp[j, H_GB], hp[j, H_GB2] = gb, gb2
    hp[j, H_RS], hp[j, H_KX], hp[j, H_KY] = rotation_params1(nx, ny)
    msp = math.sqrt(sp)
    hp[j, H_MSP] = msp
    hp[j, H_PST] = two_body_momentum1(msp, M_E, M_E)
    hp[j, H_SN] = math.sqrt(max(one_m_c * (2.0 - one_m_c), 0.0))
    # the pair frame moves along z (collinear ISR): the e- beam stays the +z axis there
    bqz = -(e1 - e2) / (sqrt_s - e1 - e2)
    hp[j, H_BQZ] = bqz
    hp[j, H_GQ], hp[j, H_GQ2] = boost_params1(0.0, 0.0, bqz)  # boost1 bit for bit, gamma once
    hp[j, H_FB], hp[j, H_FV0], hp[j, H_FW0], hp[j, H_FF0] = 0.0, 1.0, 1.0, 1.0
    hp[j, H_EB], hp[j, H_EOMB], hp[j, H_ELNR] = 0.0, 1.0, 0.0
    if par[P_FSR] > 0.5:
        (hp[j, H_FB], hp[j, H_FV0], hp[j, H_FW0], hp[j, H_FF0], hp[j, H_EB], hp[j, H_EOMB],
         hp[j, H_ELNR]) = fsr_consts1(msp, par[P_EMIN])


@kernel
def collision_frame_g1(eh: float, el: float, sin_a: float, cos_a: float):
    """``gen.beams.collision_frame_sc1`` and ``boost_params1`` of its velocity b: (bx, by, bz,
    nx, ny, nz, gamma, (gamma - 1)/b^2), gamma computed once (the boost to the c.m. frame is by
    -b, the same gamma): bit for bit those two (tests/gen/test_bhabha.py)."""
    # beam four-vectors as gen.beams._beam_vector_sc: e- along +z, e+ along -z, tilted in x
    p1 = math.sqrt(max(eh * eh - M_E * M_E, 0.0))
    ax, ay, az, ae = p1 * sin_a, 0.0, 1.0 * p1 * cos_a, eh
    p2 = math.sqrt(max(el * el - M_E * M_E, 0.0))
    cx, cy, cz, ce = p2 * sin_a, 0.0, -1.0 * p2 * cos_a, el
    tx, ty, tz, te = ax + cx, ay + cy, az + cz, ae + ce
    bx, by, bz = tx / te, ty / te, tz / te
    g, g2 = boost_params1(bx, by, bz)
    qx, qy, qz, _ = boost_p1(ax, ay, az, ae, -bx, -by, -bz, g, g2)
    q = math.sqrt(qx * qx + qy * qy + qz * qz)
    return bx, by, bz, qx / q, qy / q, qz / q, g, g2


_TWO_ALPHA_OVER_PI = 2.0 * ALPHA_EM / math.pi


@kernel
def fsr_consts1(mq: float, e_min: float):
    """(beta, v0, w0, f0) of ``gen.radiation.fsr_rest_params1(M_E, mq, e_min)`` and (b, 1 - b,
    ln((1 + b)/(1 - b))) of ``gen.radiation.emission_params1(mq/2, M_E)`` for an e+e- pair of
    mass ``mq``, sharing p*, b and the logarithm (equal to rounding, tests/gen/test_bhabha.py):
    the per-leg dipole beta (2 alpha/pi)[(1 + b^2)/(2b) ln((1 + b)/(1 - b)) - 1] and the
    photon-angle law use the same ln((1 + b)/(1 - b)), 1 - b = m^2/(E (E + p)) without
    cancellation. beta = 0 if no photon can be emitted."""
    m = M_E
    if mq <= 2.0 * m:
        return 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0
    pstar = two_body_momentum1(mq, m, m)
    ea = 0.5 * mq
    b = pstar / ea
    if b < 1e-6:
        return 0.0, 1.0, 1.0, 1.0, b, 1.0 - b, 0.0
    omb = m * m / (ea * (ea + pstar))
    lg = math.log((1.0 + b) / omb)
    beta = _TWO_ALPHA_OVER_PI * ((1.0 + b * b) / (2.0 * b) * lg - 1.0)
    v0 = e_min / ea
    if beta <= 0.0 or v0 >= 1.0:
        return 0.0, 1.0, 1.0, 1.0, b, omb, lg  # no photon can pass the threshold
    # w0 = v0^(beta/2) and f0 = P(v < v0) (gen.radiation.fsr_fraction_cdf_o1)
    w0 = math.exp(0.5 * beta * math.log(v0)) if v0 > 0.0 else 0.0
    f0 = (1.0 + 0.375 * beta) * w0 - 0.25 * beta * (2.0 * v0 - 0.5 * v0 * v0)
    return beta, v0, w0, f0, b, omb, lg


@kernel
def _bhabha_event_h1(rng, par, c, hp, j, kk, ff, buf):
    """``_bhabha_event1`` with the hit constants ``hp[j]`` of ``_hit_row1``: azimuth, FSR in the
    pair frame, the cuts on the e- and e+ in the collision c.m. frame, then (accepted events
    only) the lab rows - the arithmetic of ``gen.unweight.pair_event_to_lab1``, the leptons'
    c.m. momenta of the cuts reused."""
    cphi, sphi = sample_azimuth1(rng)
    msp, pstar, sn = hp[j, H_MSP], hp[j, H_PST], hp[j, H_SN]
    estar = 0.5 * msp
    dx, dy = sn * cphi, sn * sphi
    ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = pstar * dx, pstar * dy, pstar * c, estar
    ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -pstar * dx, -pstar * dy, -pstar * c, estar
    mask = 0
    if par[P_FSR] > 0.5:
        # the pair is at rest in this frame: the law of fsr_pair1 without its boosts
        mask = _fsr_rest_e1(rng, ff, msp, dx, dy, c, hp[j, H_FB], hp[j, H_FV0], hp[j, H_FW0],
                            hp[j, H_FF0], hp[j, H_EB], hp[j, H_EOMB], hp[j, H_ELNR])
    bqz, gq, gq2 = hp[j, H_BQZ], hp[j, H_GQ], hp[j, H_GQ2]
    ax, ay, az, ae = boost_p1(ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3], 0.0, 0.0, bqz, gq, gq2)
    if ae < par[P_ECUT]:
        return False, 0, 0, 0
    ct = az / math.sqrt(ax * ax + ay * ay + az * az)
    if ct < par[P_CLO] or ct > par[P_CHI]:
        return False, 0, 0, 0
    px, py, pz, pe = boost_p1(ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3], 0.0, 0.0, bqz, gq, gq2)
    if pe < par[P_ECUT]:
        return False, 0, 0, 0
    ct = pz / math.sqrt(px * px + py * py + pz * pz)
    if ct < par[P_CLO] or ct > par[P_CHI]:
        return False, 0, 0, 0
    # lab rows: e-, e+, ISR photons (c.m. frame), FSR photons (pair frame)
    bx, by, bz, nz = hp[j, H_BX], hp[j, H_BY], hp[j, H_BZ], hp[j, H_NZ]
    gb, gb2 = hp[j, H_GB], hp[j, H_GB2]
    rs, kx, ky = hp[j, H_RS], hp[j, H_KX], hp[j, H_KY]
    n = n_isr = n_fsr = 0
    for r in range(6):
        if r == 0:
            vx, vy, vz, ve = ax, ay, az, ae
        elif r == 1:
            vx, vy, vz, ve = px, py, pz, pe
        elif r < 4:
            if not kk[r - 2, 3] > 0.0:
                continue
            vx, vy, vz, ve = kk[r - 2, 0], kk[r - 2, 1], kk[r - 2, 2], kk[r - 2, 3]
            n_isr += 1
        else:
            if not mask & (1 << (r - 4)):
                continue
            vx, vy, vz, ve = boost_p1(ff[r - 2, 0], ff[r - 2, 1], ff[r - 2, 2], ff[r - 2, 3],
                                      0.0, 0.0, bqz, gq, gq2)
            n_fsr += 1
        rx, ry, rz = rotate_z_to_p1(vx, vy, vz, nz, rs, kx, ky)
        buf[n, 0], buf[n, 1], buf[n, 2], buf[n, 3] = boost_p1(rx, ry, rz, ve, bx, by, bz, gb,
                                                              gb2)
        n += 1
    return True, n, n_isr, n_fsr


@kernel
def _fsr_rest_e1(rng, p, mq: float, nx: float, ny: float, nz: float, beta: float,
                 v0: float, w0: float, f0: float, bl: float, omb: float, lnr: float) -> int:
    """``gen.radiation.fsr_pair_rest_a1`` for the e+e- pair (m = M_E) with the photon-angle
    parameters (bl, omb, lnr) = ``emission_params1(mq/2, M_E)`` of the hit constants."""
    return fsr_pair_rest_a1(rng, p, M_E, mq, nx, ny, nz, beta, v0, w0, f0, bl, omb, lnr)


@kernel
def _bhabha_trial(rng, par, buf, kk, ff, row):
    """One trial: weight (pb) and the lab event in ``buf`` (``row``: scratch (1, ``N_HP``)).

    Returns (weight, n_particles, sqrt_s, sqrt_s_prime, cos_theta, n_isr, n_fsr).
    """
    eh, el = sample_beam_energies1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL])
    sqrt_s = collision_sqrt_s1(eh, el, par[P_HALF])
    w, sp, c, one_m_c = _bhabha_weight1(rng, par, sqrt_s, kk)
    if w <= 0.0:
        return 0.0, 0, sqrt_s, 0.0, c, 0, 0
    ok, n, n_isr, n_fsr = _bhabha_event1(rng, par, sqrt_s, sp, c, one_m_c, kk, ff, buf, row,
                                         eh, el)
    if not ok:
        return 0.0, 0, sqrt_s, math.sqrt(sp), c, 0, 0
    return w, n, sqrt_s, math.sqrt(sp), c, n_isr, n_fsr


@kernel
def _bhabha_weights(rng, par, n):
    par = with_rest_window1(par)
    out = np.empty(n)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    row = np.zeros((1, N_HP))
    for i in range(n):
        out[i] = _bhabha_trial(rng, par, buf, kk, ff, row)[0]
    return out


# Trials in blocks (the pattern of gen.processes.mumu and mumu_zprime)

#: uniforms per trial of a block: ISR channel, ISR fraction of beam 1 and of beam 2 (the order
#: of ``joint_isr_ch1``), Born y, hit
TRIAL_UNIFORMS = 5
#: trials per block: their uniforms and beam-energy normals drawn in bulk (2.3 ns per uniform
#: instead of 6.6 ns as scalar draws in a kernel, numba 0.68, PCG64: docs/benchmarks.md), their
#: weights computed stage by stage so that the CPU overlaps consecutive trials' dependent chains
BLOCK_TRIALS = 256
# columns of the per-trial rows ``tr`` of a block
T_EH, T_EL, T_SQS, T_V1, T_V2, T_E1, T_E2, T_SP, T_YLO, T_YHI, T_C, T_OMC = range(12)
N_TR = 12


@kernel
def _block_weights1(pool, nh, nl, nt, par, sin_a, cos_a, cst, w, tr):
    """Weights (pb, before FSR and cuts) of trials 0 .. nt-1 of a block into ``w``, their
    variables into the rows of ``tr``.

    Per trial the arithmetic of ``sample_beam_energies1``, ``collision_sqrt_s_sc1`` and
    ``_bhabha_weight_c1`` (ISR ``joint_isr_u1``, window ``_born_window1``, Born point
    ``_born_point1``) from the uniforms of ``pool``: the same weight bit for bit for the same
    random numbers (tests/gen/test_bhabha.py), stage by stage over the block.
    """
    u = pool
    sph, spl = par[P_SPH], par[P_SPL]
    for t in range(nt):
        eh = par[P_EHER] + sph * nh[t] if sph > 0.0 else par[P_EHER]
        el = par[P_ELER] + spl * nl[t] if spl > 0.0 else par[P_ELER]
        tr[t, T_EH], tr[t, T_EL] = eh, el
        tr[t, T_SQS] = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
    if par[P_ISR] > 0.5:
        hh, sh = par[P_HH], par[P_SH]
        for t in range(nt):
            k = TRIAL_UNIFORMS * t
            wi, tr[t, T_V1], tr[t, T_V2] = joint_isr_u1(u[k], u[k + 1], u[k + 2], tr[t, T_SQS],
                                                        hh, sh, cst, -1)
            w[t] = wi * ISR_K_FACTOR
    else:
        for t in range(nt):
            w[t] = 1.0
            tr[t, T_V1] = tr[t, T_V2] = 0.0
    for t in range(nt):
        (tr[t, T_E1], tr[t, T_E2], tr[t, T_SP], tr[t, T_YLO],
         tr[t, T_YHI]) = _born_window1(par, tr[t, T_SQS], tr[t, T_V1], tr[t, T_V2])
        if w[t] <= 0.0 or not tr[t, T_YLO] < tr[t, T_YHI]:
            w[t] = 0.0
    for t in range(nt):
        if w[t] > 0.0:
            w[t], tr[t, T_C], tr[t, T_OMC] = _born_point1(
                par, tr[t, T_SP], w[t], tr[t, T_YLO], tr[t, T_YHI], u[TRIAL_UNIFORMS * t + 3])


@kernel
def _hit_constants1(hits, nhit, tr, par, sin_a, cos_a, hp):
    """Rows of ``hp`` (``_hit_row1``) for the hit trials ``hits[:nhit]`` (rows of ``tr``)."""
    for j in range(nhit):
        t = hits[j]
        _hit_row1(hp, j, par, tr[t, T_EH], tr[t, T_EL], sin_a, cos_a, tr[t, T_SQS], tr[t, T_SP],
                  tr[t, T_OMC], tr[t, T_E1], tr[t, T_E2])


def block_weights_before_fsr(rng: np.random.Generator, par: np.ndarray, n: int) -> np.ndarray:
    """Weights before FSR and cuts of ``n`` trials drawn in blocks as ``_bhabha_generate``
    draws them (``gen.unweight.block_weights``; tests: the same weights as
    ``_bhabha_weight_c1`` for the same random numbers)."""
    par = with_rest_window1(par)
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    cst = joint_isr_consts2(collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a),
                            par[P_XMIN], par[P_XMIN2])
    tr = np.empty((BLOCK_TRIALS, N_TR))

    def block(pool, nh, nl, nt, w):
        _block_weights1(pool, nh, nl, nt, par, sin_a, cos_a, cst, w, tr)

    return block_weights(rng, n, BLOCK_TRIALS, TRIAL_UNIFORMS, (par[P_SPH], par[P_SPL]), block)


#: particle ids of the rows of an event (e-, e+, then photons)
_PDG_ROWS = np.array([ELECTRON, -ELECTRON, PHOTON, PHOTON, PHOTON, PHOTON], dtype=np.int32)


@kernel
def _bhabha_generate(rng, par, n, w_max):
    """Hit-or-miss until ``n`` events; returns particle arrays, offsets, truth and statistics.

    Trials in blocks of ``BLOCK_TRIALS`` (``_block_weights1``); the hit is decided on the weight
    before FSR and the cuts with the block's hit uniform (``gen.unweight.unweight1``); azimuth,
    FSR, cuts and the lab event are computed for hit trials only, in trial order, from scalar
    draws (``gen.unweight.cut_failed1``: unbiased cross section, the same events as hit-or-miss
    on the full weight).
    """
    par = with_rest_window1(par)
    mom, pdg, offset = new_events(n, 6)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    t_cos = np.empty(n)
    t_nisr = np.empty(n, np.int32)
    t_nfsr = np.empty(n, np.int32)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    stats = new_stats()
    sin_a, cos_a = crossing_trig1(par[P_HALF])  # once per chunk, not per trial
    # ISR constants around the nominal s
    cst = joint_isr_consts2(collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a),
                            par[P_XMIN], par[P_XMIN2])
    nbk = BLOCK_TRIALS
    pool = np.empty(nbk * TRIAL_UNIFORMS)
    nh, nl, wb = np.empty(nbk), np.empty(nbk), np.empty(nbk)
    tr = np.empty((nbk, N_TR))
    hits = np.empty(nbk, np.int64)
    hp = np.empty((nbk, N_HP))
    k = 0
    while k < n:
        draw_block1(rng, pool, nh, nl, par[P_SPH], par[P_SPL])
        _block_weights1(pool, nh, nl, nbk, par, sin_a, cos_a, cst, wb, tr)
        nhit = 0
        for t in range(nbk):
            if wb[t] > 0.0 and pool[TRIAL_UNIFORMS * t + 4] * w_max < wb[t]:
                hits[nhit] = t
                nhit += 1
        _hit_constants1(hits, nhit, tr, par, sin_a, cos_a, hp)
        j = 0
        for t in range(nbk):
            w = wb[t]
            count_trial1(stats, w, w_max)
            if j >= nhit or hits[j] != t:
                continue
            e1, e2 = tr[t, T_E1], tr[t, T_E2]
            kk[0, 2], kk[0, 3] = e1, e1
            kk[1, 2], kk[1, 3] = -e2, e2
            ok, m, n_isr, n_fsr = _bhabha_event_h1(rng, par, tr[t, T_C], hp, j, kk, ff, buf)
            j += 1
            if not ok:
                cut_failed1(stats, w, w_max)
                continue
            fill_event1(mom, pdg, offset, k, buf, m, _PDG_ROWS)
            t_sqrt_s[k] = tr[t, T_SQS]
            t_sqrt_sp[k] = hp[j - 1, H_MSP]
            t_cos[k] = tr[t, T_C]
            t_nisr[k] = n_isr
            t_nfsr[k] = n_fsr
            k += 1
            if k == n:
                break  # trials after the n-th event are not counted
    return mom, pdg, offset, t_sqrt_s, t_sqrt_sp, t_cos, t_nisr, t_nfsr, stats


class Bhabha(Process):
    """e+e- -> e+e- (gamma): s + t channel gamma/Z with running alpha, ISR and FSR."""

    name = "bhabha"
    description = (
        "e+e- -> e+e-(gamma): Bhabha s+t channel gamma/Z with running alpha, ISR structure "
        "functions, FSR (PHOTOS-like)"
    )
    params = {
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "fsr": Param(bool, True, "final-state radiation off the e- and e+ (PHOTOS-like)"),
        "vacuum_polarization": Param(
            bool, True, "running alpha in the s (timelike) and t (spacelike) channel"),
        "z_exchange": Param(bool, True, "add tree-level Z exchange (+7e-5 of sigma)"),
        "photon_min_energy_gev": Param(
            float, 1e-4,
            "photons softer than this (c.m. for ISR, e+e- frame for FSR) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
    }
    cuts = {
        "theta_min_deg": Param(
            float, 10.0, "minimum c.m. polar angle of the e- and the e+ (deg)",
            minimum=THETA_MIN_DEG, maximum=179.0,
        ),
        "theta_max_deg": Param(
            float, 170.0, "maximum c.m. polar angle of the e- and the e+ (deg)",
            minimum=1.0, maximum=180.0 - THETA_MIN_DEG,
        ),
        "e_min_gev": Param(
            float, 0.15, "minimum c.m. energy of the e- and the e+ (GeV)", minimum=0.0,
        ),
    }

    def validate(self, where: str) -> None:
        c = self.c
        validate_cm_pair_cuts(c, self.beams, where)
        lo = max(c["theta_min_deg"], 180.0 - c["theta_max_deg"])
        hi = min(c["theta_max_deg"], 180.0 - c["theta_min_deg"])
        check(
            lo < hi,
            f"{where}: cuts.theta_min_deg/theta_max_deg ({c['theta_min_deg']}, "
            f"{c['theta_max_deg']}) admit no back-to-back e+e- pair; allowed: "
            "max(theta_min_deg, 180 - theta_max_deg) < min(theta_max_deg, 180 - theta_min_deg)",
        )

    def born_window_deg(self) -> tuple[float, float]:
        """Range of the pair-frame Born e- angle sampled (deg): ``pair_frame_window_deg``."""
        return pair_frame_window_deg(self.c["theta_min_deg"], self.c["theta_max_deg"])

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        c = self.c
        par[P_EHER:P_HALF + 1] = self.beams.as_tuple()
        par[P_CLO] = math.cos(math.radians(c["theta_max_deg"]))
        par[P_CHI] = math.cos(math.radians(c["theta_min_deg"]))
        par[P_ECUT] = c["e_min_gev"]
        par[P_YLO], par[P_YHI] = y_range(*self.born_window_deg())
        par[P_ISR] = float(self.p["isr"])
        par[P_FSR] = float(self.p["fsr"])
        par[P_VP] = float(self.p["vacuum_polarization"])
        par[P_ZEX] = float(self.p["z_exchange"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        par[P_XMIN], par[P_XMIN2] = self.isr_x_min_per_beam()
        par[P_HARD] = ISR_HARD_SHARE
        par[P_LMIN] = -math.log(par[P_XMIN])
        par[P_HH] = ISR_HH_SHARE
        par[P_SH] = ISR_SH_SHARE
        par[P_MARG] = math.exp(-2.0 * BORN_ETA_MARGIN)
        par[P_FORCE] = -1.0
        return with_rest_window1(par)

    def isr_x_min_per_beam(self) -> tuple[float, float]:
        """Lower edges (x_min1, x_min2) of the dx/x channels of the e- (+z) and e+ beam.

        Hard ISR off the e- beam moves the pair towards -z, so its reach is set by the backward
        cut theta_max, that off the e+ beam by the forward cut theta_min: the sampled Born
        pairs reach BORN_ETA_MARGIN beyond each (``cm_window1``), not the symmetric Born
        window (which made x in [x_min(cuts), x_min(window)] soft-channel only, with weights
        up to +65 % over the pilot maximum at 20-150 deg, E > 1 GeV). sqrt(s) at 10 standard
        deviations of its beam-spread fluctuation above nominal (the x bound falls as 1/sqrt(s)).
        """
        c, b = self.c, self.beams
        # sqrt s ~ 2 sqrt(E_her E_ler): relative spread (1/2) (dE_her/E_her (+) dE_ler/E_ler)
        rel = 0.5 * math.hypot(b.spread_her_gev / b.e_her_gev, b.spread_ler_gev / b.e_ler_gev)
        sqrt_s = b.sqrt_s_gev * (1.0 + 10.0 * rel)
        eta_bwd = _eta_deg(180.0 - c["theta_max_deg"]) + BORN_ETA_MARGIN
        eta_fwd = _eta_deg(c["theta_min_deg"]) + BORN_ETA_MARGIN
        return (isr_x_min_eta(c["e_min_gev"], eta_bwd, sqrt_s),
                isr_x_min_eta(c["e_min_gev"], eta_fwd, sqrt_s))

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _bhabha_weights(rng, self._par(), n)

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run (``Process.prepare``) with ``PILOT_SAFETY_SHARP_EDGE`` as safety factor,
        its maximum taken also over ``points`` / ``PILOT_CORNER_DIV`` trials drawn from each
        hard ISR channel alone (weights with the mixture density, ``joint_isr_ch1``; the cross
        section estimate stays that of the plain pilot).

        The largest weights sit where both beams radiate hard and the light pair flies near the
        rapidity reach of the cuts (measured at 20-150 deg, E > 1 GeV: x_e- ~ 0.5, x_e+ ~ 0.013,
        pair rapidity ~ 1.8, 80 % of the density from the both-hard channel), a corner the
        mixture visits in ~1e-4 of its trials: the plain pilot missed it by up to 60 %."""
        super().prepare(rng, points)
        par = self._par()
        for ch in (1, 2, 3) if self.p["isr"] else ():
            par[P_FORCE] = float(ch)
            w = _bhabha_weights(rng, par, max(points // PILOT_CORNER_DIV, 1))
            if not np.all(np.isfinite(w)):
                raise FloatingPointError("process 'bhabha': non-finite pilot weight")
            self.w_max = max(self.w_max, float(w.max()) * PILOT_SAFETY)
        self.w_max *= PILOT_SAFETY_SHARP_EDGE / PILOT_SAFETY

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        (mom, pdg, offset, sqrt_s, sqrt_sp, cos, nisr, nfsr,
         stats) = _bhabha_generate(rng, self._par(), n, self.w_max)
        truth = {"sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp, "cos_theta": cos, "n_isr": nisr,
                 "n_fsr": nfsr}
        return checked_chunk(mom, pdg, offset, truth, self.name), stats_from_array(stats)


def validate_cm_pair_cuts(cuts: dict, beams: Beams, where: str) -> None:
    """Cross-key checks of the c.m. cuts theta_min_deg < theta_max_deg and e_min_gev below the
    beam energy, shared by ``bhabha`` and ``gammagamma``; CardError names ``where``."""
    check(
        cuts["theta_min_deg"] < cuts["theta_max_deg"],
        f"{where}: cuts.theta_min_deg ({cuts['theta_min_deg']}) must be below "
        f"cuts.theta_max_deg ({cuts['theta_max_deg']})",
    )
    check(
        cuts["e_min_gev"] < 0.5 * beams.sqrt_s_gev,
        f"{where}: cuts.e_min_gev ({cuts['e_min_gev']}) must be below sqrt(s)/2 = "
        f"{0.5 * beams.sqrt_s_gev:.3f} GeV",
    )


def isr_x_min(e_min: float, theta_min_deg: float, sqrt_s: float) -> float:
    """Lower edge of the hard (dx/x) ISR sampling channel for a back-to-back massless pair cut
    at c.m. energy ``e_min`` and polar angles in [theta_min, 180 - theta_min].

    With collinear ISR the pair frame moves with rapidity y = ln(x1/x2)/2, so both particles
    are inside |eta| < eta_max only if |y| < eta_max, and each has E = (sqrt(s')/2)
    cosh(eta)/cosh(eta*) <= (sqrt(s')/2) cosh(eta_max), i.e. x1 x2 >= 4 e_min^2 /
    (s cosh^2 eta_max): together min(x1, x2) >= sqrt(x1 x2 exp(-2 eta_max)). Below it the soft
    channel alone samples x (unbiased; such points fail the cuts), so this only sets the
    efficiency.
    """
    eta = -math.log(math.tan(math.radians(0.5 * max(theta_min_deg, 1e-3))))
    prod = 4.0 * e_min**2 / (sqrt_s**2 * math.cosh(eta) ** 2)
    return min(max(math.sqrt(prod * math.exp(-2.0 * eta)), 1e-6), 0.5)


def _eta_deg(theta_deg: float) -> float:
    """Pseudorapidity -ln tan(theta/2) of a polar angle in degrees (0 < theta < 180)."""
    return -math.log(math.tan(math.radians(0.5 * theta_deg)))


def isr_x_min_eta(e_min: float, eta_max: float, sqrt_s: float) -> float:
    """Smallest energy fraction x_i of a beam for which a massless back-to-back pair can have
    both particles at rapidity <= eta_max on the side the pair recoils to and c.m. energy
    >= ``e_min``: (2 e_min / sqrt s) exp(-eta_max) / cosh(eta_max), both leptons at eta_max.

    With the other x = 1 the pair rapidity is y = ln(1/x_i)/2 and each lepton has
    E = (sqrt(s')/2) cosh(eta)/cosh(eta*); the minimum over the pair angle is at eta* -> 0,
    the form of ``isr_x_min`` (there eta_max of the symmetric window for both beams). Clipped
    to [1e-6, 0.5] as ``isr_x_min``."""
    x = 2.0 * e_min / sqrt_s * math.exp(-eta_max) / math.cosh(eta_max)
    return min(max(x, 1e-6), 0.5)


def pair_frame_window_deg(theta_min_deg: float, theta_max_deg: float) -> tuple[float, float]:
    """Pair-frame polar angles (deg) from which a boost along z can bring both leptons of a
    back-to-back pair into the c.m. window [theta_min, theta_max].

    Massless leptons: c.m. rapidities eta* + d and -eta* + d both in [eta(theta_max),
    eta(theta_min)] need |eta*| <= (eta(theta_min) - eta(theta_max)) / 2; for symmetric cuts
    that is [theta_min, theta_max] itself (returned as given). The intersection of the cuts
    with their mirror, used before, dropped the pairs that collinear ISR moves in: 2.7 % of the
    Bhabha sigma at 20-150 deg (tests/gen/test_bhabha.py).
    """
    if theta_min_deg + theta_max_deg == 180.0:
        return theta_min_deg, theta_max_deg
    half = 0.5 * (math.log(math.tan(math.radians(0.5 * theta_max_deg)))
                  - math.log(math.tan(math.radians(0.5 * theta_min_deg))))
    lo = math.degrees(2.0 * math.atan(math.exp(-half)))
    return lo, 180.0 - lo


def y_range(lo_deg: float, hi_deg: float) -> tuple[float, float]:
    """(y(hi), y(lo)) of y = 1/(1 - cos) = 1/(2 sin^2(theta/2)), without cancellation."""
    return (0.5 / math.sin(math.radians(0.5 * hi_deg)) ** 2,
            0.5 / math.sin(math.radians(0.5 * lo_deg)) ** 2)


def born_sigma_pb(beams: Beams, theta_min_deg: float, theta_max_deg: float,
                  vacuum_polarization: bool = False, z_exchange: bool = False) -> float:
    """Born sigma (pb) at the nominal sqrt(s) for both leptons in [theta_min, theta_max] (c.m.).

    Numerical integral of ``dsigma_domega`` (scipy quad in 1/(1 - cos)); a reference for
    cards and tests, not used by the generator.
    """
    from scipy.integrate import quad

    s = beams.sqrt_s_gev**2
    ylo, yhi = y_range(max(theta_min_deg, 180.0 - theta_max_deg),
                       min(theta_max_deg, 180.0 - theta_min_deg))

    def f(y: float) -> float:
        c = 1.0 - 1.0 / y
        return dsigma_domega(s, c, vacuum_polarization, z_exchange) / (y * y)

    val = quad(f, ylo, yhi, epsrel=1e-10, limit=200)[0]
    return GEV2_TO_PB * 2.0 * math.pi * val
