"""e+e- -> mu+ mu- (gamma): s-channel photon (+ Z) with the muon mass, ISR and FSR.

Born (photon exchange, massless electrons, muon mass kept; Peskin & Schroeder sec. 5.1, the
massive-muon formula; PDG RPP 2024 "Cross-section formulae", e+e- -> f f-bar):

    dsigma/dcos = (pi alpha^2 / (2 s)) beta [1 + cos^2 + (1 - beta^2) sin^2],
    sigma       = (4 pi alpha^2 / (3 s)) beta (3 - beta^2) / 2,   beta = sqrt(1 - 4 m_mu^2 / s),

with ``z_exchange`` plus the tree-level gamma-Z interference and Z^2 terms (A_FB ~ -0.7 %,
sigma changed by < 1e-4), and with ``vacuum_polarisation`` (default) the running coupling
alpha(s') = alpha / (1 - Delta alpha(s')) of the photon exchange at the s' of the muon pair
after ISR (``gen.vacpol``: leptons + hadrons), Z couplings with alpha(M_Z^2); the formulas are
in ``gen.processes.ffbar`` (shared with ``tautau``). At 10.58 GeV running alpha raises the Born
value by 7.7 % and sigma(ISR + FSR) by 6.7 % (1083 -> 1155 pb; KKMC 1148 pb, Belle II Physics
Book arXiv:1808.10567; tests/validation/test_xsec_lepton_pairs.py). Narrow resonances in the
radiative return (J/psi, Upsilon(1S-3S)) are absent (the hadronic Delta alpha averages them).

Radiation (``gen.radiation``): ISR by electron structure functions with finite photon angles and
the K_ISR factor; FSR PHOTOS-like off the muons with the massive inclusive factor
``fsr_k_factor1`` (Schwinger; 1 + 3 alpha / (4 pi) + 3e-6 at s' = s, +4e-4 on sigma through
the radiative return to low s'). The muon angular distribution is the Born one in the rest
frame of the muon pair (before FSR), measured from the axis bisecting the e- and reversed e+
directions in that frame (Collins-Soper axis).
ISR-FSR interference is not included: it is odd under mu+ <-> mu- and cancels in any
charge-symmetric selection (total and the default cuts), it only adds to A_FB.

Generator-level cuts (``[cuts]``, defaults reject nothing an analysis with tracks in the CDC can
select; see ``MUON_PAIR_CUTS``) act on the lab muons and on the missing four-momentum
P_beams(nominal) - p_mu- - p_mu+, whose 3-momentum is measured in the c.m. frame of the nominal
beams (magnitude) and in the lab (polar angle).

Output per event: mu-, mu+, then the photons (ISR of the e- beam, ISR of the e+ beam, FSR of the
mu-, FSR of the mu+; each only if emitted above ``photon_min_energy_gev``), status 1, mother -1.
Truth: ``sqrt_s``, ``sqrt_s_prime`` (mass of the muon pair before FSR), ``n_isr``, ``n_fsr``.

Sampling
--------
Plain sampler (``_mumu_trial``): every variable from its physics density (beam spread, ISR
angles, Born angle, FSR energies and angles), the ISR fractions from the pdf p0 of
``sample_isr_fraction1`` (hard share ``ISR_HARD_SHARE``) with the weight D/p0; without
missing-momentum cuts it is the only one. Its weight depends only on sqrt(s) and the ISR
energy fractions (``gen.processes.ffbar.pair_weight1``), so ``generate`` decides the hit on it
and draws the photon angles, the Born angle and FSR and applies the cuts for hit trials only
(``gen.unweight.cut_failed1``: unbiased cross section, the same events). ``generate`` runs it in
blocks of ``BLOCK_TRIALS`` (as ``gen.processes.mumu_zprime``): the beam-energy normals and the
uniforms of the ISR fractions and of the hit drawn in bulk, the weights stage by stage
(``_plain_block1``: ``pair_weight_c1``'s arithmetic, the same weight for the same numbers), the
hits' per-event constants in one short loop (``_hit_constants1``), then the hits' events from
scalar draws in trial order (``gen.processes.ffbar.pair_event_cm_p1``). Trial 220 -> 172 ns,
event ~1050 -> ~950 ns (interleaved A/B, 2026-11; tests/gen/test_mumu_block.py; the pilot
keeps the scalar trials).

With a missing-momentum cut only ~1 % of plain trials survive: the survivors need photons that
carry the missing momentum and escape the veto - one hard photon in an ECL gap, or hard photons
in the beam pipes balancing each other (the crossing angle and their own angles give the
transverse momentum), sometimes tilted by a photon just below the veto threshold. The
multi-channel sampler (``_mc_trial``, Kleiss & Pittau, Comput. Phys. Commun. 83 (1994) 141,
hep-ph/9405257) draws channel c with probability alpha_c; a channel samples up to two photons
in an enhanced *mode* and everything else exactly as the plain sampler:

- LOW: energy fraction v with dv/v on [v_th, 1); HARD (ISR): dx/x on [x_min, 0.7], x = 1 - v
  (the radiative return, where sigma(s') ~ 1/s'); angles as plain;
- GAP / PIPE / SOFT (ISR): energy from the even mix of LOW and HARD (SOFT: dv/v on a band
  around the veto threshold), lab direction uniform in solid angle over the window set
  (``sampler_setup``); the c.m. direction follows by the inverse Lorentz transformation, with
  the solid-angle Jacobian (E_cm / E_lab)^2;
- GAP / PIPE / SOFT (FSR, "photon first"): energy LOW (SOFT: a band around the veto
  threshold), the photon's lab direction uniform over the window, then the muon axis n around
  the photon with the same dipole density as the plain photon around n (the density depends
  only on the angle between them); the Born density of n is thereby replaced by the window's.

The density of the whole point is q = sum_c alpha_c q_c with q_c = q_plain rho_c, rho_c the
product over the enhanced photons of (mode density / plain density) of that photon's variables
(energy; and direction: window density x Jacobian / dipole density for ISR, window density x
Jacobian / Born density of n for FSR photon-first). Every trial gets weight W_plain / R with
R = sum_c alpha_c rho_c, whichever channel made it, so the weights estimate the same cross
section and distributions as the plain sampler (f / q with the same f), exactly, for any
alpha; the plain channel (alpha_0 >= ``plain_fraction``) keeps q > 0 wherever f > 0 and bounds
every weight by W_plain / alpha_0. The pilot run chooses alpha by the linear programme of
``optimal_alpha`` (smallest maximum weight) and w_max from the plateau of the weights' upper
edge that the programme leaves (``robust_max``, ``WMAX_GROUPS``), not from a pilot maximum that
one badly covered point can inflate. A trial decides each cut as soon as its variables exist and
computes the weight (ISR ratios, Born with running alpha, FSR factor, the density sum R) only
for points that pass (``_mc_trial``): the s' threshold after the ISR fractions, the veto of the
ISR photons after their directions, the missing-momentum cuts before the muon axis (the pair's
four-momentum Q is known; FSR photons of total energy w in the pair frame move the missing
momentum by at most (E_Q + |p_Q|) w / M_Q, ``_pmiss_clearly_fails1``), then the muon cuts on
the muons before the photons go to the lab (``_muon_cuts_first1``) and the FSR photons' veto.
The channel comes from an alias table (``channel_alias1``). Tests: tests/gen/test_mumu.py
(densities, cross sections and distributions against the plain sampler; no pre-filter drops
an accepted point).

Where the time of cards/samples/mumu.toml goes (2026-11, 2e6 trials, load 3-8): 1.2 us per
trial (the plain sampler's scalar trial with its full event and cuts: 0.95 us), 34 trials per
event. 11.2 % of the trials pass the cuts; the others fail early (s' below threshold, 10 %),
on the muons (30 %), |p_miss| (11 %), the p_miss angle (28 %) or the veto (11 %). With the
cuts in the order above (2026-11, fixed shares, 4e5 trials, load 6-10; interleaved A/B): the
trials leave at the s' threshold (10 %), the ISR veto (17 %), the missing-momentum pre-filter
(21 %), the muon cuts (40 %), the FSR veto (2 %), 10.4 % pass; CPU per trial 1.31 -> 0.89 us
in ``generate`` (collision and channel ~0.14 us, ISR fractions 0.05, ISR directions 0.14,
FSR fractions 0.08, muon axis and FSR 0.15, cuts and lab event 0.1, the weight of passing
points 0.07 per trial). Channels:
ISR photon in a gap (shares 0.067 / 0.031, pass 58 %) 44 % of sigma, FSR photon in a gap
(0.043 / 0.042, pass 36 %) 29 %, two ISR photons in the beam pipes with no lab p_z (LOW, HARD
pairs, 0.31 in all, pass 3-4 %) ~20 %. Nonzero weights / sigma: median 7.8, 99.9 % below 25.9:
the programme makes the upper edge a plateau (many topologies at the same maximum, ~22-27 x sigma
for any shares: linear programme or the p = 8, 16 moments) - beyond it ~4 trials per 1e6 with
weights up to ~130 x sigma (R ~ 1). Tried (2026-11) and not kept: a joint channel for the
balanced pipe pair (ln(v2/v1) in a band around ln((1 + b)/(1 - b)), pass 17 % instead of 4 %)
and a channel per ECL gap: the plateau moved by < 15 % with a longer tail above it (more
overweights at an equal safety factor).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

from gen.beams import (
    Beams,
    cm_to_lab1,
    collision_frame_sc1,
    collision_sqrt_s_sc1,
    crossing_trig1,
    lab_to_cm1,
    sample_beam_energies1,
)
from gen.cards import CardError, Param, check
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_MU, MUON, PHOTON
from gen.events import EventChunk, SamplingStats
from gen.gencuts import PHOTON_VETO_CUTS, photon_veto_array, photon_vetoed1, validate_photon_veto
from gen.jit import kernel
from gen.kinematics import (
    boost1,
    boost_p1,
    boost_params1,
    rotate_z_to1,
    rotate_z_to_p1,
    rotation_params1,
    two_body_momentum1,
)
from gen.processes.base import (
    PILOT_POINTS,
    PILOT_SAFETY,
    Process,
    check_momentum_reachable,
)
from gen.processes.ffbar import (  # M_Z, GAMMA_Z, SIN2_THETA_EFF re-exported (bhabha)
    GAMMA_Z,  # noqa: F401
    M_Z,  # noqa: F401
    SIN2_THETA_EFF,  # noqa: F401
    born_cos_density_f1,
    born_cos_density_ff,
    born_factors1,
    born_sigma_b1,
    born_sigma_f1,
    born_sigma_ff,
    pair_event_cm_p1,
    pair_trial_cm1,
    sample_born_cos_f1,
    sample_born_cos_ff,
)
from gen.radiation import (
    ISR_K_FACTOR,
    collins_soper_axis1,
    dipole_beta,
    emission_params1,
    fsr_k_factor1,
    fsr_rest_params1,
    isr_consts1,
    isr_fraction_u1,
    isr_hard_terms,
    isr_recoil_energies1,
    isr_soft_factor,
    ll_beta,
    ll_beta_near1,
    sample_emission_angle_p1,
    sample_fsr_fraction1,
    sample_isr_fraction1,
    structure_function_o1,
)
from gen.unweight import (  # chunk_from_arrays re-exported (eemumu)
    block_weights,
    checked_chunk,
    chunk_from_arrays,  # noqa: F401
    count_trial1,
    cut_failed1,
    draw_block1,
    fill_event1,
    new_events,
    new_stats,
    pair_event_to_lab1,
    stats_from_array,
    unweight1,
)

#: generator-level cuts shared by the muon-pair processes (mumu, eemumu). Defaults: muons within
#: 10-170 deg (the CDC acceptance is 17-150 deg, Belle II TDR arXiv:1011.0352; 7/20 deg
#: margins are far beyond any angular resolution), missing-momentum cuts off.
MUON_PAIR_CUTS: dict[str, Param] = {
    "mu_theta_min_deg": Param(
        float, 10.0, "minimum lab polar angle of both muons (deg)", minimum=0.0, maximum=180.0
    ),
    "mu_theta_max_deg": Param(
        float, 170.0, "maximum lab polar angle of both muons (deg)", minimum=0.0, maximum=180.0
    ),
    "mu_p_min_gev": Param(
        float, 0.0,
        "minimum lab momentum of both muons (GeV); 0 = off. Belle II muon ID needs p > 0.7 GeV "
        "to reach the KLM (detector/config.py), so search cards may cut at ~0.6",
        minimum=0.0,
    ),
    "pmiss_cm_min_gev": Param(
        float,
        0.0,
        "minimum |P_beams - p_mu- - p_mu+| in the nominal c.m. frame (GeV); 0 = off. Search "
        "cards with a 0.5 GeV recoil-momentum selection use ~0.3 (resolution margin)",
        minimum=0.0,
    ),
    "pmiss_theta_min_deg": Param(
        float, 0.0, "minimum lab polar angle of the missing 3-momentum (deg); 0 = off",
        minimum=0.0, maximum=180.0,
    ),
    "pmiss_theta_max_deg": Param(
        float, 180.0, "maximum lab polar angle of the missing 3-momentum (deg); 180 = off",
        minimum=0.0, maximum=180.0,
    ),
}

#: probability of the hard (dx/x) channel of the ISR energy-fraction sampling: a sampling
#: choice, not physics (any value gives the same distributions). Measured at 10.58 GeV (weights
#: before cuts, 2e6 trials, default beams): max/mean weight 1.86, 1.17, 1.09, 1.08, 1.11, 1.22,
#: 1.39 for 0.1, 0.13, 0.14, 0.15, 0.16, 0.2, 0.25: with 0.15 the soft corner (x1 = x2 = 1)
#: and the double radiative return near threshold (x1, x2 ~ 0.04, where sigma ~ 1/s' meets the
#: dx/x density) have nearly equal weights, a flat weight distribution with a sharp edge.
ISR_HARD_SHARE = 0.15
#: safety factor on the pilot maximum of the plain sampler instead of ``PILOT_SAFETY`` (1.3):
#: with ``ISR_HARD_SHARE`` its weights have a sharp upper edge. Measured (default card, three
#: seeds): the largest of 1e7 further trials exceeds the 2e5-trial pilot maximum by 0.05-0.09 %
#: (again, 4e6 trials on other streams: 0.04-0.11 %). The edge is the soft-ISR corner times
#: sigma_Born ~ 1/s, whose tail follows the Gaussian beam-energy spread (d ln sigma = 9.4e-4 per
#: standard deviation of sqrt(s) at the default spreads): from the pilot's ~4.5 sd to the
#: ~6.1 sd of 1e9 trials it grows by ~0.15 %. 1.02 leaves > 10 times that (1.1 before: 7 %
#: fewer trials per event now). Overweight trials stay counted in n_overweight.
PILOT_SAFETY_PLAIN = 1.02

# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_MU_CLO, P_MU_CHI, P_PMISS, P_PM_ON, P_PM_CLO, P_PM_CHI = 5, 6, 7, 8, 9, 10
P_NOM_PX, P_NOM_PY, P_NOM_PZ, P_NOM_E = 11, 12, 13, 14
P_ISR, P_FSR, P_ZEX, P_EMIN, P_XMIN, P_HARD = 15, 16, 17, 18, 19, 20
P_MU_PMIN, P_VP = 21, 22
N_PAR = 23


def validate_muon_pair_cuts(cuts: dict, beams: Beams, where: str) -> None:
    """Cross-key checks of ``MUON_PAIR_CUTS`` (min below max); CardError names ``where``."""
    check_momentum_reachable(cuts["mu_p_min_gev"], "cuts.mu_p_min_gev", beams, where)
    check(
        cuts["mu_theta_min_deg"] < cuts["mu_theta_max_deg"],
        f"{where}: cuts.mu_theta_min_deg ({cuts['mu_theta_min_deg']}) must be below "
        f"cuts.mu_theta_max_deg ({cuts['mu_theta_max_deg']})",
    )
    check(
        cuts["pmiss_theta_min_deg"] < cuts["pmiss_theta_max_deg"],
        f"{where}: cuts.pmiss_theta_min_deg ({cuts['pmiss_theta_min_deg']}) must be below "
        f"cuts.pmiss_theta_max_deg ({cuts['pmiss_theta_max_deg']})",
    )
    check(
        cuts["pmiss_cm_min_gev"] < 0.5 * beams.sqrt_s_gev,
        f"{where}: cuts.pmiss_cm_min_gev ({cuts['pmiss_cm_min_gev']}) must be below "
        f"sqrt(s)/2 = {0.5 * beams.sqrt_s_gev:.3f} GeV",
    )


def fill_common_par(par: np.ndarray, cuts: dict, beams: Beams) -> None:
    """Beams, nominal beam four-momentum and muon-pair cuts into the kernel parameter array."""
    par[P_EHER:P_HALF + 1] = beams.as_tuple()
    par[P_MU_CLO] = math.cos(math.radians(cuts["mu_theta_max_deg"]))
    par[P_MU_CHI] = math.cos(math.radians(cuts["mu_theta_min_deg"]))
    if cuts["mu_theta_min_deg"] <= 0.0:
        par[P_MU_CHI] = 2.0
    if cuts["mu_theta_max_deg"] >= 180.0:
        par[P_MU_CLO] = -2.0
    par[P_MU_PMIN] = cuts["mu_p_min_gev"]
    par[P_PMISS] = cuts["pmiss_cm_min_gev"]
    lo, hi = cuts["pmiss_theta_min_deg"], cuts["pmiss_theta_max_deg"]
    par[P_PM_CLO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
    par[P_PM_CHI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
    par[P_PM_ON] = 1.0 if (par[P_PMISS] > 0.0 or lo > 0.0 or hi < 180.0) else 0.0
    em, ep = beams.nominal_four_momenta()
    par[P_NOM_PX:P_NOM_E + 1] = em + ep


@kernel
def muon_pair_cuts1(par, m1x, m1y, m1z, m1e, m2x, m2y, m2z, m2e) -> bool:
    """Generator-level cuts on two lab muons (see ``MUON_PAIR_CUTS``); True if accepted."""
    clo, chi = par[P_MU_CLO], par[P_MU_CHI]
    p1 = math.sqrt(m1x * m1x + m1y * m1y + m1z * m1z)
    p2 = math.sqrt(m2x * m2x + m2y * m2y + m2z * m2z)
    if p1 < par[P_MU_PMIN] or p2 < par[P_MU_PMIN]:
        return False
    c1 = m1z / p1
    if c1 < clo or c1 > chi:
        return False
    c2 = m2z / p2
    if c2 < clo or c2 > chi:
        return False
    if par[P_PM_ON] > 0.5:
        px = par[P_NOM_PX] - m1x - m2x
        py = par[P_NOM_PY] - m1y - m2y
        pz = par[P_NOM_PZ] - m1z - m2z
        pe = par[P_NOM_E] - m1e - m2e
        e = par[P_NOM_E]
        cx, cy, cz, _ = lab_to_cm1(px, py, pz, pe, par[P_NOM_PX] / e, par[P_NOM_PY] / e,
                                   par[P_NOM_PZ] / e)
        if cx * cx + cy * cy + cz * cz < par[P_PMISS] * par[P_PMISS]:
            return False
        p = math.sqrt(px * px + py * py + pz * pz)
        if p <= 0.0:
            return False
        c = pz / p
        if c < par[P_PM_CLO] or c > par[P_PM_CHI]:
            return False
    return True


@kernel
def gamma_z_factors1(s: float):
    """(C1, C2) of the tree-level gamma + Z cross section with alpha(0) (gen.processes.ffbar)."""
    c1, c2, _ = born_factors1(s, M_MU, True, False)
    return c1, c2


@kernel
def born_sigma(s: float, z_exchange: bool, vp: bool) -> float:
    """Born sigma(e+e- -> mu+mu-) in GeV^-2 at c.m. energy squared ``s`` (0 below threshold).

    ``vp``: running alpha(s) of the photon exchange (gen.processes.ffbar).
    """
    return born_sigma_ff(s, M_MU, ALPHA_EM, z_exchange, vp)


@kernel
def _sample_born_cos(rng, s: float, z_exchange: bool, vp: bool) -> float:
    """cos(theta*) between e- and mu- from the Born distribution (hit-or-miss, exact)."""
    return sample_born_cos_ff(rng, s, M_MU, z_exchange, vp)


@kernel
def _muon_cuts_first1(par, ff, bqx, bqy, bqz, bx, by, bz, nx, ny, nz) -> bool:
    """``muon_pair_cuts1`` on the two muons of ``ff`` alone, taken to the lab as
    ``pair_event_to_lab1`` does (the same numbers). The muon and missing-momentum cuts need no
    photon: a multi-channel trial failing them (69 % of the trials of cards/samples/mumu.toml,
    measured 2026-11) skips the photons' boosts and the veto (2-3 % of its CPU time)."""
    gq, gq2 = boost_params1(bqx, bqy, bqz)
    gb, gb2 = boost_params1(bx, by, bz)
    sn, kx, ky = rotation_params1(nx, ny)
    px, py, pz, e = boost_p1(ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3], bqx, bqy, bqz, gq, gq2)
    rx, ry, rz = rotate_z_to_p1(px, py, pz, nz, sn, kx, ky)
    ax, ay, az, ae = boost_p1(rx, ry, rz, e, bx, by, bz, gb, gb2)
    px, py, pz, e = boost_p1(ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3], bqx, bqy, bqz, gq, gq2)
    rx, ry, rz = rotate_z_to_p1(px, py, pz, nz, sn, kx, ky)
    cx, cy, cz, ce = boost_p1(rx, ry, rz, e, bx, by, bz, gb, gb2)
    return muon_pair_cuts1(par, ax, ay, az, ae, cx, cy, cz, ce)


