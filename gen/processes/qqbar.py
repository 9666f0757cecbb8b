"""e+e- -> gamma* -> q qbar (q = u, d, s, c) continuum with ISR, Lund string hadronisation and
generic hadron decays.

Cross section (photon exchange, no Z: < 1e-3 at 10.58 GeV; with ``vacuum_polarisation``
(default, as ``mumu``) x |1/(1 - Delta alpha(s'))|^2 from ``gen.vacpol``, +7.7 % at 10.58 GeV):

    sigma_q(s') = N_c Q_q^2 (4 pi alpha^2 / (3 s')) beta_q (3 - beta_q^2)/2 (1 + alpha_s(s')/pi),

the R-ratio at O(alpha_s) (PDG RPP 2024, "Cross-section formulae" and QCD review, eq. for R:
R = N_c sum Q_q^2 (1 + alpha_s/pi + ...)), the massive-quark vector-current Born factor
beta (3 - beta^2)/2 (as for tau pairs), beta_q = sqrt(1 - 4 m_q^2 / s'), m_c = 1.5 GeV (the
c mass of the string model, gen.hadronization.tables; m_u = m_d = m_s = 0). alpha_s at one loop
with n_f = 5 from alpha_s(M_Z) = 0.1180 (PDG RPP 2024, QCD review). c cbar is produced only
above the open-charm threshold 2 m(D0) (no charmonium below; J/psi, psi(2S) are absent from the
radiative return). The O(alpha_s) mass corrections and O(alpha_s^2) terms of R are not included.

Low-mass tail (``low_mass``, default true; needs u, d and s all enabled, ignored without light
flavours): below ``min_hadronic_mass_gev`` (<= 2 GeV) R(s') is the sum of the exclusive
channels of ``gen.hadronization.exclusive`` (pi+ pi- with the GS/CMD-2 pion form factor and
rho-omega mixing, pi+ pi- pi0 via omega + phi, K+ K- and K_S K_L via VMD kaon form factors;
2 pi+ 2 pi-, pi+ pi- 2 pi0 and eta pi+ pi- from BaBar's measured cross sections,
``gen.hadronization.four_pion`` and ``.eta_pipi``),
which replaces the q qbar Born in the same ISR convolution (same K_ISR and VP factor) down to
2 m_pi. Narrow peaks are sampled with a second ISR channel (``gen.processes.radiative_return``,
multi-channel weights). The tail is not split into u, d, s: its events carry truth flavour 0
(``LOW_MASS_FLAVOUR``) and ``channel`` 1..7; they belong to the light-quark (u + d + s)
total. Measured at 10.58 GeV (no beam spread): tail 0.27 nb, string part of u + d + s 2.09 nb,
u + d + s = 2.36 nb vs 2.39 nb of the Physics Book (-1.2 %; missing: K K pi, 5-6 pi,
omega pi0 -> pi0 pi0 gamma, pi0 gamma / eta gamma, excited omega/phi below 2 GeV). Exclusive
events: the ISR photons, then the two to four hadrons (primaries, mother -1; sin^2 theta about
the Collins-Soper axis for the two-body channels, |eps . (p+ x p-)|^2 for 3 pi), decayed like
the string hadrons (K_S, pi0);
with ``hadronization = 'pythia'`` only the string events go to Pythia, with the same Lund
card keys as the numba string (gen.hadronization.pythia_engine.lund_settings: the defaults are
basf2's pythia_belle2.dat lines). No FSR photons are
generated (pi+ pi- FSR enters the rate inclusively).
Reference (Belle II Physics Book arXiv:1808.10567, table of cross sections at 10.58 GeV, KKMC
with ISR): u ubar 1.61, d dbar 0.40, s sbar 0.38, c cbar 1.30 nb; tests/gen/test_qqbar.py
compares the Born values and tests/validation/test_qqbar_spectra.py the ISR-corrected ones.

ISR: electron structure functions (``gen.radiation``, Kuraev-Fadin) with K_ISR, the q qbar pair
in the rest frame of Q = P_beams - k1 - k2 with the Born distribution 1 + cos^2 (massive c:
1 + cos^2 + (1 - beta^2) sin^2) about the Collins-Soper axis. The hadronic mass sqrt(s') must
exceed ``min_hadronic_mass_gev`` (default 2 GeV: below it e+e- -> hadrons is a sum of
resonances that a string does not describe); the cross section in the file is within that
generator-level cut (with ``low_mass`` the exclusive channels fill the range below it). No
photon FSR off the quarks. With ``gluon_radiation`` and
``parton_shower`` (defaults) the q qbar pair showers (p_T-ordered dipole shower with the exact
first-order matrix element for the first emission, Monash alpha_s and pT_min,
gen.hadronization.shower) and the colour chain q g ... g qbar fragments as one kinked Lund
string (JETSET multi-region algorithm, gen.hadronization.kinked; straight-segment fallback in
gen.hadronization.chain), four-momentum conserved exactly; with ``parton_shower = false``
only the hardest gluon is emitted (gen.hadronization.gluon); without ``gluon_radiation`` the
q qbar string fragments directly (gen.hadronization.string).

Fragmentation parameters (card keys lund_a, lund_b_gev2, r_fact_c, eta_sup, eta_prime_sup,
stop_mass_gev, sigma_pt_gev, prob_s_to_ud): by default Belle II's continuum settings, basf2
generators/modules/fragmentation/data/pythia_belle2.dat (github.com/belle2/basf2), i.e. Pythia 8
Monash 2013 (arXiv:1404.5630) with aLund 0.32, bLund 0.62, rFactC 1.0, etaSup 0.27,
stopMass 0.3 (gen.hadronization.tables.BELLE2_PYTHIA_DAT). The Monash tune: lund_a = 0.68,
lund_b_gev2 = 0.98, r_fact_c = 1.32, eta_sup = 0.60, stop_mass_gev = 1.0 (MONASH_2013). Its
other lines have no counterpart here: ParticleDecays:multIncrease/multIncreaseWeak and
FSRinDecays act on Pythia's partonic decays (EvtGen decays the hadrons in basf2, as
gen.decays.generic here), TimeShower:QEDshowerByQ (photons off quarks in the shower) is not
modelled (no FSR photons). The switch of these defaults from Monash to Belle II changed the
events bit-wise; tests/validation/test_qqbar_spectra.py gives both tunes' numbers (<n_ch>
7.69 vs 7.39, ARGUS 8.35 +- 0.20). Cost: stopMass 0.3 makes more kinked-string attempts
fail (9.8 instead of 3.8 per string; most fail inside the iteration, not at the final join:
gen.hadronization.kinked), and a failed attempt restarts the whole string (as in Pythia 8).
Per event (card defaults, 20000 events, after the kinked-string speed-up of issue 3; CPU time
at load 9-15): trials 1.3 us (0.75 us each, unweighting efficiency 0.58), shower 2.4 us, kinked
string ~18 us (~9.6 attempts of ~2 us), hadron decays (gen.decays.generic) 20-30 us.

Output per event: the ISR photons (e- beam, e+ beam; status 1, mother -1), then the primary
hadrons of the string (status 1, mother -1, produced at the origin), then, with ``decays``,
their decay products (``gen.decays.generic.decay_unstable``: decayed hadrons status 2,
daughters with mothers and displaced vertices). Truth: ``flavour`` (1 d, 2 u, 3 s, 4 c),
``cos_theta`` (quark about the Collins-Soper axis), ``sqrt_s``, ``sqrt_s_prime``, ``n_isr``,
``n_primary`` (primary hadrons), ``gluon`` (1 if a gluon was emitted and resolved, i.e. the
string has more than one segment), ``n_gluons`` (gluons emitted, before the joining of light
string segments), ``channel`` (0 string event; 1 pi+ pi-, 2 pi+ pi- pi0, 3 K+ K-, 4 K_S K_L,
5 2pi+ 2pi-, 6 pi+ pi- 2pi0, 7 eta pi+ pi-: exclusive low-mass event, flavour 0; ``cos_theta``
is then that of the first hadron).
"""

