"""The pilot's results from the disk cache (gen/pilotcache.py) give the same events, bit for bit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import gen.shards
from gen import pilotcache
from gen.beams import Beams
from gen.events import EventChunk, SamplingStats
from gen.generate import generate_sample, prepare
from gen.pilotcache import CACHE_NAME, prepare_cached
from gen.processes.base import Process
from gen.runcard import load_sample
from gen.streams import GENERATION, stream

CARDS = Path(__file__).resolve().parents[2] / "cards" / "samples"
#: pilot trials of the per-process checks (short: the pilot's result, not its quality, is tested)
POINTS = 20_000


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("B2DARK_CACHE_DIR", str(folder))
    monkeypatch.delenv("B2DARK_PILOT_CACHE", raising=False)
    return folder


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{CACHE_NAME}-*.npz"))


def _same_chunk(a: EventChunk, b: EventChunk) -> bool:
    return (np.array_equal(a.offset, b.offset) and np.array_equal(a.weight, b.weight)
            and set(a.particles) == set(b.particles) and set(a.truth) == set(b.truth)
            and all(np.array_equal(a.particles[k], b.particles[k]) for k in a.particles)
            and all(np.array_equal(a.truth[k], b.truth[k]) for k in a.truth))


def _events(proc: Process, seed: int, n: int = 200) -> tuple[EventChunk, SamplingStats]:
    return proc.generate(stream(seed, GENERATION, 0), n)


@pytest.mark.parametrize(
    "name",
    ["zprime_invisible_signal", "mumu", "tautau", "eemumu", "bhabha", "gammagamma",
     # slower pilots (adaptive channels, string fragmentation tables)
     *(pytest.param(n, marks=pytest.mark.validation)
       for n in ("qqbar", "bbbar", "four_lepton_eeee", "four_lepton_eemumu_search_weighted"))],
)
def test_hit_gives_the_same_state_and_events(name, cache):
    card = load_sample(CARDS / f"{name}.toml")
    ran = card.build()
    assert not prepare_cached(ran, card.seed, POINTS)
    assert len(_entries(cache)) == 1
    loaded = card.build()
    assert prepare_cached(loaded, card.seed, POINTS)
    # every attribute the same, also its type (numba specialises kernels on it) and bits
    assert {k: type(v) for k, v in vars(loaded).items()} == {
        k: type(v) for k, v in vars(ran).items()}
    assert pilotcache._state(loaded) == pilotcache._state(ran)
    assert repr(loaded.w_max) == repr(ran.w_max)
    (c1, s1), (c2, s2) = _events(ran, card.seed), _events(loaded, card.seed)
    assert s1 == s2
    assert _same_chunk(c1, c2)


def _datasets(path: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda k, o: out.__setitem__(k, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
        out["attrs"] = {k: repr(v) for k, v in f.attrs.items()}
    return out


def test_files_are_identical_with_empty_and_filled_cache(tmp_path, cache):
    card = load_sample(CARDS / "zprime_invisible_signal.toml")
    files = [tmp_path / f"ev{i}.h5" for i in range(2)]
    for path in files:
        generate_sample(card, path, events=300)
    assert len(_entries(cache)) == 1  # the first run stored it, the second used it
    a, b = (_datasets(p) for p in files)
    assert a.keys() == b.keys()
    assert a.pop("attrs") == b.pop("attrs")
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert np.array_equal(a[k], b[k]), k
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]
    assert digests[0] == digests[1]


def test_cache_can_be_turned_off(cache, monkeypatch):
    monkeypatch.setenv("B2DARK_PILOT_CACHE", "0")
    card = load_sample(CARDS / "bhabha.toml")
    prepare(card, POINTS)
    assert not _entries(cache)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "foreign", "empty"])
def test_unreadable_entry_runs_the_pilot(damage, cache):
    card = load_sample(CARDS / "mumu.toml")
    ran = card.build()
    prepare_cached(ran, card.seed, POINTS)
    (entry,) = _entries(cache)
    if damage == "truncate":
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    elif damage == "garbage":
        entry.write_bytes(b"not a zip file" * 100)
    elif damage == "empty":
        entry.write_bytes(b"")
    else:  # a valid entry of another key under this file name
        other = card.build()
        prepare_cached(other, card.seed + 1, POINTS)
        (new,) = [p for p in _entries(cache) if p != entry]
        new.replace(entry)
    again = card.build()
    assert not prepare_cached(again, card.seed, POINTS)  # ran the pilot
    assert pilotcache._state(again) == pilotcache._state(ran)
    assert prepare_cached(card.build(), card.seed, POINTS)  # and repaired the entry


def test_bad_stored_state_runs_the_pilot(cache, monkeypatch):
    """An entry whose state cannot be decoded (e.g. written by other code) is not used."""
    card = load_sample(CARDS / "bhabha.toml")
    ran = card.build()
    prepare_cached(ran, card.seed, POINTS)
    monkeypatch.setattr(pilotcache, "_decode", lambda *a: 1 / 0)
    again = card.build()
    assert not prepare_cached(again, card.seed, POINTS)
    assert repr(again.w_max) == repr(ran.w_max)


def test_key_holds_what_the_pilot_depends_on(cache, monkeypatch):
    card = load_sample(CARDS / "bhabha.toml")
    proc = card.build()
    base = pilotcache.pilot_key(proc, card.seed, POINTS)
    assert pilotcache.pilot_key(proc, card.seed + 1, POINTS) != base
    assert pilotcache.pilot_key(proc, card.seed, POINTS + 1) != base
    other_beams = card.replace(beams=Beams(e_her_gev=7.1)).build()
    assert pilotcache.pilot_key(other_beams, card.seed, POINTS) != base
    # a code change, another numpy / numba or CPU: another key, so the pilot runs again
    prepare_cached(proc, card.seed, POINTS)
    monkeypatch.setattr(pilotcache, "runtime_key", lambda: {"numba": "other"})
    assert not prepare_cached(card.build(), card.seed, POINTS)
    monkeypatch.setattr(gen.shards, "code_digest", lambda *a: "edited")
    assert not prepare_cached(card.build(), card.seed, POINTS)
    assert len(_entries(cache)) == 3


class _Toy(Process):
    """A process whose pilot changes an array in place, adds attributes and drops one."""

    name = "toy"
    description = "test"

    def __init__(self, keep_rng: bool = False) -> None:
        super().__init__({"x": 1.0}, {}, Beams())
        self.grid = np.zeros(5)
        self.scratch = "dropped by the pilot"
        self.keep_rng = keep_rng

    def trial_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random(n)

    def generate(self, rng, n):  # pragma: no cover - not used
        raise NotImplementedError

    def prepare(self, rng: np.random.Generator, points: int = 100) -> None:
        super().prepare(rng, points)
        self.grid += rng.random(5)  # in place
        self.shares = (np.float32(0.25), [1, 2.5, None], {"a": np.arange(3)})
        self.stats = SamplingStats(3, 1.5, 2.5, 0)
        ro = np.ones(2)
        ro.flags.writeable = False
        self.ro = ro
        del self.scratch
        if self.keep_rng:
            self.rng = rng


def test_generic_state_round_trip(cache):
    ran, loaded = _Toy(), _Toy()
    assert not prepare_cached(ran, 5, 100)
    assert prepare_cached(loaded, 5, 100)
    assert pilotcache._state(loaded) == pilotcache._state(ran)
    assert not hasattr(loaded, "scratch")
    assert type(loaded.shares[0]) is np.float32
    assert isinstance(loaded.stats, SamplingStats)
    assert loaded.stats == ran.stats
    assert not loaded.ro.flags.writeable
    assert np.array_equal(loaded.grid, ran.grid)
    assert loaded.grid.any()


def test_state_that_cannot_be_stored_is_not_cached(cache):
    """A process that keeps an object we cannot store (here its random generator) runs its
    pilot every time."""
    assert not prepare_cached(_Toy(keep_rng=True), 5, 100)
    assert not _entries(cache)
    assert not prepare_cached(_Toy(keep_rng=True), 5, 100)


def test_log_says_where_each_pilot_came_from(cache, caplog):
    """``b2dark -v`` shows for every pilot whether it ran (and was stored or why not) or came
    from the cache: a README run's log accounts for its pilot time."""
    caplog.set_level("INFO", logger="b2dark")
    prepare_cached(_Toy(), 5, 100)
    prepare_cached(_Toy(), 5, 100)
    prepare_cached(_Toy(keep_rng=True), 6, 100)  # (seed 5: served by the entry above)
    lines = [r.getMessage() for r in caplog.records if r.name == "b2dark"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("pilot of toy: ran (")
    assert lines[0].endswith("stored in the cache")
    assert lines[1] == "pilot of toy: from the cache"
    assert "not cached: state Generator cannot be stored" in lines[2]


_CHILD = """
import json, sys
import gen
from gen.diskcache import load_arrays
from gen.pilotcache import CACHE_NAME, pilot_key
from gen.runcard import load_sample
card = load_sample(sys.argv[1])
key = pilot_key(card.build(), card.seed, int(sys.argv[2]))
print(json.dumps({"file": gen.__file__, "hit": load_arrays(CACHE_NAME, key) is not None,
                  "key": key}))
"""


def test_entry_is_found_by_another_interpreter_on_a_copy_of_the_sources(tmp_path, cache,
                                                                      monkeypatch):
    """A later run is served whatever varies between runs: another interpreter (another
    hash seed: set and dict orders), the package imported from another folder (an installed
    copy in site-packages vs the checkout), another working directory. Only the key's inputs
    (card, seed, trial count, source digest, versions, CPU) make a new entry. (~3 s of CPU,
    mostly the child's imports.)

    Both sides digest a snapshot of the sources in two folders (a checkout edited meanwhile,
    as in a shared working tree, would otherwise change the digest between them): this
    process's key takes ``gen.shards.code_digest`` of the first copy, the child imports the
    second one."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    import types

    import gen as gen_package

    # the child would build the vacuum-polarisation tables (gen.vacpol) in this empty cache
    # with the copy's cold numba cache: seconds; from here they take ~0.05 s
    from gen.vacpol import _load_tables

    _load_tables()
    snapshot = tmp_path / "a" / "gen"
    shutil.copytree(Path(gen_package.__file__).parent, snapshot,
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    copy = tmp_path / "b" / "gen"
    shutil.copytree(snapshot, copy)
    stand_in = types.ModuleType("b2dark_gen_snapshot")
    stand_in.__file__ = str(snapshot / "__init__.py")
    monkeypatch.setitem(sys.modules, stand_in.__name__, stand_in)
    real_digest = gen.shards.code_digest
    monkeypatch.setattr(gen.shards, "code_digest", lambda *_: real_digest(stand_in.__name__))
    card_path = CARDS / "gammagamma.toml"
    card = load_sample(card_path)
    proc = card.build()
    assert not prepare_cached(proc, card.seed, POINTS)
    parent_key = json.loads(json.dumps(pilotcache.pilot_key(proc, card.seed, POINTS)))
    env = {**os.environ, "PYTHONPATH": str(copy.parent), "PYTHONSAFEPATH": "1",
           "PYTHONHASHSEED": "12345", "B2DARK_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(card_path), str(POINTS)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    child = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(child["file"]).parent == copy  # the copy, not the checkout or site-packages
    assert child["key"] == parent_key, {k: (child["key"].get(k), v) for k, v in
                                        parent_key.items() if child["key"].get(k) != v}
    assert child["hit"]
