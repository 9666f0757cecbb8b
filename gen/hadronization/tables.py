"""Parameters of the Lund string model and the meson tables the fragmentation kernels read.

Defaults: the Pythia 8 Monash 2013 tune (P. Skands, S. Carrazza, J. Rojo, arXiv:1404.5630,
table of hadronisation parameters), which is also the Pythia 8 default; parameters the tune does
not change are Pythia 8 defaults (T. Sjostrand et al., "An introduction to PYTHIA 8.2",
arXiv:1410.3012, and the Pythia 8 online manual pages "Fragmentation" and "Flavour Selection").
Everything a kernel needs is packed into one flat float64 array (``lund_parameters``) and a few
int/float tables indexed by |PDG id| (``meson_tables``), so kernels stay free of Python objects.

``BELLE2_PYTHIA_DAT`` holds the few parameters Belle II changes for its continuum MC (basf2's
pythia_belle2.dat); gen.processes.qqbar uses them as its card defaults.

Masses and widths come from ``particle`` (PDG). Resonances get Breit-Wigner masses in a window
m0 +- ``BW_WINDOW`` Gamma, clamped above the threshold of their dominant decay channels (PDG RPP
listings), so the decayer always has phase space; states whose PDG width is unknown or only an
upper limit (D*0, Ds*+) keep their nominal mass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from particle import Particle

from gen.cards import CardError

_MEV = 1.0e-3


@dataclass(frozen=True)
class LundParameters:
    """Lund string parameters (Monash 2013 tune, arXiv:1404.5630; Pythia 8 defaults)."""

    #: Lund symmetric fragmentation function f(z) ~ (1/z)(1-z)^a exp(-b mT^2/z) (StringZ:aLund)
    a_lund: float = 0.68
    #: StringZ:bLund (GeV^-2)
    b_lund: float = 0.98
    #: Bowler factor of the c quark: z^(-r_c b m_c^2) extra (StringZ:rFactC)
    r_fact_c: float = 1.32
    #: width of the Gaussian pT of a new q qbar pair; px, py each sigma/sqrt 2 (StringPT:sigma)
    sigma_pt: float = 0.335
    #: fraction of breaks with an enhanced pT width (StringPT:enhancedFraction, Pythia 8 default)
    enhanced_fraction: float = 0.01
    #: factor of that enhanced width (StringPT:enhancedWidth, Pythia 8 default)
    enhanced_width: float = 2.0
    #: s/u suppression of new flavours (StringFlav:probStoUD)
    prob_s_to_ud: float = 0.217
    #: vector/pseudoscalar ratio, heavier quark u or d (StringFlav:mesonUDvector)
    vector_ud: float = 0.5
    #: vector/pseudoscalar ratio, heavier quark s (StringFlav:mesonSvector)
    vector_s: float = 0.55
    #: vector/pseudoscalar ratio, heavier quark c (StringFlav:mesonCvector)
    vector_c: float = 0.88
    #: extra acceptance of eta (StringFlav:etaSup)
    eta_sup: float = 0.60
    #: extra acceptance of eta' (StringFlav:etaPrimeSup)
    eta_prime_sup: float = 0.12
    #: pseudoscalar octet-singlet mixing angle, deg (StringFlav:thetaPS, Pythia 8 default)
    theta_ps_deg: float = -15.0
    #: vector mixing angle, deg (StringFlav:thetaV, Pythia 8 default; ideal mixing 35.3)
    theta_v_deg: float = 36.0
    #: stop iterating when the remaining W < (stop_mass + constituent masses) (Pythia 8 default
    #: of the Monash era, StringFragmentation:stopMass; Pythia 8.316 lowered its default to 0.8,
    #: release notes), with the new flavour's mass x stop_new_flav added
    stop_mass: float = 1.0
    stop_new_flav: float = 2.0
    #: relative smearing of that W limit (StringFragmentation:stopSmear)
    stop_smear: float = 0.2
    #: c-quark mass in the Bowler factor (Pythia 8 ParticleData m0 of c)
    m_c: float = 1.5
    #: constituent masses (Pythia 8 ParticleDataEntry CONSTITUENTMASSTABLE; diquarks: sums)
    m_ud_constituent: float = 0.325
    m_s_constituent: float = 0.50
    m_c_constituent: float = 1.60
    #: diquark/quark production ratio, i.e. baryons (StringFlav:probQQtoQ)
    prob_qq_to_q: float = 0.081
    #: extra s suppression in diquarks (StringFlav:probSQtoQQ)
    prob_sq_to_qq: float = 0.915
    #: spin-1/spin-0 diquark suppression, beyond spin counting (StringFlav:probQQ1toQQ0)
    prob_qq1_to_qq0: float = 0.0275
    #: extra a of the Lund function at a diquark end (StringZ:aExtraDiquark)
    a_extra_diquark: float = 0.97
    #: decuplet suppression relative to SU(6) (StringFlav:decupletSup)
    decuplet_sup: float = 1.0


#: Belle II's continuum settings: basf2 generators/modules/fragmentation/data/pythia_belle2.dat
#: (github.com/belle2/basf2; read by the Fragmentation module that add_continuum_generator in
#: generators/scripts/generators.py runs after KKMC for u/d/s cbar; c cbar uses
#: pythia_belle2_charm.dat, not in the stored sources). Pythia 8 starts from Monash 2013, so
#: every field not listed keeps its Monash value. StringZ:usePetersonC/B/H = off is Pythia's
#: default too (Lund-Bowler for charm, as here); rFactC = 1.0 replaces Monash's 1.32.
BELLE2_PYTHIA_DAT = {
    "a_lund": 0.32,  # StringZ:aLund
    "b_lund": 0.62,  # StringZ:bLund (GeV^-2)
    "r_fact_c": 1.0,  # StringZ:rFactC
    "eta_sup": 0.27,  # StringFlav:etaSup
    "eta_prime_sup": 0.12,  # StringFlav:etaPrimeSup (= Monash)
    "stop_mass": 0.3,  # StringFragmentation:stopMass (GeV)
}
#: the same fields at their Monash 2013 values (arXiv:1404.5630; the dataclass defaults)
MONASH_2013 = {name: getattr(LundParameters(), name) for name in BELLE2_PYTHIA_DAT}


# layout of the flat parameter array (order of the dataclass fields, then derived entries)
(L_A, L_B, L_RC, L_SIGMA, L_ENHF, L_ENHW, L_SU, L_VUD, L_VS, L_VC, L_ETA, L_ETAP, L_THPS, L_THV,
 L_STOPM, L_STOPNF, L_STOPSM, L_MC, L_MUD, L_MS, L_MCC, L_QQ, L_SQQQ, L_QQ1, L_AQQ,
 L_DECSUP) = range(26)
L_MIX0_1 = 26  # [spin 0, 1]: P(lightest) for u ubar / d dbar  (2 entries)
L_MIX0_2 = 28  # [spin]: P(lightest two) for u ubar / d dbar
L_MIX1_2 = 30  # [spin]: P(lighter of two) for s sbar
L_DWT = 32  # 7 entries: diquark flavour/spin weights dWT[0][0..6] of Pythia 8 (q -> B Bbar)
L_CGOCT = 39  # 6 entries: SU(6) octet weights
L_CGSUM = 45  # 6 entries: octet + decupletSup x decuplet
L_CGMAX = 51  # 6 entries: maxima by diquark type
N_LUND = 57

#: SU(6) Clebsch-Gordan weights of octet and decuplet baryons, order ud0 + u, ud0 + s, uu1 + u,
#: uu1 + d, ud1 + u, ud1 + s (Pythia 8 StringFlav::baryonCGOct/Dec)
_CG_OCT = (0.75, 0.5, 0.0, 0.1667, 0.0833, 0.1667)
_CG_DEC = (0.0, 0.0, 1.0, 0.3333, 0.6667, 0.3333)

#: quark codes inside kernels: 1 d, 2 u, 3 s, 4 c (PDG quark ids)
QUARKS = {"d": 1, "u": 2, "s": 3, "c": 4}


def lund_parameters(overrides: dict | None = None) -> np.ndarray:
    """Flat parameter array for the kernels; ``overrides`` maps field names to values."""
    names = [f.name for f in fields(LundParameters)]
    overrides = dict(overrides or {})
    for key in overrides:
        if key not in names:
            raise CardError(f"hadronization.{key}: unknown key; allowed keys: {', '.join(names)}")
    p = LundParameters(**overrides)
    par = np.zeros(N_LUND)
    for i, name in enumerate(names):
        par[i] = float(getattr(p, name))
    # diagonal-meson mixing (Pythia 8 StringFlav::init): alpha = 90 - (theta + 54.7) for the
    # pseudoscalars, theta + 54.7 for the vectors; u ubar/d dbar: P(pi0|rho0) = 1/2,
    # P(eta|omega) = (1 + sin^2 alpha)/2 - 1/2; s sbar: P(eta|omega) = cos^2 alpha, rest eta'|phi
    for spin, theta in ((0, p.theta_ps_deg), (1, p.theta_v_deg)):
        alpha = math.radians(90.0 - (theta + 54.7) if spin == 0 else theta + 54.7)
        par[L_MIX0_1 + spin] = 0.5
        par[L_MIX0_2 + spin] = 0.5 * (1.0 + math.sin(alpha) ** 2)
        par[L_MIX1_2 + spin] = math.cos(alpha) ** 2
    _baryon_weights(p, par)
    for name in ("a_lund", "b_lund", "sigma_pt", "stop_mass", "m_c"):
        if getattr(p, name) <= 0.0:
            raise CardError(f"hadronization.{name}: must be > 0, got {getattr(p, name)}")
    for name in ("prob_s_to_ud", "eta_sup", "eta_prime_sup", "enhanced_fraction", "prob_qq_to_q",
                 "prob_sq_to_qq", "prob_qq1_to_qq0", "decuplet_sup"):
        if not 0.0 <= getattr(p, name) <= 1.0:
            raise CardError(f"hadronization.{name}: must be in [0, 1], got {getattr(p, name)}")
    return par


def _baryon_weights(p: LundParameters, par: np.ndarray) -> None:
    """Diquark weights for q -> B Bbar without popcorn (Pythia 8 StringFlav::initDerived, case 0):
    half-tunnelling factors x spin x vertex factors x SU(6) maxima, as ratios used in the pick."""
    cg_sum = [o + p.decuplet_sup * d for o, d in zip(_CG_OCT, _CG_DEC, strict=True)]
    cg_max = [max(cg_sum[0], cg_sum[1])] * 2 + [max(cg_sum[2], cg_sum[3])] * 2 \
        + [max(cg_sum[4], cg_sum[5])] * 2
    ud0, ud1, uu1, us0, su0, us1, su1, ss1 = range(8)
    bar_max = [cg_max[0], cg_max[4], cg_max[2], cg_max[0], cg_max[0], cg_max[4], cg_max[4],
               cg_max[2]]
    rs, rsq, rq1 = (math.sqrt(p.prob_s_to_ud), math.sqrt(p.prob_sq_to_qq),
                    math.sqrt(p.prob_qq1_to_qq0))
    qbb = [1.0, rq1, rq1, rsq, rs * rsq, rq1 * rsq, rq1 * rs * rsq, rs * rsq**2 * rq1]
    su = p.prob_s_to_ud
    qbm = [1.0, 3 * qbb[ud1], 6 * qbb[uu1], su * qbb[us0], qbb[su0], su * 3 * qbb[us1],
           3 * qbb[su1], su * 6 * qbb[ss1]]
    for i in range(1, 8):
        qbb[i] *= qbm[i] * bar_max[i] / bar_max[0]
    inf = math.inf
    dwt = [
        (2 * (qbb[su0] + qbb[su1]) + qbb[ss1]) / (1 + qbb[ud1] + qbb[uu1] + qbb[us0] + qbb[us1]),
        2 * (qbb[us0] + qbb[us1]) / (1 + qbb[ud1] + qbb[uu1]),
        qbb[ss1] / (qbb[su0] + qbb[su1]) if qbb[su0] + qbb[su1] else inf,
        qbb[uu1] / (1 + qbb[ud1] + qbb[uu1]),
        qbb[su1] / qbb[su0] if qbb[su0] else inf,
        qbb[us1] / qbb[us0] if qbb[us0] else inf,
        qbb[ud1],
    ]
    par[L_DWT:L_DWT + 7] = dwt
    par[L_CGOCT:L_CGOCT + 6] = _CG_OCT
    par[L_CGSUM:L_CGSUM + 6] = cg_sum
    par[L_CGMAX:L_CGMAX + 6] = cg_max


#: pseudoscalar and vector nonets plus charm mesons produced by the string (PDG ids)
PSEUDOSCALARS = (211, 111, 221, 331, 321, 311, 411, 421, 431)
VECTORS = (213, 113, 223, 333, 323, 313, 413, 423, 433)
#: dominant decay channels that fix the lower edge of a resonance's mass window (PDG RPP 2024
#: listings: rho -> pi pi, omega -> pi+ pi- pi0, phi -> K Kbar, K* -> K pi, D*+ -> D pi)
_THRESHOLD_CHANNELS = {
    113: ((211, 211),), 213: ((211, 111),), 223: ((211, 211, 111),),
    333: ((321, 321), (310, 130)), 323: ((321, 111), (311, 211)),
    313: ((321, 211), (311, 111)), 413: ((421, 211), (411, 111)),
    2224: ((2212, 211),), 2214: ((2212, 111), (2112, 211)), 2114: ((2212, 211), (2112, 111)),
    1114: ((2112, 211),), 3224: ((3122, 211),), 3214: ((3122, 111),), 3114: ((3122, 211),),
    3324: ((3322, 111), (3312, 211)), 3314: ((3322, 211), (3312, 111)),
}
#: PDG quotes only an upper limit (D*0) or no width (Ds*+): nominal mass
_FIXED_MASS = {423, 433}
#: Breit-Wigner window half-width in units of Gamma (as Pythia's default mMin/mMax for rho, K*)
BW_WINDOW = 5.0
#: size of the |PDG id|-indexed tables (baryons up to 4444)
TABLE_SIZE = 5000


def baryon_codes() -> tuple[int, ...]:
    """Octet (J=1/2) and decuplet (J=3/2) baryons of u, d, s, c with at most one c (PDG ids that
    the string can make from a u/d/s diquark and a u/d/s/c quark), known to ``particle``."""
    out = set()
    for q in (1, 2, 3, 4):
        for a in (1, 2, 3):
            for b in range(1, a + 1):
                o1, o3 = max(q, a, b), min(q, a, b)
                o2 = q + a + b - o1 - o3
                out.add(1000 * o1 + 100 * o2 + 10 * o3 + 4)
                if not o1 == o2 == o3:
                    out.add(1000 * o1 + 100 * o2 + 10 * o3 + 2)
                if o1 > o2 > o3:
                    out.add(1000 * o1 + 100 * o3 + 10 * o2 + 2)
    known = []
    for c in sorted(out):
        try:
            Particle.from_pdgid(c)
        except Exception:  # noqa: BLE001 - particle raises several types for unknown ids
            continue
        known.append(c)
    return tuple(known)


#: light decuplet baryons with strong decays: Breit-Wigner masses (PDG widths)
_BW_BARYONS = {2224, 2214, 2114, 1114, 3224, 3214, 3114, 3324, 3314}


@dataclass(frozen=True)
class MesonTables:
    """|PDG id|-indexed tables of mesons and baryons: nominal mass, width, mass window,
    charge x 3 (``mass`` 0: not a hadron the string makes)."""

    mass: np.ndarray
    width: np.ndarray
    m_lo: np.ndarray
    m_hi: np.ndarray
    charge3: np.ndarray


def _m(pdg: int) -> float:
    return Particle.from_pdgid(pdg).mass * _MEV


def meson_tables() -> MesonTables:
    """Masses (``particle``) and Breit-Wigner windows of every hadron the string can make."""
    mass = np.zeros(TABLE_SIZE)
    width = np.zeros(TABLE_SIZE)
    m_lo = np.zeros(TABLE_SIZE)
    m_hi = np.zeros(TABLE_SIZE)
    charge3 = np.zeros(TABLE_SIZE, np.int64)
    for pdg in PSEUDOSCALARS + VECTORS + baryon_codes():
        part = Particle.from_pdgid(pdg)
        m0 = part.mass * _MEV
        mass[pdg] = m0
        charge3[pdg] = round(3 * part.charge)
        gam = 0.0 if part.width is None or pdg in _FIXED_MASS else part.width * _MEV
        if pdg in PSEUDOSCALARS and pdg not in (331,):
            gam = 0.0  # weakly or electromagnetically decaying: widths < 2 keV
        if pdg > 1000 and pdg not in _BW_BARYONS:
            gam = 0.0  # weak/EM decays, or charm baryons with widths of a few MeV
        width[pdg] = gam
        lo, hi = m0 - BW_WINDOW * gam, m0 + BW_WINDOW * gam
        for channel in _THRESHOLD_CHANNELS.get(pdg, ()):
            lo = max(lo, sum(_m(d) for d in channel) + 1e-3)
        m_lo[pdg], m_hi[pdg] = lo, hi
    return MesonTables(mass, width, m_lo, m_hi, charge3)
