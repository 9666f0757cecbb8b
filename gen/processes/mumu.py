"""e+e- -> mu+ mu- (gamma): s-channel photon (+ Z) with the muon mass, ISR and FSR.

Born (photon exchange, massless electrons, muon mass kept; Peskin & Schroeder sec. 5.1, the
massive-muon formula; PDG RPP 2024 "Cross-section formulae", e+e- -> f f-bar):

    dsigma/dcos = (pi alpha^2 / (2 s)) beta [1 + cos^2 + (1 - beta^2) sin^2],
    sigma       = (4 pi alpha^2 / (3 s)) beta (3 - beta^2) / 2,   beta = sqrt(1 - 4 m_mu^2 / s).

With ``z_exchange`` the tree-level gamma-Z interference and Z^2 terms are added in the massless
approximation for the Z parts (their muon-mass corrections are O(m^2/s * G_F s) ~ 1e-7):

    (1 + c^2) -> (1 + c^2) C1,  + 2 beta c C2,
    C1 = 1 + 2 v^2 Re chi + (v^2 + a^2)^2 |chi|^2,  C2 = 2 a^2 Re chi + 4 v^2 a^2 |chi|^2,
    chi = s / (s - M_Z^2 + i M_Z Gamma_Z) / (4 sin^2 cos^2),  v = -1/2 + 2 sin^2, a = -1/2,

(standard tree-level e+e- -> f f-bar, e.g. PDG RPP 2024 sec. 10, with sin^2 = the effective
leptonic mixing angle); at 10.58 GeV it gives A_FB ~ -0.7 % and changes sigma by < 1e-4.
Vacuum polarisation is NOT included (alpha = alpha(0)): sigma is ~7 % below a calculation with
running alpha(s); narrow resonances in the radiative return (J/psi, Upsilon) are absent too.

Radiation (``gen.radiation``): ISR by electron structure functions with finite photon angles and
the K_ISR factor; FSR PHOTOS-like off the muons with K_FSR = 1 + 3 alpha / (4 pi). The muon
angular distribution is the Born one in the rest frame of the muon pair (before FSR), measured
from the axis bisecting the e- and reversed e+ directions in that frame (Collins-Soper axis).
ISR-FSR interference is not included.

Generator-level cuts (``[cuts]``, defaults reject nothing an analysis with tracks in the CDC can
select; see ``MUON_PAIR_CUTS``) act on the lab muons and on the missing four-momentum
P_beams(nominal) - p_mu- - p_mu+, whose 3-momentum is measured in the c.m. frame of the nominal
beams (magnitude) and in the lab (polar angle).

Output per event: mu-, mu+, then the photons (ISR of the e- beam, ISR of the e+ beam, FSR of the
mu-, FSR of the mu+; each only if emitted above ``photon_min_energy_gev``), status 1, mother -1.
Truth: ``sqrt_s``, ``sqrt_s_prime`` (mass of the muon pair before FSR), ``n_isr``, ``n_fsr``.
"""

from __future__ import annotations

import math

import numpy as np
from particle import Particle

from gen.beams import Beams, cm_to_lab1, lab_to_cm1, sample_collision1
from gen.cards import Param, check
from gen.constants import ALPHA_EM, GEV2_TO_PB, M_E, M_MU, MUON, PHOTON
from gen.events import PARTICLE_FIELDS, EventChunk, SamplingStats
from gen.gencuts import PHOTON_VETO_CUTS, photon_veto_array, photon_vetoed1, validate_photon_veto
from gen.jit import kernel
from gen.kinematics import boost1, rotate_z_to1, two_body_momentum1
from gen.processes.base import Process
from gen.radiation import (
    FSR_K_FACTOR,
    ISR_HARD_FRACTION,
    ISR_K_FACTOR,
    fsr_pair1,
    isr_photons1,
)

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

# layout of the flat parameter array handed to the kernels
P_EHER, P_ELER, P_SPH, P_SPL, P_HALF = 0, 1, 2, 3, 4
P_MU_CLO, P_MU_CHI, P_PMISS, P_PM_ON, P_PM_CLO, P_PM_CHI = 5, 6, 7, 8, 9, 10
P_NOM_PX, P_NOM_PY, P_NOM_PZ, P_NOM_E = 11, 12, 13, 14
P_ISR, P_FSR, P_ZEX, P_EMIN, P_XMIN, P_HARD = 15, 16, 17, 18, 19, 20
P_MU_PMIN = 21
N_PAR = 22


