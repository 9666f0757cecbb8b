"""e+e- -> gamma* -> eta pi+ pi- below 2 GeV: measured cross section and an eta rho0 final state
(channel 7 of ``gen.hadronization.exclusive``).

Cross section: BaBar, B. Aubert et al., Phys. Rev. D 76 (2007) 092005, arXiv:0704.0630, the
eta pi+ pi- cross section from the 2(pi+ pi-) pi0 final state (eta -> pi+ pi- pi0), HEPData
ins758568 table 2 (doi:10.17182/hepdata.51824.v1/t2; Rivet BABAR_2007_I758568.yoda, d02), 50 MeV
bins from 1.025 to 2.025 GeV, linearly interpolated in sqrt(s); linear to 0 at threshold below
the first bin, 0 above the last. The table does not say whether vacuum polarisation is
removed (a ~4 % effect, below the 8-10 % systematic uncertainty): it is used as it is (as bare,
like the other channels). It is summed over all
eta decays (the eta is written as a primary hadron and decayed by ``gen.decays.generic``), so it
does not overlap with the 4 pi channels; its eta -> pi+ pi- pi0 part is not in any other channel
(the 5 pi final state is not modelled).

Final state (gamma* rest frame, z = beam axis): eta rho0, the mode that dominates (BaBar, same
paper: the pi+ pi- mass peaks at the rho), through the epsilon-tensor coupling (amplitude
(eps_gamma x eps_rho) . p_rho, as gamma* -> omega pi0 in ``gen.hadronization.four_pion``) and
rho0 -> pi+ pi- (amplitude eps_rho . q, q the pi+ momentum in the rho rest frame): density
|(q x p_rho)_T|^2 |BW_rho(m^2)|^2 p^3 q^3 / (sqrt(s) m) in (m^2, angles), p the rho momentum,
m the pi+ pi- mass; rho Breit-Wigner with constant PDG width (``particle``); 1 + cos^2 theta
for the rho direction after the sum over the rho decay.
"""

from __future__ import annotations

import math

import numpy as np

from gen.constants import GEV2_TO_PB, M_PI, mass_gev
from gen.hadronization.four_pion import G_RHO0, M_RHO0
from gen.jit import kernel
from gen.kinematics import two_body_momentum1
from gen.phasespace import isotropic1, pair_decay_along1

#: nb -> GeV^-2
NB_TO_GEV2 = 1e3 / GEV2_TO_PB
M_ETA = mass_gev(221)
#: threshold (GeV)
THR_ETAPIPI = M_ETA + 2.0 * M_PI
#: BaBar eta pi+ pi- cross section (nb), arXiv:0704.0630, HEPData ins758568 t2; bin centres
#: E_ETA0 + i * 50 MeV
E_ETA0, DE_ETA = 1.025, 0.05
SIG_ETA_NB = np.array([
    0.00, 0.11, 0.05, 0.20, 0.10, 0.66, 0.76, 1.37, 2.88, 3.59,  # 1.025 - 1.475
    4.29, 3.13, 2.83, 2.13, 2.33, 1.90, 1.57, 0.80, 0.77, 0.69,  # 1.525 - 1.975
    0.54,  # 2.025
])


@kernel
def sigma_etapipi1(s: float) -> float:
    """sigma(e+e- -> eta pi+ pi-) in GeV^-2 (BaBar table, module docstring)."""
    if s <= 0.0:
        return 0.0
    rs = math.sqrt(s)
    if rs <= THR_ETAPIPI:
        return 0.0
    n = SIG_ETA_NB.shape[0]
    if rs < E_ETA0:
        return SIG_ETA_NB[0] * (rs - THR_ETAPIPI) / (E_ETA0 - THR_ETAPIPI) * NB_TO_GEV2
    t = (rs - E_ETA0) / DE_ETA
    if t > n - 1:
        return 0.0
    i = min(int(t), n - 2)
    f = t - i
    return (SIG_ETA_NB[i] * (1.0 - f) + SIG_ETA_NB[i + 1] * f) * NB_TO_GEV2


@kernel
def eta_pipi_final_state1(rng, s: float, out_pdg, out_p) -> int:
    """eta pi+ pi- at gamma* mass^2 ``s`` (rest frame, z = beam axis) in rows 0..2 (pi+, pi-,
    eta); returns 3, or 0 below threshold."""
    rs = math.sqrt(s)
    if rs <= THR_ETAPIPI:
        return 0
    out_pdg[0], out_pdg[1], out_pdg[2] = 211, -211, 221
    m_lo, m_hi = 2.0 * M_PI, rs - M_ETA
    mg = M_RHO0 * G_RHO0
    t_lo = math.atan((m_lo * m_lo - M_RHO0 * M_RHO0) / mg)
    t_hi = math.atan((m_hi * m_hi - M_RHO0 * M_RHO0) / mg)
    # envelope of p^3 q^3 / m: p largest at m_lo, q at m_hi
    bound = (two_body_momentum1(rs, m_lo, M_ETA) ** 3
             * two_body_momentum1(m_hi, M_PI, M_PI) ** 3 / m_lo)
    while True:
        # rho line shape: |BW|^2 with constant width is the Cauchy density in m^2
        s_rho = M_RHO0 * M_RHO0 + mg * math.tan(t_lo + rng.random() * (t_hi - t_lo))
        m = math.sqrt(min(max(s_rho, m_lo * m_lo), m_hi * m_hi))
        p = two_body_momentum1(rs, m, M_ETA)
        q = two_body_momentum1(m, M_PI, M_PI)
        if not (rng.random() * bound < p**3 * q**3 / m):
            continue
        ux, uy, uz = isotropic1(rng)  # rho direction
        vx, vy, vz = isotropic1(rng)  # pi+ direction in the rho rest frame
        cx = vy * uz - vz * uy
        cy = vz * ux - vx * uz
        if rng.random() < cx * cx + cy * cy:
            break
    e_rho = math.sqrt(p * p + m * m)
    pair_decay_along1(p * ux, p * uy, p * uz, e_rho, m, M_PI, q, vx, vy, vz, out_p, 0)
    out_p[2, 0], out_p[2, 1], out_p[2, 2] = -p * ux, -p * uy, -p * uz
    out_p[2, 3] = math.sqrt(p * p + M_ETA * M_ETA)
    return 3
