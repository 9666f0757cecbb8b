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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analysis.pipeline import ensure_sample
from analysis.selections import two_track_events
from analysis.variables import pair_recoil
from detector.reco_io import iter_reco_chunks, load_detector_card, open_reco
from gen.beams import Beams
from gen.cards import CardError, Param, parse_table, read_toml
from gen.constants import M_MU
from gen.runcard import SampleCard, load_sample

NAME = "zprime_invisible"

SEARCH_SCHEMA = {
    "name": Param(str, required=True, choices=(NAME,), doc="search name"),
    "lumi_fb": Param(
        float,
        required=True,
        minimum=0.0,
        exclusive_minimum=True,
        doc="integrated luminosity (fb^-1)",
    ),
    "cl": Param(float, 0.9, "confidence level of the upper limits", minimum=0.5, maximum=0.999),
    "seed": Param(int, 2023, "seed of the pseudo-dataset reported as 'observed'", minimum=0),
    "detector_card": Param(str, "", "detector card (TOML) overriding the default Belle II"),
}
SIGNAL_SCHEMA = {
    "card": Param(str, required=True, doc="signal sample card; its mass_gev is set per grid point"),
    "masses_gev": Param(list, required=True, doc="Z' mass hypotheses (GeV)"),
    "events_per_mass": Param(int, 20000, "signal events per mass point", minimum=100),
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
}
FIT_SCHEMA = {
    "bins": Param(int, 20, "bins of M_rec^2 in the fit window", minimum=3, maximum=500),
    "window_quantile": Param(
        float, 0.02, "window = signal quantiles [q, 1-q], widened", minimum=0.0, maximum=0.2
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
    unknown = sorted(set(table) - TOP)
    if unknown:
        raise CardError(
            f"{where}: unknown table or key {unknown[0]!r}; allowed: {', '.join(sorted(TOP))}"
        )
    for required in ("search", "signal", "backgrounds"):
        if required not in table:
            raise CardError(f"{where}: missing [{required}] table")
    search = parse_table(table["search"], SEARCH_SCHEMA, f"{where} [search]")
    signal = parse_table(table["signal"], SIGNAL_SCHEMA, f"{where} [signal]")
    backgrounds = parse_table(table["backgrounds"], BACKGROUND_SCHEMA, f"{where} [backgrounds]")
    base = Path(path).parent
    masses = signal["masses_gev"]
    if not masses or not all(
        isinstance(m, (int, float)) and not isinstance(m, bool) and m > 0 for m in masses
    ):
        raise CardError(
            f"{where} [signal].masses_gev: expected a non-empty list of positive masses"
        )
    signal["masses_gev"] = sorted(float(m) for m in masses)
    signal_card = load_sample(base / signal["card"])
    if signal_card.process != "mumu_zprime":
        raise CardError(f"{base / signal['card']}: the signal card must use process 'mumu_zprime'")
    for m in signal["masses_gev"]:  # every grid mass must pass the process's physics checks
        try:
            _signal_at(signal_card, m, signal["events_per_mass"]).build()
        except CardError as exc:
            raise CardError(f"{where} [signal].masses_gev: {m} GeV rejected: {exc}") from None
    bkg_cards = []
    for name in backgrounds["cards"]:
        if not isinstance(name, str):
            raise CardError(f"{where} [backgrounds].cards: expected card paths, got {name!r}")
        bkg_cards.append(load_sample(base / name))
    if search["detector_card"]:
        search["detector_card"] = str(base / search["detector_card"])
    selection = parse_table(table.get("selection", {}), SELECTION_SCHEMA, f"{where} [selection]")
    fit = parse_table(table.get("fit", {}), FIT_SCHEMA, f"{where} [fit]")
    syst = parse_table(table.get("systematics", {}), SYSTEMATICS_SCHEMA, f"{where} [systematics]")
    return SearchCard(
        where, text, search, signal, signal_card, tuple(bkg_cards), selection, fit, syst
    )


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
    """Selected events of a reco file: M_rec^2, event weight and index in the file."""
    from detector.trigger import PHYSICS_MASK

    out_m2, out_w, out_i = [], [], []
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
            ok = (p_rec > cuts["recoil_p_min_gev"]) & (cos_rec > cos_lo) & (cos_rec < cos_hi)
            out_m2.append(m2[ok])
            out_w.append(chunk["weight"][ev[ok]])
            out_i.append(start + ev[ok])
    return {
        "m2": np.concatenate(out_m2),
        "weight": np.concatenate(out_w),
        "event": np.concatenate(out_i),
    }


def sample_scale(reco_path: Path, lumi_fb: float) -> float:
    """Expected events per generated (unweighted) event at ``lumi_fb``: sigma x L / N."""
    with open_reco(reco_path) as f:
        sigma_pb = float(f.attrs["cross_section_pb"])
        n = int(f.attrs["n_events"])
    return sigma_pb * 1000.0 * lumi_fb / n


# ---------------------------------------------------------------- templates

#: fine binning of M_rec^2 (GeV^2) on which the one pseudo-dataset is drawn; fit windows regroup it
FINE_LO, FINE_HI, FINE_WIDTH = -4.0, 72.0, 0.01


def fine_edges() -> np.ndarray:
    n = round((FINE_HI - FINE_LO) / FINE_WIDTH)
    return FINE_LO + FINE_WIDTH * np.arange(n + 1)


@dataclass
class Templates:
    """Everything the fits need, at the search luminosity."""

    lumi_fb: float
    edges: np.ndarray  # fine edges
    background: dict[str, np.ndarray]  # expected events per fine bin
    background_w2: dict[str, np.ndarray]  # sum of squared weights per fine bin (MC statistics)
    grid_masses: np.ndarray
    signal_m2: list[np.ndarray]  # selected M_rec^2 of each grid mass (unweighted events)
    signal_eff: np.ndarray  # selection efficiency per grid mass
    signal_sigma_pb: np.ndarray  # production cross section at the card's g' per grid mass
    g_ref: float


def build_templates(card: SearchCard, outdir: Path, workers: int = 1) -> Templates:
    """Produce (or reuse) every sample, select, and histogram at the search luminosity."""
    det = load_detector_card(card.search["detector_card"] or None)
    beams = card.signal_card.beams
    lumi = card.search["lumi_fb"]
    edges = fine_edges()
    bkg, bkg_w2 = {}, {}
    for bcard in card.background_cards:
        name = sample_name(bcard)
        reco = ensure_sample(bcard, name, outdir, det, workers=workers)
        sel = select(reco, card.selection, beams)
        w = sel["weight"] * sample_scale(reco, lumi)
        bkg[name] = np.histogram(sel["m2"], edges, weights=w)[0]
        bkg_w2[name] = np.histogram(sel["m2"], edges, weights=w * w)[0]
    m2s, effs, sigmas = [], [], []
    for mass in card.signal["masses_gev"]:
        scard = _signal_at(card.signal_card, mass, card.signal["events_per_mass"])
        reco = ensure_sample(scard, sample_name(scard), outdir, det, workers=workers)
        sel = select(reco, card.selection, beams)
        with open_reco(reco) as f:
            n = int(f.attrs["n_events"])
            sigmas.append(float(f.attrs["cross_section_pb"]))
        m2s.append(np.sort(sel["m2"]))
        effs.append(sel["m2"].size / n)
    return Templates(
        lumi,
        edges,
        bkg,
        bkg_w2,
        np.array(card.signal["masses_gev"]),
        m2s,
        np.array(effs),
        np.array(sigmas),
        float(card.signal_card.params["g_prime"]),
    )


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
    t: Templates, mass: float, n_quantiles: int = 4000
) -> tuple[np.ndarray, float, float]:
    """Selected-signal M_rec^2 sample, efficiency and cross section at any mass in the grid range.

    Between grid masses the distribution is interpolated horizontally (quantile morphing, A. L.
    Read, NIM A 425 (1999) 357) in the variable M^2; efficiency linearly and log(sigma) linearly.
    """
    grid = t.grid_masses
    if mass <= grid[0] or len(grid) == 1:
        return t.signal_m2[0], t.signal_eff[0], t.signal_sigma_pb[0]
    if mass >= grid[-1]:
        return t.signal_m2[-1], t.signal_eff[-1], t.signal_sigma_pb[-1]
    j = int(np.searchsorted(grid, mass)) - 1
    f = (mass**2 - grid[j] ** 2) / (grid[j + 1] ** 2 - grid[j] ** 2)
    if f < 1e-12:
        return t.signal_m2[j], t.signal_eff[j], t.signal_sigma_pb[j]
    a, b = t.signal_m2[j], t.signal_m2[j + 1]
    if a.size == 0 or b.size == 0:
        return np.empty(0), 0.0, 0.0
    q = (np.arange(n_quantiles) + 0.5) / n_quantiles
    sample = (1 - f) * np.quantile(a, q) + f * np.quantile(b, q)
    eff = (1 - f) * t.signal_eff[j] + f * t.signal_eff[j + 1]
    sigma = math.exp(
        (1 - f) * math.log(t.signal_sigma_pb[j]) + f * math.log(t.signal_sigma_pb[j + 1])
    )
    return sample, eff, sigma


def fit_window(sample: np.ndarray, fit: dict[str, Any], edges: np.ndarray) -> tuple[int, int]:
    """Fine-bin index range [lo, hi) of the fit window around the signal peak."""
    q = fit["window_quantile"]
    lo, hi = np.quantile(sample, [q, 1 - q])
    width = hi - lo
    lo -= fit["window_widen"] * width
    hi += fit["window_widen"] * width
    i_lo = int(np.clip(np.searchsorted(edges, lo) - 1, 0, len(edges) - 2))
    i_hi = int(np.clip(np.searchsorted(edges, hi), i_lo + 1, len(edges) - 1))
    # at least `bins` fine bins so the window can be regrouped
    while i_hi - i_lo < fit["bins"]:
        i_lo, i_hi = max(0, i_lo - 1), min(len(edges) - 1, i_hi + 1)
    return i_lo, i_hi


def regroup(values: np.ndarray, i_lo: int, i_hi: int, bins: int) -> np.ndarray:
    """Sum fine bins [i_lo, i_hi) into ``bins`` groups of (almost) equal size."""
    cuts = np.linspace(i_lo, i_hi, bins + 1).round().astype(int)
    return np.add.reduceat(values[i_lo:i_hi], cuts[:-1] - i_lo)


# ---------------------------------------------------------------- fits and limits


def _model(t: Templates, card: SearchCard, mass: float, lumi_fb: float, mc_stat: bool = True):
    """(TemplateModel, window (i_lo, i_hi), info) at ``mass`` for ``lumi_fb``; None if no signal.

    ``mc_stat`` adds the background templates' MC statistical uncertainty (Barlow-Beeston lite).
    The signal template is normalised to sigma(g_ref) x L x efficiency with B(Z' -> inv) = 1; the
    caller divides the limit on mu by the branching fraction it assumes.
    """
    from analysis.fit import TemplateModel, standard_systematics

    sample, eff, sigma = signal_at(t, mass)
    if sample.size < 10 or eff <= 0.0:
        return None
    i_lo, i_hi = fit_window(sample, card.fit, t.edges)
    bins = card.fit["bins"]
    scale = lumi_fb / t.lumi_fb
    signal_fine = np.histogram(sample, t.edges)[0] / sample.size
    yield_mu1 = sigma * 1000.0 * lumi_fb * eff
    signal = regroup(signal_fine, i_lo, i_hi, bins) * yield_mu1
    names = tuple(t.background)
    bkg = np.array([regroup(t.background[n], i_lo, i_hi, bins) for n in names]) * scale
    w2 = np.array([regroup(t.background_w2[n], i_lo, i_hi, bins) for n in names]) * scale**2
    syst = card.systematics
    systematics = standard_systematics(
        names,
        lumi=syst["lumi"],
        tracking=syst["tracking"],
        muon_id=syst["muon_id"],
        normalisation=syst["background_norm"],
    )
    from analysis.fit import Systematic

    systematics = (*systematics, Systematic("trigger", syst["trigger"], ("signal", *names)))
    model = TemplateModel(signal, bkg, names, systematics, background_sumw2=w2 if mc_stat else None)
    info = {
        "signal_efficiency": float(eff),
        "signal_window_fraction": float(signal_fine[i_lo:i_hi].sum()),
        "cross_section_pb_at_g_ref": float(sigma),
        "background_yield": float(bkg.sum()),
        "background_yield_by_sample": {n: float(b.sum()) for n, b in zip(names, bkg, strict=True)},
        "window_m2_gev2": [float(t.edges[i_lo]), float(t.edges[i_hi])],
    }
    return model, (i_lo, i_hi), info


def observed_pseudo_data(t: Templates, seed: int) -> np.ndarray:
    """One pseudo-dataset over the fine M_rec^2 bins, Poisson around the total background.

    It stands in for the observed data ("observed" in results.json is labelled as such).
    """
    from gen.streams import ANALYSIS, stream

    total = sum(t.background.values())
    return stream(seed, ANALYSIS, 0).poisson(total).astype(np.float64)


def _g_limits(mu_limits: dict[str, float], g_ref: float, br: float) -> dict[str, float | None]:
    out = {}
    for key, mu in mu_limits.items():
        out[key] = None if mu is None or not np.isfinite(mu) else g_ref * math.sqrt(mu / br)
    return out


def limits_at(t: Templates, card: SearchCard, lumi_fb: float, data: np.ndarray | None):
    """Per hypothesis mass: limits on g' for B(inv) from the model and for B(inv) = 1.

    With ``data`` (the observed pseudo-dataset) the fit includes the MC statistical uncertainty
    of the templates. Without (a projection) the limits are those of the background-only Asimov
    dataset for ideal (infinite) MC, and ``expected_mc_stat_limited`` gives the median with the
    MC statistics actually generated, which does not shrink with luminosity.
    """
    from analysis.limits import asymptotic_limits
    from gen.models.lmu_ltau import branching_invisible

    cl = card.search["cl"]
    points, points_b1 = [], []
    for mass in hypothesis_masses(t.grid_masses, card.signal["hypotheses_per_interval"]):
        built = _model(t, card, float(mass), lumi_fb, mc_stat=data is not None)
        if built is None:
            continue
        model, (i_lo, i_hi), info = built
        if data is None:
            from analysis.fit import asimov

            lim = asymptotic_limits(model, asimov(model, 0.0), cl=cl)
            lim["observed"] = None
            limited, _, _ = _model(t, card, float(mass), lumi_fb, mc_stat=True)
            lim_mc = asymptotic_limits(limited, asimov(limited, 0.0), cl=cl)
            info = {**info, "mu_expected_mc_stat_limited": lim_mc["expected"]}
        else:
            observed = regroup(data, i_lo, i_hi, card.fit["bins"])
            lim = asymptotic_limits(model, observed, cl=cl)
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


def run(card: SearchCard, outdir: Path, workers: int = 1) -> dict:
    """The whole chain: samples, detector, selection, fits, limits, results.json, limits.png."""
    outdir.mkdir(parents=True, exist_ok=True)
    t = build_templates(card, outdir, workers)
    data = observed_pseudo_data(t, card.search["seed"])
    points, points_b1 = limits_at(t, card, t.lumi_fb, data)
    results = _results(card, t.lumi_fb, points, points_b1, observed=True)
    _write_json(outdir / "results.json", results)
    _plot(outdir / "limits.png", results)
    return results


def project(card: SearchCard, outdir: Path, lumis_fb, workers: int = 1) -> dict:
    """Expected limits of the same search at larger luminosities (background-only Asimov data).

    Templates are those of the card's luminosity scaled by L / L_card. The limits assume ideal
    MC; ``expected_mc_stat_limited`` per point states the median with the generated MC
    statistics (Barlow-Beeston lite), so the share of MC statistics is visible.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    t = build_templates(card, outdir, workers)
    projections = []
    for lumi in lumis_fb:
        points, points_b1 = limits_at(t, card, float(lumi), None)
        projections.append(_results(card, float(lumi), points, points_b1, observed=False))
    results = {**projections[-1], "projections": projections}
    _write_json(outdir / "results.json", results)
    series = [(p["points"], f"expected, {p['lumi_fb']:g} fb$^{{-1}}$") for p in projections[:-1]]
    _plot(outdir / "limits.png", results, expected_series=series)
    return results
