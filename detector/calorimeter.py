"""ECL clusters: geometry with the barrel-endcap gaps, energy and angular resolution, deposits.

Model (parameters and sources in ``detector/config.py``, ``CalorimeterConfig``):

- Impact point: neutral particles fly in a straight line, charged ones along their helix
  (``detector.tracking``), from the production vertex to the ECL surface: the barrel cylinder
  r = ``barrel_r_cm`` between the endcap planes z = ``bwd_z_cm`` and ``fwd_z_cm``, else the endcap
  plane. A charged track that curls up inside the barrel radius leaves no cluster unless it
  reaches an endcap plane within its first half turn (s_perp <= pi R): a looper that needs more
  turns is taken to range out in the material first. The cluster angles are those of the impact
  point seen from the origin (for prompt photons, the photon direction).
- Regions by the impact polar angle, as basf2 ``ECL::getDetectorRegion``: 1 forward endcap,
  2 barrel, 3 backward endcap, 11/13 the forward/backward barrel-endcap gaps, 0 outside. Only
  regions 1-3 make clusters: a particle in a gap is lost (in reality it is partly measured).
- Deposits (one cluster per particle, no splitting or merging, no track-cluster matching beyond
  ``truth``): photons and e+- deposit their energy with sigma_E/E = a/E (+) b/E^(1/4) (+) c
  (no bremsstrahlung or conversions); muons deposit a minimum-ionising energy drawn from a Moyal
  (Landau-like) distribution, most probable value ``mip_mpv_gev`` and width ``mip_width_gev``,
  capped at the kinetic energy; charged hadrons (pi, K, p) and K_L0, n, n-bar interact with
  probability ``hadron_interaction_prob`` (0.8 interaction lengths) and then deposit a uniform
  fraction of their kinetic energy (estimate: a crude stand-in for hadronic showers), else the
  charged ones leave a MIP deposit and the neutral ones nothing.
- Final-state pi0 (pdg 111, status 1) decay here to two photons isotropic in the pi0 rest frame
  (``decay_pi0``); both clusters carry the pi0's index as truth.
- Neutrinos, the invisible BSM ids and every other id leave nothing.
- Beam background: optional Poisson number of clusters per event (``beam_bkg_clusters_mean``,
  default off) with an exponential energy spectrum, uniform in cos(theta) over the ECL polar
  range and in phi; truth -1.
- Photons (pdg 22, also those of a pi0 decayed here) hitting the crystals make a cluster with
  probability ``photon_efficiency_fwd/brl/bwd`` of their region (``photon_detected1``, one uniform
  draw per photon); e+- and hadrons are not affected. Default 1.0: no citable Belle II absolute
  photon efficiency was found (sources checked: detector/config.py). The call sits in
  ``detector.simulate._add_cluster`` (EM deposits of neutral particles).
- Clusters with reconstructed energy below ``cluster_threshold_gev`` are dropped.
- The cluster angles are smeared with sigma = a (+) b/sqrt(E/GeV) (same for theta and phi).
"""

from __future__ import annotations

import math

import numpy as np

from gen.jit import kernel

from .config import CalorimeterConfig
from .tracking import arc_to_radius1, helix_position1, radius_cm

# indices of the flat calorimeter parameter array (angles in rad)
C_TH_FWD_MIN = 0
C_TH_FWD_MAX = 1
C_TH_BRL_MIN = 2
C_TH_BRL_MAX = 3
C_TH_BWD_MIN = 4
C_TH_BWD_MAX = 5
C_BARREL_R = 6
C_FWD_Z = 7
C_BWD_Z = 8
C_THRESHOLD = 9
C_RES_A = 10
C_RES_B = 11
C_RES_C = 12
C_ANG_A = 13
C_ANG_B = 14
C_MIP_MPV = 15
C_MIP_WIDTH = 16
C_HAD_INT = 17
C_DECAY_PI0 = 18
C_BKG_MEAN = 19
C_BKG_E = 20
C_PHOT_EFF_FWD = 21
C_PHOT_EFF_BRL = 22
C_PHOT_EFF_BWD = 23
N_CALORIMETER_PARAMS = 24

