"""Card validation: types, ranges, unknown keys, malformed TOML; messages name file and key."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gen.cards import CardError, Param, parse_table, read_toml

SCHEMA = {
    "mass_gev": Param(float, required=True, minimum=0.0, exclusive_minimum=True, doc="mass"),
    "events": Param(int, 10, minimum=1, doc="events"),
    "isr": Param(bool, True, doc="radiation"),
    "mode": Param(str, "invisible", choices=("invisible", "mumu"), doc="mode"),
}


def test_defaults_and_int_to_float():
    out = parse_table({"mass_gev": 1}, SCHEMA, "card.toml [process]")
    assert out == {"mass_gev": 1.0, "events": 10, "isr": True, "mode": "invisible"}
    assert isinstance(out["mass_gev"], float)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (
            {"mass_gev": 1.0, "mas": 2},
            r"unknown key 'mas'; allowed keys: events, isr, mass_gev, mode",
        ),
        ({}, r"missing required key 'mass_gev'"),
        ({"mass_gev": -1.0}, r"mass_gev: must be > 0.0"),
        ({"mass_gev": 0.0}, r"mass_gev: must be > 0.0"),
        ({"mass_gev": "1"}, r"mass_gev: expected float"),
        ({"mass_gev": float("nan")}, r"finite"),
        ({"mass_gev": 1.0, "events": 0}, r"events: must be >= 1"),
        ({"mass_gev": 1.0, "events": 1.5}, r"events: expected an integer"),
        ({"mass_gev": 1.0, "events": True}, r"events: expected an integer"),
        ({"mass_gev": 1.0, "isr": 1}, r"isr: expected true or false"),
        ({"mass_gev": 1.0, "mode": "ee"}, r"'ee' is not one of"),
    ],
)
def test_bad_values_name_the_key(table, match):
    with pytest.raises(CardError, match=match) as info:
        parse_table(table, SCHEMA, "card.toml [process]")
    assert str(info.value).startswith("card.toml [process]")
    assert "\n" not in str(info.value)


def test_malformed_and_missing_files(tmp_path):
    with pytest.raises(CardError, match="no such card file"):
        read_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sample\nprocess = 1")
    with pytest.raises(CardError, match="malformed TOML"):
        read_toml(bad)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(),
            st.text(max_size=5),
            st.booleans(),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
def test_fuzzed_tables_raise_only_card_errors(table):
    message = ""
    try:
        parse_table(table, SCHEMA, "fuzz")
    except CardError as exc:
        message = str(exc)
    assert "\n" not in message
