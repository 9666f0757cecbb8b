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


@pytest.mark.parametrize(
    ("table", "match"),
    [
        # tomllib returns arbitrary-precision integers: out of int64 / float range is an error
        ({"mass_gev": 10**400}, r"mass_gev: expected a finite number"),
        ({"mass_gev": 1.0, "events": 2**63}, r"events: must be a 64-bit integer"),
        ({"mass_gev": 1.0, "events": -(2**63) - 1}, r"events: must be a 64-bit integer"),
        ({"mass_gev": 1.0, "mode": "x" * 10_000}, r"'xxx.*\.\.\. is not one of"),
    ],
)
def test_huge_values_give_short_card_errors(table, match):
    with pytest.raises(CardError, match=match) as info:
        parse_table(table, SCHEMA, "card.toml [process]")
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"\xff\xfe[\x00s\x00", r"not a UTF-8 text file"),
        (b"a = " + b"[" * 5000 + b"]" * 5000, r"malformed TOML"),
        (b"a = 1\na = 2\n", r"malformed TOML"),
    ],
)
def test_unreadable_card_files(tmp_path, raw, match):
    path = tmp_path / "card.toml"
    path.write_bytes(raw)
    with pytest.raises(CardError, match=match) as info:
        read_toml(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_a_folder_or_nul_path_is_not_a_card(tmp_path):
    with pytest.raises(CardError, match="is a folder"):
        read_toml(tmp_path)
    with pytest.raises(CardError, match="cannot read card"):
        read_toml(str(tmp_path / "a\x00b.toml"))


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "card.toml"
    path.write_bytes(b"\xef\xbb\xbfa = 1\n")
    assert read_toml(path)[0] == {"a": 1}


SAMPLE = '[sample]\nprocess = "mumu_zprime"\n{extra}\n[process]\nmass_gev = 1.0\n'


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("events = 10000000001", r"events: must be <= 10000000000"),
        ("lumi_fb = 1.0e6", r"lumi_fb: must be <= 100000"),
        ("events = 10\nseed = 9223372036854775808", r"seed: must be a 64-bit integer"),
        ("events = 10\nseed = -1", r"seed: must be >= 0"),
        ("events = 10\n[detector]", r"unknown table or key 'detector'"),
    ],
)
def test_sample_card_limits(tmp_path, extra, match):
    from gen.runcard import load_sample

    path = tmp_path / "card.toml"
    path.write_text(SAMPLE.format(extra=extra))
    with pytest.raises(CardError, match=match):
        load_sample(path)


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "2"])
def test_schema_version_must_be_the_integer_1(tmp_path, version):
    from gen.runcard import load_sample

    path = tmp_path / "card.toml"
    path.write_text(f"schema_version = {version}\n" + SAMPLE.format(extra="events = 10"))
    with pytest.raises(CardError, match="schema_version"):
        load_sample(path)


def test_a_detector_card_given_as_sample_card_says_so(tmp_path):
    from gen.runcard import load_sample

    path = tmp_path / "det.toml"
    path.write_text("[pid]\nmu_efficiency = 0.8\n")
    with pytest.raises(CardError, match="this is a detector card"):
        load_sample(path)
