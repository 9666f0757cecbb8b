"""e+e- -> e+e- mu+mu- through two photons (multiperipheral), equivalent-photon approximation.

Cross section (Budnev, Ginzburg, Meledin, Serbo, Phys. Rept. 15 (1975) 181, transverse photon
flux with its Q^2 dependence; the same flux is in PDG RPP 2024 "Cross-section formulae",
two-photon processes):

    sigma = int dn(y1, Q1^2) dn(y2, Q2^2) sigma_{gamma gamma -> mu mu}(W^2),
    dn    = (alpha/pi) dy/y dQ^2/Q^2 [1 - y + y^2/2 - (1 - y) Q^2_min/Q^2],

y = photon energy / beam energy (c.m.), Q^2_min = 2 m_e^2 w^2 / (E E' - m_e^2 + p p') the exact
value at zero scattering angle (= m_e^2 y^2/(1 - y) + O(m_e^4)), and the Q^2 range cut at
Q^2_max = min(q2_max_scale * y1 y2 s, kinematic limit): above Q^2 ~ W^2 the gamma* gamma -> mu mu
cross section falls (Budnev et al. sec. 6), which the EPA models by this cut-off. Varying
``q2_max_scale`` by a factor 4 changes sigma(W > 0.5 GeV) by -10 % / +5 %: that is the EPA's
own uncertainty.

gamma gamma -> mu+ mu- (Breit-Wheeler; e.g. Berestetskii, Lifshitz, Pitaevskii, QED sec. 88;
PDG RPP 2024 "Cross-section formulae", gamma gamma -> l+ l-), real unpolarised photons, muon mass
kept, b = sqrt(1 - 4 m^2 / W^2):

    sigma = (2 pi alpha^2 / W^2) [(3 - b^4) ln((1 + b)/(1 - b)) - 2 b (2 - b^2)],
    dsigma/dcos = (pi alpha^2 b / W^2) [u/t + t/u + 2 m^2 (1/t + 1/u) - m^4 (1/t + 1/u)^2]
                  with t = p.k1 = (W^2/4)(1 - b c), u = p.k2 = (W^2/4)(1 + b c),

(the spin-summed e+e- -> gamma gamma |M|^2 of Peskin & Schroeder sec. 5.5, by crossing).
The angular integral of dsigma/dcos reproduces sigma
(tests/gen/test_eemumu.py).

Kinematics are exact: each beam lepton with energy fraction 1 - y_i is scattered to the angle
fixed by Q_i^2 (azimuth uniform), the photons are q_i = p_i - p_i', and the muon pair takes
q1 + q2 exactly (its true mass W, which differs from sqrt(y1 y2 s) by O(Q^2/W^2)); sigma_{gg} and
the W cut use the true W. The muons are distributed in the gamma gamma rest frame around the
axis of photon 1. Neglected: longitudinal photons and the Q^2 dependence of sigma_{gamma*
gamma*} (beyond the cut-off), photon-polarisation (azimuthal) correlations, the non-multi-
peripheral diagrams (bremsstrahlung, annihilation, conversion; expected small for W well below
sqrt(s), not checked here), and radiative corrections.

Plain sampler: 1/tau uniform for tau = y1 y2 (sigma_gg ~ 1/W^2), ln y1 uniform in [ln tau, 0],
ln Q_i^2 uniform, azimuths uniform, cos(theta*) from dsigma/dcos: the weight w_plain is smooth
(log peaks importance-sampled) but under tight generator-level cuts (the invisible-Z' search:
muons with p > 0.6 GeV at 10-170 deg, missing momentum at 20-145 deg) almost always zero.

Multi-channel sampler (``adaptive``, the default; Kleiss & Pittau, Comput. Phys. Commun. 83
(1994) 141, in the spirit of Berends, Daverveldt, Kleiss, Nucl. Phys. B253 (1985) 421). The
trial density is q = sum_k alpha_k q_k and every weight is f / q = w_plain / (q / q_plain), so
the cross section and every distribution are those of the plain sampler whatever the q_k
(channels may reach only part of phase space; the plain one reaches all of it):
- plain (share ``plain_fraction``): the plain sampler;
- cut map (``FLAT_FRACTION``): the plain variables tau, Q_i^2, phi2 - phi1, but
  * ln y1 / ln tau uniform in the window where the missing momentum P_miss = P_beams - q1 - q2
    points into the lab polar-angle range (found by root finding at fixed tau, Q^2 fractions
    and azimuths: its lab pz falls monotonically with y1 while pT changes slowly; widened by a
    margin, and extended to an end of the range where a large-Q^2 lepton alone can pass), and
  * the mu- direction d in the pair rest frame restricted to the band |h . d| < x_m where
    both muons pass p > p_min exactly (their lab energies are g E* +- p* |o| h . d, see the
    kernel), by one of two maps: "band" (h . d uniform, azimuth about h) or "cone" (cos(theta*)
    from the Breit-Wheeler envelope, which follows the peak of dsigma/dcos, azimuth about the
    photon axis uniform in its allowed part);
- adaptive (the rest): the cut map with its unit variables from a VEGAS-like grid (Lepage, J.
  Comput. Phys. 27 (1978) 192) and, for the five non-muon variables, a foam of cells sampled
  with probabilities ~ volume x cell maximum (Jadach, Comput. Phys. Commun. 152 (2003) 55) or,
  with partial unweighting, ~ volume x the RMS of the integrand in the cell (floored at
  ``FOAM_TOP_SHARE`` of its maximum; ``leaf_importance``); band (1 - ``cone_share``) or cone
  map.
The pilot (``EEMuMu.prepare``) adapts grid and foam and sets w_max. Exactness is tested
against the plain sampler (cross sections, distributions) and channel by channel.

Cuts for the search (cards/samples/eemumu.toml). Beyond the muon-pair cuts of
gen.processes.mumu, two optional cuts derived from the default Belle II detector model
(detector/config.py; constants here, checked against it in tests/gen/test_eemumu_cuts.py):
- ``pmiss_resolution_sigmas`` = K > 0: the missing-momentum cuts (c.m. momentum, lab polar angle,
  nominal beams) are loosened so that an event passes if a mis-measurement of the muon momenta
  by less than K sigma each could bring it into them: with D = K (sigma_1 + sigma_2), sigma_i
  the total momentum-vector resolution of muon i (``muon_sigma_p1``: sigma_pT/pT = a pT (+)
  b/beta, sigma_theta = sigma_phi = a' (+) b'/(p beta), TDR values of detector/config.py), the
  lab missing momentum must lie within D of the polar-angle cone and its c.m. momentum above
  p_min - gamma (1 + beta) D (the change of a c.m. momentum under the nominal boost). The card
  then states the selection's own recoil cuts. K = 6: the chance that a muon's error exceeds
  K sigma is < 2e-9.
- ``e_veto_e_gev`` > 0: an e- or e+ above this energy whose helix (B = 1.5 T, from the origin)
  hits the ECL crystals inside the veto window (``ecl_impact_cos1`` = detector.calorimeter's
  impact point) always leaves a cluster of its full energy (resolution < 1 % at 0.3 GeV), never
  matched to a muon track: a selection with no extra cluster above 0.1 GeV rejects the event
  (if its track is found, the event has three tracks anyway). The one way around, a lost muon
  track (1 %) and the electron's track identified as a muon (e -> mu 0.1 %, detector/config.py),
  is < 1e-5 of such events.
With these cuts the muon band |h . d| < x_m of the cut map is narrowed by the muon polar-angle
cut: a muon at lab polar angle in [t_min, t_max] is within [d_lo, d_hi] of the pair's lab
direction (triangle inequality on the sphere), and its lab angle to that direction falls with
h . d (``_muon_angle_band1``); the y1 window aims at the loosened cone widened by K x
``WINDOW_SIGMA_GEV``. Both only shape the trial density (the plain channel reaches the rest).

Partial unweighting (``unweight_excess`` > 0): w_max is set where the pilot trials above it carry
that fraction of the cross section (median over ``WMAX_GROUPS`` groups of the pilot); a trial
is kept with probability min(1, w / w_max) and weight max(1, w / w_max), so every event keeps
its expected yield (weights normalised to mean 1 per block as in gen.processes.tautau;
``weighted`` = True). Unbiased for any w_max; it trades a few weighted events for a 3-7 times
higher acceptance under the search cuts.

Output: e-, e+, mu-, mu+ (status 1, mother -1). Truth: ``sqrt_s``, ``w_mumu`` (true muon-pair
mass), ``q2_em``, ``q2_ep`` (virtualities of the photons of the e- and e+), ``y_em``, ``y_ep``.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from gen.beams import Beams, cm_to_lab1, lab_to_cm1, sample_collision1
from gen.cards import CardError, Param, check
from gen.constants import ALPHA_EM, ELECTRON, GEV2_TO_PB, M_E, M_MU, MUON
from gen.events import EventChunk, SamplingStats
from gen.gencuts import MAX_VETO_GAPS, photon_veto_array, photon_vetoed1, validate_photon_veto
from gen.grid import grid_locate1, grid_map1
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
)
from gen.processes.mumu import (
    MUON_PAIR_CUTS,
    N_PAR,
    P_EHER,
    P_ELER,
    P_HALF,
    P_MU_CHI,
    P_MU_CLO,
    P_MU_PMIN,
    P_NOM_E,
    P_NOM_PX,
    P_NOM_PY,
    P_NOM_PZ,
    P_PM_CHI,
    P_PM_CLO,
    P_PM_ON,
    P_PMISS,
    P_SPH,
    P_SPL,
    chunk_from_arrays,
    fill_common_par,
    muon_pair_cuts1,
    validate_muon_pair_cuts,
)

# extra kernel parameters beyond the common muon-pair block of gen.processes.mumu
P_W2MIN = N_PAR
P_Q2SCALE = N_PAR + 1
P_ALPHA0 = N_PAR + 2  # share of trials from the plain sampler (1: plain sampler only)
P_ALPHA_FLAT = N_PAR + 3  # share of trials from the cut map with uniform unit variables
P_CONE = N_PAR + 4  # share of the cone muon map in the adaptive channel
# resolution-loosened missing-momentum cuts (``pmiss_resolution_sigmas``; module docstring):
# K (0 = off), c.m. momentum minimum, cos(theta) range of the lab cone
P_FZ_K, P_FZ_PMIN, P_FZ_CLO, P_FZ_CHI = N_PAR + 5, N_PAR + 6, N_PAR + 7, N_PAR + 8
# polar-angle range of the missing momentum that the y1 window of the cut map aims at
# and its distance margin (GeV)
P_WIN_ON, P_WIN_CLO, P_WIN_CHI, P_WIN_D = N_PAR + 9, N_PAR + 10, N_PAR + 11, N_PAR + 12
# electron/positron calorimeter veto: gen.gencuts.photon_veto_array layout
P_EV = N_PAR + 13
# polar angles (rad) of the muon polar-angle cut's edges, acos(P_MU_CHI) and acos(P_MU_CLO)
# (``_muon_angle_band1``; once per card instead of twice per trial)
P_MU_TMIN = P_EV + 4 + 2 * MAX_VETO_GAPS
P_MU_TMAX = P_MU_TMIN + 1
N_PAR_EEMUMU = P_MU_TMAX + 1
#: trial modes: plain sampler, cut map with uniform unit variables, cut map on the grid and
#: foam with the band or the cone muon map
MODE_PLAIN, MODE_FLAT, MODE_BAND, MODE_CONE = 0, 1, 2, 3

# dimensions of the unit cube of the sampling map (module docstring)
D_TAU, D_Y1, D_Q1, D_Q2, D_DPHI = 0, 1, 2, 3, 4
#: the foam covers the first N_REST; then the band and cone muon maps' variables
N_REST = 5
D_MB1, D_MB2, D_MC1, D_MC2 = 5, 6, 7, 8
N_DIM = 9
#: bins per dimension of the grid
N_BINS = 50
#: grid-adaptation passes in the pilot run, and the damping/floor of each refinement
ADAPT_ITERATIONS = 4
GRID_DAMPING = 0.7
GRID_FLOOR = 0.05
#: bin importance (sum of w^p)^(1/p): p = 1 matches the marginals, p = 2 is VEGAS (variance),
#: larger p weigh the largest weights more (unweighting efficiency)
GRID_POWER = 3.0
#: share of the flat density in every refined grid (lower bound of the grid density)
GRID_MIX = 0.2
#: foam: cells, exploration points per cell, slices per dimension for the split search, and
#: the floor of a cell's density (fraction of the mean envelope density)
FOAM_CELLS = 2000
FOAM_EXPLORE = 300
FOAM_SLICES = 8
FOAM_FLOOR = 0.01
#: a cell's envelope is at least this fraction of its parent's
FOAM_REL = 0.4
#: a leaf's sampling density (``leaf_importance``): the RMS of the integrand in it, at least
#: this share of its envelope maximum. Measured at the card cuts (issue 2; effective events
#: per trial sigma^2 / E[w^2], pilot seeds 1, 2, 103): 1 (the envelope) 1.5 % (seed 103);
#: 0.2: 2.7-5.5 %; 0.1: 7.9-12.6 %; 0.05: 10-19 %; 0 (RMS only): 8-19 % with a heavy tail
#: (seed 1: weights > 1000 x the mean). Unweighting efficiency at 1 % excess, 0.05: 3.5-6.8 %
FOAM_TOP_SHARE = 0.05
#: w_max of partial unweighting: median of the excess quantiles of this many interleaved groups
#: of the pilot's weights (one rare large pilot weight set w_max 40 x too high)
WMAX_GROUPS = 5
#: share of trials from the cut map with uniform unit variables (safety net of the grid)
FLAT_FRACTION = 0.1
#: share of the cone muon map in the adaptive channel (the rest: band map)
CONE_SHARE = 0.3
#: missing-momentum window of the adaptive channel in ln y1 / ln tau: root bracket width (the
#: window takes the bracket's outer end, so this only widens it; 1e-2 instead of 5e-4 halves
#: the root finding's cost, which was 70 % of an adaptive trial's), relative margin and
#: absolute padding
WINDOW_TOL = 1e-2
WINDOW_MARGIN = 0.1
WINDOW_PAD = 0.002
#: Q^2 above which the window looks for a second interval (GeV^2, see _y1_window1): of the
#: lepton carrying P_miss at that end of the y1 range (bounded by the Q^2 range q2cut)
WINDOW_END_Q2 = 1.0
#: pilot passes correcting the leaf maxima with the integrand values seen
FOAM_CORRECTIONS = 6
#: w_max is PILOT_SAFETY x the weight above which the final pilot's excess weight is this
#: fraction of its sum: events above w_max are kept with weight 1 (counted in n_overweight),
#: which removes about this fraction of the cross section from the events' distribution (not
#: from sigma). 0 would take the pilot maximum (base.Process.prepare)
PILOT_TRUNCATION = 1e-5
#: the final pilot (frozen sampler) runs until it has this many nonzero weights ...
PILOT_MIN_ACCEPTED = 20_000
#: ... or this many batches of ``points`` trials
PILOT_MAX_BATCHES = 10
#: samplers adapted in the pilot with partial unweighting, the most efficient kept (``prepare``):
#: the unweighting efficiency of one adaptation varies by up to 2x with the pilot's random
#: numbers (card cuts, 1 % excess, pilot seeds 1, 2, 103: 3.4-6.8 %, measured), so the best of
#: a few avoids a bad draw at the cost of a few times the pilot (~10 s CPU each, once: cached
#: by gen.pilotcache)
PILOT_CANDIDATES = 3

# ---- detector-derived generator-level cuts (module docstring, "Cuts for the search") ----------
# Default Belle II parameters of detector/config.py, which gen must not import (dependencies point
# analysis -> detector -> gen); tests/gen/test_eemumu_cuts.py checks that they are the defaults.
#: solenoid field (T), TDR arXiv:1011.0352 sec. 1
B_FIELD_T = 1.5
#: pT[GeV] = C_GEV_PER_T_M B[T] R[m] for a unit charge (PDG RPP, "Passage of particles")
C_GEV_PER_T_M = 0.299792458
#: ECL front faces: barrel radius, forward/backward endcap z (cm); Belle II Physics Book
#: arXiv:1808.10567 detector table (detector/config.py CalorimeterConfig)
ECL_BARREL_R_CM = 125.0
ECL_FWD_Z_CM = 196.0
ECL_BWD_Z_CM = -102.0
#: tracking resolution (detector/config.py TrackingConfig, TDR design values):
#: sigma_pT/pT = a pT (+) b/beta, sigma_theta = sigma_phi = a' (+) b'/(p beta)
TRK_PT_A = 0.0011
TRK_PT_B = 0.0025
TRK_ANG_A = 0.5e-3
TRK_ANG_B = 1.5e-3
#: the cut map's y1 window aims at the missing momenta within K x this distance (GeV) of the
#: loosened cone: a sampling choice (the plain channel reaches the rest); K x 0.04 GeV is about
#: the 99.9 % quantile of the margin K (sigma_1 + sigma_2) of muon pairs in the cuts (measured,
#: K = 6: median 0.06, 99.9 % 0.25, largest 0.32 GeV)
WINDOW_SIGMA_GEV = 0.04
#: numerical padding of the muon polar-angle band (|h . d| bound)
BAND_PAD = 1e-9

CUTS_EXTRA: dict[str, Param] = {
    "pmiss_resolution_sigmas": Param(
        float, 0.0,
        "loosen pmiss_cm_min_gev and the pmiss polar-angle range by this many standard deviations "
        "of the default Belle II tracking resolution of the two muons (module docstring), so the "
        "card can state the selection's recoil cuts; 0 = the cuts as given",
        minimum=0.0, maximum=20.0,
    ),
    "e_veto_e_gev": Param(
        float, 0.0,
        "reject events with an e- or e+ above this energy (GeV) whose helix hits the ECL inside "
        "the veto window (a cluster that a selection vetoing clusters > 0.1 GeV never accepts); "
        "0 = off. Search cards may use 0.3",
        minimum=0.0,
    ),
    "e_veto_theta_min_deg": Param(
        float, 13.7, "lower polar angle of the ECL impact point for the e+- veto (deg)",
        minimum=0.0, maximum=180.0,
    ),
    "e_veto_theta_max_deg": Param(
        float, 153.8, "upper polar angle of the ECL impact point for the e+- veto (deg)",
        minimum=0.0, maximum=180.0,
    ),
    "e_veto_gaps_deg": Param(
        list, [[30.1, 33.5], [127.4, 132.0]],
        "[lo, hi] impact polar-angle ranges (deg) not vetoed (the ECL barrel-endcap gaps with "
        f"margins); at most {MAX_VETO_GAPS}",
    ),
}


@kernel
def ecl_impact_cos1(px: float, py: float, pz: float) -> float:
    """cos(polar angle) of the ECL impact point of a unit-charge particle from the origin, or 2.0
    if it does not reach the ECL (as detector.calorimeter.ecl_impact1 for prompt tracks).

    Helix of radius R through the origin: after the transverse path s its distance from the
    axis is 2 R sin(s / 2R); the barrel cylinder first (between the endcap planes), else the
    endcap plane, reached within half a turn.
    """
    pt = math.sqrt(px * px + py * py)
    if pt <= 0.0:
        return 2.0
    r = 100.0 * pt / (C_GEV_PER_T_M * B_FIELD_T)
    rb = ECL_BARREL_R_CM
    if 2.0 * r >= rb:
        z = 2.0 * r * math.asin(rb / (2.0 * r)) * pz / pt
        if ECL_BWD_Z_CM <= z <= ECL_FWD_Z_CM:
            return z / math.sqrt(rb * rb + z * z)
    if pz == 0.0:
        return 2.0
    zf = ECL_FWD_Z_CM if pz > 0.0 else ECL_BWD_Z_CM
    s = zf * pt / pz
    if s > math.pi * r:
        return 2.0
    rr = 2.0 * r * abs(math.sin(0.5 * s / r))
    if rr > rb:
        return 2.0
    return zf / math.sqrt(rr * rr + zf * zf)


@kernel
def muon_sigma_p1(px: float, py: float, pz: float) -> float:
    """Total momentum-vector resolution (GeV) of a muon track: sqrt of the sum of the variances of
    its components, (p s_pT)^2 + (p s_theta / sin theta)^2 + (pT s_phi)^2 (p = pT (cos phi,
    sin phi, cot theta); detector/tracking.py smears pT, theta, phi)."""
    pt = math.sqrt(px * px + py * py)
    p = math.sqrt(pt * pt + pz * pz)
    beta = p / math.sqrt(p * p + M_MU * M_MU)
    s_rel = math.hypot(TRK_PT_A * pt, TRK_PT_B / beta)
    s_ang = math.hypot(TRK_ANG_A, TRK_ANG_B / (p * beta))
    sin_t = max(pt / p, 1e-6)
    return math.sqrt((p * s_rel) ** 2 + (p * s_ang / sin_t) ** 2 + (pt * s_ang) ** 2)


@kernel
def detector_cuts1(par, buf) -> bool:
    """The resolution-loosened missing-momentum cuts and the e+- veto on the lab four-momenta
    ``buf`` (rows e-, e+, mu-, mu+); True if the event is kept."""
    k = par[P_FZ_K]
    if k > 0.0:
        # D = K (sigma_1 + sigma_2) bounds |delta(p_mu-) + delta(p_mu+)| at K sigma each
        d = k * (muon_sigma_p1(buf[2, 0], buf[2, 1], buf[2, 2])
                 + muon_sigma_p1(buf[3, 0], buf[3, 1], buf[3, 2]))
        mx = par[P_NOM_PX] - buf[2, 0] - buf[3, 0]
        my = par[P_NOM_PY] - buf[2, 1] - buf[3, 1]
        mz = par[P_NOM_PZ] - buf[2, 2] - buf[3, 2]
        me = par[P_NOM_E] - buf[2, 3] - buf[3, 3]
        e = par[P_NOM_E]
        cx, cy, cz, _ = lab_to_cm1(mx, my, mz, me, par[P_NOM_PX] / e, par[P_NOM_PY] / e,
                                   par[P_NOM_PZ] / e)
        # |delta p_cm| <= gamma (1 + beta) (|delta p_1| + |delta p_2|) (boost of the nominal beams)
        bb = math.sqrt(par[P_NOM_PX] ** 2 + par[P_NOM_PY] ** 2 + par[P_NOM_PZ] ** 2) / e
        gb = (1.0 + bb) / math.sqrt(1.0 - bb * bb)
        if math.sqrt(cx * cx + cy * cy + cz * cz) < par[P_FZ_PMIN] - gb * d:
            return False
        # distance of the lab missing momentum from the cone clo <= cos(theta) <= chi
        pm = math.sqrt(mx * mx + my * my + mz * mz)
        if pm > d:
            c = mz / pm
            s = math.sqrt(max(1.0 - c * c, 0.0))
            for edge, below in ((par[P_FZ_CHI], True), (par[P_FZ_CLO], False)):
                if (c > edge) if below else (c < edge):
                    se = math.sqrt(max(1.0 - edge * edge, 0.0))
                    # cos and sin of the angle between P_miss and the edge of the cone
                    ca = c * edge + s * se
                    sa = abs(s * edge - c * se)
                    if ca <= 0.0 or pm * sa > d:  # beyond 90 deg the origin is nearest
                        return False
    ev = par[P_EV:]
    if ev[0] > 0.0:
        for r in range(2):
            if buf[r, 3] >= ev[0]:
                c = ecl_impact_cos1(buf[r, 0], buf[r, 1], buf[r, 2])
                if c <= 1.0 and photon_vetoed1(ev, math.sqrt(max(1.0 - c * c, 0.0)), 0.0, c,
                                               buf[r, 3]):
                    return False
    return True


@kernel
def breit_wheeler_sigma(w2: float, m: float) -> float:
    """sigma(gamma gamma -> l+ l-) in GeV^-2 for real unpolarised photons (module docstring)."""
    if w2 <= 4.0 * m * m:
        return 0.0
    b = math.sqrt(1.0 - 4.0 * m * m / w2)
    lg = math.log1p(b) - math.log1p(-b)
    return 2.0 * math.pi * ALPHA_EM**2 / w2 * ((3.0 - b**4) * lg - 2.0 * b * (2.0 - b * b))


@kernel
def breit_wheeler_dcos(c: float, w2: float, m: float) -> float:
    """dsigma/dcos(theta*) of gamma gamma -> l+ l- (GeV^-2), theta* to the photon axis."""
    if w2 <= 4.0 * m * m:
        return 0.0
    b = math.sqrt(1.0 - 4.0 * m * m / w2)
    return math.pi * ALPHA_EM**2 * b / w2 * _bw_shape(c, b)


@kernel
def _bw_shape(c: float, b: float) -> float:
    """Bracket of ``breit_wheeler_dcos`` with t, u in units of W^2/4 and m^2 = (1 - b^2) W^2/4."""
    t = 1.0 - b * c
    u = 1.0 + b * c
    mm = 1.0 - b * b
    inv = 1.0 / t + 1.0 / u
    return u / t + t / u + 2.0 * mm * inv - mm * mm * inv * inv


@kernel
def _sample_bw_cos(rng, b: float, omb: float) -> float:
    """cos(theta*) from ``breit_wheeler_dcos``: envelope 1/(1 - b^2 c^2), hit-or-miss.

    The bracket times (1 - b^2 c^2) is 2(1 + b^2 c^2) + 4(1 - b^2) - 4(1 - b^2)^2/(1 - b^2 c^2),
    bounded by 6 - 2 b^2. ``omb`` = 1 - b computed without cancellation.
    """
    gmax = 6.0 - 2.0 * b * b
    lnr = math.log((1.0 + b) / omb)
    while True:
        # c from 1/(1 - b c) by inversion (1 - c computed without cancellation), random sign
        t1 = omb * math.expm1((1.0 - rng.random()) * lnr) / b
        c = 1.0 - min(max(t1, 0.0), 2.0)
        if rng.random() < 0.5:
            c = -c
        g = _bw_shape(c, b) * (1.0 - b * b * c * c)
        if rng.random() * gmax < g:
            return c


@kernel
def epa_flux(y: float, q2: float, q2min: float) -> float:
    """Transverse equivalent-photon density dn/(dy dQ^2) of a lepton (Budnev et al. 1975)."""
    if q2 < q2min or y <= 0.0 or y >= 1.0:
        return 0.0
    return ALPHA_EM / math.pi / (y * q2) * (1.0 - y + 0.5 * y * y - (1.0 - y) * q2min / q2)


@kernel
def q2_limits1(e: float, y: float):
    """(Q^2_min, Q^2_max) for a beam lepton of energy ``e`` radiating energy y e (0 if none)."""
    w = y * e
    e2 = e - w
    if e2 <= M_E:
        return 0.0, 0.0
    p = math.sqrt(e * e - M_E * M_E)
    p2 = math.sqrt(e2 * e2 - M_E * M_E)
    q2min = 2.0 * M_E * M_E * w * w / (e * e2 - M_E * M_E + p * p2)
    q2max = 2.0 * (e * e2 + p * p2 - M_E * M_E)
    return q2min, q2max


@kernel
def _locate_unit1(edges, d: int, u: float, vv, jj) -> float:
    """Grid density at ``u`` in dimension ``d``; its bin to ``jj[d]``, its v to ``vv[d]``."""
    nb = edges.shape[1] - 1
    j, dens = grid_locate1(edges, d, u)
    jj[d] = j
    vv[d] = (j + (u - edges[d, j]) * dens * nb) / nb
    return dens


@kernel
def _unit1(rng, edges, d: int, from_v: bool, plain_only: bool, vv, jj):
    """Unit variable u of dimension ``d`` and the grid density at u.

    ``from_v``: u = grid map of the given ``vv[d]`` (adaptive channel). Otherwise u is uniform
    (plain channel) and, unless ``plain_only``, its image v under the grid map goes to
    ``vv[d]``. The grid bin of u goes to ``jj[d]``.
    """
    nb = edges.shape[1] - 1
    if from_v:
        u, dens, j = grid_map1(edges, d, vv[d])
        jj[d] = j
        return u, dens
    u = rng.random()
    if plain_only:
        return u, 1.0
    j, dens = grid_locate1(edges, d, u)
    jj[d] = j
    vv[d] = (j + (u - edges[d, j]) * dens * nb) / nb
    return u, dens


@kernel
def _cone_phi1(c: float, ha: float, hp: float, x_m: float):
    """Allowed |phi*| range [lo, hi] of the cone map: |c ha + sqrt(1 - c^2) hp cos(phi*)| < x_m
    (all of [0, pi] without the band, x_m >= 1; hi <= lo if empty)."""
    if x_m >= 1.0:
        return 0.0, math.pi
    sh = math.sqrt(max(1.0 - c * c, 0.0)) * hp
    if sh <= 1e-12:
        return (0.0, math.pi) if abs(c * ha) < x_m else (0.0, 0.0)
    cos_a = min(max((-x_m - c * ha) / sh, -1.0), 1.0)
    cos_b = min(max((x_m - c * ha) / sh, -1.0), 1.0)
    return math.acos(cos_b), math.acos(cos_a)


@kernel
def _lepton1(e: float, p: float, y: float, q2cut: float, u: float, cphi: float, sphi: float,
             zs: float):
    """Scattered beam lepton (beam along zs * z, c.m. energy e, momentum p) that radiated the
    energy fraction ``y``; ln Q^2 at the fraction ``u`` of its range, azimuth with cosine and
    sine ``cphi``, ``sphi``.

    Returns (ok, Q^2, flux factor, px, py, pz, E): ok False if the Q^2 range is empty; the
    flux factor is dn/(dy dQ^2) * y Q^2 times the ln Q^2 range (1/pdf of ln Q^2).
    """
    q2min, q2max = q2_limits1(e, y)
    q2max = min(q2max, q2cut)
    if q2max <= q2min:
        return False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    lq = math.log(q2max / q2min)
    q2 = q2min * math.exp(lq * u)
    fac = (1.0 - y + 0.5 * y * y - (1.0 - y) * q2min / q2) * lq * (ALPHA_EM / math.pi)
    e2 = e * (1.0 - y)
    p2 = math.sqrt(e2 * e2 - M_E * M_E)
    # Q^2 = 2 (E E' - p p' cos - m^2)  ->  1 - cos = (Q^2 - Q^2_min) / (2 p p')
    t = min((q2 - q2min) / (2.0 * p * p2), 2.0)
    sn = math.sqrt(max(t * (2.0 - t), 0.0))
    return True, q2, fac, p2 * sn * cphi, p2 * sn * sphi, zs * p2 * (1.0 - t), e2


@kernel
def _pmiss_h1(par, e, p, tau, q2cut, uy, uq1, uq2, cs, boost, cot_lo, cot_hi):
    """Signed distances of the lab missing momentum at ln y1 = uy ln tau to the polar-angle cut.

    Returns (pz - cot_hi pT, pz - cot_lo pT) with P_miss = P_beams(nominal) - (q1 + q2) (lab),
    cot_hi = cot(theta_min), cot_lo = cot(theta_max): the cut passes when the first is <= 0
    and the second >= 0. Both decrease with y1 (the e- loses energy, P_miss turns backward);
    where a photon is not allowed, +-1e9 (continuing that order: y1 or y2 too large).
    """
    y1 = math.exp(math.log(tau) * uy)
    y2 = tau / y1
    ok1, _, _, ex1, ey1, ez1, ee1 = _lepton1(e, p, y1, q2cut, uq1, cs[0], cs[1], 1.0)
    if not ok1:
        return -1e9, -1e9
    ok2, _, _, ex2, ey2, ez2, ee2 = _lepton1(e, p, y2, q2cut, uq2, cs[2], cs[3], -1.0)
    if not ok2:
        return 1e9, 1e9
    lab = cm_to_lab1(-ex1 - ex2, -ey1 - ey2, -ez1 - ez2, 2.0 * e - ee1 - ee2, boost[0], boost[1],
                     boost[2], boost[3], boost[4], boost[5])
    mx = par[P_NOM_PX] - lab[0]
    my = par[P_NOM_PY] - lab[1]
    mz = par[P_NOM_PZ] - lab[2]
    pt = math.sqrt(mx * mx + my * my)
    # distance margin D of the loosened cone: the distance of P_miss from the edge at theta_e is
    # (pz - cot(theta_e) pT) sin(theta_e)
    d = par[P_WIN_D]
    a = mz - cot_hi * pt
    if d > 0.0 and cot_hi < 1e299:
        a -= d * math.sqrt(1.0 + cot_hi * cot_hi)
    c = mz - cot_lo * pt
    if d > 0.0 and cot_lo > -1e299:
        c += d * math.sqrt(1.0 + cot_lo * cot_lo)
    return a, c


@kernel
def _window_frame1(par, e, p, tau, q2cut, uq1, uq2, cs, boost, cot_lo, cot_hi):
    """Constants of ``_pmiss_c1`` for one trial (tau, Q^2 fractions, azimuths, collision).

    ``cm_to_lab1`` is a Lorentz transformation, linear in the four-vector, so the lab missing
    momentum of ``_pmiss_h1`` is P_nom - 2e T + sum_i (p'_i sin_i A_i + p'_i cos_i Z + E'_i T)
    with A_i, Z, T the lab images of (cos phi_i, sin phi_i, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1):
    the same numbers up to rounding, without a rotation and a boost per root-finding step.
    """
    bx, by, bz, nx, ny, nz = boost
    # cm_to_lab1 (rotate z onto n, then boost by b) with its parameters computed once
    sn, kx, ky = rotation_params1(nx, ny)
    g, g2 = boost_params1(bx, by, bz)
    r = rotate_z_to_p1(1.0, 0.0, 0.0, nz, sn, kx, ky)
    vx = boost_p1(r[0], r[1], r[2], 0.0, bx, by, bz, g, g2)
    r = rotate_z_to_p1(0.0, 1.0, 0.0, nz, sn, kx, ky)
    vy = boost_p1(r[0], r[1], r[2], 0.0, bx, by, bz, g, g2)
    r = rotate_z_to_p1(0.0, 0.0, 1.0, nz, sn, kx, ky)
    vz = boost_p1(r[0], r[1], r[2], 0.0, bx, by, bz, g, g2)
    vt = boost_p1(0.0, 0.0, 0.0, 1.0, bx, by, bz, g, g2)
    a1 = (cs[0] * vx[0] + cs[1] * vy[0], cs[0] * vx[1] + cs[1] * vy[1],
          cs[0] * vx[2] + cs[1] * vy[2])
    a2 = (cs[2] * vx[0] + cs[3] * vy[0], cs[2] * vx[1] + cs[3] * vy[1],
          cs[2] * vx[2] + cs[3] * vy[2])
    c0 = (par[P_NOM_PX] - 2.0 * e * vt[0], par[P_NOM_PY] - 2.0 * e * vt[1],
          par[P_NOM_PZ] - 2.0 * e * vt[2])
    # the distance margin of _pmiss_h1 as offsets of the two components
    d = par[P_WIN_D]
    off_hi = d * math.sqrt(1.0 + cot_hi * cot_hi) if d > 0.0 and cot_hi < 1e299 else 0.0
    off_lo = d * math.sqrt(1.0 + cot_lo * cot_lo) if d > 0.0 and cot_lo > -1e299 else 0.0
    return (a1, a2, (vz[0], vz[1], vz[2]), (vt[0], vt[1], vt[2]), c0, e, p, tau, math.log(tau),
            q2cut, uq1, uq2, cot_lo, cot_hi, off_lo, off_hi)


@kernel
def _lepton_lc1(e: float, p: float, y: float, q2cut: float, u: float):
    """(ok, p' sin, p' (1 - t), E') of ``_lepton1`` (scattering angle with 1 - cos = t; no flux,
    no azimuth; ``p`` = sqrt(e^2 - m_e^2))."""
    w = y * e
    e2 = e - w
    if e2 <= M_E:
        return False, 0.0, 0.0, 0.0
    p2 = math.sqrt(e2 * e2 - M_E * M_E)
    q2min = 2.0 * M_E * M_E * w * w / (e * e2 - M_E * M_E + p * p2)
    q2max = min(2.0 * (e * e2 + p * p2 - M_E * M_E), q2cut)
    if q2max <= q2min:
        return False, 0.0, 0.0, 0.0
    q2 = q2min * math.exp(math.log(q2max / q2min) * u)
    t = min((q2 - q2min) / (2.0 * p * p2), 2.0)
    return True, p2 * math.sqrt(max(t * (2.0 - t), 0.0)), p2 * (1.0 - t), e2


@kernel
def _pmiss_c1(fr, u: float):
    """``_pmiss_h1`` at u from the constants ``fr`` of ``_window_frame1``."""
    a1, a2, vz, vt, c0, e, p, tau, lntau, q2cut, uq1, uq2, cot_lo, cot_hi, off_lo, off_hi = fr
    y1 = math.exp(lntau * u)
    ok1, s1, l1, e1 = _lepton_lc1(e, p, y1, q2cut, uq1)
    if not ok1:
        return -1e9, -1e9
    ok2, s2, l2, e2 = _lepton_lc1(e, p, tau / y1, q2cut, uq2)
    if not ok2:
        return 1e9, 1e9
    lz = l1 - l2  # the e+ goes along -z
    et = e1 + e2
    mx = c0[0] + s1 * a1[0] + s2 * a2[0] + lz * vz[0] + et * vt[0]
    my = c0[1] + s1 * a1[1] + s2 * a2[1] + lz * vz[1] + et * vt[1]
    mz = c0[2] + s1 * a1[2] + s2 * a2[2] + lz * vz[2] + et * vt[2]
    pt = math.sqrt(mx * mx + my * my)
    return mz - cot_hi * pt - off_hi, mz - cot_lo * pt + off_lo


@kernel
def _pmiss_root1(fr, which, u0, f0, slope):
    """Outer bound in [0, 1] of the sign change of component ``which`` of ``_pmiss_h1``
    (increasing in u; evaluated by ``_pmiss_c1``): component 0 is <= 0 below its root, so its
    bound is the upper end of the final bracket; component 1 is >= 0 above its root, its bound
    the lower end.

    Bracketing: steps from (u0, f0) towards the sign change, 1.2 x the Newton step for the
    collinear ``slope`` and doubling; a boundary reached without a finite sign change is
    returned (no root inside). Then Illinois regula falsi (bisection while an end holds a
    sentinel), each step followed by a probe WINDOW_TOL inside from the end it moved (the root
    is usually that close), to a bracket below WINDOW_TOL. Returning the bracket's outer end
    keeps the root inside the window for any tolerance (the tolerance only widens the window).
    Measured at the card's cuts: 3.2 evaluations per root (3.7 with Illinois alone).
    """
    direction = 1.0 if f0 < 0.0 else -1.0
    step = max(1.2 * abs(f0 / slope), 1e-3)
    x, fx = u0, f0
    found = False
    xn, fn = x, fx
    for _ in range(40):
        xn = min(max(x + direction * step, 1e-12), 1.0 - 1e-12)
        fn = _pmiss_c1(fr, xn)[which]
        if (fn < 0.0) != (fx < 0.0):
            found = True
            break
        if xn <= 1e-12 or xn >= 1.0 - 1e-12:
            break
        x, fx = xn, fn
        step *= 2.0
    if not found:
        return 0.0 if direction < 0.0 else 1.0
    if fx < 0.0:
        a, fa, b, fb = x, fx, xn, fn
    else:
        a, fa, b, fb = xn, fn, x, fx
    side = 0
    probe = 0.99 * WINDOW_TOL
    for _ in range(60):
        if b - a < WINDOW_TOL:
            break
        if abs(fa) < 1e8 and abs(fb) < 1e8:
            m = (a * fb - b * fa) / (fb - fa)
        else:
            m = 0.5 * (a + b)
        fm = _pmiss_c1(fr, m)[which]
        if fm < 0.0:
            a, fa = m, fm
            if side == -1 and abs(fb) < 1e8:
                fb *= 0.5
            side = -1
        else:
            b, fb = m, fm
            if side == 1 and abs(fa) < 1e8:
                fa *= 0.5
            side = 1
        if b - a < WINDOW_TOL:
            break
        # probe next to the end just moved: a sign change there closes the bracket, otherwise
        # that end moves by the probe (true function values: the Illinois halving restarts)
        xp = a + probe if side == -1 else b - probe
        fp = _pmiss_c1(fr, xp)[which]
        if fp < 0.0:
            a, fa = xp, fp
        else:
            b, fb = xp, fp
        side = 0
    return b if which == 0 else a


@kernel
def _end_q2_1(e: float, p: float, y: float, q2cut: float, u: float) -> float:
    """Q^2 of a beam lepton radiating the energy fraction ``y`` at the fraction ``u`` of its
    ln Q^2 range (``_lepton1``; 0 if the range is empty)."""
    q2min, q2max = q2_limits1(e, y)
    q2max = min(q2max, q2cut)
    if q2max <= q2min:
        return 0.0
    return q2min * math.exp(math.log(q2max / q2min) * u)


@kernel
def _y1_window1(par, e, p, tau, q2cut, uq1, uq2, cs, boost):
    """Interval [lo, hi] of u = ln y1 / ln tau sampled by the adaptive channel.

    The missing-momentum polar-angle cut, at fixed tau, Q^2 fractions and azimuths, passes
    in an interval of y1 (module docstring), found here by root finding and widened by
    ``WINDOW_MARGIN`` of its width + ``WINDOW_PAD``; [0, 1] if that cut is off.
    """
    if par[P_WIN_ON] < 0.5:
        return 0.0, 1.0
    clo, chi = par[P_WIN_CLO], par[P_WIN_CHI]
    cot_lo = clo / math.sqrt(1.0 - clo * clo) if clo > -1.0 else -1e300
    cot_hi = chi / math.sqrt(1.0 - chi * chi) if chi < 1.0 else 1e300
    if cot_lo < -1e299 and cot_hi > 1e299:
        return 0.0, 1.0
    fr = _window_frame1(par, e, p, tau, q2cut, uq1, uq2, cs, boost, cot_lo, cot_hi)
    # start: y1 where P_miss has no longitudinal lab momentum in the collinear limit,
    # (y2 - y1) + beta (2 - y1 - y2) = 0 with y2 = tau / y1 and beta the c.m. velocity; slope
    # of pz_lab in u from the same limit
    beta = math.sqrt(boost[0] ** 2 + boost[1] ** 2 + boost[2] ** 2)
    gam = 1.0 / math.sqrt(1.0 - beta * beta)
    y1 = (beta + math.sqrt(beta * beta + (1.0 - beta * beta) * tau)) / (1.0 + beta)
    ltau = -math.log(tau)
    u0 = min(max(-math.log(y1) / ltau, 1e-6), 1.0 - 1e-6)
    y1 = math.exp(-ltau * u0)
    slope = gam * e * ((1.0 - beta) * tau / (y1 * y1) + 1.0 + beta) * y1 * ltau
    # pz - cot_hi pT <= 0 for u <= u_a (large y1); pz - cot_lo pT >= 0 for u >= u_b
    f0 = _pmiss_c1(fr, u0)
    u_a = 1.0
    if cot_hi < 1e299:
        u_a = _pmiss_root1(fr, 0, u0, f0[0], slope)
    u_b = 0.0
    if cot_lo > -1e299:
        u_b = _pmiss_root1(fr, 1, u0, f0[1], slope)
    pad = WINDOW_MARGIN * max(u_a - u_b, 0.0) + WINDOW_PAD
    lo, hi = max(u_b - pad, 0.0), min(u_a + pad, 1.0)
    # a second interval where one lepton keeps little energy and the other carries P_miss at
    # a large angle: if the cut passes near an end (the radiating lepton keeps 1e-3 of its
    # energy), the window extends to that end. Only possible with Q^2 of a few GeV^2: P_miss
    # is then nearly one lepton of energy ~E, which needs a c.m. angle above ~17 deg (e-) or
    # ~24 deg (e+) to reach 20-145 deg in the lab (boost 0.27, 41.5 mrad tilt), i.e.
    # pT > 1.6 GeV, Q^2 > 2.5 GeV^2; checked where that lepton's Q^2 (at the end) is above
    # WINDOW_END_Q2 (which q2cut bounds).
    if q2cut < WINDOW_END_Q2:
        return lo, hi
    u_hi, u_lo = 1.0 - 1e-3 / ltau, 1e-3 / ltau
    # near u = 1 the e+ radiates its energy and P_miss is the e-, near u = 0 the reverse
    if hi < 1.0 and _end_q2_1(e, p, math.exp(-ltau * u_hi), q2cut, uq1) >= WINDOW_END_Q2:
        f = _pmiss_c1(fr, u_hi)
        if f[0] <= 0.0 and f[1] >= 0.0:
            hi = 1.0
    if lo > 0.0 and _end_q2_1(e, p, tau / math.exp(-ltau * u_lo), q2cut, uq2) >= WINDOW_END_Q2:
        f = _pmiss_c1(fr, u_lo)
        if f[0] <= 0.0 and f[1] >= 0.0:
            lo = 0.0
    return lo, hi


@kernel
def _lab_angle_root1(delta: float, g: float, a: float) -> float:
    """cos t* where the lab angle to the pair's direction, atan2(sin t*, g (cos t* + a)) with a =
    pair speed / muon speed (pair frame), equals ``delta``. For a < 1 the angle falls with cos t*,
    so it is >= delta exactly for cos t* <= the result; for a > 1 it rises from 0 (cos t* = -1)
    to its maximum and falls again, so it is >= delta only between the two roots: the result is
    the larger one (an upper bound on cos t*). 2.0 if the angle always is >= delta (delta <= 0),
    -2.0 if it never is (delta above the largest lab angle).

    Squared: (1 + T) x^2 + 2 T a x + T a^2 - 1 = 0 with T = tan^2(delta) g^2: the larger root
    for delta < 90 deg, the smaller one above (where x + a < 0).
    """
    if delta <= 0.0:
        return 2.0
    if delta >= math.pi:
        return -2.0
    if abs(delta - 0.5 * math.pi) < 1e-12:
        return -a if a < 1.0 else -2.0
    tg2 = (math.tan(delta) * g) ** 2
    disc = 1.0 + tg2 * (1.0 - a * a)
    if disc < 0.0 or (delta > 0.5 * math.pi and a >= 1.0):
        return -2.0  # the largest lab angle (a > 1) is below delta
    if delta < 0.5 * math.pi:
        return (-tg2 * a + math.sqrt(disc)) / (1.0 + tg2)
    return (-tg2 * a - math.sqrt(disc)) / (1.0 + tg2)


@kernel
def _muon_theta_edges1(clo: float, chi: float):
    """(theta_min, theta_max) of the muon polar-angle cut from its cosines (numba's acos, the
    values the per-trial computation gave)."""
    return (math.acos(chi) if chi < 1.0 else 0.0), (math.acos(clo) if clo > -1.0 else math.pi)


@kernel
def _muon_angle_band1(par, kx, ky, kz, ke, bx, by, bz, nx, ny, nz, g, v, b) -> float:
    """Bound x_t on |h . d| for both muons to pass the lab polar-angle cut (>= 1: none; <= 0:
    impossible). Pair four-momentum (kx, ky, kz, ke) in the c.m. frame, its lab Lorentz factor
    ``g`` and speed ``v``, muon speed ``b`` in the pair frame.

    Triangle inequality on the sphere with the pair's lab polar angle th_h: a muon at polar
    angle th in [th_min, th_max] is at an angle in [d_lo, d_hi] from the pair's direction,
    d_lo = distance of th_h from [th_min, th_max], d_hi = max over th of min(th + th_h, 360 deg
    - th - th_h). The lab angle falls with cos t* = h . d (muon 1) and -h . d (muon 2), so
    both muons need |h . d| <= min(x(d_lo), -x(d_hi)) (``_lab_angle_root1``; for a < 1 the
    angle is <= d_hi exactly for cos t* >= x(d_hi); for a > 1 only the first bound is used).
    """
    clo, chi = par[P_MU_CLO], par[P_MU_CHI]
    if clo <= -1.0 and chi >= 1.0:
        return 2.0
    lab = cm_to_lab1(kx, ky, kz, ke, bx, by, bz, nx, ny, nz)
    pl = math.sqrt(lab[0] * lab[0] + lab[1] * lab[1] + lab[2] * lab[2])
    if pl <= 0.0:
        return 2.0
    th = math.acos(min(max(lab[2] / pl, -1.0), 1.0))
    t_min, t_max = par[P_MU_TMIN], par[P_MU_TMAX]
    d_lo = max(t_min - th, th - t_max, 0.0)
    if math.pi - th > t_max:
        d_hi = t_max + th
    elif math.pi - th < t_min:
        d_hi = 2.0 * math.pi - t_min - th
    else:
        d_hi = math.pi
    a = v / b
    # muon 1: x <= x(d_lo) and, for a < 1 (monotonic angle), x >= x(d_hi); muon 2 the same for -x
    x_hi = _lab_angle_root1(d_hi, g, a) if a < 1.0 else -2.0
    return min(_lab_angle_root1(d_lo, g, a), -x_hi)


@kernel
def _eemumu_trial(rng, par, edges, mode, vv, jj, buf, lab_e, qv):
    """One trial point: e-, e+, mu-, mu+ (lab) in ``buf``.

    ``mode``: MODE_PLAIN (plain sampler), MODE_FLAT (cut map, band muon map, uniform unit
    variables), MODE_BAND or MODE_CONE (cut map at the grid image of the given ``vv``, band or
    cone muon map; the muon v variables are drawn here). Unless the sampler is plain only,
    the point's v coordinates go to ``vv`` and its grid bins to ``jj``. ``edges``:
    (N_DIM, n_bins + 1) grid; ``lab_e``, ``qv``: (2, 4) scratch (leptons, photons; c.m.).

    Returns (w_plain, r_win, r_rest, mu_band, g_band, mu_cone, g_cone, sqrt_s, w_mumu, q2_1,
    q2_2, y1, y2): the weight (pb) of the point as a plain-sampler point; over the plain
    sampler's densities: the y1 window's (0 outside) and the band and cone muon maps' (0
    where they do not reach); grid densities of the unit variables of the first N_REST
    dimensions, and of each muon map. Module docstring.
    """
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
        rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF]
    )
    boost = (bx, by, bz, nx, ny, nz)
    s = sqrt_s * sqrt_s
    e = 0.5 * sqrt_s
    p = math.sqrt(e * e - M_E * M_E)
    w2min = par[P_W2MIN]
    tau_min = w2min / s
    if tau_min >= 1.0:
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, 0.0, 0.0, 0.0, 0.0, 0.0
    plain = par[P_ALPHA0] >= 1.0  # plain sampler only: no densities needed
    from_v = mode >= MODE_BAND  # unit variables from the grid image of vv
    cut_map = mode != MODE_PLAIN  # y1 from its window
    # unit variables (plain: uniform). tau = y1 y2 with density ~ 1/tau^2, then ln y1 uniform
    # in [ln tau, 0] (dy1 dy2 = dtau du1); azimuths phi1 uniform and phi2 - phi1 uniform
    # (= two independent uniform azimuths); ln Q_i^2 uniform in their ranges
    u_tau, rg = _unit1(rng, edges, D_TAU, from_v, plain, vv, jj)
    phi1 = 2.0 * math.pi * rng.random()
    u, d = _unit1(rng, edges, D_DPHI, from_v, plain, vv, jj)
    rg *= d
    phi2 = phi1 + 2.0 * math.pi * u
    cs = (math.cos(phi1), math.sin(phi1), math.cos(phi2), math.sin(phi2))
    u_q1, d = _unit1(rng, edges, D_Q1, from_v, plain, vv, jj)
    rg *= d
    u_q2, d = _unit1(rng, edges, D_Q2, from_v, plain, vv, jj)
    rg *= d
    rm = 1.0
    inv_tau = 1.0 + (1.0 / tau_min - 1.0) * u_tau
    tau = 1.0 / inv_tau
    ltau = -math.log(tau)
    q2cut = par[P_Q2SCALE] * tau * s
    if cut_map:
        # ln y1 / ln tau inside the missing-momentum window
        lo, hi = _y1_window1(par, e, p, tau, q2cut, u_q1, u_q2, cs, boost)
        if hi <= lo:
            return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, 0.0, 0.0, 0.0, 0.0, 0.0
        u, d = _unit1(rng, edges, D_Y1, from_v, plain, vv, jj)
        rg *= d
        rm /= hi - lo
        u_y1 = lo + (hi - lo) * u
    else:
        u_y1 = rng.random()
    y1 = math.exp(-ltau * u_y1)
    y2 = tau / y1
    w = tau * (1.0 / tau_min - 1.0) * ltau  # 1/(pdf(y1, y2) y1 y2)
    ok1, q2_1, fac1, ex1, ey1, ez1, ee1 = _lepton1(e, p, y1, q2cut, u_q1, cs[0], cs[1], 1.0)
    ok2, q2_2, fac2, ex2, ey2, ez2, ee2 = _lepton1(e, p, y2, q2cut, u_q2, cs[2], cs[3], -1.0)
    if not (ok1 and ok2):
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, 0.0, 0.0, 0.0, y1, y2
    w *= fac1 * fac2
    lab_e[0, 0], lab_e[0, 1], lab_e[0, 2], lab_e[0, 3] = ex1, ey1, ez1, ee1
    lab_e[1, 0], lab_e[1, 1], lab_e[1, 2], lab_e[1, 3] = ex2, ey2, ez2, ee2
    qv[0, 0], qv[0, 1], qv[0, 2], qv[0, 3] = -ex1, -ey1, p - ez1, e - ee1
    qv[1, 0], qv[1, 1], qv[1, 2], qv[1, 3] = -ex2, -ey2, -p - ez2, e - ee2
    kx = qv[0, 0] + qv[1, 0]
    ky = qv[0, 1] + qv[1, 1]
    kz = qv[0, 2] + qv[1, 2]
    ke = qv[0, 3] + qv[1, 3]
    w2 = ke * ke - kx * kx - ky * ky - kz * kz
    if w2 < w2min or w2 <= 4.0 * M_MU * M_MU:
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, 0.0, q2_1, q2_2, y1, y2
    # EPA validity cut on the true W (W^2 <= y1 y2 s up to O(Q^2) terms: the sampled range
    # Q^2 < scale y1 y2 s covers it)
    if q2_1 > par[P_Q2SCALE] * w2 or q2_2 > par[P_Q2SCALE] * w2:
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, math.sqrt(w2), q2_1, q2_2, y1, y2
    sig_gg = breit_wheeler_sigma(w2, M_MU)
    w *= GEV2_TO_PB * sig_gg
    wmm = math.sqrt(w2)
    # muons in the gamma gamma rest frame: direction d of the mu-, axis a of photon 1,
    # cos(theta*) = c = a . d
    bkx, bky, bkz = kx / ke, ky / ke, kz / ke
    av = boost1(qv[0, 0], qv[0, 1], qv[0, 2], qv[0, 3], -bkx, -bky, -bkz)
    na = math.sqrt(av[0] * av[0] + av[1] * av[1] + av[2] * av[2])
    ax, ay, az = av[0] / na, av[1] / na, av[2] / na
    pstar = two_body_momentum1(wmm, M_MU, M_MU)
    estar = 0.5 * wmm
    b = pstar / estar
    omb = 4.0 * M_MU * M_MU / (w2 * (1.0 + b))  # 1 - b
    lnr = math.log((1.0 + b) / omb)  # 2 artanh(b)
    # Lab energy of a muon with direction d: E = g E* + p* |o| (h . d), with (g, -|o| h) the
    # four-velocity of the lab observer in the pair rest frame (h: direction of the pair's lab
    # motion). Both muons (d, -d) pass p > p_min exactly when |h . d| < x_m = (g E* - E_min) /
    # (p* |o|), E_min = sqrt(p_min^2 + m^2); none does if x_m <= 0.
    o = lab_to_cm1(0.0, 0.0, 0.0, 1.0, bx, by, bz)
    ox, oy, oz = rotate_z_to1(o[0], o[1], o[2], -nx, -ny, nz)  # inverse of cm_to_lab1's turn
    o = boost1(ox, oy, oz, o[3], -bkx, -bky, -bkz)
    on = math.sqrt(o[0] * o[0] + o[1] * o[1] + o[2] * o[2])
    e_min = math.sqrt(par[P_MU_PMIN] ** 2 + M_MU * M_MU)
    slack = o[3] * estar - e_min
    if slack <= 0.0:
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, wmm, q2_1, q2_2, y1, y2
    x_m = slack / (pstar * on) if pstar * on > slack else 2.0
    # Both muons inside the lab polar-angle cut: each is at least delta from the pair's lab
    # direction, delta = distance of the pair's polar angle from the allowed range (triangle
    # inequality on the sphere); the lab angle to the pair's direction, tan = sin(t*) / (g (cos t*
    # + V / b)), falls with cos t* = +-h . d, so |h . d| <= x_t (_muon_angle_band1)
    x_t = _muon_angle_band1(par, kx, ky, kz, ke, bx, by, bz, nx, ny, nz, o[3], on / o[3], b)
    if x_t <= 0.0:
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, wmm, q2_1, q2_2, y1, y2
    x_m = min(x_m, x_t + BAND_PAD)
    if on > 0.0:
        hx, hy, hz = -o[0] / on, -o[1] / on, -o[2] / on
    else:
        hx, hy, hz = ax, ay, az
    # Two maps of d (both exact in the band |h . d| < x_m, where x_m < 1):
    # band: x = h . d uniform in [-x_m, x_m], azimuth psi about h from the half-plane of a;
    # cone: c from the envelope 1/(1 - b^2 c^2), azimuth phi* about a from the half-plane of h,
    #   uniform in the phi* where |h . d| = |c ha + sqrt(1 - c^2) hp cos(phi*)| < x_m.
    # Without the band (x_m >= 1) the band map is the cone map (the BW distribution is
    # symmetric about a, so any azimuth reference will do).
    band = x_m < 1.0
    ha = hx * ax + hy * ay + hz * az
    # frame about a: e1 along the component of h perpendicular to a
    e1x, e1y, e1z = hx - ha * ax, hy - ha * ay, hz - ha * az
    hp = math.sqrt(e1x * e1x + e1y * e1y + e1z * e1z)
    if hp < 1e-9:
        e1x, e1y, e1z = rotate_z_to1(1.0, 0.0, 0.0, ax, ay, az)
    else:
        e1x, e1y, e1z = e1x / hp, e1y / hp, e1z / hp
    e2x, e2y, e2z = ay * e1z - az * e1y, az * e1x - ax * e1z, ax * e1y - ay * e1x
    # frame about h: f1 along the component of a perpendicular to h
    f1x, f1y, f1z = ax - ha * hx, ay - ha * hy, az - ha * hz
    if hp < 1e-9:
        f1x, f1y, f1z = rotate_z_to1(1.0, 0.0, 0.0, hx, hy, hz)
    else:
        f1x, f1y, f1z = f1x / hp, f1y / hp, f1z / hp
    f2x, f2y, f2z = hy * f1z - hz * f1y, hz * f1x - hx * f1z, hx * f1y - hy * f1x
    if mode == MODE_PLAIN:
        c = _sample_bw_cos(rng, b, omb)
        phs = math.pi * (2.0 * rng.random() - 1.0)  # phi* in (-pi, pi]
    elif band and mode != MODE_CONE:  # band map
        if from_v:
            vv[D_MB1], vv[D_MB2] = rng.random(), rng.random()
        u, d = _unit1(rng, edges, D_MB1, from_v, plain, vv, jj)
        u2, d = _unit1(rng, edges, D_MB2, from_v, plain, vv, jj)
        x = x_m * (2.0 * u - 1.0)
        sn = math.sqrt(max(1.0 - x * x, 0.0))
        psi = 2.0 * math.pi * u2
        cp, sp = sn * math.cos(psi), sn * math.sin(psi)
        dx = cp * f1x + sp * f2x + x * hx
        dy = cp * f1y + sp * f2y + x * hy
        dz = cp * f1z + sp * f2z + x * hz
        c = dx * ax + dy * ay + dz * az
        phs = math.atan2(dx * e2x + dy * e2y + dz * e2z, dx * e1x + dy * e1y + dz * e1z)
    else:  # cone map
        if from_v:
            vv[D_MC1], vv[D_MC2] = rng.random(), rng.random()
        u, d = _unit1(rng, edges, D_MC1, from_v, plain, vv, jj)
        c = math.tanh((2.0 * u - 1.0) * 0.5 * lnr) / b
        th_lo, th_hi = _cone_phi1(c, ha, hp, x_m)
        if th_hi <= th_lo:
            return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, wmm, q2_1, q2_2, y1, y2
        u2, d = _unit1(rng, edges, D_MC2, from_v, plain, vv, jj)
        phs = th_lo + (th_hi - th_lo) * (2.0 * u2 - (0.0 if u2 < 0.5 else 1.0))
        if u2 >= 0.5:
            phs = -phs
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    cp, sp = sn * math.cos(phs), sn * math.sin(phs)
    dx = cp * e1x + sp * e2x + c * ax
    dy = cp * e1y + sp * e2y + c * ay
    dz = cp * e1z + sp * e2z + c * az
    mu1 = boost1(pstar * dx, pstar * dy, pstar * dz, estar, bkx, bky, bkz)
    mu2 = boost1(-pstar * dx, -pstar * dy, -pstar * dz, estar, bkx, bky, bkz)
    # the muons first: a trial failing their cuts (a third of the adaptive channel's at the
    # card cuts, measured) skips the leptons' transformation and the detector cuts
    for r in range(2, 4):
        v = mu1 if r == 2 else mu2
        lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
        for j in range(4):
            buf[r, j] = lab[j]
    if not muon_pair_cuts1(par, buf[2, 0], buf[2, 1], buf[2, 2], buf[2, 3],
                           buf[3, 0], buf[3, 1], buf[3, 2], buf[3, 3]):
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, wmm, q2_1, q2_2, y1, y2
    for r in range(2):
        lab = cm_to_lab1(lab_e[r, 0], lab_e[r, 1], lab_e[r, 2], lab_e[r, 3], bx, by, bz, nx, ny,
                         nz)
        for j in range(4):
            buf[r, j] = lab[j]
    if not detector_cuts1(par, buf):
        return 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, sqrt_s, wmm, q2_1, q2_2, y1, y2
    if not (plain or cut_map):
        # a plain point: the cut map's density of ln y1 / ln tau (0 outside the window)
        lo, hi = _y1_window1(par, e, p, tau, q2cut, u_q1, u_q2, cs, boost)
        if lo <= u_y1 <= hi and hi > lo:
            rg *= _locate_unit1(edges, D_Y1, (u_y1 - lo) / (hi - lo), vv, jj)
            rm /= hi - lo
        else:
            rm = 0.0
    mu_band, g_band, mu_cone, g_cone = 1.0, 1.0, 1.0, 1.0
    if not plain:
        # both maps' unit variables of d, their grid densities and their densities over the
        # plain one (dsigma/dcos / sigma / 2 pi): cone envelope(c) / 2 pi / (allowed phi*
        # length / 2 pi), envelope = b / ((1 - b^2 c^2) lnr); band 1 / (4 pi x_m)
        dsig = breit_wheeler_dcos(c, w2, M_MU)
        # without the cone map (cone_share 0) its density enters no weight inside the band:
        # skipped (mu_cone 0; grid bins -1: no grid adaptation of its variables)
        cone = par[P_CONE] > 0.0 or not band
        uc = min(max(0.5 + math.atanh(b * c) / lnr, 0.0), 1.0) if cone else 0.0
        th_lo, th_hi = _cone_phi1(c, ha, hp, x_m) if cone else (0.0, 0.0)
        if not cone:
            mu_cone, uc2 = 0.0, 0.0
        elif th_hi > th_lo:
            mu_cone = b / ((1.0 - b * b * c * c) * lnr) * sig_gg / dsig * math.pi / (th_hi - th_lo)
            al = abs(phs)
            uc2 = min(max(0.5 * (al - th_lo) / (th_hi - th_lo), 0.0), 0.5)
            uc2 += 0.5 if phs < 0.0 else 0.0
        else:
            mu_cone, uc2 = 0.0, 0.0
        if cone:
            g_cone = _locate_unit1(edges, D_MC1, uc, vv, jj) * _locate_unit1(edges, D_MC2, uc2,
                                                                             vv, jj)
        else:
            jj[D_MC1], jj[D_MC2] = -1, -1
        if band:
            x = dx * hx + dy * hy + dz * hz
            mu_band = sig_gg / (2.0 * x_m * dsig) if abs(x) <= x_m else 0.0
            psi = math.atan2(dx * f2x + dy * f2y + dz * f2z, dx * f1x + dy * f1y + dz * f1z)
            ub = min(max(0.5 * (x / x_m + 1.0), 0.0), 1.0)
            ub2 = psi / (2.0 * math.pi) + (1.0 if psi < 0.0 else 0.0)
            g_band = _locate_unit1(edges, D_MB1, ub, vv, jj) * _locate_unit1(edges, D_MB2,
                                                                             ub2, vv, jj)
        else:
            mu_band, g_band = mu_cone, g_cone
    return w, rm, rg, mu_band, g_band, mu_cone, g_cone, sqrt_s, wmm, q2_1, q2_2, y1, y2


# ---- the foam: binary partition of the v cube (leaves = cells sampled uniformly) ----------------
# tree: node_dim[k] (-1 for a leaf), node_pos[k] (split point), node_next[k] (index of the lower
# child, the upper one follows; for a leaf: the leaf index). Leaves: lo, hi (n_leaves, N_REST),
# cum (n_leaves + 1) cumulative probabilities, dens (n_leaves) = probability / volume.


@kernel
def _foam_locate1(node_dim, node_pos, node_next, vv) -> int:
    """Leaf holding the point ``vv``."""
    k = 0
    while node_dim[k] >= 0:
        k = node_next[k] + (1 if vv[node_dim[k]] >= node_pos[k] else 0)
    return node_next[k]


@kernel
def _foam_sample1(rng, cum, lo, hi, vv) -> int:
    """A leaf by its probability, then ``vv`` uniform in it; returns the leaf."""
    r = rng.random()
    a = 0
    b = cum.shape[0] - 1
    while b - a > 1:
        mid = (a + b) // 2
        if r >= cum[mid]:
            a = mid
        else:
            b = mid
    for d in range(lo.shape[1]):
        vv[d] = lo[a, d] + (hi[a, d] - lo[a, d]) * rng.random()
    return a


@kernel
def _mc_trial(rng, par, edges, foam, vv, jj, buf, lab_e, qv):
    """One trial of the multi-channel sampler (module docstring).

    Channels: plain (share alpha_p), cut map with uniform unit variables (alpha_f), cut map on
    the grid and foam (the rest, alpha_a; band or cone muon map, shares 1 - beta and beta):
    weight = w_plain / (alpha_p + r_win (alpha_f mu_band + alpha_a r_rest foam(v) m)), with
    m = (1 - beta) g_band mu_band + beta g_cone mu_cone. Returns (weight, leaf, integrand of
    the foam (0 if the weight is 0), w_plain, sqrt_s, w_mumu, q2_1, q2_2, y1, y2, sampled):
    ``sampled`` is True if v was drawn uniformly in the leaf (adaptive channel).
    """
    node_dim, node_pos, node_next, cum, lo, hi, dens = foam
    alpha_p = par[P_ALPHA0]
    alpha_f = par[P_ALPHA_FLAT]
    beta = par[P_CONE]
    mode = MODE_PLAIN
    leaf = -1
    sampled = False
    if alpha_p < 1.0:
        r = rng.random()
        if r >= alpha_p + alpha_f:
            mode = MODE_CONE if rng.random() < beta else MODE_BAND
            leaf = _foam_sample1(rng, cum, lo, hi, vv)
            sampled = True
        elif r >= alpha_p:
            mode = MODE_FLAT
    t = _eemumu_trial(rng, par, edges, mode, vv, jj, buf, lab_e, qv)
    w = t[0]
    f = 0.0
    if w > 0.0 and alpha_p < 1.0:
        if leaf < 0:
            leaf = _foam_locate1(node_dim, node_pos, node_next, vv)
        r_win, r_rest, mu_band, g_band, mu_cone, g_cone = t[1], t[2], t[3], t[4], t[5], t[6]
        m = (1.0 - beta) * g_band * mu_band + beta * g_cone * mu_cone
        if r_win * r_rest * m > 0.0:
            f = w / (r_win * r_rest * m)
        alpha_a = 1.0 - alpha_p - alpha_f
        w /= alpha_p + r_win * (alpha_f * mu_band + alpha_a * r_rest * dens[leaf] * m)
    return w, leaf, f, t[0], t[7], t[8], t[9], t[10], t[11], t[12], sampled


@kernel
def _eemumu_weights(rng, par, edges, foam, n, hist, leaf_max, leaf_sum2, leaf_n):
    """Weights of ``n`` trials of the sampler.

    Adds w^GRID_POWER to ``hist[d, u-bin_d]`` (grid adaptation), keeps in ``leaf_max`` the
    largest integrand of the foam seen in each leaf (envelope correction) and adds, for the
    trials drawn uniformly in a leaf, f^2 to ``leaf_sum2`` and 1 to ``leaf_n`` (f = 0 for a
    trial that fails: the leaf's mean square integrand).
    """
    out = np.empty(n)
    buf = np.zeros((4, 4))
    lab_e = np.zeros((2, 4))
    qv = np.zeros((2, 4))
    jj = np.zeros(N_DIM, np.int64)
    vv = np.zeros(N_DIM)
    for i in range(n):
        t = _mc_trial(rng, par, edges, foam, vv, jj, buf, lab_e, qv)
        w = t[0]
        out[i] = w
        if t[10]:
            leaf_n[t[1]] += 1.0
            leaf_sum2[t[1]] += t[2] * t[2]
        if w > 0.0:
            wp = w**GRID_POWER
            for d in range(N_DIM):
                if jj[d] >= 0:
                    hist[d, jj[d]] += wp
            if t[1] >= 0:
                leaf_max[t[1]] = max(leaf_max[t[1]], t[2])
    return out


@kernel
def _explore_cell(rng, par, edges, lo, hi, n, nsub):
    """``n`` points of the adaptive channel with v uniform in the foam cell [lo, hi).

    Integrand = w_plain / (r_win r_rest m) (cross section per unit v volume, ``_mc_trial``).
    Returns (sum, max, submax, sum of squares) with submax[d, k] the maximum in the k-th of
    ``nsub`` slices of the cell along d.
    """
    buf = np.zeros((4, 4))
    lab_e = np.zeros((2, 4))
    qv = np.zeros((2, 4))
    jj = np.zeros(N_DIM, np.int64)
    vv = np.zeros(N_DIM)
    sub = np.zeros((N_REST, nsub))
    beta = par[P_CONE]
    total = 0.0
    total2 = 0.0
    top = 0.0
    for _ in range(n):
        for d in range(N_REST):
            vv[d] = lo[d] + (hi[d] - lo[d]) * rng.random()
        mode = MODE_CONE if rng.random() < beta else MODE_BAND
        t = _eemumu_trial(rng, par, edges, mode, vv, jj, buf, lab_e, qv)
        if t[0] > 0.0:
            m = (1.0 - beta) * t[4] * t[3] + beta * t[6] * t[5]
            if t[1] * t[2] * m <= 0.0:
                continue
            f = t[0] / (t[1] * t[2] * m)
            total += f
            total2 += f * f
            top = max(top, f)
            for d in range(N_REST):
                k = min(int((vv[d] - lo[d]) / (hi[d] - lo[d]) * nsub), nsub - 1)
                sub[d, k] = max(sub[d, k], f)
    return total, top, sub, total2


@kernel
def _eemumu_generate(rng, par, edges, foam, n, w_max, partial):
    """``n`` events by hit-or-miss against ``w_max``; ``partial``: trials above w_max are kept
    with the raw weight w / w_max (partial unweighting), else with 1 (counted as overweight)."""
    mom = np.zeros((4 * n, 4))
    truth = np.empty((n, 6))
    raw = np.ones(n)
    buf = np.zeros((4, 4))
    lab_e = np.zeros((2, 4))
    qv = np.zeros((2, 4))
    jj = np.zeros(N_DIM, np.int64)
    vv = np.zeros(N_DIM)
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    k = 0
    while k < n:
        w, _, _, _, sqrt_s, wmm, q1, q2, y1, y2, _ = _mc_trial(rng, par, edges, foam, vv, jj,
                                                               buf, lab_e, qv)
        n_trials += 1
        sum_w += w
        sum_w2 += w * w
        if w > w_max:
            n_over += 1
        if w > 0.0 and rng.random() * w_max < w:
            for r in range(4):
                for j in range(4):
                    mom[4 * k + r, j] = buf[r, j]
            truth[k, 0], truth[k, 1], truth[k, 2] = sqrt_s, wmm, q1
            truth[k, 3], truth[k, 4], truth[k, 5] = q2, y1, y2
            if partial and w > w_max:
                raw[k] = w / w_max
            k += 1
    return mom, truth, raw, n_trials, sum_w, sum_w2, n_over


def uniform_grid(n_bins: int = N_BINS) -> np.ndarray:
    """Edges (N_DIM, n_bins + 1) of the flat grid."""
    return np.tile(np.linspace(0.0, 1.0, n_bins + 1), (N_DIM, 1))


def refine_grid(edges: np.ndarray, hist: np.ndarray, damping: float | None = None,
                floor: float | None = None) -> np.ndarray:
    """New edges whose bins hold equal shares of the bin importances (VEGAS-like).

    ``hist[d, j]``: sum of w^GRID_POWER of the pilot points in bin j of dimension d; the
    importance (hist)^(1/GRID_POWER) is the bin's integral for power 1, grows towards the
    bin's largest weight for larger powers (which limits the largest weights). Importances are
    smoothed over neighbour bins, a floor of ``floor`` times the mean keeps every bin
    populated, ``damping`` < 1 (power) slows the change, and the new density is mixed with
    GRID_MIX of the flat one. The density is piecewise constant in the old bins, so the new
    edges follow by linear interpolation of the cumulative sum (G. P. Lepage, J. Comput. Phys.
    27 (1978) 192).
    """
    damping = GRID_DAMPING if damping is None else damping
    floor = GRID_FLOOR if floor is None else floor
    new = edges.copy()
    n_bins = edges.shape[1] - 1
    targets = np.linspace(0.0, 1.0, n_bins + 1)
    for d in range(edges.shape[0]):
        m = hist[d] ** (1.0 / GRID_POWER)
        if not m.sum() > 0.0:
            continue
        pad = np.concatenate(([m[0]], m, [m[-1]]))
        sm = (pad[:-2] + pad[1:-1] + pad[2:]) / 3.0
        sm = sm / sm.sum()
        r = (sm + floor / n_bins) ** damping
        cum = np.concatenate(([0.0], np.cumsum(r)))
        # mixed with the flat density: no bin of u is compressed below GRID_MIX
        cdf = (1.0 - GRID_MIX) * cum / cum[-1] + GRID_MIX * edges[d]
        new[d] = np.interp(targets, cdf, edges[d])
        new[d, 0], new[d, -1] = 0.0, 1.0
    return new


def trivial_foam() -> tuple:
    """One cell, the unit cube, with density 1."""
    return (np.array([-1]), np.zeros(1), np.zeros(1, np.int64), np.array([0.0, 1.0]),
            np.zeros((1, N_REST)), np.ones((1, N_REST)), np.ones(1))


def build_foam(rng: np.random.Generator, par: np.ndarray, edges: np.ndarray,
               n_cells: int | None = None, n_explore: int | None = None,
               nsub: int | None = None, top_share: float = 1.0) -> tuple:
    """Binary partition of the v cube adapted to the integrand's maximum (mFOAM-like).

    Every cell is explored with ``n_explore`` uniform points; the cell whose split most reduces
    the envelope volume x maximum (best split among ``nsub`` - 1 planes per dimension, from the
    slice maxima) is split next, until ``n_cells`` leaves. Leaf probability ~ volume x
    (maximum, or ``FOAM_FLOOR`` x the mean envelope density if larger), so weights are
    roughly flat (S. Jadach, Comput. Phys. Commun. 152 (2003) 55, arXiv:physics/0203033).
    """
    n_cells = FOAM_CELLS if n_cells is None else n_cells
    n_explore = FOAM_EXPLORE if n_explore is None else n_explore
    nsub = FOAM_SLICES if nsub is None else nsub
    cells = []  # [lo, hi, sum of f^2, max, best split (gain, dim, pos), node index]
    node_dim = [-1]
    node_pos = [0.0]
    node_next = [0]

    def explore(lo: np.ndarray, hi: np.ndarray, node: int, parent_top: float) -> None:
        total, top, sub, total2 = _explore_cell(rng, par, edges, lo, hi, n_explore, nsub)
        vol = float(np.prod(hi - lo))
        best = (0.0, -1, 0.0)
        if top > 0.0:
            for d in range(N_REST):
                left = np.maximum.accumulate(sub[d])[:-1]
                right = np.maximum.accumulate(sub[d][::-1])[::-1][1:]
                k = np.arange(1, nsub)
                env = (k * left + (nsub - k) * right) / nsub
                i = int(np.argmin(env))
                gain = vol * (top - env[i])
                if gain > best[0]:
                    best = (gain, d, lo[d] + (hi[d] - lo[d]) * k[i] / nsub)
        # the envelope keeps FOAM_REL of the parent's maximum: a cell's maximum from a few
        # points can be far too low (a cell with none seen would get no trials at all)
        cells.append([lo, hi, total2, max(top, FOAM_REL * parent_top), best, node])
        heapq.heappush(heap, (-best[0], len(cells) - 1))

    heap: list = []
    explore(np.zeros(N_REST), np.ones(N_REST), 0, 0.0)
    alive = {0}
    while len(alive) < n_cells and heap:
        neg_gain, i = heapq.heappop(heap)
        if neg_gain >= 0.0:
            break
        lo, hi, _, parent_top, (_, d, pos), node = cells[i]
        alive.remove(i)
        node_dim[node] = d
        node_pos[node] = pos
        node_next[node] = len(node_dim)
        for side in range(2):
            clo, chi = lo.copy(), hi.copy()
            if side == 0:
                chi[d] = pos
            else:
                clo[d] = pos
            node_dim.append(-1)
            node_pos.append(0.0)
            node_next.append(0)
            explore(clo, chi, len(node_dim) - 1, parent_top)
            alive.add(len(cells) - 1)
    leaves = sorted(alive)
    lo = np.array([cells[i][0] for i in leaves])
    hi = np.array([cells[i][1] for i in leaves])
    vol = np.prod(hi - lo, axis=1)
    top = np.array([cells[i][3] for i in leaves])
    sum2 = np.array([cells[i][2] for i in leaves])
    if not (vol * top).sum() > 0.0:
        return trivial_foam(), np.ones(1), np.ones(1), np.ones(1)
    node_dim_a = np.array(node_dim, np.int64)
    node_next_a = np.array(node_next, np.int64)
    for k, i in enumerate(leaves):
        node_next_a[cells[i][5]] = k
    foam = (node_dim_a, np.array(node_pos), node_next_a, None, lo, hi, None)
    n_seen = np.full(len(leaves), float(n_explore))
    foam = foam_with_maxima(foam, leaf_importance(top, sum2, n_seen, top_share))
    return foam, top, sum2, n_seen


def leaf_importance(top: np.ndarray, sum2: np.ndarray, n_seen: np.ndarray,
                    top_share: float) -> np.ndarray:
    """A leaf's sampling density: the RMS of the integrand over the points seen uniformly in it
    (``sum2`` / ``n_seen``), at least ``top_share`` x its envelope maximum ``top`` (1: the
    envelope, which minimises w_max for exact unweighting; partial unweighting uses
    ``FOAM_TOP_SHARE``).

    Probabilities p ~ volume x RMS minimise the weights' second moment sum_c vol_c^2 E_c[f^2]
    / p_c (Lagrange multiplier; cf. the stratified allocation of Press & Farrar, Comput. Phys.
    4 (1990) 190); the envelope maximum alone
    (mFOAM) spent ~80 % of the trials here in cells whose few accepted points had large
    weights, mostly at low W where nearly no muon pair passes the cuts (measured, issue 2).
    The floor keeps cells whose exploration missed a narrow live region reachable.
    """
    return np.maximum(np.sqrt(sum2 / np.maximum(n_seen, 1.0)), top_share * top)


def foam_with_maxima(foam: tuple, top: np.ndarray) -> tuple:
    """The foam with leaf probabilities ~ volume x max(top, ``FOAM_FLOOR`` x its mean over the
    cube); ``top`` is the leaves' density (``leaf_importance``)."""
    node_dim, node_pos, node_next, _, lo, hi, _ = foam
    vol = np.prod(hi - lo, axis=1)
    env = vol * np.maximum(top, FOAM_FLOOR * float((vol * top).sum()))
    prob = env / env.sum()
    return (node_dim, node_pos, node_next, np.concatenate(([0.0], np.cumsum(prob))), lo, hi,
            prob / vol)


def excess_quantile(w: np.ndarray, fraction: float) -> float:
    """Smallest t with sum(max(w - t, 0)) <= fraction * sum(w) (t = max(w) for fraction 0).

    The excess is convex and decreasing in t, so t = max_k (S_k - fraction W) / k with S_k
    the sum of the k largest weights and W the sum of all.
    """
    ws = np.sort(w)[::-1]
    s_k = np.cumsum(ws)
    k = np.arange(1, ws.size + 1)
    return float(max(np.max((s_k - fraction * s_k[-1]) / k), 0.0))


class EEMuMu(Process):
    """e+e- -> e+e- mu+mu- (two-photon, equivalent-photon approximation)."""

    name = "eemumu"
    description = "e+e- -> e+e-mu+mu- via gamma gamma (EPA, Q^2-dependent fluxes, exact kinematics)"
    params = {
        "w_min_gev": Param(
            float, 2.0 * M_MU,
            "minimum muon-pair mass W (GeV); the default is the threshold 2 m_mu",
            minimum=0.0,
        ),
        "q2_max_scale": Param(
            float, 1.0,
            "photon virtuality cut-off Q^2_max = q2_max_scale * y1 y2 s (EPA scale; vary by 4 "
            "for the EPA uncertainty)",
            minimum=0.0, exclusive_minimum=True, maximum=100.0,
        ),
        "adaptive": Param(
            bool, True,
            "multi-channel sampler adapted to the generator-level cuts in the pilot run (module "
            "docstring): same cross section and distributions as the plain sampler, far more "
            "efficient under tight cuts; false = plain sampler only",
        ),
        "plain_fraction": Param(
            float, 0.1,
            "share of trials from the plain sampler in the adaptive mode; bounds every weight by "
            "1/plain_fraction times the plain sampler's weight at that point",
            minimum=0.0, exclusive_minimum=True, maximum=0.5,
        ),
        "cone_share": Param(
            float, CONE_SHARE,
            "share of the cone muon map (peaked along the photon axis) in the adaptive channel; "
            "the rest uses the band map. Muon cuts far from the beams (the search card's 25-150 "
            "deg) make the cone map nearly useless: 0 there",
            minimum=0.0, maximum=1.0,
        ),
        "unweight_excess": Param(
            float, 0.0,
            "partial unweighting: w_max is set where trials above it carry this fraction of the "
            "cross section (pilot), and those events keep the weight w / w_max (weighted file, "
            "weights normalised to mean 1 per block); 0 = unweighted events (weight 1)",
            minimum=0.0, maximum=0.2,
        ),
    }
    cuts = {**MUON_PAIR_CUTS, **CUTS_EXTRA}
    #: samplers adapted by a partial-unweighting pilot (``PILOT_CANDIDATES``)
    pilot_candidates: int = PILOT_CANDIDATES

    def __init__(self, params: dict, cuts: dict, beams: Beams) -> None:
        super().__init__(params, cuts, beams)
        self.weighted = params.get("unweight_excess", 0.0) > 0.0

    def validate(self, where: str) -> None:
        validate_muon_pair_cuts(self.c, self.beams, where)
        validate_photon_veto(self.c, where, prefix="e_veto")
        check(
            self.p["w_min_gev"] < 0.9 * self.beams.sqrt_s_gev,
            f"{where}: process.w_min_gev ({self.p['w_min_gev']}) must be well below sqrt(s) = "
            f"{self.beams.sqrt_s_gev:.3f} GeV",
        )

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR_EEMUMU)
        fill_common_par(par, self.c, self.beams)
        w_min = max(self.p["w_min_gev"], 2.0 * M_MU)
        par[P_W2MIN] = w_min * w_min
        par[P_Q2SCALE] = self.p["q2_max_scale"]
        par[P_ALPHA0] = self.p["plain_fraction"] if self.p["adaptive"] else 1.0
        par[P_ALPHA_FLAT] = FLAT_FRACTION
        par[P_CONE] = self.p["cone_share"]
        c = self.c
        k = c["pmiss_resolution_sigmas"]
        par[P_WIN_ON], par[P_WIN_CLO], par[P_WIN_CHI] = par[P_PM_ON], par[P_PM_CLO], par[P_PM_CHI]
        if k > 0.0:
            # the loosened cuts replace the plain ones of muon_pair_cuts1
            lo, hi = c["pmiss_theta_min_deg"], c["pmiss_theta_max_deg"]
            par[P_FZ_K] = k
            par[P_FZ_PMIN] = c["pmiss_cm_min_gev"]
            par[P_FZ_CLO] = math.cos(math.radians(hi)) if hi < 180.0 else -2.0
            par[P_FZ_CHI] = math.cos(math.radians(lo)) if lo > 0.0 else 2.0
            par[P_PMISS], par[P_PM_ON], par[P_PM_CLO], par[P_PM_CHI] = 0.0, 0.0, -2.0, 2.0
            par[P_WIN_ON] = 1.0 if (lo > 0.0 or hi < 180.0) else 0.0
            par[P_WIN_CLO], par[P_WIN_CHI] = par[P_FZ_CLO], par[P_FZ_CHI]
            par[P_WIN_D] = k * WINDOW_SIGMA_GEV
        veto = photon_veto_array({
            "photon_veto_e_gev": c["e_veto_e_gev"],
            "photon_veto_theta_min_deg": c["e_veto_theta_min_deg"],
            "photon_veto_theta_max_deg": c["e_veto_theta_max_deg"],
            "photon_veto_gaps_deg": c["e_veto_gaps_deg"],
        })
        par[P_EV:P_EV + veto.size] = veto
        par[P_MU_TMIN], par[P_MU_TMAX] = _muon_theta_edges1(par[P_MU_CLO], par[P_MU_CHI])
        return par

    @property
    def grid(self) -> np.ndarray:
        """Edges of the adaptive channel's grid (flat until ``prepare`` adapts it)."""
        g = getattr(self, "_grid", None)
        return uniform_grid() if g is None else g

    @property
    def foam(self) -> tuple:
        """The adaptive channel's foam on the grid's v cube (one cell until ``prepare``)."""
        f = getattr(self, "_foam", None)
        return trivial_foam() if f is None else f

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Weights (pb) of ``n`` trials of the current sampler (unadapted before ``prepare``)."""
        hist = np.zeros((N_DIM, self.grid.shape[1] - 1))
        k = self.foam[4].shape[0]
        return _eemumu_weights(rng, self._par(), self.grid, self.foam, n, hist, np.zeros(k),
                               np.zeros(k), np.zeros(k))

    def prepare(self, rng: np.random.Generator, points: int = PILOT_POINTS) -> None:
        """Pilot run: adapt the sampler, then ``w_max`` from at least ``PILOT_MIN_ACCEPTED``
        nonzero weights of the frozen sampler.

        Adaptive mode: ``ADAPT_ITERATIONS`` passes of ``points`` trials refine the grid; the
        foam (up to ``FOAM_CELLS`` cells, ``points`` / 100 for small pilots) is built on it
        and its cell maxima corrected by ``FOAM_CORRECTIONS`` passes of ``points`` trials.
        Then batches of ``points`` trials (at most ``PILOT_MAX_BATCHES``) until
        ``PILOT_MIN_ACCEPTED`` nonzero weights: w_max = ``PILOT_SAFETY`` x the weight above
        which their excess is ``PILOT_TRUNCATION`` of their sum (``excess_quantile``; 0: the
        maximum). With partial unweighting, ``pilot_candidates`` samplers are adapted one after
        the other from the pilot stream and the one with the highest estimated unweighting
        efficiency (pilot sigma / w_max) is kept; its w_max then comes from fresh batches (not
        from those that chose it). Kept: ``pilot_stats`` (final pilot), ``pilot_accepted`` (its
        nonzero weights), ``pilot_max_weight``.
        """
        par = self._par()
        n_cand = self.pilot_candidates if (self.weighted and par[P_ALPHA0] < 1.0) else 1
        best = None
        for _ in range(n_cand):
            cand = self._adapt(rng, par, points)
            edges, foam, hist, leaf_max, leaf_sum2, leaf_n = cand
            stats, n_acc, w = self._final_pilot(rng, par, points, *cand)
            if n_cand > 1 and n_acc > 0:
                eff = stats.cross_section_pb / self._w_max_of(w)
                if best is None or eff > best[0]:
                    best = (eff, cand)
        if best is not None:
            cand = best[1]
            edges, foam = cand[0], cand[1]
            stats, n_acc, w = self._final_pilot(rng, par, points, *cand)
        self._grid = edges
        self._foam = foam
        self.w_max = self._w_max_of(w)
        self.pilot_cross_section_pb = stats.cross_section_pb
        self.pilot_stats = stats
        self.pilot_accepted = n_acc
        self.pilot_max_weight = float(w.max())

    def _adapt(self, rng: np.random.Generator, par: np.ndarray, points: int) -> tuple:
        """Grid and foam adapted in the pilot (``prepare``), with the pilot's accumulators."""
        edges = uniform_grid()
        foam = trivial_foam()
        hist = np.zeros((N_DIM, N_BINS))
        leaf_max = np.zeros(1)
        leaf_sum2, leaf_n = np.zeros(1), np.zeros(1)
        if par[P_ALPHA0] < 1.0:
            for _ in range(ADAPT_ITERATIONS):
                hist[:] = 0.0
                w = _eemumu_weights(rng, par, edges, foam, points, hist, leaf_max, leaf_sum2,
                                    leaf_n)
                self._check_pilot(w)
                edges = refine_grid(edges, hist)
            # partial unweighting: variance-minimising leaf densities; exact: the envelope
            share = FOAM_TOP_SHARE if self.weighted else 1.0
            foam, top, leaf_sum2, leaf_n = build_foam(
                rng, par, edges, n_cells=max(min(FOAM_CELLS, points // 100), 1), top_share=share)
            for _ in range(FOAM_CORRECTIONS):
                # maxima and mean squares accumulate over the exploration and every pass
                leaf_max = np.zeros(top.size)
                w = _eemumu_weights(rng, par, edges, foam, points, hist, leaf_max, leaf_sum2,
                                    leaf_n)
                self._check_pilot(w)
                top = np.maximum(top, leaf_max)
                foam = foam_with_maxima(foam, leaf_importance(top, leaf_sum2, leaf_n, share))
        return edges, foam, hist, leaf_max, leaf_sum2, leaf_n

    def _final_pilot(self, rng: np.random.Generator, par: np.ndarray, points: int, edges,
                     foam, hist, leaf_max, leaf_sum2, leaf_n) -> tuple:
        """(SamplingStats, nonzero count, nonzero weights) of the frozen sampler's batches."""
        stats = SamplingStats()
        n_acc = 0
        nonzero = []
        for _ in range(PILOT_MAX_BATCHES):
            w = _eemumu_weights(rng, par, edges, foam, points, hist, leaf_max, leaf_sum2, leaf_n)
            self._check_pilot(w)
            stats += SamplingStats(w.size, float(w.sum()), float(w @ w), 0)
            nonzero.append(w[w > 0.0])
            n_acc += nonzero[-1].size
            if n_acc >= PILOT_MIN_ACCEPTED:
                break
        if n_acc == 0:
            raise CardError(
                f"process {self.name!r}: no accepted phase-space point in {stats.n_trials} pilot "
                "trials; loosen the generator-level cuts"
            )
        return stats, n_acc, np.concatenate(nonzero)

    def _w_max_of(self, w: np.ndarray) -> float:
        """w_max from the final pilot's nonzero weights ``w`` (``prepare``)."""
        frac = self.p["unweight_excess"]
        if frac > 0.0:
            # partial unweighting: events above w_max carry w / w_max, a fraction ~frac of sigma
            return float(np.median([excess_quantile(w[k::WMAX_GROUPS], frac)
                                    for k in range(WMAX_GROUPS)]))
        return PILOT_SAFETY * excess_quantile(w, PILOT_TRUNCATION)

    def _check_pilot(self, w: np.ndarray) -> None:
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"process {self.name!r}: non-finite weight in the pilot run")

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        mom, truth, raw, n_trials, sum_w, sum_w2, n_over = _eemumu_generate(
            rng, self._par(), self.grid, self.foam, n, self.w_max, self.weighted
        )
        pdg = np.tile(np.array([ELECTRON, -ELECTRON, MUON, -MUON], np.int32), n)
        offset = np.arange(n + 1, dtype=np.int64) * 4
        names = ("sqrt_s", "w_mumu", "q2_em", "q2_ep", "y_em", "y_ep")
        chunk = chunk_from_arrays(mom, pdg, offset,
                                  {k: truth[:, i].copy() for i, k in enumerate(names)})
        if self.weighted:
            # an event's expected yield is w / w_max per trial (hit probability min(1, w/w_max)
            # x weight max(1, w/w_max)); normalised to mean 1 in the block as in gen.processes.
            # tautau (self-normalised importance sampling, relative bias O(1/n)), so that
            # sigma x L / N x weight is the expected yield per event
            chunk.weight = raw * (n / raw.sum())
        chunk.check(self.name)
        return chunk, SamplingStats(int(n_trials), float(sum_w), float(sum_w2), int(n_over))
