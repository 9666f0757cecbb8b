"""Guard rails: generator-level cuts of the search's samples against the detector in use."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis.gencut_check import (
    P_TRACK_LOSS,
    Z_ENERGY,
    card_of_events_file,
    check_cuts,
    check_events_file,
    check_multiplicity,
    check_samples,
    cuts_of_events_file,
    detector_findings,
)
from analysis.gencut_rules import _cm_images, track_loss_probability, uncovered
from analysis.searches import zprime_invisible
from detector.calorimeter import calorimeter_params, sigma_e1
from detector.config import DetectorConfig
from gen.beams import Beams
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
    assert caplog.records == []


@pytest.mark.parametrize("name", ["mumu", "tautau", "eemumu"])
def test_narrower_or_equal_detector_never_fails(name):
    """Cuts derived for a detector stay safe when it accepts less (tighter muon ID and CDC)."""
    tighter = det(tracking={"theta_min_deg": 18.0, "theta_max_deg": 140.0},
                  pid={"klm_theta_min_deg": 30.0, "muon_p_min_gev": 0.9})
    if name == "tautau":  # ... except max_charged, whose count must stay inside the tracker
        with pytest.raises(CardError, match=r"'tautau': cuts.count_theta_max_deg = 148.0 .*"
                           r"up to 140 deg \(detector tracking.theta_max_deg\)"):
            check_cuts(name, cuts(name), tighter, SELECTION)
        tighter = det(pid={"klm_theta_min_deg": 30.0, "muon_p_min_gev": 0.9})
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


def test_multiplicity_counts_only_tracks_the_detector_finds():
    check_multiplicity("tautau", cuts("tautau"), DetectorConfig())
    check_multiplicity("mumu", cuts("mumu"), DetectorConfig())  # no max_charged
    # the counting before issue 2 (charged window 10-170 deg, pT 0.09 GeV, any vertex)
    before = {**cuts("tautau"), "count_theta_min_deg": -1.0, "count_theta_max_deg": -1.0,
              "charged_pt_count_gev": 0.09, "count_vertex_r_max_cm": 0.0}
    with pytest.raises(CardError, match=r"count_theta_min_deg = -1.0 \(window from 10 deg\).*"
                       r"tracking.theta_min_deg"):
        check_multiplicity("tautau", before, DetectorConfig())
    for key, value in (("count_theta_min_deg", 18.0), ("count_theta_max_deg", 148.0)):
        before[key] = value
    with pytest.raises(CardError, match=r"charged_pt_count_gev = 0.09 .*tracking.pt_min_gev"):
        check_multiplicity("tautau", before, DetectorConfig())
    before["charged_pt_count_gev"] = 0.1
    with pytest.raises(CardError, match=r"count_vertex_r_max_cm = 0.0 .*r >= 60 cm"):
        check_multiplicity("tautau", before, DetectorConfig())
    before["count_vertex_r_max_cm"] = 60.0
    check_multiplicity("tautau", before, DetectorConfig())  # the tracker's own limits: safe


@pytest.mark.parametrize(("tracking", "message"), [
    ({"theta_min_deg": 19.0}, r"count_theta_min_deg = 18.0 .*tracking.theta_min_deg"),
    ({"theta_max_deg": 147.0}, r"count_theta_max_deg = 148.0 .*tracking.theta_max_deg"),
    ({"pt_min_gev": 0.11}, r"charged_pt_count_gev = 0.102 .*tracking.pt_min_gev"),
    ({"max_vertex_r_cm": 50.0}, r"count_vertex_r_max_cm = 60.0 .*tracking.max_vertex_r_cm"),
    ({"efficiency": 0.98}, r"max_charged = 3 .* 0.00234 of which lose 2 .*tracking.efficiency"),
])
def test_multiplicity_against_a_narrower_tracker_fails(tracking, message):
    with pytest.raises(CardError, match=r"sample 'tautau': cuts." + message):
        check_cuts("tautau", cuts("tautau"), det(tracking=tracking), SELECTION)


def test_track_loss_probability_is_the_binomial_tail():
    q = 0.01  # 4 tracks, at least 2 lost: 1 - P(0 lost) - P(1 lost)
    assert track_loss_probability(4, 1.0 - q, 2) == pytest.approx(
        1.0 - (1.0 - q) ** 4 - 4.0 * q * (1.0 - q) ** 3, rel=1e-9)
    assert track_loss_probability(4, 1.0 - q, 2) < P_TRACK_LOSS  # the default card's case
    assert track_loss_probability(5, 0.98, 3) == pytest.approx(
        10 * 0.02**3 * 0.98**2 + 5 * 0.02**4 * 0.98 + 0.02**5, rel=1e-9)
    assert track_loss_probability(3, 0.9, 0) == pytest.approx(1.0)
    # more counted tracks make the hole smaller: max_charged = 4 survives efficiency 0.98
    check_multiplicity("tautau", {**cuts("tautau"), "max_charged": 4},
                       det(tracking={"efficiency": 0.98}))
    with pytest.raises(CardError, match=r"max_charged = 1 drops events with the 2 found tracks"):
        check_multiplicity("tautau", {**cuts("tautau"), "max_charged": 1}, DetectorConfig())


@pytest.mark.parametrize(("lo", "hi", "covers", "left"), [
    (0.0, 10.0, [], 10.0), (0.0, 10.0, [(-1.0, 11.0)], 0.0), (0.0, 10.0, [(2.0, 4.0)], 8.0),
    (0.0, 10.0, [(3.0, 6.0), (2.0, 4.0)], 6.0), (0.0, 10.0, [(5.0, 20.0), (-5.0, 1.0)], 4.0),
    (31.4, 32.2, [(30.1, 33.5)], 0.0), (31.4, 32.2, [(31.5, 33.5)], 0.1),
])
def test_uncovered_length(lo, hi, covers, left):
    assert uncovered(lo, hi, covers) == pytest.approx(left, abs=1e-12)


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


# ---------------------------------------------- bhabha, gammagamma, four_lepton (cards in memory)
def process_cuts(process: str, table: dict) -> dict:
    from gen.cards import parse_table
    from gen.processes import get_process

    return parse_table(table, get_process(process).cuts, f"{process} [cuts]")


BHABHA = {"theta_min_deg": 10.0, "theta_max_deg": 170.0, "e_min_gev": 0.15}


def test_cm_images_match_the_boost_formulae():
    """Head-on beams: cos(theta*) = (cos - beta)/(1 - beta cos), E* = gamma E (1 - beta cos)
    (PDG RPP, Kinematics); with the crossing angle: the invariants (a.P)/sqrt(s) = E* and
    cos(theta*) = 1 - (a.k)/(E*_a E*_k) with k the e- beam."""
    theta = np.array([12.4, 17.0, 90.0, 150.0, 155.1])
    head_on = Beams(half_crossing_angle_rad=0.0)
    angle, e_cm = _cm_images(head_on, theta, n_phi=7)
    em, ep = head_on.nominal_four_momenta()
    tot = em + ep
    beta = tot[2] / tot[3]
    gamma = 1.0 / np.sqrt(1.0 - beta**2)
    c = np.cos(np.radians(theta))[:, None]
    np.testing.assert_allclose(np.cos(np.radians(angle)),
                               (c - beta) / (1.0 - beta * c) * np.ones((1, 7)), atol=1e-12)
    np.testing.assert_allclose(e_cm, gamma * (1.0 - beta * c) * np.ones((1, 7)), rtol=1e-12)

    beams = Beams()
    angle, e_cm = _cm_images(beams, theta, n_phi=9)
    em, ep = beams.nominal_four_momenta()
    tot = em + ep
    sqrt_s = beams.sqrt_s_gev
    phi = np.linspace(0.0, 2.0 * np.pi, 9)
    th = np.radians(theta)[:, None]
    a = np.stack(np.broadcast_arrays(np.sin(th) * np.cos(phi), np.sin(th) * np.sin(phi),
                                     np.cos(th), np.ones_like(th * phi)), axis=-1)

    def dot(x, y):
        return x[..., 3] * y[..., 3] - (x[..., :3] * y[..., :3]).sum(-1)

    e_a = dot(a, tot) / sqrt_s
    np.testing.assert_allclose(e_cm, e_a, rtol=1e-12)
    e_k = dot(em, tot) / sqrt_s
    # the e- beam's own c.m. direction is that of a massive particle: m_e^2/E^2 ~ 1e-8
    np.testing.assert_allclose(np.cos(np.radians(angle)), 1.0 - dot(a, em) / (e_a * e_k),
                               atol=1e-7)
    assert np.ptp(angle[0]) > 1.0  # the crossing angle makes the azimuth matter (deg)


def test_bhabha_cuts_safe_for_the_two_muon_selection_not_for_the_bare_detector():
    c = process_cuts("bhabha", BHABHA)
    check_cuts("bhabha", c, DetectorConfig(), SELECTION, "bhabha", beams=Beams())
    # without muon ID an e+- needs only a track (pT > 0.1 GeV) or a cluster: E* < 0.15 GeV
    with pytest.raises(CardError, match=r"'bhabha': cuts.e_min_gev = 0.15 \(c.m.\) drops e\+- "
                       r"the detector sees from 0.06.* GeV c.m. \(detector selection.cluster_e"):
        check_cuts("bhabha", c, DetectorConfig(), {**SELECTION, "muon_id_min": 0.3}, "bhabha",
                   beams=Beams())
    # a c.m. window narrower than the KLM x CDC image: head-on beams, 25 deg lab
    head_on = Beams(half_crossing_angle_rad=0.0)
    tot = sum(head_on.nominal_four_momenta())
    beta, c25 = tot[2] / tot[3], np.cos(np.radians(25.0))
    edge = np.degrees(np.arccos((c25 - beta) / (1.0 - beta * c25)))  # 32.8 deg
    with pytest.raises(CardError, match=rf"cuts.theta_min_deg = 35.0 \(c.m.\) drops e\+- the "
                       rf"detector sees down to {edge:.2f} deg c.m. \(detector "
                       r"pid.klm_theta_min_deg/tracking.theta_max_deg\)"):
        check_cuts("bhabha", {**c, "theta_min_deg": 35.0}, DetectorConfig(), SELECTION,
                   "bhabha", beams=head_on)
    check_cuts("bhabha", c, DetectorConfig(), SELECTION)  # no process given: key rules only


def test_gammagamma_cuts_against_the_ecl():
    c = process_cuts("gammagamma", BHABHA)
    with pytest.raises(CardError, match=r"'gammagamma': cuts.e_min_gev = 0.15 .*photons"):
        check_cuts("gammagamma", c, DetectorConfig(), SELECTION, "gammagamma", beams=Beams())
    loose = {**c, "e_min_gev": 0.005}  # below the cluster threshold's c.m. image: safe
    check_cuts("gammagamma", loose, DetectorConfig(), None, "gammagamma", beams=Beams())
    wide = det(calorimeter={"theta_fwd_min_deg": 6.0})  # 6 deg lab is ~8 deg c.m.
    with pytest.raises(CardError, match=r"theta_min_deg = 10.0 \(c.m.\) drops photons .*"
                       r"calorimeter.theta_fwd_min_deg"):
        check_cuts("gammagamma", loose, wide, None, "gammagamma", beams=Beams())


def test_four_lepton_counts_taus_before_their_decay():
    acceptance = process_cuts("four_lepton", {"min_charged": 2, "charged_theta_min_deg": 17.0,
                                              "charged_theta_max_deg": 150.0,
                                              "charged_p_min_gev": 0.1})
    params = {"final_state": "mumutautau"}
    with pytest.raises(CardError, match=r"'4l': cuts.charged_theta_min_deg = 17.0 .*counts taus "
                       r"before decay \(mumutautau\)"):
        check_cuts("4l", acceptance, DetectorConfig(), None, "four_lepton", params)
    check_cuts("4l", acceptance, DetectorConfig(), None, "four_lepton", {"final_state": "eeee"})
    everything = {**acceptance, "charged_theta_min_deg": 0.0, "charged_theta_max_deg": 180.0,
                  "charged_p_min_gev": 0.0}
    check_cuts("4l", everything, DetectorConfig(), None, "four_lepton", params)


# ---------------------------------------------------------------- b2dark simulate: warnings only
def _old_counting_card() -> str:
    """The tautau card with the counting of before issue 2 (charged window, pT 0.09, any r)."""
    lines = (CARDS / "samples" / "tautau.toml").read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith(
        ("count_", "charged_pt_count_gev"))) + "\n"


def test_detector_findings_of_an_events_file_are_warnings(tmp_path, caplog):
    old = tmp_path / "tautau_old.toml"
    old.write_text(_old_counting_card())
    path = tmp_path / "tautau.h5"
    _stub_events_file(path, old)
    process, params, stored, beams = card_of_events_file(path)
    assert (process, stored["count_theta_min_deg"], beams) == ("tautau", -1.0, Beams())
    with caplog.at_level(logging.WARNING, logger="b2dark"):
        found = detector_findings(path, DetectorConfig())
    assert [m.split(" = ")[0] for m in found] == [
        "sample 'tautau': cuts.count_theta_min_deg", "sample 'tautau': cuts.count_theta_max_deg",
        "sample 'tautau': cuts.charged_pt_count_gev", "sample 'tautau': cuts.count_vertex_r_max_cm"]
    assert len(caplog.records) == 4
    _stub_events_file(path, CARDS / "samples" / "tautau.toml")
    assert detector_findings(path, DetectorConfig()) == []
    assert detector_findings(tmp_path / "missing.h5", DetectorConfig()) == []  # left to simulate


def test_simulate_warns_before_simulating(tmp_path, caplog):
    from analysis.cli import main

    old = tmp_path / "tautau_old.toml"
    old.write_text(_old_counting_card())
    path = tmp_path / "tautau.h5"
    _stub_events_file(path, old)
    with caplog.at_level(logging.WARNING, logger="b2dark"):
        code = main(["simulate", str(path), "-o", str(tmp_path / "reco.h5")])
    assert code != 0  # the stub has no events: the simulation itself refuses it
    assert any("cuts.count_theta_min_deg" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "reco.h5").exists()