@kernel
def _lab_event_and_cuts1(par, veto, buf, kk, ff, mask, bqx, bqy, bqz, bx, by, bz, nx, ny, nz):
    """The c.m. event of a trial into ``buf`` in the lab, and the generator-level cuts.

    Row order: mu-, mu+, ISR photons (e- beam, e+ beam), FSR photons (mu-, mu+; those set in
    ``mask``). Returns (accepted, n_particles, n_isr, n_fsr).
    """
    n, n_isr, n_fsr = pair_event_to_lab1(buf, kk, ff, mask, bqx, bqy, bqz, bx, by, bz, nx, ny,
                                         nz)
    accepted = muon_pair_cuts1(par, buf[0, 0], buf[0, 1], buf[0, 2], buf[0, 3],
                               buf[1, 0], buf[1, 1], buf[1, 2], buf[1, 3])
    if accepted:
        for r in range(2, n):
            if photon_vetoed1(veto, buf[r, 0], buf[r, 1], buf[r, 2], buf[r, 3]):
                accepted = False
    return accepted, n, n_isr, n_fsr


@kernel
def _mumu_trial(rng, par, veto, buf, kk, ff):
    """One trial point: weight (pb) and the event in ``buf`` rows (mu-, mu+, photons), lab.

    Returns (weight, n_particles, sqrt_s, sqrt_s_prime, n_isr, n_fsr).
    """
    (w, sqrt_s, bx, by, bz, nx, ny, nz, bqx, bqy, bqz, msp, _,
     mask) = pair_trial_cm1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF],
                            M_MU, par[P_ISR] > 0.5, par[P_FSR] > 0.5, par[P_ZEX] > 0.5,
                            par[P_VP] > 0.5, par[P_EMIN], par[P_HARD], par[P_XMIN], kk, ff)
    if w <= 0.0:
        return 0.0, 0, sqrt_s, 0.0, 0, 0
    # order: mu-, mu+, ISR photons (e- beam, e+ beam), FSR photons (mu-, mu+); c.m. -> lab
    accepted, n, n_isr, n_fsr = _lab_event_and_cuts1(par, veto, buf, kk, ff, mask, bqx, bqy, bqz,
                                                     bx, by, bz, nx, ny, nz)
    if not accepted:
        w = 0.0
    return w, n, sqrt_s, msp, n_isr, n_fsr


