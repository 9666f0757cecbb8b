"""Validation of e+e- -> q qbar (gen.processes.qqbar) against continuum data near 10.6 GeV.

Reference numbers (each with its source and tolerance):

- Mean charged multiplicity of continuum events, <n_ch> = 8.35 +- 0.02 (stat) +- 0.20 (syst)
  at sqrt(s) = 10.47 GeV (ARGUS, H. Albrecht et al., Z. Phys. C 54 (1992) 13; unfolded,
  corrected for radiative effects; HEPData ins319102 table "Unfolded charged particle
  multiplicity distribution for continuum events"). Tolerance: 3 x the total uncertainty plus
  the change of <n_ch> between 10.47 and 10.58 GeV (< 0.1, d<n>/d ln s ~ 1 at these
  energies). The model is run without ISR (ARGUS corrected for it).
  Definition (charged_multiplicity): the paper's text is not in the stored sources; Rivet's
  ARGUS_1992_I319102 counts every charged FinalState particle of the generator record, i.e.
  with K_S, Lambda, Sigma, Xi, Omega decayed (Pythia 8's default, and b2dark's:
  gen.decays.generic decays everything but DEFAULT_STABLE, with flight). The model's record
  already follows that convention (test_weak_decay_products_in_charged_multiplicity), so the
  deficit is NOT a definition mismatch: the other convention (c*tau > 1 cm stable, BaBar's
  "prompt", ALICE's "primary") LOWERS the model by 0.8 (Monash: 7.43 -> 6.65 +- 0.02; Pythia
  7.56 -> 6.78; 12000 events each, no ISR, seed 5; Belle II settings, 3000 events: 7.75 ->
  6.95) and widens the gap to ARGUS.
  Fragmentation parameters: the qqbar defaults are Belle II's own continuum settings (basf2
  generators/modules/fragmentation/data/pythia_belle2.dat, github.com/belle2/basf2, on top of
  Pythia 8's Monash 2013: aLund 0.32, bLund 0.62, rFactC 1.0, etaSup 0.27, stopMass 0.3;
  gen.hadronization.tables.BELLE2_PYTHIA_DAT). This adopts the experiment's tune, it is not a
  fit to ARGUS. With them the model gives 7.75 +- 0.04 (shower + kinked string, 3000 events,
  seeds 1/2; 7.68 / 7.69 +- 0.02 with 12000 events, seeds 5/6 and 7/8; 7.10 no gluon, 7.22
  hardest gluon only; 6.95 with c*tau > 1 cm stable), -7 %, 3.0 sigma of ARGUS's total
  error: inside the tolerance (lower edge 7.63 at 3000 events), so the test passes, by ~1.2
  sigma of the 3000-event MC error (a larger B2DARK_VALIDATION_SCALE narrows that error, not
  the tolerance). Since the kinked string draws z with zlund.sample_z_lund1 (same f(z), other
  random numbers; issue 3) these seeds give 7.67 +- 0.04 (Monash 7.32, thrust 0.8449, u+d+s
  2.374 nb): the same model within MC error (1e5-event comparison with the card defaults,
  before / after: <n_ch> 6.907 / 6.897 +- 0.009 with ISR, <T> 0.8444 / 0.8447, KS p of
  thrust and of the pi, K, p x_p spectra 0.26-0.92, 24 species rates within 1.8 sigma).
  Pythia 8.317 with the same pythia_belle2.dat lines on the same q qbar pairs
  (hadronization = 'pythia', 3000 events, seed 3, no ISR): 7.79 +- 0.04; b2dark 7.75 +- 0.04
  (7.69 after issue 3). The Monash 2013 tune (card keys lund_a = 0.68, lund_b_gev2 = 0.98,
  r_fact_c = 1.32, eta_sup = 0.60, stop_mass_gev = 1.0; MONASH_CARD below) gives 7.43 +- 0.04
  (3000 events, seeds 1/2; 7.40 / 7.37 +- 0.02 with 12000, seeds 5/6, 7/8; 6.86 hardest
  gluon, 6.85 no gluon), -11 %, outside the tolerance: that was the known deficit (xfail
  strict) before the switch; Pythia 8.317 with its defaults (Monash, stopMass 0.8) gives
  7.50, 7.46 with stopMass 1.0. Most of the Belle II gain comes from stopMass (shower +
  kinked string, u ubar at 10.58 GeV, 20000 events, primary hadrons: 7.17 Monash, 7.72
  Monash + stopMass 0.3, 7.08 Belle II + stopMass 1.0, 7.64 Belle II; before the Pythia 8
  stop-mass growth after 15 failed joins, gen.hadronization.kinked). Not in the model:
  g -> q qbar splittings in the shower, colour reconnection, popcorn baryons, photon
  emission off quarks (TimeShower:QEDshowerByQ). By species (3000 events, seed 3, no ISR,
  per event; b2dark Belle II / Pythia with the Belle II file / b2dark Monash / Pythia
  default): pi+- 6.16 / 6.24 / 5.88 / 6.00, K+- 0.99 / 1.03 / 0.92 / 0.96, p 0.37 / 0.27 /
  0.35 / 0.28, eta 0.25 / 0.22 / 0.37 / 0.36, eta' 0.065 / 0.056 / 0.072 / 0.062, pi0 3.46 /
  3.52 / 3.45 / 3.57.
  Charm (c cbar events, no ISR, 3000 events seed 1, before the stop-mass growth; Belle II /
  Monash): <x_p> of D*+ 0.643 / 0.646 +- 0.009, D0 0.595 / 0.604 +- 0.005, D+ 0.631 / 0.613
  +- 0.007 (x_p = p / p_max, Belle hep-ex/0506068's variable; its measured moments are not in
  the stored sources, so no comparison is made: lower a and b and rFactC 1.0 roughly cancel
  for charm).
- Engine comparison (test_string_model_matches_pythia_multiplicity, runs when the optional
  pythia8mc is installed): b2dark's <n_ch> within 5 % of Pythia 8 on the same q qbar pairs,
  both engines with the same string settings: the card's Lund keys reach Pythia too
  (pythia_engine.lund_settings), Belle II's pythia_belle2.dat by default and MONASH_CARD
  (Monash 2013 with stopMass 1.0). Measured before the keys reached Pythia, with the lines set
  by hand: Belle II file 7.79 +- 0.04 vs b2dark 7.75 (above); Monash -1.5 %, 7.383 vs 7.497
  (Pythia's defaults, stopMass 0.8), 3000 events seed 3.
- Thrust: no stored reference value was found for the 10.5 GeV continuum (searched: HEPData,
  Rivet sources, Belle/BaBar/CLEO/ARGUS event-shape papers); the test checks the model's
  internal physics: gluon radiation (the shower) must lower <T> significantly (5 sigma), and
  <T> must lie in the two-jet range 0.8 < <T> < 0.95 expected at this energy.
  Measured (3000 events, ISR on, low_mass on): Belle II settings 0.8458 shower + kinked
  string, 0.8657 hardest gluon, 0.8729 no gluon; Monash 0.8483 / 0.8636 / 0.8790 (0.8396 /
  0.8546 / 0.8709 before the exclusive tail, whose ~6 % two- and three-hadron events have
  T ~ 1). No ISR, 3000 events seed 3: 0.8361 Belle II, 0.8445 Monash (+- 0.0012); Pythia
  8.317 on the same pairs: 0.8362 Belle II file, 0.8385 default.
- Charged-hadron x_p = 2 |p*| / sqrt(s) spectrum (BaBar arXiv:1306.2895 at 10.54 GeV, Belle
  arXiv:1301.6183 at 10.52 GeV): their tables are not in the stored sources (only the Rivet
  analysis code BABAR_2013_I1238276 / BELLE_2013_I1216515, without reference data); the test
  checks the normalisation int dn/dx_p = <n_ch> and prints the spectrum for a manual
  comparison (with weak-decay products: BaBar's "conventional" yields).
- Cross sections with ISR versus the Belle II Physics Book (arXiv:1808.10567: u 1.61, d 0.40,
  s 0.38, c 1.30 nb; KKMC + PYTHIA): c cbar within 5 % (+ 3 sigma MC) and u/d within 5
  statistical sigma (charge^2, string events); d/s (the book's 0.40/0.38 includes s-mass
  effects we neglect) and the absolute values are printed. The light-quark total u + d + s
  (2.39 nb) includes the radiative-return tail below 2 GeV (low_mass = true: exclusive
  pi+ pi-, pi+ pi- pi0, K+ K-, K_S K_L, 2pi+ 2pi-, pi+ pi- 2pi0, eta pi+ pi-;
  gen.hadronization.exclusive, .four_pion, .eta_pipi), within 5 % (+ 3 sigma MC). Measured
  (20000 events, seed 1/2): u+d+s = 2.345 nb (-1.9 %; 2.360 with Monash, the random stream
  differs), tail 0.269 nb (0.274 Monash) (quad 0.274 nb, of which
  4 pi 0.048 nb and eta pi pi 0.002 nb), string part above 2 GeV ~2.09 nb. What is still
  missing below 2 GeV (K K pi, 5-6 pi other than eta pi+ pi-, omega pi0 with omega -> pi0
  gamma, the excited omega/phi in 3 pi and K K) is the likely main cause of the remaining
  ~0.03 nb.

Default size is small (CI, ~1 min); B2DARK_VALIDATION_SCALE=N multiplies it (e.g. 20).
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import pytest
from particle import Particle

from gen.beams import Beams
from gen.cards import parse_table
from gen.decays.generic import DEFAULT_STABLE, dec_block
from gen.hadronization.tables import MONASH_2013
from gen.processes.qqbar import QQbar

#: B2DARK_VALIDATION_SCALE multiplies the default size (as in every validation test)
EVENTS = 3000 * int(os.environ.get("B2DARK_VALIDATION_SCALE", "1"))
ARGUS_NCH, ARGUS_ERR = 8.35, math.hypot(0.02, 0.20)
#: the Monash 2013 tune (arXiv:1404.5630) on the qqbar card; the defaults are Belle II's
#: pythia_belle2.dat values (gen.hadronization.tables.BELLE2_PYTHIA_DAT)
MONASH_CARD = {"lund_a": MONASH_2013["a_lund"], "lund_b_gev2": MONASH_2013["b_lund"],
               "r_fact_c": MONASH_2013["r_fact_c"], "eta_sup": MONASH_2013["eta_sup"],
               "eta_prime_sup": MONASH_2013["eta_prime_sup"],
               "stop_mass_gev": MONASH_2013["stop_mass"]}
BOOK_NB = {"u": 1.61, "d": 0.40, "s": 0.38, "c": 1.30}
BEAMS = Beams(spread_her_gev=0.0, spread_ler_gev=0.0)
#: c*tau (mm) above which a decayed hadron is "weakly decaying" (K_S, Lambda, Sigma+-, Xi, Omega):
#: the 1 cm of the primary-particle convention (ALICE arXiv:1708.01435, sect. 1)
WEAK_CTAU_MM = 10.0

pytestmark = pytest.mark.validation


def run(params: dict, n: int = EVENTS, seed: int = 1):
    p = parse_table(params, QQbar.params, "process")
    proc = QQbar(p, parse_table({}, QQbar.cuts, "cuts"), BEAMS)
    proc.validate("validation")
    proc.prepare(np.random.default_rng(seed), 50_000)
    return proc.generate(np.random.default_rng(seed + 1), n)


def cm_momenta(chunk):
    """(px, py, pz) in the nominal e+e- c.m. frame (Lorentz boost by -beta of the beams)."""
    b = BEAMS.boost
    p = chunk.particles
    v = np.stack([p["px"], p["py"], p["pz"]], axis=1)
    b2 = float(b @ b)
    g = 1 / math.sqrt(1 - b2)
    bp = v @ b
    return v + ((g - 1) * bp / b2 - g * p["e"])[:, None] * b[None, :]


def thrust(p: np.ndarray) -> float:
    """Thrust max_n sum|p.n| / sum|p| by hemisphere iteration from the six hardest particles
    (the JETSET PYTHRU strategy; exact for the event sizes here within 1e-3)."""
    norm = np.linalg.norm(p, axis=1)
    best = 0.0
    for n in p[np.argsort(-norm)[:6]] / np.sort(norm)[::-1][:6, None]:
        for _ in range(30):
            s = np.where(p @ n >= 0, 1.0, -1.0)
            m = (s[:, None] * p).sum(axis=0)
            nn = m / np.linalg.norm(m)
            if np.allclose(nn, n):
                break
            n = nn
        best = max(best, float(np.abs(p @ n).sum() / norm.sum()))
    return best


@functools.cache
def _charge(pdg: int) -> float:
    try:
        return float(Particle.from_pdgid(pdg).charge or 0.0)
    except Exception:  # generator-internal codes unknown to `particle`: not a charged track
        return 0.0


@functools.cache
def _is_weak(pdg: int) -> bool:
    """Decayed by the generator but c*tau > 1 cm: K_S, Lambda, Sigma+-, Xi, Omega (PDG via
    `particle`); K+-, pi+-, mu, K_L are never decayed (gen.decays.generic.DEFAULT_STABLE)."""
    if abs(pdg) in DEFAULT_STABLE:
        return False
    try:
        ctau = Particle.from_pdgid(abs(pdg)).ctau
    except Exception:
        return False
    return ctau is not None and math.isfinite(ctau) and ctau > WEAK_CTAU_MM


def _flags(pdg: np.ndarray, test) -> np.ndarray:
    u = np.unique(pdg)
    return np.isin(pdg, [x for x in u if test(int(x))])


def _charged(pdg: np.ndarray) -> np.ndarray:
    return _flags(pdg, lambda x: _charge(x) != 0.0)


def nearest_weak_ancestor(chunk) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(global row of each row's nearest weakly decaying ancestor or -1, weak flag per row,
    event index per row), following the `mother` links (indices within the event)."""
    p = chunk.particles
    ev = np.repeat(np.arange(chunk.n_events), np.diff(chunk.offset))
    mom = np.where(p["mother"] >= 0, chunk.offset[:-1][ev] + p["mother"], -1)
    weak = _flags(p["pdg"], _is_weak)
    out = np.full(mom.size, -1)
    cur = mom.copy()
    todo = np.nonzero(cur >= 0)[0]
    while todo.size:
        hit = weak[cur[todo]]
        out[todo[hit]] = cur[todo[hit]]
        todo = todo[~hit]
        cur[todo] = mom[cur[todo]]
        todo = todo[cur[todo] >= 0]
    return out, weak, ev


