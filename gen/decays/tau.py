"""Tau lepton decays: mode table from DECAY_BELLE2.DEC, matrix-element kernels, decay trees.

Branching fractions are those of the ``Decay tau-`` block of decaylanguage's
``DECAY_BELLE2.DEC`` (Belle II note BELLE2-NOTE-PH-2020-055 Table V, adapted from the PDG 2020
tau branching-fraction review), parsed with ``decaylanguage.DecFileParser`` at first use and
normalised to sum to one. ``tau+`` modes are the charge conjugates (``CDecay tau+``).

Treatment of the modes (``TauMode.kind``):

- ``leptonic`` (tau- -> l- anti-nu_l nu_tau): V-A matrix element with the lepton mass kept,
  spin-summed |M|^2 = 64 G_F^2 (p_tau . p_nubar_l)(p_l . p_nu_tau) (the standard muon-decay
  result, e.g. Griffiths, Introduction to Elementary Particles, muon decay, with mu -> tau,
  e -> l). It depends on the anti-neutrino energy only, so it is sampled exactly from its
  marginal (``_leptonic``). For an unpolarised tau this is the Michel spectrum with rho = 3/4,
  eta = 0 including the x0 = m_l/W mass terms (PDG RPP 2024, "Muon decay parameters", eq. 1),
  which the tests check.
- ``two_body`` (pi- nu_tau, K- nu_tau): isotropic, fixed momentum.
- ``vector`` (rho- nu_tau -> pi- pi0 nu_tau; K*- nu_tau -> K pi nu_tau): hadronic current
  J = F(Q^2) (q_a - q_b)_perp contracted with the unpolarised lepton tensor,
  |M|^2 = |F|^2 [2 (p_tau . J)(p_nu . J) - (p_tau . p_nu) J . J] (Kuhn & Santamaria,
  Z. Phys. C48 (1990) 445, "KS" below). For the rho, F is the KS pion form factor
  (BW_rho + beta BW_rho')/(1 + beta) with p-wave energy-dependent widths and the parameters of
  the TAUHADNU lines of the same DEC file (beta = -0.108, rho 0.775/0.149, rho' 1.364/0.400
  GeV); for the K*, a p-wave Breit-Wigner with the K*(892)- mass and width from ``particle``;
  the K* -> K pi charge split uses the DEC ``K*-`` block. The resonance (rho-, K*-) is written
  as an intermediate particle (status 2).
- ``a1`` (pi- pi0 pi0 nu_tau, pi- pi- pi+ nu_tau; DEC model TAUHADNU): KS resonance model
  (a resonance shape, not phase space), J = BW_a1(Q^2) [F_rho(s_2) (q1 - q3)_perp
  + F_rho(s_1) (q2 - q3)_perp], s_i = (Q - q_i)^2, q1, q2 the identical pions, a1 running
  width Gamma_a1 g(Q^2)/g(m_a1^2) with KS's g(Q^2) (m_a1 1.23, Gamma_a1 0.4 GeV from the DEC
  line). EvtGen's EvtTauHadnu implements the same model; it pairs (q1 - q3) with F_rho(s_1) and
  tests ``Q^2 > m_rho + m_pi`` in g: here the rho formed by (q1, q3) multiplies (q1 - q3) and
  the threshold is (m_rho + m_pi)^2. The current is complex (c1, c2 have different phases), so
  the full V-A lepton tensor is kept (``a1_x1``: Jadach, Kuhn, Was, Comput. Phys. Commun. 64
  (1991) 275, eqs. 3.14-3.15; Kuhn & Mirkes, Z. Phys. C56 (1992) 661): the unpolarised rate has
  a parity-odd part (~8 % on average, zero after integration over the orientation of the
  three-pion plane) whose sign is opposite for the tau+, which is generated as the mirror image
  of the tau- (CP). The a1- is written as an intermediate particle (status 2).
- ``phase_space``: every other mode, flat n-body phase space (F. James, CERN 68-15; algorithm of
  ROOT's TGenPhaseSpace; gen.phasespace.genbod1) with the daughters listed in the DEC file (fixed
  PDG masses).

Sampling: the vector and a1 modes draw Q^2 in the Breit-Wigner variable x, with hit-or-miss
against a piecewise-constant envelope in x (``N_ENV`` bins). Vector modes: the hit-or-miss
weight is the angle-integrated x density (``_vector_weight``), its envelope the maxima on a
grid (times ``_VECTOR_SAFETY`` = 1.01), and the decay angles of the accepted Q^2 are drawn
exactly (``_vector_build``): efficiency 0.97 (it was 0.37 with the angles in the hit-or-miss).
a1 modes: Q^2 and the Dalitz point come from two rho channels (multichannel, ``a1_point1``)
with the rate integrated analytically over the orientation of the tau relative to the pions,
the weight computed from invariants only; the orientation is then drawn exactly
(``a1_build1``: hit-or-miss of a quadratic-plus-linear form on the sphere, no weight). The
x envelope comes from pilot runs at table build (fixed seed, times ``_WMAX_SAFETY`` = 1.2, also
over the neighbouring bins): efficiency 0.33 for both a1 modes (0.22 when the orientation was
part of the hit-or-miss, 0.08 and 0.10 with flat three-body phase space); no weight above the
envelope in 3e6 trials of each (largest weight / envelope 0.84). Flat phase space (modes
and secondary decays) is ``gen.phasespace.genbod_unweighted1``: three bodies against the exact
maximum of their weight (``three_body_wmax``), more against pilot maxima (x 1.2). Weights
above the envelopes or maxima are counted in ``TauTables.overweight``.

Secondary decays (prompt, in the generator): pi0, eta, omega, K_S0 and K0 / anti-K0 (-> K_S0 or
K_L0, 50/50) are decayed with the branching fractions of their DEC blocks, keeping only channels
whose daughters are photons, pions, K_S0 or K_L0 (the dropped fraction, e.g. the pi0 Dalitz decay
1.2 %, is renormalised away) and flat phase space. They get status 2; their flight uses c*tau from
``particle`` (K_S0: 2.68 cm). Final state (status 1): e, mu, pi+-, K+-, K_L0, photons, neutrinos.

Vertices: a tau produced at (v, t) with four-momentum p decays after a proper flight
c*t' ~ Exp(c*tau) (c*tau from ``particle``: Particle(15).lifetime * c), at v + (p/m) c*t' and
time t + (E/m) t'. All daughters of a decay start at the decay point.

Importance sampling: ``tau_tables(mask, bias)`` draws mode m with probability BF_m b_m / Z and
returns Z; the process multiplies its weights by Z / b_m per tau (``mode_classes`` groups the
modes into the classes of ``MODE_CLASSES`` for cards).

Spin: ``decay_tau1`` decays an unpolarised tau. The tau+ tau- spin correlations of
e+e- -> tau+ tau- are applied by the process on top of it (``gen.decays.tau_spin``: polarimeter
vectors of the leptonic, pi/K nu, vector and a1 modes; the tau+ rest-frame block rotated
rigidly).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from gen.constants import C_CM_PER_NS, M_TAU, TAU
from gen.events import DECAYED, FINAL, PARTICLE_FIELDS, EventChunk
from gen.jit import kernel
from gen.kinematics import (
    boost1,
    boost_p1,
    boost_params1,
    rotate_z_to1,
    two_body_momentum1,
)
from gen.phasespace import (
    genbod_unweighted1,
    isotropic1,
    pilot_wmax,
    three_body_wmax,
)

#: generator treatments of a tau decay mode
LEPTONIC, TWO_BODY, VECTOR, A1, PHASE_SPACE = 0, 1, 2, 3, 4
KIND_NAMES = ("leptonic", "two_body", "vector", "a1", "phase_space")
#: form factors of the vector modes
FF_RHO_KS, FF_BW = 0, 1
#: most rows one mode block (daughters + intermediate resonance) or one secondary channel writes
MAXD = 8
#: columns of the float output buffer
COLS = 8  # px py pz e vx vy vz t

# Names (EvtGen spelling) of the particles decayed after the tau decay, and the daughters kept.
_SECONDARY = ("pi0", "eta", "omega", "K_S0", "K0", "anti-K0")
_SECONDARY_ALLOWED = frozenset({"gamma", "pi+", "pi-", "pi0", "K_S0", "K_L0"})
#: bins of the piecewise-constant envelope of the vector and a1 weights (in the BW variable)
N_ENV = 64
#: safety factor on pilot maxima (envelope bins: also the maximum of the two neighbour bins)
_WMAX_SAFETY = 1.2
_PILOT_TRIALS = 200_000
#: safety factor on the grid maxima of the vector-mode x density
_VECTOR_SAFETY = 1.01
_PILOT_TRIALS_PHSP = 50_000


class TauTables(NamedTuple):
    """Flat arrays of the tau decay model, passed into kernels (built by ``tau_tables``)."""

    m_tau: float
    ctau_cm: float
    cum: np.ndarray  # (n_modes,) cumulative probability of the enabled modes, last = 1
    kind: np.ndarray  # (n_modes,) int64
    nrow: np.ndarray  # (n_modes,) rows written by the mode (daughters + resonance)
    pdg: np.ndarray  # (n_modes, MAXD) int64, rows for tau-
    pdg_cc: np.ndarray  # (n_modes, MAXD) int64, rows for tau+
    mass: np.ndarray  # (n_modes, MAXD) float64, fixed masses (resonance rows: 0)
    mother: np.ndarray  # (n_modes, MAXD) int64, -1: the tau, k: row k of the block
    status: np.ndarray  # (n_modes, MAXD) int64
    par: np.ndarray  # (n_modes, 8) float64, model parameters
    wmax: np.ndarray  # (n_modes,) maximum flat phase-space weight (phase_space, n >= 3)
    env_cum: np.ndarray  # (n_modes, N_ENV) cumulative envelope probabilities (vector, a1)
    env_max: np.ndarray  # (n_modes, N_ENV) envelope: maximum weight in each bin
    sec_pdg: np.ndarray  # (n_sec,) int64, particles decayed after the tau decay
    sec_ctau: np.ndarray  # (n_sec,) float64, cm
    sec_first: np.ndarray  # (n_sec + 1,) int64, channel ranges
    ch_cum: np.ndarray  # (n_ch,) cumulative probability within the species
    ch_nd: np.ndarray  # (n_ch,) int64
    ch_pdg: np.ndarray  # (n_ch, MAXD) int64
    ch_mass: np.ndarray  # (n_ch, MAXD) float64
    ch_wmax: np.ndarray  # (n_ch,) maximum phase-space weight (n >= 3)
    overweight: np.ndarray  # (n_modes + n_ch,) int64 counter of weights above the maximum


@dataclass(frozen=True)
class TauMode:
    """One tau- decay mode of the generator (tau+: charge conjugate)."""

    index: int
    name: str
    bf: float  #: normalised branching fraction
    bf_dec: float  #: DEC-file value (times the K* charge-split fraction for the K* modes)
    line: int  #: line of the mode in DECAY_BELLE2.DEC
    model: str  #: EvtGen model named in the DEC file
    kind: str  #: generator treatment (KIND_NAMES)
    daughters: tuple[int, ...]  #: PDG ids of the final particles of the mode (tau-)
    resonance: int  #: PDG id of the intermediate resonance written (0: none)
    prongs_min: int  #: fewest charged final-state particles (over secondary decays)
    prongs_max: int  #: most charged final-state particles


# ----------------------------------------------------------------------------------------------
# Mode table (Python, first use)
# ----------------------------------------------------------------------------------------------


def dec_file_path():
    """Path of decaylanguage's DECAY_BELLE2.DEC."""
    import decaylanguage

    return decaylanguage.data.basepath / "DECAY_BELLE2.DEC"


