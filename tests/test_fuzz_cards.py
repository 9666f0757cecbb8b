"""Fuzzing the card loaders and the command line: a malformed card never gives a traceback.

Issue 5. Hypothesis mutates valid cards of every kind -- sample cards of every registered process
(their schemas come from the Process classes, so new processes are covered automatically), the
search card and the detector card -- by dropping, renaming and adding keys, wrong types (bool vs
int, NaN, inf, huge and negative numbers, dates, tables for values and values for tables), moved
tables, a foreign process name, broken TOML syntax, duplicated keys, binary garbage, empty files,
byte-order marks and other encodings. Every card goes through its loader in-process (either it
loads, or it raises a one-line ``CardError`` naming a card file); a subset goes through
``analysis.cli.main`` (exit code 2, exactly one line on stderr naming the file, no traceback,
nothing written) and a handful through a real subprocess.

The profile is derandomized (tests/conftest.py). ``B2DARK_FUZZ_SCALE`` multiplies the number of
examples (default 1: ~1100 cards through the loaders, ~90 through the CLI, 6 subprocesses).
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.cli import main
from analysis.searches import zprime_invisible
from detector.config import DetectorConfig
from detector.reco_io import load_detector_card
from gen.cards import CardError, Param
from gen.processes import REGISTRY, get_process
from gen.runcard import load_sample

ROOT = Path(__file__).resolve().parents[1]
SCALE = float(os.environ.get("B2DARK_FUZZ_SCALE", "1"))
COUNTS: Counter = Counter()


def n_examples(n: int) -> int:
    return max(1, int(n * SCALE))


FUZZ = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
}


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    # visible with `pytest -s`: how many cards each target saw
    print(f"\nfuzzed cards: {dict(COUNTS)}; total {sum(COUNTS.values())}")


# ------------------------------------------------------------------ a small TOML writer

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def dumps(table: dict) -> str:
    """TOML text of ``table``: scalars first, then one [section] per sub-table."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    for k, v in table.items():
        if isinstance(v, dict):
            lines.append(f"[{_key(k)}]")
            lines += [f"{_key(kk)} = {_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def test_writer_round_trips():
    table = {"a": 1, "b": [1.5, "x\n\"y"], "c": {"d": float("inf"), "e": {"f": True}}}
    assert tomllib.loads(dumps(table)) == table


# ------------------------------------------------------------------ valid base cards


def _valid_value(p: Param):
    """A value inside the schema of a required key without a default."""
    if p.choices:
        return p.choices[0]
    if p.kind is bool:
        return True
    if p.kind is str:
        return "x"
    if p.kind is list:
        return []
    lo, hi = p.minimum, p.maximum
    if lo is not None and hi is not None:
        value = 0.5 * (lo + hi)
    elif lo is not None:
        value = lo + 1.0
    else:
        value = 1.0 if hi is None else hi - 1.0
    return int(math.ceil(value)) if p.kind is int else float(value)


def _schema_card(name: str, full: bool) -> dict:
    """A sample card of process ``name``: required keys only, or every key at its default."""
    cls = get_process(name)
    tables = {}
    for table_name, schema in (("process", cls.params), ("cuts", cls.cuts)):
        tables[table_name] = {
            k: (p.default if p.default is not None and not p.required else _valid_value(p))
            for k, p in schema.items()
            if full or p.required or p.default is None
        }
    return {"schema_version": 1, "sample": {"process": name, "events": 10, "seed": 3}, **tables}


def sample_bases() -> list[dict]:
    bases = [_schema_card(n, full) for n in sorted(REGISTRY) for full in (False, True)]
    for path in sorted((ROOT / "cards" / "samples").glob("*.toml")):
        bases.append(tomllib.loads(path.read_text()))
    return bases


SAMPLE_BASES = sample_bases()
SEARCH_BASE = tomllib.loads((ROOT / "cards" / "zprime_invisible.toml").read_text())
DETECTOR_BASE = tomllib.loads(DetectorConfig().to_toml())


@pytest.mark.parametrize("index", range(len(SAMPLE_BASES)))
def test_base_sample_cards_load(tmp_path, index):
    """The unmutated cards are valid: defaults of every process pass its own checks."""
    path = tmp_path / "base.toml"
    path.write_text(dumps(SAMPLE_BASES[index]))
    load_sample(path)


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory):
    """A copy of the search card's folder (the card names its sample cards relatively)."""
    d = tmp_path_factory.mktemp("search")
    (d / "samples").mkdir()
    for path in (ROOT / "cards" / "samples").glob("*.toml"):
        (d / "samples" / path.name).write_text(path.read_text())
    (d / "det.toml").write_text('[pid]\nmu_efficiency = 0.8\n')
    (d / "card.toml").write_text(dumps(SEARCH_BASE))
    zprime_invisible.load_card(d / "card.toml")  # the base is valid (and warms the loaders)
    return d


