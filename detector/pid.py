"""Particle identification: e/mu/pi/K probabilities from efficiency and fake-rate tables.

Model (parameters and sources in ``detector/config.py``, ``PIDConfig``):

1. For a found track of true species s in {e, mu, pi, K, p} with true momentum p and polar angle
   theta, a row of identification probabilities P(h | s) over h in {e, mu, pi, K} is built:
   - P(mu | s) is the muon efficiency (s = mu) or the s -> mu fake rate, but only if the track
     reaches the KLM: p >= ``muon_p_min_gev`` and ``klm_theta_min_deg`` <= theta <=
     ``klm_theta_max_deg``; otherwise 0 (no KLM information: a muon below threshold is
     identified as a pion). One step function in p, no barrel/endcap difference.
   - P(e | s) is the electron efficiency or the s -> e fake rate for p >= ``e_p_min_gev``, else 0.
   - P(K | s) is the kaon efficiency or the s -> K fake rate (momentum independent).
   - P(pi | s) = 1 - the others (pions take what is left; protons are not a hypothesis here).
2. One hypothesis h is drawn from that row.
3. The four probabilities (float32) are then made consistent with h: the winner gets
   X_id ~ U(X_working_point, 1); the rest 1 - X_id is split among the other three at random
   (uniform on the simplex). Since every working point is > 0.5, the winner is the most probable
   hypothesis and ``X_id > X_working_point`` holds exactly when h = X: a cut at the working point
   reproduces the configured efficiencies and fake rates, and the four ids add up to 1. The shapes
   of the id distributions are otherwise not realistic.

``pid`` stores h as the PDG code of the hypothesis with the track's charge: e+ -11, e- 11,
mu+ -13, mu- 13, pi+ 211, pi- -211, K+ 321, K- -321.
"""

from __future__ import annotations

import math

import numpy as np

from gen.jit import kernel

from .config import PIDConfig

# hypothesis indices and their PDG codes for a negative (e, mu) or positive (pi, K) charge
H_E, H_MU, H_PI, H_K = 0, 1, 2, 3

# indices of the flat PID parameter array (angles in rad)
P_KLM_MIN = 0
P_KLM_MAX = 1
P_MU_PMIN = 2
P_MU_EFF = 3
P_PI_MU = 4
P_K_MU = 5
P_P_MU = 6
P_E_MU = 7
P_E_PMIN = 8
P_E_EFF = 9
P_PI_E = 10
P_K_E = 11
P_P_E = 12
P_MU_E = 13
P_K_EFF = 14
P_PI_K = 15
P_P_K = 16
P_MU_K = 17
P_E_K = 18
P_WP_MU = 19
P_WP_E = 20
P_WP_PI = 21
P_WP_K = 22
N_PID_PARAMS = 23


def pid_params(cfg: PIDConfig) -> np.ndarray:
    """The flat float64 parameter array the PID kernels read."""
    out = np.empty(N_PID_PARAMS)
    out[P_KLM_MIN] = math.radians(cfg.klm_theta_min_deg)
    out[P_KLM_MAX] = math.radians(cfg.klm_theta_max_deg)
    out[P_MU_PMIN] = cfg.muon_p_min_gev
    out[P_MU_EFF] = cfg.mu_efficiency
    out[P_PI_MU] = cfg.pi_to_mu
    out[P_K_MU] = cfg.k_to_mu
    out[P_P_MU] = cfg.p_to_mu
    out[P_E_MU] = cfg.e_to_mu
    out[P_E_PMIN] = cfg.e_p_min_gev
    out[P_E_EFF] = cfg.e_efficiency
    out[P_PI_E] = cfg.pi_to_e
    out[P_K_E] = cfg.k_to_e
    out[P_P_E] = cfg.p_to_e
    out[P_MU_E] = cfg.mu_to_e
    out[P_K_EFF] = cfg.k_efficiency
    out[P_PI_K] = cfg.pi_to_k
    out[P_P_K] = cfg.p_to_k
    out[P_MU_K] = cfg.mu_to_k
    out[P_E_K] = cfg.e_to_k
    out[P_WP_MU] = cfg.mu_working_point
    out[P_WP_E] = cfg.e_working_point
    out[P_WP_PI] = cfg.pi_working_point
    out[P_WP_K] = cfg.k_working_point
    return out


@kernel
def reaches_klm1(p, theta, pp):
    """True if a track of momentum p and polar angle theta penetrates to the KLM."""
    return p >= pp[P_MU_PMIN] and pp[P_KLM_MIN] <= theta <= pp[P_KLM_MAX]


@kernel
def id_row1(abs_pdg, p, theta, pp):
    """(P(e), P(mu), P(pi), P(K)) of identifying a true ``abs_pdg`` track as each hypothesis."""
    klm = 1.0 if reaches_klm1(p, theta, pp) else 0.0
    ecl = 1.0 if p >= pp[P_E_PMIN] else 0.0
    if abs_pdg == 11:
        pe, pmu, pk = pp[P_E_EFF], pp[P_E_MU], pp[P_E_K]
    elif abs_pdg == 13:
        pe, pmu, pk = pp[P_MU_E], pp[P_MU_EFF], pp[P_MU_K]
    elif abs_pdg == 321:
        pe, pmu, pk = pp[P_K_E], pp[P_K_MU], pp[P_K_EFF]
    elif abs_pdg == 2212:
        pe, pmu, pk = pp[P_P_E], pp[P_P_MU], pp[P_P_K]
    else:  # pions (and anything else charged)
        pe, pmu, pk = pp[P_PI_E], pp[P_PI_MU], pp[P_PI_K]
    pe *= ecl
    pmu *= klm
    return pe, pmu, max(1.0 - pe - pmu - pk, 0.0), pk


@kernel
def hypothesis_pdg(h, charge):
    """PDG code of hypothesis ``h`` for a track of ``charge`` (+1 or -1)."""
    if h == H_E:
        return -11 * charge
    if h == H_MU:
        return -13 * charge
    if h == H_PI:
        return 211 * charge
    return 321 * charge


@kernel
def draw_pid1(rng, abs_pdg, p, theta, pp):
    """Draw (h, e_id, mu_id, pi_id, k_id) for one track; four uniform draws."""
    pe, pmu, ppi, pk = id_row1(abs_pdg, p, theta, pp)
    u = rng.random() * (pe + pmu + ppi + pk)
    if u < pe:
        h = H_E
    elif u < pe + pmu:
        h = H_MU
    elif u < pe + pmu + ppi:
        h = H_PI
    else:
        h = H_K
    wp = (pp[P_WP_E], pp[P_WP_MU], pp[P_WP_PI], pp[P_WP_K])[h]
    win = wp + (1.0 - wp) * rng.random()
    a = rng.random()
    b = rng.random()
    if a > b:
        a, b = b, a
    rest = 1.0 - win
    s0, s1, s2 = rest * a, rest * (b - a), rest * (1.0 - b)
    if h == H_E:
        return h, win, s0, s1, s2
    if h == H_MU:
        return h, s0, win, s1, s2
    if h == H_PI:
        return h, s0, s1, win, s2
    return h, s0, s1, s2, win
