"""DetectorConfig: defaults, card overrides, validation errors, TOML round trip."""

from __future__ import annotations

import dataclasses

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.config import (
    CalorimeterConfig,
    DetectorConfig,
    PIDConfig,
    TrackingConfig,
    TriggerConfig,
)
from gen.cards import CardError

SECTIONS = {"tracking": TrackingConfig, "calorimeter": CalorimeterConfig, "pid": PIDConfig,
            "trigger": TriggerConfig}
# every documented source names one of these (or says it is an estimate)
SOURCE_WORDS = ("arXiv", "basf2", "TDR", "PB", "PDG", "estimate", "Belle", "same source", "see a")


def test_default_round_trips_through_toml():
    config = DetectorConfig()
    assert DetectorConfig.from_toml(tomllib.loads(config.to_toml()), "card") == config


def test_every_parameter_cites_a_source():
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            doc = f.metadata["param"].doc
            assert any(word in doc for word in SOURCE_WORDS), f"{cls.__name__}.{f.name}: {doc}"


def test_override_changes_only_that_parameter():
    config = DetectorConfig.from_toml({"tracking": {"sigma_pt_b": 0.003, "b_field_t": 2}}, "card")
    assert config.tracking.sigma_pt_b == 0.003
    assert config.tracking.b_field_t == 2.0
    assert isinstance(config.tracking.b_field_t, float)
    assert config.calorimeter == CalorimeterConfig()
    assert config.tracking.sigma_pt_a_per_gev == TrackingConfig().sigma_pt_a_per_gev


def test_unknown_section_names_key_and_lists_allowed():
    with pytest.raises(CardError, match=r"card: unknown key 'trackng'.*tracking"):
        DetectorConfig.from_toml({"trackng": {}}, "card")


def test_unknown_parameter_names_key_and_lists_allowed():
    with pytest.raises(CardError, match=r"card\.pid: unknown key 'muon_eff'.*mu_efficiency"):
        DetectorConfig.from_toml({"pid": {"muon_eff": 0.9}}, "card")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tracking": {"efficiency": 1.5}}, r"card\.tracking\.efficiency: must be <= 1"),
        ({"tracking": {"efficiency": "high"}}, r"card\.tracking\.efficiency: expected float"),
        ({"tracking": {"b_field_t": 0.0}}, r"card\.tracking\.b_field_t: must be > 0"),
        ({"trigger": {"fff_min_tracks": 2.5}}, r"fff_min_tracks: expected an integer"),
        ({"calorimeter": {"decay_pi0": 1}}, r"decay_pi0: expected true or false"),
        ({"tracking": {"theta_min_deg": 151.0}}, r"theta_min_deg: must be < theta_max_deg"),
        ({"pid": {"pi_to_mu": 0.5, "pi_to_k": 0.6}}, r"pion identification probabilities"),
        ({"pid": {"mu_working_point": 0.5}}, r"mu_working_point: must be > 0.5"),
        ({"calorimeter": {"theta_brl_min_deg": 20.0}}, r"ECL edges must increase"),
        ({"schema_version": 2}, r"schema_version: must be 1"),
        ({"tracking": 3}, r"card\.tracking: expected a table"),
    ],
)
def test_invalid_values_raise_card_error(table, message):
    with pytest.raises(CardError, match=message):
        DetectorConfig.from_toml(table, "card")


def test_direct_construction_is_validated():
    with pytest.raises(CardError, match="theta_min_deg"):
        DetectorConfig(tracking=TrackingConfig(theta_min_deg=160.0))


@settings(max_examples=40, deadline=None)
@given(
    eff=st.floats(0.0, 1.0),
    sigma=st.floats(0.0, 0.1),
    thr=st.floats(0.0, 10.0),
    veto=st.booleans(),
    n=st.integers(1, 100),
)
def test_random_overrides_round_trip(eff, sigma, thr, veto, n):
    table = {
        "tracking": {"efficiency": eff, "sigma_pt_b": sigma},
        "calorimeter": {"cluster_threshold_gev": thr},
        "trigger": {"bhabha_veto": veto, "fff_min_tracks": n},
    }
    config = DetectorConfig.from_toml(table, "card")
    again = DetectorConfig.from_toml(tomllib.loads(config.to_toml()), "card")
    assert again == config
    assert again.tracking.efficiency == eff
    assert again.trigger.fff_min_tracks == n


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"sample": {"process": "mumu"}}, "this is a sample card"),
        ({"search": {"name": "zprime_invisible"}}, "this is a search card"),
        ({"trigger": {"fff_min_tracks": 2**64}}, "64-bit integer"),
        ({"tracking": {"b_field_t": 10**400}}, "finite number"),
        ({"schema_version": True}, "expected an integer"),
        ({"pid": {"mu_efficiency": float("nan")}}, "finite number"),
    ],
)
def test_foreign_cards_and_huge_numbers_are_card_errors(table, message):
    with pytest.raises(CardError, match=message) as info:
        DetectorConfig.from_toml(table, "det.toml")
    assert str(info.value).startswith("det.toml")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("key", ["photon_efficiency_fwd", "photon_efficiency_brl",
                                 "photon_efficiency_bwd"])
def test_photon_efficiency_from_card_and_its_range(key):
    assert getattr(DetectorConfig().calorimeter, key) == 1.0
    cfg = DetectorConfig.from_toml({"calorimeter": {key: 0.95}}, "card")
    assert getattr(cfg.calorimeter, key) == 0.95
    assert DetectorConfig.from_toml(tomllib.loads(cfg.to_toml()), "card") == cfg
    for bad in (1.2, -0.1, "high"):
        with pytest.raises(CardError, match=f"card.calorimeter.{key}"):
            DetectorConfig.from_toml({"calorimeter": {key: bad}}, "card")