@kernel
def _mumu_weights(rng, par, veto, n):
    out = np.empty(n)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    for i in range(n):
        out[i] = _mumu_trial(rng, par, veto, buf, kk, ff)[0]
    return out


# ---------------------------------------------------------------------------------------------
# Plain sampler in blocks of trials (as gen.processes.mumu_zprime)

#: uniforms per plain trial in a block: the ISR fractions of the e- and e+ beams, the hit
TRIAL_UNIFORMS = 3
#: trials per block: their uniforms and beam-energy normals are drawn in bulk (2.3 ns per uniform
#: instead of 6.6 ns as scalar draws in a kernel, numba 0.68, PCG64; docs/benchmarks.md), then
#: their weights are computed stage by stage without the unpredictable hit branch
BLOCK_TRIALS = 512
#: columns of the per-trial rows of ``_plain_block1``: eh, el, sqrt_s, v1, v2, C1, C2, CM
_TR_COLS = 8


@kernel
def _plain_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, isr, fsr, zex, vp, w, tr):
    """Weights (pb, before cuts) of trials 0 .. nt-1 of a block into ``w``, their
    (eh, el, sqrt_s, v1, v2, C1, C2, CM) into the rows of ``tr``.

    Per trial the arithmetic of ``gen.beams.sample_beam_energies1``, ``collision_sqrt_s_sc1``
    and ``gen.processes.ffbar.pair_weight_c1`` (ISR by ``gen.radiation.isr_fraction_u1`` from
    the uniforms ``pool[3t]``, ``pool[3t + 1]``): the same weight bit for bit for the same
    random numbers (tests/gen/test_mumu_block.py), computed stage by stage over the block so the
    CPU overlaps consecutive trials' long dependent chains (logs, exps, divisions).
    """
    e_min = par[P_EMIN]
    sph, spl = par[P_SPH], par[P_SPL]
    m4 = 4.0 * M_MU * M_MU
    for t in range(nt):
        eh = par[P_EHER] + sph * nh[t] if sph > 0.0 else par[P_EHER]
        el = par[P_ELER] + spl * nl[t] if spl > 0.0 else par[P_ELER]
        tr[t, 0], tr[t, 1] = eh, el
        tr[t, 2] = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
    if isr:
        for t in range(nt):
            sqrt_s = tr[t, 2]
            beta = ll_beta_near1(sqrt_s * sqrt_s, cst[0], cst[1], M_E)
            tob = 2.0 / beta
            v1, n1, d1 = isr_fraction_u1(pool[TRIAL_UNIFORMS * t], beta, tob, cst)
            v2, n2, d2 = isr_fraction_u1(pool[TRIAL_UNIFORMS * t + 1], beta, tob, cst)
            eb = 0.5 * sqrt_s
            tr[t, 3] = 0.0 if v1 * eb < e_min else v1
            tr[t, 4] = 0.0 if v2 * eb < e_min else v2
            w[t] = (n1 * n2) / (d1 * d2) * ISR_K_FACTOR
    else:
        for t in range(nt):
            w[t] = 1.0
            tr[t, 3] = tr[t, 4] = 0.0
    for t in range(nt):
        sqrt_s = tr[t, 2]
        sp = (1.0 - tr[t, 3]) * (1.0 - tr[t, 4]) * (sqrt_s * sqrt_s)
        if w[t] <= 0.0 or sp <= m4:
            w[t] = 0.0
            tr[t, 5] = tr[t, 6] = tr[t, 7] = 0.0
            continue
        f1, f2, fm = born_factors1(sp, M_MU, zex, vp)
        tr[t, 5], tr[t, 6], tr[t, 7] = f1, f2, fm
        inv_sp = 1.0 / sp
        beta = math.sqrt(1.0 - m4 * inv_sp)
        wt = w[t] * (GEV2_TO_PB * born_sigma_b1(inv_sp, beta, ALPHA_EM, f1, fm))
        if fsr:
            wt *= fsr_k_factor1(beta)
        w[t] = wt


@kernel
def _hit_constants1(hits, nhit, tr, sin_a, cos_a, isr, fsr, e_min, hp):
    """Rows of ``hp`` for the hit trials ``hits[:nhit]`` (rows of ``tr``): the constants of
    ``gen.processes.ffbar.pair_event_cm_p1`` - ISR photon-angle parameters
    (``gen.radiation.emission_params1`` at the beam energy, or -1: none emitted), FSR
    parameters (``gen.radiation.fsr_rest_params1`` at sqrt(s') = sqrt((1 - v1)(1 - v2) s), the
    muon-pair mass before FSR to rounding) - and the collision frame (b, n) of
    ``gen.beams.collision_frame_sc1``."""
    for j in range(nhit):
        t = hits[j]
        sqrt_s, v1, v2 = tr[t, 2], tr[t, 3], tr[t, 4]
        hp[j, 0], hp[j, 1], hp[j, 2] = -1.0, 0.0, 0.0
        if isr and (v1 > 0.0 or v2 > 0.0):
            hp[j, 0], hp[j, 1], hp[j, 2] = emission_params1(0.5 * sqrt_s, M_E)
        hp[j, 3], hp[j, 4], hp[j, 5], hp[j, 6] = 0.0, 1.0, 1.0, 1.0
        if fsr:
            msp = math.sqrt((1.0 - v1) * (1.0 - v2) * (sqrt_s * sqrt_s))
            hp[j, 3], hp[j, 4], hp[j, 5], hp[j, 6] = fsr_rest_params1(M_MU, msp, e_min)
        (hp[j, 7], hp[j, 8], hp[j, 9], hp[j, 10], hp[j, 11],
         hp[j, 12]) = collision_frame_sc1(tr[t, 0], tr[t, 1], sin_a, cos_a)


def plain_block_weights(rng: np.random.Generator, par: np.ndarray, n: int) -> np.ndarray:
    """Weights before cuts of ``n`` plain trials, drawn in blocks as ``_mumu_generate`` draws
    them (``gen.unweight.block_weights``; tests: the same weights as ``pair_weight_c1``)."""
    isr, fsr = par[P_ISR] > 0.5, par[P_FSR] > 0.5
    zex, vp = par[P_ZEX] > 0.5, par[P_VP] > 0.5
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    cst = isr_consts1(collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a), M_E,
                      par[P_HARD], par[P_XMIN])
    tr = np.empty((BLOCK_TRIALS, _TR_COLS))

    def block(pool, nh, nl, nt, w):
        _plain_block1(pool, nh, nl, nt, par, sin_a, cos_a, cst, isr, fsr, zex, vp, w, tr)

    return block_weights(rng, n, BLOCK_TRIALS, TRIAL_UNIFORMS, (par[P_SPH], par[P_SPL]), block)


# ---------------------------------------------------------------------------------------------
# Multi-channel sampler for missing-momentum cuts (module docstring, "Sampling")