#: ECL regions (basf2 ecl/utility/include/utilityFunctions.h, enum DetectorRegion)
OUTSIDE, FWD, BRL, BWD, FWD_GAP, BWD_GAP = 0, 1, 2, 3, 11, 13


def calorimeter_params(cfg: CalorimeterConfig) -> np.ndarray:
    """The flat float64 parameter array the calorimeter kernels read."""
    out = np.empty(N_CALORIMETER_PARAMS)
    out[C_TH_FWD_MIN] = math.radians(cfg.theta_fwd_min_deg)
    out[C_TH_FWD_MAX] = math.radians(cfg.theta_fwd_max_deg)
    out[C_TH_BRL_MIN] = math.radians(cfg.theta_brl_min_deg)
    out[C_TH_BRL_MAX] = math.radians(cfg.theta_brl_max_deg)
    out[C_TH_BWD_MIN] = math.radians(cfg.theta_bwd_min_deg)
    out[C_TH_BWD_MAX] = math.radians(cfg.theta_bwd_max_deg)
    out[C_BARREL_R] = cfg.barrel_r_cm
    out[C_FWD_Z] = cfg.fwd_z_cm
    out[C_BWD_Z] = cfg.bwd_z_cm
    out[C_THRESHOLD] = cfg.cluster_threshold_gev
    out[C_RES_A] = cfg.res_noise_gev
    out[C_RES_B] = cfg.res_stochastic
    out[C_RES_C] = cfg.res_constant
    out[C_ANG_A] = cfg.sigma_angle_a_mrad * 1.0e-3
    out[C_ANG_B] = cfg.sigma_angle_b_mrad * 1.0e-3
    out[C_MIP_MPV] = cfg.mip_mpv_gev
    out[C_MIP_WIDTH] = cfg.mip_width_gev
    out[C_HAD_INT] = cfg.hadron_interaction_prob
    out[C_DECAY_PI0] = 1.0 if cfg.decay_pi0 else 0.0
    out[C_BKG_MEAN] = cfg.beam_bkg_clusters_mean
    out[C_BKG_E] = cfg.beam_bkg_energy_gev
    out[C_PHOT_EFF_FWD] = cfg.photon_efficiency_fwd
    out[C_PHOT_EFF_BRL] = cfg.photon_efficiency_brl
    out[C_PHOT_EFF_BWD] = cfg.photon_efficiency_bwd
    return out


@kernel
def ecl_region1(theta, cp):
    """ECL region of polar angle ``theta`` (rad): 0, 1, 2, 3, 11 or 13 as in basf2."""
    if theta < cp[C_TH_FWD_MIN]:
        return OUTSIDE
    if theta < cp[C_TH_FWD_MAX]:
        return FWD
    if theta < cp[C_TH_BRL_MIN]:
        return FWD_GAP
    if theta < cp[C_TH_BRL_MAX]:
        return BRL
    if theta < cp[C_TH_BWD_MIN]:
        return BWD_GAP
    if theta < cp[C_TH_BWD_MAX]:
        return BWD
    return OUTSIDE


@kernel
def in_crystals1(region):
    """True for the regions that make clusters: forward, barrel, backward (not gaps)."""
    return FWD <= region <= BWD


@kernel
def photon_efficiency1(region, cp):
    """Cluster-making probability of a photon hitting the crystals of ``region`` (0 in a gap)."""
    if region == FWD:
        return cp[C_PHOT_EFF_FWD]
    if region == BRL:
        return cp[C_PHOT_EFF_BRL]
    if region == BWD:
        return cp[C_PHOT_EFF_BWD]
    return 0.0


@kernel
def photon_detected1(rng, region, cp):
    """Whether a photon hitting ``region`` makes a cluster; always one uniform draw (a fixed draw
    count per photon), and u < 1.0 always holds, so an efficiency of 1 never loses a photon."""
    u = rng.random()
    return u < photon_efficiency1(region, cp)


@kernel
def photons_detected(rng, regions, cp):
    """``photon_detected1`` over an int64 array of regions (a boolean array)."""
    out = np.empty(regions.shape[0], np.bool_)
    for i in range(regions.shape[0]):
        out[i] = photon_detected1(rng, regions[i], cp)
    return out


