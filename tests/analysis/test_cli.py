"""The b2dark command line end to end on tiny cards: outputs, determinism, one-line errors."""

import json
import os

import h5py
import numpy as np
import pytest

from analysis.cli import main

# children import the copy of b2dark this process imports (PYTHONPATH from tests/conftest.py),
# not the working directory's: one numba cache, already warm from the in-process runs
CHILD_ENV = dict(os.environ, PYTHONSAFEPATH="1")

SIGNAL = """schema_version = 1
[sample]
process = "mumu_zprime"
events = {events}
seed = 5
[process]
mass_gev = {mass}
g_prime = 1.0e-3
"""


@pytest.fixture
def card(tmp_path):
    path = tmp_path / "sig.toml"
    path.write_text(SIGNAL.format(events=20000, mass=1.0))
    return path


def _datasets(path):
    out = {}
    with h5py.File(path) as f:
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
        attrs = dict(f.attrs)
    return out, attrs


def test_same_seed_same_events_for_1_and_2_workers(card, tmp_path, capsys):
    import subprocess
    import sys

    assert main(["generate", str(card), "-o", str(tmp_path / "a.h5")]) == 0
    # 2 workers: a local Dask cluster, started in a child process to keep its threads and
    # worker processes out of this one
    two = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "generate", str(card), "-o", str(tmp_path / "b.h5")]
        + ["--workers", "2", "--chunk-blocks", "1"],
        capture_output=True,
        text=True,
        env=CHILD_ENV,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr
    a, attrs_a = _datasets(tmp_path / "a.h5")
    b, attrs_b = _datasets(tmp_path / "b.h5")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert attrs_a["cross_section_pb"] == attrs_b["cross_section_pb"]
    assert attrs_a["n_events"] == 20000
    # a different seed gives different events
    assert main(["generate", str(card), "-o", str(tmp_path / "c.h5"), "--seed", "6"]) == 0
    c, _ = _datasets(tmp_path / "c.h5")
    assert not np.array_equal(a["particles/px"], c["particles/px"])
    out = capsys.readouterr().out.splitlines()
    assert json.loads(out[0])["n_events"] == 20000


