"""Validation of the generic B decays (gen.processes.bbbar) against PDG inclusive B rates.

Reference: PDG RPP 2026 (F. Takahashi et al., Int. J. Mod. Phys. A 41 (2026) 2630011), read
from the PDG API database (``pdg`` package 2026.0); the PDG identifier of each number is in
``RATES``. "B+-/B0 ADMIXTURE" rates are averages over the Upsilon(4S) mixture, as the model
generates it (f00 from the DEC file), and are multiplicities (particle + antiparticle, every
source: D from D*, J/psi from psi(2S) and chi_c, K from phi, p from Lambda ...), counted here
as rows of the event record (decayed intermediate states included) per B meson.

Tolerance of each rate: |model - PDG| < 3 sigma, sigma^2 = (PDG error, scale factor included)^2
+ (MC error)^2 + (MODEL_ALLOWANCE x PDG)^2. MODEL_ALLOWANCE = 10 % is one number for every rate,
fixed for the model class (~45 % of the B width is quark-level modes hadronised by a
Pythia-8-like flavour chain with the parameters EvtGen gives Pythia 8, the rest DEC-file
exclusive modes in phase space), not adjusted per rate.

KNOWN EXCESSES (pull ~ +2.6 to +3.4 with the allowance, +6 to +7 without, with 40000 events,
B2DARK_VALIDATION_SCALE=4): for them the test checks that the excess is still there (model
above PDG, pull > 0), so it fails, and this list must be revised, once the model moves back to
the data. (The threshold was pull > +1 until direct J/psi, expected +2.4 with the default 10000
events, MC pull error 0.6, came out at +0.8 in one sample: 1.02 +- 0.04 % with 40000.)
KNOWN DEFICITS (expected pull ~ -2.5 with 40000 events, which crossed -3 by chance): checked
one-sided (pull < +3), their size without Monte Carlo (below PDG by > 2 sigma, the Monte Carlo
agreeing with it within 4 sigma), so that test fails once they are gone.

Each was split by source (issue 3): the DEC exclusive modes counted without Monte Carlo
(``_exclusive_multiplicity``, daughters' exclusive modes recursively) and the quark-level
(PYTHIA) modes with 3000 decays per mode at the nominal B mass (``quark_decay1``, hadrons then
counted with the same recursion); per B, "admixture" = f00 B0 + (1 - f00) B+.
None of the causes is a departure from what EvtGen + Pythia 8 do with DECAY_BELLE2.DEC (the
one departure found, Pythia 8's default ParticleDecays:multIncrease / multIncreaseWeak 4.0 /
2.5 instead of the 4.5 / 2.0 EvtGen sets, is fixed in gen.decays.quark_modes: it moved D+- X
from 31.5 to 31.2 %, p X, D_s X within 1 %, and <n_ch> per event from 10.91 to 10.79 +- 0.02,
CLEO 10.71), so Belle II's generic MC (basf2 uses EvtGen's Pythia engine unchanged) shares
them:

- B -> D+- X, 31.2 % vs 23.3 +- 1.2 % (B0 -> D- X 47.9 % vs 36.9 +- 3.3 %, S042Q17): per B0,
  the DEC exclusive modes (51.5 % of the width) give 0.257 D+- (0.50 per exclusive decay, above
  PDG's 0.37 by themselves) and the quark-level modes 0.262 (0.54 per decay). The dominant
  quark-level mode, ``u anti-d anti-c d PYTHIA 23`` (26.3 % of the B0 width), turns the
  spectator anti-c d into a D- or D*- (Pythia 8 StringFlav::combine, mesonCvector = 0.88:
  vector fraction 0.47) and gives 1/1.88 + 0.47 x B(D*- -> D- X) = 0.68 D- per decay.
  No vector fraction reconciles the data: spin counting (0.75) would give 0.49 but push
  D*(2010)+- X from 26.9 % (vs 22.5 +- 1.5 %, pull +1.6) to ~30.6 % (pull ~ +3); the B0's
  upper-vertex charm is too often charged in both parts of the model (B0 -> Dbar0 X 41 % vs
  47.4 +- 2.8 %): no D** (L = 1: Pythia 8's StringFlav:mesonCL1* rates are 0 by default) at
  the spectator of the quark-level modes, D(*)- modes dominating the exclusive ones. B+: 0.070
  (exclusive) + 0.051 (quark level) D+-.
- B -> D_s X, 14.3 % vs 10.6 +- 0.6 % (B+ -> D_s+ X 13.2 % vs 7.9 +- 1.4 %): Belle II's table
  itself. Its exclusive modes alone give 12.1 % per B (0.119 / 0.123 per B0 / B+; modes with a
  D_s(*,**) daughter are 10.7 % / 11.0 % of the width), checked without Monte Carlo below; the
  quark-level modes add 0.022 / 0.021 (0.046 per decay, mostly ``c anti-s anti-c d PYTHIA 43``).
- B -> p/pbar X, 11.1 % vs 8.0 +- 0.4 %: exclusive modes 0.008 per B; the DEC's charm-diquark
  lines (``anti-cd_1 ud_1 PYTHIA 63``, Lambda_c / Sigma_c / Xi_c X, 4.1 % / 3.9 % of the B0 / B+
  width) ~0.048 (1.0 / 1.4 p per decay: the light diquark's nucleon plus Lambda_c -> p X); the
  other quark-level modes ~0.043 (0.10 - 0.12 p per b -> c ubar d decay: baryon pairs of
  diquark breaks, Pythia 8 StringFlav:probQQtoQ = 0.081). Popcorn (StringFlav:popcornRate)
  is not modelled by gen.hadronization.string; in pickHadrons it acts on diquark ends only,
  i.e. on the PYTHIA 63 lines, whose baryon pair is fixed by their partons.
- Direct J/psi (mother the B), 1.01 % vs 0.78 +- 0.04 % (S049R23): the DEC exclusive modes give
  0.66 % direct (0.89 % with feed-down; checked below), the quark-level c cbar pairs ~0.4 %
  (0.9 % per decay): they all become J/psi or eta_c (StringFlav::combine makes S-wave mesons
  only; eta_c X is 0.67 %, PDG < 0.9 %). Hidden charm is about right in total (J/psi X with
  feed-down 1.22 % vs 1.094 +- 0.032 %, within the tolerance) but sits in the wrong states:
- KNOWN DEFICITS: chi_c1 X 0.23 % vs 0.355 +- 0.027 % (S049R89), direct chi_c1 0.21 % vs
  0.309 +- 0.019 %, direct chi_c2 0.038 % vs 0.075 +- 0.011 % come only from the DEC exclusive
  modes (these values are theirs, without Monte Carlo).

Within the tolerance but worth knowing: D0 X +10 %, eta X +29 %, K0 X +15 %, psi(2S) X -21 %.

Lepton energy moment: <E_l> (E_l > 1.5 GeV, B rest frame) of B -> X_c l nu is 1.7710 +- 0.0041
GeV (10000 events; 1.7760 +- 0.0009 from 4e5 B decayed at rest) vs 1.7797 +- 0.0018 GeV (PDG
S049AEL), with the DEC file's BGL / HQET3 form factors of B -> D(*) l nu and LLSW of B -> D** l
nu (gen.decays.semileptonic, gen.decays.llsw, hooked into gen/decays/generic.py). With the
Goity-Roberts matrix element of the D(*) pi l nu modes (gen.decays.goity_roberts) 1.7741 +-
0.0009 (4e5 B at rest, only the B decayed; -2.8 sigma from PDG with its error); with those
modes in phase space it was 1.7760 +- 0.0009, with B -> D** l nu in phase space too 1.7788
+- 0.0009 (4e5 B), with all semileptonic modes in phase space 1.808 +- 0.003 GeV.

Default size 10000 events (~10 s after JIT); B2DARK_VALIDATION_SCALE=N multiplies it.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import pytest

from gen.beams import Beams
from gen.decays import generic
from gen.hadronization.tables import L_VC
from gen.processes.bbbar import BBbar

N_EVENTS = 10000 * int(os.environ.get("B2DARK_VALIDATION_SCALE", "1"))
MODEL_ALLOWANCE = 0.10
N_SIGMA = 3.0

#: name -> (|PDG ids| counted, PDG value, PDG error, PDG identifier); PDG RPP 2026
RATES: dict[str, tuple[tuple[int, ...], float, float, str]] = {
    "D0/D0bar X": ((421,), 0.646, 0.020, "S049S8"),
    "D+- X": ((411,), 0.233, 0.012, "S049S17"),
    "D_s+- X": ((431,), 0.106, 0.006, "S049S14"),
    "Lambda_c X": ((4122,), 0.0353, 0.0034, "S049S16"),
    "D*(2010)+- X": ((413,), 0.225, 0.015, "S049S12"),
    "D*(2007)0 X": ((423,), 0.260, 0.027, "S049R35"),
    "D_s*+- X": ((433,), 0.063, 0.010, "S049R63"),
    "J/psi X": ((443,), 0.01094, 0.00032, "S049S7"),
    "psi(2S) X": ((100443,), 0.00307, 0.00021, "S049S25"),
    "chi_c1 X": ((20443,), 0.00355, 0.00027, "S049R89"),
    "chi_c2 X": ((445,), 0.00100, 0.00017, "S049R21"),
    "K+- X": ((321,), 0.789, 0.025, "S049S6"),
    "K0/K0bar X": ((310, 130), 0.64, 0.04, "S049S23"),  # one K_S0 or K_L0 per K0
    "phi X": ((333,), 0.0343, 0.0012, "S049S15"),
    "p/pbar X": ((2212,), 0.080, 0.004, "S049S9"),
    "eta X": ((221,), 0.176, 0.016, "S049R18"),
}
#: direct production (mother is the B): name -> (PDG id, value, error, identifier); RPP 2026
DIRECT_RATES: dict[str, tuple[int, float, float, str]] = {
    "J/psi (direct) X": (443, 0.0078, 0.0004, "S049R23"),
    "chi_c1 (direct) X": (20443, 0.00309, 0.00019, "S049R24"),
    "chi_c2 (direct) X": (445, 0.00075, 0.00011, "S049R71"),
}
#: B -> l+ nu_l X per lepton flavour, HFLAV average quoted by PDG RPP 2026 (S049S45)
SEMILEPTONIC = (0.1082, 0.0015)
#: <E_l> for E_l > 1.5 GeV in the B rest frame, B -> X_c l nu (PDG RPP 2026, S049AEL)
LEPTON_R1 = (1.7797, 0.0018)
#: name -> (B, signed PDG id for a b-bar meson B0 / B+, PDG value, error, identifier)
FLAVOUR_RATES: dict[str, tuple[int, int, float, float, str]] = {
    "B0 -> D- X": (511, -411, 0.369, 0.033, "S042Q17"),
    "B0 -> Dbar0 X": (511, -421, 0.474, 0.028, "S042Q14"),
    "B0 -> D_s+ X": (511, 431, 0.103, 0.021, "S042Q19"),
    "B+ -> Dbar0 X": (521, -421, 0.79, 0.04, "S041Q25"),
    "B+ -> D- X": (521, -411, 0.099, 0.012, "S041Q28"),
    "B+ -> D_s+ X": (521, 431, 0.079, 0.014, "S041Q30"),
}
#: rates above the tolerance with an identified cause (module docstring): the test checks that
#: the excess is still there (model above PDG: pull > 0) instead of agreement
KNOWN_EXCESSES = {
    "D+- X": "B0's exclusive modes and quark-level spectator D(*)- both D+- rich (no D**)",
    "B0 -> D- X": "B0's exclusive modes and quark-level spectator D(*)- both D+- rich",
    "D_s+- X": "DEC exclusive D_s modes alone exceed PDG; quark-level b -> c cbar s adds ~2 %",
    "B+ -> D_s+ X": "DEC exclusive D_s modes alone exceed PDG; quark-level b -> c cbar s adds",
    "p/pbar X": "quark level: charm-diquark (Lambda_c X) lines and flavour-chain diquarks",
    "J/psi (direct) X": "quark-level c cbar pairs all become J/psi or eta_c (S-wave only)",
}
#: rates at the lower edge of the tolerance by construction (expected pull ~ -2.5; module
#: docstring): checked one-sided, their size by the DEC modes' rate without Monte Carlo
KNOWN_DEFICITS = {
    "chi_c1 X": "P-wave charmonium only from the DEC exclusive modes (S-wave quark level)",
    "chi_c1 (direct) X": "P-wave charmonium only from the DEC exclusive modes",
    "chi_c2 (direct) X": "P-wave charmonium only from the DEC exclusive modes",
}
CHARM_HADRON_DIGIT = 4


@functools.cache
def _sample():
    proc = BBbar({"mixing": True}, {}, Beams())
    proc.prepare(np.random.default_rng(0), 1000)
    chunk, _ = proc.generate(np.random.default_rng(20261129), N_EVENTS)
    return chunk


def _per_b(mask: np.ndarray, chunk) -> tuple[float, float]:
    """(multiplicity per B, MC error) of the rows in ``mask`` (two B per event)."""
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    c = np.bincount(ev, weights=mask.astype(float), minlength=chunk.n_events) / 2.0
    return float(c.mean()), float(c.std() / math.sqrt(c.size))


def _pull(model: float, mc_err: float, ref: float, ref_err: float) -> float:
    sigma = math.sqrt(ref_err**2 + mc_err**2 + (MODEL_ALLOWANCE * ref) ** 2)
    return (model - ref) / sigma


def _ancestor_b(chunk) -> np.ndarray:
    """Global row index of the B (event rows 1, 2) each row descends from; -1 for rows 0-2."""
    off = chunk.offset
    ev = np.repeat(np.arange(chunk.n_events), np.diff(off))
    local = np.arange(ev.size) - off[ev]
    gm = np.where(chunk.particles["mother"] >= 0, off[ev] + chunk.particles["mother"], -1)
    anc = np.where(local > 2, gm, -1)
    for _ in range(64):  # daughters follow their mothers: depth-limited pointer jumping
        todo = anc >= 0
        todo[todo] = (anc[todo] - off[ev[todo]]) > 2
        if not todo.any():
            return anc
        anc[todo] = gm[anc[todo]]
    raise AssertionError("decay tree deeper than 64")


def _is_charm_hadron(pdg: np.ndarray) -> np.ndarray:
    a = np.abs(pdg)
    return ((a // 100) % 10 == CHARM_HADRON_DIGIT) | ((a // 1000) % 10 == CHARM_HADRON_DIGIT)


def _check(name: str, model: float, err: float, ref: float, ref_err: float,
           excess: str | None) -> None:
    pull = _pull(model, err, ref, ref_err)
    print(f"{name}: model {model:.5f} +- {err:.5f}, PDG {ref:.5f} +- {ref_err:.5f}, "
          f"pull {pull:+.2f}")
    if name in KNOWN_DEFICITS:
        # documented deficit, one-sided here: its size is the DEC modes' own rate, checked
        # without Monte Carlo (test_p_wave_charmonium_deficit_is_the_dec_exclusive_modes)
        assert pull < N_SIGMA, (name, model, err, ref, ref_err, pull)
    elif excess is None:
        assert abs(pull) < N_SIGMA, (name, model, err, ref, ref_err, pull)
    else:  # documented excess: fails once the model comes back to the data (update the doc)
        assert pull > 0.0, (name, "excess gone, update KNOWN EXCESSES", model, ref, pull)


@pytest.mark.validation
@pytest.mark.parametrize("name", list(RATES))
def test_inclusive_rate(name):
    ids, ref, ref_err, _ = RATES[name]
    chunk = _sample()
    model, err = _per_b(np.isin(np.abs(chunk.particles["pdg"]), ids), chunk)
    _check(name, model, err, ref, ref_err, KNOWN_EXCESSES.get(name))


@pytest.mark.validation
@pytest.mark.parametrize("name", list(DIRECT_RATES))
def test_direct_charmonium_rate(name):
    """Charmonium made directly in the B decay (its mother is the B row)."""
    pdg, ref, ref_err, _ = DIRECT_RATES[name]
    chunk = _sample()
    P = chunk.particles
    model, err = _per_b((np.abs(P["pdg"]) == pdg) & np.isin(P["mother"], [1, 2]), chunk)
    _check(name, model, err, ref, ref_err, KNOWN_EXCESSES.get(name))


@pytest.mark.validation
@pytest.mark.parametrize("name", list(FLAVOUR_RATES))
def test_flavour_specific_rate(name):
    """Rates of B0 and B+ (b-bar mesons; B0bar, B- conjugated) listed by PDG per flavour."""
    b, species, ref, ref_err, _ = FLAVOUR_RATES[name]
    chunk = _sample()
    P = chunk.particles
    anc = _ancestor_b(chunk)
    has = anc >= 0
    b_pdg = np.zeros(P["pdg"].size, np.int64)
    b_pdg[has] = P["pdg"][anc[has]]
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    rows = np.concatenate([chunk.offset[:-1] + 1, chunk.offset[:-1] + 2])
    n_b = int(np.sum(np.abs(P["pdg"][rows]) == b))
    sel = (np.abs(b_pdg) == b) & (P["pdg"] * np.sign(b_pdg) == species)
    # per-B counts of that flavour: events hold two B, so bin by (event, B row)
    key = ev[sel] * 2 + (anc[sel] - chunk.offset[ev[sel]] - 1)
    counts = np.bincount(key, minlength=2 * chunk.n_events)
    is_b = np.zeros(2 * chunk.n_events, bool)
    is_b[np.arange(chunk.n_events) * 2] = np.abs(P["pdg"][chunk.offset[:-1] + 1]) == b
    is_b[np.arange(chunk.n_events) * 2 + 1] = np.abs(P["pdg"][chunk.offset[:-1] + 2]) == b
    c = counts[is_b]
    assert c.size == n_b
    _check(name, float(c.mean()), float(c.std() / math.sqrt(c.size)), ref, ref_err,
           KNOWN_EXCESSES.get(name))


@pytest.mark.validation
@pytest.mark.parametrize("lepton", [11, 13])
def test_semileptonic_rate_per_lepton(lepton):
    """Primary leptons (direct B daughters) per B versus B -> l nu X."""
    chunk = _sample()
    P = chunk.particles
    prim = (np.abs(P["pdg"]) == lepton) & np.isin(P["mother"], [1, 2])
    model, err = _per_b(prim, chunk)
    assert abs(_pull(model, err, *SEMILEPTONIC)) < N_SIGMA, (model, err)


def _b_frame_energy(chunk, rows: np.ndarray) -> np.ndarray:
    """Energy of ``rows`` in the rest frame of their mother B (direct daughters only)."""
    P = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    b = chunk.offset[ev[rows]] + P["mother"][rows]
    m_b = np.sqrt(P["e"][b] ** 2 - P["px"][b] ** 2 - P["py"][b] ** 2 - P["pz"][b] ** 2)
    dot = P["e"][b] * P["e"][rows] - sum(P[k][b] * P[k][rows] for k in ("px", "py", "pz"))
    return dot / m_b


@pytest.mark.validation
def test_lepton_energy_moment_b_to_xc_l_nu():
    """<E_l> (E_l > 1.5 GeV) of primary e, mu of B decays with a charm hadron, B rest frame,
    against PDG within 3 sigma (PDG and MC errors; no model allowance)."""
    chunk = _sample()
    P = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    gm = chunk.offset[ev] + P["mother"]
    prim = np.isin(P["mother"], [1, 2])
    # B rows with a charm hadron among their direct daughters (X_c l nu, not X_u l nu)
    has_c = np.zeros(P["pdg"].size, bool)
    has_c[gm[prim & _is_charm_hadron(P["pdg"])]] = True
    rows = np.flatnonzero(prim & np.isin(np.abs(P["pdg"]), [11, 13]) & has_c[gm])
    e = _b_frame_energy(chunk, rows)
    e = e[e > 1.5]
    ref, ref_err = LEPTON_R1
    err = math.hypot(ref_err, e.std() / math.sqrt(e.size))
    print(f"<E_l> (E_l > 1.5 GeV): {e.mean():.4f} +- {e.std() / math.sqrt(e.size):.4f} GeV "
          f"({e.size} leptons), PDG {ref:.4f} +- {ref_err:.4f}")
    assert abs(e.mean() - ref) < N_SIGMA * err, (e.mean(), err)


def _exclusive_multiplicity(pdg: int, target: frozenset[int]) -> float:
    """Expected number of ``target`` particles per ``pdg`` decay from the kept DEC modes,
    recursively, with the quark-level modes counted as giving nothing."""
    by: dict[int, list] = {}
    for m in generic.decay_modes():
        by.setdefault(m.mother, []).append(m)

    @functools.cache
    def mult(p: int) -> float:
        if abs(p) in generic.DEFAULT_STABLE or p not in by:
            return 0.0
        return sum(m.bf * sum((abs(d) in target) + mult(d) for d in m.daughters)
                   for m in by[p] if m.me_mode < 0)

    return mult(pdg)


def _f00() -> float:
    from gen.processes.bbbar import upsilon4s_fractions

    return upsilon4s_fractions()[2]


@pytest.mark.validation
def test_ds_excess_comes_from_the_dec_exclusive_modes():
    """The DEC file's exclusive modes alone exceed PDG B -> D_s X (cause of the D_s excess)."""
    f00 = _f00()
    t = frozenset({431})
    excl = f00 * _exclusive_multiplicity(511, t) + (1 - f00) * _exclusive_multiplicity(521, t)
    _, ref, ref_err, _ = RATES["D_s+- X"]
    assert excl > ref, (excl, ref, ref_err)