#: sampling modes of one photon (ISR: all; FSR: all but HARD; GAP, PIPE and SOFT of an FSR
#: photon draw it first, then the muon axis around it)
M_PLAIN, M_LOW, M_HARD, M_GAP, M_PIPE, M_SOFT = 0, 1, 2, 3, 4, 5
N_MODE = 6
#: photons of an event: ISR of the e- and e+ beams, FSR of the mu- and mu+
PH_ISR1, PH_ISR2, PH_FSR1, PH_FSR2 = 0, 1, 2, 3
#: lab polar-angle window sets (rows of ``win``): escape + pmiss window, escape outside it, veto
WIN_GAP, WIN_PIPE, WIN_SOFT = 0, 1, 2
MAX_WIN = 8
# layout of the float parameters ``mcp`` of the enhanced energy densities
Q_VTH, Q_XH, Q_SLO, Q_SHI = 0, 1, 2, 3
N_Q = 4
#: upper edge x_H of the HARD ISR density dx/x on [x_min, x_H] (x = 1 - v)
X_HARD = 0.7
#: pilot iterations that optimise the channel shares (``optimal_alpha``), each of ``points``
#: trials
ADAPT_ITERATIONS = 3
#: share of the optimised channel shares spread uniformly over the active channels (robustness
#: against channels the pilot saw too rarely)
ALPHA_MIX = 0.2
#: at most this many accepted pilot points enter the linear programme
LP_MAX_ROWS = 30_000
#: the pilot maximum is taken from at least this many nonzero weights (at most
#: PILOT_MAX_BATCHES batches of ``points`` trials)
PILOT_MIN_ACCEPTED = 20_000
PILOT_MAX_BATCHES = 20
#: w_max of the multi-channel sampler: PILOT_SAFETY x the median of the maxima of this many
#: interleaved groups of the pilot weights (``robust_max``), not the maximum itself. The linear
#: programme makes the weights' upper edge a plateau (many points at the optimised maximum), which
#: each group reaches; beyond it lie rare points the channels cover badly (R ~ 1, weights up to
#: ~130 x sigma, ~4 per 1e6 trials) that the maximum of a pilot catches by chance. Measured on
#: cards/samples/mumu.toml (2026-11; weights / sigma, pilot-size samples of 2e5 trials, fixed
#: shares): maximum 26.9, 33.2, 36.6, 38.4, 64.2 (seed 101's pilot: 26.5); median of 8 group
#: maxima 26.2-27.0 over 6 samples; trials above 1.3 x that 12 per 3e6, as above 1.3 x 26.5
WMAX_GROUPS = 8


@kernel
def _isr_ratios1(v: float, beta: float, a: float, x_min: float):
    """(D(1 - v)/p0(v), 1/p0(v)) for the plain ISR sampling pdf p0 of ``sample_isr_fraction1``.

    p0 = (1 - a)(beta/2) v^(beta/2 - 1) + a/(x ln(1/x_min)) [x >= x_min], x = 1 - v; D the
    Kuraev-Fadin structure function (gen.radiation). Both ratios use the soft density
    (beta/2) v^(beta/2-1) = 1/r as unit, exactly as ``sample_isr_fraction1``; v = 0 (photon
    returned to the beam) gives (soft/(1 - a), 0), v >= 1 gives (0, 0).
    """
    soft = isr_soft_factor(beta)
    if v >= 1.0:
        return 0.0, 0.0
    if v <= 0.0:
        return soft / (1.0 - a), 0.0
    x = 1.0 - v
    r = (2.0 / beta) * v ** (1.0 - 0.5 * beta)
    h = 1.0 / (x * -math.log(x_min)) if x >= x_min else 0.0
    den = (1.0 - a) + a * h * r
    return (soft + isr_hard_terms(v, beta) * r) / den, r / den


@kernel
def _dipole_density1(t: float, s2: float, e: float, m: float) -> float:
    """Normalised density in cos(theta) of ``sample_emission_angle1`` (emitter energy e, mass m).

    f(c) = (1 - c^2)/((1 - b c)^2 (1 + b c)) / N(b), b = p/e, given t = 1 - c and s2 = 1 - c^2
    (no cancellation near c = 1). By partial fractions
    N(b) = int_{-1}^{1} (1-c^2)/((1-bc)^2 (1+bc)) dc = (1 + b^2)/(2 b^3) ln((1+b)/(1-b)) - 1/b^2
    (checked against scipy.integrate.quad in tests/gen/test_mumu.py); series 4/3 + 8/15 b^2 +
    12/35 b^4 for b < 0.01; (3/4)(1 - c^2) for b < 1e-6 as in the sampler.
    """
    p = math.sqrt(max(e * e - m * m, 0.0))
    b = p / e
    if b < 1e-6:
        return 0.75 * s2
    omb = m * m / (e * (e + p))  # 1 - b
    if b < 0.01:
        b2 = b * b
        norm = 4.0 / 3.0 + 8.0 / 15.0 * b2 + 12.0 / 35.0 * b2 * b2
    else:
        lnr = math.log((1.0 + b) / omb)
        norm = (1.0 + b * b) / (2.0 * b**3) * lnr - 1.0 / (b * b)
    one_m_bc = omb + b * t
    return s2 / (one_m_bc * one_m_bc * (1.0 + b - b * t) * norm)


@kernel
def _born_cos_density1(c: float, s: float, zex: bool, vp: bool) -> float:
    """Normalised density of ``_sample_born_cos`` at cos(theta*) = c."""
    return born_cos_density_ff(c, s, M_MU, zex, vp)


@kernel
def _lab_to_frame1(dx, dy, dz, bx, by, bz, nx, ny, nz, qbx, qby, qbz):
    """Lab unit vector -> unit vector in the frame moving with qb relative to the collision c.m.

    Inverse of ``cm_to_lab1`` (boost by -b, then the inverse rotation: rotate_z_to1 with
    (-nx, -ny, nz) is the rotation by the opposite angle about the same axis), then a boost by
    -qb (qb = 0: the c.m. frame itself). Returns (ux, uy, uz, e): e is the energy of a photon
    of unit lab energy, so the solid-angle Jacobian is dOmega_lab/dOmega_frame = e^2.
    """
    cx, cy, cz, _ = lab_to_cm1(dx, dy, dz, 1.0, bx, by, bz)
    rx, ry, rz = rotate_z_to1(cx, cy, cz, -nx, -ny, nz)
    px, py, pz, pe = boost1(rx, ry, rz, math.sqrt(rx * rx + ry * ry + rz * rz), -qbx, -qby, -qbz)
    p = math.sqrt(px * px + py * py + pz * pz)
    return px / p, py / p, pz / p, pe


@kernel
def _lab_cos_jac1(px, py, pz, pe, qbx, qby, qbz, bx, by, bz, nx, ny, nz):
    """(cos(theta_lab), (E_frame/E_lab)^2) of a photon given in a frame moving with qb (c.m.)."""
    v = boost1(px, py, pz, pe, qbx, qby, qbz)
    lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
    pl = math.sqrt(lab[0] ** 2 + lab[1] ** 2 + lab[2] ** 2)
    r = pe / lab[3]
    return lab[2] / pl, r * r


@kernel
def _one_minus_cos1(c: float, s2: float) -> float:
    """1 - c from c and s2 = 1 - c^2 without cancellation."""
    return s2 / (1.0 + c) if c > 0.0 else 1.0 - c


@kernel
def _log_uniform1(rng, lo: float, hi: float) -> float:
    """A value with density 1/(v ln(hi/lo)) on [lo, hi]."""
    return lo * math.exp(rng.random() * math.log(hi / lo))


@kernel
def _log_uniform_density1(v: float, lo: float, hi: float) -> float:
    return 1.0 / (v * math.log(hi / lo)) if lo <= v <= hi else 0.0


@kernel
def _isr_mode_v1(rng, mode: int, mcp, x_min: float) -> float:
    """Energy fraction v of an ISR photon in an enhanced mode: LOW dv/v on [v_th, 1), HARD
    dx/x on [x_min, x_H], GAP and PIPE the even mixture of both, SOFT dv/v on [v_s1, v_s2]."""
    if mode == M_SOFT:
        return _log_uniform1(rng, mcp[Q_SLO], mcp[Q_SHI])
    if mode in (M_GAP, M_PIPE):
        mode = M_LOW if rng.random() < 0.5 else M_HARD
    if mode == M_LOW:
        return _log_uniform1(rng, mcp[Q_VTH], 1.0)
    return 1.0 - _log_uniform1(rng, x_min, mcp[Q_XH])


@kernel
def _isr_mode_density1(v: float, mode: int, mcp, x_min: float) -> float:
    """Density in v of ``_isr_mode_v1``."""
    if mode == M_SOFT:
        return _log_uniform_density1(v, mcp[Q_SLO], mcp[Q_SHI])
    low = _log_uniform_density1(v, mcp[Q_VTH], 1.0)
    hard = _log_uniform_density1(1.0 - v, x_min, mcp[Q_XH])
    if mode == M_LOW:
        return low
    if mode == M_HARD:
        return hard
    return 0.5 * (low + hard)


@kernel
def _fsr_mode_v1(rng, mode: int, mcp) -> float:
    """Energy fraction of an FSR photon: dv/v on [v_th, 1), SOFT: dv/v on [v_s1, v_s2]."""
    if mode == M_SOFT:
        return _log_uniform1(rng, mcp[Q_SLO], mcp[Q_SHI])
    return _log_uniform1(rng, mcp[Q_VTH], 1.0)


@kernel
def _fsr_mode_density1(v: float, mode: int, mcp) -> float:
    if mode == M_SOFT:
        return _log_uniform_density1(v, mcp[Q_SLO], mcp[Q_SHI])
    return _log_uniform_density1(v, mcp[Q_VTH], 1.0)


@kernel
def _window_set1(mode: int) -> int:
    if mode == M_GAP:
        return WIN_GAP
    if mode == M_PIPE:
        return WIN_PIPE
    return WIN_SOFT


@kernel
def _window_direction1(rng, win, k: int):
    """Lab unit vector uniform in solid angle over the cos(theta) intervals of window set k."""
    u = rng.random() * win[k, 0, 1]
    i = 1
    while i < int(win[k, 0, 0]) and u > win[k, i, 1] - win[k, i, 0]:
        u -= win[k, i, 1] - win[k, i, 0]
        i += 1
    cl = min(win[k, i, 0] + u, win[k, i, 1])
    sl = math.sqrt(max(1.0 - cl * cl, 0.0))
    phi = 2.0 * math.pi * rng.random()
    return sl * math.cos(phi), sl * math.sin(phi), cl


@kernel
def _window_density1(win, k: int, cl: float) -> float:
    """Density in cos(theta_lab) of ``_window_direction1`` (per unit cos; azimuth uniform)."""
    for i in range(1, int(win[k, 0, 0]) + 1):
        if win[k, i, 0] <= cl <= win[k, i, 1]:
            return 1.0 / win[k, 0, 1]
    return 0.0


#: margin (GeV for momenta, 1 for cosines) of the pre-filters of ``_mc_trial``: a trial is
#: dropped early only if it fails a cut by more than this, far above the ~1e-14 by which the
#: pre-filters' arithmetic (photons, pair four-momentum) differs from the muons' (every pre-filter
#: decision is the final cuts' decision; the final cuts still run on every surviving event)
PREFILTER_TOL = 1e-9