def test_base_detector_card_round_trips():
    assert DetectorConfig.from_toml(DETECTOR_BASE, "det.toml") == DetectorConfig()


# ------------------------------------------------------------------ mutations

SPECIAL_NUMBERS = [
    0, -1, 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**400, -(10**400),
    float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324, -0.0, 1e-300, 0.5,
    10.58, 10.3682, 5.29, 1e10,
]
LEAF = st.one_of(
    st.booleans(),
    st.sampled_from(SPECIAL_NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "1.0", "true", "mumu", "zprime_invisible", "\u00e9\u00df\u4e2d", "a\nb"]),
    st.sampled_from(list(REGISTRY) + ["bhabha", "MUMU", " mumu"]),
    st.datetimes(min_value=datetime.datetime(1000, 1, 1)),
    st.dates(min_value=datetime.date(1000, 1, 1)),
    st.times(),
)
VALUE = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=6), inner,
                                                     max_size=2)
    ),
    max_leaves=4,
)
KEY = st.one_of(
    st.text(min_size=1, max_size=10),
    st.sampled_from(
        ["mass_gev", "g_prime", "events", "seed", "lumi_fb", "process", "search", "sample",
         "tracking", "pid", "cuts", "beams", "schema_version", "name", "efficiency"]
    ),
)
TABLE_NAMES = ["sample", "process", "cuts", "beams", "search", "signal", "backgrounds",
               "selection", "fit", "systematics", "tracking", "calorimeter", "pid", "trigger",
               "schema_version"]


