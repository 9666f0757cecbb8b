"""Guard rails: generator-level cuts of the search's samples against the detector in use."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import pytest

from analysis.gencut_check import (
    Z_ENERGY,
    _uncovered,
    check_cuts,
    check_events_file,
    check_multiplicity,
    check_samples,
    cuts_of_events_file,
)
from analysis.searches import zprime_invisible
from detector.calorimeter import calorimeter_params, sigma_e1
from detector.config import DetectorConfig
from gen.cards import CardError
from gen.runcard import load_sample

ROOT = Path(__file__).resolve().parents[2]
CARDS = ROOT / "cards"
SEARCH = zprime_invisible.load_card(CARDS / "zprime_invisible.toml")
SELECTION = SEARCH.selection
SAMPLES = {Path(c.path).stem: c for c in (*SEARCH.background_cards, SEARCH.signal_card)}


def det(**sections) -> DetectorConfig:
    return DetectorConfig.from_toml(sections, "det.toml")


def cuts(name: str) -> dict:
    return SAMPLES[name].cuts


def test_default_cards_pass_with_the_default_detector(caplog):
    with caplog.at_level(logging.WARNING, logger="b2dark"):
        check_samples(SAMPLES.values(), DetectorConfig(), SELECTION)
    # the tautau multiplicity cut's known small hole is reported, not fatal
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["sample 'tautau'"] * 2


@pytest.mark.parametrize("name", ["mumu", "tautau", "eemumu"])
def test_narrower_or_equal_detector_never_fails(name):
    """Cuts derived for a detector stay safe when it accepts less (tighter muon ID and CDC)."""
    tighter = det(tracking={"theta_min_deg": 20.0, "theta_max_deg": 140.0},
                  pid={"klm_theta_min_deg": 30.0, "muon_p_min_gev": 0.9})
    check_cuts(name, cuts(name), tighter, SELECTION)


def test_widened_muon_id_acceptance_fails_naming_sample_cut_and_key():
    wide = det(pid={"klm_theta_min_deg": 20.0})
    with pytest.raises(CardError, match=r"sample 'eemumu': cuts.mu_theta_min_deg = 25.0 .*"
                       r"20 deg \(detector pid.klm_theta_min_deg\)"):
        check_cuts("eemumu", cuts("eemumu"), wide, SELECTION)
    check_cuts("mumu", cuts("mumu"), wide, SELECTION)  # 10 deg: still safe


def test_widened_backward_acceptance_needs_both_cdc_and_klm():
    klm_only = det(pid={"klm_theta_max_deg": 160.0})
    check_cuts("eemumu", cuts("eemumu"), klm_only, SELECTION)  # the CDC still ends at 150 deg
    both = det(pid={"klm_theta_max_deg": 160.0}, tracking={"theta_max_deg": 155.0})
    with pytest.raises(CardError, match=r"mu_theta_max_deg = 150.0 .*tracking.theta_max_deg"):
        check_cuts("eemumu", cuts("eemumu"), both, SELECTION)


@pytest.mark.parametrize(("name", "cut"), [("eemumu", "mu_p_min_gev"), ("mumu", "mu_p_min_gev"),
                                           ("tautau", "charged_p_min_gev")])
def test_lower_muon_momentum_threshold_fails(name, cut):
    with pytest.raises(CardError, match=rf"sample '{name}': cuts.{cut} .*pid.muon_p_min_gev"):
        check_cuts(name, cuts(name), det(pid={"muon_p_min_gev": 0.5}), SELECTION)


def test_without_muon_id_the_tracking_acceptance_counts():
    loose = {**SELECTION, "muon_id_min": 0.3}  # a non-winning hypothesis can pass 0.3
    with pytest.raises(CardError, match=r"mu_p_min_gev = 0.6 .*tracking.pt_min_gev"):
        check_cuts("mumu", cuts("mumu"), DetectorConfig(), loose)


def test_wider_ecl_keeps_the_vetoes_valid():
    wide = det(calorimeter={"theta_fwd_min_deg": 10.0, "theta_bwd_max_deg": 160.0,
                            "theta_fwd_max_deg": 31.9, "theta_brl_min_deg": 32.0})
    for name in ("mumu", "tautau", "eemumu"):
        check_cuts(name, cuts(name), wide, SELECTION)


@pytest.mark.parametrize(("calorimeter", "message"), [
    ({"theta_fwd_min_deg": 14.0}, r"theta_min_deg = 13.7 .*calorimeter.theta_fwd_min_deg"),
    ({"theta_bwd_max_deg": 150.0}, r"theta_max_deg = 153.8 .*calorimeter.theta_bwd_max_deg"),
    ({"theta_fwd_max_deg": 29.0}, r"gaps_deg = .* gap 29-32.2 deg .*theta_fwd_max_deg/"),
    ({"theta_bwd_min_deg": 133.0}, r"gaps_deg = .* gap 128.7-133 deg .*theta_brl_max_deg/"),
])
@pytest.mark.parametrize(("name", "prefix"), [("mumu", "photon_veto"), ("tautau", "photon_veto"),
                                              ("eemumu", "e_veto")])
def test_vetoes_outside_a_narrower_ecl_fail(calorimeter, message, name, prefix):
    with pytest.raises(CardError, match=rf"sample '{name}': cuts.{prefix}_" + message):
        check_cuts(name, cuts(name), det(calorimeter=calorimeter), SELECTION)


@pytest.mark.parametrize("region", ["fwd", "brl", "bwd"])
def test_photon_inefficiency_invalidates_the_photon_veto(region):
    lossy = det(calorimeter={f"photon_efficiency_{region}": 0.97})
    for name in ("mumu", "tautau"):
        with pytest.raises(CardError, match=rf"'{name}': cuts.photon_veto_e_gev = 0.12 .*"
                           rf"probability 0.03 .*calorimeter.photon_efficiency_{region} = 0.97"):
            check_cuts(name, cuts(name), lossy, SELECTION)
    check_cuts("eemumu", cuts("eemumu"), lossy, SELECTION)  # e+- clusters: no efficiency knob
    off = {**cuts("mumu"), "photon_veto_e_gev": 0.0}
    check_cuts("mumu", off, lossy, SELECTION)


def test_veto_energy_against_thresholds_and_resolution():
    cp = calorimeter_params(DetectorConfig().calorimeter)
    assert 0.12 - Z_ENERGY * sigma_e1(0.12, cp) > 0.1  # the default card is safe ...
    with pytest.raises(CardError, match=r"photon_veto_e_gev = 0.12 .*selection.cluster_e_min_gev"):
        check_cuts("mumu", cuts("mumu"), DetectorConfig(), {**SELECTION, "cluster_e_min_gev": 0.11})
    with pytest.raises(CardError, match=r"calorimeter.cluster_threshold_gev"):
        check_cuts("mumu", cuts("mumu"), det(calorimeter={"cluster_threshold_gev": 0.11}),
                   SELECTION)
    worse = det(calorimeter={"res_stochastic": 0.04})  # ... but not with 2.5x the stochastic term
    assert 0.12 - Z_ENERGY * sigma_e1(0.12, calorimeter_params(worse.calorimeter)) < 0.1
    with pytest.raises(CardError, match=r"energy-resolution sigma"):
        check_cuts("tautau", cuts("tautau"), worse, SELECTION)
    check_cuts("eemumu", cuts("eemumu"), worse, SELECTION)  # 0.3 GeV: far above


def test_vetoes_need_a_selection_rejecting_any_extra_cluster():
    with pytest.raises(CardError, match=r"max_extra_clusters = 1"):
        check_cuts("eemumu", cuts("eemumu"), DetectorConfig(), {**SELECTION,
                                                                "max_extra_clusters": 1})


@pytest.mark.parametrize(("sections", "key"), [
    ({"tracking": {"b_field_t": 1.0}}, "tracking.b_field_t"),
    ({"calorimeter": {"barrel_r_cm": 130.0}}, "calorimeter.barrel_r_cm"),
])
def test_e_veto_assumes_the_generator_helix_geometry(sections, key):
    with pytest.raises(CardError, match=rf"'eemumu': cuts.e_veto_e_gev = 0.3 .*{key}"):
        check_cuts("eemumu", cuts("eemumu"), det(**sections), SELECTION)


def test_resolution_loosened_pmiss_cuts_need_the_default_resolution():
    check_cuts("eemumu", cuts("eemumu"), det(tracking={"sigma_pt_b": 0.002}), SELECTION)
    with pytest.raises(CardError, match=r"pmiss_resolution_sigmas = 6.0 .*tracking.sigma_pt_b"):
        check_cuts("eemumu", cuts("eemumu"), det(tracking={"sigma_pt_b": 0.005}), SELECTION)


def test_multiplicity_findings_follow_the_tracking_acceptance():
    assert len(check_multiplicity("tautau", cuts("tautau"), DetectorConfig())) == 2
    matched = {**cuts("tautau"), "charged_theta_min_deg": 17.0, "charged_theta_max_deg": 150.0,
               "charged_pt_count_gev": 0.1}
    assert check_multiplicity("tautau", matched, DetectorConfig()) == []
    assert check_multiplicity("mumu", cuts("mumu"), DetectorConfig()) == []


@pytest.mark.parametrize(("lo", "hi", "covers", "left"), [
    (0.0, 10.0, [], 10.0), (0.0, 10.0, [(-1.0, 11.0)], 0.0), (0.0, 10.0, [(2.0, 4.0)], 8.0),
    (0.0, 10.0, [(3.0, 6.0), (2.0, 4.0)], 6.0), (0.0, 10.0, [(5.0, 20.0), (-5.0, 1.0)], 4.0),
    (31.4, 32.2, [(30.1, 33.5)], 0.0), (31.4, 32.2, [(31.5, 33.5)], 0.1),
])
def test_uncovered_length(lo, hi, covers, left):
    assert _uncovered(lo, hi, covers) == pytest.approx(left, abs=1e-12)


def _stub_events_file(path: Path, card: Path) -> None:
    """The root attributes the check reads (events-file contract: process, card)."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "b2dark.events/1"
        f.attrs["process"] = load_sample(card).process
        f.attrs["card"] = card.read_text()