def charged_multiplicity(chunk, weak_decay_products: bool = True) -> np.ndarray:
    """Charged particles per event under one of the two conventions of e+e- data.

    weak_decay_products=True: every charged final-state particle, including the charged decay
    products of K_S, Lambda and the other weakly decaying strange hadrons (the "conventional"
    yields of BaBar arXiv:1306.2895; what Rivet's ARGUS_1992_I319102 counts on a generator
    record, all charged FinalState particles, with K_S and Lambda decayed as Pythia 8 and
    b2dark do by default). weak_decay_products=False: primary particles, c*tau > 1 cm stable
    (ALICE arXiv:1708.01435; BaBar's "prompt" yields): decay products of weakly decaying
    hadrons are dropped and the charged ones themselves (Sigma+-, Xi-, Omega-) are counted."""
    p = chunk.particles
    anc, weak, ev = nearest_weak_ancestor(chunk)
    chg = _charged(p["pdg"])
    fin = p["status"] == 1
    sel = fin & chg if weak_decay_products else (fin | weak) & chg & (anc < 0)
    return np.bincount(ev[sel], minlength=chunk.n_events)


def event_observables(chunk):
    p = chunk.particles
    pcm = cm_momenta(chunk)
    fin = p["status"] == 1
    vis = fin & ~np.isin(np.abs(p["pdg"]), [12, 14, 16])
    chg = fin & _charged(p["pdg"])
    n_ch = charged_multiplicity(chunk)
    t = np.array([thrust(pcm[a:b][vis[a:b]]) for a, b in zip(chunk.offset[:-1],
                                                            chunk.offset[1:], strict=True)])
    x_p = 2 * np.linalg.norm(pcm[chg], axis=1) / BEAMS.sqrt_s_gev
    return n_ch, t, x_p