@kernel
def channel_alias1(alpha):
    """Alias table (prob, alias) of the channel shares ``alpha`` for ``pick_channel1``.

    Walker's alias method (A. J. Walker, ACM Trans. Math. Softw. 3 (1977) 253; Vose's stable
    construction, IEEE Trans. Softw. Eng. 17 (1991) 972): column c is kept with probability
    prob[c], else it gives alias[c]; P(c) = (prob[c] + sum over the columns i aliased to c of
    (1 - prob[i])) / n = alpha_c / sum(alpha) to rounding (tests/gen/test_mumu.py).
    """
    n = alpha.shape[0]
    prob = np.ones(n)
    alias = np.arange(n)
    q = alpha * (n / alpha.sum())
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = nl = 0
    for c in range(n):
        if q[c] < 1.0:
            small[ns] = c
            ns += 1
        else:
            large[nl] = c
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        lo = small[ns]
        hi = large[nl - 1]
        prob[lo] = q[lo]
        alias[lo] = hi
        q[hi] = (q[hi] + q[lo]) - 1.0
        if q[hi] < 1.0:
            nl -= 1
            small[ns] = hi
            ns += 1
    # columns left over hold probability 1 to rounding (prob stays 1); a channel without share
    # cannot be among them (its q = 0 would leave the others above 1), guarded all the same
    for i in range(ns):
        if alpha[small[i]] <= 0.0:
            prob[small[i]] = 0.0
            alias[small[i]] = np.argmax(alpha)
    return prob, alias


@kernel
def pick_channel1(prob, alias, u: float) -> int:
    """The channel of the uniform u from ``channel_alias1``'s table: column int(u n), kept if
    the rest of u n is below its prob, else its alias (one uniform, no search)."""
    n = prob.shape[0]
    x = u * n
    c = min(int(x), n - 1)
    return c if x - c < prob[c] else alias[c]


@kernel
def _pmiss_clearly_fails1(par, qx: float, qy: float, qz: float, qe: float, m: float,
                          w: float) -> bool:
    """True if the missing-momentum cuts of ``muon_pair_cuts1`` fail by more than
    ``PREFILTER_TOL`` (the same formulas) for every muon pair Q - k (lab: Q of mass m), k
    photons of total energy w in the rest frame of Q (w = 0: the pair Q itself).

    The photons' 3-momentum is at most their energy, in a frame where Q has energy E and
    momentum p at most (E + |p|) / m times w (the largest Doppler factor): d_cm in the nominal
    c.m. frame (the magnitude cut), d_lab in the lab (the polar-angle cut).
    """
    e = par[P_NOM_E]
    nbx, nby, nbz = par[P_NOM_PX] / e, par[P_NOM_PY] / e, par[P_NOM_PZ] / e
    px, py, pz, pe = par[P_NOM_PX] - qx, par[P_NOM_PY] - qy, par[P_NOM_PZ] - qz, e - qe
    cx, cy, cz, _ = lab_to_cm1(px, py, pz, pe, nbx, nby, nbz)
    d_cm = d_lab = 0.0
    if w > 0.0:
        ux, uy, uz, ue = lab_to_cm1(qx, qy, qz, qe, nbx, nby, nbz)
        d_cm = (ue + math.sqrt(ux * ux + uy * uy + uz * uz)) / m * w
        d_lab = (qe + math.sqrt(qx * qx + qy * qy + qz * qz)) / m * w
    pmin = par[P_PMISS] - PREFILTER_TOL - d_cm
    if pmin > 0.0 and cx * cx + cy * cy + cz * cz < pmin * pmin:
        return True
    p = math.sqrt(px * px + py * py + pz * pz)
    if p <= d_lab + PREFILTER_TOL:
        return False
    c = pz / p
    if d_lab <= 0.0:
        return c < par[P_PM_CLO] - PREFILTER_TOL or c > par[P_PM_CHI] + PREFILTER_TOL
    # a shift by at most d_lab turns the direction by at most delta, sin(delta) = d_lab / p:
    # the polar angle stays within theta -+ delta (cosines of theta +- delta; delta < 90 deg)
    sd = d_lab / p
    cd = math.sqrt(1.0 - sd * sd)
    st = math.sqrt(max(1.0 - c * c, 0.0))
    if c > 0.0 and c * cd - st * sd > par[P_PM_CHI] + PREFILTER_TOL:
        return True  # theta + delta still below the window
    return c < 0.0 and c * cd + st * sd < par[P_PM_CLO] - PREFILTER_TOL