@functools.lru_cache(maxsize=1)
def _parser():
    from decaylanguage import DecFileParser

    parser = DecFileParser(dec_file_path())
    parser.parse()
    return parser


def _modes_of(name: str) -> list[dict]:
    """[{'bf', 'fs', 'model', 'model_params'}] of the ``Decay name`` block, in file order.

    Parsing the DEC file costs ~2.3 s of CPU, so the block is kept in the on-disk cache
    (``gen.diskcache``), keyed by the file and the decaylanguage version.
    """
    from importlib.metadata import version

    from gen.diskcache import cached_json, file_key

    def parse() -> list[dict]:
        parser = _parser()
        stable = sorted({d for fs in parser.list_decay_modes(name) for d in fs})
        return parser.build_decay_chains(name, stable_particles=stable)[name]

    key = {"dec": file_key(dec_file_path()), "decaylanguage": version("decaylanguage"),
           "block": name}
    return cached_json("dec-modes", key, parse)


def _block_lines(name: str) -> list[tuple[int, float]]:
    """(line number, BF) of every mode line of ``Decay name`` in the DEC file (1-based)."""
    lines = dec_file_path().read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(i for i, s in enumerate(lines) if s.split("#")[0].split() == ["Decay", name])
    out = []
    for i in range(start + 1, len(lines)):
        s = lines[i].split("#")[0].strip()
        if not s:
            continue
        if s.startswith("Enddecay"):
            break
        out.append((i + 1, float(s.split()[0])))
    return out


def _pdg(name: str) -> int:
    from particle import Particle

    return int(Particle.from_evtgen_name(name).pdgid)


def _mass(pdg: int) -> float:
    from particle import Particle

    m = Particle.from_pdgid(pdg).mass
    return 0.0 if m is None else m * 1e-3


def _ctau_cm(pdg: int) -> float:
    """c*tau in cm from ``particle`` (lifetime in ns); 0 when unknown or not finite."""
    from particle import Particle

    life = Particle.from_pdgid(pdg).lifetime
    if life is None or not math.isfinite(life):
        return 0.0
    return life * C_CM_PER_NS


def _charge(pdg: int) -> int:
    from particle import Particle

    return int(round(Particle.from_pdgid(pdg).charge))


def _cc(pdg: int) -> int:
    from particle import Particle

    return int(Particle.from_pdgid(pdg).invert().pdgid)


@functools.lru_cache(maxsize=1)
def _secondary_channels() -> dict[int, tuple[float, list[tuple[float, tuple[int, ...]]]]]:
    """pdg -> (c*tau cm, [(normalised BF, daughters)]) of the secondary decays."""
    out = {}
    for name in _SECONDARY:
        kept = [(m["bf"], tuple(_pdg(d) for d in m["fs"])) for m in _modes_of(name)
                if set(m["fs"]) <= _SECONDARY_ALLOWED]
        total = sum(bf for bf, _ in kept)
        pdg = _pdg(name)
        out[pdg] = (_ctau_cm(pdg), [(bf / total, ds) for bf, ds in kept])
    return out


def _prongs(pdg: int) -> tuple[int, int]:
    """(min, max) number of charged final-state particles a particle turns into."""
    sec = _secondary_channels()
    if pdg not in sec and -pdg not in sec:
        return (1, 1) if _charge(pdg) != 0 else (0, 0)
    _, channels = sec[pdg] if pdg in sec else sec[-pdg]
    lo, hi = [], []
    for _, ds in channels:
        pr = [_prongs(d) for d in ds]
        lo.append(sum(p[0] for p in pr))
        hi.append(sum(p[1] for p in pr))
    return min(lo), max(hi)


def _rows_bound(pdg: int) -> int:
    """Most rows the decay tree below (and excluding) a particle can take."""
    sec = _secondary_channels()
    if pdg not in sec:
        return 0
    return max(len(ds) + sum(_rows_bound(d) for d in ds) for _, ds in sec[pdg][1])


@dataclass(frozen=True)
class _ModeSpec:
    mode: TauMode
    kind: int
    rows: tuple[int, ...]  # pdg of each row (tau-)
    masses: tuple[float, ...]
    mothers: tuple[int, ...]
    par: tuple[float, ...]


@functools.lru_cache(maxsize=1)
def _mode_specs() -> tuple[_ModeSpec, ...]:
    raw = _modes_of("tau-")
    lines = _block_lines("tau-")
    if len(lines) != len(raw) or any(
        abs(a[1] - b["bf"]) > 1e-12 for a, b in zip(lines, raw, strict=True)
    ):
        raise RuntimeError("DECAY_BELLE2.DEC tau- block: line scan disagrees with DecFileParser")
    # KS parameters (beta, m_rho, G_rho, m_rho', G_rho', m_a1, G_a1) of the TAUHADNU lines
    ks = next(tuple(float(x) for x in m["model_params"]) for m in raw if m["model"] == "TAUHADNU")
    nu_tau = _pdg("nu_tau")
    kstar = _pdg("K*-")
    kstar_channels = [(m["bf"], tuple(_pdg(d) for d in m["fs"])) for m in _modes_of("K*-")
                      if len(m["fs"]) == 2 and "gamma" not in m["fs"]]
    kstar_total = sum(bf for bf, _ in kstar_channels)
    specs: list[_ModeSpec] = []
    total_bf = sum(m["bf"] for m in raw)

    def add(kind, rows, mothers, par, bf_dec, line, model, resonance, label):
        finals = tuple(r for r in rows if r != resonance or resonance == 0)
        masses = tuple(0.0 if r == resonance and resonance != 0 else _mass(r) for r in rows)
        pr = [_prongs(d) for d in finals]
        mode = TauMode(
            index=len(specs), name=label, bf=bf_dec / total_bf, bf_dec=bf_dec, line=line,
            model=model, kind=KIND_NAMES[kind], daughters=finals, resonance=resonance,
            prongs_min=sum(p[0] for p in pr), prongs_max=sum(p[1] for p in pr),
        )
        specs.append(_ModeSpec(mode, kind, rows, masses, mothers, par))

    for m, (line, _) in zip(raw, lines, strict=True):
        fs, model = m["fs"], m["model"]
        ids = tuple(_pdg(d) for d in fs)
        label = "tau- -> " + " ".join(fs)
        n = len(ids)
        if model == "TAULNUNU":
            add(LEPTONIC, ids, (-1,) * n, (0.0,) * 8, m["bf"], line, model, 0, label)
        elif model == "TAUSCALARNU":
            add(TWO_BODY, ids, (-1,) * n, (0.0,) * 8, m["bf"], line, model, 0, label)
        elif model == "TAUVECTORNU" and fs[0] == "rho-":
            rows = (ids[0], nu_tau, _pdg("pi-"), _pdg("pi0"))
            par = (FF_RHO_KS, ks[1], ks[2], ks[3], ks[4], ks[0], 0.0, 0.0)
            add(VECTOR, rows, (-1, -1, 0, 0), par, m["bf"], line, model, ids[0],
                label + " (rho- -> pi- pi0)")
        elif model == "TAUVECTORNU" and ids[0] == kstar:
            m_ks, g_ks = _mass(kstar), _width(kstar)
            for bf_k, ds in kstar_channels:
                rows = (kstar, nu_tau) + ds
                par = (FF_BW, m_ks, g_ks, 0.0, 0.0, 0.0, 0.0, 0.0)
                sub = " ".join(_name(d) for d in ds)
                add(VECTOR, rows, (-1, -1, 0, 0), par, m["bf"] * bf_k / kstar_total, line, model,
                    kstar, f"{label} (K*- -> {sub})")
        elif model == "TAUHADNU" and n == 4:
            pions = ids[:3]
            diff = next(i for i in range(3) if pions.count(pions[i]) == 1)
            a1 = _pdg("a_1-")
            rows = (a1, nu_tau) + pions
            par = (ks[5], ks[6], ks[1], ks[2], ks[3], ks[4], ks[0], float(diff))
            add(A1, rows, (-1, -1, 0, 0, 0), par, m["bf"], line, model, a1,
                label + " (via a_1-)")
        else:
            add(PHASE_SPACE, ids, (-1,) * n, (0.0,) * 8, m["bf"], line, model, 0, label)
    return tuple(specs)


def _width(pdg: int) -> float:
    from particle import Particle

    return Particle.from_pdgid(pdg).width * 1e-3


def _name(pdg: int) -> str:
    from particle import Particle

    return Particle.from_pdgid(pdg).evtgen_name