@pytest.fixture(scope="module")
def default_sample():
    return run({})


def test_mean_charged_multiplicity_vs_argus():
    # ARGUS unfolded radiative effects: compare with the ISR-free model
    for label, extra in (("no gluon", {"gluon_radiation": False}),
                         ("hardest gluon", {"parton_shower": False}),
                         ("shower, Monash 2013", MONASH_CARD)):
        n_ch = charged_multiplicity(run({"isr": False, **extra})[0])
        print(f"<n_ch> ({label}) = {n_ch.mean():.3f} +- {n_ch.std() / math.sqrt(n_ch.size):.3f}")
    chunk, _ = run({"isr": False})
    prompt = charged_multiplicity(chunk, weak_decay_products=False)
    print(f"<n_ch> (shower, c*tau > 1 cm stable) = {prompt.mean():.3f} +- "
          f"{prompt.std() / math.sqrt(prompt.size):.3f}")
    # the ARGUS convention: charged decay products of K_S, Lambda, ... included
    n_ch = charged_multiplicity(chunk)
    mean, err = n_ch.mean(), n_ch.std() / math.sqrt(n_ch.size)
    print(f"<n_ch> (shower, Belle II settings) = {mean:.3f} +- {err:.3f}  (ARGUS 10.47 GeV: "
          f"{ARGUS_NCH} +- {ARGUS_ERR:.2f})")
    assert abs(mean - ARGUS_NCH) < 3 * math.hypot(ARGUS_ERR, err) + 0.1