@pytest.mark.validation
def test_jpsi_excess_comes_from_the_quark_level_modes():
    """DEC exclusive modes give less J/psi than PDG; the full model gives more (quark level)."""
    f00 = _f00()
    t = frozenset({443})
    excl = f00 * _exclusive_multiplicity(511, t) + (1 - f00) * _exclusive_multiplicity(521, t)
    _, ref, ref_err, _ = RATES["J/psi X"]
    chunk = _sample()
    model, err = _per_b(np.abs(chunk.particles["pdg"]) == 443, chunk)
    assert excl < ref - ref_err, (excl, ref)
    assert model > excl + 3 * err, (model, err, excl)


@pytest.mark.validation
def test_dplus_excess_comes_from_both_parts_of_the_b0_model():
    """Per decay, the B0's DEC exclusive modes and the spectator D(*)- of its quark-level
    b -> c ubar d mode (Pythia 8 vector fraction) each give more D+- than PDG B0 -> D- X."""
    _, _, ref, ref_err, _ = FLAVOUR_RATES["B0 -> D- X"]
    t = frozenset({411})
    f_quark = sum(m.bf for m in generic.decay_modes() if m.mother == 511 and m.me_mode >= 0)
    per_exclusive = _exclusive_multiplicity(511, t) / (1.0 - f_quark)
    vc = generic.decay_tables().qm_lund[L_VC]
    spectator = (1.0 + vc * _exclusive_multiplicity(-413, t)) / (1.0 + vc)
    print(f"D+- per exclusive B0 decay {per_exclusive:.3f}, per spectator D(*)- {spectator:.3f}")
    assert per_exclusive > ref + ref_err, (per_exclusive, ref)
    assert spectator > ref + ref_err, (spectator, ref)