def tau_modes() -> list[TauMode]:
    """The tau- decay modes of the generator, in DEC-file order (the K* mode split by charge)."""
    return [s.mode for s in _mode_specs()]


def one_prong_mask() -> np.ndarray:
    """Boolean mask of the modes that can give exactly one charged final-state particle.

    A mode counts when its fewest charged descendants (over the eta, omega, K_S0 secondary
    decays) is one, e.g. pi- omega nu_tau (omega -> pi0 gamma).
    """
    return np.array([m.prongs_min == 1 for m in tau_modes()])


@functools.lru_cache(maxsize=1)
def max_tree_rows() -> int:
    """Most rows the decay tree of one tau can take (the tau itself included)."""
    return 1 + max(
        len(s.rows) + sum(_rows_bound(r) for r in s.rows) for s in _mode_specs()
    )


def format_mode_table() -> str:
    """Human-readable table: index, BF, DEC line, treatment, prongs and name."""
    rows = [f"{'idx':>3} {'BF':>9} {'line':>5} {'kind':<11} {'prongs':>6}  mode"]
    for m in tau_modes():
        rows.append(f"{m.index:>3} {m.bf:9.6f} {m.line:>5} {m.kind:<11} "
                    f"{m.prongs_min:>3}-{m.prongs_max:<2}  {m.name}")
    return "\n".join(rows)


def _leptonic_fmax(m_tau: float, m_l: float) -> float:
    """Maximum of the nubar-energy marginal E2^2 (s13 - m^2)^2 / s13 (see ``_leptonic``)."""
    e2 = np.linspace(0.0, (m_tau**2 - m_l**2) / (2.0 * m_tau), 200_001)
    s13 = m_tau**2 - 2.0 * m_tau * e2
    # a fine grid of a smooth unimodal function: relative error ~1e-10, covered by the factor
    return float(np.max(e2**2 * (s13 - m_l**2) ** 2 / s13)) * 1.0001


@functools.lru_cache(maxsize=1)
def _base_arrays() -> TauTables:
    specs = _mode_specs()
    nm = len(specs)
    kind = np.array([s.kind for s in specs], np.int64)
    nrow = np.array([len(s.rows) for s in specs], np.int64)
    pdg = np.zeros((nm, MAXD), np.int64)
    pdg_cc = np.zeros((nm, MAXD), np.int64)
    mass = np.zeros((nm, MAXD))
    mother = np.full((nm, MAXD), -1, np.int64)
    status = np.full((nm, MAXD), FINAL, np.int64)
    par = np.zeros((nm, 8))
    for i, s in enumerate(specs):
        k = len(s.rows)
        pdg[i, :k] = s.rows
        pdg_cc[i, :k] = [_cc(r) for r in s.rows]
        mass[i, :k] = s.masses
        mother[i, :k] = s.mothers
        for mo in s.mothers:
            if mo >= 0:
                status[i, mo] = DECAYED
        par[i] = s.par
        if s.kind == LEPTONIC:
            par[i, 0] = _leptonic_fmax(M_TAU, s.masses[0])
    sec = _secondary_channels()
    sec_pdg = np.array(list(sec), np.int64)
    sec_ctau = np.array([sec[p][0] for p in sec])
    first = [0]
    ch_cum, ch_nd, ch_pdg, ch_mass, ch_parent = [], [], [], [], []
    for p in sec:
        c = 0.0
        for bf, ds in sec[p][1]:
            c += bf
            ch_cum.append(c)
            ch_nd.append(len(ds))
            ch_pdg.append(list(ds) + [0] * (MAXD - len(ds)))
            ch_mass.append([_mass(d) for d in ds] + [0.0] * (MAXD - len(ds)))
            ch_parent.append(_mass(p))
        ch_cum[-1] = 1.0
        first.append(len(ch_cum))
    n_ch = len(ch_cum)
    base = TauTables(
        m_tau=M_TAU, ctau_cm=_ctau_cm(TAU), cum=np.zeros(nm), kind=kind, nrow=nrow, pdg=pdg,
        pdg_cc=pdg_cc, mass=mass, mother=mother, status=status, par=par, wmax=np.zeros(nm),
        env_cum=np.zeros((nm, N_ENV)), env_max=np.zeros((nm, N_ENV)),
        sec_pdg=sec_pdg, sec_ctau=sec_ctau, sec_first=np.array(first, np.int64),
        ch_cum=np.array(ch_cum), ch_nd=np.array(ch_nd, np.int64),
        ch_pdg=np.array(ch_pdg, np.int64), ch_mass=np.array(ch_mass), ch_wmax=np.zeros(n_ch),
        overweight=np.zeros(nm + n_ch, np.int64),
    )
    # Pilot maxima of the weights (fixed seed: the tables are deterministic). Flat phase space
    # of n >= 4 bodies: the analytic TGenPhaseSpace bound is far above the true maximum (0.1 %
    # efficiency for 5 bodies), so the pilot maximum x _WMAX_SAFETY is used instead; weights
    # above it are counted in ``overweight``.
    rng = np.random.Generator(np.random.PCG64(20240615))
    scratch = np.zeros((MAXD, COLS))
    for i in range(nm):
        if kind[i] == PHASE_SPACE and nrow[i] == 3:
            # three bodies: the exact maximum (gen.phasespace.three_body_wmax)
            base.wmax[i] = three_body_wmax(M_TAU, *mass[i, :3])
        elif kind[i] == PHASE_SPACE and nrow[i] > 3:
            base.wmax[i] = _WMAX_SAFETY * pilot_wmax(
                rng, M_TAU, mass[i], nrow[i], _PILOT_TRIALS_PHSP, scratch)
        elif kind[i] == VECTOR:
            # a deterministic smooth function of x: grid maxima, relative error ~1e-5 at 256
            # points per bin, covered by _VECTOR_SAFETY (weights above it are still counted)
            env = _VECTOR_SAFETY * _vector_envelope(base, i, 256)
            base.env_max[i] = env
            base.env_cum[i] = np.cumsum(env) / env.sum()
            base.env_cum[i, -1] = 1.0
        elif kind[i] == A1:
            bins = _pilot_envelope(rng, base, i, _PILOT_TRIALS)
            env = _WMAX_SAFETY * np.maximum(bins, np.maximum(np.r_[bins[1:], 0.0],
                                                             np.r_[0.0, bins[:-1]]))
            base.env_max[i] = env
            base.env_cum[i] = np.cumsum(env) / env.sum()
            base.env_cum[i, -1] = 1.0
    for c in range(n_ch):
        if ch_nd[c] == 3:
            base.ch_wmax[c] = three_body_wmax(ch_parent[c], *base.ch_mass[c, :3])
        elif ch_nd[c] > 3:
            base.ch_wmax[c] = _WMAX_SAFETY * pilot_wmax(
                rng, ch_parent[c], base.ch_mass[c], ch_nd[c], _PILOT_TRIALS_PHSP, scratch)
    return base


#: classes of tau- modes for importance sampling (``mode_classes``), in a fixed order
MODE_CLASSES = ("e", "mu", "pi", "k", "rho", "one_prong", "multi_prong")


def mode_classes() -> np.ndarray:
    """Class index (into ``MODE_CLASSES``) of every mode of ``tau_modes()``.

    e, mu: the leptonic modes; pi, k: pi- nu, K- nu; rho: rho- nu (pi- pi0); one_prong: every
    other mode that can give exactly one charged particle (``one_prong_mask``, e.g. pi- 2pi0 nu,
    K- pi0 nu, pi- K_S0 K_L0 nu); multi_prong: modes with at least three charged particles.
    """
    out = []
    for m in tau_modes():
        if m.kind == "leptonic":
            out.append(MODE_CLASSES.index("e" if abs(m.daughters[0]) == 11 else "mu"))
        elif m.kind == "two_body":
            out.append(MODE_CLASSES.index("pi" if abs(m.daughters[0]) == 211 else "k"))
        elif m.kind == "vector" and m.resonance == -213:
            out.append(MODE_CLASSES.index("rho"))
        elif m.prongs_min == 1:
            out.append(MODE_CLASSES.index("one_prong"))
        else:
            out.append(MODE_CLASSES.index("multi_prong"))
    return np.array(out, np.int64)


def tau_tables(
    mode_mask: np.ndarray | None = None, bias: np.ndarray | None = None
) -> tuple[TauTables, float]:
    """Kernel tables restricted to the modes of ``mode_mask``, drawn with bias; and Z.

    ``mode_mask`` is a boolean array over ``tau_modes()`` (None: all modes). ``bias`` (None: all
    1) is a positive array over the same modes: mode m is drawn with probability
    q_m = BF_m b_m / Z, Z = sum over enabled modes of BF_m b_m (importance sampling). The
    returned Z is the BF sum of the enabled modes when unbiased; in general a tau decayed in mode
    m carries the weight BF_m / q_m = Z / b_m, which a process multiplies into its cross section
    once per tau (unbiased: E_q[Z/b] = sum of the enabled BFs).
    """
    base = _base_arrays()
    bf = np.array([m.bf for m in tau_modes()])
    if mode_mask is None:
        mask = np.ones(bf.shape, bool)
    else:
        mask = np.asarray(mode_mask, bool)
        if mask.shape != bf.shape:
            raise ValueError(f"mode_mask must have {bf.size} entries, got {mask.shape}")
    if not mask.any():
        raise ValueError("mode_mask enables no tau decay mode")
    if bias is None:
        b = np.ones(bf.shape)
    else:
        b = np.asarray(bias, np.float64)
        if b.shape != bf.shape or not np.all(np.isfinite(b)) or np.any(b <= 0.0):
            raise ValueError(f"bias must be {bf.size} finite positive numbers")
    w = np.where(mask, bf * b, 0.0)
    cum = np.cumsum(w) / w.sum()
    total = 1.0 if (mask.all() and bias is None) else float(w.sum())
    cum[np.flatnonzero(mask)[-1]:] = 1.0
    return base._replace(cum=cum, overweight=np.zeros_like(base.overweight)), total


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------