from __future__ import annotations

import math

import numpy as np

from gen.beams import Beams, cm_to_lab1, sample_collision1
from gen.cards import Param, check
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, PHOTON, mass_gev
from gen.events import FINAL, PARTICLE_FIELDS, EventChunk, SamplingStats
from gen.hadronization.chain import shower_fragment_event1
from gen.hadronization.exclusive import (
    G_OMEGA,
    G_PHI,
    G_RHO,
    M_OMEGA,
    M_PHI,
    M_RHO,
    N_CHANNELS,
    S_THRESHOLD,
    channel_sigmas1,
    exclusive_final_state1,
)
from gen.hadronization.exclusive import tables as exclusive_tables
from gen.hadronization.gluon import MAX_EVENT_HADRONS, fragment_event1
from gen.hadronization.shower import MAX_PARTONS
from gen.hadronization.string import MAX_HADRONS, reserve_rows1
from gen.hadronization.tables import L_MC, QUARKS, lund_parameters, meson_tables
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1
from gen.processes.base import Process
from gen.processes.radiative_return import isr_fractions_two_channel1, proposal
from gen.radiation import (
    ISR_HARD_FRACTION,
    ISR_K_FACTOR,
    collins_soper_axis1,
    isr_photon_momenta1,
    isr_photons1,
)
from gen.vacpol import vp_factor1

