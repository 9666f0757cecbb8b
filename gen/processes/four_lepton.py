"""e+e- -> four leptons at QED tree level with the full set of diagrams and all masses kept.

Final states (``final_state``): eeee, eemumu, eetautau, mumumumu, mumutautau. The matrix
element is ``gen.helicity``: all two-photon diagrams of three fermion lines with Fermi signs
(Berends, Daverveldt, Kleiss, Nucl. Phys. B253 (1985) 441; Comput. Phys. Commun. 40 (1986)
285), i.e. for e+e- -> e+e-mu+mu- the 12 diagrams of the multiperipheral (two-photon),
bremsstrahlung, conversion and annihilation classes; for e+e- -> e+e-e+e- the 36 diagrams
(6 Wick pairings, exchange diagrams included); 12 for mumumumu, 12 for eetautau, 6 for
mumutautau. No Z exchange (O(s/M_Z^2) ~ 1 % on the annihilation class, < 1e-3 of sigma), no
radiative corrections, alpha = alpha(0).

Legs: 0 beam e- (in), 1 beam e+ (in), 2 l_a-, 3 l_a+, 4 l_b-, 5 l_b+. Spin average 1/4,
identical-particle factor 1/4 for eeee and mumumumu (events are generated over the full,
labelled phase space), flux 1/(2s).

Generator-level cuts (``[process]``): ``w_min_gev`` on the invariant mass of every
opposite-charge same-flavour final-state pair (for eemumu: m(mu+mu-) and m(e+e-); for eeee:
all four e+e- combinations). In the multiperipheral region the scattered beam leptons form a
pair of mass ~ sqrt(s), so this is the W_ll cut of the two-photon pair of AAFH (Belle II
Physics Book arXiv:1808.10567, table of cross sections at 10.58 GeV) and it removes the
low-mass conversion poles of the non-peripheral diagrams. ``[cuts]``: ``min_charged`` leptons
(taus: before decay) in the lab polar-angle window with momentum above ``charged_p_min_gev``;
and the muon-pair cuts of the EPA sample cards/samples/eemumu.toml, same keys and meaning
(``gen.processes.mumu.MUON_PAIR_CUTS``, evaluated by its ``muon_pair_cuts1``): both muons in
``mu_theta_min/max_deg`` with p > ``mu_p_min_gev``, the missing momentum P_beams(nominal) -
p_mu- - p_mu+ above ``pmiss_cm_min_gev`` in the nominal c.m. frame and at
``pmiss_theta_min/max_deg`` in the lab; off by default; an event passes if any mu- mu+
combination does (eemumu, mumumumu, mumutautau; other final states reject them). All cuts act
on the lab momenta before the channel densities and |M|^2 (which dominate the cost).

Sampling (multi-channel, Kleiss & Pittau, Comput. Phys. Commun. 83 (1994) 141; channels
after the peak structure used by Berends, Daverveldt, Kleiss, CPC 40 (1986) 285):
- multiperipheral channel (one per labelling: which final e- / e+ is the scattered beam):
  tau = y1 y2 with 1/tau uniform, ln y1 uniform in [ln tau, 0], ln Q_i^2 uniform between the
  exact kinematic limits, azimuths uniform, the pair decaying in its rest frame about the
  axis of photon 1 with cos theta* from 1/2 flat + 1/2 ~ 1/(1 - b^2 cos^2) (the lepton
  exchange peak of gamma gamma -> l+l-); for eeee (an e+e- pair; the other final states
  keep this map and their events) the pair decay follows the virtual,
  linearly polarised photons (``P_VPEAK``, issue 3): b = 1/A from the t- and u-channel
  propagators of gamma*(q1) gamma*(q2) -> l+l- at photon 1's virtuality (``_peak_b_virtual``),
  cos theta* from 1/4 flat + 1/4 that peak + 1/2 the peak with b capped at 0.98 (spreads
  trials over |cos| < ~0.95, where the pair still reaches the barrel), and the azimuth about
  the photon axis from (1 - kappa cos(4 phi - 2 phi_1 - 2 phi_2)) / 2 pi, phi_i the scattering
  planes (``_azimuth_mod``: the interference of the helicity-flip amplitudes between linearly
  polarised quasi-real photons; accept-reject, exact density);
- bremsstrahlung channel (two per multiperipheral labelling: either beam lepton scattered at
  small |t|): ln y and ln Q^2 of the scattered lepton uniform as above, the recoiling system
  X = P - p_L (M_X^2 = y s + m_e^2) splits into the other beam lepton and the pair, ln W^2
  uniform, the pair direction in the X frame about the other beam from 1/2 flat +
  1/2 ~ 1/(1 - b^2 cos^2) (its radiating propagator), isotropic pair decay;
- two-pair channel (one per way of grouping the final state into two opposite-charge
  same-flavour pairs): ln M_1^2, ln M_2^2 uniform, pair 1 direction in the c.m. from
  1/2 flat + 1/2 ~ 1/(1 - b^2 cos^2), b = sqrt(lambda(s, M_1^2, M_2^2))/(s - M_1^2 - M_2^2)
  (the t- and u-channel lepton propagators of e+e- -> gamma* gamma*), isotropic pair decays;
- final-state-radiation channel (per pair grouping, either pair radiating, either charge
  recoiling): lepton L isotropic with ln(M_X^2 - m_O^2) uniform, X = P - p_L = O + pair
  (the propagator of the radiating lepton O), ln W^2 uniform, pair direction in the X frame
  about the X flight direction from the mixture above, isotropic pair decay.
- target channel (only with muon-pair cuts and ``adaptive``, one per multiperipheral
  labelling): the multiperipheral kinematics in the variables ln y1, ln y2 (y2 >= tau_min/y1),
  ln Q1^2, ln Q2^2, phi2 - phi1 and the direction d of the pair's l- in the pair rest frame,
  taken in the band |d.h| <= x_m where both pair leptons reach the lab momentum cut exactly
  (h: the lab frame's velocity seen from the pair rest frame; lab energies E* U0 -+ p* |U| d.h,
  the "band" map of gen.processes.eemumu) with d.h uniform in the band and the azimuth about
  h uniform; each of the 7 unit variables goes through a VEGAS grid (Lepage, J. Comput. Phys.
  27 (1978) 192; 50 bins, ``refine_grid`` of gen.processes.eemumu) refined in the pilot with
  bin importances sum w^3 g_target/g. In the search region (eemumu.toml cuts) the points have
  y1 ~ 0.2-0.45 (the e- gives up the energy that brings the muon pair to rest in the lab, so
  that the missing momentum of the electrons in the beam pipe points into the barrel, helped by
  the crossing angle), y2 ~ 0.005-0.05, W_mumu ~ 0.4-1.5 GeV: the channel takes ~90 % of the
  trials after the pilot, ~20 % of all trials pass the cuts (7 % with the channels of the
  uncut process alone) and the weight variance per trial is ~20x smaller.
The two-pair channels alone reach every point that passes the W cut (their masses start at
W_min), so the multi-channel estimate is exact whatever the other channels miss.
Multiperipheral channels get 70 %, bremsstrahlung 15 %, two-pair and FSR 7.5 % each (without
an e+e- final pair: two-pair and FSR 50 % each) before the pilot's update (target channels:
50 %, the others scaled down); every share stays above ``ALPHA_FLOOR`` / (number of channels).

``diagrams = "multiperipheral"`` (diagnostic) keeps only the two two-photon diagrams of the
labelled lines e-(beam) -> l_a-, e+(beam) -> l_a+ with l_b l_b-bar produced, without
identical-particle symmetrisation and with the W cut on the l_b pair only, as in AAFH; points
with tau = y1 y2 below W_min^2/s and a scattered pair below W_min are then not sampled
(negligible: both need Q^2 ~ s).
Weight = f / sum_k alpha_k g_k with all densities taken w.r.t. the Lorentz-invariant phase
space dPhi_4 = (2 pi)^4 delta^4 prod d^3p/((2 pi)^3 2E) (PDG RPP review "Kinematics", n-body
phase space and its recursion through two-body steps),
so the estimate is unbiased for any alpha; the pilot sets alpha by the Kleiss-Pittau update
generalised from the variance to the moment E[w^(p-1)], alpha_k <- alpha_k <w^p g_k/g>^(1/p)
with p = ``ALPHA_POWER`` = 8 (a high moment weighs the largest weights, which set w_max), 10
fixed-point steps per pilot batch on all batches so far, each reweighted exactly to the new
shares (with target channels: 6 updates of one step with p = 2, each also refining the grids,
as before), and then
w_max = ``PILOT_SAFETY`` x the weight above which the excess is ``PILOT_TRUNCATION`` of sigma,
estimated from all pilot batches reweighted to the final shares (``pooled_excess_quantile``;
with target channels from the last batch).

Measured (cards/samples/four_lepton_eemumu_search.toml: eemumu.toml's cuts, W > 0.212 GeV;
CPU time on a shared machine): sigma = 406.0 +- 0.6 pb; the two multiperipheral diagrams
alone (``diagrams = "multiperipheral"``) 397.8 +- 1.7 pb; the EPA gen.processes.eemumu
440.2 +- 1.0 pb (Q^2 cut-off x1/4 ... x4: 323 ... 587 pb), i.e. the EPA's transverse-photon,
sharp-cut-off flux is ~11 % high here, the non-multiperipheral diagrams add ~2 %.
Profile (29 Nov 2026, 2 x 8192-event blocks, seed 137, CPU time on the shared 2-core machine):
3.9 us per trial, 22 % of the trials pass the cuts (tested before the densities and |M|^2);
per passing trial |M|^2 11 us (61 % of the total; 14 us before ``rowslash1``) and the 9
channel densities 2.5 us (14 %); 105 trials per unweighted event (efficiency 0.95 %; the
earlier 0.6 % is not reproduced by this code), N_eff/N = 0.078 per trial; passing-trial
weights w/w_max at the 50/90/99/99.9 % quantiles 0.02/0.11/0.25/0.45 (max 1.8, 11 trials of
5.4e5 above w_max).
Unweighted: ~2400 events per CPU-second (the EPA sampler: ~12000); with
``target_efficiency`` = 0.05 / 0.1 / 0.2: 12600 / 25500 / 50000 events and 12100 / 19700 /
21700 N_eff per CPU-second (N_eff/N = 0.95 / 0.77 / 0.43).

Pilot of the uncut channels (29 Nov 2026, issue 3; interleaved A/B against the code before,
same seeds, CPU time, load average 4-8 on 2 cores): where trials die and what sets w_max. At
the process defaults 37 % of the trials fail the W cut in the maps (cheap: before |M|^2); the
multiperipheral weights have a flat upper edge at ~0.16 of the former w_max (quasi-real
photons, W near w_min), above it rare spikes (3e-5 of the trials, up to 3.5x that edge) where
one beam lepton keeps y ~ 0.97 at Q^2 ~ 1-7 GeV^2 and the pair follows it, carried by the
bremsstrahlung channels at their floor share. The former w_max came from the excess quantile
of the last pilot batch (5e4 trials), so one spike there set it: 7.4e5 / 1.5e5 / 2.8e5 pb
for pilot seeds 1 / 2 / 3 (efficiency 2.5 / 12.2 / 6.7 %). Now all pilot batches (2e5
trials), reweighted to the final shares, enter the quantile and p = 8 moves shares to the
channels of the spikes: w_max 1.45-1.52e5 pb, efficiency 12.3-12.9 % for the same seeds,
realised excess above w_max 0.6-1.1e-4 of sigma on 1e6 fresh trials (the criterion
PILOT_TRUNCATION, before the safety factor; the former 0-2.5e-4). Events per CPU-second:
defaults 2.2-2.6e3 -> 1.1-1.3e4; card cuts (two repeats each): eemumu 7.5-7.7e3 -> 7.5-8.4e3
(eff 3.45 -> 3.9 %), eetautau 4.5e3 -> 7.6-9.5e3 (4.9 -> 12 %), mumumumu 3.7-4.0e3 ->
4.6-4.8e3 (5.1 -> 6.4 %), mumutautau 6.5-6.7e3 -> 5.8-6.9e3 (6.3 -> 6.7 %), eeee unchanged
(1.13 % vs 1.15 % over 3 pilot seeds: a broad weight distribution, not spikes, limits it);
the search cards (target channels) keep the former pilot, bit for bit. Caching each scattered
lepton's Q^2 across the channel densities (computed up to 3x per trial) was tried: 8 % slower
per trial on identical events, not kept.

Pair-decay map of the virtual, polarised photons (30 Nov 2026, issue 3; eeee card, CPU time,
interleaved A/B against the code before, load 14-19 on 2 cores). What spread the weights of the
multiperipheral points in the acceptance (log-weight regression on 5e4 points with Q^2 < 0.01
GeV^2): the azimuth of the pair lepton against the two scattering planes, weights ~
1 - 1.07 cos(4 phi - 2 phi_1 - 2 phi_2) at cos theta* = 0 (var(ln w) 1.35 -> 0.76 with
``_azimuth_mod``), and the polar angle: weights 3-6x larger at |cos theta*| = 0.9-0.95 than at
0 (the flat + narrow-peak mixture puts its peak where the pair leaves the barrel); the tail
above those had photon 1 at Q^2 ~ W^2 (``_peak_b_virtual``). Result: efficiency 0.98 % ->
1.39 %, unweighted events 1.0-1.1e3 -> 1.6e3 per CPU second, N_eff/N per trial 0.071 ->
0.087, N_eff per CPU second 7.3-8.3e3 -> 8.6e3 (the densities cost ~1.5 us more per trial:
8.6-9.6 -> 10.2 us); pilot ~2.1-2.4 s either way. sigma (card cuts, 1.5-2e6 trials each,
independent streams): before 4931 +- 15, 4933 +- 13, 4977 +- 13 pb, after 4980 +- 13, 4955 +-
11, 4974 +- 11 pb (the heavy weight tail makes the quoted errors optimistic: the former runs
scatter by 2.5 of them); the other final states and the search cards: the same events.
Tried and not kept: a "central-pair" channel per labelling with the pair decay drawn uniformly
in the rest-frame rapidity window that maps onto the lab acceptance (lab +z seen from the pair,
pseudorapidities added along it, margin 0.2): efficiency +15 % but N_eff per CPU second -4 %
(the window misses pairs with p_T ~ W/2, whose weights then set w_max, and the 4 extra
densities cost ~0.7 us per trial); VEGAS grids on these channels (session 7) likewise. The same
map for the muon pair of the eemumu card lowered its efficiency 3.97 -> 1.51 % (w_max 1.2e5 ->
3.1e5 pb, N_eff/N 0.122 -> 0.118; sigma 4731 +- 20 -> 4747 +- 21 pb): massive pairs (W ~ 2-5
m_mu) keep the former map.

Partial unweighting (``target_efficiency`` > 0: weighted events, ``Process.weighted``): the
pilot sets a threshold w_thr <= w_max so that the expected fraction of trials that become
events, mean(min(1, w/w_thr)) over the pilot's last batch, is ``target_efficiency``
(``efficiency_threshold``); a trial is kept with probability min(1, w/w_thr) and carries the
raw weight max(1, w/w_thr), so each trial's expected contribution is w/w_thr: unbiased,
nothing truncated (no overweights). Raw weights are normalised to mean 1 per block, as in
gen.processes.tautau (``mode_bias``) and gen.processes.eemumu (``unweight_excess``), so that
sigma x L / N x weight is the expected yield per event; the effective sample size
N_eff = (sum w)^2 / sum w^2 is below N. With ``target_efficiency`` below the unweighted
efficiency w_thr = w_max and events are unweighted in effect. Standard practice: the
"partially unweighted" events of Sherpa (since 2.2; release notes of 2.2.12) and the
unweighter of the cell-resampling code cres (Andersen, Gutschow, Maier, Prestel,
arXiv:2005.09375); importance sampling: F. James, Rep. Prog. Phys. 43 (1980) 1145, sec. 4.

Taus (eetautau, mumutautau) are decayed with ``gen.decays.tau.decay_tau1`` (unpolarised, no
spin correlations) after acceptance. Output rows: l_a-, l_a+, l_b-, l_b+ (taus with status
2 followed by their decay trees). Truth: ``sqrt_s``, ``w_a`` (l_a- l_a+ mass), ``w_b``,
``channel`` (the channel that produced the event).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from gen.beams import cm_to_lab1, sample_collision1
from gen.cards import CardError, Param, check
from gen.constants import ELECTRON, GEV2_TO_PB, M_E, M_MU, M_TAU, MUON, TAU
from gen.decays.tau import decay_tau1, max_tree_rows, rows_to_particles, tau_tables
from gen.events import DECAYED, FINAL, EventChunk, SamplingStats
from gen.grid import grid_locate1, grid_map1
from gen.helicity import me2_summed, onshell_dot, pair_q2, permutation_sign
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1
from gen.processes.base import (
    PILOT_POINTS,
    PILOT_SAFETY,
    Process,
    check_momentum_reachable,
)
from gen.processes.eemumu import excess_quantile, refine_grid
from gen.processes.mumu import N_PAR as N_CPAR
from gen.processes.mumu import fill_common_par, muon_pair_cuts1, validate_muon_pair_cuts

#: final state -> (pdg of l_a, pdg of l_b, identical-particle factor)
FINAL_STATES: dict[str, tuple[int, int, float]] = {
    "eeee": (ELECTRON, ELECTRON, 0.25),
    "eemumu": (ELECTRON, MUON, 1.0),
    "eetautau": (ELECTRON, TAU, 1.0),
    "mumumumu": (MUON, MUON, 0.25),
    "mumutautau": (MUON, TAU, 1.0),
}
_MASS = {ELECTRON: M_E, MUON: M_MU, TAU: M_TAU}

# flat parameter array of the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_WMIN, P_NMIN, P_CLO, P_CHI, P_PMIN, P_SYM, P_MPONLY = 5, 6, 7, 8, 9, 10, 11
P_BAND_EMIN = 12  # lab energy both pair leptons of a target channel must reach (band map)
P_VPEAK = 13  # 1: the multiperipheral pair decay map of the virtual, polarised photons
N_PAR = 14
#: channel kinds
CH_PERIPHERAL, CH_PAIRS, CH_BREMS, CH_FSR, CH_TARGET = 0, 1, 2, 3, 4
#: scale of the azimuthal modulation of the multiperipheral pair decay (``_azimuth_mod``)
AZIMUTH_KAPPA = 0.9
#: pair-decay polar angle of the multiperipheral map with ``P_VPEAK``: shares of the flat part
#: and of the lepton-exchange peak 1/(1 - b^2 c^2); the rest is the same peak with b capped at
#: ``PEAK3_BM``, which spreads trials over |c| < ~0.95, where the pair leptons still reach the
#: barrel and |M|^2 ~ (1 + c^2)/(1 - c^2) (measured on eeee: weights 3-6x the central ones
#: at |c| = 0.9-0.95 with the flat + peak mixture)
PEAK3_FLAT = 0.25
PEAK3_NARROW = 0.25
PEAK3_BM = 0.98
#: target channel (multiperipheral with a VEGAS grid, only under muon-pair cuts): unit
#: variables y1, y2, Q1^2, Q2^2, phi2 - phi1, d.h in the band, azimuth about h; grid bins;
#: initial share of the target channels (the others are scaled down)
N_TDIM = 7
N_UNITS = N_TDIM
N_TBINS = 50
TARGET_SHARE = 0.5
#: pilot iterations that refine the target grid and the channel shares
TARGET_ITERATIONS = 6
#: initial shares of the multiperipheral and bremsstrahlung channels (when there are any)
PERIPHERAL_SHARE = 0.7
BREMS_SHARE = 0.15
#: share of the final-state-radiation channels among the non-peripheral ones
FSR_SHARE = 0.5
#: pilot: Kleiss-Pittau iterations, floor of a channel share (ALPHA_FLOOR / n_channels: rare
#: annihilation-like points keep moderate weights), and the truncation of w_max
#: (w_max = PILOT_SAFETY x the weight above which the excess is this fraction of sum w)
ALPHA_ITERATIONS = 3
ALPHA_FLOOR = 0.1
PILOT_TRUNCATION = 1e-4
#: moment of the weights that the channel-share update minimises: Kleiss-Pittau's variance
#: (2) generalised to E[w^(p-1)] (fixed point alpha_k <- alpha_k E[w^p g_k/g]^(1/p)); a high
#: power aims at the largest weights, which set w_max (measured: module docstring)
ALPHA_POWER = 8.0
#: fixed-point steps of the share update per pilot iteration, on all batches so far (without
#: target channels the channel densities do not change, so each batch is reweighted exactly)
ALPHA_STEPS = 10
_TWO_PI = 2.0 * math.pi
_INV_2PI8 = (2.0 * math.pi) ** -8


def legs_setup(final_state: str):
    """(mass, sgn, pdg, left, right, pairs, psign) of the six legs (module docstring)."""
    pa, pb, _ = FINAL_STATES[final_state]
    pdg = np.array([ELECTRON, -ELECTRON, pa, -pa, pb, -pb], np.int64)
    mass = np.array([_MASS[abs(int(x))] for x in pdg])
    sgn = np.array([-1, -1, 1, 1, 1, 1], np.int64)
    # bar ends: outgoing fermions and the incoming positron; spinor ends: incoming e-, outgoing
    # antifermions
    left = np.array([2, 1, 4], np.int64)
    right = np.array([0, 3, 5], np.int64)
    pairs, signs = [], []
    for perm in itertools.permutations(range(3)):
        if all(abs(pdg[left[i]]) == abs(pdg[right[perm[i]]]) for i in range(3)):
            pairs.append(perm)
            signs.append(permutation_sign(perm))
    return mass, sgn, pdg, left, right, np.array(pairs, np.int64), np.array(signs, float)


def channels_setup(final_state: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kind, legs (n, 4), initial alpha) of the sampling channels.

    Peripheral legs: (scattered e-, scattered e+, pair l-, pair l+); pair legs:
    (pair-1 l-, pair-1 l+, pair-2 l-, pair-2 l+); bremsstrahlung legs: (scattered beam
    lepton, the other beam lepton, pair l-, pair l+); final-state-radiation legs: (recoiling
    lepton, radiating lepton, pair l-, pair l+).
    """
    pa, pb, _ = FINAL_STATES[final_state]
    minus = [2, 4]
    plus = [3, 5]
    flav = {2: pa, 3: pa, 4: pb, 5: pb}
    per, brems, pairs = [], [], []
    for le in minus:
        for lp in plus:
            if flav[le] == ELECTRON and flav[lp] == ELECTRON:
                rest_m = [x for x in minus if x != le][0]
                rest_p = [x for x in plus if x != lp][0]
                if flav[rest_m] == flav[rest_p]:
                    per.append((le, lp, rest_m, rest_p))
                    brems.append((le, lp, rest_m, rest_p))
                    brems.append((lp, le, rest_m, rest_p))
    fsr = []
    for lp in plus:
        if flav[lp] == flav[2]:
            other = [x for x in plus if x != lp][0]
            if flav[other] == flav[4]:
                pairs.append((2, lp, 4, other))
                for lo_, o_, a_, b_ in ((2, lp, 4, other), (4, other, 2, lp)):
                    fsr.append((lo_, o_, a_, b_))
                    fsr.append((o_, lo_, a_, b_))
    kinds = np.array([CH_PERIPHERAL] * len(per) + [CH_BREMS] * len(brems)
                     + [CH_PAIRS] * len(pairs) + [CH_FSR] * len(fsr), np.int64)
    alpha = np.empty(kinds.size)
    rest = 1.0
    if per:
        alpha[:len(per)] = PERIPHERAL_SHARE / len(per)
        alpha[len(per):len(per) + len(brems)] = BREMS_SHARE / len(brems)
        rest = 1.0 - PERIPHERAL_SHARE - BREMS_SHARE
    n0 = len(per) + len(brems)
    alpha[n0:n0 + len(pairs)] = rest * (1.0 - FSR_SHARE) / len(pairs)
    alpha[n0 + len(pairs):] = rest * FSR_SHARE / len(fsr)
    return kinds, np.array(per + brems + pairs + fsr, np.int64), alpha