@kernel
def _dot(a, b):
    """Minkowski product of two 4-tuples (px, py, pz, e), metric (+,-,-,-)."""
    return a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2]


@kernel
def _row4(out_f, r):
    return (out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3])


@kernel
def _set4(out_f, r, px, py, pz, e):
    out_f[r, 0] = px
    out_f[r, 1] = py
    out_f[r, 2] = pz
    out_f[r, 3] = e


@kernel
def _boost_row(out_f, r, bx, by, bz):
    a = boost1(out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3], bx, by, bz)
    _set4(out_f, r, a[0], a[1], a[2], a[3])


@kernel
def _pdk(a, b, c):
    """Two-body momentum in the rest frame of mass a decaying to b, c (0 if forbidden)."""
    x = (a - b - c) * (a + b + c) * (a - b + c) * (a + b - c)
    return math.sqrt(x) / (2.0 * a) if x > 0.0 else 0.0


@kernel
def _isotropic_two_body(rng, m, m1, m2, out_f, r1, r2):
    """m -> m1 m2 at rest, isotropic (Marsaglia direction: no trigonometric call); rows r1, r2."""
    p = two_body_momentum1(m, m1, m2)
    ux, uy, uz = isotropic1(rng)
    _set4(out_f, r1, p * ux, p * uy, p * uz, math.sqrt(p * p + m1 * m1))
    _set4(out_f, r2, -p * ux, -p * uy, -p * uz, math.sqrt(p * p + m2 * m2))


@kernel
def _flat_phase_space(rng, big_m, masses, n, wmax, out_f, r0):
    """Unweighted flat n-body phase space at rest: ``gen.phasespace.genbod_unweighted1``
    (hit-or-miss of the GENBOD weight against wmax, kinematics built for accepted trials only;
    n = 3 by the dedicated three-body sampler).

    Returns 1 if a weight above ``wmax`` was met (n >= 3), else 0.
    """
    if n == 1:
        _set4(out_f, r0, 0.0, 0.0, 0.0, big_m)
        return 0
    if n == 2:
        _isotropic_two_body(rng, big_m, masses[0], masses[1], out_f, r0, r0 + 1)
        return 0
    return genbod_unweighted1(rng, big_m, masses, n, wmax, out_f, r0)


@kernel
def _pwave_bw(s, m0, g0, ma, mb):
    """m0^2 / (m0^2 - s - i sqrt(s) G(s)), G(s) = G0 (m0/sqrt(s)) (p(s)/p(m0))^3 (p-wave).

    Energy-dependent p-wave width as in Kuhn & Santamaria, Z. Phys. C48 (1990) 445 (KS).
    """
    q = math.sqrt(s)
    p = _pdk(q, ma, mb)
    p0 = _pdk(m0, ma, mb)
    r = p / p0
    return m0 * m0 / complex(m0 * m0 - s, -m0 * g0 * r * r * r)


@kernel
def _f_rho(s, par_m, par_g, par_m2, par_g2, beta, ma, mb):
    """KS pion form factor (BW_rho + beta BW_rho') / (1 + beta) (KS 1990)."""
    return (_pwave_bw(s, par_m, par_g, ma, mb) + beta * _pwave_bw(s, par_m2, par_g2, ma, mb)) / (
        1.0 + beta
    )


@kernel
def _a1_g(q2, m_pi, m_rho):
    """KS running-width function g(Q^2) of the a1 (KS 1990; GeV units)."""
    if q2 > (m_rho + m_pi) ** 2:
        return q2 * (1.623 + 10.38 / q2 - 9.32 / (q2 * q2) + 0.65 / (q2 * q2 * q2))
    t1 = q2 - 9.0 * m_pi * m_pi
    if t1 <= 0.0:
        return 0.0
    return 4.1 * t1**3 * (1.0 - 3.3 * t1 + 5.8 * t1 * t1)


@kernel
def _bw_s(x, m0, g0, s_lo, s_hi):
    """Map x in [0, 1] to s in [s_lo, s_hi] through the Breit-Wigner (Cauchy) variable.

    Returns (s, ds/dx): s = m0^2 + m0 g0 tan(t), t linear in x; a uniform x then samples s
    with a Breit-Wigner density, and ds/dx is the Jacobian the weight carries.
    """
    t_lo, t_hi = _bw_range(m0, g0, s_lo, s_hi)
    return _bw_s_in(x, m0, g0, s_lo, s_hi, t_lo, t_hi)


@kernel
def _bw_range(m0, g0, s_lo, s_hi):
    """(t_lo, t_hi): the Breit-Wigner variable at the ends of [s_lo, s_hi] (``_bw_s``)."""
    mg = m0 * g0
    return math.atan((s_lo - m0 * m0) / mg), math.atan((s_hi - m0 * m0) / mg)


@kernel
def _bw_s_in(x, m0, g0, s_lo, s_hi, t_lo, t_hi):
    """``_bw_s`` with the range's (t_lo, t_hi) of ``_bw_range`` computed once by the caller."""
    mg = m0 * g0
    s = m0 * m0 + mg * math.tan(t_lo + (t_hi - t_lo) * x)
    s = min(max(s, s_lo), s_hi)
    return s, ((s - m0 * m0) ** 2 + mg * mg) * (t_hi - t_lo) / mg


@kernel
def _perp(d, q, q2):
    """Component of four-vector d orthogonal to q: d - q (q.d)/q^2."""
    f = _dot(q, d) / q2
    return (d[0] - f * q[0], d[1] - f * q[1], d[2] - f * q[2], d[3] - f * q[3])


@kernel
def _vector_weight(x, big_m, par, ma, mb):
    """``_vector_weight_in`` with the Breit-Wigner range computed here."""
    t_lo, t_hi = _bw_range(par[1], par[2], (ma + mb) ** 2, big_m * big_m)
    return _vector_weight_in(x, big_m, par, ma, mb, t_lo, t_hi)


@kernel
def _vector_weight_in(x, big_m, par, ma, mb, t_lo, t_hi):
    """(s, weight) of tau -> V nu, V -> a b at x in [0, 1] (Q^2 = s through ``_bw_s``),
    integrated over the decay angles: the x density of the mode.

    In the V rest frame the nu_tau and the tau move along one axis; with c the cosine of the
    angle of a to it and d = (q_a - q_b)_perp = (0, 2 p* n), |M|^2 = |F|^2 [2 (p.d)(k.d) -
    (p.k) d.d] = |F|^2 2 p*^2 (M^2 - s) [s + (M^2 - s) c^2] / s (p the tau, k the nu_tau; KS).
    Its mean over c is |F|^2 2 p*^2 (M^2 - s) (M^2 + 2 s) / (3 s), so with dPhi_3 =
    dPhi_2(tau -> V nu) ds/2pi dPhi_2(V -> a b), dPhi_2 ~ p/m: weight = <|M|^2> (p_nu/M)
    (p*/Q) ds/dx (the dGamma/dQ^2 ~ |F|^2 p*^3 (M^2 - s)^2 (M^2 + 2 s) / s^(3/2) of the
    tests).
    """
    s, jac = _bw_s_in(x, par[1], par[2], (ma + mb) ** 2, big_m * big_m, t_lo, t_hi)
    q = math.sqrt(s)
    m2 = big_m * big_m
    pnu = (m2 - s) / (2.0 * big_m)
    pst = _pdk(q, ma, mb)
    if par[0] == FF_RHO_KS:
        ff = _f_rho(s, par[1], par[2], par[3], par[4], par[5], ma, mb)
    else:
        ff = _pwave_bw(s, par[1], par[2], ma, mb)
    ff2 = ff.real * ff.real + ff.imag * ff.imag
    me = ff2 * 2.0 * pst * pst * (m2 - s) * (m2 + 2.0 * s) / (3.0 * s)
    return s, me * (pnu / big_m) * (pst / q) * jac


@kernel
def _vector_build(rng, s, big_m, ma, mb, out_f, r0):
    """Rows r0 (V), r0+1 (nu), r0+2 (a), r0+3 (b) of tau -> V nu at Q^2 = s (tau rest frame).

    V direction isotropic; the a direction in the V rest frame at cos c to the V direction
    (sign irrelevant: even density) from s + (M^2 - s) c^2 (``_vector_weight``), exactly: with
    probability 3 s / (M^2 + 2 s) c uniform, else c = cbrt(v), v uniform in [-1, 1] (density
    3 c^2 / 2); azimuth uniform.
    """
    q = math.sqrt(s)
    m2 = big_m * big_m
    pnu = (m2 - s) / (2.0 * big_m)
    pst = _pdk(q, ma, mb)
    ux, uy, uz = isotropic1(rng)
    ev = math.sqrt(pnu * pnu + s)
    _set4(out_f, r0, pnu * ux, pnu * uy, pnu * uz, ev)
    _set4(out_f, r0 + 1, -pnu * ux, -pnu * uy, -pnu * uz, pnu)
    v = 2.0 * rng.random() - 1.0
    if rng.random() * (m2 + 2.0 * s) >= 3.0 * s:
        v = math.copysign(abs(v) ** (1.0 / 3.0), v)
    sn = math.sqrt(max(0.0, 1.0 - v * v))
    phi = 2.0 * math.pi * rng.random()
    nx, ny, nz = rotate_z_to1(sn * math.cos(phi), sn * math.sin(phi), v, ux, uy, uz)
    _set4(out_f, r0 + 2, pst * nx, pst * ny, pst * nz, math.sqrt(pst * pst + ma * ma))
    _set4(out_f, r0 + 3, -pst * nx, -pst * ny, -pst * nz, math.sqrt(pst * pst + mb * mb))
    bx, by, bz = pnu * ux / ev, pnu * uy / ev, pnu * uz / ev
    gamma, gamma2 = boost_params1(bx, by, bz)
    for r in range(r0 + 2, r0 + 4):
        a = boost_p1(out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3], bx, by, bz, gamma,
                     gamma2)
        _set4(out_f, r, a[0], a[1], a[2], a[3])


