"""The invisible-Z' search: generator cuts never drop selectable events; signal peak; the chain."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.searches import zprime_invisible as z
from detector.reco_io import simulate_file
from gen.beams import Beams
from gen.gencuts import PHOTON_VETO_CUTS, photon_veto_array, photon_vetoed1
from gen.generate import generate_sample
from gen.io import read_events
from gen.runcard import load_sample, parse_sample

CARDS = Path(__file__).resolve().parents[2] / "cards"
SELECTION = z.parse_table({}, z.SELECTION_SCHEMA, "test")


def _sample(tmp_path, name, table):
    card = parse_sample(table, repr(table), name)
    ev, reco = tmp_path / f"{name}.h5", tmp_path / f"{name}_reco.h5"
    generate_sample(card, ev)
    simulate_file(ev, reco)
    return ev, reco


def _strict_cuts_fail(ev_path, events, veto, p_min):
    """Selected events that the search cards' stricter generator cuts would have dropped."""
    _, chunk = read_events(ev_path)
    pp = chunk.particles
    bad = []
    for i in events:
        a, b = chunk.offset[i], chunk.offset[i + 1]
        for j in range(a, b):
            if pp["status"][j] != 1:
                continue
            p = math.sqrt(pp["px"][j] ** 2 + pp["py"][j] ** 2 + pp["pz"][j] ** 2)
            if pp["pdg"][j] == 22 and photon_vetoed1(
                veto, pp["px"][j], pp["py"][j], pp["pz"][j], pp["e"][j]
            ):
                bad.append(i)
            if abs(pp["pdg"][j]) == 13 and p < p_min:
                bad.append(i)
    return sorted(set(bad))


def test_mumu_generator_cuts_keep_every_selectable_event(tmp_path):
    """Generate with only the missing-momentum cuts; every selected event passes the photon
    veto and muon-momentum cuts of cards/samples/mumu.toml (which are therefore safe)."""
    strict = load_sample(CARDS / "samples" / "mumu.toml").cuts
    loose = {k: v for k, v in strict.items() if k not in PHOTON_VETO_CUTS and k != "mu_p_min_gev"}
    table = {"sample": {"process": "mumu", "events": 60000, "seed": 3}, "cuts": loose}
    ev, reco = _sample(tmp_path, "mumu", table)
    sel = z.select(reco, SELECTION, Beams())
    # power: with n > 200 selected events, a cut dropping a fraction f >= 1.5 % of them is seen
    # with probability 1 - (1 - f)^n > 95 %
    assert sel["event"].size > 200
    bad = _strict_cuts_fail(ev, sel["event"], photon_veto_array(strict), strict["mu_p_min_gev"])
    assert bad == []


def test_signal_recoil_mass_peaks_at_the_zprime_mass(tmp_path):
    table = {
        "sample": {"process": "mumu_zprime", "events": 4000, "seed": 9},
        "process": {"mass_gev": 3.0, "isr": False},
    }
    _, reco = _sample(tmp_path, "sig", table)
    sel = z.select(reco, SELECTION, Beams())
    eff = sel["m2"].size / 4000
    assert 0.1 < eff < 0.9
    median = np.median(sel["m2"])
    # resolution of M_rec^2 ~ 2 sqrt(s) sigma(E_mumu) ~ 0.3-0.5 GeV^2: the median within 0.3
    assert median == pytest.approx(9.0, abs=0.3)


def _selected(m2, n_generated):
    zeros = np.zeros(m2.size)
    return z.Selected(
        np.sort(m2), zeros, zeros, np.arange(m2.size), np.ones(m2.size), None, n_generated
    )


def test_hypotheses_and_interpolation():
    grid = np.array([1.0, 2.0])
    m = z.hypothesis_masses(grid, 1)
    np.testing.assert_allclose(m, [1.0, math.sqrt(2.5), 2.0])
    rng = np.random.default_rng(1)
    signals = [
        _selected(rng.normal(1.0, 0.1, 3000), 10000),
        _selected(rng.normal(4.0, 0.2, 5000), 10000),
    ]
    t = z.Templates(
        79.7, z.fine_edges(), {}, grid, signals, np.array([2e-4, 1e-4]), 1e-3, [(1.0, 0.0)], False
    )
    sample, eff, sigma = z.signal_at(t, math.sqrt(2.5))
    # quantile morphing half-way: mean 2.5, width 0.15; efficiency and log sigma half-way
    assert np.mean(sample) == pytest.approx(2.5, abs=0.01)
    assert np.std(sample) == pytest.approx(0.15, rel=0.05)
    assert eff == pytest.approx(0.4)
    assert sigma == pytest.approx(math.sqrt(2e-4 * 1e-4))
    _, e1, x1 = z.signal_at(t, 1.0)
    assert e1 == pytest.approx(0.3)
    assert x1 == 2e-4
    # halves: even events of the first sample (1500 of 3000 selected, 5000 generated)
    _, e_even, _ = z.signal_at(t, 1.0, (1.0, 0.0), 0)
    assert e_even == pytest.approx(0.3)