#: alpha_s(M_Z) (PDG RPP 2024, QCD review, world average)
ALPHA_S_MZ = 0.1180
#: Z mass (GeV) for the running of alpha_s (PDG via ``particle``)
M_Z = mass_gev(23)
#: one-loop beta-function coefficient b0 = (33 - 2 n_f) / (12 pi), n_f = 5
_B0 = (33.0 - 10.0) / (12.0 * math.pi)
#: open-charm threshold 2 m(D0) (PDG via ``particle``)
CHARM_THRESHOLD = 2.0 * mass_gev(421)
#: number of colours
N_C = 3.0
#: quark charges (PDG codes 1..4)
_CHARGE = np.array([0.0, -1.0 / 3.0, 2.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0])

# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_ISR, P_EMIN, P_XMIN, P_HARD, P_MMIN, P_MC = 5, 6, 7, 8, 9, 10
P_ON = 11  # 4 entries: flavour d, u, s, c enabled (PDG order 1..4)
P_GLUON = 15
P_VP = 16
P_SHOWER = 17
P_PARTONS = 18  # 1: write the q qbar pair (lab) instead of hadrons (external engine)
P_LOW = 19  # probability of the low-mass ISR sampling channel; 0: no exclusive tail
N_PAR = 20
#: flavour label of the exclusive low-mass events in the truth
LOW_MASS_FLAVOUR = 0
#: probability of the low-mass ISR channel (gen.processes.radiative_return); the tail is ~10 %
#: of the cross section, its weights are flattest when a fifth of the trials go there
LOW_CHANNEL_PROBABILITY = 0.2
#: proposal of s' in the low-mass channel: rho, omega, phi Breit-Wigners and 1/s', roughly in
#: the proportions of int sigma ds' of the channels (only the efficiency depends on them)
_PROPOSAL_FRACTIONS = [0.55, 0.08, 0.12, 0.25]


def alpha_s(q_gev: float) -> float:
    """One-loop alpha_s(Q), n_f = 5, from alpha_s(M_Z) (PDG RPP 2024, QCD review)."""
    return ALPHA_S_MZ / (1.0 + ALPHA_S_MZ * _B0 * math.log(q_gev * q_gev / (M_Z * M_Z)))


@kernel
def _alpha_s1(s: float) -> float:
    return ALPHA_S_MZ / (1.0 + ALPHA_S_MZ * _B0 * math.log(s / (M_Z * M_Z)))


@kernel
def flavour_sigma1(s: float, q: int, m_c: float) -> float:
    """Born x (1 + alpha_s/pi) sigma(e+e- -> q qbar) in GeV^-2 at c.m. energy squared s."""
    if s <= 0.0:
        return 0.0
    f = 1.0
    if q == 4:
        if s <= CHARM_THRESHOLD * CHARM_THRESHOLD:
            return 0.0
        b2 = 1.0 - 4.0 * m_c * m_c / s
        b = math.sqrt(b2)
        f = b * (3.0 - b2) / 2.0
    qq = _CHARGE[q]
    return (N_C * qq * qq * 4.0 * math.pi * ALPHA_EM**2 / (3.0 * s) * f
            * (1.0 + _alpha_s1(s) / math.pi))


@kernel
def _sample_cos(rng, s: float, q: int, m_c: float) -> float:
    """cos(theta*) of the quark from 1 + c^2 + (1 - beta^2)(1 - c^2) (beta = 1 for u, d, s)."""
    b2 = 1.0 - 4.0 * m_c * m_c / s if q == 4 else 1.0
    while True:
        c = 2.0 * rng.random() - 1.0
        if rng.random() * 2.0 < 2.0 - b2 + b2 * c * c:
            return c