@kernel
def ecl_impact1(x0, y0, z0, px, py, pz, q, b_t, cp):
    """(reached, theta, phi) of the impact point on the ECL surface, seen from the origin."""
    pt = math.hypot(px, py)
    if q == 0 and x0 == 0.0 and y0 == 0.0 and z0 == 0.0:  # from the origin: its own direction
        return True, math.atan2(pt, pz), math.atan2(py, px)
    rb = cp[C_BARREL_R]
    if pt > 0.0:
        s_b = arc_to_radius1(x0, y0, px, py, q, b_t, rb)
        if not math.isnan(s_b):
            x, y, z = helix_position1(x0, y0, z0, px, py, pz, q, b_t, s_b)
            if cp[C_BWD_Z] <= z <= cp[C_FWD_Z]:
                return True, math.atan2(math.hypot(x, y), z), math.atan2(y, x)
    if pz == 0.0:
        return False, 0.0, 0.0
    zf = cp[C_FWD_Z] if pz > 0.0 else cp[C_BWD_Z]
    if pt > 0.0:
        s_e = (zf - z0) * pt / pz
        if s_e < 0.0:
            return False, 0.0, 0.0
        if q != 0 and s_e > math.pi * radius_cm(pt, b_t):
            return False, 0.0, 0.0  # a curler: loses itself before its helix gets there
        x, y, _ = helix_position1(x0, y0, z0, px, py, pz, q, b_t, s_e)
    else:
        if (zf - z0) * pz < 0.0:
            return False, 0.0, 0.0
        x, y = x0, y0
    r = math.hypot(x, y)
    if r > rb:
        return False, 0.0, 0.0
    return True, math.atan2(r, zf), math.atan2(y, x)


@kernel
def sigma_e1(e, cp):
    """Energy resolution sigma_E (GeV) = E (a/E (+) b/E^(1/4) (+) c)."""
    e = max(e, 0.0)
    b2 = cp[C_RES_B] ** 2 * e * math.sqrt(e)
    return math.sqrt(cp[C_RES_A] ** 2 + b2 + (cp[C_RES_C] * e) ** 2)


@kernel
def sigma_angle1(e, cp):
    """Cluster angular resolution (rad) = a (+) b / sqrt(E/GeV)."""
    return math.hypot(cp[C_ANG_A], cp[C_ANG_B] / math.sqrt(max(e, 1.0e-4)))


@kernel
def smear_energy1(rng, e, cp):
    """Reconstructed electromagnetic energy (Gaussian; may fall below threshold)."""
    return e + sigma_e1(e, cp) * rng.standard_normal()


@kernel
def mip_deposit1(rng, ekin, cp):
    """Moyal-distributed minimum-ionising deposit: mpv + w * (-ln chi2_1), capped at ekin."""
    g = rng.standard_normal()
    dep = cp[C_MIP_MPV] - cp[C_MIP_WIDTH] * math.log(max(g * g, 1.0e-300))
    return min(max(dep, 0.0), ekin)


@kernel
def hadron_deposit1(rng, ekin, charged, cp):
    """Deposit of a hadron: uniform fraction of ekin if it interacts, else MIP (charged) or 0."""
    if rng.random() < cp[C_HAD_INT]:
        return rng.random() * ekin
    if charged:
        return mip_deposit1(rng, ekin, cp)
    return 0.0


@kernel
def smear_angles1(rng, theta, phi, e, cp):
    """Smeared (theta, phi); theta kept in [0, pi], phi wrapped to (-pi, pi]."""
    s = sigma_angle1(e, cp)
    th = theta + s * rng.standard_normal()
    ph = phi + s * rng.standard_normal()
    if th < 0.0:
        th = -th
        ph += math.pi
    elif th > math.pi:
        th = 2.0 * math.pi - th
        ph += math.pi
    if ph > math.pi:
        ph -= 2.0 * math.pi
    elif ph <= -math.pi:
        ph += 2.0 * math.pi
    return th, ph
