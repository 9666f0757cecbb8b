"""Generic decays of every unstable particle from decaylanguage's DECAY_BELLE2.DEC.

Decay table (Python, built once at first use, ``decay_tables``; kept in the on-disk cache
``gen.diskcache`` keyed by the DEC file's sha256, the sources of the modules that build it and the
particle / decaylanguage / numpy / numba versions: parsing, building and the pilot ~5 s of CPU,
loading ~0.15 s; ``tables_key``):

- Every ``Decay X`` block of DECAY_BELLE2.DEC (``decaylanguage.data.basepath``), parsed with
  ``decaylanguage.DecFileParser``, which also expands ``CDecay`` (charge conjugates) and
  ``CopyDecay``. Blocks whose mother is an ``Alias`` (``B0sig``, ``K*L``, ...; signal-side
  special tables) are skipped; an alias appearing as a daughter is replaced by the particle it
  stands for (``Alias K*L K*0`` -> K*0, decayed with the generic K*0 table).
- Quark-level modes (model ``PYTHIA`` with quarks, diquarks, gluons or ``rndmflav`` among the
  daughters, e.g. ``u anti-d anti-c d PYTHIA 23`` of the B0: 48 % of the B0 and 44 % of the B+
  width) are kept with their DEC BFs and turned into hadrons when picked, as EvtGen + Pythia 8
  do (``gen.decays.quark_modes``). A ``PYTHIA`` line without daughters (Omega_c0, Xi_c0,
  Xi_c+: "let Pythia decay it") is replaced by the DEC file's generic ``Decay c-hadron`` block
  (c -> s e+ nu, s mu+ nu, s u dbar, s u sbar with the spectator flavour ``specflav``; Pythia 8
  remnant code 81), scaled by that line's BF.
- Modes are dropped (and the rest renormalised to sum to one) when a daughter is an EvtGen
  pseudo-particle or unknown to ``particle`` (``Xsu``, ``Xu0``, ``D(2S)0``...), a b
  quark or a parton pattern ``quark_modes`` cannot hadronise, when the mode has no daughter,
  more than ``MAXD`` daughters, or is kinematically closed for the nominal masses.
  ``coverage()`` lists, per particle, the dropped branching fraction and why;
  ``format_coverage`` prints it.
- The charged D_1(2430) (EvtGen ``D'_1+``, PDG id 20413 as in EvtGen's evt.pdl), which PDG and
  ``particle`` do not list, takes the neutral one's mass and width (isospin) and is added to
  ``particle``'s table (``register_extra_particles``): the B0 modes with it (1.3 % of the
  width) are kept.
- Masses, widths and lifetimes from ``particle`` (PDG); a width PDG gives only as an upper
  limit (D*(2007)0 < 2.1 MeV, D_s0*(2317)+, D_s1(2460)+) counts as zero. Daughters with a
  width above ``BW_MIN_WIDTH_GEV`` get a non-relativistic Breit-Wigner mass (Cauchy in m;
  PDG RPP 2024, "Kinematics", Breit-Wigner form), truncated below at the lowest threshold of
  their own decay modes and above at the phase-space limit of the decay that produces them (so
  both decays stay open; channels below 1 % BF do not count, ``MLO_MIN_BF``). No mass-dependent
  widths or Blatt-Weisskopf factors; a mass below a channel's threshold closes that channel.

Decay models (``model_summary()`` lists every model of the file with its BF-weighted
frequency):

- Quark-level modes: Pythia 8's flavour chain, Poissonian multiplicity and M-generator phase
  space (or a Lund string for meMode 91 to q qbar), ``gen.decays.quark_modes``.
- Every other mode is flat phase space (GENBOD, ``gen.phasespace``), except for spin
  correlations that angular-momentum conservation fixes whatever the dynamics (these cover
  EvtGen's SVS, SVP, VSS and VSP_PWAVE models): a vector made in the two-body decay of a spin-0
  particle with a spin-0 partner (S -> V S, e.g. B -> D* pi, D_s+ -> phi pi+; SVS) has helicity
  0 along its flight direction in the mother's frame, one made with a photon (S -> V gamma, e.g.
  B -> K* gamma; SVP) helicity +-1. When such a vector decays to two spin-0 particles (VSS) the
  helicity angle theta (daughter 1 in the vector frame with respect to the direction opposite
  the mother) follows cos^2 theta (helicity 0) or sin^2 theta (+-1); to a spin-0 particle and a
  photon (VSP_PWAVE, e.g. D*0 -> D0 gamma) sin^2 theta (0) or (1 + cos^2 theta)/2 (+-1) (Wigner
  d^1 functions: |d^1_00|^2 = cos^2, |d^1_10|^2 = sin^2/2, |d^1_11|^2 + |d^1_1-1|^2 = (1 +
  cos^2)/2; PDG RPP 2024 "Clebsch-Gordan coefficients, spherical harmonics and d functions").
  Semileptonic modes with the DEC models BGL (B -> D(*) l nu, e and mu; Belle arXiv:1510.03657,
  Grinstein-Kobach arXiv:1703.08170) and HQET3 (CLN hep-ph/9712417; the tau modes) get their
  form-factor weight in (q^2, cos theta_l) by hit-or-miss after the phase-space decay (a new
  phase-space point after a miss), and a D* its helicity (0 or +-1) drawn from the helicity
  amplitudes, which the D* -> D pi / D gamma angle above then follows
  (``gen.decays.semileptonic``). B -> D** l nu (LLSW, hep-ph/9705467; ``gen.decays.llsw``) get
  their weight the same way, with the D**'s Breit-Wigner mass and the weight bound taken over
  its mass range, and the D_1', D_1, D_2* their helicity (0 or +-1) from the LLSW helicity
  amplitudes. Spin-2 and axial mesons (Wigner d functions, PDG RPP 2024 "Clebsch-Gordan
  coefficients, spherical harmonics and d functions"): a tensor made with a spin-0 partner by a
  spin-0 particle (S -> T S, EvtGen STS, e.g. B -> D_2* pi) has helicity 0; a tensor of
  helicity m decays to two spin-0 particles (TSS) with |d^2_{m0}|^2 and to a vector and a
  spin-0 particle, where parity forbids vector helicity 0 for 2+ -> 1- 0- (D_2* -> D* pi,
  TVS_PWAVE), with sum_{lambda = +-1} |d^2_{m lambda}|^2, the vector getting helicity +-1; a
  spin-1 particle decaying to a vector and a spin-0 particle with a DEC ``VVS_PWAVE`` line
  (D_1 -> D* pi, K_1 -> K* pi) follows sum_lambda |A_lambda|^2 |d^1_{m lambda}|^2 with the
  helicity amplitudes from the line's partial waves (``vvs_zero_share``: D_1(2420) pure D wave,
  |A_0|^2 : |A_1|^2 = 4 : 1, D_1(2430) pure S wave), and its vector gets helicity 0 with
  probability |A_0|^2 |d^1_{m0}|^2 / sum (only the diagonal of the vector's density matrix:
  the azimuth of its own decay stays flat). B -> D(*) pi l nu (GOITY_ROBERTS) are accepted
  against the Goity-Roberts |M|^2 after flat four-body phase space (``gen.decays.goity_roberts``).
  Everything else (ISGW2 semileptonic modes, Dalitz-plot amplitudes, polarisation in S -> V V)
  is phase space.
- Particles the DEC file makes but does not decay (eta(1295), K_3*(1780)0, K_4*(2045)0) get the
  PDG RPP 2024 modes of ``EXTRA_DECAYS`` (flat phase space; model ``PDG_EXTRA``).
- Taus are decayed by ``gen.decays.tau.decay_tau1`` (its matrix elements and its own DEC
  ``tau-`` table and secondary decays), not by the generic table.

Flight: particles whose c*tau (``particle`` lifetime x c) exceeds ``PROMPT_CTAU_CM`` (1 um,
well below the ~20 um vertex resolution, TDR arXiv:1011.0352 sec. 4) decay after an exponential
proper flight, at v + (p/m) c t and time t0 + (E/m) t; the others decay at their production
vertex. Stable (never decayed, status 1), ``DEFAULT_STABLE``: e, mu, pi+-, K+-, K_L0, p, n,
gamma and neutrinos (with their antiparticles); a caller can pass another set.

The decay kernels work on row buffers shared with ``gen.decays.tau``: ``out_i`` (rows, 4) int64
= (pdg, status, mother relative to the event's first row ``base``, polarisation code) and
``out_f`` (rows, 8) float64 = (px, py, pz, e, vx, vy, vz, t), lab frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gen.constants import C_CM_PER_NS
from gen.decays import goity_roberts, quark_modes, semileptonic
from gen.decays.tau import COLS, dec_file_path, decay_tau1, max_tree_rows, tau_tables
from gen.events import DECAYED, FINAL, PARTICLE_FIELDS, EventChunk
from gen.jit import kernel
from gen.kinematics import boost1, direction1, rotate_z_to1, two_body_momentum1
from gen.phasespace import genbod1, genbod_unweighted1, genbod_wmax

#: most daughters of a kept mode (the file has one 9-body mode, dropped)
MAXD = 8
#: widths (GeV) above which a daughter's mass follows a Breit-Wigner (omega 8.7 MeV: BW;
#: J/psi 93 keV, D*+ 83 keV: fixed)
BW_MIN_WIDTH_GEV = 1.0e-3
#: modes below this BF do not set the lower end of a Breit-Wigner (rho0 -> e+e- would put it at
#: 2 m_e; EvtGen instead closes channels through mass-dependent widths)
MLO_MIN_BF = 0.01
#: c*tau (cm) below which a particle decays at its production vertex
PROMPT_CTAU_CM = 1.0e-4
#: PDG ids (absolute values) never decayed: e, mu, pi+, K+, K_L0, p, n, gamma, neutrinos
DEFAULT_STABLE = frozenset({11, 12, 13, 14, 16, 22, 130, 211, 321, 2212, 2112})
#: quark-level modes quark_modes cannot make (b quarks, unsupported parton patterns or meMode)
PARTON_REASON = "partons not hadronised (b quark or unsupported pattern)"
#: pilot trials per >= 3-body mode for its maximum phase-space weight, and the safety factor
_PILOT_TRIALS = 400
_WMAX_SAFETY = 1.3
#: attempts to find an open mode / daughter masses that fit in the parent's (BW) mass
_MAX_TRIES = 50
#: misses of a model's hit-or-miss (form factors, Goity-Roberts) at fixed daughter masses after
#: which the masses are redrawn: a Breit-Wigner mass drawn where the model's rate vanishes (a
#: D** at the end of its range in B -> D** tau nu) would otherwise reject for ever (it hung
#: bbbar: seed 104, 20000 events). EvtGen redraws the mass tree on every try; redrawing only
#: after this many misses keeps the Breit-Wigner line shape except where the acceptance is
#: below ~1e-4 (~10 ms of trials), i.e. within the last few MeV of a mass range
_MISSES_BEFORE_MASS_REDRAW = 10_000

# species decay treatment
STABLE, TABLE, TAU_DECAY, NO_TABLE = 0, 1, 2, 3
# angular treatment of a two-body decay of a polarised particle (md_ang; module docstring):
# vector -> 0 0, vector -> 0 gamma, tensor -> 0 0, tensor -> vector 0, axial/vector -> vector 0
# (partial waves of the DEC's VVS_PWAVE line)
ANG_NONE, ANG_VSS, ANG_VSP, ANG_TSS, ANG_TVS, ANG_VVS = 0, 1, 2, 3, 4, 5
# polarisation codes (out_i[:, 3]): none, helicity 0, helicity +-1 along the flight direction
# in the mother's frame; POL_DRAWN (md_pol only): the vector of an ANG_VVS decay, whose
# helicity the kernel draws from the decay angle
POL_NONE, POL_HEL0, POL_HEL1, POL_DRAWN = 0, 1, 2, 3
# counters
C_OVERWEIGHT, C_CLOSED, C_NO_TABLE, C_QM_FAIL, C_MASS_REDRAW = 0, 1, 2, 3, 4
N_COUNTERS = 5
#: columns of out_i
ICOLS = 4


class DecayTables(NamedTuple):
    """Flat arrays of the generic decay model, passed into kernels (``decay_tables``)."""

    sp_pdg: np.ndarray  # (n_sp,) int64, sorted
    sp_mass: np.ndarray  # (n_sp,) GeV
    sp_width: np.ndarray  # (n_sp,) GeV
    sp_bw: np.ndarray  # (n_sp,) int64, 1: Breit-Wigner mass
    sp_mlo: np.ndarray  # (n_sp,) lower truncation of the BW (lowest decay threshold)
    sp_ctau: np.ndarray  # (n_sp,) cm, 0 for prompt decays
    sp_decay: np.ndarray  # (n_sp,) int64: STABLE, TABLE, TAU_DECAY, NO_TABLE
    sp_first: np.ndarray  # (n_sp + 1,) int64, mode ranges
    md_cum: np.ndarray  # (n_md,) cumulative BF within the species, last = 1
    md_nd: np.ndarray  # (n_md,) int64
    md_dau: np.ndarray  # (n_md, MAXD) int64 species index of each daughter
    md_pdg: np.ndarray  # (n_md, MAXD) int64
    md_ang: np.ndarray  # (n_md,) int64 ANG_*
    md_pol: np.ndarray  # (n_md, MAXD) int64 polarisation code given to each daughter
    md_wmax: np.ndarray  # (n_md,) pilot maximum phase-space weight x safety (0: none)
    counters: np.ndarray  # (N_COUNTERS,) int64: overweight, no open mode, undecayable left,
    #                       quark-level mode that could not be hadronised (another was picked),
    #                       daughter masses redrawn after _MISSES_BEFORE_MASS_REDRAW misses
    md_me: np.ndarray  # (n_md,) int64 Pythia 8 meMode of a quark-level mode, -1 otherwise
    md_npart: np.ndarray  # (n_md,) int64 number of partons (quark-level modes)
    md_part: np.ndarray  # (n_md, 4) int64 parton codes (PDG, Pythia 8 special codes 82, 83)
    md_thr: np.ndarray  # (n_md,) lowest open mother mass of a quark-level mode
    qm_lund: np.ndarray  # Lund flavour parameters (``quark_modes``)
    qm_mass: np.ndarray  # |PDG|-indexed hadron masses / widths / BW windows (``quark_modes``)
    qm_width: np.ndarray
    qm_mlo: np.ndarray
    qm_mhi: np.ndarray
    sl_kind: np.ndarray  # (n_md,) int64 semileptonic form-factor kind (semileptonic.KIND_*)
    sl_par: np.ndarray  # (n_md, semileptonic.NPAR) its DEC parameters
    sl_role: np.ndarray  # (n_md, 3) int64 daughter index of the hadron, charged lepton, neutrino
    sl_wmax: np.ndarray  # (n_md,) bound of the form-factor weight at the nominal masses
    md_amp: np.ndarray  # (n_md,) ANG_VVS: share |A_0|^2 / sum |A_lambda|^2 of helicity-0 vectors
    gr_kind: np.ndarray  # (n_md,) int64 Goity-Roberts kind (goity_roberts.D_PI, DSTAR_PI; 0 none)
    gr_role: np.ndarray  # (n_md, 4) int64 daughter index of the D(*), pion, lepton, neutrino
    gr_reflect: np.ndarray  # (n_md,) int64 1 for a positive lepton (CP-conjugate weight)
    gr_wmax: np.ndarray  # (n_md,) pilot bound of the Goity-Roberts weight
    sp_thr_max: np.ndarray  # (n_sp,) largest md_thr of the species' modes: above it all are open


@dataclass(frozen=True)
class Mode:
    """One kept decay mode (for reports and tests)."""

    mother: int
    daughters: tuple[int, ...]
    bf: float  #: normalised over the kept modes
    bf_dec: float  #: value in the DEC file
    model: str
    #: quark-level modes: the partons (``daughters`` holds the other products) and meMode
    partons: tuple[int, ...] = ()
    me_mode: int = -1


@dataclass(frozen=True)
class Coverage:
    """Per particle: BF sum in the file, BF kept, and the dropped BF by reason."""

    name: str
    pdg: int
    bf_file: float
    bf_kept: float
    dropped: dict[str, float]


# ----------------------------------------------------------------------------------------------
# Python: DEC file -> tables
# ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def dec_parser():
    """The parsed DECAY_BELLE2.DEC (``decaylanguage.DecFileParser``), cached."""
    from decaylanguage import DecFileParser

    parser = DecFileParser(dec_file_path())
    parser.parse()
    return parser


#: EvtGen names ``particle`` does not map, with their PDG ids (EvtGen's evt.pdl): the charged
#: D_1(2430) (``register_extra_particles``)
EXTRA_EVTGEN_NAMES = {"D'_1+": 20413, "D'_1-": -20413}
#: the neutral partner whose PDG properties the charged D_1(2430) takes
_D1_2430_NEUTRAL = 20423


@functools.cache
def register_extra_particles() -> None:
    """Add the charged D_1(2430) (PDG id +-20413) to ``particle``'s table if it lacks it.

    PDG RPP 2024 lists only the D_1(2430)0 (M = 2412 +- 9 MeV, Gamma = 314 +- 29 MeV, J^P =
    1+); the DEC file decays B0 -> D'_1- X (1.3 % of the B0 width). Isospin symmetry: the
    charged state takes the neutral one's mass and width (the D_1(2420) isospin splitting is
    < 1 MeV, PDG, far below this width). Registered in ``particle`` itself (not a private
    table) so every consumer of the event record (charges, names) knows the id; idempotent.
    """
    import io

    from particle import Particle, ParticleNotFound

    try:
        Particle.from_pdgid(EXTRA_EVTGEN_NAMES["D'_1+"])
        return  # a later particle release knows it: use PDG's own entry
    except ParticleNotFound:
        pass
    n = Particle.from_pdgid(_D1_2430_NEUTRAL)
    head = ("ID,Mass,MassUpper,MassLower,Width,WidthUpper,WidthLower,I,G,P,C,Anti,Charge,Rank,"
            "Status,Name,Quarks,Latex\n")
    rows = [f"{sign * 20413},{n.mass},{n.mass_upper},{n.mass_lower},{n.width},{n.width_upper},"
            f"{n.width_lower},1/2,5,{int(n.P)},5,2,{sign * 3},0,{int(n.status)},D(1)(2430),"
            f"{quarks},D_{{1}}(2430)^{{{charge}}}\n"
            for sign, quarks, charge in ((1, "cD", "+"), (-1, "Cd", "-"))]
    Particle.load_table(io.StringIO(head + "".join(rows)), append=True,
                        _name="b2dark: charged D_1(2430) from the neutral (isospin)")


@functools.cache
def _pdg_of(name: str) -> int | None:
    from particle import Particle

    if name in EXTRA_EVTGEN_NAMES:
        register_extra_particles()
        return EXTRA_EVTGEN_NAMES[name]
    try:
        return int(Particle.from_evtgen_name(name).pdgid)
    except Exception:  # unknown / pseudo-particle names of EvtGen
        return None


@functools.cache
def _props(pdg: int) -> tuple[float | None, float, float, int | None, float, str]:
    """(mass GeV or None, width GeV, c*tau cm, 2J or None, charge, name) from ``particle``."""
    from particle import Particle

    p = Particle.from_pdgid(pdg)
    mass = None if p.mass is None else p.mass * 1e-3
    if mass is None and abs(pdg) in (12, 14, 16):
        mass = 0.0  # particle has no neutrino masses: massless (SM)
    width = 0.0 if p.width is None or not math.isfinite(p.width) else p.width * 1e-3
    if p.width_lower is None or p.width_upper is None:
        # no width errors flag a PDG upper limit (``particle``'s convention): D*(2007)0 "< 2.1
        # MeV" (PDG RPP 2024, 90 % CL; its isospin partner D*+ has 83.4 keV), D_s0*(2317)+,
        # D_s1(2460)+. Fixed nominal mass, as gen.hadronization.tables does: a 2.1 MeV Breit-
        # Wigner put D*0 masses ~10 MeV below nominal, where m_B + m_D* falls below the B_c
        # poles of the BGL B -> D* l nu form factors (undefined there: this hung bbbar).
        width = 0.0
    life = p.lifetime
    ctau = 0.0 if life is None or not math.isfinite(life) else life * C_CM_PER_NS
    two_j = None if p.J is None else int(round(2 * p.J))
    return mass, width, ctau, two_j, float(p.charge or 0.0), p.evtgen_name


def _has_lepton(ids: tuple[int, ...]) -> bool:
    return any(11 <= abs(i) <= 16 for i in ids)


def _is_parton(pdg: int) -> bool:
    """Quarks, gluons and diquarks (PDG numbering scheme: |id| = nq1 nq2 0 ns)."""
    a = abs(pdg)
    return a <= 8 or a == 21 or (1000 <= a < 10000 and (a // 10) % 10 == 0)


#: decays (PDG ids, BF) of particles that the DEC file makes but does not decay (no ``Decay``
#: block; EvtGen would leave them stable), from PDG RPP 2024 (flat phase space, model
#: ``PDG_EXTRA``); the charge conjugates are added by ``_extra_modes``:
#: - eta(1295) (EvtGen ``eta(2S)``, made in B -> eta(2S) X STS / PHSP lines): PDG lists eta pi pi,
#:   a0(980) pi, eta (pi pi)_S-wave as "seen", without fractions: half a0(980) pi, half eta pi pi
#:   (an assumption), each split by isospin (I = 0 -> I = 1 x I = 1: a0+ pi- : a0- pi+ : a0 pi0
#:   = 1 : 1 : 1; (pi pi)_I=0: pi+ pi- : pi0 pi0 = 2 : 1);
#: - K_3*(1780)0 (B0 -> phi K_3*0): K rho (31 %), K*(892) pi (20 %), K pi (18.8 %), K eta (30 %),
#:   the I = 1/2 -> 1/2 x 1 isospin split 2/3 charged pion (rho) : 1/3 neutral;
#: - K_4*(2045)0 (B0 -> phi K_4*0): K pi (9.9 %), K*(892) pi pi (9 %), K*(892) pi pi pi (7 %),
#:   rho K pi (5.7 %), omega K*(892) pi (5.0 %), phi K*(892) (1.4 %) (38 % listed; renormalised),
#:   K pi split 2/3 : 1/3 by isospin, the multi-body charge states half and half (not resolved).
_ETA1295, _K3_0, _K4_0 = 100221, 317, 319
EXTRA_DECAYS: dict[int, tuple[tuple[float, tuple[int, ...]], ...]] = {
    _ETA1295: ((1 / 6, (9000211, -211)), (1 / 6, (-9000211, 211)), (1 / 6, (9000111, 111)),
               (1 / 3, (221, 211, -211)), (1 / 6, (221, 111, 111))),
    _K3_0: ((0.31 * 2 / 3, (-213, 321)), (0.31 / 3, (113, 311)),
            (0.20 * 2 / 3, (323, -211)), (0.20 / 3, (313, 111)),
            (0.188 * 2 / 3, (321, -211)), (0.188 / 3, (311, 111)), (0.30, (311, 221))),
    _K4_0: ((0.099 * 2 / 3, (321, -211)), (0.099 / 3, (311, 111)),
            (0.045, (313, 211, -211)), (0.045, (323, -211, 111)),
            (0.035, (323, 211, -211, -211)), (0.035, (313, 211, -211, 111)),
            (0.0285, (113, 321, -211)), (0.0285, (-213, 321, 111)),
            (0.025, (223, 323, -211)), (0.025, (223, 313, 111)), (0.014, (333, 313))),
}
EXTRA_MODEL = "PDG_EXTRA"


def _extra_modes() -> dict[int, list[tuple[float, tuple[int, ...]]]]:
    """EXTRA_DECAYS with the charge conjugates (normalised BFs)."""
    out = {}
    for pdg, rows in EXTRA_DECAYS.items():
        tot = sum(bf for bf, _ in rows)
        out[pdg] = [(bf / tot, ds) for bf, ds in rows]
        if _pdg_valid(-pdg):
            out[-pdg] = [(bf / tot, tuple(-d if _pdg_valid(-d) else d for d in ds))
                         for bf, ds in rows]
    return out


#: a kept mode: (BF used, known daughters, DEC model, BF in the file, partons, Pythia meMode or -1)
RawMode = tuple[float, tuple[int, ...], str, float, tuple[int, ...], int]


def _me_mode(model: str, params) -> int:
    if "PYTHIA" not in model:
        return -1
    try:
        return int(float(params[0]))
    except (TypeError, ValueError, IndexError):
        return 0


def _parton_mode(mother: int, names: list[str], me: int) -> tuple[str, RawMode | None]:
    """(reason to drop or "", (bf 0, known, "PYTHIA", 0, partons, meMode)) of a PYTHIA mode with
    partons: Pythia 8 special codes for ``rndmflav`` (82), ``specflav`` (81 -> the spectator
    flavour of ``mother``); gluons -> a closed gluon loop (83, -83; ``quark_modes``)."""
    from gen.decays import quark_modes as qm

    known, partons, gluons = [], [], 0
    for f in names:
        base = f.replace("anti-", "")
        if base == "rndmflav":
            partons.append(-qm.RANDOM_FLAV if f.startswith("anti-") else qm.RANDOM_FLAV)
            continue
        if base == "specflav" or f.startswith("ChargeConj(specflav"):
            partons.append(qm.spectator_flavour(mother))
            continue
        i = _pdg_of(f)
        if i is None:
            return "pseudo-particle or unknown to particle", None
        if i == 21:
            gluons += 1
        elif _is_parton(i):
            if not qm.is_parton_code(i):
                return PARTON_REASON, None  # b quarks, bb / bc diquarks
            partons.append(i)
        elif _props(i)[0] is None:
            return "daughter without mass", None
        else:
            known.append(i)
    if gluons:
        if partons or gluons < 2:
            return PARTON_REASON, None
        partons, me = [qm.GLUON_LOOP, -qm.GLUON_LOOP], qm.GLUON_MODE
    if len(partons) not in (2, 4) or not qm.supported_me_mode(me) or len(known) > MAXD:
        return PARTON_REASON, None
    if me == qm.STRING_MODE and (known or len(partons) != 2):
        me = 0
    return "", (0.0, tuple(known), "PYTHIA", 0.0, tuple(partons), me)


def _charm_hadron_modes(parser, mother: int) -> list[tuple[float, list[str], int]]:
    """The DEC ``Decay c-hadron`` block (BF, daughter names, meMode), charge-conjugated for an
    anti-charm mother: used for ``PYTHIA`` lines without daughters (module docstring)."""
    rows = []
    for tree in parser._find_decay_modes("c-hadron"):
        d = parser._decay_mode_details(tree)
        rows.append((float(d["bf"]), list(d["fs"]), _me_mode(str(d["model"]), d["model_params"])))
    if mother < 0:
        def conj(f: str) -> str:
            if f == "specflav":
                return f  # resolved from the (signed) mother
            i = _pdg_of(f)
            return _props(-i)[5] if i is not None and _pdg_valid(-i) else f
        rows = [(bf, [conj(f) for f in fs], me) for bf, fs, me in rows]
    return rows


def _is_charm_hadron(pdg: int) -> bool:
    a = abs(pdg)
    return 4 in ((a // 1000) % 10, (a // 100) % 10, (a // 10) % 10) and a > 400


@functools.lru_cache(maxsize=1)
def _raw_table() -> tuple[dict[int, list[RawMode]], dict[int, Coverage],
                          dict[str, tuple[int, float]]]:
    """pdg -> kept modes (``RawMode``), coverage and model counts."""
    parser = dec_parser()
    aliases = parser.dict_aliases()
    kept: dict[int, list[RawMode]] = {}
    cover: dict[int, Coverage] = {}
    models: dict[str, list] = {}
    for name in parser.list_decay_mother_names():
        if name in aliases:
            continue
        pdg = _pdg_of(name)
        if pdg is None or _props(pdg)[0] is None:
            continue
        modes, dropped, total, lines = [], {}, 0.0, []
        for tree in parser._find_decay_modes(name):
            d = parser._decay_mode_details(tree)
            bf, fs, model = float(d["bf"]), d["fs"], str(d["model"])
            me = _me_mode(model, d["model_params"])
            total += bf
            lines.append((bf, model))
            names = [aliases.get(f, f) for f in fs]
            if not fs and me >= 0 and _is_charm_hadron(pdg):
                # "let Pythia decay it": the generic c-hadron block of the DEC file
                for bf_c, fs_c, me_c in _charm_hadron_modes(parser, pdg):
                    why, mode = _parton_mode(pdg, fs_c, me_c)
                    if why:
                        dropped[why] = dropped.get(why, 0.0) + bf * bf_c
                    else:
                        modes.append((bf * bf_c, mode[1], model, bf * bf_c, mode[4], mode[5]))
                continue
            ids = [_pdg_of(f) for f in names]
            parton = me >= 0 and any(
                f.replace("anti-", "") in ("rndmflav", "specflav") or
                (i is not None and _is_parton(i)) for f, i in zip(names, ids, strict=True))
            if parton:
                why, mode = _parton_mode(pdg, names, me)
                if not why:
                    modes.append((bf, mode[1], model, bf, mode[4], mode[5]))
            elif not fs:
                why = "no daughters"
            elif any(i is None for i in ids):
                why = "pseudo-particle or unknown to particle"
            elif any(_is_parton(i) for i in ids):
                why = PARTON_REASON
            elif any(_props(i)[0] is None for i in ids):
                why = "daughter without mass"
            elif len(ids) > MAXD:
                why = f"more than {MAXD} daughters"
            else:
                why = ""
                modes.append((bf, tuple(ids), model, bf, (), -1))
            if why:
                dropped[why] = dropped.get(why, 0.0) + bf
        kept[pdg] = modes
        cover[pdg] = Coverage(name, pdg, total, sum(m[3] for m in modes), dropped)
        for bf, model in lines:
            entry = models.setdefault(model, [0, 0.0])
            entry[0] += 1
            entry[1] += bf / total if total > 0 else 0.0
    for pdg, rows in _extra_modes().items():  # PDG decays of particles without a DEC block
        if kept.get(pdg):
            continue  # a DEC file with its own block wins
        kept[pdg] = [(bf, ds, EXTRA_MODEL, bf, (), -1) for bf, ds in rows]
        cover[pdg] = Coverage(_props(pdg)[5], pdg, 1.0, 1.0, {})
    return kept, cover, {k: (v[0], v[1]) for k, v in models.items()}


def _mlo(pdg: int, kept, memo: dict[int, float], depth: int = 0) -> float:
    """Lowest mass of a broad particle: min over its modes with BF >= MLO_MIN_BF of the sum of
    the daughters' minima (rare radiative / leptonic channels do not extend the line shape)."""
    mass, width = _props(pdg)[0], _props(pdg)[1]
    if width <= BW_MIN_WIDTH_GEV or pdg not in kept or not kept[pdg] or depth > 6:
        return mass
    if pdg in memo:
        return memo[pdg]
    memo[pdg] = mass  # cycle guard
    total = sum(m[0] for m in kept[pdg])
    lo = min((sum(_mlo(d, kept, memo, depth + 1) for d in m[1]) for m in kept[pdg]
              if m[0] >= MLO_MIN_BF * total and m[5] < 0), default=mass)
    memo[pdg] = lo
    return lo