@kernel
def _qqbar_point(rng, par, kk, q, x, wgrid, sig):
    """Beams, ISR and flavour of one trial: (weight pb, flavour, sqrt_s, s', boost params...).

    Flavour ``LOW_MASS_FLAVOUR`` (0): s' below the minimum hadronic mass, exclusive channels
    (their cross sections left in ``sig``)."""
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
        rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF])
    w = 1.0
    low = par[P_LOW] > 0.0
    if par[P_ISR] > 0.5:
        if low:
            wi, v1, v2 = isr_fractions_two_channel1(rng, sqrt_s, M_E, par[P_HARD], par[P_XMIN],
                                                    par[P_EMIN], par[P_LOW], q)
            isr_photon_momenta1(rng, sqrt_s, M_E, v1, v2, kk)
        else:
            wi, _, _ = isr_photons1(rng, sqrt_s, M_E, par[P_HARD], par[P_XMIN], par[P_EMIN], kk)
        w = wi * ISR_K_FACTOR
    else:
        for i in range(2):
            for j in range(4):
                kk[i, j] = 0.0
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    qx = -(kk[0, 0] + kk[1, 0])
    qy = -(kk[0, 1] + kk[1, 1])
    qz = -(kk[0, 2] + kk[1, 2])
    sp = qe * qe - qx * qx - qy * qy - qz * qz
    if low and w > 0.0 and qe > 0.0 and S_THRESHOLD < sp <= par[P_MMIN] * par[P_MMIN]:
        tot = channel_sigmas1(sp, x, wgrid, sig)
        vp = vp_factor1(sp) if par[P_VP] > 0.5 else 1.0
        return (w * GEV2_TO_PB * tot * vp, LOW_MASS_FLAVOUR, sqrt_s, sp, bx, by, bz, nx, ny,
                nz)
    if w <= 0.0 or qe <= 0.0 or sp <= par[P_MMIN] * par[P_MMIN]:
        return 0.0, -1, sqrt_s, 0.0, bx, by, bz, nx, ny, nz
    tot = 0.0
    for q in range(1, 5):
        if par[P_ON + q - 1] > 0.5:
            tot += flavour_sigma1(sp, q, par[P_MC])
    if tot <= 0.0:
        return 0.0, -1, sqrt_s, sp, bx, by, bz, nx, ny, nz
    vp = vp_factor1(sp) if par[P_VP] > 0.5 else 1.0
    u = rng.random() * tot
    flav = 0
    acc = 0.0
    for q in range(1, 5):
        if par[P_ON + q - 1] > 0.5:
            acc += flavour_sigma1(sp, q, par[P_MC])
            flav = q
            if u < acc:
                break
    return w * GEV2_TO_PB * tot * vp, flav, sqrt_s, sp, bx, by, bz, nx, ny, nz


@kernel
def _qqbar_weights(rng, par, n, q, x, wgrid):
    out = np.empty(n)
    kk = np.zeros((2, 4))
    sig = np.zeros(N_CHANNELS)
    for i in range(n):
        out[i] = _qqbar_point(rng, par, kk, q, x, wgrid, sig)[0]
    return out


@kernel
def _pick_channel(rng, sig) -> int:
    """Exclusive channel (1..N_CHANNELS) with probability sig_i / sum sig."""
    tot = 0.0
    for i in range(N_CHANNELS):
        tot += sig[i]
    u = rng.random() * tot
    acc = 0.0
    for i in range(N_CHANNELS):
        acc += sig[i]
        if u < acc:
            return i + 1
    return N_CHANNELS