# ---------------------------------------------------------------------------------------------
# kinematics helpers
# ---------------------------------------------------------------------------------------------


@kernel
def _q2_limits(e: float, pbeam: float, y: float, m: float):
    """(Q^2_min, Q^2_max) of a beam lepton (energy e, momentum pbeam) keeping energy (1-y) e.

    Q^2 = 2 (E E' - p p' cos - m^2) at cos = 1, -1 (Q^2_min without cancellation: Budnev et al.,
    Phys. Rept. 15 (1975) 181, and gen.processes.eemumu).
    """
    e2 = e * (1.0 - y)
    if e2 <= m or y <= 0.0:
        return 0.0, 0.0
    p2 = math.sqrt(e2 * e2 - m * m)
    w = e - e2
    q2min = 2.0 * m * m * w * w / (e * e2 - m * m + pbeam * p2)
    q2max = 2.0 * (e * e2 + pbeam * p2 - m * m)
    return q2min, q2max


@kernel
def _peak_cos(rng, b: float) -> float:
    """cos from 1/2 flat + 1/2 ~ 1/(1 - b^2 c^2) on [-1, 1]."""
    if rng.random() < 0.5 or b < 1e-6:
        return 2.0 * rng.random() - 1.0
    a = math.atanh(min(b, 1.0 - 1e-15))
    return math.tanh(a * (2.0 * rng.random() - 1.0)) / b


