"""Interrupted `b2dark generate` / `b2dark simulate`: nothing that looks complete is left at
the output, and a restart redoes only the missing chunks and gives the same file as an
uninterrupted run.

The command runs as a real subprocess (``python -m analysis.cli -v``) with one block per chunk,
so it writes a shard every few hundredths of a second and logs ``chunk k: generated``; the signal
is sent after a given number of such lines (a moment in the run that does not depend on the
machine's speed). Then the shards on disk are listed, the run is repeated, and its log must say
``reused`` for exactly those chunks and ``generated`` for all others.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from detector.reco_io import open_reco, simulate_file
from gen.generate import generate_sample
from gen.io import FileFormatError, open_events
from gen.runcard import load_sample
from gen.shards import chunks_on_disk, shard_dir

N_CHUNKS = 20  # of one block (8192 events): ~0.05 s each to generate, ~0.07 s to simulate here
SIGNAL_CARD = """schema_version = 1
[sample]
process = "mumu_zprime"
events = {events}
seed = 5
[process]
mass_gev = 1.0
g_prime = 1.0e-3
"""


def _env() -> dict[str, str]:
    # the copy of b2dark this process imports (PYTHONPATH from tests/conftest.py), not the
    # working directory's: one numba cache, warm from the reference runs of this process
    return dict(os.environ, PYTHONSAFEPATH="1")


def _datasets(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
        attrs = dict(f.attrs)
    return out, attrs


def _assert_same(a: Path, b: Path) -> None:
    da, aa = _datasets(a)
    db, ab = _datasets(b)
    assert da.keys() == db.keys()
    for k in da:
        assert da[k].dtype == db[k].dtype, k
        np.testing.assert_array_equal(da[k], db[k], err_msg=k)
    assert aa.keys() == ab.keys()
    for k in aa:
        assert np.array_equal(aa[k], ab[k]), k


def _chunks_logged(text: str, verb: str) -> set[int]:
    return {int(m) for m in re.findall(rf"chunk (\d+): {verb}", text)}


def _run_and_signal(cmd: list[str], verb: str, after: int, sig: int) -> int:
    """Run ``cmd``; after ``after`` 'chunk k: <verb>' log lines send ``sig``; return the code."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env()
    )
    seen = 0
    try:
        if after == 0:
            # the run's first line is its plan (card read, pilot done): no shard written yet
            proc.stderr.readline()
        else:
            for line in proc.stderr:
                if f": {verb}" in line:
                    seen += 1
                    if seen >= after:
                        break
        assert proc.poll() is None, "the run finished before the signal: make the sample larger"
        proc.send_signal(sig)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


def _shards_on_disk(output: Path) -> set[int]:
    """Chunks a restart can reuse: in the head file's journal or as shard files."""
    return chunks_on_disk(output)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted outputs, made in this process."""
    d = tmp_path_factory.mktemp("reference")
    card = d / "sig.toml"
    card.write_text(SIGNAL_CARD.format(events=N_CHUNKS * 8192))
    generate_sample(load_sample(card), d / "sig.h5")
    simulate_file(d / "sig.h5", d / "reco.h5")
    return d


# (signal, chunks logged before it); 0: as soon as the run logs its plan, before any shard
MOMENTS = [
    (signal.SIGINT, 2),
    (signal.SIGTERM, 0),
    (signal.SIGKILL, 3),
]


@pytest.mark.parametrize(("sig", "after"), MOMENTS)
def test_generate_interrupted_and_resumed(reference, tmp_path, sig, after):
    out = tmp_path / "sig.h5"
    card = reference / "sig.toml"
    cmd = [sys.executable, "-m", "analysis.cli", "-v", "generate", str(card), "-o", str(out)]
    cmd += ["--chunk-blocks", "1"]
    code = _run_and_signal(cmd, "generated", after, sig)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    with pytest.raises(FileFormatError):
        open_events(out).close()
    done = _shards_on_disk(out)
    assert len(done) >= after  # every logged chunk is on disk
    assert len(done) < N_CHUNKS
    # temporary files are those of the killed writer only (a clean interrupt removes them)
    if sig != signal.SIGKILL:
        assert not list(tmp_path.glob(".sig.h5.tmp-*"))
        assert not list(shard_dir(out).glob("*.tmp-*"))

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    why = [line for line in rerun.stderr.splitlines() if "head" in line or "shard" in line]
    assert _chunks_logged(rerun.stderr, "reused") == done, why
    assert _chunks_logged(rerun.stderr, "generated") == set(range(N_CHUNKS)) - done
    assert not shard_dir(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sig.h5"]
    _assert_same(out, reference / "sig.h5")


@pytest.mark.parametrize(("sig", "after"), [(signal.SIGINT, 3), (signal.SIGKILL, 5)])
def test_simulate_interrupted_and_resumed(reference, tmp_path, sig, after):
    out = tmp_path / "reco.h5"
    events = reference / "sig.h5"
    cmd = [sys.executable, "-m", "analysis.cli", "-v", "simulate", str(events), "-o", str(out)]
    cmd += ["--chunk-blocks", "1"]
    code = _run_and_signal(cmd, "simulated", after, sig)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    with pytest.raises(FileFormatError):
        open_reco(out).close()
    done = _shards_on_disk(out)
    assert after <= len(done) < N_CHUNKS

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _chunks_logged(rerun.stderr, "reused") == done
    assert _chunks_logged(rerun.stderr, "simulated") == set(range(N_CHUNKS)) - done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reco.h5"]
    _assert_same(out, reference / "reco.h5")


@pytest.mark.parametrize(("sig", "after"), [(signal.SIGKILL, 2), (signal.SIGINT, 3)])
def test_run_interrupted_and_resumed(tiny_search, tmp_path, sig, after):
    """`b2dark run` stopped while producing its samples (after ``after`` samples began): no
    results are left, finished samples are reused and the final results equal those of an
    uninterrupted run (the tiny search of tests/conftest.py, run in this process)."""
    card, _, reference_results = tiny_search
    out = tmp_path / "out"
    base = [sys.executable, "-m", "analysis.cli", "-v", "run", str(card), "-o"]

    code = _run_and_signal(base + [str(out)], "generating", after, sig)
    assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 130)
    assert not (out / "results.json").exists()
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "reco").glob("*.h5")}
    # the samples begun before the interrupted one (a signal may land just after it finished)
    assert after - 1 <= len(finished) <= after

    rerun = subprocess.run(base + [str(out)], capture_output=True, text=True, env=_env(),
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    for name, mtime in finished.items():  # reused, not redone
        assert (out / "reco" / name).stat().st_mtime_ns == mtime
    assert (out / "results.json").read_text() == reference_results