def validate_muon_pair_cuts(cuts: dict, beams: Beams, where: str) -> None:
    """Cross-key checks of ``MUON_PAIR_CUTS`` (min below max); CardError names ``where``."""
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
    """(C1, C2) of the tree-level gamma + Z e+e- -> mu+mu- cross section (module docstring)."""
    den = (s - _MZ2) ** 2 + _MZGZ * _MZGZ
    re_chi = _KAPPA * s * (s - _MZ2) / den
    abs2 = _KAPPA * _KAPPA * s * s / den
    gv2, ga2 = _GV * _GV, _GA * _GA
    c1 = 1.0 + 2.0 * gv2 * re_chi + (gv2 + ga2) ** 2 * abs2
    c2 = 2.0 * ga2 * re_chi + 4.0 * gv2 * ga2 * abs2
    return c1, c2


@kernel
def born_sigma(s: float, z_exchange: bool) -> float:
    """Born sigma(e+e- -> mu+mu-) in GeV^-2 at c.m. energy squared ``s`` (0 below threshold)."""
    if s <= 4.0 * M_MU * M_MU:
        return 0.0
    beta = math.sqrt(1.0 - 4.0 * M_MU * M_MU / s)
    c1 = gamma_z_factors1(s)[0] if z_exchange else 1.0
    # integral over cos of (1 + c^2) C1 + (1 - beta^2)(1 - c^2): 8/3 C1 + 4/3 (1 - beta^2)
    return math.pi * ALPHA_EM**2 / (2.0 * s) * beta * (8.0 / 3.0 * c1 + 4.0 / 3.0 * (1 - beta**2))


@kernel
def _sample_born_cos(rng, s: float, z_exchange: bool) -> float:
    """cos(theta*) between e- and mu- from the Born distribution (hit-or-miss, exact)."""
    beta = math.sqrt(1.0 - 4.0 * M_MU * M_MU / s)
    c1, c2 = 1.0, 0.0
    if z_exchange:
        c1, c2 = gamma_z_factors1(s)
    mass = 1.0 - beta * beta
    fmax = 2.0 * c1 + mass + 2.0 * abs(c2)
    while True:
        c = 2.0 * rng.random() - 1.0
        f = (1.0 + c * c) * c1 + mass * (1.0 - c * c) + 2.0 * beta * c2 * c
        if rng.random() * fmax < f:
            return c