@kernel
def _mc_trial(rng, par, veto, mcp, win, modes, alpha, prob_ch, alias_ch, sin_a, cos_a, buf, kk,
              ff, rr, rho):
    """One trial of the multi-channel sampler; returns and fills like ``_mumu_trial``.

    Draws channel c with probability alpha[c] (``pick_channel1`` on ``channel_alias1(alpha)``)
    and samples each photon in the mode modes[c, photon]; returns weight = W_plain / R with
    R = sum_c alpha_c rho_c and rho_c = prod_photons rr[photon, modes[c, photon]] (module
    docstring). For accepted points ``rho`` holds rho_c (and ``rr`` the per-photon ratios
    q_mode / q_plain).

    Order (2026-11): the kinematics first, each cut as soon as its variables exist, the weight
    (ISR ratios, Born with running alpha, FSR factor) only for points that pass: the s'
    threshold right after the ISR fractions, the veto of the ISR photons after their
    directions, the missing-momentum cuts before the muon axis when no FSR photon is emitted
    (the muon pair's four-momentum is then known), the muon cuts, the FSR photons' veto. Each
    early exit returns weight 0 for a point whose weight is 0; skipped draws change later events
    bit-wise, not the distributions.
    """
    eh, el = sample_beam_energies1(rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL])
    sqrt_s = collision_sqrt_s_sc1(eh, el, sin_a, cos_a)
    bx, by, bz, nx, ny, nz = collision_frame_sc1(eh, el, sin_a, cos_a)
    isr = par[P_ISR] > 0.5
    fsr = par[P_FSR] > 0.5
    zex = par[P_ZEX] > 0.5
    vp = par[P_VP] > 0.5
    e_min = par[P_EMIN]
    n_ch = alpha.shape[0]
    ch = pick_channel1(prob_ch, alias_ch, rng.random())
    s = sqrt_s * sqrt_s
    eb = 0.5 * sqrt_s
    x_min = par[P_XMIN]
    m4 = 4.0 * M_MU * M_MU
    # ---- ISR: energy fractions, then directions (the recoil scheme of isr_photons1)
    v1 = 0.0
    v2 = 0.0
    t1 = s21 = t2 = s22 = 0.0
    beta = 0.0
    a_h = par[P_HARD]
    for i in range(2):
        for j in range(4):
            kk[i, j] = 0.0
    if isr:
        beta = ll_beta(s, M_E)
        for i in range(2):
            mode = modes[ch, PH_ISR1 + i]
            if mode == M_PLAIN:
                v = sample_isr_fraction1(rng, beta, a_h, x_min)[0]
            else:
                v = _isr_mode_v1(rng, mode, mcp, x_min)
            if i == 0:
                v1 = v
            else:
                v2 = v
        if v1 >= 1.0 or v2 >= 1.0:
            return 0.0, 0, sqrt_s, 0.0, 0, 0
        # s' = (1 - v1)(1 - v2) s exactly in the recoil scheme (photons below e_min dropped)
        x1 = 1.0 - v1 if v1 * eb >= e_min else 1.0
        x2 = 1.0 - v2 if v2 * eb >= e_min else 1.0
        if x1 * x2 * s < m4 * (1.0 - PREFILTER_TOL):
            return 0.0, 0, sqrt_s, 0.0, 0, 0
        b_e = omb_e = lnr_e = -1.0
        for i in range(2):
            v = v1 if i == 0 else v2
            if v * eb < e_min:
                continue
            zsign = 1.0 if i == 0 else -1.0
            mode = modes[ch, PH_ISR1 + i]
            if mode >= M_GAP:
                lx, ly, lz = _window_direction1(rng, win, _window_set1(mode))
                dx, dy, dz, _ = _lab_to_frame1(lx, ly, lz, bx, by, bz, nx, ny, nz, 0.0, 0.0, 0.0)
                c = zsign * dz
                s2 = dx * dx + dy * dy
            else:
                if b_e < 0.0:  # once per trial (sample_emission_angle1 = these two)
                    b_e, omb_e, lnr_e = emission_params1(eb, M_E)
                c, sn = sample_emission_angle_p1(rng, b_e, omb_e, lnr_e)
                phi = 2.0 * math.pi * rng.random()
                s2 = sn * sn
                dx, dy, dz = sn * math.cos(phi), sn * math.sin(phi), zsign * c
            kk[i, 0], kk[i, 1], kk[i, 2] = dx, dy, dz
            if i == 0:
                t1, s21 = _one_minus_cos1(c, s2), s2
            else:
                t2, s22 = _one_minus_cos1(c, s2), s2
        # energies lam v_i E_b with s' = x1 x2 s exactly (as in gen.radiation.isr_photons1)
        isr_recoil_energies1(kk, v1 * eb if v1 * eb >= e_min else 0.0,
                             v2 * eb if v2 * eb >= e_min else 0.0, sqrt_s)
    gb, gb2 = boost_params1(bx, by, bz)
    sn_n, kx_n, ky_n = rotation_params1(nx, ny)
    # the ISR photons in the lab as ``pair_event_to_lab1`` makes them: the veto on them now
    for i in range(2):
        if kk[i, 3] > 0.0:
            rx, ry, rz = rotate_z_to_p1(kk[i, 0], kk[i, 1], kk[i, 2], nz, sn_n, kx_n, ky_n)
            lx, ly, lz, le = boost_p1(rx, ry, rz, kk[i, 3], bx, by, bz, gb, gb2)
            if photon_vetoed1(veto, lx, ly, lz, le):
                return 0.0, 0, sqrt_s, 0.0, 0, 0
    qx = -(kk[0, 0] + kk[1, 0])
    qy = -(kk[0, 1] + kk[1, 1])
    qz = -(kk[0, 2] + kk[1, 2])
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    sp = qe * qe - qx * qx - qy * qy - qz * qz
    if qe <= 0.0 or sp <= m4:
        return 0.0, 0, sqrt_s, 0.0, 0, 0
    msp = math.sqrt(sp)
    bqx, bqy, bqz = qx / qe, qy / qe, qz / qe
    pstar = two_body_momentum1(msp, M_MU, M_MU)
    estar = 0.5 * msp
    # ---- FSR energy fractions (gen.radiation.fsr_pair1: per-leg beta, emitter energy e_f)
    e_f = math.sqrt(pstar * pstar + M_MU * M_MU)
    beta_f = dipole_beta(pstar / e_f) if fsr else 0.0
    mode_a = modes[ch, PH_FSR1]
    mode_b = modes[ch, PH_FSR2]
    va = 0.0
    vb = 0.0
    if beta_f > 0.0:
        if mode_a == M_PLAIN:
            va = sample_fsr_fraction1(rng, beta_f)
        else:
            va = _fsr_mode_v1(rng, mode_a, mcp)
        if mode_b == M_PLAIN:
            vb = sample_fsr_fraction1(rng, beta_f)
        else:
            vb = _fsr_mode_v1(rng, mode_b, mcp)
    wa = va * e_f
    wb = vb * e_f
    em_a = wa >= e_min and wa > 0.0
    em_b = wb >= e_min and wb > 0.0
    if par[P_PM_ON] > 0.5:
        # the muons carry Q - k_a - k_b (FSR photons; Q alone if none): missing momentum first
        rx, ry, rz = rotate_z_to_p1(qx, qy, qz, nz, sn_n, kx_n, ky_n)
        lx, ly, lz, le = boost_p1(rx, ry, rz, qe, bx, by, bz, gb, gb2)
        w_fsr = (wa if em_a else 0.0) + (wb if em_b else 0.0)
        if _pmiss_clearly_fails1(par, lx, ly, lz, le, msp, w_fsr):
            return 0.0, 0, sqrt_s, 0.0, 0, 0
    ax, ay, az = collins_soper_axis1(sqrt_s, bqx, bqy, bqz)
    # ---- muon axis n (pair rest frame) and photon directions: in the GAP, PIPE and SOFT modes
    # the photon's lab direction comes first, then n around it with the same dipole density
    first_a = em_a and mode_a >= M_GAP
    first_b = em_b and mode_b >= M_GAP and not first_a
    dax = day = daz = dbx = dby = dbz = 0.0
    b_f = omb_f = lnr_f = -1.0
    if em_a or em_b:  # once per trial (sample_emission_angle1 = these two)
        b_f, omb_f, lnr_f = emission_params1(e_f, M_MU)
    born_done = False
    f1 = f2 = fm = 0.0
    if first_a or first_b:
        lx, ly, lz = _window_direction1(rng, win, _window_set1(mode_a if first_a else mode_b))
        gx, gy, gz, _ = _lab_to_frame1(lx, ly, lz, bx, by, bz, nx, ny, nz, bqx, bqy, bqz)
        c, sn = sample_emission_angle_p1(rng, b_f, omb_f, lnr_f)
        phi = 2.0 * math.pi * rng.random()
        ux, uy, uz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), c, gx, gy, gz)
        if first_a:
            mx, my, mz = ux, uy, uz
            dax, day, daz = gx, gy, gz
        else:
            mx, my, mz = -ux, -uy, -uz
            dbx, dby, dbz = gx, gy, gz
        cos_star = mx * ax + my * ay + mz * az
    else:
        # Born factors (running alpha, Z): the angle here, weight and density below share them
        f1, f2, fm = born_factors1(sp, M_MU, zex, vp)
        born_done = True
        cos_star = sample_born_cos_f1(rng, sp, M_MU, f1, f2, fm)
        phi = 2.0 * math.pi * rng.random()
        sn = math.sqrt(max(1.0 - cos_star * cos_star, 0.0))
        mx, my, mz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), cos_star, ax, ay, az)
    if em_a and not first_a:
        c, sn = sample_emission_angle_p1(rng, b_f, omb_f, lnr_f)
        phi = 2.0 * math.pi * rng.random()
        dax, day, daz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), c, mx, my, mz)
    if em_b and not first_b:
        c, sn = sample_emission_angle_p1(rng, b_f, omb_f, lnr_f)
        phi = 2.0 * math.pi * rng.random()
        dbx, dby, dbz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), c, -mx, -my, -mz)
    ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = pstar * mx, pstar * my, pstar * mz, estar
    ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -pstar * mx, -pstar * my, -pstar * mz, estar
    for j in range(4):
        ff[2, j] = 0.0
        ff[3, j] = 0.0
    # ---- FSR recoil (gen.radiation.fsr_pair1): R = Q - ka - kb decays back-to-back along n
    mask = 0
    if em_a or em_b:
        kax, kay, kaz, kae = (wa * dax, wa * day, wa * daz, wa) if em_a else (0.0, 0.0, 0.0, 0.0)
        kbx, kby, kbz, kbe = (wb * dbx, wb * dby, wb * dbz, wb) if em_b else (0.0, 0.0, 0.0, 0.0)
        rx, ry, rz = -(kax + kbx), -(kay + kby), -(kaz + kbz)
        re = msp - kae - kbe
        mr2 = re * re - rx * rx - ry * ry - rz * rz
        if re > 0.0 and mr2 > 4.0 * M_MU * M_MU:
            pr = two_body_momentum1(math.sqrt(mr2), M_MU, M_MU)
            er = math.sqrt(pr * pr + M_MU * M_MU)
            brx, bry, brz = rx / re, ry / re, rz / re
            a4 = boost1(pr * mx, pr * my, pr * mz, er, brx, bry, brz)
            b4 = boost1(-pr * mx, -pr * my, -pr * mz, er, brx, bry, brz)
            for j in range(4):
                ff[0, j] = a4[j]
                ff[1, j] = b4[j]
            if em_a:
                ff[2, 0], ff[2, 1], ff[2, 2], ff[2, 3] = kax, kay, kaz, kae
                mask |= 1
            if em_b:
                ff[3, 0], ff[3, 1], ff[3, 2], ff[3, 3] = kbx, kby, kbz, kbe
                mask |= 2
    # ---- event in the lab (same order as _mumu_trial) and generator-level cuts
    if not _muon_cuts_first1(par, ff, bqx, bqy, bqz, bx, by, bz, nx, ny, nz):
        return 0.0, 0, sqrt_s, msp, 0, 0
    accepted, n, n_isr, n_fsr = _lab_event_and_cuts1(par, veto, buf, kk, ff, mask, bqx, bqy, bqz,
                                                     bx, by, bz, nx, ny, nz)
    if not accepted:
        return 0.0, n, sqrt_s, msp, n_isr, n_fsr
    # ---- the weight of an accepted point (the arithmetic of pair_trial_cm1)
    w = 1.0
    ip1 = ip2 = 0.0
    if isr:
        d1, ip1 = _isr_ratios1(v1, beta, a_h, x_min)
        d2, ip2 = _isr_ratios1(v2, beta, a_h, x_min)
        w = ISR_K_FACTOR * d1 * d2
        if w <= 0.0:
            return 0.0, n, sqrt_s, msp, n_isr, n_fsr
    if not born_done:
        f1, f2, fm = born_factors1(sp, M_MU, zex, vp)
    w *= GEV2_TO_PB * born_sigma_f1(sp, M_MU, ALPHA_EM, f1, fm)
    if fsr:
        w *= fsr_k_factor1(pstar / estar)  # as gen.processes.ffbar.pair_trial_cm1
    # ---- per-photon ratios rr[photon, mode] = q_mode / q_plain of that photon's variables at
    # this point (all other factors of the densities are common and cancel)
    for i in range(4):
        rr[i, M_PLAIN] = 1.0
        for m in range(1, N_MODE):
            rr[i, m] = 1.0 if (i < 2 and not isr) or (i >= 2 and beta_f <= 0.0) else 0.0
    if isr:
        for i in range(2):
            v = v1 if i == 0 else v2
            if v <= 0.0:
                continue
            ip = ip1 if i == 0 else ip2
            rr[i, M_LOW] = _isr_mode_density1(v, M_LOW, mcp, x_min) * ip
            rr[i, M_HARD] = _isr_mode_density1(v, M_HARD, mcp, x_min) * ip
            for m in (M_GAP, M_PIPE, M_SOFT):
                rr[i, m] = _isr_mode_density1(v, m, mcp, x_min) * ip
            if kk[i, 3] > 0.0:
                cl, jac = _lab_cos_jac1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3], 0.0, 0.0, 0.0,
                                        bx, by, bz, nx, ny, nz)
                t, s2 = (t1, s21) if i == 0 else (t2, s22)
                pa = _dipole_density1(t, s2, eb, M_E)
                for m in (M_GAP, M_PIPE, M_SOFT):
                    if rr[i, m] > 0.0:
                        dens = _window_density1(win, _window_set1(m), cl)
                        rr[i, m] *= dens * jac / pa if pa > 0.0 else math.inf
    if beta_f > 0.0:
        born = born_cos_density_f1(cos_star, sp, M_MU, f1, f2, fm)
        for i in range(2):
            v = va if i == 0 else vb
            pf = structure_function_o1(1.0 - v, beta_f)
            if not pf > 0.0:
                continue
            rr[2 + i, M_LOW] = _fsr_mode_density1(v, M_LOW, mcp) / pf
            rr[2 + i, M_GAP] = rr[2 + i, M_LOW]
            rr[2 + i, M_PIPE] = rr[2 + i, M_LOW]
            rr[2 + i, M_SOFT] = _fsr_mode_density1(v, M_SOFT, mcp) / pf
            if (em_a if i == 0 else em_b):
                if i == 0:
                    cl, jac = _lab_cos_jac1(wa * dax, wa * day, wa * daz, wa, bqx, bqy, bqz,
                                            bx, by, bz, nx, ny, nz)
                else:
                    cl, jac = _lab_cos_jac1(wb * dbx, wb * dby, wb * dbz, wb, bqx, bqy, bqz,
                                            bx, by, bz, nx, ny, nz)
                for m in (M_GAP, M_PIPE, M_SOFT):
                    rr[2 + i, m] *= _window_density1(win, _window_set1(m), cl) * jac / born
    r_tot = 0.0
    for c in range(n_ch):
        p = 1.0
        for i in range(4):
            p *= rr[i, modes[c, i]]
        rho[c] = p
        r_tot += alpha[c] * p
    return w / r_tot, n, sqrt_s, msp, n_isr, n_fsr