@kernel
def _peak_cos_density(c: float, b: float) -> float:
    if b < 1e-6:
        return 0.5
    bb = min(b, 1.0 - 1e-15)
    norm = 2.0 * math.atanh(bb) / bb
    return 0.25 + 0.5 / (norm * (1.0 - bb * bb * c * c))


@kernel
def _peak_cos3(rng, b: float) -> float:
    """cos from ``PEAK3_FLAT`` flat + ``PEAK3_NARROW`` ~ 1/(1 - b^2 c^2) + the rest
    ~ 1/(1 - b_m^2 c^2), b_m = min(b, ``PEAK3_BM``) on [-1, 1]."""
    u = rng.random()
    if u < PEAK3_FLAT:
        return 2.0 * rng.random() - 1.0
    bb = b if u < PEAK3_FLAT + PEAK3_NARROW else min(b, PEAK3_BM)
    if bb < 1e-6:
        return 2.0 * rng.random() - 1.0
    a = math.atanh(min(bb, 1.0 - 1e-15))
    return math.tanh(a * (2.0 * rng.random() - 1.0)) / bb


@kernel
def _peak_cos3_density(c: float, b: float) -> float:
    g = 0.5 * PEAK3_FLAT
    for k in range(2):
        bb = min(b if k == 0 else min(b, PEAK3_BM), 1.0 - 1e-15)
        share = PEAK3_NARROW if k == 0 else 1.0 - PEAK3_FLAT - PEAK3_NARROW
        if bb < 1e-6:
            g += 0.5 * share
        else:
            g += share * bb / (2.0 * math.atanh(bb) * (1.0 - bb * bb * c * c))
    return g


@kernel
def _set(mom, i, px, py, pz, e):
    mom[i, 0] = px
    mom[i, 1] = py
    mom[i, 2] = pz
    mom[i, 3] = e


@kernel
def _mass2(mom, i, j) -> float:
    e = mom[i, 3] + mom[j, 3]
    x = mom[i, 0] + mom[j, 0]
    y = mom[i, 1] + mom[j, 1]
    z = mom[i, 2] + mom[j, 2]
    return e * e - x * x - y * y - z * z


@kernel
def _pair_m2(mom, i, j, mass) -> float:
    """Invariant mass^2 of legs i, j (cancellation-free for equal masses)."""
    if mass[i] == mass[j]:
        return pair_q2(mom[i], mom[j], mass[i], 1, 1)
    return _mass2(mom, i, j)


@kernel
def _decay_in_frame(mom, i, j, mi, mj, xpx, xpy, xpz, xe, c, phi, ax, ay, az):
    """Two-body decay of the system X into legs i, j: leg i at (c, phi) about the axis a in
    the X rest frame; returns the momentum p* (NaN-free: 0 if closed)."""
    w2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    w = math.sqrt(max(w2, 0.0))
    lam = (w2 - (mi + mj) ** 2) * (w2 - (mi - mj) ** 2)
    ps = math.sqrt(max(lam, 0.0)) / (2.0 * w)
    s = math.sqrt(max(1.0 - c * c, 0.0))
    dx, dy, dz = rotate_z_to1(s * math.cos(phi), s * math.sin(phi), c, ax, ay, az)
    bx, by, bz = xpx / xe, xpy / xe, xpz / xe
    a = boost1(ps * dx, ps * dy, ps * dz, math.sqrt(ps * ps + mi * mi), bx, by, bz)
    b = boost1(-ps * dx, -ps * dy, -ps * dz, math.sqrt(ps * ps + mj * mj), bx, by, bz)
    _set(mom, i, a[0], a[1], a[2], a[3])
    _set(mom, j, b[0], b[1], b[2], b[3])
    return ps


@kernel
def _rest_dir(vx, vy, vz, ve, xpx, xpy, xpz, xe):
    """Unit 3-direction of the four-vector v in the rest frame of X, and its energy there."""
    r = boost1(vx, vy, vz, ve, -xpx / xe, -xpy / xe, -xpz / xe)
    n = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    if n <= 0.0:
        return 0.0, 0.0, 1.0, r[3]
    return r[0] / n, r[1] / n, r[2] / n, r[3]


# ---------------------------------------------------------------------------------------------
# multiperipheral channel
# ---------------------------------------------------------------------------------------------


@kernel
def _tau_min(sqrt_s: float, w2lo: float) -> float:
    """Lower end of tau = y1 y2 (W^2 ~ tau s - (Q1 - Q2)^2); any point below it is reached by
    the two-pair channel, so the estimate stays exact."""
    return w2lo / (sqrt_s * sqrt_s)


@kernel
def _gen_scattered(rng, mom, sqrt_s, legs, mass, wmin2):
    """The scattered e-, e+ of the multiperipheral map (tau, y1, Q1^2, Q2^2, azimuths) into
    ``mom``; (ok, X = P - p_e- - p_e+ (px, py, pz, E), W^2 of the pair)."""
    le, lp, lm, lq = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    tmin = _tau_min(sqrt_s, max(wmin2, (mass[lm] + mass[lq]) ** 2))
    if tmin >= 1.0:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0
    inv = 1.0 + rng.random() * (1.0 / tmin - 1.0)
    tau = 1.0 / inv
    y1 = math.exp(math.log(tau) * rng.random())
    y2 = tau / y1
    for k in range(2):
        y = y1 if k == 0 else y2
        q2min, q2max = _q2_limits(e, pbeam, y, m)
        if q2max <= q2min:
            return False, 0.0, 0.0, 0.0, 0.0, 0.0
        q2 = q2min * math.exp(math.log(q2max / q2min) * rng.random())
        e2 = e * (1.0 - y)
        p2 = math.sqrt(e2 * e2 - m * m)
        t = min((q2 - q2min) / (2.0 * pbeam * p2), 2.0)
        sn = math.sqrt(max(t * (2.0 - t), 0.0))
        phi = _TWO_PI * rng.random()
        zs = 1.0 if k == 0 else -1.0
        _set(mom, le if k == 0 else lp, p2 * sn * math.cos(phi), p2 * sn * math.sin(phi),
             zs * p2 * (1.0 - t), e2)
    xpx = -mom[le, 0] - mom[lp, 0]
    xpy = -mom[le, 1] - mom[lp, 1]
    xpz = -mom[le, 2] - mom[lp, 2]
    xe = sqrt_s - mom[le, 3] - mom[lp, 3]
    w2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    if w2 <= (mass[lm] + mass[lq]) ** 2 or w2 < wmin2:
        return False, xpx, xpy, xpz, xe, w2
    return True, xpx, xpy, xpz, xe, w2


@kernel
def _peak_b_virtual(mom, le, e, pbeam, q0, w2, ml, mq) -> float:
    """b = 1/A of the lepton-exchange propagators of gamma*(q1) gamma*(q2) -> l(k1) l(k2) in
    the pair rest frame: t - m^2 = (q1 - k1)^2 - m^2 = -(Q1^2 + 2 q1_0 E*) + 2 |q1| p* c,
    u - m^2 the same with -c, so |M|^2 ~ 1/((A - c)(A + c)), A = (Q1^2 + 2 q1_0 E*) /
    (2 |q1| p*) (real photon: A = E*/p* = 1/beta*; for Q1^2 ~ W^2 the peak widens to
    1 - c ~ Q1^2/W^2; Budnev et al., Phys. Rept. 15 (1975) 181, the gamma gamma -> l+l-
    amplitudes). Only the sampling density depends on it."""
    # Q1^2 = -(p_beam - p_e')^2 (rounding ~1e-15 GeV^2 at tiny Q^2: irrelevant for A)
    qx, qy, qz, qe = -mom[le, 0], -mom[le, 1], pbeam - mom[le, 2], e - mom[le, 3]
    q2 = max(qx * qx + qy * qy + qz * qz - qe * qe, 0.0)
    w = math.sqrt(w2)
    ps = math.sqrt(max((w2 - (ml + mq) ** 2) * (w2 - (ml - mq) ** 2), 0.0)) / (2.0 * w)
    es = math.sqrt(ps * ps + ml * ml)
    qn = math.sqrt(q0 * q0 + q2)
    den = q2 + 2.0 * q0 * es
    if not den > 0.0:
        return 0.0
    return 2.0 * qn * ps / den


@kernel
def _azimuth_mod(mom, legs, e, ax, ay, az, c, xpx, xpy, xpz, xe):
    """(kappa, delta) of the pair-decay azimuth density (1 - kappa cos(4 phi - delta)) / 2 pi
    about the photon-1 axis a: the interference of the two helicity-flip amplitudes of
    gamma gamma -> l+l- between linearly polarised quasi-real photons (polarised along their
    transverse momenta, i.e. along the scattered leptons' azimuths phi_1, phi_2: delta =
    2 phi_1 + 2 phi_2), kappa = eps_1 eps_2 (1 - c^2)/(1 + c^2) for massless leptons (the two
    amplitudes ~ sqrt((1+c)/(1-c)), sqrt((1-c)/(1+c)) against u/t + t/u), eps = 2(1-y)/(1 +
    (1-y)^2) the photon's degree of linear polarisation (Budnev et al., Phys. Rept. 15 (1975)
    181, the tau^a_TT term), times ``AZIMUTH_KAPPA`` < 1 (the density stays >= its floor where
    masses and virtualities weaken the modulation). Measured on eeee: the weights followed
    1 - 1.07 cos(4 phi - delta) at c = 0. Any kappa in [0, 1) keeps the density normalised."""
    le, lp = legs[0], legs[1]
    # scattering planes: the scattered leptons seen from the pair rest frame, azimuths about a
    v = _rest_dir(mom[le, 0], mom[le, 1], mom[le, 2], mom[le, 3], xpx, xpy, xpz, xe)
    s1x, s1y, _ = rotate_z_to1(v[0], v[1], v[2], -ax, -ay, az)
    v = _rest_dir(mom[lp, 0], mom[lp, 1], mom[lp, 2], mom[lp, 3], xpx, xpy, xpz, xe)
    s2x, s2y, _ = rotate_z_to1(v[0], v[1], v[2], -ax, -ay, az)
    y1 = 1.0 - mom[le, 3] / e
    y2 = 1.0 - mom[lp, 3] / e
    eps1 = 2.0 * (1.0 - y1) / (1.0 + (1.0 - y1) ** 2)
    eps2 = 2.0 * (1.0 - y2) / (1.0 + (1.0 - y2) ** 2)
    c2 = min(c * c, 1.0)
    kap = AZIMUTH_KAPPA * min(max(eps1 * eps2, 0.0), 1.0) * (1.0 - c2) / (1.0 + c2)
    return kap, 2.0 * (math.atan2(s1y, s1x) + math.atan2(s2y, s2x))


