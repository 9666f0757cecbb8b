"""Search 1: e+e- -> mu+mu- Z', Z' -> invisible (L_mu - L_tau), recoil mass against the muon pair.

In the spirit of Belle II, PRL 130 (2023) 231801, arXiv:2212.03066: two opposite-charge identified
muons and nothing else in the detector above threshold, the recoil momentum pointing into the
barrel calorimeter (where an escaping photon would have been seen), and a fit of the recoil mass
squared per Z' mass hypothesis. A cut-based selection stands in for the paper's neural network;
its cuts are card keys. The 90 % CL limits on the signal strength become limits on g' through the
generator's cross section, sigma ∝ g'^2 (the branching fractions do not depend on g').
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from analysis.gencut_check import check_samples
from analysis.pipeline import ensure_sample
from analysis.selections import two_track_events
from analysis.variables import pair_recoil, pair_topology
from detector.reco_io import iter_reco_chunks, load_detector_card, open_reco
from gen.beams import Beams
from gen.cards import SCHEMA_VERSION, CardError, Param, parse_table, read_toml, short_repr
from gen.constants import M_MU
from gen.runcard import MAX_EVENTS, MAX_LUMI_FB, MAX_SEED, VERSION_PARAM, SampleCard, load_sample

NAME = "zprime_invisible"

SEARCH_SCHEMA = {
    "name": Param(str, required=True, choices=(NAME,), doc="search name"),
    "lumi_fb": Param(
        float,
        required=True,
        minimum=0.0,
        exclusive_minimum=True,
        maximum=MAX_LUMI_FB,
        doc="integrated luminosity (fb^-1)",
    ),
    "cl": Param(float, 0.9, "confidence level of the upper limits", minimum=0.5, maximum=0.999),
    "seed": Param(
        int, 2023, "seed of the pseudo-dataset reported as 'observed'", minimum=0, maximum=MAX_SEED
    ),
    "detector_card": Param(str, "", "detector card (TOML) overriding the default Belle II"),
}
SIGNAL_SCHEMA = {
    "card": Param(str, required=True, doc="signal sample card; its mass_gev is set per grid point"),
    "masses_gev": Param(list, required=True, doc="Z' mass hypotheses (GeV)"),
    "events_per_mass": Param(
        int, 20000, "signal events per mass point", minimum=100, maximum=MAX_EVENTS
    ),
    "hypotheses_per_interval": Param(
        int, 2, "interpolated mass hypotheses between grid masses", minimum=0, maximum=50
    ),
}
BACKGROUND_SCHEMA = {
    "cards": Param(
        list, required=True, doc="background sample cards (each with lumi_fb or events)"
    ),
}
SELECTION_SCHEMA = {
    # standard Belle II impact-parameter cuts for tracks from the interaction point
    "d0_max_cm": Param(float, 0.5, "max |d0| of the tracks", minimum=0.0),
    "z0_max_cm": Param(float, 2.0, "max |z0| of the tracks", minimum=0.0),
    "muon_id_min": Param(
        float, 0.5, "min muon-ID probability of both tracks", minimum=0.0, maximum=1.0
    ),
    # photon veto: no unmatched cluster above this energy (arXiv:2212.03066 vetoes photons)
    "cluster_e_min_gev": Param(float, 0.1, "clusters below this energy are ignored", minimum=0.0),
    "max_extra_clusters": Param(
        int, 0, "max number of unmatched clusters above threshold", minimum=0
    ),
    # recoil into the barrel ECL, away from its gaps (arXiv:2212.03066: 33-128 deg)
    "recoil_theta_min_deg": Param(
        float, 33.0, "min lab polar angle of the recoil", minimum=0.0, maximum=180.0
    ),
    "recoil_theta_max_deg": Param(
        float, 128.0, "max lab polar angle of the recoil", minimum=0.0, maximum=180.0
    ),
    "recoil_p_min_gev": Param(float, 0.5, "min c.m. recoil momentum", minimum=0.0),
    # tau-pair suppression: in tau pairs the neutrinos follow their tau, so the recoil lines up
    # with a muon and the muons are back to back (analysis.variables.pair_topology). The cut is
    # chosen per mass hypothesis from these grids (on even MC events; templates use odd ones).
    "optimise_cuts": Param(bool, True, "choose the topology cut per mass from the grids below"),
    "cos_recoil_muon_max_grid": Param(
        list,
        [1.0, 0.5, 0.3, 0.1, -0.1, -0.3],
        "options for max cos(recoil, nearest muon), c.m. (1 = off)",
    ),
    "acoplanarity_min_grid": Param(
        list, [0.0, 0.4, 0.8, 1.2], "options for min acoplanarity of the muons (rad; 0 = off)"
    ),
}
FIT_SCHEMA = {
    "bins": Param(int, 20, "bins of M_rec^2 in the fit window", minimum=3, maximum=500),
    # the signal core: the radiative (ISR) tail above the upper quantile adds background, little
    # signal; the window is then widened on both sides to give the fit sidebands
    "window_quantile_low": Param(
        float,
        0.02,
        "window starts at this quantile of the signal M_rec^2",
        minimum=0.0,
        maximum=0.5,
    ),
    "window_quantile_high": Param(
        float, 0.90, "window ends at this quantile of the signal M_rec^2", minimum=0.5, maximum=1.0
    ),
    "window_widen": Param(
        float,
        0.5,
        "widen the window by this fraction of its width on each side",
        minimum=0.0,
        maximum=5.0,
    ),
}
SYSTEMATICS_SCHEMA = {
    # Belle II luminosity uncertainty for the 2019-2020 data: ~1 % (arXiv:2212.03066)
    "lumi": Param(float, 0.01, "relative luminosity uncertainty", minimum=0.0),
    # tracking efficiency: 0.3 % per track (Belle II tracking performance; estimate), x2 tracks
    "tracking": Param(
        float, 0.006, "relative tracking-efficiency uncertainty (two tracks)", minimum=0.0
    ),
    # muon ID: a few % for a two-muon selection (estimate; Belle II lepton-ID systematics)
    "muon_id": Param(float, 0.04, "relative muon-ID uncertainty (two muons)", minimum=0.0),
    # trigger efficiency uncertainty (estimate)
    "trigger": Param(float, 0.02, "relative trigger-efficiency uncertainty", minimum=0.0),
    "background_norm": Param(
        float, 0.05, "relative normalisation uncertainty of each background", minimum=0.0
    ),
}
CARD_TABLES = {
    "search": SEARCH_SCHEMA,
    "signal": SIGNAL_SCHEMA,
    "backgrounds": BACKGROUND_SCHEMA,
    "selection": SELECTION_SCHEMA,
    "fit": FIT_SCHEMA,
    "systematics": SYSTEMATICS_SCHEMA,
}
TOP = {"schema_version", *CARD_TABLES}


@dataclass(frozen=True)
class SearchCard:
    path: str
    text: str
    search: dict[str, Any]
    signal: dict[str, Any]
    signal_card: SampleCard
    background_cards: tuple[SampleCard, ...]
    selection: dict[str, Any]
    fit: dict[str, Any]
    systematics: dict[str, Any]


def load_card(path: str | Path) -> SearchCard:
    """Read and validate the search card and every sample card it names."""
    table, text = read_toml(path)
    where = str(path)
    if "sample" in table:
        raise CardError(f"{where}: this is a sample card; use 'b2dark generate {where}'")
    unknown = sorted(set(table) - TOP)
    if unknown:
        raise CardError(
            f"{where}: unknown table or key {short_repr(unknown[0])}; allowed: "
            f"{', '.join(sorted(TOP))}"
        )
    version = VERSION_PARAM.parse(table.get("schema_version", SCHEMA_VERSION),
                                  f"{where} schema_version")
    if version != SCHEMA_VERSION:
        raise CardError(
            f"{where}: schema_version {version!r} is not supported (use {SCHEMA_VERSION})"
        )
    for required in ("search", "signal", "backgrounds"):
        if required not in table:
            raise CardError(f"{where}: missing [{required}] table")
    search = parse_table(table["search"], SEARCH_SCHEMA, f"{where} [search]")
    signal = parse_table(table["signal"], SIGNAL_SCHEMA, f"{where} [signal]")
    backgrounds = parse_table(table["backgrounds"], BACKGROUND_SCHEMA, f"{where} [backgrounds]")
    base = Path(path).parent
    masses = _finite_numbers(signal["masses_gev"])
    if not masses or not all(m > 0 for m in masses):
        raise CardError(
            f"{where} [signal].masses_gev: expected a non-empty list of positive masses"
        )
    signal["masses_gev"] = sorted(masses)
    signal_card = _named(load_sample, base, signal["card"], f"{where} [signal].card")
    if signal_card.process != "mumu_zprime":
        raise CardError(
            f"{where} [signal].card: {signal_card.path} must use process 'mumu_zprime', not "
            f"{signal_card.process!r}"
        )
    for m in signal["masses_gev"]:  # every grid mass must pass the process's physics checks
        try:
            _signal_at(signal_card, m, signal["events_per_mass"]).build()
        except CardError as exc:
            raise CardError(f"{where} [signal].masses_gev: {m} GeV rejected: {exc}") from None
    bkg_cards = []
    for name in backgrounds["cards"]:
        if not isinstance(name, str):
            raise CardError(
                f"{where} [backgrounds].cards: expected card paths, got {short_repr(name)}"
            )
        bkg_cards.append(_named(load_sample, base, name, f"{where} [backgrounds].cards"))
    if search["detector_card"]:
        # a bad detector card fails now, not after the samples are made
        _named(load_detector_card, base, search["detector_card"], f"{where} [search].detector_card")
        search["detector_card"] = str(base / search["detector_card"])
    selection = parse_table(table.get("selection", {}), SELECTION_SCHEMA, f"{where} [selection]")
    for key in ("cos_recoil_muon_max_grid", "acoplanarity_min_grid"):
        grid = _finite_numbers(selection[key])
        if not grid:
            raise CardError(f"{where} [selection].{key}: expected a non-empty list of numbers")
        selection[key] = grid
    fit = parse_table(table.get("fit", {}), FIT_SCHEMA, f"{where} [fit]")
    syst = parse_table(table.get("systematics", {}), SYSTEMATICS_SCHEMA, f"{where} [systematics]")
    return SearchCard(
        where, text, search, signal, signal_card, tuple(bkg_cards), selection, fit, syst
    )


def _finite_numbers(values: list) -> list[float]:
    """``values`` as floats, or [] unless every entry is a finite number (not a bool)."""
    out = []
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            return []
        if isinstance(x, int) and abs(x) > 1e300:  # float() of a huge TOML integer overflows
            return []
        if not math.isfinite(x):
            return []
        out.append(float(x))
    return out


def _named(load, base: Path, name: str, where: str):
    """Load the card ``name`` (relative to the search card); errors name both cards."""
    if not name.strip():  # the empty name would read the folder
        raise CardError(f"{where}: empty path; name a card file relative to the search card")
    try:
        return load(base / name)
    except CardError as exc:
        raise CardError(f"{where}: {exc}") from None


def _signal_at(card: SampleCard, mass: float, events: int) -> SampleCard:
    params = {**card.params, "mass_gev": float(mass)}
    return card.replace(params=params, events=events, lumi_fb=0.0)


def sample_name(card: SampleCard) -> str:
    stem = Path(card.path).stem
    if card.process == "mumu_zprime":
        return f"{stem}_m{card.params['mass_gev']:.4g}"
    return stem


# ---------------------------------------------------------------- selection and histograms


def select(reco_path: Path, cuts: dict[str, Any], beams: Beams) -> dict[str, np.ndarray]:
    """Selected events of a reco file: M_rec^2, weight, index in the file and topology.

    ``cos_rec_mu`` is the largest cosine between the recoil and a muon, ``acop`` the
    acoplanarity of the muons, both in the c.m. frame (analysis.variables.pair_topology).
    """
    from detector.trigger import PHYSICS_MASK

    out: dict[str, list] = {k: [] for k in ("m2", "weight", "event", "cos_rec_mu", "acop")}
    cos_lo = math.cos(math.radians(cuts["recoil_theta_max_deg"]))
    cos_hi = math.cos(math.radians(cuts["recoil_theta_min_deg"]))
    with open_reco(reco_path) as f:
        for start, chunk in iter_reco_chunks(f, with_start=True):
            i1, i2, _, n_extra = two_track_events(
                chunk, cuts["d0_max_cm"], cuts["z0_max_cm"], cuts["cluster_e_min_gev"]
            )
            triggered = (chunk["trigger"] & PHYSICS_MASK) != 0
            keep = (i1 >= 0) & triggered & (n_extra <= cuts["max_extra_clusters"])
            ev = np.flatnonzero(keep)
            a, b = i1[ev], i2[ev]
            muid = chunk["tracks/mu_id"]
            ok = (muid[a] > cuts["muon_id_min"]) & (muid[b] > cuts["muon_id_min"])
            ev, a, b = ev[ok], a[ok], b[ok]
            p1 = np.stack([chunk["tracks/px"][a], chunk["tracks/py"][a], chunk["tracks/pz"][a]])
            p2 = np.stack([chunk["tracks/px"][b], chunk["tracks/py"][b], chunk["tracks/pz"][b]])
            m2, p_rec, cos_rec, _ = pair_recoil(p1, M_MU, p2, M_MU, beams)
            cos_rm, acop = pair_topology(p1, M_MU, p2, M_MU, beams)
            ok = (p_rec > cuts["recoil_p_min_gev"]) & (cos_rec > cos_lo) & (cos_rec < cos_hi)
            out["m2"].append(m2[ok])
            out["weight"].append(chunk["weight"][ev[ok]])
            out["event"].append(start + ev[ok])
            out["cos_rec_mu"].append(cos_rm[ok])
            out["acop"].append(acop[ok])
    return {k: np.concatenate(v) for k, v in out.items()}


def sample_scale(reco_path: Path, lumi_fb: float) -> float:
    """Expected events per generated (unweighted) event at ``lumi_fb``: sigma x L / N."""
    with open_reco(reco_path) as f:
        sigma_pb = float(f.attrs["cross_section_pb"])
        n = int(f.attrs["n_events"])
    return sigma_pb * 1000.0 * lumi_fb / n


# ---------------------------------------------------------------- templates

#: fine binning of M_rec^2 (GeV^2); fit windows regroup it
FINE_LO, FINE_HI, FINE_WIDTH = -4.0, 72.0, 0.01
#: M_rec^2 (GeV^2) where a background ends sharply: recoil against massless photons (mu mu gamma)
BACKGROUND_EDGES_M2 = (0.0,)


def fine_edges() -> np.ndarray:
    n = round((FINE_HI - FINE_LO) / FINE_WIDTH)
    return FINE_LO + FINE_WIDTH * np.arange(n + 1)


@dataclass
class Selected:
    """Selected events of one sample; ``weight`` = expected events per MC event at the search
    luminosity; ``pseudo`` = how often each event occurs in the observed pseudo-dataset."""

    m2: np.ndarray
    cos_rec_mu: np.ndarray
    acop: np.ndarray
    event: np.ndarray
    weight: np.ndarray
    pseudo: np.ndarray | None = None
    n_generated: int = 0
    #: memo of derived arrays per (what, cut, half): every mass hypothesis asks for the same ones
    memo: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Templates:
    """Everything the fits need, at the search luminosity."""

    lumi_fb: float
    edges: np.ndarray
    backgrounds: dict[str, Selected]
    grid_masses: np.ndarray
    signals: list[Selected]  # per grid mass (weights 1 per MC event)
    signal_sigma_pb: np.ndarray  # production cross section at the card's g' per grid mass
    g_ref: float
    cut_grid: list[tuple[float, float]]  # (max cos(recoil, muon), min acoplanarity) options
    split: bool  # two folds: the cut of odd MC events is optimised on even ones and back


def _selected(sel: dict[str, np.ndarray], scale: float, n: int) -> Selected:
    return Selected(
        sel["m2"], sel["cos_rec_mu"], sel["acop"], sel["event"], sel["weight"] * scale, None, n
    )


def build_templates(card: SearchCard, outdir: Path, workers: int = 1) -> Templates:
    """Produce (or reuse) every sample, select, and keep the selected events.

    The observed pseudo-dataset is drawn here, once: each selected background MC event that
    fills the templates occurs Poisson(its template weight) times (stream ANALYSIS of the search
    seed, one index per sample), so the data follow the background model.
    """
    from gen.streams import ANALYSIS, stream

    det = load_detector_card(card.search["detector_card"] or None)
    # generator cuts must not drop what this detector and selection accept (before any work)
    check_samples([*card.background_cards, card.signal_card], det, card.selection)
    beams = card.signal_card.beams
    lumi = card.search["lumi_fb"]
    backgrounds = {}
    for bcard in card.background_cards:
        name = sample_name(bcard)
        reco = ensure_sample(bcard, name, outdir, det, workers=workers)
        with open_reco(reco) as f:
            n = int(f.attrs["n_events"])
        sel = _selected(select(reco, card.selection, beams), sample_scale(reco, lumi), n)
        backgrounds[name] = sel
    signals, sigmas = [], []
    for mass in card.signal["masses_gev"]:
        scard = _signal_at(card.signal_card, mass, card.signal["events_per_mass"])
        reco = ensure_sample(scard, sample_name(scard), outdir, det, workers=workers)
        with open_reco(reco) as f:
            n = int(f.attrs["n_events"])
            sigmas.append(float(f.attrs["cross_section_pb"]))
        signals.append(_selected(select(reco, card.selection, beams), 1.0, n))
    sel = card.selection
    grid = [(c, a) for c in sel["cos_recoil_muon_max_grid"] for a in sel["acoplanarity_min_grid"]]
    split = sel["optimise_cuts"] and len(grid) > 1
    if not split:
        grid = grid[:1]
    for k, sel_k in enumerate(backgrounds.values()):
        # every selected event fills the templates (two folds when split), so all of them
        # make the pseudo-data
        sel_k.pseudo = stream(card.search["seed"], ANALYSIS, k).poisson(sel_k.weight).astype(float)
    return Templates(
        lumi,
        fine_edges(),
        backgrounds,
        np.array(card.signal["masses_gev"]),
        signals,
        np.array(sigmas),
        float(card.signal_card.params["g_prime"]),
        grid,
        split,
    )


def _mask(s: Selected, cut: tuple[float, float], half: int | None) -> np.ndarray:
    """Events passing ``cut``; ``half`` 0 (even events), 1 (odd) or None (all). Memoised."""
    key = ("mask", cut, half)
    if key not in s.memo:
        m = (s.cos_rec_mu <= cut[0]) & (s.acop >= cut[1])
        if half is not None:
            m &= (s.event % 2) == half
        s.memo[key] = m
    return s.memo[key]


def _sorted_m2(s: Selected, cut: tuple[float, float], half: int | None):
    """(sorted M^2, cumulative weight from 0) of the events passing ``cut``. Memoised."""
    key = ("sorted", cut, half)
    if key not in s.memo:
        m = _mask(s, cut, half)
        order = np.argsort(s.m2[m], kind="stable")
        s.memo[key] = (s.m2[m][order], np.concatenate([[0.0], np.cumsum(s.weight[m][order])]))
    return s.memo[key]


def _half_generated(s: Selected, half: int | None) -> float:
    if half is None:
        return float(s.n_generated)
    return float((s.n_generated + (1 - half)) // 2)


def hypothesis_masses(grid: np.ndarray, per_interval: int) -> np.ndarray:
    """The grid masses plus ``per_interval`` masses evenly spaced in M^2 inside each interval."""
    out = [grid[0]]
    for a, b in zip(grid[:-1], grid[1:], strict=True):
        for k in range(1, per_interval + 1):
            f = k / (per_interval + 1)
            out.append(math.sqrt((1 - f) * a * a + f * b * b))
        out.append(b)
    return np.array(out)


def signal_at(
    t: Templates,
    mass: float,
    cut: tuple[float, float] = (1.0, 0.0),
    half: int | None = None,
    n_quantiles: int = 4000,
) -> tuple[np.ndarray, float, float]:
    """Selected-signal M_rec^2 sample, efficiency and cross section at any mass in the grid range.

    Between grid masses the distribution is interpolated horizontally (quantile morphing, A. L.
    Read, NIM A 425 (1999) 357) in the variable M^2; efficiency linearly and log(sigma) linearly.
    """
    grid = t.grid_masses

    def at(j):
        s = t.signals[j]
        m2_sorted, _ = _sorted_m2(s, cut, half)
        return m2_sorted, m2_sorted.size / max(_half_generated(s, half), 1.0)

    if mass <= grid[0] or len(grid) == 1:
        return (*at(0), t.signal_sigma_pb[0])
    if mass >= grid[-1]:
        return (*at(len(grid) - 1), t.signal_sigma_pb[-1])
    j = int(np.searchsorted(grid, mass)) - 1
    f = (mass**2 - grid[j] ** 2) / (grid[j + 1] ** 2 - grid[j] ** 2)
    (a, ea), (b, eb) = at(j), at(j + 1)
    if f < 1e-12:
        return a, ea, t.signal_sigma_pb[j]
    if a.size == 0 or b.size == 0:
        return np.empty(0), 0.0, 0.0
    sample = (1 - f) * _quantiles(t.signals[j], a, cut, half, n_quantiles) + f * _quantiles(
        t.signals[j + 1], b, cut, half, n_quantiles
    )
    sigma = math.exp(
        (1 - f) * math.log(t.signal_sigma_pb[j]) + f * math.log(t.signal_sigma_pb[j + 1])
    )
    return sample, (1 - f) * ea + f * eb, sigma


def _quantiles(s: Selected, values: np.ndarray, cut, half, n: int) -> np.ndarray:
    """The ``n`` mid-point quantiles of ``values`` (a sorted selection of ``s``). Memoised."""
    key = ("quantiles", cut, half, n)
    if key not in s.memo:
        s.memo[key] = np.quantile(values, (np.arange(n) + 0.5) / n)
    return s.memo[key]


def fit_window(sample: np.ndarray, fit: dict[str, Any], edges: np.ndarray) -> tuple[int, int]:
    """Fine-bin index range [lo, hi) of the fit window around the signal peak.

    The window holds ``bins`` groups of equal width; when it contains a physical edge of the
    backgrounds (``BACKGROUND_EDGES_M2``) one group boundary sits on it. The mu mu (gamma)
    background, which dominates at low recoil mass, recoils against massless photons:
    M_rec^2 >= 0 up to the resolution, while a light Z' peaks on both sides of zero. A group
    straddling M_rec^2 = 0 would mix the nearly background-free side with the background, and
    whether it does would depend on where the quantiles put the window, i.e. jump from one mass
    hypothesis to the next.
    """
    lo, hi = np.quantile(sample, [fit["window_quantile_low"], fit["window_quantile_high"]])
    width = hi - lo
    lo -= fit["window_widen"] * width
    hi += fit["window_widen"] * width
    n_fine = len(edges) - 1
    bins = fit["bins"]
    i_lo = int(np.clip(np.searchsorted(edges, lo) - 1, 0, n_fine - 1))
    i_hi = int(np.clip(np.searchsorted(edges, hi), i_lo + 1, n_fine))
    group = max(1, -(-(i_hi - i_lo) // bins))
    for edge in BACKGROUND_EDGES_M2:
        i_edge = int(round((edge - edges[0]) / (edges[1] - edges[0])))
        if i_lo < i_edge < i_hi:
            # raise the low end (by less than a group) onto the edge's grid
            i_lo = i_edge - group * ((i_edge - i_lo) // group)
    i_hi = i_lo + group * bins
    if i_hi > n_fine:
        i_lo, i_hi = max(0, n_fine - group * bins), n_fine
    return i_lo, i_hi


def regroup(values: np.ndarray, i_lo: int, i_hi: int, bins: int) -> np.ndarray:
    """Sum fine bins [i_lo, i_hi) into ``bins`` groups of (almost) equal size."""
    cuts = np.linspace(i_lo, i_hi, bins + 1).round().astype(int)
    return np.add.reduceat(values[i_lo:i_hi], cuts[:-1] - i_lo)


def _background_in(t: Templates, cut, half, lo: float, hi: float) -> float:
    total = 0.0
    factor = 2.0 if half is not None else 1.0
    for s in t.backgrounds.values():
        m2, cum = _sorted_m2(s, cut, half)
        i, j = np.searchsorted(m2, [lo, hi], side="left")
        total += factor * (cum[j] - cum[i])
    return total


def best_cut(t: Templates, card: SearchCard, mass: float, train: int = 0) -> tuple[float, float]:
    """The topology cut maximising s / sqrt(b + (f b)^2) in the fit window, optimised on the MC
    events of fold ``train`` (0: even event numbers, 1: odd).

    A cut optimisation stands in for the neural network of arXiv:2212.03066. Two folds, as in
    the k-fold training of a classifier: events of each fold are selected with the cut
    optimised on the other one, so the optimisation does not bias the templates, and every MC
    event still fills them (one fold alone would double the template weights).
    """
    if not t.split:
        return t.cut_grid[0]
    sample, _, _ = signal_at(t, mass, (1.0, 0.0), None)
    if sample.size < 10:
        return t.cut_grid[0]
    i_lo, i_hi = fit_window(sample, card.fit, t.edges)
    lo, hi = t.edges[i_lo], t.edges[i_hi]
    f = card.systematics["background_norm"]
    best, best_fom = t.cut_grid[0], -1.0
    for cut in t.cut_grid:
        s_sample, eff, _ = signal_at(t, mass, cut, train)
        if s_sample.size < 10:
            continue
        s = eff * np.mean((s_sample >= lo) & (s_sample < hi))
        b = _background_in(t, cut, train, lo, hi)
        fom = s / math.sqrt(b + (f * b) ** 2 + 1.0)
        if fom > best_fom:
            best, best_fom = cut, fom
    return best


# ---------------------------------------------------------------- fits and limits


def _model(t: Templates, card: SearchCard, mass: float, lumi_fb: float, mc_stat: bool = True):
    """(TemplateModel, observed pseudo-data, info) at ``mass`` for ``lumi_fb``; None if no signal.

    ``mc_stat`` adds the background templates' MC statistical uncertainty (Barlow-Beeston lite).
    The signal template is normalised to sigma(g_ref) x L x efficiency with B(Z' -> inv) = 1; the
    caller divides the limit on mu by the branching fraction it assumes.
    """
    from analysis.fit import Systematic, TemplateModel, standard_systematics

    # (cut, fold it selects): odd events with the cut optimised on even ones, and back
    if t.split:
        folds = [(best_cut(t, card, mass, 0), 1), (best_cut(t, card, mass, 1), 0)]
    else:
        folds = [(t.cut_grid[0], None)]
    # the window (and so the bin width) comes from all selected signal events, as in best_cut:
    # the peak's position and width do not depend on the topology cut, while the few events
    # left by a tight cut would make the binning follow their ISR tail from one MC sample to
    # the next
    window_sample, _, sigma = signal_at(t, mass, (1.0, 0.0), None)
    if window_sample.size < 10:
        return None
    i_lo, i_hi = fit_window(window_sample, card.fit, t.edges)
    bins = card.fit["bins"]
    scale = lumi_fb / t.lumi_fb
    # efficiency-weighted signal shape over the folds (each holds half of the generated events)
    eff, signal_fine = 0.0, np.zeros(t.edges.size - 1)
    for cut, half in folds:
        sample, eff_half, _ = signal_at(t, mass, cut, half)
        if sample.size == 0:
            continue
        eff += eff_half / len(folds)
        signal_fine += eff_half / len(folds) * np.histogram(sample, t.edges)[0] / sample.size
    if eff <= 0.0:
        return None
    signal_fine /= eff
    yield_mu1 = sigma * 1000.0 * lumi_fb * eff
    signal = regroup(signal_fine, i_lo, i_hi, bins) * yield_mu1
    names = tuple(t.backgrounds)
    bkg, w2, data = [], [], np.zeros(bins)
    for s in t.backgrounds.values():
        b_fine = np.zeros(t.edges.size - 1)
        w2_fine = np.zeros(t.edges.size - 1)
        for cut, half in folds:
            m = _mask(s, cut, half)
            w = s.weight[m] * scale
            b_fine += np.histogram(s.m2[m], t.edges, weights=w)[0]
            w2_fine += np.histogram(s.m2[m], t.edges, weights=w * w)[0]
            data += regroup(
                np.histogram(s.m2[m], t.edges, weights=s.pseudo[m])[0], i_lo, i_hi, bins
            )
        bkg.append(regroup(b_fine, i_lo, i_hi, bins))
        w2.append(regroup(w2_fine, i_lo, i_hi, bins))
    bkg, w2 = np.array(bkg), np.array(w2)
    syst = card.systematics
    systematics = standard_systematics(
        names,
        lumi=syst["lumi"],
        tracking=syst["tracking"],
        muon_id=syst["muon_id"],
        normalisation=syst["background_norm"],
    )
    systematics = (*systematics, Systematic("trigger", syst["trigger"], ("signal", *names)))
    sumw2 = w2 if mc_stat else None
    model = TemplateModel(signal, bkg, names, systematics, background_sumw2=sumw2)
    info = {
        "signal_efficiency": float(eff),
        "signal_window_fraction": float(signal_fine[i_lo:i_hi].sum()),
        "cross_section_pb_at_g_ref": float(sigma),
        "background_yield": float(bkg.sum()),
        "background_yield_by_sample": {n: float(b.sum()) for n, b in zip(names, bkg, strict=True)},
        "window_m2_gev2": [float(t.edges[i_lo]), float(t.edges[i_hi])],
        # the cut of the odd MC events (optimised on the even ones) and, split, the other fold's
        "cut_cos_recoil_muon_max": float(folds[0][0][0]),
        "cut_acoplanarity_min": float(folds[0][0][1]),
        "cut_other_fold": [float(x) for x in folds[-1][0]],
    }
    return model, data, info


def _g_limits(mu_limits: dict[str, float], g_ref: float, br: float) -> dict[str, float | None]:
    out = {}
    for key, mu in mu_limits.items():
        out[key] = None if mu is None or not np.isfinite(mu) else g_ref * math.sqrt(mu / br)
    return out


def limits_at(t: Templates, card: SearchCard, lumi_fb: float, observed: bool):
    """Per hypothesis mass: limits on g' for B(inv) from the model and for B(inv) = 1.

    With ``observed`` the fit to the observed pseudo-dataset includes the MC statistical
    uncertainty of the templates. Without (a projection) the limits are those of the
    background-only Asimov dataset for ideal (infinite) MC, and ``expected_mc_stat_limited``
    gives the median with the MC statistics actually generated (it does not shrink with
    luminosity).
    """
    from analysis.limits import asymptotic_limits
    from gen.models.lmu_ltau import branching_invisible

    cl = card.search["cl"]
    points, points_b1 = [], []
    for mass in hypothesis_masses(t.grid_masses, card.signal["hypotheses_per_interval"]):
        built = _model(t, card, float(mass), lumi_fb, mc_stat=observed)
        if built is None:
            continue
        model, data, info = built
        if not observed:
            from analysis.fit import asimov

            lim = asymptotic_limits(model, asimov(model, 0.0), cl=cl)
            lim["observed"] = None
            limited, _, _ = _model(t, card, float(mass), lumi_fb, mc_stat=True)
            lim_mc = asymptotic_limits(limited, asimov(limited, 0.0), cl=cl)
            info = {**info, "mu_expected_mc_stat_limited": lim_mc["expected"]}
        else:
            lim = asymptotic_limits(model, data, cl=cl)
        mu = {
            k: lim[k]
            for k in (
                "observed",
                "expected",
                "expected_m1",
                "expected_p1",
                "expected_m2",
                "expected_p2",
            )
        }
        br = float(branching_invisible(mass, 1.0))
        for target, b in ((points, br), (points_b1, 1.0)):
            extra = {}
            if "mu_expected_mc_stat_limited" in info:
                g = _g_limits({"x": info["mu_expected_mc_stat_limited"]}, t.g_ref, b)["x"]
                extra["expected_mc_stat_limited"] = g
            target.append(
                {
                    "mass_gev": float(mass),
                    **_g_limits(mu, t.g_ref, b),
                    **extra,
                    "branching_invisible": b,
                    "mu_limits": mu,
                    **info,
                }
            )
    return points, points_b1


def _results(card: SearchCard, lumi_fb: float, points, points_b1, observed: bool) -> dict:
    return {
        "search": NAME,
        "lumi_fb": lumi_fb,
        "cl": card.search["cl"],
        "parameter": "g_prime",
        "model": "L_mu - L_tau Z', B(Z' -> invisible) from the model",
        "observed_label": (
            f"observed (pseudo-data, background only, seed {card.search['seed']})"
            if observed
            else "no observed limit (projection)"
        ),
        "g_prime_reference": float(card.signal_card.params["g_prime"]),
        "points": points,
        "points_binv1": points_b1,
    }


def _write_json(path: Path, results: dict) -> None:
    import json

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(path)


def _plot(path: Path, results: dict, expected_series=()) -> None:
    from analysis.plots import limit_plot
    from gen.models.lmu_ltau import g_prime_gm2_band

    masses = np.geomspace(0.05, 10.0, 200)
    low, high = g_prime_gm2_band(masses, 2.0)
    limit_plot(
        path,
        results,
        band=(masses, np.asarray(low), np.asarray(high)),
        extra_series=[("points_binv1", r"B($Z'\to$ inv) = 1")],
        expected_series=expected_series,
    )


def run(card: SearchCard, outdir: Path, workers: int = 1, samples: Path | None = None) -> dict:
    """The whole chain: samples, detector, selection, fits, limits, results.json, limits.png."""
    outdir.mkdir(parents=True, exist_ok=True)
    t = build_templates(card, samples or outdir, workers)
    points, points_b1 = limits_at(t, card, t.lumi_fb, observed=True)
    results = _results(card, t.lumi_fb, points, points_b1, observed=True)
    _write_json(outdir / "results.json", results)
    _plot(outdir / "limits.png", results)
    return results


def project(
    card: SearchCard, outdir: Path, lumis_fb, workers: int = 1, samples: Path | None = None
) -> dict:
    """Expected limits of the same search at larger luminosities (background-only Asimov data).

    Templates are those of the card's luminosity scaled by L / L_card. The limits assume ideal
    MC; ``expected_mc_stat_limited`` per point states the median with the generated MC
    statistics (Barlow-Beeston lite), so the share of MC statistics is visible.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    t = build_templates(card, samples or outdir, workers)
    projections = []
    for lumi in lumis_fb:
        points, points_b1 = limits_at(t, card, float(lumi), observed=False)
        projections.append(_results(card, float(lumi), points, points_b1, observed=False))
    results = {**projections[-1], "projections": projections}
    _write_json(outdir / "results.json", results)
    series = [(p["points"], f"expected, {p['lumi_fb']:g} fb$^{{-1}}$") for p in projections[:-1]]
    _plot(outdir / "limits.png", results, expected_series=series)
    return results