@functools.cache
def _charged_prongs(name: str, depth: int = 0) -> tuple[float, float]:
    """(mean, variance) of the number of charged final-state particles a decay of `name` (EvtGen
    name) yields down to the next weakly decaying hadron, from the DEC file's branching fractions:
    stable daughters count their charge, weakly decaying ones 0 (counted on their own), prompt
    unstable ones (pi0 Dalitz, Xi*0 ...) recursively. Daughters decay independently, so
    moments add within a mode; the mode mixture adds the spread of the mode means."""
    rows = dec_block(name)
    tot = sum(r["bf"] for r in rows)
    if tot <= 0.0:  # no Decay block in the file (none among these decay chains)
        return 0.0, 0.0
    m1 = m2 = 0.0
    for r in rows:
        mean = var = 0.0
        for d in r["fs"]:
            pdg = int(Particle.from_evtgen_name(d).pdgid)
            if abs(pdg) in DEFAULT_STABLE:
                mean += float(_charge(pdg) != 0.0)
            elif not _is_weak(pdg) and depth < 6:
                dm, dv = _charged_prongs(Particle.from_pdgid(abs(pdg)).evtgen_name, depth + 1)
                mean, var = mean + dm, var + dv
        m1 += r["bf"] / tot * mean
        m2 += r["bf"] / tot * (var + mean * mean)
    return m1, m2 - m1 * m1