@kernel
def _gen_peripheral(rng, mom, sqrt_s, legs, mass, wmin2, virt) -> bool:
    """Fill ``mom`` from the multiperipheral map; False if the point is outside the phase space.
    ``virt``: the peak of the pair decay follows photon 1's virtuality (``_peak_b_virtual``)."""
    le, lm, lq = legs[0], legs[2], legs[3]
    ok, xpx, xpy, xpz, xe, w2 = _gen_scattered(rng, mom, sqrt_s, legs, mass, wmin2)
    if not ok:
        return False
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    ml, mq = mass[lm], mass[lq]
    # axis: photon 1 (beam e- minus scattered e-) in the pair rest frame
    ax, ay, az, q0 = _rest_dir(-mom[le, 0], -mom[le, 1], pbeam - mom[le, 2], e - mom[le, 3],
                               xpx, xpy, xpz, xe)
    w = math.sqrt(w2)
    if virt:
        b = _peak_b_virtual(mom, le, e, pbeam, q0, w2, ml, mq)
    else:
        b = math.sqrt(max(1.0 - (ml + mq) ** 2 / w2, 0.0))
    c = _peak_cos3(rng, b) if virt else _peak_cos(rng, b)
    if virt:
        kap, delta = _azimuth_mod(mom, legs, e, ax, ay, az, c, xpx, xpy, xpz, xe)
        while True:
            phi = _TWO_PI * rng.random()
            if rng.random() * (1.0 + kap) < 1.0 - kap * math.cos(4.0 * phi - delta):
                break
    else:
        phi = _TWO_PI * rng.random()
    _decay_in_frame(mom, lm, lq, ml, mq, xpx, xpy, xpz, xe, c, phi, ax, ay, az)
    return w > 0.0


@kernel
def _dens_scattered(mom, sqrt_s, legs, mass, wmin2) -> float:
    """Density of the scattered e-, e+ of the multiperipheral map (tau, y1, Q1^2, Q2^2, not the
    azimuths) at ``mom`` (0 outside its range)."""
    le, lp, lm, lq = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    y1 = (e - mom[le, 3]) / e
    y2 = (e - mom[lp, 3]) / e
    if y1 <= 0.0 or y2 <= 0.0 or y1 >= 1.0 or y2 >= 1.0:
        return 0.0
    tau = y1 * y2
    tmin = _tau_min(sqrt_s, max(wmin2, (mass[lm] + mass[lq]) ** 2))
    if tau < tmin:
        return 0.0
    g = 1.0 / (tau * tau * (1.0 / tmin - 1.0)) / (-math.log(tau))
    beam = np.empty(4)
    for k in range(2):
        leg = le if k == 0 else lp
        y = y1 if k == 0 else y2
        beam[0] = 0.0
        beam[1] = 0.0
        beam[2] = pbeam if k == 0 else -pbeam
        beam[3] = e
        q2 = 2.0 * onshell_dot(beam, mom[leg], m) - 2.0 * m * m
        q2min, q2max = _q2_limits(e, pbeam, y, m)
        if q2max <= q2min:
            return 0.0
        q2 = min(max(q2, q2min), q2max)
        g /= q2 * math.log(q2max / q2min)
    return g


@kernel
def _jac_peripheral(sqrt_s, mass, lm, lq, w2) -> float:
    """dPhi_4 per dy1 dy2 dQ1^2 dQ2^2 dphi1 dphi2 dOmega* of the pair decay."""
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    ml, mq = mass[lm], mass[lq]
    w = math.sqrt(w2)
    lam = (w2 - (ml + mq) ** 2) * (w2 - (ml - mq) ** 2)
    ps = math.sqrt(max(lam, 0.0)) / (2.0 * w)
    return _INV_2PI8 * (e / (4.0 * pbeam)) ** 2 * ps / (4.0 * w)


@kernel
def _dens_peripheral(mom, sqrt_s, legs, mass, wmin2, virt) -> float:
    """Density of the multiperipheral map at ``mom`` w.r.t. dPhi_4 (0 outside its range)."""
    le, lm, lq = legs[0], legs[2], legs[3]
    g = _dens_scattered(mom, sqrt_s, legs, mass, wmin2)
    if g == 0.0:
        return 0.0
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    xpx = mom[lm, 0] + mom[lq, 0]
    xpy = mom[lm, 1] + mom[lq, 1]
    xpz = mom[lm, 2] + mom[lq, 2]
    xe = mom[lm, 3] + mom[lq, 3]
    ml, mq = mass[lm], mass[lq]
    w2 = _pair_m2(mom, lm, lq, mass)
    if w2 < wmin2 or w2 <= (ml + mq) ** 2:
        return 0.0
    ax, ay, az, q0 = _rest_dir(-mom[le, 0], -mom[le, 1], pbeam - mom[le, 2], e - mom[le, 3],
                               xpx, xpy, xpz, xe)
    dx, dy, dz, _ = _rest_dir(mom[lm, 0], mom[lm, 1], mom[lm, 2], mom[lm, 3], xpx, xpy, xpz, xe)
    c = ax * dx + ay * dy + az * dz
    if virt:
        b = _peak_b_virtual(mom, le, e, pbeam, q0, w2, ml, mq)
        kap, delta = _azimuth_mod(mom, legs, e, ax, ay, az, c, xpx, xpy, xpz, xe)
        sx, sy, _ = rotate_z_to1(dx, dy, dz, -ax, -ay, az)
        g *= ((1.0 - kap * math.cos(4.0 * math.atan2(sy, sx) - delta))
              * _peak_cos3_density(c, b) / (_TWO_PI * _TWO_PI * _TWO_PI))
    else:
        b = math.sqrt(max(1.0 - (ml + mq) ** 2 / w2, 0.0))
        g *= _peak_cos_density(c, b) / (_TWO_PI * _TWO_PI * _TWO_PI)
    return g / _jac_peripheral(sqrt_s, mass, lm, lq, w2)


# ---------------------------------------------------------------------------------------------
# two-pair channel
# ---------------------------------------------------------------------------------------------


@kernel
def _pair_ranges(sqrt_s, mass, legs, wmin2):
    lo1 = max(wmin2, (mass[legs[0]] + mass[legs[1]]) ** 2)
    lo2 = max(wmin2, (mass[legs[2]] + mass[legs[3]]) ** 2)
    hi1 = (sqrt_s - math.sqrt(lo2)) ** 2
    return lo1, hi1, lo2


@kernel
def _pairs_peak(s: float, m12: float, m22: float, pp: float, sqrt_s: float) -> float:
    return 2.0 * sqrt_s * pp / (s - m12 - m22)


@kernel
def _gen_pairs(rng, mom, sqrt_s, legs, mass, wmin2) -> bool:
    lo1, hi1, lo2 = _pair_ranges(sqrt_s, mass, legs, wmin2)
    if hi1 <= lo1:
        return False
    m12 = lo1 * math.exp(math.log(hi1 / lo1) * rng.random())
    m1 = math.sqrt(m12)
    hi2 = (sqrt_s - m1) ** 2
    if hi2 <= lo2:
        return False
    m22 = lo2 * math.exp(math.log(hi2 / lo2) * rng.random())
    m2 = math.sqrt(m22)
    s = sqrt_s * sqrt_s
    lam = (s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)
    pp = math.sqrt(max(lam, 0.0)) / (2.0 * sqrt_s)
    e1 = math.sqrt(pp * pp + m12)
    e2 = math.sqrt(pp * pp + m22)
    # t/u-channel lepton propagators of e+e- -> gamma* gamma*: 1/(a -+ cos) with
    # 1/a = sqrt(lambda)/(s - M1^2 - M2^2) (massless beams)
    c = _peak_cos(rng, _pairs_peak(s, m12, m22, pp, sqrt_s))
    phi = _TWO_PI * rng.random()
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    dx, dy, dz = sn * math.cos(phi), sn * math.sin(phi), c
    for k in range(2):
        sg = 1.0 if k == 0 else -1.0
        xe = e1 if k == 0 else e2
        i, j = legs[2 * k], legs[2 * k + 1]
        cc = 2.0 * rng.random() - 1.0
        _decay_in_frame(mom, i, j, mass[i], mass[j], sg * pp * dx, sg * pp * dy, sg * pp * dz,
                        xe, cc, _TWO_PI * rng.random(), 0.0, 0.0, 1.0)
    return True


@kernel
def _dens_pairs(mom, sqrt_s, legs, mass, wmin2) -> float:
    lo1, hi1, lo2 = _pair_ranges(sqrt_s, mass, legs, wmin2)
    m12 = _pair_m2(mom, legs[0], legs[1], mass)
    m22 = _pair_m2(mom, legs[2], legs[3], mass)
    if m12 < lo1 or m12 > hi1 or m22 < lo2:
        return 0.0
    m1 = math.sqrt(m12)
    m2 = math.sqrt(m22)
    hi2 = (sqrt_s - m1) ** 2
    if m22 > hi2:
        return 0.0
    g = 1.0 / (m12 * math.log(hi1 / lo1) * m22 * math.log(hi2 / lo2))
    s = sqrt_s * sqrt_s
    lam = (s - (m1 + m2) ** 2) * (s - (m1 - m2) ** 2)
    pp = math.sqrt(max(lam, 0.0)) / (2.0 * sqrt_s)
    pz = mom[legs[0], 2] + mom[legs[1], 2]
    c = pz / pp if pp > 0.0 else 0.0
    g *= (_peak_cos_density(min(max(c, -1.0), 1.0), _pairs_peak(s, m12, m22, pp, sqrt_s))
          / _TWO_PI / (4.0 * math.pi) ** 2)
    jac = (_TWO_PI ** -2) * pp / (16.0 * math.pi**2 * sqrt_s)
    for k in range(2):
        i, j = legs[2 * k], legs[2 * k + 1]
        mm2 = m12 if k == 0 else m22
        mm = m1 if k == 0 else m2
        lam = (mm2 - (mass[i] + mass[j]) ** 2) * (mm2 - (mass[i] - mass[j]) ** 2)
        ps = math.sqrt(max(lam, 0.0)) / (2.0 * mm)
        jac *= ps / (16.0 * math.pi**2 * mm)
    return g / jac


# ---------------------------------------------------------------------------------------------
# bremsstrahlung channel: one beam lepton scattered at small |t|, the rest X = P - p_L is the
# other beam lepton and the pair (a virtual photon radiated off it and converted)
# ---------------------------------------------------------------------------------------------


@kernel
def _brems_setup(mom, sqrt_s, legs, mass, wmin2):
    """(y_min, y_max, z sign of the scattered lepton, W^2_lo). M_X^2 = y s + m^2 exactly in
    the c.m. frame (E_L = (1 - y) sqrt(s)/2)."""
    lo = mass[legs[1]] + math.sqrt(max(wmin2, (mass[legs[2]] + mass[legs[3]]) ** 2))
    m = mass[0]
    s = sqrt_s * sqrt_s
    ymin = (lo * lo - m * m) / s
    ymax = 1.0 - 2.0 * m / sqrt_s
    zs = 1.0 if legs[0] % 2 == 0 else -1.0
    return ymin, ymax, zs, max(wmin2, (mass[legs[2]] + mass[legs[3]]) ** 2)


@kernel
def _pair_in_x_frame1(rng, mom, lo_, la, lb, mass, px, w2, mo, ax, ay, az, xpx, xpy, xpz, xe):
    """The pair (la, lb) of mass^2 w2 and the lepton lo_ back to back in the rest frame of X
    (momentum px, pair polar angle peaked about the axis a), boosted with X, pair decayed."""
    c = _peak_cos(rng, px / math.sqrt(px * px + w2))
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    ph = _TWO_PI * rng.random()
    dx, dy, dz = rotate_z_to1(sn * math.cos(ph), sn * math.sin(ph), c, ax, ay, az)
    bx, by, bz = xpx / xe, xpy / xe, xpz / xe
    pw = boost1(px * dx, px * dy, px * dz, math.sqrt(px * px + w2), bx, by, bz)
    po = boost1(-px * dx, -px * dy, -px * dz, math.sqrt(px * px + mo * mo), bx, by, bz)
    _set(mom, lo_, po[0], po[1], po[2], po[3])
    _decay_in_frame(mom, la, lb, mass[la], mass[lb], pw[0], pw[1], pw[2], pw[3],
                    2.0 * rng.random() - 1.0, _TWO_PI * rng.random(), 0.0, 0.0, 1.0)