@kernel
def _mc_weights(rng, par, veto, mcp, win, modes, alpha, n, rho_rows, w_plain):
    """Weights of ``n`` multi-channel trials.

    The first ``rho_rows.shape[0]`` accepted points leave rho_c (one row each) in ``rho_rows``
    and their plain weight W = w R in ``w_plain`` (the input of ``optimal_alpha``). Returns the
    weights and the number of rows filled.
    """
    out = np.empty(n)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    rr = np.zeros((4, N_MODE))
    n_ch = alpha.shape[0]
    rho = np.zeros(n_ch)
    prob_ch, alias_ch = channel_alias1(alpha)
    sin_a, cos_a = crossing_trig1(par[P_HALF])
    k = 0
    for i in range(n):
        w = _mc_trial(rng, par, veto, mcp, win, modes, alpha, prob_ch, alias_ch, sin_a, cos_a,
                      buf, kk, ff, rr, rho)[0]
        out[i] = w
        if w > 0.0 and k < rho_rows.shape[0]:
            r_tot = 0.0
            for c in range(n_ch):
                rho_rows[k, c] = rho[c]
                r_tot += alpha[c] * rho[c]
            w_plain[k] = w * r_tot
            k += 1
    return out, k


#: particle ids of the rows of an event (mu-, mu+, then photons)
_PDG_ROWS = np.array([MUON, -MUON, PHOTON, PHOTON, PHOTON, PHOTON], dtype=np.int32)


@kernel
def _new_truth(n: int):
    """Truth columns of ``n`` events: sqrt_s, sqrt_s_prime, n_isr, n_fsr."""
    return np.empty(n), np.empty(n), np.empty(n, np.int32), np.empty(n, np.int32)


@kernel
def _store_event1(mom, pdg, offset, truth, k: int, buf, m: int, sqrt_s: float, msp: float,
                  n_isr: int, n_fsr: int) -> None:
    """Event ``k``: the ``m`` rows of ``buf`` (``gen.unweight.fill_event1``) and its truth."""
    fill_event1(mom, pdg, offset, k, buf, m, _PDG_ROWS)
    truth[0][k] = sqrt_s
    truth[1][k] = msp
    truth[2][k] = n_isr
    truth[3][k] = n_fsr


@kernel
def _mc_generate(rng, par, veto, n, w_max, mcp, win, modes, alpha):
    """Hit-or-miss on multi-channel trials (``_mc_trial``) until ``n`` events; returns like
    ``_mumu_generate``."""
    mom, pdg, offset = new_events(n, 6)
    truth = _new_truth(n)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    rr = np.zeros((4, N_MODE))
    rho = np.zeros(alpha.shape[0])
    stats = new_stats()
    sin_a, cos_a = crossing_trig1(par[P_HALF])  # once per chunk, not per trial
    prob_ch, alias_ch = channel_alias1(alpha)
    k = 0
    while k < n:
        w, m, sqrt_s, msp, n_isr, n_fsr = _mc_trial(rng, par, veto, mcp, win, modes, alpha,
                                                    prob_ch, alias_ch, sin_a, cos_a, buf, kk, ff,
                                                    rr, rho)
        if not unweight1(rng, stats, w, w_max):
            continue
        _store_event1(mom, pdg, offset, truth, k, buf, m, sqrt_s, msp, n_isr, n_fsr)
        k += 1
    return mom, pdg, offset, truth[0], truth[1], truth[2], truth[3], stats


@kernel
def _mumu_generate(rng, par, veto, n, w_max):
    """Hit-or-miss on plain trials until ``n`` events; returns particle arrays, offsets, truth
    (sqrt_s, sqrt_s_prime, n_isr, n_fsr) and statistics.

    The plain sampler decides the hit on the weight before the cuts (``pair_weight1``: beam
    energies, ISR fractions, Born at s') and draws the rest of the event for hit trials only;
    a hit failing the cuts is counted by ``gen.unweight.cut_failed1`` (unbiased; the same events
    as full-weight hit-or-miss).
    """
    mom, pdg, offset = new_events(n, 6)
    truth = _new_truth(n)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    stats = new_stats()
    isr, fsr = par[P_ISR] > 0.5, par[P_FSR] > 0.5
    zex, vp = par[P_ZEX] > 0.5, par[P_VP] > 0.5
    sin_a, cos_a = crossing_trig1(par[P_HALF])  # once per chunk, not per trial
    # ISR constants around the nominal s (gen.radiation.isr_consts1)
    cst = isr_consts1(collision_sqrt_s_sc1(par[P_EHER], par[P_ELER], sin_a, cos_a), M_E,
                      par[P_HARD], par[P_XMIN])
    k = 0
    nbk = BLOCK_TRIALS
    pool = np.empty(nbk * TRIAL_UNIFORMS)
    nh, nl, wb = np.empty(nbk), np.empty(nbk), np.empty(nbk)
    tr = np.empty((nbk, _TR_COLS))
    hits = np.empty(nbk, np.int64)
    hp = np.empty((nbk, 13))
    e_min = par[P_EMIN]
    while k < n:
        draw_block1(rng, pool, nh, nl, par[P_SPH], par[P_SPL])
        _plain_block1(pool, nh, nl, nbk, par, sin_a, cos_a, cst, isr, fsr, zex, vp, wb, tr)
        # hits (gen.unweight.unweight1 with the block's hit uniform)
        nhit = 0
        for t in range(nbk):
            if wb[t] > 0.0 and pool[TRIAL_UNIFORMS * t + 2] * w_max < wb[t]:
                hits[nhit] = t
                nhit += 1
        # per-hit constants of the event in one short loop, off the events' dependent chains
        _hit_constants1(hits, nhit, tr, sin_a, cos_a, isr, fsr, e_min, hp)
        # trials in order: statistics, and for hits the rest of the event (photon angles, Born
        # angle, FSR) from scalar draws of rng, then the lab frame and the cuts
        j = 0
        for t in range(nbk):
            w = wb[t]
            count_trial1(stats, w, w_max)
            if j >= nhit or hits[j] != t:
                continue
            sqrt_s = tr[t, 2]
            bqx, bqy, bqz, msp, _, mask = pair_event_cm_p1(
                rng, sqrt_s, M_MU, isr, fsr, tr[t, 3], tr[t, 4], tr[t, 5], tr[t, 6], tr[t, 7],
                e_min, kk, ff, hp[j, 0], hp[j, 1], hp[j, 2], hp[j, 3], hp[j, 4], hp[j, 5],
                hp[j, 6])
            accepted, m, n_isr, n_fsr = _lab_event_and_cuts1(
                par, veto, buf, kk, ff, mask, bqx, bqy, bqz, hp[j, 7], hp[j, 8], hp[j, 9],
                hp[j, 10], hp[j, 11], hp[j, 12])
            j += 1
            if not accepted:
                cut_failed1(stats, w, w_max)
                continue
            _store_event1(mom, pdg, offset, truth, k, buf, m, sqrt_s, msp, n_isr, n_fsr)
            k += 1
            if k == n:
                break  # trials after the n-th event are not counted
    return mom, pdg, offset, truth[0], truth[1], truth[2], truth[3], stats