@pytest.mark.parametrize("centre", [0.01, 0.04, 0.06, 0.3, 3.0, 40.0, 70.0])
def test_fit_window_has_equal_groups_and_a_boundary_on_the_photon_edge(centre):
    """Every hypothesis near M^2 = 0 gets a group boundary exactly on the mu mu gamma edge."""
    fit = {"window_quantile_low": 0.02, "window_quantile_high": 0.9, "window_widen": 0.5,
           "bins": 20}
    edges = z.fine_edges()
    sample = np.random.default_rng(3).normal(centre, 0.1 + 0.02 * centre, 4000)
    i_lo, i_hi = z.fit_window(sample, fit, edges)
    assert 0 <= i_lo < i_hi <= len(edges) - 1
    assert (i_hi - i_lo) % fit["bins"] == 0
    group_edges = edges[i_lo : i_hi + 1 : (i_hi - i_lo) // fit["bins"]]
    lo, hi = np.quantile(sample, [0.02, 0.9])
    assert group_edges[0] <= lo + 1e-9
    assert group_edges[-1] >= min(hi, edges[-1]) - 1e-9
    if group_edges[0] < 0.0 < group_edges[-1]:
        assert np.min(np.abs(group_edges)) < 1e-9


def test_run_end_to_end_on_a_tiny_card(tiny_search, tmp_path):
    """`b2dark run` on the tiny card (tests/conftest.py, run once per session in this process):
    results, plot, reuse of the samples on a rerun, projections from them."""
    from analysis.cli import main

    card, out, text = tiny_search
    results = json.loads(text)
    assert results["search"] == "zprime_invisible"
    assert results["parameter"] == "g_prime"
    assert results["cl"] == 0.9
    assert results["lumi_fb"] == 79.7
    assert len(results["points"]) == 3
    assert len(results["points_binv1"]) == 3
    for p, p1 in zip(results["points"], results["points_binv1"], strict=True):
        keys = ("expected_m2", "expected_m1", "expected", "expected_p1", "expected_p2")
        values = [p[k] for k in keys]
        assert all(v > 0 for v in values)
        assert values == sorted(values)
        assert p["observed"] > 0
        assert 0 < p["signal_efficiency"] < 1
        assert p["cut_cos_recoil_muon_max"] <= 1.0
        # B(inv) < 1 above the dimuon threshold weakens the limit by 1/sqrt(B)
        assert p["observed"] == pytest.approx(p1["observed"] / math.sqrt(p["branching_invisible"]))
    assert (out / "limits.png").stat().st_size > 10_000
    reco_mtimes = {f: f.stat().st_mtime_ns for f in (out / "reco").iterdir()}
    assert main(["run", str(card), "-o", str(out)]) == 0  # samples reused, not regenerated
    assert {f: f.stat().st_mtime_ns for f in (out / "reco").iterdir()} == reco_mtimes
    assert (
        main(
            [
                "project",
                str(card),
                "--lumi",
                "1000",
                "50000",
                "-o",
                str(tmp_path / "proj"),
                "--samples",
                str(out),
            ]
        )
        == 0
    )
    proj = json.loads((tmp_path / "proj" / "results.json").read_text())
    e1 = [p["expected"] for p in proj["projections"][0]["points"]]
    e50 = [p["expected"] for p in proj["projections"][1]["points"]]
    assert all(b < a for a, b in zip(e1, e50, strict=True))  # more luminosity, tighter limit


def test_two_folds_fill_templates_with_every_event_once():
    """Each MC event is selected by the cut optimised on the other fold: the background
    template is the weight sum of the events passing their fold's cut (no factor 2), and the
    pseudo-data come from the same events."""
    rng = np.random.default_rng(7)
    n_s, n_b = 8000, 20000

    def sample(m2, cos, acop, weight, n_gen):
        return z.Selected(m2, cos, acop, np.arange(m2.size), weight, None, n_gen)

    signal = sample(rng.normal(1.0, 0.1, n_s), rng.uniform(-1, 1, n_s), rng.uniform(0, 2, n_s),
                    np.ones(n_s), 2 * n_s)
    bkg = sample(rng.uniform(-1.0, 4.0, n_b), rng.uniform(-1, 1, n_b) ** 3,
                 rng.uniform(0, 2, n_b) ** 2, np.full(n_b, 0.3), n_b)
    bkg.pseudo = rng.poisson(bkg.weight).astype(float)
    grid = [(c, a) for c in (1.0, 0.5, 0.0) for a in (0.0, 0.8)]
    t = z.Templates(79.7, z.fine_edges(), {"b": bkg}, np.array([1.0]), [signal],
                    np.array([1e-3]), 1e-3, grid, True)
    card = z.load_card(CARDS / "zprime_invisible.toml")
    model, data, info = z._model(t, card, 1.0, 79.7)
    cut_odd = (info["cut_cos_recoil_muon_max"], info["cut_acoplanarity_min"])
    cut_even = tuple(info["cut_other_fold"])
    assert cut_odd == z.best_cut(t, card, 1.0, 0)
    assert cut_even == z.best_cut(t, card, 1.0, 1)
    lo, hi = info["window_m2_gev2"]
    inside = (bkg.m2 >= lo) & (bkg.m2 < hi)
    passed = np.where(bkg.event % 2 == 1, (bkg.cos_rec_mu <= cut_odd[0]) & (bkg.acop >= cut_odd[1]),
                      (bkg.cos_rec_mu <= cut_even[0]) & (bkg.acop >= cut_even[1]))
    assert model.backgrounds.sum() == pytest.approx(bkg.weight[passed & inside].sum(), rel=1e-12)
    assert data.sum() == pytest.approx(bkg.pseudo[passed & inside].sum(), rel=1e-12)
    # the efficiency averages the folds, each over its half of the generated events
    sel_sig = np.where(signal.event % 2 == 1,
                       (signal.cos_rec_mu <= cut_odd[0]) & (signal.acop >= cut_odd[1]),
                       (signal.cos_rec_mu <= cut_even[0]) & (signal.acop >= cut_even[1]))
    assert info["signal_efficiency"] == pytest.approx(sel_sig.sum() / (2 * n_s), rel=1e-12)