@kernel
def _gen_brems(rng, mom, sqrt_s, legs, mass, wmin2) -> bool:
    ll, lo_, la, lb = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    ymin, ymax, zs, w2lo = _brems_setup(mom, sqrt_s, legs, mass, wmin2)
    if ymax <= ymin:
        return False
    y = ymin * math.exp(math.log(ymax / ymin) * rng.random())
    q2min, q2max = _q2_limits(e, pbeam, y, m)
    if q2max <= q2min:
        return False
    q2 = q2min * math.exp(math.log(q2max / q2min) * rng.random())
    e2 = e * (1.0 - y)
    p2 = math.sqrt(e2 * e2 - m * m)
    t = min((q2 - q2min) / (2.0 * pbeam * p2), 2.0)
    sn = math.sqrt(max(t * (2.0 - t), 0.0))
    phi = _TWO_PI * rng.random()
    _set(mom, ll, p2 * sn * math.cos(phi), p2 * sn * math.sin(phi), zs * p2 * (1.0 - t), e2)
    xpx, xpy, xpz, xe = -mom[ll, 0], -mom[ll, 1], -mom[ll, 2], sqrt_s - e2
    mx2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    mx = math.sqrt(mx2)
    mo = mass[lo_]
    w2hi = (mx - mo) ** 2
    if w2hi <= w2lo:
        return False
    w2 = w2lo * math.exp(math.log(w2hi / w2lo) * rng.random())
    w = math.sqrt(w2)
    lam = (mx2 - (w + mo) ** 2) * (mx2 - (w - mo) ** 2)
    px = math.sqrt(max(lam, 0.0)) / (2.0 * mx)
    # axis: the other beam in the X rest frame; the pair peaks along it (its propagator)
    ax, ay, az, _ = _rest_dir(0.0, 0.0, -zs * pbeam, e, xpx, xpy, xpz, xe)
    _pair_in_x_frame1(rng, mom, lo_, la, lb, mass, px, w2, mo, ax, ay, az, xpx, xpy, xpz, xe)
    return True


@kernel
def _dens_brems(mom, sqrt_s, legs, mass, wmin2) -> float:
    ll, lo_, la, lb = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    ymin, ymax, zs, w2lo = _brems_setup(mom, sqrt_s, legs, mass, wmin2)
    y = (e - mom[ll, 3]) / e
    if y < ymin or y > ymax:
        return 0.0
    beam = np.empty(4)
    beam[0] = 0.0
    beam[1] = 0.0
    beam[2] = zs * pbeam
    beam[3] = e
    q2 = 2.0 * onshell_dot(beam, mom[ll], m) - 2.0 * m * m
    q2min, q2max = _q2_limits(e, pbeam, y, m)
    if q2max <= q2min:
        return 0.0
    q2 = min(max(q2, q2min), q2max)
    xpx, xpy, xpz, xe = -mom[ll, 0], -mom[ll, 1], -mom[ll, 2], sqrt_s - mom[ll, 3]
    mx2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    mx = math.sqrt(max(mx2, 0.0))
    mo = mass[lo_]
    w2hi = (mx - mo) ** 2
    w2 = _pair_m2(mom, la, lb, mass)
    if w2 < w2lo or w2 > w2hi:
        return 0.0
    w = math.sqrt(w2)
    lam = (mx2 - (w + mo) ** 2) * (mx2 - (w - mo) ** 2)
    px = math.sqrt(max(lam, 0.0)) / (2.0 * mx)
    ax, ay, az, _ = _rest_dir(0.0, 0.0, -zs * pbeam, e, xpx, xpy, xpz, xe)
    dx, dy, dz, _ = _rest_dir(mom[la, 0] + mom[lb, 0], mom[la, 1] + mom[lb, 1],
                              mom[la, 2] + mom[lb, 2], mom[la, 3] + mom[lb, 3],
                              xpx, xpy, xpz, xe)
    c = ax * dx + ay * dy + az * dz
    g = (1.0 / (y * math.log(ymax / ymin)) / (q2 * math.log(q2max / q2min)) / _TWO_PI
         / (w2 * math.log(w2hi / w2lo)) * _peak_cos_density(c, px / math.sqrt(px * px + w2))
         / _TWO_PI / (4.0 * math.pi))
    lam2 = (w2 - (mass[la] + mass[lb]) ** 2) * (w2 - (mass[la] - mass[lb]) ** 2)
    ps = math.sqrt(max(lam2, 0.0)) / (2.0 * w)
    # dPhi_4 = d^3p_L/((2pi)^3 2E_L) dW^2/(2pi) dPhi_2(X; O, W) dPhi_2(W; a, b),
    # d^3p/(2E) = E/(4 p_beam) dy dQ^2 dphi, dPhi_2 = p/(16 pi^2 M) dOmega
    jac = ((2.0 * math.pi) ** -4 * e / (4.0 * pbeam) * px / (16.0 * math.pi**2 * mx)
           * ps / (16.0 * math.pi**2 * w))
    return g / jac


# ---------------------------------------------------------------------------------------------
# final-state-radiation channel: gamma* -> L + O*, the off-shell lepton O* -> O + (a b);
# its propagator 1/(M_X^2 - m_O^2) with X = O + pair sets the peak
# ---------------------------------------------------------------------------------------------


@kernel
def _fsr_ranges(sqrt_s, legs, mass, wmin2):
    """(u_lo, u_hi, W^2_lo) with u = M_X^2 - m_O^2."""
    mo = mass[legs[1]]
    w2lo = max(wmin2, (mass[legs[2]] + mass[legs[3]]) ** 2)
    lo = mo + math.sqrt(w2lo)
    hi = sqrt_s - mass[legs[0]]
    return lo * lo - mo * mo, hi * hi - mo * mo, w2lo


@kernel
def _gen_fsr(rng, mom, sqrt_s, legs, mass, wmin2) -> bool:
    ll, lo_, la, lb = legs[0], legs[1], legs[2], legs[3]
    ulo, uhi, w2lo = _fsr_ranges(sqrt_s, legs, mass, wmin2)
    if uhi <= ulo:
        return False
    mo = mass[lo_]
    ml = mass[ll]
    mx2 = ulo * math.exp(math.log(uhi / ulo) * rng.random()) + mo * mo
    mx = math.sqrt(mx2)
    s = sqrt_s * sqrt_s
    lam = (s - (ml + mx) ** 2) * (s - (ml - mx) ** 2)
    pl = math.sqrt(max(lam, 0.0)) / (2.0 * sqrt_s)
    c = 2.0 * rng.random() - 1.0
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    ph = _TWO_PI * rng.random()
    _set(mom, ll, pl * sn * math.cos(ph), pl * sn * math.sin(ph), pl * c,
         math.sqrt(pl * pl + ml * ml))
    xpx, xpy, xpz = -mom[ll, 0], -mom[ll, 1], -mom[ll, 2]
    xe = sqrt_s - mom[ll, 3]
    w2hi = (mx - mo) ** 2
    if w2hi <= w2lo:
        return False
    w2 = w2lo * math.exp(math.log(w2hi / w2lo) * rng.random())
    lam = (mx2 - (math.sqrt(w2) + mo) ** 2) * (mx2 - (math.sqrt(w2) - mo) ** 2)
    px = math.sqrt(max(lam, 0.0)) / (2.0 * mx)
    # pair direction in the X frame about the X flight direction
    pn = math.sqrt(xpx * xpx + xpy * xpy + xpz * xpz)
    ax, ay, az = (xpx / pn, xpy / pn, xpz / pn) if pn > 0.0 else (0.0, 0.0, 1.0)
    _pair_in_x_frame1(rng, mom, lo_, la, lb, mass, px, w2, mo, ax, ay, az, xpx, xpy, xpz, xe)
    return True


@kernel
def _dens_fsr(mom, sqrt_s, legs, mass, wmin2) -> float:
    ll, lo_, la, lb = legs[0], legs[1], legs[2], legs[3]
    ulo, uhi, w2lo = _fsr_ranges(sqrt_s, legs, mass, wmin2)
    mo = mass[lo_]
    ml = mass[ll]
    xpx, xpy, xpz = -mom[ll, 0], -mom[ll, 1], -mom[ll, 2]
    xe = sqrt_s - mom[ll, 3]
    mx2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    u = mx2 - mo * mo
    if u < ulo or u > uhi:
        return 0.0
    mx = math.sqrt(mx2)
    w2 = _pair_m2(mom, la, lb, mass)
    w2hi = (mx - mo) ** 2
    if w2 < w2lo or w2 > w2hi:
        return 0.0
    w = math.sqrt(w2)
    s = sqrt_s * sqrt_s
    lam = (s - (ml + mx) ** 2) * (s - (ml - mx) ** 2)
    pl = math.sqrt(max(lam, 0.0)) / (2.0 * sqrt_s)
    lam = (mx2 - (w + mo) ** 2) * (mx2 - (w - mo) ** 2)
    px = math.sqrt(max(lam, 0.0)) / (2.0 * mx)
    pn = math.sqrt(xpx * xpx + xpy * xpy + xpz * xpz)
    ax, ay, az = (xpx / pn, xpy / pn, xpz / pn) if pn > 0.0 else (0.0, 0.0, 1.0)
    dx, dy, dz, _ = _rest_dir(mom[la, 0] + mom[lb, 0], mom[la, 1] + mom[lb, 1],
                              mom[la, 2] + mom[lb, 2], mom[la, 3] + mom[lb, 3],
                              xpx, xpy, xpz, xe)
    c = ax * dx + ay * dy + az * dz
    g = (1.0 / (u * math.log(uhi / ulo)) / (4.0 * math.pi)
         / (w2 * math.log(w2hi / w2lo)) * _peak_cos_density(c, px / math.sqrt(px * px + w2))
         / _TWO_PI / (4.0 * math.pi))
    lam2 = (w2 - (mass[la] + mass[lb]) ** 2) * (w2 - (mass[la] - mass[lb]) ** 2)
    ps = math.sqrt(max(lam2, 0.0)) / (2.0 * w)
    # dPhi_4 = dPhi_2(s; L, X) dM_X^2/(2pi) dW^2/(2pi) dPhi_2(X; O, W) dPhi_2(W; a, b)
    jac = (pl / (16.0 * math.pi**2 * sqrt_s) * _TWO_PI ** -2 * px / (16.0 * math.pi**2 * mx)
           * ps / (16.0 * math.pi**2 * w))
    return g / jac


# ---------------------------------------------------------------------------------------------
# target channel (module docstring): the multiperipheral map in ln y1, ln y2, ln Q1^2, ln Q2^2,
# phi2 - phi1 and the pair decay direction in the band of the momentum cut, every unit
# variable through a VEGAS grid adapted in the pilot to the points that pass the cuts
# ---------------------------------------------------------------------------------------------


@kernel
def _target_y_range(sqrt_s, legs, mass, wmin2):
    """(tau_min, y_lo, y_hi): y up to 1 - 2 m/E keeps the scattered lepton's energy above 2 m."""
    tmin = _tau_min(sqrt_s, max(wmin2, (mass[legs[2]] + mass[legs[3]]) ** 2))
    return tmin, tmin, 1.0 - 4.0 * mass[0] / sqrt_s