@kernel
def _cross(a, b):
    """Spatial cross product a x b of two 4-tuples."""
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@kernel
def a1_current1(par, masses, out_f, r0, s):
    """KS three-pion current J = c1 d1 + c2 d2 of the a1 block in rows r0.. (any frame).

    Rows r0 (a1), r0+2..r0+4 (pions, masses in ``masses[2:5]``); ``s`` = Q^2 of the a1 row.
    J = BW_a1(s) [F_rho(s_13) (q1 - q3)_perp + F_rho(s_23) (q2 - q3)_perp] (module docstring;
    Kuhn & Santamaria, Z. Phys. C48 (1990) 445): returns (c1, c2, d1, d2) with complex c and
    real four-vectors d (the overall constant of J drops out of every use).
    """
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    i2 = 2 if odd != 2 else 1
    q1 = _row4(out_f, r0 + 2 + i1)
    q2 = _row4(out_f, r0 + 2 + i2)
    q3 = _row4(out_f, r0 + 2 + odd)
    qa = _row4(out_f, r0)
    m_pi, m_odd = masses[2 + i1], masses[2 + odd]
    p13 = (q1[0] + q3[0], q1[1] + q3[1], q1[2] + q3[2], q1[3] + q3[3])
    p23 = (q2[0] + q3[0], q2[1] + q3[1], q2[2] + q3[2], q2[3] + q3[3])
    f13 = _f_rho(_dot(p13, p13), par[2], par[3], par[4], par[5], par[6], m_pi, m_odd)
    f23 = _f_rho(_dot(p23, p23), par[2], par[3], par[4], par[5], par[6], m_pi, m_odd)
    ga = par[1] * _a1_g(s, m_pi, par[2]) / _a1_g(par[0] * par[0], m_pi, par[2])
    bwa = par[0] * par[0] / complex(par[0] * par[0] - s, -par[0] * ga)
    d1 = _perp((q1[0] - q3[0], q1[1] - q3[1], q1[2] - q3[2], q1[3] - q3[3]), qa, s)
    d2 = _perp((q2[0] - q3[0], q2[1] - q3[1], q2[2] - q3[2], q2[3] - q3[3]), qa, s)
    return bwa * f13, bwa * f23, d1, d2


@kernel
def _a1_terms(k, c1, c2, d1, d2, minus):
    """(r1, r2, jj, y): X = r1 d1 + r2 d2 - jj k + Y, Y.v = y eps(k, d1, v, d2) (``a1_x1``)."""
    kj = c1 * _dot(k, d1) + c2 * _dot(k, d2)  # k.J
    r1 = 2.0 * (kj * c1.conjugate()).real  # 2 Re[(k.J) c1*] = 2 Re[(k.J*) c1]
    r2 = 2.0 * (kj * c2.conjugate()).real
    c12 = c1 * c2.conjugate()
    jj = ((c1.real**2 + c1.imag**2) * _dot(d1, d1) + (c2.real**2 + c2.imag**2) * _dot(d2, d2)
          + 2.0 * c12.real * _dot(d1, d2))
    y = 2.0 * c12.imag if minus else -2.0 * c12.imag
    return r1, r2, jj, y


@kernel
def a1_x1(k, c1, c2, d1, d2, minus):
    """Four-vector X of tau -> nu + J, J = c1 d1 + c2 d2: |M|^2 ~ (p -+ m s) . X.

    From the V-A trace with the complex current (S. Jadach, J. H. Kuhn, Z. Was, Comput. Phys.
    Commun. 64 (1991) 275, eqs. 3.14-3.15, Pi and Pi^5; Kuhn & Mirkes, Z. Phys. C56 (1992) 661):

        X = 2 Re[(k.J*) J] - (J.J*) k  +-  Y,   Y.v = 2 Im(c1 c2*) eps(k, d1, v, d2),

    eps_{mu nu rho sigma} a^mu b^nu c^rho d^sigma with eps_{0123} = +1; upper sign and p - m s
    for the tau- (``minus`` True), lower signs for the tau+ (CP conjugate: the parity-odd Y
    changes sign), k the (anti-)neutrino. Signs fixed against a numerical Dirac trace with
    gamma5 = i g0 g1 g2 g3 (tests/gen/test_tau_a1.py). In the tau rest frame the unpolarised
    rate is X^0 (Y^0 is the parity-odd part, which averages to zero over the orientation of the
    pions) and the polarimeter vector is +X/X^0 (tau-), -X/X^0 (tau+). With one common phase
    (Im c1 c2* = 0) X is the X of a real current. X is light-like (|h| = 1).
    """
    r1, r2, jj, y = _a1_terms(k, c1, c2, d1, d2, minus)
    # Laplace expansion of the determinant along the time column:
    # eps(k, d1, v, d2) = v^0 k.(d1 x d2) + v.[k^0 (d2 x d1) - d1^0 (d2 x k) - d2^0 (k x d1)],
    # so (Y.v = Y^0 v^0 - Y_vec.v) Y^0 = y k.(d1 x d2) and Y_vec = -y [...]
    a = _cross(d2, d1)
    b = _cross(d2, k)
    c = _cross(k, d1)
    yt = -y * (k[0] * a[0] + k[1] * a[1] + k[2] * a[2])
    yx = -y * (k[3] * a[0] - d1[3] * b[0] - d2[3] * c[0])
    yy = -y * (k[3] * a[1] - d1[3] * b[1] - d2[3] * c[1])
    yz = -y * (k[3] * a[2] - d1[3] * b[2] - d2[3] * c[2])
    return (r1 * d1[0] + r2 * d2[0] - jj * k[0] + yx, r1 * d1[1] + r2 * d2[1] - jj * k[1] + yy,
            r1 * d1[2] + r2 * d2[2] - jj * k[2] + yz, r1 * d1[3] + r2 * d2[3] - jj * k[3] + yt)


@kernel
def _a1_channel_term(q, s_c, m_pi, m_odd, m_sp, m_rho, mg, dt):
    """Q m_c / (p_c q_c ds_c/du) of the rho channel with pair mass^2 s_c (``a1_point1``);
    ds_c/du of ``_bw_jac`` with mg = m_rho G_rho and dt = t_hi - t_lo of the channel's range."""
    m_c = math.sqrt(s_c)
    jac = ((s_c - m_rho * m_rho) ** 2 + mg * mg) * dt / mg
    return q * m_c / (_pdk(q, m_c, m_sp) * _pdk(m_c, m_pi, m_odd) * jac)


@kernel
def a1_q_range(big_m, par, masses):
    """(t_lo, t_hi) of the a1 mode's Q^2 range [(sum of pion masses)^2, M^2] (``a1_point1``)."""
    odd = int(par[7])
    m_pi, m_odd = masses[2 + (0 if odd != 0 else 1)], masses[2 + odd]
    msum = 2.0 * m_pi + m_odd
    return _bw_range(par[0], par[1], msum * msum, big_m * big_m)


@kernel
def a1_point1(rng, x, big_m, par, masses, t_lo_q, t_hi_q):
    """One trial of tau- -> a1 nu -> 3 pi nu (KS model) from invariants only: returns
    (weight, s, first, s_c, cth, c1, c2).

    x in [0, 1] fixes Q^2 = s (``_bw_s``; (t_lo_q, t_hi_q) of ``a1_q_range``, once per
    decay). ``masses`` are the row masses (pions in entries 2..4); par = (m_a1, G_a1, m_rho,
    G_rho, m_rho', G_rho', beta, index of the odd pion).
    The Dalitz point comes from two channels, one per rho of the current (``a1_current1``):
    with probability 1/2 each (``first``: the pair (q1, q3), else (q2, q3)) the pair c gets s_c
    from a rho Breit-Wigner over its range at this Q, and cth, the cosine of the angle of its
    identical pion to the pair direction in the pair rest frame, is uniform. Flat three-body
    phase space is dPhi_3 ~ (p_c q_c / (Q m_c)) ds_c dcth (times the uniform orientation; PDG
    RPP 2024, Kinematics, recursion of n-body phase space, dPhi_2 ~ p/m), so the density of the
    mixture relative to dPhi_3 is sum_c (1/2) (1/(ds_c/du)) Q m_c/(p_c q_c) and the phase-space
    weight is w_3 = 1 / sum_c [Q m_c / (p_c q_c ds_c/du)] (multichannel sampling: R. Kleiss,
    R. Pittau, Comput. Phys. Commun. 83 (1994) 141); the other pair's s_o is linear in cth.
    The rate is integrated over the orientation of the tau relative to the pions: in the
    hadronic rest frame, with k = (M^2 - s)/(2 Q) the nu momentum along the unit vector n, the
    tau- rate is (``a1_x1``: p.X with p.J = k.J since J.Q = 0)

        p.X = 2 k^2 |n.J|^2 + Q k |J|^2 + y Q k n.(d1 x d2),   y = 2 Im(c1 c2*),

    whose mean over n is |J|^2 k (2 k / 3 + Q), |J|^2 = -J.J* (``_a1_jj``, invariants). So
    weight = |J|^2 k (2k/3 + Q) x (p_nu/M) x w_3 x ds/dx, the x density of the former trial with
    the orientation integrated out; ``a1_build1`` draws the orientation exactly given the point.
    (c1, c2) are the complex coefficients of ``a1_current1``.
    """
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    m_pi, m_odd = masses[2 + i1], masses[2 + odd]
    msum = 2.0 * m_pi + m_odd
    m2 = big_m * big_m
    s, jac = _bw_s_in(x, par[0], par[1], msum * msum, m2, t_lo_q, t_hi_q)
    q = math.sqrt(s)
    first = rng.random() < 0.5
    # the s_c range at this Q: its arctangents once per trial (shared by both channel terms)
    mg = par[2] * par[3]
    lo = (m_pi + m_odd) ** 2
    hi = (q - m_pi) ** 2
    t_lo = math.atan((lo - par[2] * par[2]) / mg)
    t_hi = math.atan((hi - par[2] * par[2]) / mg)
    s_c = par[2] * par[2] + mg * math.tan(t_lo + (t_hi - t_lo) * rng.random())
    s_c = min(max(s_c, lo), hi)
    cth = 2.0 * rng.random() - 1.0
    m_c = math.sqrt(s_c)
    qc = _pdk(m_c, m_pi, m_odd)
    # spectator (energy, momentum) in the pair rest frame; s_o = (spectator + odd pion)^2
    e_sp = (s - s_c - m_pi * m_pi) / (2.0 * m_c)
    p_sp = _pdk(q, m_c, m_pi) * q / m_c
    e_o = math.sqrt(qc * qc + m_odd * m_odd)
    s_o = m_pi * m_pi + m_odd * m_odd + 2.0 * (e_sp * e_o - p_sp * qc * cth)
    if s_o <= lo:  # at the Dalitz boundary (rounding): zero phase-space density
        return 0.0, s, first, s_c, cth, 0j, 0j
    den = (_a1_channel_term(q, s_c, m_pi, m_odd, m_pi, par[2], mg, t_hi - t_lo)
           + _a1_channel_term(q, s_o, m_pi, m_odd, m_pi, par[2], mg, t_hi - t_lo))
    if not den < math.inf:
        return 0.0, s, first, s_c, cth, 0j, 0j
    s1, s2 = (s_c, s_o) if first else (s_o, s_c)
    c1, c2 = _a1_coefficients(par, m_pi, m_odd, s, s1, s2)
    jj = _a1_jj(c1, c2, s, s1, s2, m_pi, m_odd)
    k = (m2 - s) / (2.0 * q)
    pnu = (m2 - s) / (2.0 * big_m)
    return -jj * k * (2.0 * k / 3.0 + q) * (pnu / big_m) / den * jac, s, first, s_c, cth, c1, c2