@kernel
def _mumu_trial(rng, par, veto, buf, kk, ff):
    """One trial point: weight (pb) and the event in ``buf`` rows (mu-, mu+, photons), lab.

    Returns (weight, n_particles, sqrt_s, sqrt_s_prime, n_isr, n_fsr).
    """
    sqrt_s, bx, by, bz, nx, ny, nz = sample_collision1(
        rng, par[P_EHER], par[P_ELER], par[P_SPH], par[P_SPL], par[P_HALF]
    )
    isr = par[P_ISR] > 0.5
    fsr = par[P_FSR] > 0.5
    zex = par[P_ZEX] > 0.5
    e_min = par[P_EMIN]
    w = 1.0
    if isr:
        wi, _, _ = isr_photons1(rng, sqrt_s, M_E, par[P_HARD], par[P_XMIN], e_min, kk)
        w = wi * ISR_K_FACTOR
    else:
        for i in range(2):
            for j in range(4):
                kk[i, j] = 0.0
    qx = -(kk[0, 0] + kk[1, 0])
    qy = -(kk[0, 1] + kk[1, 1])
    qz = -(kk[0, 2] + kk[1, 2])
    qe = sqrt_s - kk[0, 3] - kk[1, 3]
    sp = qe * qe - qx * qx - qy * qy - qz * qz
    if w <= 0.0 or qe <= 0.0 or sp <= 4.0 * M_MU * M_MU:
        return 0.0, 0, sqrt_s, 0.0, 0, 0
    msp = math.sqrt(sp)
    w *= GEV2_TO_PB * born_sigma(sp, zex)
    if fsr:
        w *= FSR_K_FACTOR
    # Collins-Soper axis of the muon-pair rest frame
    bqx, bqy, bqz = qx / qe, qy / qe, qz / qe
    ax, ay, az = 0.0, 0.0, 1.0
    if bqx * bqx + bqy * bqy + bqz * bqz > 0.0:
        eb = 0.5 * sqrt_s
        pb = math.sqrt(max(eb * eb - M_E * M_E, 0.0))
        a1 = boost1(0.0, 0.0, pb, eb, -bqx, -bqy, -bqz)
        a2 = boost1(0.0, 0.0, -pb, eb, -bqx, -bqy, -bqz)
        n1 = math.sqrt(a1[0] ** 2 + a1[1] ** 2 + a1[2] ** 2)
        n2 = math.sqrt(a2[0] ** 2 + a2[1] ** 2 + a2[2] ** 2)
        ax = a1[0] / n1 - a2[0] / n2
        ay = a1[1] / n1 - a2[1] / n2
        az = a1[2] / n1 - a2[2] / n2
        na = math.sqrt(ax * ax + ay * ay + az * az)
        ax, ay, az = ax / na, ay / na, az / na
    c = _sample_born_cos(rng, sp, zex)
    phi = 2.0 * math.pi * rng.random()
    sn = math.sqrt(max(1.0 - c * c, 0.0))
    dx, dy, dz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), c, ax, ay, az)
    pstar = two_body_momentum1(msp, M_MU, M_MU)
    estar = 0.5 * msp
    ff[0, 0], ff[0, 1], ff[0, 2], ff[0, 3] = pstar * dx, pstar * dy, pstar * dz, estar
    ff[1, 0], ff[1, 1], ff[1, 2], ff[1, 3] = -pstar * dx, -pstar * dy, -pstar * dz, estar
    mask = 0
    if fsr:
        mask = fsr_pair1(rng, ff, M_MU, M_MU, e_min)
    # order: mu-, mu+, ISR photons (e- beam, e+ beam), FSR photons (mu-, mu+); c.m. -> lab
    n = 0
    n_isr = 0
    n_fsr = 0
    for r in range(4):
        if r >= 2 and not (mask & (1 << (r - 2))):
            continue
        v = boost1(ff[r, 0], ff[r, 1], ff[r, 2], ff[r, 3], bqx, bqy, bqz)
        lab = cm_to_lab1(v[0], v[1], v[2], v[3], bx, by, bz, nx, ny, nz)
        for j in range(4):
            buf[n, j] = lab[j]
        n += 1
        if r >= 2:
            n_fsr += 1
        if r == 1:
            for i in range(2):
                if kk[i, 3] > 0.0:
                    lab = cm_to_lab1(kk[i, 0], kk[i, 1], kk[i, 2], kk[i, 3],
                                     bx, by, bz, nx, ny, nz)
                    for j in range(4):
                        buf[n, j] = lab[j]
                    n += 1
                    n_isr += 1
    accepted = muon_pair_cuts1(par, buf[0, 0], buf[0, 1], buf[0, 2], buf[0, 3],
                               buf[1, 0], buf[1, 1], buf[1, 2], buf[1, 3])
    if accepted:
        for r in range(2, n):
            if photon_vetoed1(veto, buf[r, 0], buf[r, 1], buf[r, 2], buf[r, 3]):
                accepted = False
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


@kernel
def _mumu_generate(rng, par, veto, n, w_max):
    """Hit-or-miss until ``n`` events; returns particle arrays, offsets, truth and statistics."""
    cap = 6 * n
    mom = np.zeros((cap, 4))
    pdg = np.zeros(cap, np.int32)
    offset = np.zeros(n + 1, np.int64)
    t_sqrt_s = np.empty(n)
    t_sqrt_sp = np.empty(n)
    t_nisr = np.empty(n, np.int32)
    t_nfsr = np.empty(n, np.int32)
    buf = np.zeros((6, 4))
    kk = np.zeros((2, 4))
    ff = np.zeros((4, 4))
    n_trials = 0
    sum_w = 0.0
    sum_w2 = 0.0
    n_over = 0
    k = 0
    pos = 0
    while k < n:
        w, m, sqrt_s, msp, n_isr, n_fsr = _mumu_trial(rng, par, veto, buf, kk, ff)
        n_trials += 1
        sum_w += w
        sum_w2 += w * w
        if w > w_max:
            n_over += 1
        if w > 0.0 and rng.random() * w_max < w:
            for r in range(m):
                for j in range(4):
                    mom[pos + r, j] = buf[r, j]
                pdg[pos + r] = PHOTON
            pdg[pos] = MUON
            pdg[pos + 1] = -MUON
            pos += m
            t_sqrt_s[k] = sqrt_s
            t_sqrt_sp[k] = msp
            t_nisr[k] = n_isr
            t_nfsr[k] = n_fsr
            k += 1
            offset[k] = pos
    return (mom[:pos], pdg[:pos], offset, t_sqrt_s, t_sqrt_sp, t_nisr, t_nfsr,
            n_trials, sum_w, sum_w2, n_over)