@kernel
def _qqbar_generate(rng, par, lund, mass, width, m_lo, m_hi, n, w_max, q, x, wgrid):
    """Hit-or-miss until ``n`` events; accepted points are hadronised and taken to the lab."""
    cap = 24 * n + MAX_EVENT_HADRONS + 2
    pdg = np.empty(cap, np.int32)
    mom = np.empty((cap, 4))
    offset = np.zeros(n + 1, np.int64)
    t_flav = np.empty(n, np.int32)
    t_cos = np.empty(n)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    t_nisr = np.empty(n, np.int32)
    t_nprim = np.empty(n, np.int32)
    t_gluon = np.empty(n, np.int32)
    t_ngluon = np.empty(n, np.int32)
    t_chan = np.zeros(n, np.int32)
    kk = np.zeros((2, 4))
    sig = np.zeros(N_CHANNELS)
    out_pdg = np.empty(MAX_EVENT_HADRONS, np.int32)
    out_p = np.empty((MAX_EVENT_HADRONS, 4))
    buf_pdg = np.empty(MAX_HADRONS, np.int32)
    buf_p = np.empty((MAX_HADRONS, 4))
    parts = np.zeros((3, 4))
    chain = np.zeros((MAX_PARTONS, 4))
    flv = np.zeros(MAX_PARTONS, np.int64)
    pt2_log = np.zeros(MAX_PARTONS)
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    n_fail = 0
    k = 0
    pos = 0
    while k < n:
        w, flav, sqrt_s, sp, bx, by, bz, nx, ny, nz = _qqbar_point(rng, par, kk, q, x, wgrid,
                                                                   sig)
        n_trials += 1
        sum_w += w
        sum_w2 += w * w
        if w > w_max:
            n_over += 1
        if not (w > 0.0 and rng.random() * w_max < w):
            continue
        msp = math.sqrt(sp)
        chan = 0
        if flav == LOW_MASS_FLAVOUR:
            # exclusive hadrons in the gamma* frame, z along the beam (Collins-Soper) axis
            chan = _pick_channel(rng, sig)
            nh = exclusive_final_state1(rng, sp, chan, out_pdg, out_p)
            glu, n_glu = False, 0
            if nh == 0:  # channel closed at this s' (sigma = 0: cannot be picked)
                n_fail += 1
                continue
        elif par[P_PARTONS] > 0.5:
            # the q qbar pair itself (string frame: quark along +z), hadronised by the caller
            m_q = par[P_MC] if flav == 4 else 0.0
            pq = math.sqrt(max(sp / 4.0 - m_q * m_q, 0.0))
            nh, glu, n_glu = 2, False, 0
            out_pdg[0], out_pdg[1] = flav, -flav
            for j, sgn in ((0, 1.0), (1, -1.0)):
                out_p[j, 0] = 0.0
                out_p[j, 1] = 0.0
                out_p[j, 2] = sgn * pq
                out_p[j, 3] = 0.5 * msp
        elif par[P_GLUON] > 0.5 and par[P_SHOWER] > 0.5:
            m_end = par[P_MC] if flav == 4 else 0.0
            nh, n_glu, n_seg = shower_fragment_event1(
                rng, lund, mass, width, m_lo, m_hi, flav, msp, m_end, chain, flv, pt2_log,
                out_pdg, out_p, buf_pdg, buf_p)
            glu = n_seg > 1
        else:
            nh, glu, _, _ = fragment_event1(rng, lund, mass, width, m_lo, m_hi, flav, msp,
                                            par[P_GLUON] > 0.5, out_pdg, out_p, buf_pdg, buf_p,
                                            parts)
            n_glu = 1 if glu else 0
        if nh < 0:  # below every two-meson threshold: cannot happen above min mass 2 GeV
            n_fail += 1
            continue
        qx = -(kk[0, 0] + kk[1, 0])
        qy = -(kk[0, 1] + kk[1, 1])
        qz = -(kk[0, 2] + kk[1, 2])
        qe = sqrt_s - kk[0, 3] - kk[1, 3]
        bqx, bqy, bqz = qx / qe, qy / qe, qz / qe
        ax, ay, az = collins_soper_axis1(sqrt_s, bqx, bqy, bqz)
        if flav == LOW_MASS_FLAVOUR:
            dx, dy, dz = ax, ay, az
            c = out_p[0, 2] / math.sqrt(out_p[0, 0]**2 + out_p[0, 1]**2 + out_p[0, 2]**2)
        else:
            c = _sample_cos(rng, sp, flav, par[P_MC])
            phi = 2.0 * math.pi * rng.random()
            sn = math.sqrt(max(1.0 - c * c, 0.0))
            dx, dy, dz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), c, ax, ay, az)
        pdg, mom = reserve_rows1(pdg, mom, pos, nh + 2)
        n_isr = 0
        for i in range(2):
            if kk[i, 3] > 0.0:
                lab = cm_to_lab1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3], bx, by, bz, nx, ny, nz)
                pdg[pos] = PHOTON
                for j in range(4):
                    mom[pos, j] = lab[j]
                pos += 1
                n_isr += 1
        for h in range(nh):
            # string frame (quark along +z) -> q qbar frame -> e+e- c.m. -> lab
            rx, ry, rz = rotate_z_to1(out_p[h, 0], out_p[h, 1], out_p[h, 2], dx, dy, dz)
            v = boost1(rx, ry, rz, out_p[h, 3], bqx, bqy, bqz)
            lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
            pdg[pos] = out_pdg[h]
            for j in range(4):
                mom[pos, j] = lab[j]
            pos += 1
        t_flav[k] = flav
        t_cos[k] = c
        t_sqrt_s[k] = sqrt_s
        t_sqrt_sp[k] = msp
        t_nisr[k] = n_isr
        t_nprim[k] = nh
        t_gluon[k] = 1 if glu else 0
        t_ngluon[k] = n_glu
        t_chan[k] = chan
        k += 1
        offset[k] = pos
    return (pdg[:pos], mom[:pos], offset, t_flav, t_cos, t_sqrt_s, t_sqrt_sp, t_nisr, t_nprim,
            t_gluon, t_ngluon, t_chan, n_trials, sum_w, sum_w2, n_over, n_fail)


def _flavour_list(value: list, where: str) -> list[str]:
    check(len(value) > 0, f"{where}: must name at least one of u, d, s, c")
    for f in value:
        check(isinstance(f, str) and f in QUARKS,
              f"{where}: {f!r} is not a quark flavour; allowed: 'u', 'd', 's', 'c'")
    check(len(set(value)) == len(value), f"{where}: a flavour is listed twice ({value!r})")
    return value