@kernel
def _a1_coefficients(par, m_pi, m_odd, s, s1, s2):
    """(c1, c2) = BW_a1(s) (F_rho(s1), F_rho(s2)) of ``a1_current1`` at s1 = (q1 + q3)^2,
    s2 = (q2 + q3)^2 (same operations)."""
    f13 = _f_rho(s1, par[2], par[3], par[4], par[5], par[6], m_pi, m_odd)
    f23 = _f_rho(s2, par[2], par[3], par[4], par[5], par[6], m_pi, m_odd)
    ga = par[1] * _a1_g(s, m_pi, par[2]) / _a1_g(par[0] * par[0], m_pi, par[2])
    bwa = par[0] * par[0] / complex(par[0] * par[0] - s, -par[0] * ga)
    return bwa * f13, bwa * f23


@kernel
def _a1_jj(c1, c2, s, s1, s2, m, mo):
    """J.J* of J = c1 d1 + c2 d2, d_i = (q_i - q3)_perp (``a1_current1``), from the invariants
    s = Q^2, s1 = (q1 + q3)^2, s2 = (q2 + q3)^2 (q1, q2 of mass m, q3 of mass mo):
    (q_i - q3)^2 = 2 m^2 + 2 mo^2 - s_i, (q1 - q3).(q2 - q3) = (s3 - s1 - s2)/2 + 2 mo^2,
    Q.q1 = (s + m^2 - s2)/2, Q.q2 = (s + m^2 - s1)/2, Q.q3 = (s + mo^2 - s3)/2, s3 = (q1 + q2)^2
    = s + 2 m^2 + mo^2 - s1 - s2; d_i.d_j = (q_i - q3).(q_j - q3) - (Q.(q_i - q3))(Q.(q_j - q3))/s.
    """
    s3 = s + 2.0 * m * m + mo * mo - s1 - s2
    qq3 = 0.5 * (s + mo * mo - s3)
    a1 = 0.5 * (s + m * m - s2) - qq3
    a2 = 0.5 * (s + m * m - s1) - qq3
    d11 = 2.0 * (m * m + mo * mo) - s1 - a1 * a1 / s
    d22 = 2.0 * (m * m + mo * mo) - s2 - a2 * a2 / s
    d12 = 0.5 * (s3 - s1 - s2) + 2.0 * mo * mo - a1 * a2 / s
    c12 = c1 * c2.conjugate()
    return ((c1.real**2 + c1.imag**2) * d11 + (c2.real**2 + c2.imag**2) * d22
            + 2.0 * c12.real * d12)


@kernel
def random_rotation1(rng):
    """Rows of a uniformly distributed (Haar) rotation: a uniform unit quaternion from two
    points in the unit disk (Marsaglia, Ann. Math. Stat. 43 (1972) 645, the S^3 case), then the
    rotation matrix of the quaternion (K. Shoemake, Graphics Gems III (1992) 124)."""
    while True:
        w = 2.0 * rng.random() - 1.0
        x = 2.0 * rng.random() - 1.0
        s1 = w * w + x * x
        if s1 < 1.0:
            break
    while True:
        y = 2.0 * rng.random() - 1.0
        z = 2.0 * rng.random() - 1.0
        s2 = y * y + z * z
        if 0.0 < s2 < 1.0:
            break
    f = math.sqrt((1.0 - s1) / s2)
    y *= f
    z *= f
    return ((1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)),
            (2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)),
            (2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)))


@kernel
def a1_frame1(s, first, s_c, cth, c1, c2, big_m, par, masses):
    """The pions of an ``a1_point1`` point in the hadronic rest frame and the nu-direction law.

    The pair c lies along +z, its identical pion in the x-z plane (y = 0): returns (i, o, sp,
    jx, jz, a, b, cy): the identical pion of the pair, the odd pion and the spectator as
    (px, pz, e), the x and z components of J = c1 d1 + c2 d2 (complex; d_i the spatial parts of
    q_i - q3, J_y = 0) and (A, B, C): with the nu along the unit vector n, the tau- rate is
    p.X(n) = A |n.J|^2 + B + C n_y (``a1_point1``), A = 2 k^2, B = Q k |J|^2,
    C = 2 Im(c1 c2*) Q k (d1 x d2)_y.
    """
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    m_pi, m_odd = masses[2 + i1], masses[2 + odd]
    q = math.sqrt(s)
    m_c = math.sqrt(s_c)
    pp = _pdk(q, m_c, m_pi)
    e_c = math.sqrt(pp * pp + s_c)
    qc = _pdk(m_c, m_pi, m_odd)
    sth = math.sqrt(max(0.0, 1.0 - cth * cth))
    ei = math.sqrt(qc * qc + m_pi * m_pi)
    g, gb = e_c / m_c, pp / m_c
    # identical pion of the pair (boosted along z from the pair frame), odd = pair - it
    ix, iz, ie = qc * sth, g * qc * cth + gb * ei, g * ei + gb * qc * cth
    ox, oz, oe = -ix, pp - iz, e_c - ie
    sz, se = -pp, q - e_c
    if first:
        d1x, d1z, d2x, d2z = ix - ox, iz - oz, -ox, sz - oz
    else:
        d1x, d1z, d2x, d2z = -ox, sz - oz, ix - ox, iz - oz
    jx = c1 * d1x + c2 * d2x
    jz = c1 * d1z + c2 * d2z
    k = (big_m * big_m - s) / (2.0 * q)
    jj = jx.real**2 + jx.imag**2 + jz.real**2 + jz.imag**2
    cy = 2.0 * (c1 * c2.conjugate()).imag * q * k * (d1z * d2x - d1x * d2z)
    return (ix, iz, ie), (ox, oz, oe), (0.0, sz, se), jx, jz, 2.0 * k * k, q * k * jj, cy


@kernel
def a1_build1(rng, s, first, s_c, cth, c1, c2, big_m, par, masses, out_f, r0):
    """Rows r0 (a1), r0+1 (nu), r0+2..r0+4 (pions) of a tau- decay (tau rest frame) at the
    accepted point of ``a1_point1``.

    The nu direction n in the hadronic frame of ``a1_frame1`` follows p.X(n) = A |n.J|^2 + B +
    C n_y, drawn by hit-or-miss against its maximum A lambda_max + B + |C| (lambda_max the
    largest eigenvalue of Re(J J^dagger), 2 x 2 in the x-z plane): exact, no weight. The block
    is boosted to the tau rest frame (the tau moves with velocity k n / (k + Q) in the hadronic
    frame) and turned by a uniform rotation (``random_rotation1``), so the orientation of the
    whole is isotropic.
    """
    odd = int(par[7])
    i1 = 0 if odd != 0 else 1
    i2 = 2 if odd != 2 else 1
    pi, po, ps, jx, jz, a, b, cy = a1_frame1(s, first, s_c, cth, c1, c2, big_m, par, masses)
    rxx = jx.real * jx.real + jx.imag * jx.imag
    rzz = jz.real * jz.real + jz.imag * jz.imag
    rxz = jx.real * jz.real + jx.imag * jz.imag
    lmax = 0.5 * (rxx + rzz) + math.sqrt(0.25 * (rxx - rzz) ** 2 + rxz * rxz)
    fmax = a * lmax + b + abs(cy)
    while True:
        nx, ny, nz = isotropic1(rng)
        nj_re = jx.real * nx + jz.real * nz
        nj_im = jx.imag * nx + jz.imag * nz
        if rng.random() * fmax < a * (nj_re * nj_re + nj_im * nj_im) + b + cy * ny:
            break
    q = math.sqrt(s)
    k = (big_m * big_m - s) / (2.0 * q)
    v = -k / (k + q)
    bx, by, bz = v * nx, v * ny, v * nz
    gamma, gamma2 = boost_params1(bx, by, bz)
    pnu = (big_m * big_m - s) / (2.0 * big_m)
    rot = random_rotation1(rng)
    pions = (boost_p1(pi[0], 0.0, pi[1], pi[2], bx, by, bz, gamma, gamma2),
             boost_p1(po[0], 0.0, po[1], po[2], bx, by, bz, gamma, gamma2),
             boost_p1(ps[0], 0.0, ps[1], ps[2], bx, by, bz, gamma, gamma2))
    rows = (r0 + 2 + (i1 if first else i2), r0 + 2 + odd, r0 + 2 + (i2 if first else i1))
    for j in range(3):
        p = pions[j]
        _set4(out_f, rows[j], rot[0][0] * p[0] + rot[0][1] * p[1] + rot[0][2] * p[2],
              rot[1][0] * p[0] + rot[1][1] * p[1] + rot[1][2] * p[2],
              rot[2][0] * p[0] + rot[2][1] * p[1] + rot[2][2] * p[2], p[3])
    ux = rot[0][0] * nx + rot[0][1] * ny + rot[0][2] * nz
    uy = rot[1][0] * nx + rot[1][1] * ny + rot[1][2] * nz
    uz = rot[2][0] * nx + rot[2][1] * ny + rot[2][2] * nz
    _set4(out_f, r0, -pnu * ux, -pnu * uy, -pnu * uz, big_m - pnu)
    _set4(out_f, r0 + 1, pnu * ux, pnu * uy, pnu * uz, pnu)