@pytest.mark.validation
@pytest.mark.parametrize("name", list(KNOWN_DEFICITS))
def test_p_wave_charmonium_deficit_is_the_dec_exclusive_modes(name):
    """The quark-level modes make no chi_c: each deficit is the DEC exclusive modes' own rate
    (without Monte Carlo: below PDG by > 2 sigma), which the Monte Carlo reproduces."""
    f00 = _f00()
    chunk = _sample()
    P = chunk.particles
    if name in DIRECT_RATES:
        pdg, ref, ref_err, _ = DIRECT_RATES[name]
        excl = sum(m.bf * m.daughters.count(pdg) * (f00 if m.mother == 511 else 1.0 - f00)
                   for m in generic.decay_modes() if m.mother in (511, 521) and m.me_mode < 0)
        rows = (np.abs(P["pdg"]) == pdg) & np.isin(P["mother"], [1, 2])
    else:
        ids, ref, ref_err, _ = RATES[name]
        t = frozenset(ids)
        excl = f00 * _exclusive_multiplicity(511, t) + (1 - f00) * _exclusive_multiplicity(521, t)
        rows = np.isin(np.abs(P["pdg"]), ids)
    model, err = _per_b(rows, chunk)
    print(f"{name}: DEC exclusive modes {excl:.5f}, model {model:.5f} +- {err:.5f}")
    assert excl < ref - 2 * ref_err, (name, excl, ref, ref_err)
    assert abs(model - excl) < 4 * err, (name, model, err, excl)