class MuMu(Process):
    """e+e- -> mu+ mu- (gamma) with ISR, FSR and gamma/Z exchange."""

    name = "mumu"
    description = "e+e- -> mu+mu-(gamma): Born gamma/Z with muon mass, ISR structure functions, FSR"
    params = {
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "fsr": Param(bool, True, "final-state radiation off the muons (PHOTOS-like)"),
        "z_exchange": Param(bool, True, "add tree-level Z exchange (A_FB ~ -0.7 %)"),
        "vacuum_polarisation": Param(
            bool, True,
            "running alpha(s') in the photon exchange (gen.vacpol: leptons + hadrons; +7.7 % "
            "at 10.58 GeV), Z couplings with alpha(M_Z); false = alpha(0) everywhere",
        ),
        "photon_min_energy_gev": Param(
            float, 1e-4,
            "photons softer than this (c.m. for ISR, muon-pair frame for FSR) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
        "adaptive": Param(
            bool, True,
            "with missing-momentum cuts: multi-channel sampling of hard escaping photons, "
            "channel shares optimised in the pilot run (exact: same cross sections and "
            "distributions); false or no missing-momentum cut = plain sampler only",
        ),
        "plain_fraction": Param(
            float, 0.05,
            "share of trials from the plain sampler in the multi-channel mode; bounds every "
            "weight by 1/plain_fraction times the plain sampler's weight at that point",
            minimum=0.0, exclusive_minimum=True, maximum=1.0,
        ),
    }
    cuts = {**MUON_PAIR_CUTS, **PHOTON_VETO_CUTS}

    def validate(self, where: str) -> None:
        sqrt_s = self.beams.sqrt_s_gev
        check(sqrt_s > 2.0 * M_MU, f"{where}: the beams' sqrt(s) = {sqrt_s:.4f} GeV is below the "
                                   f"muon-pair threshold {2.0 * M_MU:.4f} GeV")
        validate_muon_pair_cuts(self.c, self.beams, where)
        validate_photon_veto(self.c, where)

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        fill_common_par(par, self.c, self.beams)
        par[P_ISR] = float(self.p["isr"])
        par[P_FSR] = float(self.p["fsr"])
        par[P_ZEX] = float(self.p["z_exchange"])
        par[P_VP] = float(self.p["vacuum_polarisation"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        # lower edge of the hard ISR sampling channel: the muon-pair threshold
        par[P_XMIN] = 4.0 * M_MU**2 / self.beams.sqrt_s_gev**2
        par[P_HARD] = ISR_HARD_SHARE
        return par

    @property
    def multichannel(self) -> bool:
        """True if trials come from the multi-channel sampler (adaptive, missing-momentum cut)."""
        return bool(self.p["adaptive"]) and self._par()[P_PM_ON] > 0.5 and (
            self.p["isr"] or self.p["fsr"])

    def sampler_setup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mcp, win, modes) of the multi-channel sampler, all derived from the cuts.

        Windows (lab polar angle): a photon escapes the veto outside the veto window or in its
        gaps (everywhere if the veto is off); GAP = escape directions inside the missing-momentum
        window (one hard photon can carry the missing momentum), PIPE = escape directions outside
        it (two hard photons must balance), SOFT = the veto window (photons just below the veto
        threshold, which tilt the missing momentum). Energies: v_th = max(1e-3,
        0.2 pmiss_cm_min / E_beam), SOFT band [0.2, 2] x photon_veto_e_gev / E_beam.
        """
        c = self.c
        eb = 0.5 * self.beams.sqrt_s_gev
        pm = [(c["pmiss_theta_min_deg"], c["pmiss_theta_max_deg"])]
        e_veto = c["photon_veto_e_gev"]
        if e_veto > 0.0:
            lo, hi = c["photon_veto_theta_min_deg"], c["photon_veto_theta_max_deg"]
            gaps = _intersect([tuple(g) for g in c["photon_veto_gaps_deg"]], [(lo, hi)])
            escape = _union([(0.0, lo), (hi, 180.0), *gaps])
            soft = _subtract([(lo, hi)], gaps)
        else:
            escape, soft = [(0.0, 180.0)], []
        sets = (_intersect(escape, pm), _subtract(escape, pm), soft)
        win = np.zeros((3, MAX_WIN + 1, 2))
        for k, intervals in enumerate(sets):
            cos_iv = [(math.cos(math.radians(h)), math.cos(math.radians(lo_)))
                      for lo_, h in intervals if h - lo_ > 1e-9][:MAX_WIN]
            win[k, 0] = len(cos_iv), sum(b - a for a, b in cos_iv)
            for i, iv in enumerate(cos_iv):
                win[k, 1 + i] = iv
        mcp = np.zeros(N_Q)
        mcp[Q_VTH] = max(1e-3, 0.2 * c["pmiss_cm_min_gev"] / eb)
        mcp[Q_XH] = X_HARD
        mcp[Q_SLO] = min(0.2 * e_veto / eb, 0.5)
        mcp[Q_SHI] = min(2.0 * e_veto / eb, 0.999)
        usable = {M_GAP: win[WIN_GAP, 0, 0] > 0, M_PIPE: win[WIN_PIPE, 0, 0] > 0,
                  M_SOFT: win[WIN_SOFT, 0, 0] > 0 and e_veto > 0.0, M_LOW: True, M_HARD: True,
                  M_PLAIN: True}
        isr_on, fsr_on = self.p["isr"], self.p["fsr"]
        rows = [(M_PLAIN,) * 4]
        for m in (M_GAP, M_PIPE):
            rows += [(m, 0, 0, 0), (0, m, 0, 0), (0, 0, m, 0), (0, 0, 0, m)]
        e_modes = (M_LOW, M_HARD, M_PIPE)
        rows += [(m1, m2, 0, 0) for m1 in e_modes for m2 in e_modes]
        for mi in e_modes:
            for mf in (M_PIPE, M_SOFT):
                rows += [(mi, 0, mf, 0), (mi, 0, 0, mf), (0, mi, mf, 0), (0, mi, 0, mf)]
        for mh in e_modes:
            rows += [(M_SOFT, mh, 0, 0), (mh, M_SOFT, 0, 0)]
        rows += [(M_SOFT, 0, M_PIPE, 0), (M_SOFT, 0, 0, M_PIPE), (0, M_SOFT, M_PIPE, 0),
                 (0, M_SOFT, 0, M_PIPE)]
        rows += [(0, 0, M_PIPE, M_LOW), (0, 0, M_LOW, M_PIPE), (0, 0, M_SOFT, M_LOW),
                 (0, 0, M_LOW, M_SOFT)]
        keep = [r for r in rows
                if all(usable[m] for m in r)
                and (isr_on or r[0] == r[1] == M_PLAIN)
                and (fsr_on or r[2] == r[3] == M_PLAIN)]
        return mcp, win, np.array(keep, dtype=np.int64)

    def initial_alpha(self, n_ch: int) -> np.ndarray:
        """Channel shares before optimisation: plain_fraction, the rest equal."""
        alpha = np.full(n_ch, (1.0 - self.p["plain_fraction"]) / max(n_ch - 1, 1))
        alpha[0] = self.p["plain_fraction"] if n_ch > 1 else 1.0
        return alpha

    @property
    def channel_shares(self) -> np.ndarray:
        """Shares alpha_c of the multi-channel sampler (set by prepare)."""
        a = getattr(self, "_alpha", None)
        if a is None:
            a = self.initial_alpha(self.sampler_setup()[2].shape[0])
        return a

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.multichannel:
            mcp, win, modes = self.sampler_setup()
            return _mc_weights(rng, self._par(), photon_veto_array(self.c), mcp, win, modes,
                               self.channel_shares, n, np.zeros((0, modes.shape[0])),
                               np.zeros(0))[0]
        return _mumu_weights(rng, self._par(), photon_veto_array(self.c), n)

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run; in the multi-channel mode optimise the channel shares first.

        ``ADAPT_ITERATIONS`` passes of ``points`` trials, each followed by ``optimal_alpha`` on
        the accepted points. Then, with the shares frozen, batches of ``points`` trials until
        ``PILOT_MIN_ACCEPTED`` nonzero weights (at most ``PILOT_MAX_BATCHES``): w_max =
        ``PILOT_SAFETY`` x ``robust_max`` of their weights (their maximum if fewer were
        accepted); ``pilot_stats`` keeps their statistics. The plain
        sampler: ``Process.prepare`` with ``PILOT_SAFETY_PLAIN``.
        """
        if not self.multichannel:
            super().prepare(rng, points)
            self.w_max *= PILOT_SAFETY_PLAIN / PILOT_SAFETY
            return
        par = self._par()
        veto = photon_veto_array(self.c)
        mcp, win, modes = self.sampler_setup()
        n_ch = modes.shape[0]
        alpha = self.initial_alpha(n_ch)
        rows = np.zeros((2 * LP_MAX_ROWS, n_ch))
        w_plain = np.zeros(2 * LP_MAX_ROWS)
        for _ in range(ADAPT_ITERATIONS):
            w, k = _mc_weights(rng, par, veto, mcp, win, modes, alpha, points, rows, w_plain)
            self._check_pilot(w)
            alpha = optimal_alpha(rows[:k], w_plain[:k], alpha, self.p["plain_fraction"], rng)
        batches = []
        stats = SamplingStats()
        n_acc = 0
        for _ in range(PILOT_MAX_BATCHES):
            w = _mc_weights(rng, par, veto, mcp, win, modes, alpha, points, rows[:0],
                            w_plain[:0])[0]
            self._check_pilot(w)
            stats += SamplingStats(w.size, float(w.sum()), float(w @ w), 0)
            batches.append(w)
            n_acc += int(np.count_nonzero(w))
            if n_acc >= PILOT_MIN_ACCEPTED:
                break
        w_all = np.concatenate(batches)
        # few accepted points (cuts too tight for the batches): the groups would miss the edge
        w_max = robust_max(w_all, WMAX_GROUPS) if n_acc >= PILOT_MIN_ACCEPTED else w_all.max()
        if n_acc == 0:
            raise CardError(
                f"process {self.name!r}: no accepted phase-space point in {stats.n_trials} pilot "
                "trials; loosen the generator-level cuts"
            )
        self._alpha = alpha
        self.w_max = w_max * PILOT_SAFETY
        self.pilot_cross_section_pb = stats.cross_section_pb
        self.pilot_stats = stats
        self.pilot_accepted = n_acc

    def _check_pilot(self, w: np.ndarray) -> None:
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        if self.multichannel:
            mcp, win, modes = self.sampler_setup()
            out = _mc_generate(rng, self._par(), photon_veto_array(self.c), n, self.w_max, mcp,
                               win, modes, self.channel_shares)
        else:
            out = _mumu_generate(rng, self._par(), photon_veto_array(self.c), n, self.w_max)
        mom, pdg, offset, sqrt_s, sqrt_sp, nisr, nfsr, stats = out
        truth = {"sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp, "n_isr": nisr, "n_fsr": nfsr}
        return checked_chunk(mom, pdg, offset, truth, self.name), stats_from_array(stats)


def robust_max(w: np.ndarray, groups: int = WMAX_GROUPS) -> float:
    """Median of the maxima of ``groups`` interleaved groups w[k::groups]: the upper edge of the
    bulk of the weights, insensitive to fewer than groups/2 outliers (``WMAX_GROUPS``)."""
    return float(np.median([w[k::groups].max() for k in range(groups)]))


def optimal_alpha(rho: np.ndarray, w_plain: np.ndarray, alpha: np.ndarray, plain_min: float,
                  rng: np.random.Generator, mix: float = ALPHA_MIX) -> np.ndarray:
    """Channel shares that minimise the largest weight over the given accepted points.

    A point's weight is W / sum_c alpha_c rho_c, so max_k W_k / (rho_k . alpha) is smallest
    for the solution of the linear programme: maximise t subject to rho_k . alpha >= t W_k,
    sum alpha = 1, alpha_plain >= plain_min (scipy.optimize.linprog, HiGHS). At most
    ``LP_MAX_ROWS`` points enter: the half with the largest current weights and a random
    half of the rest. The enhanced channels' shares are then mixed with ``mix`` of equal shares
    (robustness against regions the pilot saw rarely); ``alpha`` is returned unchanged if the
    programme fails.
    """
    ok = np.all(np.isfinite(rho), axis=1) & (w_plain > 0.0)
    rho, w_plain = rho[ok], w_plain[ok]
    n, n_ch = rho.shape
    if n == 0 or n_ch < 2:
        return alpha
    if n > LP_MAX_ROWS:
        w = w_plain / (rho @ alpha)
        order = np.argsort(-w)
        top, rest = order[: LP_MAX_ROWS // 2], order[LP_MAX_ROWS // 2:]
        pick = np.concatenate((top, rng.choice(rest, LP_MAX_ROWS - top.size, replace=False)))
        rho, w_plain = rho[pick], w_plain[pick]
    a_ub = np.hstack((-rho / w_plain[:, None], np.ones((rho.shape[0], 1))))
    res = linprog(
        c=np.r_[np.zeros(n_ch), -1.0], A_ub=a_ub, b_ub=np.zeros(rho.shape[0]),
        A_eq=np.r_[np.ones(n_ch), 0.0][None, :], b_eq=[1.0],
        bounds=[(plain_min, 1.0)] + [(0.0, 1.0)] * (n_ch - 1) + [(0.0, None)], method="highs",
    )
    if not res.success:
        return alpha
    new = np.maximum(res.x[:n_ch], 0.0)
    new /= new.sum()
    # the solver honours the bound only to rounding: keep alpha_plain >= plain_min exactly
    new[0] = max(new[0], plain_min)
    rest = new[1:].sum()
    new[1:] = (1.0 - new[0]) * (new[1:] / rest if rest > 0.0 else 1.0 / (n_ch - 1))
    new[1:] = (1.0 - mix) * new[1:] + mix * (1.0 - new[0]) / (n_ch - 1)
    return new


Intervals = list[tuple[float, float]]


def _union(iv: Intervals) -> Intervals:
    """Sorted union of closed intervals."""
    out: Intervals = []
    for lo, hi in sorted(x for x in iv if x[1] > x[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    """Intersection of two unions of intervals."""
    return _union([(max(x0, y0), min(x1, y1)) for x0, x1 in _union(a) for y0, y1 in _union(b)])


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    """Intervals of ``a`` outside ``b``."""
    out = _union(a)
    for y0, y1 in _union(b):
        nxt = []
        for x0, x1 in out:
            nxt += [(x0, min(x1, y0)), (max(x0, y1), x1)]
        out = _union(nxt)
    return out