@kernel
def _band(sqrt_s, mass, lm, lq, w2, xpx, xpy, xpz, xe, coll, emin):
    """(axis h, x_m) of the muon band in the pair rest frame (reached from the c.m. frame by a
    pure boost): the lab energies of the pair leptons are E* U0 -+ p* |U| (d.h), U the lab
    frame's four-velocity there, so both reach ``emin`` iff |d.h| <= x_m (x_m <= 0: never;
    clipped at 1). ``coll``: (bx, by, bz, nx, ny, nz) of the collision (gen.beams)."""
    # lab observer in the c.m. frame: boost by -b, then undo the rotation z -> n
    gam = 1.0 / math.sqrt(1.0 - coll[0] ** 2 - coll[1] ** 2 - coll[2] ** 2)
    vx, vy, vz = rotate_z_to1(-gam * coll[0], -gam * coll[1], -gam * coll[2],
                              -coll[3], -coll[4], coll[5])
    r = boost1(vx, vy, vz, gam, -xpx / xe, -xpy / xe, -xpz / xe)
    un = math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2])
    w = math.sqrt(w2)
    ml = mass[lm]
    lam = (w2 - (ml + mass[lq]) ** 2) * (w2 - (ml - mass[lq]) ** 2)
    ps = math.sqrt(max(lam, 0.0)) / (2.0 * w)
    if un * ps <= 0.0:
        return 0.0, 0.0, 1.0, 1.0 if math.sqrt(ps * ps + ml * ml) * r[3] >= emin else 0.0
    x_m = (math.sqrt(ps * ps + ml * ml) * r[3] - emin) / (ps * un)
    return r[0] / un, r[1] / un, r[2] / un, min(x_m, 1.0)


@kernel
def _gen_target(rng, mom, sqrt_s, legs, mass, wmin2, edges, coll, emin) -> bool:
    le, lp, lm, lq = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    tmin, ylo, yhi = _target_y_range(sqrt_s, legs, mass, wmin2)
    if tmin >= 1.0 or ylo >= yhi:
        return False
    u, _, _ = grid_map1(edges, 0, rng.random())
    y1 = ylo * math.exp(math.log(yhi / ylo) * u)
    lo2 = tmin / y1
    if lo2 >= yhi:
        return False
    u, _, _ = grid_map1(edges, 1, rng.random())
    y2 = lo2 * math.exp(math.log(yhi / lo2) * u)
    phi1 = _TWO_PI * rng.random()
    for k in range(2):
        y = y1 if k == 0 else y2
        q2min, q2max = _q2_limits(e, pbeam, y, m)
        if q2max <= q2min:
            return False
        u, _, _ = grid_map1(edges, 2 + k, rng.random())
        q2 = q2min * math.exp(math.log(q2max / q2min) * u)
        e2 = e * (1.0 - y)
        p2 = math.sqrt(e2 * e2 - m * m)
        t = min((q2 - q2min) / (2.0 * pbeam * p2), 2.0)
        sn = math.sqrt(max(t * (2.0 - t), 0.0))
        if k == 0:
            phi = phi1
        else:
            u, _, _ = grid_map1(edges, 4, rng.random())
            phi = phi1 + _TWO_PI * u
        zs = 1.0 if k == 0 else -1.0
        _set(mom, le if k == 0 else lp, p2 * sn * math.cos(phi), p2 * sn * math.sin(phi),
             zs * p2 * (1.0 - t), e2)
    xpx = -mom[le, 0] - mom[lp, 0]
    xpy = -mom[le, 1] - mom[lp, 1]
    xpz = -mom[le, 2] - mom[lp, 2]
    xe = sqrt_s - mom[le, 3] - mom[lp, 3]
    w2 = xe * xe - xpx * xpx - xpy * xpy - xpz * xpz
    ml, mq = mass[lm], mass[lq]
    if w2 <= (ml + mq) ** 2 or w2 < wmin2:
        return False
    ux, uy, uz, x_m = _band(sqrt_s, mass, lm, lq, w2, xpx, xpy, xpz, xe, coll, emin)
    if x_m <= 0.0:
        return False
    u, _, _ = grid_map1(edges, 5, rng.random())
    c = x_m * (2.0 * u - 1.0)
    u, _, _ = grid_map1(edges, 6, rng.random())
    _decay_in_frame(mom, lm, lq, ml, mq, xpx, xpy, xpz, xe, c, _TWO_PI * u, ux, uy, uz)
    return True


@kernel
def _dens_target(mom, sqrt_s, legs, mass, wmin2, edges, units, coll, emin) -> float:
    """Density of the target map w.r.t. dPhi_4; its unit variables to ``units``."""
    le, lp, lm, lq = legs[0], legs[1], legs[2], legs[3]
    m = mass[0]
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - m * m)
    tmin, ylo, yhi = _target_y_range(sqrt_s, legs, mass, wmin2)
    y1 = (e - mom[le, 3]) / e
    y2 = (e - mom[lp, 3]) / e
    if tmin >= 1.0 or y1 < ylo or y1 > yhi:
        return 0.0
    lo2 = tmin / y1
    if y2 < lo2 or y2 > yhi:
        return 0.0
    units[0] = math.log(y1 / ylo) / math.log(yhi / ylo)
    units[1] = math.log(y2 / lo2) / math.log(yhi / lo2)
    g = (grid_locate1(edges, 0, units[0])[1] / (y1 * math.log(yhi / ylo))
         * grid_locate1(edges, 1, units[1])[1] / (y2 * math.log(yhi / lo2)))
    beam = np.empty(4)
    for k in range(2):
        leg = le if k == 0 else lp
        y = y1 if k == 0 else y2
        beam[0] = 0.0
        beam[1] = 0.0
        beam[2] = pbeam if k == 0 else -pbeam
        beam[3] = e
        q2 = 2.0 * onshell_dot(beam, mom[leg], m) - 2.0 * m * m
        q2min, q2max = _q2_limits(e, pbeam, y, m)
        if q2max <= q2min:
            return 0.0
        q2 = min(max(q2, q2min), q2max)
        units[2 + k] = min(max(math.log(q2 / q2min) / math.log(q2max / q2min), 0.0), 1.0)
        g *= grid_locate1(edges, 2 + k, units[2 + k])[1] / (q2 * math.log(q2max / q2min))
    dphi = (math.atan2(mom[lp, 1], mom[lp, 0]) - math.atan2(mom[le, 1], mom[le, 0])) % _TWO_PI
    units[4] = min(dphi / _TWO_PI, 1.0)
    g *= grid_locate1(edges, 4, units[4])[1] / (_TWO_PI * _TWO_PI)
    xpx = mom[lm, 0] + mom[lq, 0]
    xpy = mom[lm, 1] + mom[lq, 1]
    xpz = mom[lm, 2] + mom[lq, 2]
    xe = mom[lm, 3] + mom[lq, 3]
    ml, mq = mass[lm], mass[lq]
    w2 = _pair_m2(mom, lm, lq, mass)
    if w2 < wmin2 or w2 <= (ml + mq) ** 2:
        return 0.0
    w = math.sqrt(w2)
    ux, uy, uz, x_m = _band(sqrt_s, mass, lm, lq, w2, xpx, xpy, xpz, xe, coll, emin)
    dx, dy, dz, _ = _rest_dir(mom[lm, 0], mom[lm, 1], mom[lm, 2], mom[lm, 3], xpx, xpy, xpz, xe)
    c = ux * dx + uy * dy + uz * dz
    if x_m <= 0.0 or abs(c) > x_m:
        return 0.0
    units[5] = min(max(0.5 * (c / x_m + 1.0), 0.0), 1.0)
    # azimuth about the axis: undo rotate_z_to1 (rotation about -k by the same angle)
    sx, sy, _ = rotate_z_to1(dx, dy, dz, -ux, -uy, uz)
    units[6] = min((math.atan2(sy, sx) % _TWO_PI) / _TWO_PI, 1.0)
    g *= (grid_locate1(edges, 5, units[5])[1] / (2.0 * x_m) * grid_locate1(edges, 6, units[6])[1]
          / _TWO_PI)
    lam = (w2 - (ml + mq) ** 2) * (w2 - (ml - mq) ** 2)
    ps = math.sqrt(max(lam, 0.0)) / (2.0 * w)
    # the measure of _dens_peripheral: dPhi_4 in y1, y2, Q1^2, Q2^2, phi1, phi2, Omega*
    jac = _INV_2PI8 * (e / (4.0 * pbeam)) ** 2 * ps / (4.0 * w)
    return g / jac


# ---------------------------------------------------------------------------------------------
# one trial
# ---------------------------------------------------------------------------------------------


@kernel
def _dens_all(mom, sqrt_s, kinds, chlegs, alpha, mass, wmin2, edges, units, coll, par,
              dens) -> float:
    tot = 0.0
    for k in range(kinds.shape[0]):
        if kinds[k] == CH_PERIPHERAL:
            d = _dens_peripheral(mom, sqrt_s, chlegs[k], mass, wmin2, par[P_VPEAK] > 0.5)
        elif kinds[k] == CH_BREMS:
            d = _dens_brems(mom, sqrt_s, chlegs[k], mass, wmin2)
        elif kinds[k] == CH_FSR:
            d = _dens_fsr(mom, sqrt_s, chlegs[k], mass, wmin2)
        elif kinds[k] == CH_TARGET:
            d = _dens_target(mom, sqrt_s, chlegs[k], mass, wmin2, edges[k], units[k], coll,
                             par[P_BAND_EMIN])
        else:
            d = _dens_pairs(mom, sqrt_s, chlegs[k], mass, wmin2)
        dens[k] = d
        tot += alpha[k] * d
    return tot


@kernel
def _passes_w(mom, mass, pdg, wmin2, mp_only) -> bool:
    """Every opposite-charge same-flavour final pair above w_min (module docstring); only the
    two-photon pair (legs 4, 5) for the multiperipheral diagrams alone."""
    if mp_only:
        return _pair_m2(mom, 4, 5, mass) >= wmin2
    for i in (2, 4):
        for j in (3, 5):
            if pdg[i] == -pdg[j] and _pair_m2(mom, i, j, mass) < wmin2:
                return False
    return True


@kernel
def _passes_mu_pair(cpar, mupairs, lab) -> bool:
    """Muon-pair cuts of gen.processes.mumu (as in eemumu.toml) on any mu-/mu+ pair (legs)."""
    for k in range(mupairs.shape[0]):
        a, b = mupairs[k, 0], mupairs[k, 1]
        if muon_pair_cuts1(cpar, lab[a, 0], lab[a, 1], lab[a, 2], lab[a, 3],
                           lab[b, 0], lab[b, 1], lab[b, 2], lab[b, 3]):
            return True
    return False


@kernel
def _trial(rng, par, kinds, chlegs, alpha, cum, mass, sgn, pdg, left, right, pairs, psign,
           incl, cpar, mupairs, edges, mom, lab, dens, units, amp):
    """One trial point: (weight pb, channel, sqrt_s); momenta in ``mom`` (c.m.), ``lab``."""
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
        rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF])
    wmin2 = par[P_WMIN] ** 2
    coll = np.empty(6)
    coll[0], coll[1], coll[2], coll[3], coll[4], coll[5] = bx, by, bz, nx, ny, nz
    u = rng.random()
    ch = 0
    while ch < kinds.shape[0] - 1 and u >= cum[ch + 1]:
        ch += 1
    e = 0.5 * sqrt_s
    pbeam = math.sqrt(e * e - mass[0] * mass[0])
    _set(mom, 0, 0.0, 0.0, pbeam, e)
    _set(mom, 1, 0.0, 0.0, -pbeam, e)
    if kinds[ch] == CH_PERIPHERAL:
        ok = _gen_peripheral(rng, mom, sqrt_s, chlegs[ch], mass, wmin2, par[P_VPEAK] > 0.5)
    elif kinds[ch] == CH_BREMS:
        ok = _gen_brems(rng, mom, sqrt_s, chlegs[ch], mass, wmin2)
    elif kinds[ch] == CH_FSR:
        ok = _gen_fsr(rng, mom, sqrt_s, chlegs[ch], mass, wmin2)
    elif kinds[ch] == CH_TARGET:
        ok = _gen_target(rng, mom, sqrt_s, chlegs[ch], mass, wmin2, edges[ch], coll,
                         par[P_BAND_EMIN])
    else:
        ok = _gen_pairs(rng, mom, sqrt_s, chlegs[ch], mass, wmin2)
    if not ok or not _passes_w(mom, mass, pdg, wmin2, par[P_MPONLY] > 0.5):
        return 0.0, ch, sqrt_s
    # lab frame and the acceptance cut
    n_in = 0
    for r in range(2, 6):
        v = cm_to_lab1(mom[r, 0], mom[r, 1], mom[r, 2], mom[r, 3], bx, by, bz, nx, ny, nz)
        for c in range(4):
            lab[r, c] = v[c]
        p = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        if p > par[P_PMIN] and p > 0.0 and par[P_CLO] <= v[2] / p <= par[P_CHI]:
            n_in += 1
    if n_in < par[P_NMIN]:
        return 0.0, ch, sqrt_s
    if mupairs.shape[0] > 0 and not _passes_mu_pair(cpar, mupairs, lab):
        return 0.0, ch, sqrt_s
    g = _dens_all(mom, sqrt_s, kinds, chlegs, alpha, mass, wmin2, edges, units, coll, par,
                  dens)
    if not g > 0.0:
        return 0.0, ch, sqrt_s
    me2 = me2_summed(mom, mass, sgn, left, right, pairs, psign, incl, amp)
    s = sqrt_s * sqrt_s
    w = GEV2_TO_PB * par[P_SYM] * 0.25 * me2 / (2.0 * s) / g
    return w, ch, sqrt_s