def test_weak_decay_products_in_charged_multiplicity(default_sample):
    """The event record follows the ARGUS / LEP convention for <n_ch>: every K_S, Lambda,
    Sigma+-, Xi and Omega is decayed (gen.decays.generic) and its charged products are final
    particles, as many per decay as DECAY_BELLE2.DEC's branching fractions give (5 sigma of
    the DEC spread per species with >= 20 decays; e.g. K_S: 2 x 0.691 pi+pi- + pi0 Dalitz)."""
    chunk, _ = default_sample
    p = chunk.particles
    anc, weak, _ = nearest_weak_ancestor(chunk)
    assert weak.any()
    assert np.all(p["status"][weak] == 2)
    chg = (p["status"] == 1) & _charged(p["pdg"])
    # charged final particles per weak decay (its own products, not those of weak daughters)
    prongs = np.bincount(anc[chg & (anc >= 0)], minlength=p["pdg"].size)
    weak_rows = np.nonzero(weak)[0]
    checked = []
    for pdg in np.unique(np.abs(p["pdg"][weak_rows])):
        rows = weak_rows[np.abs(p["pdg"][weak_rows]) == pdg]
        if rows.size < 20:
            continue
        mean, var = _charged_prongs(Particle.from_pdgid(int(pdg)).evtgen_name)
        got = prongs[rows].mean()
        print(f"{Particle.from_pdgid(int(pdg)).name}: {rows.size / chunk.n_events:.4f} per event,"
              f" {got:.4f} charged products per decay (DEC file: {mean:.4f})")
        assert abs(got - mean) < 5 * math.sqrt(var / rows.size) + 1e-9  # + float round-off
        checked.append(int(pdg))
    assert 310 in checked
    assert 3122 in checked
    # the two conventions differ by exactly these products (minus charged weak hadrons)
    a = charged_multiplicity(chunk)
    b = charged_multiplicity(chunk, weak_decay_products=False)
    own = (weak & (anc < 0) & _charged(p["pdg"])).sum()
    assert (a - b).sum() == prongs[weak_rows].sum() - own
    print(f"<n_ch> {a.mean():.3f} with weak-decay products, {b.mean():.3f} without")


def test_thrust_and_gluon_radiation(default_sample):
    chunk, _ = default_sample
    _, t_glu, _ = event_observables(chunk)
    chunk0, _ = run({"gluon_radiation": False})
    _, t_0, _ = event_observables(chunk0)
    _, t_1, _ = event_observables(run({"parton_shower": False})[0])
    err = math.hypot(t_glu.std() / math.sqrt(t_glu.size), t_0.std() / math.sqrt(t_0.size))
    print(f"<T> = {t_glu.mean():.4f} (shower) / {t_1.mean():.4f} (hardest gluon) / "
          f"{t_0.mean():.4f} (q qbar string only)")
    assert 0.8 < t_glu.mean() < 0.95
    assert t_0.mean() - t_glu.mean() > 5 * err