def _mode_threshold(m: RawMode, mlo: np.ndarray, index: dict[int, int]) -> float:
    """Lowest mother mass at which a mode is open: known daughters at their lower limits, plus
    the constituent masses of the partons of a quark-level mode."""
    if m[5] >= 0:
        return quark_modes.threshold([_props(d)[0] for d in m[1]], list(m[4]))
    if len(m[1]) == 1:
        return 0.0
    return sum(mlo[index[d]] for d in m[1])


def _parity(pdg: int) -> int | None:
    from particle import Particle

    par = Particle.from_pdgid(pdg).P
    return None if par is None or int(par) not in (-1, 1) else int(par)


def _zero_helicity_forbidden(mother: int, vec: int, other: int) -> bool:
    """Parity forbids helicity 0 of the vector in J^P -> 1^P1 0^P2 when eta eta1 eta2
    (-1)^(J - 1) = -1 (Jacob-Wick: A_-lambda = eta eta1 eta2 (-1)^(J - J1 - J2) A_lambda),
    e.g. D_2* -> D* pi (2+ -> 1- 0-)."""
    ps = [_parity(x) for x in (mother, vec, other)]
    if any(x is None for x in ps):
        return False
    two_j = _props(mother)[3]
    return ps[0] * ps[1] * ps[2] * (-1) ** ((two_j - 2) // 2) == -1


def vvs_zero_share(params) -> float:
    """Share of helicity 0 of the vector in 1 -> 1 0 from the partial-wave amplitudes of a DEC
    ``VVS_PWAVE`` line (|a_S|, phase, |a_P|, phase, |a_D|, phase; EvtGen's EvtVVSPwave):
    A_lambda = sum_L sqrt((2L+1)/3) <L 0; 1 lambda | 1 lambda> a_L (Jacob-Wick), i.e.
    A_0 = a_S/sqrt3 - sqrt(2/3) a_D, A_+-1 = a_S/sqrt3 -+ a_P/sqrt2 + a_D/sqrt6 (Clebsch-Gordan
    of PDG RPP 2024 "Clebsch-Gordan coefficients"): pure S wave 1/3 (isotropic), pure D wave
    2/3 (D_1(2420) -> D* pi, j = 3/2 light degrees of freedom in the heavy-quark limit:
    LLSW hep-ph/9705467 sec. I, Isgur-Wise PRL 66 (1991) 1130)."""
    a = [float(x) for x in params] + [0.0] * (6 - len(params))
    s, p, d = (a[i] * complex(math.cos(a[i + 1]), math.sin(a[i + 1])) for i in (0, 2, 4))
    a0 = s / math.sqrt(3.0) - math.sqrt(2.0 / 3.0) * d
    ap = s / math.sqrt(3.0) - p / math.sqrt(2.0) + d / math.sqrt(6.0)
    am = s / math.sqrt(3.0) + p / math.sqrt(2.0) + d / math.sqrt(6.0)
    tot = abs(a0) ** 2 + abs(ap) ** 2 + abs(am) ** 2
    return abs(a0) ** 2 / tot if tot > 0.0 else 1.0 / 3.0


def _angular(mother: int, ds: tuple[int, ...], model: str = "", params=()
             ) -> tuple[int, list[int], float]:
    """(md_ang, polarisation given to each daughter, md_amp) from the spins (module
    docstring); ``model`` / ``params``: the DEC line's (VVS_PWAVE partial waves)."""
    jm = _props(mother)[3]
    pols = [POL_NONE] * len(ds)
    ang = ANG_NONE
    if len(ds) != 2:
        return ang, pols, 0.0
    j = [_props(d)[3] for d in ds]
    photon = [d == 22 for d in ds]
    amp = 0.0
    if jm == 2 and j == [0, 0]:
        ang = ANG_VSS
    elif jm == 2 and sorted(j) == [0, 2] and any(photon):
        ang = ANG_VSP
    elif jm == 4 and j == [0, 0]:
        ang = ANG_TSS
    elif sorted(j) == [0, 2] and not any(photon):
        v = 0 if j[0] == 2 else 1
        if jm == 4 and _zero_helicity_forbidden(mother, ds[v], ds[1 - v]):
            ang = ANG_TVS
            pols[v] = POL_HEL1  # whatever the tensor's polarisation
        elif jm == 2 and model == "VVS_PWAVE":
            ang = ANG_VVS
            pols[v] = POL_DRAWN
            amp = vvs_zero_share(params)
    if jm == 0:
        for a, b in ((0, 1), (1, 0)):
            if j[a] in (2, 4) and not photon[a] and j[b] == 0:
                pols[a] = POL_HEL0  # S -> V S (SVS), S -> T S (STS)
            elif j[a] == 2 and not photon[a] and photon[b]:
                pols[a] = POL_HEL1
    return ang, pols, amp


def _line_params(mother: int, ds: tuple[int, ...], model: str) -> list:
    """Parameters of the DEC line ``mother -> ds`` with ``model`` (first match), [] if none."""
    from particle import Particle

    name = {v: k for k, v in EXTRA_EVTGEN_NAMES.items()}.get(mother)
    if name is None:
        try:
            name = Particle.from_pdgid(mother).evtgen_name
        except Exception:
            return []
    for row in dec_block(name):
        if row["model"] == model and tuple(_pdg_of(f) for f in row["fs"]) == tuple(ds):
            return row["model_params"]
    return []


def _fresh_tables() -> tuple[DecayTables, tuple[Mode, ...], dict[int, Coverage],
                            dict[str, tuple[int, float]]]:
    """Tables, modes, coverage and model counts built from the DEC file (no disk cache)."""
    kept, cover, models = _raw_table()
    tb, modes = _build_tables(kept)
    return tb, modes, cover, models


def _build_tables(kept: dict[int, list[RawMode]]) -> tuple[DecayTables, tuple[Mode, ...]]:
    species = set(kept)
    for modes in kept.values():
        for m in modes:
            species.update(m[1])
    species |= {-p for p in DEFAULT_STABLE if _pdg_valid(-p)} | set(DEFAULT_STABLE)
    # hadrons that quark-level modes can make (flavour chain, strings)
    species |= {p for p in quark_modes.producible_hadrons() if _props(p)[0] is not None}
    sp = np.array(sorted(species), np.int64)
    index = {int(p): i for i, p in enumerate(sp)}
    n_sp = sp.shape[0]
    mass = np.array([_props(int(p))[0] for p in sp])
    width = np.array([_props(int(p))[1] for p in sp])
    ctau = np.array([_props(int(p))[2] for p in sp])
    ctau[ctau < PROMPT_CTAU_CM] = 0.0
    memo: dict[int, float] = {}
    mlo = np.array([_mlo(int(p), kept, memo) for p in sp])
    bw = ((width > BW_MIN_WIDTH_GEV) & (mlo < mass)).astype(np.int64)
    first = np.zeros(n_sp + 1, np.int64)
    cum, nd, dau, pdg, ang, pol, out_modes = [], [], [], [], [], [], []
    md_me, md_npart, md_part, md_thr = [], [], [], []
    sl_kind, sl_par, sl_role, sl_wmax = [], [], [], []
    md_amp = []
    gr_kind, gr_role, gr_reflect = [], [], []
    for i, p in enumerate(sp):
        p = int(p)
        # modes closed even at the top of the mother's line shape are dropped
        m_top = mass[i] + (10.0 * width[i] if bw[i] else 0.0)
        modes = [m for m in kept.get(p, []) if _mode_threshold(m, mlo, index) < m_top]
        total = sum(m[0] for m in modes)
        c = 0.0
        for bf, ds, mdl, bf0, partons, me in modes:
            c += bf / total
            cum.append(c)
            nd.append(len(ds))
            md_me.append(me)
            md_npart.append(len(partons))
            md_part.append(list(partons) + [0] * (4 - len(partons)))
            # lowest open mother mass (static: kernels compare it with the actual mass)
            if me >= 0:
                md_thr.append(_mode_threshold((bf, ds, mdl, bf0, partons, me), mlo, index))
            elif len(ds) == 1:
                md_thr.append(-1.0)  # K0 -> K_S0: always open
            else:
                md_thr.append(sum(mlo[index[d]] if bw[index[d]] else mass[index[d]]
                                  for d in ds))
            dau.append([index[d] for d in ds] + [0] * (MAXD - len(ds)))
            pdg.append(list(ds) + [0] * (MAXD - len(ds)))
            a, pl, am = (_angular(p, ds, mdl, _line_params(p, ds, mdl) if mdl == "VVS_PWAVE"
                                  else ()) if me < 0 else (ANG_NONE, [POL_NONE] * len(ds), 0.0))
            ang.append(a)
            md_amp.append(am)
            gk, gro, grefl = goity_roberts.table_entry(mdl, ds) if me < 0 else (
                goity_roberts.NONE, (0, 0, 0, 0), 0)
            gr_kind.append(gk)
            gr_role.append(gro)
            gr_reflect.append(grefl)
            pol.append(pl + [0] * (MAXD - len(ds)))
            out_modes.append(Mode(p, ds, bf / total, bf0, mdl, partons, me))
            # semileptonic form factors of the DEC line (BGL, HQET3; gen.decays.semileptonic)
            kind, par, role = (semileptonic.dec_table_entry(p, ds, mdl) if me < 0
                               else (semileptonic.KIND_NONE, np.zeros(semileptonic.NPAR),
                                     (0, 0, 0)))
            hk, lk = (index[ds[role[0]]], index[ds[role[1]]]) if kind else (0, 0)
            if kind and (bw[i] or bw[lk] or (
                    bw[hk] and kind not in semileptonic.VARIABLE_MASS_KINDS)):
                # the weight bound is taken at the nominal masses, and BGL for P -> V is
                # undefined once m_B + m_V drops below its B_c poles: fixed masses only
                # (LLSW: any hadron mass, bound over the Breit-Wigner range)
                raise ValueError(f"semileptonic mode {p} -> {ds} ({mdl}): Breit-Wigner mass "
                                 "of the parent, hadron or lepton; form factors need fixed "
                                 "masses")
            sl_kind.append(kind)
            sl_par.append(par)
            sl_role.append(role)
            sl_wmax.append(semileptonic.table_wmax(
                kind, par, mass[i], mass[hk], mass[lk], mlo[hk] if bw[hk] else mass[hk],
                mass[i] - mass[lk] if bw[hk] else mass[hk]) if kind else 0.0)
        if modes:
            cum[-1] = 1.0
        first[i + 1] = len(cum)
    decay = np.where(first[1:] > first[:-1], TABLE, NO_TABLE).astype(np.int64)
    decay[np.abs(sp) == 15] = TAU_DECAY
    n_md = len(cum)
    had = quark_modes.hadron_tables()
    tb = DecayTables(
        sp_pdg=sp, sp_mass=mass, sp_width=width, sp_bw=bw, sp_mlo=mlo, sp_ctau=ctau,
        sp_decay=decay, sp_first=first, md_cum=np.array(cum), md_nd=np.array(nd, np.int64),
        md_dau=np.array(dau, np.int64).reshape(n_md, MAXD),
        md_pdg=np.array(pdg, np.int64).reshape(n_md, MAXD), md_ang=np.array(ang, np.int64),
        md_pol=np.array(pol, np.int64).reshape(n_md, MAXD), md_wmax=np.zeros(n_md),
        counters=np.zeros(N_COUNTERS, np.int64), md_me=np.array(md_me, np.int64),
        md_npart=np.array(md_npart, np.int64),
        md_part=np.array(md_part, np.int64).reshape(n_md, 4), md_thr=np.array(md_thr),
        qm_lund=quark_modes.quark_parameters(), qm_mass=had[0], qm_width=had[1],
        qm_mlo=had[2], qm_mhi=had[3], sl_kind=np.array(sl_kind, np.int64),
        sl_par=np.array(sl_par).reshape(n_md, semileptonic.NPAR),
        sl_role=np.array(sl_role, np.int64).reshape(n_md, 3), sl_wmax=np.array(sl_wmax),
        md_amp=np.array(md_amp), gr_kind=np.array(gr_kind, np.int64),
        gr_role=np.array(gr_role, np.int64).reshape(n_md, 4),
        gr_reflect=np.array(gr_reflect, np.int64), gr_wmax=np.zeros(n_md),
        sp_thr_max=_thr_max(first, np.array(md_thr)),
    )
    # pilot maxima of the >= 3-body phase-space weights at the mother's nominal mass, with the
    # daughters' Breit-Wigner masses (fixed seed: the tables are deterministic)
    _pilot_all(np.random.Generator(np.random.PCG64(20261129)), tb, _PILOT_TRIALS, _WMAX_SAFETY)
    _pilot_goity_roberts(tb)
    return tb, tuple(out_modes)


def _thr_max(first: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """Per species the largest threshold of its modes (-inf without modes)."""
    return np.array([thr[a:b].max() if b > a else -np.inf for a, b in zip(first[:-1], first[1:],
                                                                         strict=True)])


def _pilot_goity_roberts(tb: DecayTables) -> None:
    """gr_wmax of every Goity-Roberts mode (pilot at the nominal masses, fixed seed)."""
    rng = np.random.Generator(np.random.PCG64(20261130))
    for md in np.flatnonzero(tb.gr_kind):
        k = int(np.searchsorted(tb.sp_first, md, side="right") - 1)
        nd = int(tb.md_nd[md])
        masses = tb.sp_mass[tb.md_dau[md, :nd]].copy()
        tb.gr_wmax[md] = goity_roberts.pilot_wmax(
            rng, tb.gr_kind[md], tb.sp_mass[k], masses[tb.gr_role[md, 0]], masses,
            tb.gr_role[md].copy(), bool(tb.gr_reflect[md]), goity_roberts.PILOT_POINTS)


def tables_key() -> dict[str, str]:
    """Everything the tables depend on (``gen.diskcache`` key): the DEC file's content, the
    sources of the code that builds them and the versions of the packages it asks."""
    import sys
    from importlib.metadata import version

    from gen import constants, jit, kinematics, phasespace
    from gen.decays import tau
    from gen.diskcache import content_key, source_key
    from gen.hadronization import string, tables

    code = source_key(sys.modules[__name__], quark_modes, tau, phasespace, kinematics, constants,
                      jit, string, tables, semileptonic, goity_roberts,
                      *semileptonic.SOURCE_MODULES)
    return {"dec_sha256": content_key(dec_file_path()), "code_sha256": code,
            **{p: version(p) for p in ("particle", "decaylanguage", "numpy", "numba")}}


def _to_cache(tb: DecayTables, modes: tuple[Mode, ...], cover: dict[int, Coverage],
              models: dict[str, tuple[int, float]]) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, JSON-able rest) of the tables; floats survive JSON exactly (``repr``)."""
    meta = {
        "modes": [[m.mother, list(m.daughters), m.bf, m.bf_dec, m.model, list(m.partons),
                   m.me_mode] for m in modes],
        "coverage": [[c.name, c.pdg, c.bf_file, c.bf_kept, c.dropped] for c in cover.values()],
        "models": {k: list(v) for k, v in models.items()},
    }
    return tb._asdict(), meta


def _from_cache(arrays: dict[str, np.ndarray], meta: dict) -> tuple[
        DecayTables, tuple[Mode, ...], dict[int, Coverage], dict[str, tuple[int, float]]]:
    # writeable, contiguous copies: kernels compiled for them (a read-only array is another type)
    tb = DecayTables(**{f: np.ascontiguousarray(arrays[f]).copy() for f in DecayTables._fields})
    modes = tuple(Mode(int(m), tuple(d), float(bf), float(b0), str(mdl), tuple(pt), int(me))
                  for m, d, bf, b0, mdl, pt, me in meta["modes"])
    cover = {int(p): Coverage(str(n), int(p), float(f), float(k), dict(dr))
             for n, p, f, k, dr in meta["coverage"]}
    models = {str(k): (int(v[0]), float(v[1])) for k, v in meta["models"].items()}
    return tb, modes, cover, models


@functools.lru_cache(maxsize=1)
def _all_tables() -> tuple[DecayTables, tuple[Mode, ...], dict[int, Coverage],
                           dict[str, tuple[int, float]]]:
    """The tables, from the on-disk cache when the key matches (parsing DECAY_BELLE2.DEC,
    building and the pilot take ~5 s of CPU; loading ~10 ms), else built and stored."""
    from gen.diskcache import cached_arrays

    register_extra_particles()  # events carry +-20413 (D'_1): particle must know it, cache or not
    arrays, meta = cached_arrays("decay-tables", tables_key(),
                                 lambda: _to_cache(*_fresh_tables()))
    try:
        return _from_cache(arrays, meta)
    except (KeyError, TypeError, ValueError):  # a stored entry of another layout: rebuild
        return _fresh_tables()


def _base_tables() -> tuple[DecayTables, tuple[Mode, ...]]:
    return _all_tables()[:2]


def dec_block(name: str) -> list[dict]:
    """[{'bf', 'fs', 'model', 'model_params'}] of the DEC file's ``Decay name`` block, in file
    order, without parsing the file again (``gen.diskcache``, keyed by its content)."""
    from importlib.metadata import version

    from gen.diskcache import cached_json, content_key

    def parse() -> list[dict]:
        parser = dec_parser()
        rows = [parser._decay_mode_details(t) for t in parser._find_decay_modes(name)]
        return [{"bf": float(d["bf"]), "fs": list(d["fs"]), "model": str(d["model"]),
                 "model_params": list(d["model_params"] or [])} for d in rows]

    key = {"dec_sha256": content_key(dec_file_path()), "block": name,
           "decaylanguage": version("decaylanguage")}
    return cached_json("dec-block", key, parse)


def _pdg_valid(pdg: int) -> bool:
    from particle import Particle

    try:
        Particle.from_pdgid(pdg)
    except Exception:
        return False
    return True


@functools.lru_cache(maxsize=8)
def decay_tables(stable: frozenset[int] = DEFAULT_STABLE) -> DecayTables:
    """Kernel tables; ``stable`` holds absolute PDG ids never decayed (default DEFAULT_STABLE)."""
    tb, _ = _base_tables()
    decay = tb.sp_decay.copy()
    is_stable = np.isin(np.abs(tb.sp_pdg), np.array(sorted(stable), np.int64))
    decay[is_stable] = STABLE
    return tb._replace(sp_decay=decay, counters=np.zeros(N_COUNTERS, np.int64))


def decay_modes() -> tuple[Mode, ...]:
    """Every kept mode of every particle (normalised BFs), in table order."""
    return _base_tables()[1]


def coverage() -> dict[int, Coverage]:
    """pdg -> Coverage of its DEC block (what was kept, what was dropped and why)."""
    return _all_tables()[2]


def model_summary() -> dict[str, tuple[int, float]]:
    """DEC model -> (number of mode lines, sum over blocks of the normalised BF of its lines)."""
    return _all_tables()[3]


def format_coverage(pdgs: list[int] | None = None) -> str:
    """Table of the kept and dropped BF of the given particles (default: dropped anything)."""
    cov = coverage()
    rows = [f"{'particle':<16} {'BF file':>8} {'kept':>8}  dropped"]
    for p, c in sorted(cov.items()):
        if (pdgs is not None and p not in pdgs) or (pdgs is None and not c.dropped):
            continue
        drops = ", ".join(f"{k}: {v:.4f}" for k, v in c.dropped.items())
        rows.append(f"{c.name:<16} {c.bf_file:8.4f} {c.bf_kept:8.4f}  {drops}")
    return "\n".join(rows)


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------


@kernel(inline="always")
def species_index(tb, pdg: int) -> int:
    """Index of ``pdg`` in the species table, -1 if unknown."""
    k = np.searchsorted(tb.sp_pdg, pdg)
    if k < tb.sp_pdg.shape[0] and tb.sp_pdg[k] == pdg:
        return k
    return -1


@kernel(inline="always")
def _bw_mass(rng, m0, gamma, lo, hi):
    """Non-relativistic Breit-Wigner (Cauchy) in m, truncated to [lo, hi] (inverse CDF)."""
    a = math.atan(2.0 * (lo - m0) / gamma)
    b = math.atan(2.0 * (hi - m0) / gamma)
    return m0 + 0.5 * gamma * math.tan(a + (b - a) * rng.random())


@kernel(inline="always")
def _threshold(tb, mode):
    """Lowest total mass of the daughters of ``mode`` (BW daughters at their lower limit;
    quark-level modes: known daughters + constituent masses), precomputed in ``md_thr``."""
    return tb.md_thr[mode]


@kernel(inline="always")
def _pick_open(tb, lo, hi, m, u):
    """A mode among those open at parent mass m, with their relative BFs; -1 if none."""
    thr = tb.md_thr
    total = 0.0
    prev = 0.0
    for i in range(lo, hi):
        if thr[i] < m:  # one-daughter modes (K0 -> K_S0) have thr = -1: always open
            total += tb.md_cum[i] - prev
        prev = tb.md_cum[i]
    if total <= 0.0:
        return -1
    x = u * total
    prev = 0.0
    last = -1
    for i in range(lo, hi):
        if thr[i] < m:
            x -= tb.md_cum[i] - prev
            last = i
            if x < 0.0:
                return i
        prev = tb.md_cum[i]
    return last


@kernel(inline="always")
def _pick_mode(tb, k, m, u):
    """``_pick_open`` over the modes of species k. When the mass m is above every threshold of
    the species (a B at any mass of the beam spread, most charm decays) all modes are open and
    the pick is the inverse of the cumulative BF by bisection: the same mode as the linear scan
    of ``_pick_open`` (which sums ~1300 B modes twice, ~2.5 us) up to the rounding of the
    cumulative sums (a u within ~1e-16 of a boundary)."""
    lo, hi = tb.sp_first[k], tb.sp_first[k + 1]
    if not m > tb.sp_thr_max[k] or hi <= lo:
        return _pick_open(tb, lo, hi, m, u)
    cum = tb.md_cum
    a, b = lo, hi - 1  # first i with u < cum[i]; cum[hi - 1] = 1 > u
    while a < b:
        c = (a + b) >> 1
        if u < cum[c]:
            b = c
        else:
            a = c + 1
    return a


@kernel(inline="always")
def _sample_masses(rng, tb, mode, m, dm):
    """Daughter masses of ``mode`` into dm that fit in a parent of mass m; False if closed."""
    nd = tb.md_nd[mode]
    if nd == 1:  # K0 -> K_S0: takes the parent's four-momentum
        dm[0] = tb.sp_mass[tb.md_dau[mode, 0]]
        return True
    sumlo = _threshold(tb, mode)
    if sumlo >= m:
        return False
    for _ in range(_MAX_TRIES):
        tot = 0.0
        for i in range(nd):
            d = tb.md_dau[mode, i]
            if tb.sp_bw[d]:
                lo = tb.sp_mlo[d]
                dm[i] = _bw_mass(rng, tb.sp_mass[d], tb.sp_width[d], lo, m - (sumlo - lo))
            else:
                dm[i] = tb.sp_mass[d]
            tot += dm[i]
        if tot < m:
            return True
    return False


@kernel
def _angle_accept(rng, ang, pol, c, amp):
    """Hit-or-miss of the helicity-angle density (module docstring), each divided by its
    maximum: |d^j_{m lambda}(theta)|^2 summed over the allowed daughter helicities lambda
    (PDG RPP 2024 "Clebsch-Gordan coefficients, spherical harmonics and d functions":
    d^2_00 = (3c^2 - 1)/2, d^2_10 = -sqrt(3/2) s c, d^2_11 = (1 + c)(2c - 1)/2,
    d^2_1-1 = (1 - c)(2c + 1)/2)."""
    c2 = c * c
    s2 = 1.0 - c2
    if ang == ANG_VSS:
        f = c2 if pol == POL_HEL0 else s2
    elif ang == ANG_VSP:
        f = s2 if pol == POL_HEL0 else 0.5 * (1.0 + c2)
    elif ang == ANG_TSS:
        # |d^2_00|^2 (max 1); |d^2_10|^2 = 3/2 s^2 c^2 (max 3/8)
        f = (0.5 * (3.0 * c2 - 1.0)) ** 2 if pol == POL_HEL0 else 4.0 * s2 * c2
    elif ang == ANG_TVS:
        # vector helicity +-1 only: 2 |d^2_01|^2 = 3 s^2 c^2 (max 3/4); |d^2_11|^2 +
        # |d^2_1-1|^2 = (4c^4 - 3c^2 + 1)/2 (max 1)
        f = 4.0 * s2 * c2 if pol == POL_HEL0 else 0.5 * (4.0 * c2 * c2 - 3.0 * c2 + 1.0)
    else:  # ANG_VVS: |A_0|^2 = amp, |A_+-1|^2 = (1 - amp)/2
        b = 0.5 * (1.0 - amp)
        if pol == POL_HEL0:
            f = (amp * c2 + b * s2) / max(amp, b)
        else:
            f = 0.5 * (amp * s2 + b * (1.0 + c2)) / max(0.5 * (amp + b), b)
    return rng.random() < f


@kernel
def _vvs_helicity(rng, pol, amp, c):
    """Helicity code of the vector of an ANG_VVS decay at helicity angle c: lambda = 0 with
    probability |A_0|^2 |d^1_{m0}|^2 / sum_lambda |A_lambda|^2 |d^1_{m lambda}|^2 (the diagonal
    of the vector's helicity density matrix; the off-diagonal terms only make the azimuth of
    its own decay non-uniform, which is left flat); amp for an unpolarised mother."""
    b = 0.5 * (1.0 - amp)
    c2 = c * c
    if pol == POL_HEL0:
        num, den = amp * c2, amp * c2 + b * (1.0 - c2)
    elif pol == POL_HEL1:
        num = 0.5 * amp * (1.0 - c2)
        den = num + 0.5 * b * (1.0 + c2)
    else:
        num, den = amp, 1.0
    p0 = num / den if den > 0.0 else amp
    return POL_HEL0 if rng.random() < p0 else POL_HEL1


@kernel
def _two_body(rng, m, m1, m2, ax, ay, az, ang, pol, amp, out_f, r):
    """m -> m1 m2 at rest into rows r, r+1; helicity-angle density about axis a if ang > 0.
    Returns the cosine of daughter 1 about a (about z if isotropic)."""
    p = two_body_momentum1(m, m1, m2)
    if not p > 0.0:
        p = 0.0
    phi = 2.0 * math.pi * rng.random()
    while True:
        c = 2.0 * rng.random() - 1.0
        if ang == ANG_NONE or pol == POL_NONE or _angle_accept(rng, ang, pol, c, amp):
            break
    ux, uy, uz = direction1(c, phi)
    if ang != ANG_NONE and pol != POL_NONE:
        ux, uy, uz = rotate_z_to1(ux, uy, uz, ax, ay, az)
    out_f[r, 0], out_f[r, 1], out_f[r, 2] = p * ux, p * uy, p * uz
    out_f[r, 3] = math.sqrt(p * p + m1 * m1)
    out_f[r + 1, 0], out_f[r + 1, 1], out_f[r + 1, 2] = -p * ux, -p * uy, -p * uz
    out_f[r + 1, 3] = math.sqrt(p * p + m2 * m2)
    return c


@kernel
def decay_row1(rng, tb, tau_tb, out_i, out_f, j, base, pos, ct_forced, dm):
    """Decay the particle in row j (status 1, lab frame); append its daughters from ``pos``.

    ``ct_forced`` >= 0 imposes its proper decay length c*t (cm) (B mixing), otherwise it is
    drawn from c*tau. Returns the new end row (``pos`` if nothing was decayed). The caller
    guarantees room for ``max(MAXD, tau rows)`` rows after ``pos``.
    """
    return _decay_row(rng, tb, tau_tb, out_i, out_f, j, species_index(tb, out_i[j, 0]), base,
                      pos, ct_forced, dm)


@kernel(inline="always")
def _decay_row(rng, tb, tau_tb, out_i, out_f, j, k, base, pos, ct_forced, dm):
    """``decay_row1`` for species index k, inlined into the tree loop: a call that passes the
    tables (34 + 23 arrays) costs ~0.6 us of reference counting, more than most decays."""
    if k < 0 or tb.sp_decay[k] == STABLE:
        return pos
    if tb.sp_decay[k] == NO_TABLE:
        tb.counters[C_NO_TABLE] += 1
        return pos
    if tb.sp_decay[k] == TAU_DECAY:
        end, _ = decay_tau1(rng, tau_tb, j, base, out_i, out_f, pos)
        for r in range(pos, end):
            out_i[r, 3] = POL_NONE
        return end
    px, py, pz, e = out_f[j, 0], out_f[j, 1], out_f[j, 2], out_f[j, 3]
    m = math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))
    mode = -1
    nd = 0
    for _ in range(_MAX_TRIES):
        cand = _pick_mode(tb, k, m, rng.random())
        if cand < 0:
            break
        if tb.md_me[cand] >= 0:
            # quark-level mode: hadrons at rest written from row pos (gen.decays.quark_modes)
            nd, over = quark_modes.quark_decay1(rng, tb, cand, m, out_i, out_f, pos)
            tb.counters[C_OVERWEIGHT] += over
            if nd > 0:
                mode = cand
                break
            tb.counters[C_QM_FAIL] += 1
        elif _sample_masses(rng, tb, cand, m, dm):
            mode = cand
            nd = tb.md_nd[mode]
            break
    if mode < 0:
        tb.counters[C_CLOSED] += 1
        return pos
    bx, by, bz = px / e, py / e, pz / e
    quark_level = tb.md_me[mode] >= 0
    sl_pol = -1  # helicity code given to the vector of a semileptonic mode
    drawn_pol = POL_NONE  # helicity code of the vector of an ANG_VVS decay
    if quark_level:
        pass
    elif nd == 1:  # K0 -> K_S0 / K_L0: the daughter takes the four-momentum
        out_f[pos, 0], out_f[pos, 1], out_f[pos, 2], out_f[pos, 3] = 0.0, 0.0, 0.0, m
    elif nd == 2:
        ang = tb.md_ang[mode]
        pol = out_i[j, 3]
        ax, ay, az = 0.0, 0.0, 1.0
        g = out_i[j, 2]
        if ang != ANG_NONE and pol != POL_NONE and g >= 0:
            # helicity axis: opposite to the mother's momentum in this particle's rest frame
            gr = base + g
            q = boost1(out_f[gr, 0], out_f[gr, 1], out_f[gr, 2], out_f[gr, 3], -bx, -by, -bz)
            qn = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2])
            if qn > 0.0:
                ax, ay, az = -q[0] / qn, -q[1] / qn, -q[2] / qn
            else:
                pol = POL_NONE
        elif g < 0:
            pol = POL_NONE
        c = _two_body(rng, m, dm[0], dm[1], ax, ay, az, ang, pol, tb.md_amp[mode], out_f, pos)
        if ang == ANG_VVS:
            drawn_pol = _vvs_helicity(rng, pol, tb.md_amp[mode], c)
    else:
        wmax = genbod_wmax(m, dm, nd)  # analytic bound at these masses
        if tb.md_wmax[mode] > 0.0:
            wmax = min(wmax, tb.md_wmax[mode])
        sl = tb.sl_kind[mode]
        misses = 0
        while True:
            if misses == _MISSES_BEFORE_MASS_REDRAW:  # (nearly) closed at these masses
                tb.counters[C_MASS_REDRAW] += 1
                while not _sample_masses(rng, tb, mode, m, dm):
                    pass  # the mode fitted once: some masses fit
                wmax = genbod_wmax(m, dm, nd)
                if tb.md_wmax[mode] > 0.0:
                    wmax = min(wmax, tb.md_wmax[mode])
                misses = 0
            misses += 1
            if genbod_unweighted1(rng, m, dm, nd, wmax, out_f, pos):
                tb.counters[C_OVERWEIGHT] += 1
            if tb.gr_kind[mode] != goity_roberts.NONE:
                # GOITY_ROBERTS line: flat phase space x hit-or-miss of its |M|^2
                ok, over = goity_roberts.accept_rows1(
                    rng, tb.gr_kind[mode], m, dm[tb.gr_role[mode, 0]], tb.gr_wmax[mode], out_f,
                    pos + tb.gr_role[mode, 0], pos + tb.gr_role[mode, 1],
                    pos + tb.gr_role[mode, 2], pos + tb.gr_role[mode, 3],
                    tb.gr_reflect[mode] == 1)
                tb.counters[C_OVERWEIGHT] += over
                if ok:
                    break
                continue
            if sl == semileptonic.KIND_NONE:
                break
            # DEC BGL / HQET3 / LLSW line: flat phase space x hit-or-miss of the form-factor
            # weight in (q2, cos theta_l) gives the model's density (gen.decays.semileptonic,
            # whose accept_rows1 raises on a NaN weight rather than rejecting forever); masses
            # are fixed here (checked when the tables are built) except an LLSW D**'s
            # Breit-Wigner mass, whose wmax is the bound over its mass range
            h, lep, nu = tb.sl_role[mode, 0], tb.sl_role[mode, 1], tb.sl_role[mode, 2]
            ok, over, hel = semileptonic.accept_rows1(rng, sl, tb.sl_par[mode], m, dm[h],
                                                      dm[lep], tb.sl_wmax[mode], out_f, pos + h,
                                                      pos + lep, pos + nu)
            tb.counters[C_OVERWEIGHT] += over
            if ok:
                if sl in semileptonic.POLARISED_KINDS:  # D*, D_1', D_1, D_2*
                    sl_pol = POL_HEL0 if hel == semileptonic.HEL_LONG else POL_HEL1
                break
    # decay point
    vx, vy, vz, t = out_f[j, 4], out_f[j, 5], out_f[j, 6], out_f[j, 7]
    ctau = tb.sp_ctau[k]
    if (ctau > 0.0 or ct_forced >= 0.0) and m > 0.0:
        ct = ct_forced if ct_forced >= 0.0 else ctau * rng.exponential()
        vx += px / m * ct
        vy += py / m * ct
        vz += pz / m * ct
        t += e / m * ct / C_CM_PER_NS
    for i in range(nd):
        r = pos + i
        a = boost1(out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3], bx, by, bz)
        out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3] = a[0], a[1], a[2], a[3]
        out_f[r, 4], out_f[r, 5], out_f[r, 6], out_f[r, 7] = vx, vy, vz, t
        if quark_level:
            out_i[r, 3] = POL_NONE
        else:
            out_i[r, 0] = tb.md_pdg[mode, i]
            out_i[r, 3] = tb.md_pol[mode, i]
            if out_i[r, 3] == POL_DRAWN:
                out_i[r, 3] = drawn_pol
        out_i[r, 1] = FINAL
        out_i[r, 2] = j - base
    if sl_pol >= 0:  # helicity of the vector of a semileptonic mode (drawn above)
        out_i[pos + tb.sl_role[mode, 0], 3] = sl_pol
    out_i[j, 1] = DECAYED
    return pos + nd


@kernel
def grow(out_i, out_f, need):
    """Copies of the row buffers with room for at least ``need`` rows (doubling)."""
    cap = out_i.shape[0]
    if need <= cap:
        return out_i, out_f
    new = max(2 * cap, need)
    ni = np.empty((new, out_i.shape[1]), np.int64)
    nf = np.empty((new, out_f.shape[1]))
    ni[:cap] = out_i
    nf[:cap] = out_f
    return ni, nf


@kernel
def decay_tree1(rng, tb, tau_tb, out_i, out_f, first, pos, base, margin, dm):
    """Decay every row from ``first`` on (including the daughters it appends) until only
    stable particles are left with status 1. Returns (end row, out_i, out_f) (buffers may grow).
    """
    return decay_tree_forced1(rng, tb, tau_tb, out_i, out_f, first, pos, base, margin, dm, 0,
                              -1.0, -1.0)


@kernel
def decay_tree_forced1(rng, tb, tau_tb, out_i, out_f, first, pos, base, margin, dm, n_forced,
                       ct_a, ct_b):
    """``decay_tree1`` where the first ``n_forced`` (0, 1 or 2) rows from ``first`` decay after
    the proper decay lengths ct_a, ct_b (cm; ``decay_row1``'s ``ct_forced``, B mixing): the same
    rows, in the same order, as decay_row1 on those rows followed by decay_tree1. Stable rows
    are skipped without a call (one inlined table lookup each)."""
    sp_decay = tb.sp_decay
    j = first
    while j < pos:
        if out_i[j, 1] == FINAL:
            k = species_index(tb, out_i[j, 0])
            if k >= 0 and sp_decay[k] != STABLE:
                out_i, out_f = grow(out_i, out_f, pos + margin)
                ct = -1.0
                if j - first < n_forced:
                    ct = ct_a if j == first else ct_b
                pos = _decay_row(rng, tb, tau_tb, out_i, out_f, j, k, base, pos, ct, dm)
        j += 1
    return pos, out_i, out_f


@kernel
def _decay_chunk_kernel(rng, tb, tau_tb, in_i, in_f, in_pol, offset, margin):
    n_ev = offset.shape[0] - 1
    n_in = in_i.shape[0]
    out_i = np.empty((4 * n_in + margin, ICOLS), np.int64)
    out_f = np.empty((4 * n_in + margin, COLS))
    new_off = np.zeros(n_ev + 1, np.int64)
    dm = np.zeros(MAXD)
    pos = 0
    for ev in range(n_ev):
        base = pos
        n = offset[ev + 1] - offset[ev]
        out_i, out_f = grow(out_i, out_f, pos + n + margin)
        for r in range(n):
            src = offset[ev] + r
            for c in range(3):
                out_i[pos + r, c] = in_i[src, c]
            out_i[pos + r, 3] = in_pol[src]
            for c in range(COLS):
                out_f[pos + r, c] = in_f[src, c]
        pos, out_i, out_f = decay_tree1(rng, tb, tau_tb, out_i, out_f, base, base + n, base,
                                        margin, dm)
        new_off[ev + 1] = pos
    return out_i[:pos], out_f[:pos], new_off


def row_margin() -> int:
    """Rows to keep free before one decay (generic, quark-level or tau)."""
    return max(MAXD, quark_modes.MAX_ROWS, max_tree_rows())


def rows_to_particles(out_i: np.ndarray, out_f: np.ndarray) -> dict[str, np.ndarray]:
    """Split kernel row buffers into the ``PARTICLE_FIELDS`` arrays of an ``EventChunk``."""
    cols = {"pdg": out_i[:, 0], "status": out_i[:, 1], "mother": out_i[:, 2]}
    for c, name in enumerate(("px", "py", "pz", "e", "vx", "vy", "vz", "t")):
        cols[name] = out_f[:, c]
    return {k: np.ascontiguousarray(cols[k], dtype=t) for k, t in PARTICLE_FIELDS.items()}


def decay_unstable(
    chunk: EventChunk,
    rng: np.random.Generator,
    *,
    stable: frozenset[int] = DEFAULT_STABLE,
    polarisation: np.ndarray | None = None,
) -> EventChunk:
    """Decay every status-1 particle that is not stable, recursively, within its event.

    Decayed particles get status 2; their daughters are appended to the event with ``mother``
    the index within the event and the vertex / time of the decay point. Weights and truth are
    kept. ``stable``: absolute PDG ids never decayed (default ``DEFAULT_STABLE``). Particles
    without a decay table and not stable stay status 1 (counted in ``decay_tables().counters``).
    ``polarisation``: optional code per input particle (POL_NONE, POL_HEL0, POL_HEL1: helicity
    |lambda| along its flight direction in the frame of its ``mother``, which must be in the
    event), e.g. a vector or tensor of known helicity; default unpolarised.
    """
    tb = decay_tables(frozenset(stable))
    tau_tb, _ = tau_tables()
    p = chunk.particles
    in_i = np.ascontiguousarray(np.stack([p["pdg"], p["status"], p["mother"]], axis=1),
                                dtype=np.int64)
    in_f = np.ascontiguousarray(
        np.stack([p[k] for k in ("px", "py", "pz", "e", "vx", "vy", "vz", "t")], axis=1),
        dtype=np.float64,
    )
    offset = np.ascontiguousarray(chunk.offset, dtype=np.int64)
    pol = np.full(in_i.shape[0], POL_NONE, np.int64)
    if polarisation is not None:
        pol[:] = np.asarray(polarisation, dtype=np.int64)
        if not np.isin(pol, (POL_NONE, POL_HEL0, POL_HEL1)).all():
            raise ValueError(f"polarisation codes: allowed {POL_NONE}, {POL_HEL0}, {POL_HEL1}")
    out_i, out_f, new_off = _decay_chunk_kernel(rng, tb, tau_tb, in_i, in_f, pol, offset,
                                                row_margin())
    return EventChunk(weight=chunk.weight.copy(), offset=new_off,
                      particles=rows_to_particles(out_i, out_f),
                      truth={k: v.copy() for k, v in chunk.truth.items()})


# ----------------------------------------------------------------------------------------------
# Pilot maxima
# ----------------------------------------------------------------------------------------------


@kernel
def _pilot_all(rng, tb, trials, safety):
    scratch = np.zeros((MAXD, 4))
    dm = np.zeros(MAXD)
    for k in range(tb.sp_pdg.shape[0]):
        m = tb.sp_mass[k]
        for mode in range(tb.sp_first[k], tb.sp_first[k + 1]):
            nd = tb.md_nd[mode]
            if nd < 3 or tb.md_me[mode] >= 0:
                continue
            wmax = 0.0
            for _ in range(trials):
                if _sample_masses(rng, tb, mode, m, dm):
                    wmax = max(wmax, genbod1(rng, m, dm, nd, scratch, 0))
            tb.md_wmax[mode] = wmax * safety