class QQbar(Process):
    """e+e- -> q qbar (u, d, s, c) with ISR, string fragmentation and hadron decays."""

    name = "qqbar"
    description = (
        "e+e- -> gamma* -> q qbar (u, d, s, c) continuum: R-ratio cross section at "
        "O(alpha_s), ISR structure functions, Lund string fragmentation (Belle II's "
        "pythia_belle2.dat parameters on Monash 2013, p_T-ordered dipole shower), hadron "
        "decays from DECAY_BELLE2.DEC; "
        "radiative-return tail below 2 GeV as exclusive pi pi, 3 pi, K K channels"
    )
    params = {
        "flavours": Param(list, ["u", "d", "s", "c"],
                          "quark flavours produced, a subset of 'u', 'd', 's', 'c'"),
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "vacuum_polarisation": Param(
            bool, True,
            "running alpha(s') of the photon exchange (gen.vacpol: leptons + hadrons; +7.7 % "
            "at 10.58 GeV, as in mumu); false = alpha(0)"),
        "gluon_radiation": Param(
            bool, True,
            "hardest gluon emission (q qbar g matrix element with Sudakov, pT > 0.5 GeV; "
            "gen.hadronization.gluon)"),
        "parton_shower": Param(
            bool, True,
            "with gluon_radiation: full p_T-ordered dipole shower (Monash alpha_s, pT > 0.5 "
            "GeV; gen.hadronization.shower) and the colour chain fragmented as a kinked Lund "
            "string (gen.hadronization.kinked); false = hardest gluon only"),
        "decays": Param(bool, True,
                        "decay unstable hadrons (gen.decays.generic, DECAY_BELLE2.DEC; with "
                        "hadronization = 'pythia', Pythia's own decays)"),
        "hadronization": Param(
            str, "string",
            "'string': the numba shower and Lund string of b2dark; 'pythia': the same q qbar "
            "pairs (ISR, flavour, angle from this generator) showered, hadronised and decayed "
            "by Pythia 8 (optional extra pythia8mc, gen.hadronization.pythia_engine) with "
            "the Lund keys below (Belle II's pythia_belle2.dat by default) and that file's "
            "other lines",
            choices=("string", "pythia")),
        "min_hadronic_mass_gev": Param(
            float, 2.0,
            "minimum q qbar mass sqrt(s') after ISR (GeV); below ~2 GeV hadron production is "
            "resonant and not described by a string (with low_mass: the boundary between the "
            "string and the exclusive channels, at most 2 GeV)",
            minimum=1.0, exclusive_minimum=False,
        ),
        "low_mass": Param(
            bool, True,
            "with u, d and s all enabled: add the radiative-return tail 2 m_pi < sqrt(s') < "
            "min_hadronic_mass_gev as exclusive channels (pi+ pi-, pi+ pi- pi0, K+ K-, K_S K_L, "
            "2pi+ 2pi-, pi+ pi- 2pi0, eta pi+ pi-; gen.hadronization.exclusive), truth flavour 0; "
            "ignored when none of u, d, s is produced"),
        "photon_min_energy_gev": Param(
            float, 1e-4, "ISR photons softer than this (c.m.) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
        # Lund parameters: Belle II's continuum values (basf2 pythia_belle2.dat, see
        # gen.hadronization.tables.BELLE2_PYTHIA_DAT); Monash 2013 (arXiv:1404.5630) in the docs
        "lund_a": Param(float, 0.32, "Lund a (StringZ:aLund; Belle II pythia_belle2.dat; "
                        "Monash 2013: 0.68)", minimum=0.0, exclusive_minimum=True, maximum=5.0),
        "lund_b_gev2": Param(float, 0.62, "Lund b in GeV^-2 (StringZ:bLund; Belle II; Monash: "
                             "0.98)", minimum=0.0, exclusive_minimum=True, maximum=5.0),
        "r_fact_c": Param(float, 1.0, "Bowler factor of the c quark (StringZ:rFactC; Belle II; "
                          "Monash: 1.32)", minimum=0.0, maximum=5.0),
        "eta_sup": Param(float, 0.27, "extra acceptance of eta (StringFlav:etaSup; Belle II; "
                         "Monash: 0.60)", minimum=0.0, maximum=1.0),
        "eta_prime_sup": Param(float, 0.12, "extra acceptance of eta' (StringFlav:etaPrimeSup; "
                               "Belle II = Monash)", minimum=0.0, maximum=1.0),
        "stop_mass_gev": Param(float, 0.3, "string W below which the last two hadrons are made "
                               "(StringFragmentation:stopMass; Belle II; Monash: 1.0)",
                               minimum=0.0, exclusive_minimum=True, maximum=5.0),
        "sigma_pt_gev": Param(float, 0.335, "string pT width (StringPT:sigma; Monash = Belle "
                              "II)", minimum=0.0, exclusive_minimum=True, maximum=2.0),
        "prob_s_to_ud": Param(float, 0.217, "s/u ratio of new flavours (StringFlav:probStoUD; "
                              "Monash = Belle II)", minimum=0.0, maximum=1.0),
    }
    cuts: dict[str, Param] = {}

    def __init__(self, params: dict, cuts: dict, beams: Beams) -> None:
        super().__init__(params, cuts, beams)
        #: the card's Lund keys as LundParameters fields: the numba string and Pythia get both
        self.lund_values = {
            "a_lund": params["lund_a"], "b_lund": params["lund_b_gev2"],
            "r_fact_c": params["r_fact_c"], "eta_sup": params["eta_sup"],
            "eta_prime_sup": params["eta_prime_sup"], "stop_mass": params["stop_mass_gev"],
            "sigma_pt": params["sigma_pt_gev"], "prob_s_to_ud": params["prob_s_to_ud"]}
        self.lund = lund_parameters(self.lund_values)
        self.tables = meson_tables()
        self.n_fragmentation_failures = 0

    def validate(self, where: str) -> None:
        flavours = _flavour_list(self.p["flavours"], f"{where}: process.flavours")
        if self.p["hadronization"] == "pythia":
            from gen.hadronization import pythia_engine

            check(pythia_engine.available(),
                  f"{where}: process.hadronization = 'pythia' needs the optional Pythia 8 "
                  "module: pip install '.[pythia]' (or use 'string')")
        m_min = self.p["min_hadronic_mass_gev"]
        light = [f for f in flavours if f in ("u", "d", "s")]
        if self.p["low_mass"] and light:
            check(len(light) == 3,
                  f"{where}: process.low_mass = true needs all of 'u', 'd', 's' in "
                  f"process.flavours (the exclusive tail is not split by flavour); got "
                  f"{flavours!r}: add them or set low_mass = false")
            check(m_min <= 2.0,
                  f"{where}: process.min_hadronic_mass_gev ({m_min}) must be <= 2.0 with "
                  "low_mass = true (the exclusive channels are parametrised up to 2 GeV)")
        check(m_min < self.beams.sqrt_s_gev,
              f"{where}: process.min_hadronic_mass_gev ({m_min}) must be below sqrt(s) = "
              f"{self.beams.sqrt_s_gev:.3f} GeV")
        if flavours == ["c"]:
            check(self.beams.sqrt_s_gev > CHARM_THRESHOLD,
                  f"{where}: process.flavours = ['c'] needs sqrt(s) above the open-charm "
                  f"threshold {CHARM_THRESHOLD:.3f} GeV")

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        par[P_EHER:P_HALF + 1] = self.beams.as_tuple()
        par[P_ISR] = float(self.p["isr"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        m_min = self.p["min_hadronic_mass_gev"]
        if self.p["flavours"] == ["c"]:
            m_min = max(m_min, CHARM_THRESHOLD)
        par[P_MMIN] = m_min
        # lower edge of the hard ISR sampling channel: the lowest hadronic mass generated
        par[P_XMIN] = min(m_min**2 / self.beams.sqrt_s_gev**2, 0.9)
        par[P_HARD] = ISR_HARD_FRACTION
        par[P_MC] = self.lund[L_MC]
        par[P_GLUON] = float(self.p["gluon_radiation"])
        par[P_VP] = float(self.p["vacuum_polarisation"])
        par[P_SHOWER] = float(self.p["parton_shower"])
        par[P_PARTONS] = float(self.p["hadronization"] == "pythia")
        for f in self.p["flavours"]:
            par[P_ON + QUARKS[f] - 1] = 1.0
        if self.low_mass_enabled:
            par[P_LOW] = LOW_CHANNEL_PROBABILITY
        return par

    @property
    def low_mass_enabled(self) -> bool:
        """True if the exclusive tail below ``min_hadronic_mass_gev`` is generated."""
        return bool(self.p["low_mass"] and {"u", "d", "s"} <= set(self.p["flavours"]))

    def _low_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(proposal of s', exclusive parameters, 3 pi phase-space table) for the kernels."""
        x, wgrid = exclusive_tables()
        m_min = self.p["min_hadronic_mass_gev"]
        q = proposal(S_THRESHOLD, m_min**2, [(M_RHO, G_RHO), (M_OMEGA, G_OMEGA),
                                             (M_PHI, G_PHI)], _PROPOSAL_FRACTIONS)
        return q, x, wgrid

    def low_mass_born_pb(self, sqrt_s_prime_gev: float) -> dict[str, float]:
        """Exclusive channel cross sections (pb) at hadronic mass ``sqrt_s_prime_gev`` (no ISR;
        with the vacuum-polarisation factor if ``vacuum_polarisation``)."""
        from gen.hadronization.exclusive import CHANNELS

        _, x, wgrid = self._low_arrays()
        s = sqrt_s_prime_gev**2
        sig = np.zeros(N_CHANNELS)
        channel_sigmas1(s, x, wgrid, sig)
        vp = vp_factor1(s) if self.p["vacuum_polarisation"] else 1.0
        return {name: GEV2_TO_PB * float(sig[i - 1]) * vp for i, name in CHANNELS.items()}

    def born_cross_section_pb(self, sqrt_s_gev: float | None = None) -> dict[str, float]:
        """sigma_q (pb) per enabled flavour at ``sqrt_s_gev`` (default nominal), no ISR; with
        the vacuum-polarisation factor if ``vacuum_polarisation``."""
        e = self.beams.sqrt_s_gev if sqrt_s_gev is None else sqrt_s_gev
        par = self._par()
        vp = vp_factor1(e * e) if par[P_VP] > 0.5 else 1.0
        return {f: GEV2_TO_PB * flavour_sigma1(e * e, QUARKS[f], par[P_MC]) * vp
                for f in self.p["flavours"]}

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _qqbar_weights(rng, self._par(), n, *self._low_arrays())

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        t = self.tables
        (pdg, mom, offset, flav, cos, sqrt_s, sqrt_sp, nisr, nprim, glu, nglu, chan,
         n_trials, sum_w, sum_w2, n_over, n_fail) = _qqbar_generate(
            rng, self._par(), self.lund, t.mass, t.width, t.m_lo, t.m_hi, n, self.w_max,
            *self._low_arrays())
        self.n_fragmentation_failures += int(n_fail)
        npart = pdg.shape[0]
        particles = {k: np.zeros(npart, dtype=v) for k, v in PARTICLE_FIELDS.items()}
        particles["pdg"][:] = pdg
        particles["status"][:] = FINAL
        particles["mother"][:] = -1
        for c, name in enumerate(("px", "py", "pz", "e")):
            particles[name][:] = mom[:, c]
        truth = {"flavour": flav, "cos_theta": cos, "sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp,
                 "n_isr": nisr, "n_primary": nprim, "gluon": glu, "n_gluons": nglu,
                 "channel": chan}
        chunk = EventChunk(weight=np.ones(n), offset=offset, particles=particles, truth=truth)
        stats = SamplingStats(int(n_trials), float(sum_w), float(sum_w2), int(n_over))
        if self.p["hadronization"] == "pythia":
            chunk = self._pythia(chunk, rng)
            chunk.check(self.name)
            return chunk, stats
        if self.p["decays"]:
            from gen.decays.generic import decay_unstable

            chunk = decay_unstable(chunk, rng)
        chunk.check(self.name)
        return chunk, stats

    def _pythia(self, chunk: EventChunk, rng: np.random.Generator) -> EventChunk:
        """String events (q qbar rows) to Pythia; exclusive low-mass events keep their hadrons
        (decayed by gen.decays.generic with ``decays``); original event order restored."""
        from gen.hadronization.pythia_engine import hadronize_pairs

        low = chunk.truth["flavour"] == LOW_MASS_FLAVOUR
        parts = []
        for is_low in (False, True):
            idx = np.flatnonzero(low == is_low)
            if idx.size == 0:
                continue
            sub = _take_events(chunk, idx)
            if not is_low:
                sub = hadronize_pairs(sub, rng, self.lund[L_MC], decays=self.p["decays"],
                                      lund=self.lund_values)
                sub.truth["n_primary"] = sub.truth.pop("n_primary_pythia")
            elif self.p["decays"]:
                from gen.decays.generic import decay_unstable

                sub = decay_unstable(sub, rng)
            parts.append((idx, EventChunk(weight=sub.weight, offset=sub.offset,
                                          particles=sub.particles,
                                          truth={k: sub.truth[k] for k in chunk.truth})))
        order = np.concatenate([idx for idx, _ in parts])
        merged = EventChunk.concatenate([sub for _, sub in parts])
        return _take_events(merged, np.argsort(order, kind="stable"))


def _take_events(chunk: EventChunk, idx: np.ndarray) -> EventChunk:
    """The events ``idx`` of ``chunk`` (in that order) as a new chunk."""
    lo, hi = chunk.offset[idx], chunk.offset[idx + 1]
    rows = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)]) if idx.size \
        else np.zeros(0, np.int64)
    offset = np.zeros(idx.size + 1, np.int64)
    offset[1:] = np.cumsum(hi - lo)
    return EventChunk(weight=chunk.weight[idx].copy(), offset=offset,
                      particles={k: v[rows] for k, v in chunk.particles.items()},
                      truth={k: v[idx] for k, v in chunk.truth.items()})