@kernel
def _three_body_from_energies(rng, e1, m1, e2, e3, out_f, r0):
    """Rows r0..r0+2: momenta of energies e1 (mass m1), e2, e3 (massless), random orientation.

    Momentum conservation fixes the angle between 1 and 2; particle 3 takes -(p1 + p2). The
    orientation is uniform: 1 along z, 2 in the x-z plane, then a uniform (Haar) rotation
    (``random_rotation1``; no trigonometric call).
    """
    p1 = math.sqrt(max(e1 * e1 - m1 * m1, 0.0))
    p2 = e2
    c12 = (e3 * e3 - p1 * p1 - p2 * p2) / (2.0 * p1 * p2)
    c12 = min(1.0, max(-1.0, c12))
    s12 = math.sqrt(1.0 - c12 * c12)
    r = random_rotation1(rng)
    ax, ay, az = r[0][2] * p1, r[1][2] * p1, r[2][2] * p1
    bx = p2 * (r[0][0] * s12 + r[0][2] * c12)
    by = p2 * (r[1][0] * s12 + r[1][2] * c12)
    bz = p2 * (r[2][0] * s12 + r[2][2] * c12)
    _set4(out_f, r0, ax, ay, az, e1)
    _set4(out_f, r0 + 1, bx, by, bz, e2)
    _set4(out_f, r0 + 2, -ax - bx, -ay - by, -az - bz, e3)


@kernel
def _leptonic(rng, big_m, m, fmax, out_f, r0):
    """tau- -> l- anti-nu_l nu_tau, |M|^2 ~ (p_tau.p_2)(p_1.p_3); rows l (1), nubar (2), nu (3).

    In the tau rest frame dPhi_3 ~ dE1 dE2 and (p_tau.p_2)(p_1.p_3) = M E2 (s13 - m^2)/2 with
    s13 = M^2 - 2 M E2 depends on E2 only. The range of E1 at fixed E2 has length
    E2 (s13 - m^2)/s13 (boost of the (1,3) system), so E2 has the marginal density
    E2^2 (s13 - m^2)^2 / s13 (accept-reject, maximum ``fmax``) and E1 is uniform in its range.
    """
    e2max = (big_m * big_m - m * m) / (2.0 * big_m)
    while True:
        e2 = e2max * rng.random()
        s13 = big_m * big_m - 2.0 * big_m * e2
        f = e2 * e2 * (s13 - m * m) ** 2 / s13
        if rng.random() * fmax < f:
            break
    sq = math.sqrt(s13)
    e1s = (s13 + m * m) / (2.0 * sq)
    p1s = (s13 - m * m) / (2.0 * sq)
    e1 = ((big_m - e2) * e1s + e2 * p1s * (2.0 * rng.random() - 1.0)) / sq
    _three_body_from_energies(rng, e1, m, e2, big_m - e1 - e2, out_f, r0)


@kernel
def _pilot_envelope(rng, tables, mode, n):
    """Largest weight of an a1 mode in each of the N_ENV bins of x (n trials of ``a1_point1``)."""
    out = np.zeros(N_ENV)
    masses = tables.mass[mode]
    par = tables.par[mode]
    t_lo, t_hi = a1_q_range(tables.m_tau, par, masses)
    for _ in range(n):
        x = rng.random()
        w = a1_point1(rng, x, tables.m_tau, par, masses, t_lo, t_hi)[0]
        b = min(int(x * N_ENV), N_ENV - 1)
        out[b] = max(out[b], w)
    return out


@kernel
def _vector_envelope(tables, mode, per_bin):
    """Largest x density of a vector mode in each of the N_ENV bins of x, from ``per_bin`` + 1
    equally spaced points per bin (edges included; a smooth function of x)."""
    out = np.zeros(N_ENV)
    masses = tables.mass[mode]
    par = tables.par[mode]
    for b in range(N_ENV):
        for j in range(per_bin + 1):
            x = (b + j / per_bin) / N_ENV
            out[b] = max(out[b], _vector_weight(x, tables.m_tau, par, masses[2], masses[3])[1])
    return out


@kernel
def pick_index1(cum, lo, hi, u):
    """First index i in [lo, hi) with u < cum[i] (cumulative probabilities)."""
    for i in range(lo, hi):
        if u < cum[i]:
            return i
    return hi - 1


@kernel
def _flight(rng, ctau, out_f, r):
    """Decay point (x, y, z, t) of the particle in row r after an exponential proper flight."""
    px, py, pz, e = out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3]
    if ctau <= 0.0:
        return out_f[r, 4], out_f[r, 5], out_f[r, 6], out_f[r, 7]
    m2 = e * e - px * px - py * py - pz * pz
    m = math.sqrt(m2) if m2 > 0.0 else 0.0
    ct = ctau * rng.exponential()  # c x proper time, cm
    if m <= 0.0:
        return out_f[r, 4], out_f[r, 5], out_f[r, 6], out_f[r, 7]
    return (out_f[r, 4] + px / m * ct, out_f[r, 5] + py / m * ct, out_f[r, 6] + pz / m * ct,
            out_f[r, 7] + e / m * ct / C_CM_PER_NS)


@kernel
def _place(out_f, out_i, r0, n, parent, base, vtx, bx, by, bz):
    """Boost rows r0..r0+n-1 to the lab, set their vertex; mothers of -1 rows -> parent."""
    gamma, gamma2 = boost_params1(bx, by, bz)  # once per block: boost1 = these + boost_p1
    for j in range(n):
        r = r0 + j
        a = boost_p1(out_f[r, 0], out_f[r, 1], out_f[r, 2], out_f[r, 3], bx, by, bz, gamma,
                     gamma2)
        _set4(out_f, r, a[0], a[1], a[2], a[3])
        out_f[r, 4] = vtx[0]
        out_f[r, 5] = vtx[1]
        out_f[r, 6] = vtx[2]
        out_f[r, 7] = vtx[3]
        out_i[r, 2] = parent - base if out_i[r, 2] < 0 else out_i[r, 2]


@kernel
def decay_secondaries1(rng, sec_pdg, sec_ctau, sec_first, ch_cum, ch_nd, ch_pdg, ch_mass,
                       ch_wmax, overweight, n_modes, out_i, out_f, first, pos, base):
    """Decay every row from ``first`` on whose pdg has secondary channels; returns the new end.

    The ``TauTables`` arrays it needs, not the tuple: each call of a (not inlined) kernel
    taking the 23 arrays costs ~0.1-0.15 us of reference counting (``decay_rest1``).
    """
    j = first
    while j < pos:
        pid = out_i[j, 0]
        k = -1
        for i in range(sec_pdg.shape[0]):
            if sec_pdg[i] == pid:
                k = i
                break
        if k >= 0:
            lo, hi = sec_first[k], sec_first[k + 1]
            ch = pick_index1(ch_cum, lo, hi, rng.random())
            nd = ch_nd[ch]
            e = out_f[j, 3]
            m = math.sqrt(max(e * e - out_f[j, 0] ** 2 - out_f[j, 1] ** 2 - out_f[j, 2] ** 2, 0.0))
            if _flat_phase_space(rng, m, ch_mass[ch], nd, ch_wmax[ch], out_f, pos):
                overweight[n_modes + ch] += 1
            for d in range(nd):
                out_i[pos + d, 0] = ch_pdg[ch, d]
                out_i[pos + d, 1] = FINAL
                out_i[pos + d, 2] = -1
            vtx = _flight(rng, sec_ctau[k], out_f, j)
            _place(out_f, out_i, pos, nd, j, base, vtx,
                   out_f[j, 0] / e, out_f[j, 1] / e, out_f[j, 2] / e)
            out_i[j, 1] = DECAYED
            pos += nd
        j += 1
    return pos


@kernel
def pick_mode1(rng, tables):
    """Decay mode of a tau drawn with the probabilities of ``tables`` (``tau_tables``)."""
    return pick_index1(tables.cum, 0, tables.cum.shape[0], rng.random())


@kernel
def decay_rest1(rng, tables, mode, tau_minus, out_f, pos):
    """Rest-frame four-momenta of the block of ``mode`` in rows pos.. (a tau- if ``tau_minus``,
    else its CP mirror); counts overweights. Rows in the tau rest frame reached from the lab by
    a pure boost (``finish_tau1`` applies it).

    A small wrapper of ``rest_block1``: kernels that take the ``tables`` tuple of 23 arrays and
    are not inlined pay ~0.1-0.15 us a call in reference counts (numba increfs every array
    argument on entry), as much as a two-body decay; the work is done by kernels taking the few
    arrays they need.
    """
    if rest_block1(rng, tables.kind[mode], tables.nrow[mode], tables.m_tau, tables.mass[mode],
                   tables.par[mode], tables.wmax[mode], tables.env_cum[mode],
                   tables.env_max[mode], tau_minus, out_f, pos):
        tables.overweight[mode] += 1