def test_simulate_export_and_xsec(card, tmp_path, capsys):
    ev, reco = tmp_path / "ev.h5", tmp_path / "reco.h5"
    assert main(["generate", str(card), "-o", str(ev), "--events", "2000"]) == 0
    assert main(["simulate", str(ev), "-o", str(reco)]) == 0
    with h5py.File(reco) as f:
        assert f.attrs["format"] == "b2dark.reco/1"
        assert f.attrs["n_events"] == 2000
        assert f["events/track_offset"].shape == (2001,)
        assert f["events/trigger"].dtype == np.uint32
        assert "[tracking]" in f.attrs["detector"]
    for fmt in ("lhe", "hepmc3"):
        out = tmp_path / f"ev.{fmt}"
        assert main(["export", str(ev), "--to", fmt, "-o", str(out)]) == 0
        assert out.stat().st_size > 0
    capsys.readouterr()
    assert main(["xsec", str(card), "--points", "20000"]) == 0
    xs = json.loads(capsys.readouterr().out)
    assert xs["cross_section_pb"] > 0
    assert xs["cross_section_err_pb"] > 0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (SIGNAL.format(events=10, mass=-1.0), "mass_gev: must be > 0.0"),
        (SIGNAL.format(events=10, mass=10.5), "mass_gev"),
        (SIGNAL.format(events=0, mass=1.0), "events > 0 or lumi_fb > 0"),
        (SIGNAL.format(events=10, mass=1.0) + "bogus = 1\n", "unknown key 'bogus'"),
        (
            SIGNAL.format(events=10, mass=1.0).replace("mumu_zprime", "nope"),
            "unknown process 'nope'",
        ),
        ("[sample\n", "malformed TOML"),
        ('[search]\nname = "zprime_invisible"\n', "this is a search card"),
    ],
)
def test_bad_cards_fail_in_one_line_and_write_nothing(tmp_path, capsys, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out.h5"
    assert main(["generate", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_and_truncated_inputs(card, tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "none.h5"), "-o", str(tmp_path / "r.h5")]) == 2
    assert "no such file" in capsys.readouterr().err
    ev = tmp_path / "ev.h5"
    assert main(["generate", str(card), "-o", str(ev), "--events", "500"]) == 0
    data = ev.read_bytes()
    ev.write_bytes(data[: len(data) // 3])
    assert main(["simulate", str(ev), "-o", str(tmp_path / "r.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "ev.h5" in err
    assert not (tmp_path / "r.h5").exists()
    assert main(["generate", str(card), "-o", str(tmp_path / "no" / "dir.h5")]) == 2
    assert main(["run", str(card)]) == 2
    assert "not a known search" in capsys.readouterr().err


def test_a_busy_output_folder_is_refused(tmp_path):
    import os
    import subprocess
    import sys

    from analysis.lock import locked

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".b2dark.lock").write_text(str(holder.pid))
        busy = pytest.raises(RuntimeError, match="in use by another b2dark process")
        with busy, locked(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    # a stale lock (dead pid) is taken over and released
    with locked(tmp_path):
        assert (tmp_path / ".b2dark.lock").read_text() == str(os.getpid())
    assert not (tmp_path / ".b2dark.lock").exists()


def test_the_command_line_leaves_out_what_it_does_not_use(card, tmp_path):
    """Warm start-up (issue 4): `b2dark generate` runs kernels without numba loading vector's
    extension (which imports sympy) and, off a terminal, without tqdm; with every kernel in the
    on-disk cache (the library run before fills it) without numba's typing and lowering
    registries (gen.startup.defer_numba_registries); the events are the same as from the
    library, which loads them all."""
    import subprocess
    import sys

    from gen.generate import generate_sample
    from gen.runcard import load_sample

    generate_sample(load_sample(card), tmp_path / "lib.h5", events=3000)
    code = (
        "import sys\n"
        "from analysis.cli import main\n"
        f"assert main(['generate', {str(card)!r}, '-o', {str(tmp_path / 'cli.h5')!r},"
        " '--events', '3000']) == 0\n"
        "from numba.core import entrypoints\n"
        "print(sorted(m for m in ('vector', 'sympy', 'tqdm', 'numba.np.arraymath')"
        " if m in sys.modules), entrypoints._already_initialized)\n"
    )
    # twice: the 1st child compiles any kernel whose source changed after this process imported
    # it (no-op in a fixed tree); the 2nd must find them all in the on-disk cache
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=CHILD_ENV, timeout=600)
        assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[] True"
    a, attrs_a = _datasets(tmp_path / "cli.h5")
    b, attrs_b = _datasets(tmp_path / "lib.h5")
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert attrs_a["cross_section_pb"] == attrs_b["cross_section_pb"]


def test_numba_extensions_other_than_vector_still_load(monkeypatch):
    """gen.startup runs every `numba_extensions` hook but vector's, as numba would."""
    import importlib.metadata

    from gen import startup

    class FakeEntryPoint:
        def __init__(self, value, calls):
            self.value, self.module, self.calls = value, value.partition(":")[0], calls

        def load(self):
            return lambda: self.calls.append(self.value)

    calls: list[str] = []
    eps = [FakeEntryPoint("vector:register_numba", calls), FakeEntryPoint("other:init", calls)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: eps)
    from numba.core import entrypoints

    monkeypatch.setattr(entrypoints, "_already_initialized", False)
    assert startup.load_numba_extensions() == ["other:init"]
    assert calls == ["other:init"]
    assert entrypoints._already_initialized
    assert startup.load_numba_extensions() == []  # once per process, as numba's init_all


def test_help_imports_no_heavy_library():
    """`b2dark --help` and argument parsing stay light (issue 4): no numpy, numba, scipy, h5py,
    dask, matplotlib, iminuit, vector or particle; a sub-command's help still shows the chunk
    size from gen.streams."""
    import subprocess
    import sys

    from gen.streams import BLOCK_EVENTS, CHUNK_BLOCKS

    heavy = ("numpy", "numba", "scipy", "h5py", "dask", "distributed", "matplotlib", "iminuit",
             "vector", "particle", "decaylanguage")
    code = (
        "import sys\n"
        "from analysis.cli import build_parser, main\n"
        "build_parser().parse_args(['generate', 'card.toml', '-o', 'x.h5'])\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    env = CHILD_ENV
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    assert "usage: b2dark" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == "[]"
    sub = subprocess.run([sys.executable, "-m", "analysis.cli", "generate", "--help"],
                         capture_output=True, text=True, env=env, timeout=120, check=True)
    text = " ".join(sub.stdout.split())
    assert f"blocks of {BLOCK_EVENTS} events" in text
    assert f"(default {CHUNK_BLOCKS};" in text