def chunk_from_arrays(mom: np.ndarray, pdg: np.ndarray, offset: np.ndarray,
                      truth: dict[str, np.ndarray]) -> EventChunk:
    """An ``EventChunk`` (weight 1, status 1, mother -1, vertex 0) from kernel output."""
    npart = pdg.shape[0]
    particles = {k: np.zeros(npart, dtype=t) for k, t in PARTICLE_FIELDS.items()}
    particles["pdg"][:] = pdg
    particles["status"][:] = 1
    particles["mother"][:] = -1
    for j, name in enumerate(("px", "py", "pz", "e")):
        particles[name][:] = mom[:, j]
    n_events = offset.shape[0] - 1
    return EventChunk(weight=np.ones(n_events), offset=offset.astype(np.int64),
                      particles=particles, truth=truth)


class MuMu(Process):
    """e+e- -> mu+ mu- (gamma) with ISR, FSR and gamma/Z exchange."""

    name = "mumu"
    description = "e+e- -> mu+mu-(gamma): Born gamma/Z with muon mass, ISR structure functions, FSR"
    params = {
        "isr": Param(bool, True, "initial-state radiation (Kuraev-Fadin structure functions)"),
        "fsr": Param(bool, True, "final-state radiation off the muons (PHOTOS-like)"),
        "z_exchange": Param(bool, True, "add tree-level Z exchange (A_FB ~ -0.7 %)"),
        "photon_min_energy_gev": Param(
            float, 1e-4,
            "photons softer than this (c.m. for ISR, muon-pair frame for FSR) are not produced",
            minimum=1e-6, maximum=0.05,
        ),
    }
    cuts = {**MUON_PAIR_CUTS, **PHOTON_VETO_CUTS}

    def validate(self, where: str) -> None:
        validate_muon_pair_cuts(self.c, self.beams, where)
        validate_photon_veto(self.c, where)

    def _par(self) -> np.ndarray:
        par = np.zeros(N_PAR)
        fill_common_par(par, self.c, self.beams)
        par[P_ISR] = float(self.p["isr"])
        par[P_FSR] = float(self.p["fsr"])
        par[P_ZEX] = float(self.p["z_exchange"])
        par[P_EMIN] = self.p["photon_min_energy_gev"]
        # lower edge of the hard ISR sampling channel: the muon-pair threshold
        par[P_XMIN] = 4.0 * M_MU**2 / self.beams.sqrt_s_gev**2
        par[P_HARD] = ISR_HARD_FRACTION
        return par

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return _mumu_weights(rng, self._par(), photon_veto_array(self.c), n)

    def generate(self, rng: np.random.Generator, n: int) -> tuple[EventChunk, SamplingStats]:
        if self.w_max <= 0.0:
            raise RuntimeError(f"process {self.name!r}: prepare() must run before generate()")
        (mom, pdg, offset, sqrt_s, sqrt_sp, nisr, nfsr,
         n_trials, sum_w, sum_w2, n_over) = _mumu_generate(
            rng, self._par(), photon_veto_array(self.c), n, self.w_max)
        truth = {"sqrt_s": sqrt_s, "sqrt_s_prime": sqrt_sp, "n_isr": nisr, "n_fsr": nfsr}
        chunk = chunk_from_arrays(mom, pdg, offset, truth)
        chunk.check(self.name)
        return chunk, SamplingStats(int(n_trials), float(sum_w), float(sum_w2), int(n_over))