@kernel
def rest_block1(rng, kind, n, big_m, masses, par, wmax, env_cum, env_max, tau_minus, out_f,
                pos):
    """``decay_rest1`` from one mode's entries of the tables (kind, rows, tau mass, its rows of
    ``mass``, ``par``, ``env_cum``, ``env_max`` and its ``wmax``); returns 1 if a weight above
    its maximum or envelope was met, else 0."""
    over = 0
    if kind == LEPTONIC:
        _leptonic(rng, big_m, masses[0], par[0], out_f, pos)
    elif kind == TWO_BODY:
        _isotropic_two_body(rng, big_m, masses[0], masses[1], out_f, pos, pos + 1)
    elif kind == PHASE_SPACE:
        over = _flat_phase_space(rng, big_m, masses, n, wmax, out_f, pos)
    elif kind == VECTOR:
        # piecewise-constant envelope in x (the Breit-Wigner variable) of the angle-integrated
        # x density: the decay angles are then drawn exactly; the BW range once per decay
        t_lo, t_hi = _bw_range(par[1], par[2], (masses[2] + masses[3]) ** 2, big_m * big_m)
        while True:
            b = pick_index1(env_cum, 0, N_ENV, rng.random())
            s, w = _vector_weight_in((b + rng.random()) / N_ENV, big_m, par, masses[2],
                                     masses[3], t_lo, t_hi)
            env = env_max[b]
            if w > env:
                over = 1
            if rng.random() * env < w:
                _vector_build(rng, s, big_m, masses[2], masses[3], out_f, pos)
                break
    else:
        over = a1_rest1(rng, big_m, masses, par, env_cum, env_max, out_f, pos)
    if not tau_minus and kind == A1:
        # CP: the tau+ rate at momenta p is the tau- rate at -p (the a1 rate has a parity-odd
        # term; the other modes' rest-frame distributions are parity even)
        for j in range(n):
            out_f[pos + j, 0] = -out_f[pos + j, 0]
            out_f[pos + j, 1] = -out_f[pos + j, 1]
            out_f[pos + j, 2] = -out_f[pos + j, 2]
    return over


@kernel
def a1_rest1(rng, big_m, masses, par, env_cum, env_max, out_f, pos):
    """Rest-frame block of a tau- -> a1 nu decay: Q^2 and the Dalitz point by hit-or-miss of the
    orientation-integrated weight (``a1_point1``) against the x envelope, then the orientation
    drawn exactly (``a1_build1``). Returns 1 if a weight above the envelope was met."""
    over = 0
    t_lo, t_hi = a1_q_range(big_m, par, masses)
    while True:
        b = pick_index1(env_cum, 0, N_ENV, rng.random())
        x = (b + rng.random()) / N_ENV
        w, s, first, s_c, cth, c1, c2 = a1_point1(rng, x, big_m, par, masses, t_lo, t_hi)
        env = env_max[b]
        if w > env:
            over = 1
        if rng.random() * env < w:
            a1_build1(rng, s, first, s_c, cth, c1, c2, big_m, par, masses, out_f, pos)
            return over


@kernel
def finish_tau1(rng, tables, tau_row, base, out_i, out_f, pos, mode):
    """Complete a decay whose rest-frame block (``decay_rest1``) is in rows pos..: ids,
    mothers, tau flight, boost to the lab, secondary decays. Returns the new end row."""
    tau_minus = out_i[tau_row, 0] > 0
    end = finish_block1(rng, tables.nrow[mode], tables.pdg[mode] if tau_minus else
                        tables.pdg_cc[mode], tables.status[mode], tables.mother[mode],
                        tables.ctau_cm, tables.sec_pdg, tau_row, base, out_i, out_f, pos)
    if end >= 0:
        return end
    return decay_secondaries1(rng, tables.sec_pdg, tables.sec_ctau, tables.sec_first,
                              tables.ch_cum, tables.ch_nd, tables.ch_pdg, tables.ch_mass,
                              tables.ch_wmax, tables.overweight, tables.cum.shape[0], out_i,
                              out_f, pos, pos + tables.nrow[mode], base)


@kernel
def finish_block1(rng, n, pdg, status, mother, ctau, sec_pdg, tau_row, base, out_i, out_f,
                  pos):
    """ids, mothers, flight and boost of a block of ``n`` rows (``finish_tau1``); returns the
    end row, or -1 when a row has secondary decays still to do."""
    for j in range(n):
        out_i[pos + j, 0] = pdg[j]
        out_i[pos + j, 1] = status[j]
        mo = mother[j]
        out_i[pos + j, 2] = -1 if mo < 0 else pos + mo - base
    e = out_f[tau_row, 3]
    vtx = _flight(rng, ctau, out_f, tau_row)
    _place(out_f, out_i, pos, n, tau_row, base, vtx,
           out_f[tau_row, 0] / e, out_f[tau_row, 1] / e, out_f[tau_row, 2] / e)
    out_i[tau_row, 1] = DECAYED
    # most decays (l nu nu, pi nu, K nu) have no secondaries
    for j in range(n):
        pid = out_i[pos + j, 0]
        for i in range(sec_pdg.shape[0]):
            if sec_pdg[i] == pid:
                return -1
    return pos + n


@kernel
def decay_tau1(rng, tables, tau_row, base, out_i, out_f, pos):
    """Decay the tau written in row ``tau_row`` of (out_i, out_f); append its tree from ``pos``.

    The caller fills the tau's row: out_i = (pdg +-15, status, mother), out_f = (px, py, pz, e,
    vx, vy, vz, t) in the lab. Rows are (pdg, status, mother) int64 and (px, py, pz, e, vx, vy,
    vz, t) float64; mothers are written relative to ``base`` (the event's first row). The tau
    gets status 2. Returns (new end row, mode index). ``max_tree_rows()`` bounds the rows used.
    Stages: ``pick_mode1``, ``decay_rest1``, ``finish_tau1`` (``gen.decays.tau_spin`` rotates
    the rest-frame block between the last two).
    """
    # the stages inline (not calls of the three): one ``tables`` call per tau (``decay_rest1``)
    mode = pick_index1(tables.cum, 0, tables.cum.shape[0], rng.random())
    tau_minus = out_i[tau_row, 0] > 0
    if rest_block1(rng, tables.kind[mode], tables.nrow[mode], tables.m_tau, tables.mass[mode],
                   tables.par[mode], tables.wmax[mode], tables.env_cum[mode],
                   tables.env_max[mode], tau_minus, out_f, pos):
        tables.overweight[mode] += 1
    end = finish_block1(rng, tables.nrow[mode], tables.pdg[mode] if tau_minus else
                        tables.pdg_cc[mode], tables.status[mode], tables.mother[mode],
                        tables.ctau_cm, tables.sec_pdg, tau_row, base, out_i, out_f, pos)
    if end < 0:
        end = decay_secondaries1(rng, tables.sec_pdg, tables.sec_ctau, tables.sec_first,
                                 tables.ch_cum, tables.ch_nd, tables.ch_pdg, tables.ch_mass,
                                 tables.ch_wmax, tables.overweight, tables.cum.shape[0], out_i,
                                 out_f, pos, pos + tables.nrow[mode], base)
    return end, mode


@kernel
def _decay_taus_kernel(rng, tables, px, py, pz, e, charge, vx, vy, vz, t, max_rows):
    n = px.shape[0]
    out_i = np.empty((n * max_rows, 3), np.int64)
    out_f = np.empty((n * max_rows, COLS))
    offset = np.zeros(n + 1, np.int64)
    modes = np.zeros(n, np.int64)
    pos = 0
    for k in range(n):
        base = pos
        out_i[pos, 0] = TAU if charge[k] < 0 else -TAU
        out_i[pos, 1] = FINAL
        out_i[pos, 2] = -1
        out_f[pos, 0], out_f[pos, 1], out_f[pos, 2], out_f[pos, 3] = px[k], py[k], pz[k], e[k]
        out_f[pos, 4], out_f[pos, 5], out_f[pos, 6], out_f[pos, 7] = vx[k], vy[k], vz[k], t[k]
        pos, modes[k] = decay_tau1(rng, tables, base, base, out_i, out_f, pos + 1)
        offset[k + 1] = pos
    return out_i[:pos], out_f[:pos], offset, modes


def rows_to_particles(out_i: np.ndarray, out_f: np.ndarray) -> dict[str, np.ndarray]:
    """Split kernel row buffers into the ``PARTICLE_FIELDS`` arrays of an ``EventChunk``."""
    cols = {"pdg": out_i[:, 0], "status": out_i[:, 1], "mother": out_i[:, 2]}
    for c, name in enumerate(("px", "py", "pz", "e", "vx", "vy", "vz", "t")):
        cols[name] = out_f[:, c]
    return {k: np.ascontiguousarray(cols[k], dtype=t) for k, t in PARTICLE_FIELDS.items()}


def decay_taus(
    rng: np.random.Generator,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    charge: np.ndarray,
    *,
    vertex: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    mode_mask: np.ndarray | None = None,
) -> EventChunk:
    """Decay taus (lab four-momenta, charges -1/+1, optional production vertices (x, y, z, t)).

    Returns an ``EventChunk`` with one entry per tau: the tau (row 0, status 2) followed by its
    decay tree, mothers relative to the tau's row; ``truth['mode']`` is the index into
    ``tau_modes()``. ``mode_mask`` restricts the modes (see ``tau_tables``).
    """
    arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (px, py, pz, e)]
    n = arrays[0].shape[0]
    q = np.ascontiguousarray(charge, dtype=np.float64)
    if q.shape != (n,) or not np.all(np.abs(q) == 1.0):
        raise ValueError("charge must be an array of -1 / +1, one per tau")
    m2 = arrays[3] ** 2 - arrays[0] ** 2 - arrays[1] ** 2 - arrays[2] ** 2
    if not np.all(np.isfinite(m2)) or np.any(np.abs(np.sqrt(np.abs(m2)) - M_TAU) > 1e-5):
        raise ValueError("tau four-momenta must be finite and on the tau mass shell")
    if vertex is None:
        vertex = tuple(np.zeros(n) for _ in range(4))
    vtx = [np.ascontiguousarray(np.broadcast_to(v, (n,)), dtype=np.float64) for v in vertex]
    tables, _ = tau_tables(mode_mask)
    out_i, out_f, offset, modes = _decay_taus_kernel(
        rng, tables, *arrays, q, *vtx, max_tree_rows()
    )
    return EventChunk(
        weight=np.ones(n), offset=offset, particles=rows_to_particles(out_i, out_f),
        truth={"mode": modes.astype(np.int32)},
    )