def _paths(table: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested table (tables and leaves)."""
    out = []
    for k, v in table.items():
        out.append((*prefix, k))
        if isinstance(v, dict):
            out += _paths(v, (*prefix, k))
    return out


def _parent(table: dict, path: tuple) -> dict:
    for k in path[:-1]:
        table = table[k]
    return table


def _tables(table: dict) -> list[tuple]:
    return [()] + [p for p in _paths(table) if isinstance(_parent(table, p)[p[-1]], dict)]


def mutate_table(data, table: dict) -> dict:
    """One to three structural mutations of a copy of ``table``."""
    table = copy.deepcopy(table)
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        paths = _paths(table)
        op = data.draw(
            st.sampled_from(["drop", "rename", "add", "retype", "retype", "move", "nest",
                             "process"]),
            label="op",
        )
        if op in ("drop", "rename", "retype", "move", "nest") and not paths:
            op = "add"
        if op == "add":
            where = data.draw(st.sampled_from(_tables(table)), label="table")
            parent = table
            for k in where:
                parent = parent[k]
            parent[data.draw(KEY, label="key")] = data.draw(VALUE, label="value")
            continue
        if op == "process":
            sample = table.get("sample")
            if isinstance(sample, dict):
                sample["process"] = data.draw(
                    st.sampled_from(list(REGISTRY) + ["nope", ""]), label="process"
                )
            else:
                table["search"] = {"name": "zprime_invisible"}
            continue
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = _parent(table, path), path[-1]
        if op == "drop":
            del parent[key]
        elif op == "rename":
            new = data.draw(
                st.sampled_from([key + "x", key[:-1], key.upper(), key + " ", "_" + key]),
                label="new_key",
            )
            if new:
                parent[new] = parent.pop(key)
        elif op == "retype":
            parent[key] = data.draw(VALUE, label="value")
        elif op == "move":  # the table or value goes under another top-level name
            value = parent.pop(key)
            table[data.draw(st.sampled_from(TABLE_NAMES), label="to")] = value
        elif op == "nest":
            parent[key] = [parent[key]] if data.draw(st.booleans()) else {"value": parent[key]}
    return table


def mutate_text(data, text: str) -> bytes:
    """Optionally break the TOML text itself: syntax, duplicates, encodings, garbage."""
    op = data.draw(
        st.sampled_from(["none", "none", "none", "truncate", "delete", "insert", "duplicate",
                         "garbage", "empty", "bom", "utf16", "latin1", "nul", "deep"]),
        label="text_op",
    )
    if op == "truncate" and text:
        text = text[: data.draw(st.integers(0, len(text) - 1), label="cut")]
    elif op == "delete" and text:
        i = data.draw(st.integers(0, len(text) - 1), label="at")
        text = text[:i] + text[i + 1:]
    elif op == "insert":
        i = data.draw(st.integers(0, len(text)), label="at")
        ch = data.draw(st.sampled_from(list("[]=\"'\n#{}.,\\") + ["\u2028", "\t"]), label="ch")
        text = text[:i] + ch + text[i:]
    elif op == "duplicate":
        lines = text.splitlines()
        if lines:
            i = data.draw(st.integers(0, len(lines) - 1), label="line")
            lines.insert(i, lines[i])
            text = "\n".join(lines)
    elif op == "garbage":
        return data.draw(st.binary(max_size=64), label="garbage")
    elif op == "empty":
        return b""
    elif op == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    elif op == "utf16":
        return text.encode("utf-16")
    elif op == "latin1":
        return ("# \u00e9t\u00e9\n" + text).encode("latin-1", errors="replace")
    elif op == "nul":
        return text.encode() + b"\x00"
    elif op == "deep":
        return (text + "x = " + "[" * 2000 + "]" * 2000 + "\n").encode()
    return text.encode()


def _one_line_naming(message: str, names: list[str]) -> None:
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert any(message.startswith(n) for n in names), (message, names)


def _load_outcome(load, path: Path, names: list[str]) -> bool:
    """Run a loader; True if the card was accepted, else check the one-line CardError."""
    try:
        load(path)
    except CardError as exc:
        _one_line_naming(str(exc), names)
        return False
    return True


# ------------------------------------------------------------------ loaders in-process


@settings(max_examples=n_examples(550), **FUZZ)
@given(data=st.data())
def test_fuzzed_sample_cards(data):
    base = data.draw(st.sampled_from(SAMPLE_BASES), label="base")
    table = mutate_table(data, base)
    raw = mutate_text(data, dumps(table))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "card.toml"
        path.write_bytes(raw)
        _load_outcome(load_sample, path, [str(path)])
    COUNTS["sample/loader"] += 1


@settings(max_examples=n_examples(250), **FUZZ)
@given(data=st.data())
def test_fuzzed_search_cards(search_dir, data):
    table = mutate_table(data, SEARCH_BASE)
    raw = mutate_text(data, dumps(table))
    path = search_dir / "fuzz.toml"
    path.write_bytes(raw)
    _load_outcome(zprime_invisible.load_card, path, [str(path)])
    COUNTS["search/loader"] += 1


@settings(max_examples=n_examples(250), **FUZZ)
@given(data=st.data())
def test_fuzzed_detector_cards(data):
    table = mutate_table(data, DETECTOR_BASE)
    raw = mutate_text(data, dumps(table))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "det.toml"
        path.write_bytes(raw)
        if _load_outcome(load_detector_card, path, [str(path)]):
            config = load_detector_card(path)
            # an accepted card writes a TOML text that reads back to the same configuration
            assert DetectorConfig.from_toml(tomllib.loads(config.to_toml()), "x") == config
    COUNTS["detector/loader"] += 1


def _cross_kind_cards(search_dir: Path) -> list[tuple[str, Path]]:
    return [
        ("sample", ROOT / "cards" / "samples" / "mumu.toml"),
        ("search", search_dir / "card.toml"),
        ("detector", search_dir / "det.toml"),
    ]


LOADERS = {
    "sample": load_sample,
    "search": zprime_invisible.load_card,
    "detector": load_detector_card,
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_card_of_another_kind_is_refused(search_dir, loader):
    for kind, path in _cross_kind_cards(search_dir):
        if kind == loader:
            continue
        with pytest.raises(CardError) as info:
            LOADERS[loader](path)
        _one_line_naming(str(info.value), [str(path)])
        if kind in ("sample", "search"):
            assert "this is a" in str(info.value) or "not a known" in str(info.value)
        COUNTS["cross-kind/loader"] += 1


# ------------------------------------------------------------------ the command line in-process


@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    """A tiny valid events file for `simulate --detector CARD`."""
    d = tmp_path_factory.mktemp("events")
    card = d / "sig.toml"
    card.write_text(
        '[sample]\nprocess = "mumu_zprime"\nevents = 50\nseed = 2\n'
        "[process]\nmass_gev = 2.0\nisr = false\n"
    )
    assert main(["generate", str(card), "-o", str(d / "ev.h5")]) == 0
    return d / "ev.h5"


def _cli_rejects(capsys, argv: list[str], folder: Path, names: list[str]) -> str:
    """main(argv) must exit 2 with one line naming a file, leaving ``folder`` unchanged."""
    before = sorted(p.name for p in folder.iterdir())
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("b2dark: error: "), err
    _one_line_naming(err.removeprefix("b2dark: error: ").rstrip("\n"), names)
    assert sorted(p.name for p in folder.iterdir()) == before
    return err


@settings(max_examples=n_examples(40), **FUZZ)
@given(data=st.data())
def test_fuzzed_cards_through_generate(capsys, data):
    base = data.draw(st.sampled_from(SAMPLE_BASES), label="base")
    raw = mutate_text(data, dumps(mutate_table(data, base)))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "card.toml"
        path.write_bytes(raw)
        assume(not _load_outcome(load_sample, path, [str(path)]))  # valid cards would generate
        _cli_rejects(capsys, ["generate", str(path), "-o", str(Path(d) / "ev.h5")], Path(d),
                     [str(path)])
    COUNTS["sample/cli"] += 1


@settings(max_examples=n_examples(25), **FUZZ)
@given(data=st.data())
def test_fuzzed_cards_through_run(search_dir, capsys, data):
    table = mutate_table(data, SEARCH_BASE)
    raw = mutate_text(data, dumps(table))
    path = search_dir / "fuzz.toml"
    path.write_bytes(raw)
    names = [str(path)]
    assume(not _load_outcome(zprime_invisible.load_card, path, names))
    command = data.draw(st.sampled_from(["run", "project"]), label="command")
    argv = [command, str(path), "-o", str(search_dir / "out")]
    if command == "project":
        argv += ["--lumi", "1000"]
    _cli_rejects(capsys, argv, search_dir, names)
    COUNTS["search/cli"] += 1


@settings(max_examples=n_examples(25), **FUZZ)
@given(data=st.data())
def test_fuzzed_cards_through_simulate(events_file, capsys, data):
    raw = mutate_text(data, dumps(mutate_table(data, DETECTOR_BASE)))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "det.toml"
        path.write_bytes(raw)
        assume(not _load_outcome(load_detector_card, path, [str(path)]))
        argv = ["simulate", str(events_file), "-o", str(Path(d) / "reco.h5"), "--detector",
                str(path)]
        _cli_rejects(capsys, argv, Path(d), [str(path)])
    COUNTS["detector/cli"] += 1


def test_unhashable_search_name_is_a_card_error(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text("[search]\nname = [1]\n")
    _cli_rejects(capsys, ["run", str(path), "-o", str(tmp_path / "out")], tmp_path, [str(path)])


def _foreign_files(d: Path, events_file: Path) -> dict[str, Path]:
    """Inputs that are not what the command expects."""
    data = events_file.read_bytes()
    files = {
        "truncated.h5": data[: len(data) // 2],
        "garbage.h5": bytes(range(256)) * 4,
        "empty.h5": b"",
        "card.h5": b'[sample]\nprocess = "mumu"\n',
    }
    out = {}
    for name, raw in files.items():
        (d / name).write_bytes(raw)
        out[name] = d / name
    with h5py.File(d / "foreign.h5", "w") as f:
        f["x"] = np.arange(3)
    out["foreign.h5"] = d / "foreign.h5"
    newer = d / "newer.h5"
    newer.write_bytes(data)
    with h5py.File(newer, "a") as f:
        f.attrs["format"] = "b2dark.events/2"
    out["newer.h5"] = newer
    return out


@pytest.mark.parametrize("command", ["simulate", "export", "card"])
def test_bad_events_files_fail_in_one_line(events_file, tmp_path, capsys, command):
    files = _foreign_files(tmp_path, events_file)
    for name, path in files.items():
        if command == "simulate":
            argv = ["simulate", str(path), "-o", str(tmp_path / "reco.h5")]
        elif command == "export":
            argv = ["export", str(path), "--to", "lhe", "-o", str(tmp_path / "ev.lhe")]
        else:  # an events file handed over as a card
            argv = ["generate", str(path), "-o", str(tmp_path / "ev.h5")]
        err = _cli_rejects(capsys, argv, tmp_path, [str(path)])
        if name == "newer.h5" and command != "card":
            assert "'b2dark.events/2' is not supported" in err
        COUNTS["files/cli"] += 1


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["generate", "{d}/missing.toml", "-o", "{d}/ev.h5"], ["{d}/missing.toml"]),
        (["generate", "{d}", "-o", "{d}/ev.h5"], ["{d}"]),
        (["generate", "{sig}", "-o", "{d}/no/such/folder/ev.h5"], ["{d}/no/such/folder"]),
        (["generate", "{mumu}", "-o", "{d}"], ["{d}"]),
        (["generate", "{search}", "-o", "{d}/ev.h5"], ["{search}"]),
        (["generate", "{det}", "-o", "{d}/ev.h5"], ["{det}"]),
        (["run", "{mumu}", "-o", "{d}/out"], ["{mumu}"]),
        (["run", "{det}", "-o", "{d}/out"], ["{det}"]),
        (["xsec", "{search}"], ["{search}"]),
        (["simulate", "{events}", "-o", "{d}/r.h5", "--detector", "{mumu}"], ["{mumu}"]),
        (["simulate", "{events}", "-o", "{d}/r.h5", "--detector", "{search}"], ["{search}"]),
        (["simulate", "{events}", "-o", "{d}/r.h5", "--detector", "{d}/none.toml"],
         ["{d}/none.toml"]),
    ],
)
def test_wrong_kind_of_input_fails_in_one_line(search_dir, events_file, tmp_path, capsys, argv,
                                               names):
    samples = ROOT / "cards" / "samples"
    subs = {"d": str(tmp_path), "mumu": str(samples / "mumu.toml"),
            "sig": str(samples / "zprime_invisible_signal.toml"),
            "search": str(search_dir / "card.toml"), "det": str(search_dir / "det.toml"),
            "events": str(events_file)}
    argv = [a.format(**subs) for a in argv]
    _cli_rejects(capsys, argv, tmp_path, [n.format(**subs) for n in names])
    COUNTS["kind/cli"] += 1


@pytest.mark.parametrize(
    "option",
    [["--seed", str(2**63)], ["--seed", "-1"], ["--events", "0"], ["--events", str(10**11)],
     ["--workers", "0"]],
)
def test_out_of_range_options_fail_in_one_line(tmp_path, capsys, option):
    card = ROOT / "cards" / "samples" / "zprime_invisible_signal.toml"
    capsys.readouterr()
    assert main(["generate", str(card), "-o", str(tmp_path / "ev.h5"), *option]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert option[0] in err
    assert list(tmp_path.iterdir()) == []


def test_interrupt_is_one_line_and_removes_partial_output(tmp_path, capsys, monkeypatch):
    import gen.generate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gen.generate, "generate_sample", interrupted)
    card = ROOT / "cards" / "samples" / "zprime_invisible_signal.toml"
    capsys.readouterr()
    assert main(["generate", str(card), "-o", str(tmp_path / "ev.h5")]) == 130
    assert capsys.readouterr().err.count("\n") == 1


def test_unexpected_exception_is_one_line(tmp_path, capsys, monkeypatch):
    """A bug still gives one line (exit 1), the traceback only with -v."""
    import gen.generate

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(gen.generate, "generate_sample", broken)
    card = ROOT / "cards" / "samples" / "zprime_invisible_signal.toml"
    capsys.readouterr()
    assert main(["generate", str(card), "-o", str(tmp_path / "ev.h5")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error: ZeroDivisionError" in err
    with pytest.raises(ZeroDivisionError):
        main(["-v", "generate", str(card), "-o", str(tmp_path / "ev.h5")])


# ------------------------------------------------------------------ a few real subprocesses


# children import the copy of b2dark this process imports (PYTHONPATH from tests/conftest.py),
# not the checkout's in their working directory: one numba cache, warm from this process
CHILD_ENV = dict(os.environ, PYTHONSAFEPATH="1")


def _b2dark(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env=CHILD_ENV, **kwargs,
    )


@pytest.mark.parametrize(
    "text",
    [
        "[sample\nprocess = 1",
        '[sample]\nprocess = "mumu_zprime"\nevents = 10\n[process]\nmass_gev = 10.4\n',
        '[sample]\nprocess = "mumu"\nevents = 10\nseed = 18446744073709551616\n',
        '[sample]\nprocess = "mumu"\nevents = 10\n[cuts]\nmu_theta_min_deg = nan\n',
        "\x00\x01\x02garbage",
    ],
)
def test_subprocess_reports_one_line(tmp_path, text):
    card = tmp_path / "card.toml"
    card.write_text(text)
    proc = _b2dark("generate", str(card), "-o", str(tmp_path / "ev.h5"))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert str(card) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.toml"]
    COUNTS["subprocess"] += 1


def test_sigint_exits_130_and_leaves_nothing(tmp_path):
    """Ctrl-C during generation: one line, exit 130, nothing at the output path.

    Work already done may stay in hidden files beside it (``.ev.h5.shards``, gen/shards.py: a
    restart reuses them); the output name itself never holds a partial file.
    """
    card = tmp_path / "card.toml"
    card.write_text(
        '[sample]\nprocess = "mumu_zprime"\nevents = 100000000\nseed = 1\n'
        "[process]\nmass_gev = 1.0\nisr = false\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "generate", str(card), "-o",
         str(tmp_path / "ev.h5")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV,
    )
    try:
        deadline = time.monotonic() + 120
        while len(list(tmp_path.iterdir())) < 2:  # generation has started writing
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "generation did not start"
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert err.count("\n") == 1
    assert "interrupted" in err
    assert not (tmp_path / "ev.h5").exists()
    assert all(p.name == "card.toml" or p.name.startswith(".ev.h5.") for p in tmp_path.iterdir())