@kernel
def _weights(rng, par, kinds, chlegs, alpha, mass, sgn, pdg, left, right, pairs, psign, incl,
             cpar, mupairs, edges, n, ratio, uout):
    """Weights of n trials; ratio[i, k] = g_k / g (for the channel-share update)."""
    cum = np.zeros(kinds.shape[0] + 1)
    for k in range(kinds.shape[0]):
        cum[k + 1] = cum[k] + alpha[k]
    mom = np.zeros((6, 4))
    lab = np.zeros((6, 4))
    dens = np.zeros(kinds.shape[0])
    units = np.zeros((kinds.shape[0], N_UNITS))
    amp = np.zeros(64, np.complex128)
    out = np.empty(n)
    for i in range(n):
        w, _, sqrt_s = _trial(rng, par, kinds, chlegs, alpha, cum, mass, sgn, pdg, left, right,
                              pairs, psign, incl, cpar, mupairs, edges, mom, lab, dens, units, amp)
        out[i] = w
        if w > 0.0:
            g = 0.0
            for k in range(kinds.shape[0]):
                g += alpha[k] * dens[k]
            for k in range(kinds.shape[0]):
                ratio[i, k] = dens[k] / g
                if kinds[k] == CH_TARGET:
                    for d in range(N_UNITS):
                        uout[i, k, d] = units[k, d]
        else:
            for k in range(kinds.shape[0]):
                ratio[i, k] = 0.0
    return out


@kernel
def _put(out_i, out_f, r, pdg, status, v):
    out_i[r, 0] = pdg
    out_i[r, 1] = status
    out_i[r, 2] = -1
    for j in range(4):
        out_f[r, j] = v[j]
    for j in range(4, 8):
        out_f[r, j] = 0.0


@kernel
def _generate(rng, par, kinds, chlegs, alpha, mass, sgn, pdg, left, right, pairs, psign, incl,
              cpar, mupairs, edges, n, w_max, tables, max_rows, partial):
    """``n`` events by hit-or-miss against ``w_max``; ``partial``: ``w_max`` is the threshold
    of partial unweighting and an event keeps the raw weight max(1, w / w_max) (nothing is
    truncated, so no trial counts as overweight), else every event has weight 1."""
    cum = np.zeros(kinds.shape[0] + 1)
    for k in range(kinds.shape[0]):
        cum[k + 1] = cum[k] + alpha[k]
    mom = np.zeros((6, 4))
    lab = np.zeros((6, 4))
    dens = np.zeros(kinds.shape[0])
    units = np.zeros((kinds.shape[0], N_UNITS))
    amp = np.zeros(64, np.complex128)
    out_i = np.empty((max_rows * n, 3), np.int64)
    out_f = np.empty((max_rows * n, 8))
    offset = np.zeros(n + 1, np.int64)
    t_s = np.empty(n)
    t_wa = np.empty(n)
    t_wb = np.empty(n)
    t_ch = np.empty(n, np.int32)
    raw = np.ones(n)
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    k = 0
    pos = 0
    while k < n:
        w, ch, sqrt_s = _trial(rng, par, kinds, chlegs, alpha, cum, mass, sgn, pdg, left, right,
                               pairs, psign, incl, cpar, mupairs, edges, mom, lab, dens, units, amp)
        n_trials += 1
        sum_w += w
        sum_w2 += w * w
        if w > w_max and not partial:
            n_over += 1
        if w > 0.0 and rng.random() * w_max < w:
            if partial and w > w_max:
                raw[k] = w / w_max
            base = pos
            for r in range(2, 6):
                st = DECAYED if abs(pdg[r]) == 15 else FINAL
                _put(out_i, out_f, pos, pdg[r], st, lab[r])
                pos += 1
            for r in range(4):
                if abs(out_i[base + r, 0]) == 15:
                    pos, _ = decay_tau1(rng, tables, base + r, base, out_i, out_f, pos)
            t_s[k] = sqrt_s
            t_wa[k] = math.sqrt(max(_pair_m2(mom, 2, 3, mass), 0.0))
            t_wb[k] = math.sqrt(max(_pair_m2(mom, 4, 5, mass), 0.0))
            t_ch[k] = ch
            k += 1
            offset[k] = pos
    return (out_i[:pos], out_f[:pos], offset, t_s, t_wa, t_wb, t_ch, raw, n_trials, sum_w,
            sum_w2, n_over)