def test_cuts_stored_in_an_events_file(tmp_path):
    path = tmp_path / "eemumu.h5"
    _stub_events_file(path, CARDS / "samples" / "eemumu.toml")
    process, stored = cuts_of_events_file(path)
    assert process == "eemumu"
    assert stored == cuts("eemumu")  # defaults filled in, as in the card
    check_events_file(path, DetectorConfig(), SELECTION)
    with pytest.raises(CardError, match=r"sample 'eemumu': cuts.mu_p_min_gev"):
        check_events_file(path, det(pid={"muon_p_min_gev": 0.6}), SELECTION)


def test_search_with_a_widening_detector_card_fails_before_any_sample(tmp_path):
    (tmp_path / "det.toml").write_text("[pid]\nklm_theta_min_deg = 18.0\n")
    text = (CARDS / "zprime_invisible.toml").read_text()
    text = text.replace('# detector_card = "detector.toml"', 'detector_card = "det.toml"')
    text = text.replace('"samples/', f'"{CARDS / "samples"}/')
    (tmp_path / "search.toml").write_text(text)
    card = zprime_invisible.load_card(tmp_path / "search.toml")
    assert card.search["detector_card"].endswith("det.toml")
    with pytest.raises(CardError, match=r"sample 'eemumu': cuts.mu_theta_min_deg = 25.0 .*"
                       r"pid.klm_theta_min_deg"):
        zprime_invisible.build_templates(card, tmp_path / "out")
    assert not (tmp_path / "out").exists()