def test_xp_spectrum_normalisation(default_sample):
    chunk, _ = default_sample
    n_ch, _, x_p = event_observables(chunk)
    edges = np.linspace(0.0, 1.0, 21)
    dn, _ = np.histogram(x_p, edges)
    dndx = dn / chunk.n_events / np.diff(edges)
    print("x_p bins:", np.round(edges[:-1], 2).tolist())
    print("1/N dn/dx_p:", np.round(dndx, 3).tolist())
    assert math.isclose((dndx * np.diff(edges)).sum(), n_ch.mean(), rel_tol=1e-9)
    assert np.all(x_p <= 1.0 + 1e-9)


def test_cross_sections_vs_physics_book():
    chunk, st = run({"decays": False}, n=max(EVENTS, 20_000))
    n = chunk.n_events
    counts = dict(zip("0dusc", np.bincount(chunk.truth["flavour"], minlength=5), strict=True))
    sigma = {f: st.cross_section_pb * 1e-3 * counts[f] / n for f in "0udsc"}
    print({f: round(v, 3) for f, v in sigma.items()}, "nb (0: exclusive tail < 2 GeV); "
          "Physics Book:", BOOK_NB)
    # u/d = 4 (charge^2): multinomial error of the ratio of two counts
    rel = math.sqrt(1 / counts["u"] + 1 / counts["d"])
    assert abs(sigma["u"] / sigma["d"] / (BOOK_NB["u"] / BOOK_NB["d"]) - 1) < 5 * rel
    # c cbar has no radiative tail below the 2 GeV cut (open-charm threshold 3.73 GeV): 5 %
    # for the O(alpha_s^2) terms of R (~2 %) and the c-mass choice in beta (~1 %), + 3 stat
    rel_c = math.hypot(1 / math.sqrt(counts["c"]), st.cross_section_err_pb / st.cross_section_pb)
    assert abs(sigma["c"] / BOOK_NB["c"] - 1) < 0.05 + 3 * rel_c
    # u + d + s with the exclusive tail (flavour 0): 5 % + 3 sigma (binomial and weights)
    light = sum(sigma[f] for f in "0uds")
    book = sum(BOOK_NB[f] for f in "uds")
    k = sum(counts[f] for f in "0uds")
    rel_l = math.hypot(math.sqrt((1 - k / n) / k), st.cross_section_err_pb / st.cross_section_pb)
    print(f"u+d+s = {light:.3f} nb (tail {sigma['0']:.3f}) vs book {book:.2f} nb: "
          f"{light / book - 1:+.1%}")
    assert abs(light / book - 1) < 0.05 + 3 * rel_l


@pytest.mark.parametrize("tune", ["belle2", "monash"])
def test_string_model_matches_pythia_multiplicity(tune):
    """<n_ch> of b2dark's shower + Lund string within 5 % of Pythia 8 on the same pairs, both
    engines with the same string settings (the card's Lund keys reach both: Belle II's
    pythia_belle2.dat by default, or Monash 2013)."""
    from gen.hadronization import pythia_engine

    if not pythia_engine.available():
        pytest.skip("pythia8mc not installed (optional extra pip install '.[pythia]'): the "
                    "two q qbar engines are not compared")
    card = MONASH_CARD if tune == "monash" else {}
    means = {}
    for engine in ("string", "pythia"):
        # like with like: the same Lund keys go to the string and, as Pythia settings
        # (pythia_engine.lund_settings), to Pythia
        chunk, _ = run({"isr": False, "hadronization": engine, **card}, n=EVENTS, seed=3)
        # both engines decay K_S, Lambda, ... (Pythia's default, gen.decays.generic)
        n = charged_multiplicity(chunk)
        prompt = charged_multiplicity(chunk, weak_decay_products=False)
        print(f"{engine}: <n_ch> {n.mean():.3f} with weak-decay products, {prompt.mean():.3f} "
              "with c*tau > 1 cm stable")
        means[engine] = (n.mean(), n.std() / math.sqrt(n.size))
    (a, da), (b, db) = means["string"], means["pythia"]
    print(f"<n_ch>: b2dark {a:.3f} +- {da:.3f}, Pythia 8 {b:.3f} +- {db:.3f}")
    assert abs(a / b - 1.0) < 0.05 + 3 * math.hypot(da, db) / b