#: muon-pair cuts: the keys and meaning of eemumu.toml's [cuts] (gen.processes.mumu
#: MUON_PAIR_CUTS, the missing momentum P_beams(nominal) - p_mu- - p_mu+), but off by default;
#: passed if any mu- mu+ combination passes (eemumu, mumumumu, mumutautau)
MU_PAIR_CUTS: dict[str, Param] = {
    "mu_theta_min_deg": Param(
        float, 0.0, "minimum lab polar angle of both muons of the pair (deg); 0 = off",
        minimum=0.0, maximum=180.0,
    ),
    "mu_theta_max_deg": Param(
        float, 180.0, "maximum lab polar angle of both muons of the pair (deg); 180 = off",
        minimum=0.0, maximum=180.0,
    ),
    "mu_p_min_gev": Param(
        float, 0.0, "minimum lab momentum of both muons of the pair (GeV); 0 = off",
        minimum=0.0,
    ),
    "pmiss_cm_min_gev": Param(
        float, 0.0, "minimum |P_beams - p_mu- - p_mu+| in the nominal c.m. frame (GeV); 0 = off",
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


def efficiency_threshold(w: np.ndarray, efficiency: float) -> float:
    """Threshold t with mean(min(1, w/t)) = ``efficiency`` over the trial weights ``w`` (zeros
    included): the expected fraction of trials that partial unweighting keeps. Above the
    fraction of non-zero weights every such trial is kept: t = the smallest positive weight."""
    pos = w[w > 0.0]
    if efficiency >= pos.size / w.size:
        return float(pos.min())
    ws = np.sort(pos)[::-1]
    s_k = np.concatenate(([0.0], np.cumsum(ws)))  # sum of the k largest weights
    # with the k largest weights at or above t: k + (S_tot - S_k)/t = efficiency N, valid if
    # ws[k] <= t <= ws[k-1] (the mean is continuous and decreasing in t)
    k = np.arange(ws.size)
    with np.errstate(divide="ignore"):
        t = (s_k[-1] - s_k[:-1]) / (efficiency * w.size - k)
    hi = np.concatenate(([np.inf], ws[:-1]))
    # the segment whose solution lies inside it (smallest violation: robust to rounding at
    # the edges and to tied weights)
    miss = np.where(efficiency * w.size > k, np.maximum(ws - t, t - hi), np.inf)
    j = int(np.argmin(miss))
    return float(min(max(t[j], ws[j]), hi[j]))


def updated_shares(alpha: np.ndarray, pool: list[tuple[np.ndarray, np.ndarray]], n: int,
                   steps: int, power: float = ALPHA_POWER) -> np.ndarray:
    """Channel shares after ``steps`` fixed-point updates alpha_k <- alpha_k E[w^p g_k/g]^(1/p)
    (Kleiss & Pittau, Comput. Phys. Commun. 83 (1994) 141, eq. for the variance, p = 2; a
    stationary point of E[w^(p-1)] for any p), floored at ``ALPHA_FLOOR`` / n_channels.

    ``pool``: (nonzero weights, g_k/g at those points) of pilot batches of ``n`` trials in all,
    each sampled with its own shares; under the shares a the weights are w_a = w / r with
    r = sum_k a_k (g_k/g) and E_a[w_a^p g_k/g_a] = E[w_a^p g_k/g] (the factor r cancels), so
    every batch contributes exactly (importance reweighting)."""
    a = alpha.copy()
    for _ in range(steps):
        xs = [w / (ratio @ a) for w, ratio in pool]
        top = max(float(x.max()) for x in xs)
        if not top > 0.0:
            break
        # scaled by the largest weight: w^p stays finite for any cross section
        wk = sum(((x / top) ** power) @ ratio for x, (_, ratio) in zip(xs, pool, strict=True))
        b = a * (wk / n) ** (1.0 / power)
        if not b.sum() > 0.0:
            break
        b = np.maximum(b / b.sum(), ALPHA_FLOOR / b.size)
        a = b / b.sum()
    return a


def pooled_excess_quantile(alpha: np.ndarray, pool: list[tuple[np.ndarray, np.ndarray]],
                           fraction: float, last_only: bool = False) -> float:
    """``excess_quantile`` of the weights under the shares ``alpha`` from every batch of
    ``pool`` (as in ``updated_shares``): the smallest t with E_alpha[max(w_a - t, 0)] <=
    ``fraction`` x E[w]; per batch E_alpha[max(w_a - t, 0)] = E[max(w - t r, 0)], so with the
    points sorted by w_a = w / r, t = max_k (S_k - fraction W) / R_k (S_k, R_k: sums of w and r
    over the k largest w_a; as excess_quantile, where r = 1). ``last_only``: the last batch,
    sampled with ``alpha`` itself (r = 1: excess_quantile exactly)."""
    if last_only:
        return excess_quantile(pool[-1][0], fraction)
    w = np.concatenate([b[0] for b in pool])
    r = np.concatenate([b[1] @ alpha for b in pool])
    order = np.argsort(w / r)[::-1]
    s_k = np.cumsum(w[order])
    r_k = np.cumsum(r[order])
    return float(max(np.max((s_k - fraction * s_k[-1]) / r_k), 0.0))


def mu_pair_legs(final_state: str) -> np.ndarray:
    """(k, 2) legs (mu-, mu+) of every muon pair of the final state (legs_setup order)."""
    pdg = legs_setup(final_state)[2]
    out = [(i, j) for i in (2, 4) for j in (3, 5) if pdg[i] == MUON and pdg[j] == -MUON]
    return np.array(out, np.int64).reshape(-1, 2)


class FourLepton(Process):
    """e+e- -> l+l- l'+l'- at QED tree level, all diagrams, masses kept."""

    name = "four_lepton"
    description = ("e+e- -> four leptons (eeee, eemumu, eetautau, mumumumu, mumutautau): exact "
                   "tree-level QED, all diagrams, helicity amplitudes, multi-channel sampling")
    params = {
        "final_state": Param(
            str, "eemumu", "four-lepton final state",
            choices=tuple(FINAL_STATES),
        ),
        "w_min_gev": Param(
            float, 0.5,
            "minimum invariant mass of every opposite-charge same-flavour final-state lepton "
            "pair (GeV); 0.5 is the Belle II Physics Book (arXiv:1808.10567) W_ll cut",
            minimum=0.0, exclusive_minimum=True,
        ),
        "diagrams": Param(
            str, "all",
            "'all': every tree-level diagram; 'multiperipheral': only the two two-photon "
            "diagrams of the labelled e-(beam)->l_a-, e+(beam)->l_a+ lines (AAFH-like, "
            "no identical-particle symmetrisation, W cut on the l_b pair only): a diagnostic",
            choices=("all", "multiperipheral"),
        ),
        "adaptive": Param(
            bool, True,
            "with muon-pair cuts: add the target channels (multiperipheral map on a VEGAS grid "
            "adapted in the pilot to the cuts); false = the channels of the uncut process only "
            "(same cross section and distributions, far more trials: a check)",
        ),
        "target_efficiency": Param(
            float, 0.0,
            "partial unweighting (weighted events): the pilot sets the threshold w_thr so "
            "that this fraction of the trials become events (accepted with probability "
            "min(1, w/w_thr), weight max(1, w/w_thr), normalised to mean 1 per block); "
            "0 = unweighted events (weight 1)",
            minimum=0.0, maximum=1.0,
        ),
    }
    cuts = {
        "min_charged": Param(
            int, 0,
            "minimum number of final-state leptons (taus before decay) in the lab polar-angle "
            "window with momentum above charged_p_min_gev; 0 = off",
            minimum=0, maximum=4,
        ),
        "charged_theta_min_deg": Param(
            float, 17.0, "lower edge of the lab polar-angle window (deg; CDC acceptance 17-150 "
            "deg, Belle II TDR arXiv:1011.0352 sec. 6)", minimum=0.0, maximum=180.0,
        ),
        "charged_theta_max_deg": Param(
            float, 150.0, "upper edge of the lab polar-angle window (deg)",
            minimum=0.0, maximum=180.0,
        ),
        "charged_p_min_gev": Param(
            float, 0.0, "minimum lab momentum of a counted lepton (GeV)", minimum=0.0,
        ),
        **MU_PAIR_CUTS,
    }

    def __init__(self, params: dict, cuts: dict, beams) -> None:
        super().__init__(params, cuts, beams)
        fs = params["final_state"]
        (self._mass, self._sgn, self._pdg, self._left, self._right, self._pairs,
         self._psign) = legs_setup(fs)
        self._incl = np.ones((self._pairs.shape[0], 3), bool)
        self._mp_only = params.get("diagrams", "all") == "multiperipheral"
        if self._mp_only:
            # identity pairing (first permutation): e- line, e+ line, l_b line in the middle
            self._incl[:] = False
            self._incl[0, 2] = True
        self._kinds, self._chlegs, self.alpha = channels_setup(fs)
        per = self._kinds == CH_PERIPHERAL
        if self.mu_pair_cuts_on() and np.any(per) and params.get("adaptive", True):
            # one target channel per multiperipheral labelling (module docstring)
            n_t = int(per.sum())
            self._kinds = np.concatenate((self._kinds, np.full(n_t, CH_TARGET)))
            self._chlegs = np.concatenate((self._chlegs, self._chlegs[per]))
            self.alpha = np.concatenate((self.alpha * (1.0 - TARGET_SHARE),
                                         np.full(n_t, TARGET_SHARE / n_t)))
        self.edges = np.tile(np.linspace(0.0, 1.0, N_TBINS + 1),
                             (self._kinds.size, N_TDIM, 1))
        self.tables, _ = tau_tables(None)
        self.weighted = params.get("target_efficiency", 0.0) > 0.0
        has_tau = TAU in FINAL_STATES[fs][:2]
        self.max_rows = 4 + (2 * (max_tree_rows() - 1) if has_tau else 0)

    def validate(self, where: str) -> None:
        c = self.c
        p_min = c["charged_p_min_gev"]
        check_momentum_reachable(p_min, "cuts.charged_p_min_gev", self.beams, where)
        check(
            c["charged_theta_min_deg"] < c["charged_theta_max_deg"],
            f"{where}: cuts.charged_theta_min_deg ({c['charged_theta_min_deg']}) must be below "
            f"cuts.charged_theta_max_deg ({c['charged_theta_max_deg']})",
        )
        pa, pb, _ = FINAL_STATES[self.p["final_state"]]
        check(
            not self._mp_only or pa == ELECTRON,
            f"{where}: process.diagrams = 'multiperipheral' needs an e+e- pair in the final "
            f"state (eeee, eemumu, eetautau), not {self.p['final_state']!r}",
        )
        if self.mu_pair_cuts_on():
            check(
                mu_pair_legs(self.p["final_state"]).shape[0] > 0,
                f"{where}: cuts.mu_* / cuts.pmiss_* need a muon pair in the final state "
                f"(eemumu, mumumumu, mumutautau), not {self.p['final_state']!r}",
            )
            validate_muon_pair_cuts(c, self.beams, where)
        thr = 2.0 * (_MASS[pa] + _MASS[pb])
        check(
            self.beams.sqrt_s_gev > thr + 2.0 * self.p["w_min_gev"] - 2.0 * _MASS[pa],
            f"{where}: process.w_min_gev ({self.p['w_min_gev']}) leaves no phase space at "
            f"sqrt(s) = {self.beams.sqrt_s_gev:.3f} GeV",
        )

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        par[P_EHER:P_HALF + 1] = self.beams.as_tuple()
        par[P_WMIN] = self.p["w_min_gev"]
        c = self.c
        par[P_NMIN] = float(c["min_charged"])
        lo, hi = c["charged_theta_min_deg"], c["charged_theta_max_deg"]
        par[P_CLO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
        par[P_CHI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
        par[P_PMIN] = c["charged_p_min_gev"]
        par[P_SYM] = 1.0 if self._mp_only else FINAL_STATES[self.p["final_state"]][2]
        par[P_MPONLY] = float(self._mp_only)
        # e+e- pairs only (eeee: the massless-lepton helicity structure of _azimuth_mod;
        # measured on the eemumu card: efficiency 3.97 -> 1.51 %, so muon / tau pairs and the
        # search cards keep the former map and their events)
        par[P_VPEAK] = float(not np.any(self._kinds == CH_TARGET)
                             and FINAL_STATES[self.p["final_state"]][1] == ELECTRON)
        t = np.flatnonzero(self._kinds == CH_TARGET)
        if t.size and abs(self._pdg[self._chlegs[t[0], 2]]) == MUON:
            par[P_BAND_EMIN] = math.hypot(self.c["mu_p_min_gev"], M_MU)
        return par

    def mu_pair_cuts_on(self) -> bool:
        """True if any muon-pair cut differs from its 'off' default."""
        return any(self.c[k] != v.default for k, v in MU_PAIR_CUTS.items())

    def _cpar(self) -> tuple[np.ndarray, np.ndarray]:
        """Muon-pair cut parameters (gen.processes.mumu layout) and the pair legs (none: off)."""
        cpar = np.zeros(N_CPAR)
        if not self.mu_pair_cuts_on():
            return cpar, np.zeros((0, 2), np.int64)
        fill_common_par(cpar, self.c, self.beams)
        return cpar, mu_pair_legs(self.p["final_state"])

    def _args(self) -> tuple:
        return (self._par(), self._kinds, self._chlegs, self.alpha, self._mass, self._sgn,
                self._pdg, self._left, self._right, self._pairs, self._psign, self._incl,
                *self._cpar(), self.edges)

    def weights_and_ratios(self, rng: np.random.Generator, n: int,
                           units: bool = False) -> tuple[np.ndarray, ...]:
        """Weights (pb) of n trials and g_k/g of every channel at each point (and, with
        ``units``, the target channels' unit variables, (n, channels, N_UNITS))."""
        ratio = np.zeros((n, self._kinds.size))
        # the kernel writes units only for target channels
        shape = (n, self._kinds.size) if np.any(self._kinds == CH_TARGET) else (1, 1)
        uout = np.zeros((*shape, N_UNITS))
        w = _weights(rng, *self._args(), n, ratio, uout)
        return (w, ratio, uout) if units else (w, ratio)

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.weights_and_ratios(rng, n)[0]

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot: channel-share updates (``updated_shares``; ``ALPHA_ITERATIONS`` batches, with
        target channels ``TARGET_ITERATIONS`` that also refine their grids) on equal batches
        of ``points``, then w_max from every batch reweighted to the final shares (with
        target channels: the last batch)."""
        target = np.flatnonzero(self._kinds == CH_TARGET)
        iterations = TARGET_ITERATIONS if target.size else ALPHA_ITERATIONS
        batch = max(points // (iterations + 1), 1000)
        pool: list[tuple[np.ndarray, np.ndarray]] = []  # nonzero (w, g_k/g) of the batches
        for _ in range(iterations):
            w, ratio, units = self.weights_and_ratios(rng, batch, units=True)
            self._check_pilot(w)
            ok = w > 0.0
            if not np.any(ok):
                break
            for k in target:
                self.edges[k] = self._refined(self.edges[k], w, ratio[:, k], units[:, k])
            # with target channels the grids change: only this batch describes the densities
            pool = [*pool, (w[ok], ratio[ok])] if not target.size else [(w[ok], ratio[ok])]
            # with target channels: Kleiss-Pittau's variance (p = 2), one step, as before (the
            # grids are refined on the same batch; p = 8 moved ~10 % of the trials from the
            # target channels to a bremsstrahlung channel, not studied further)
            if target.size:
                a = self.alpha * np.sqrt((w * w) @ ratio / w.size)
                a = np.maximum(a / a.sum(), ALPHA_FLOOR / a.size)
                self.alpha = a / a.sum()
            else:
                self.alpha = updated_shares(self.alpha, pool, batch * len(pool), ALPHA_STEPS)
        w, ratio = self.weights_and_ratios(rng, batch)
        self._check_pilot(w)
        if not np.any(w > 0.0):
            raise CardError(f"process {self.name!r}: no accepted phase-space point in "
                             f"{w.size} pilot trials; loosen the generator-level cuts")
        ok = w > 0.0
        pool = [*pool, (w[ok], ratio[ok])] if not target.size else [(w[ok], ratio[ok])]
        #: the hit-or-miss maximum of unweighted generation (also the cap of w_thr): the
        #: excess quantile over every pilot batch reweighted to the final shares (4x the
        #: points of the last batch alone; a rare large weight in one batch of ~5e4 trials set
        #: w_max ~4x too high for the process defaults, measured)
        self.w_max_unweighted = PILOT_SAFETY * pooled_excess_quantile(
            self.alpha, pool, PILOT_TRUNCATION, last_only=bool(target.size))
        self.w_max = self.w_max_unweighted
        if self.weighted:
            self.w_max = min(efficiency_threshold(w, self.p["target_efficiency"]),
                             self.w_max_unweighted)
        self.pilot_cross_section_pb = float(w.mean())
        self.pilot_max_weight = float(w.max())
        self.pilot_mean_weight = float(w.mean())

    @staticmethod
    def _refined(edges: np.ndarray, w: np.ndarray, ratio: np.ndarray,
                 units: np.ndarray) -> np.ndarray:
        """New grid of a target channel: bin importances sum w^3 g_k/g over the pilot points
        (refine_grid of gen.processes.eemumu takes the cube root; the 'share' g_k/g weighs the
        points by how much this channel carries them, Kleiss-Pittau's variance gradient)."""
        ok = (w > 0.0) & (ratio > 0.0)
        imp = w[ok] ** 3 * ratio[ok]
        u = units[ok]
        nb = edges.shape[1] - 1
        hist = np.zeros((edges.shape[0], nb))
        for d in range(edges.shape[0]):
            j = np.clip(np.searchsorted(edges[d], u[:, d], side="right") - 1, 0, nb - 1)
            np.add.at(hist[d], j, imp)
        return refine_grid(edges, hist)

    def _check_pilot(self, w: np.ndarray) -> None:
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        (out_i, out_f, offset, t_s, t_wa, t_wb, t_ch, raw, n_trials, sum_w, sum_w2,
         n_over) = _generate(rng, *self._args(), n, self.w_max, self.tables, self.max_rows,
                             self.weighted)
        truth = {"sqrt_s": t_s, "w_a": t_wa, "w_b": t_wb, "channel": t_ch}
        # partial unweighting: an event's expected yield per trial is w / w_thr (hit probability
        # min(1, w/w_thr) x weight max(1, w/w_thr)); normalised to mean 1 in the block as in
        # gen.processes.tautau and eemumu (self-normalised importance sampling, relative bias
        # O(1/n)), so that sigma x L / N x weight stays the expected yield per event
        weight = raw * (n / raw.sum()) if self.weighted else np.ones(n)
        chunk = EventChunk(weight=weight, offset=offset,
                           particles=rows_to_particles(out_i, out_f), truth=truth)
        chunk.check(self.name)
        return chunk, SamplingStats(int(n_trials), float(sum_w), float(sum_w2), int(n_over))
