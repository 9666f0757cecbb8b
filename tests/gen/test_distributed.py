"""Generation and detector simulation on a real Dask scheduler: the in-process files, bit for bit.

A scheduler and a worker are started as processes (``dask scheduler`` / ``dask worker``) on
127.0.0.1 and always stopped by their process ids. The worker runs in another folder than the
client: the client sends the inputs and writes the shards (no shared file system needed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from detector.reco_io import simulate_file
from gen.distributed import RETRIES, ClusterError, runner
from gen.generate import generate_chunk, generate_sample, iter_blocks, prepare
from gen.io import chunk_arrays, read_events
from gen.runcard import load_sample
from gen.streams import BLOCK_EVENTS

ROOT = Path(__file__).resolve().parents[2]
CARD = """schema_version = 1
[sample]
process = "mumu_zprime"
events = {events}
seed = 11
[process]
mass_gev = 2.0
g_prime = 1.0e-3
"""
EVENTS = 3 * BLOCK_EVENTS + 1000  # 4 blocks, the last one short


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process we started (and its own process group: the worker's nanny child)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group we created, if any


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """The address of a running scheduler with one single-threaded worker."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["DASK_LOGGING__DISTRIBUTED"] = "error"
    workdir = tmp_path_factory.mktemp("worker")
    log = (workdir / "dask.log").open("w")
    dask = [sys.executable, "-m", "dask"]  # the `dask` command of this Python
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [*dask, "scheduler", "--host", "127.0.0.1"]
                + ["--port", str(port), "--no-dashboard"],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
        procs.append(
            subprocess.Popen(
                [*dask, "worker", address]
                + ["--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=120)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            _stop(p)
        log.close()


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: (
                out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
        attrs = dict(f.attrs)
    return out, attrs


def _assert_identical(a, b):
    da, aa = _datasets(a)
    db, ab = _datasets(b)
    assert da.keys() == db.keys()
    for k in da:
        assert da[k].dtype == db[k].dtype, k
        np.testing.assert_array_equal(da[k], db[k], err_msg=k)
    assert aa.keys() == ab.keys()
    for k in aa:
        assert np.array_equal(aa[k], ab[k]), k


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    path = tmp_path_factory.mktemp("card") / "sig.toml"
    path.write_text(CARD.format(events=EVENTS))
    return load_sample(path)


def test_sharded_file_holds_the_blocks_in_order(card, tmp_path):
    """Independent reference: the blocks of iter_blocks, concatenated, and their stats summed."""
    out = tmp_path / "ev.h5"
    attrs = generate_sample(card, out, chunk_blocks=3)  # chunks of 3 and 1 blocks
    proc = prepare(card)
    blocks = list(iter_blocks(proc, card.seed, EVENTS))
    _, ev = read_events(out)
    offsets = np.cumsum([0] + [c.n_particles for c, _ in blocks])
    for b, (chunk, _) in enumerate(blocks):
        ref = chunk_arrays(chunk)
        sl = slice(b * BLOCK_EVENTS, b * BLOCK_EVENTS + chunk.n_events)
        np.testing.assert_array_equal(ev.weight[sl], ref["events/weight"])
        np.testing.assert_array_equal(ev.offset[sl], ref["events/offset"][:-1] + offsets[b])
        for name in ("pdg", "px", "e", "vz"):
            np.testing.assert_array_equal(
                ev.particles[name][offsets[b] : offsets[b + 1]], ref[f"particles/{name}"]
            )
    n_trials = sum(s.n_trials for _, s in blocks)
    sum_w = 0.0
    for _, s in blocks:
        sum_w += s.sum_w
    assert attrs["n_trials"] == n_trials
    assert attrs["cross_section_pb"] == sum_w / n_trials


def test_one_worker_writes_every_event_once(card, tmp_path, monkeypatch):
    """In this process chunks finish in order: each goes straight into the output file, none
    through a shard (written, read back and copied: the events written twice)."""
    from gen.shards import ShardStore

    def no_shard(*args, **kwargs):
        raise AssertionError("a shard was written or read")

    monkeypatch.setattr(ShardStore, "write", no_shard)
    monkeypatch.setattr(ShardStore, "read", no_shard)
    out = tmp_path / "ev.h5"
    generate_sample(card, out, chunk_blocks=1)
    _, ev = read_events(out)
    assert ev.n_events == EVENTS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev.h5"]


def test_generate_and_simulate_on_a_scheduler_are_bit_identical(scheduler, card, tmp_path):
    local_ev, remote_ev = tmp_path / "local.h5", tmp_path / "remote.h5"
    generate_sample(card, local_ev, chunk_blocks=1)
    generate_sample(card, remote_ev, scheduler=scheduler, chunk_blocks=1)
    _assert_identical(local_ev, remote_ev)
    # the shard size does not change the file either
    generate_sample(card, tmp_path / "big_chunks.h5", scheduler=scheduler, chunk_blocks=16)
    _assert_identical(local_ev, tmp_path / "big_chunks.h5")

    local_reco, remote_reco = tmp_path / "local_reco.h5", tmp_path / "remote_reco.h5"
    simulate_file(local_ev, local_reco, chunk_blocks=2)
    simulate_file(local_ev, remote_reco, scheduler=scheduler, chunk_blocks=1)
    _assert_identical(local_reco, remote_reco)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["local.h5", "remote.h5", "big_chunks.h5", "local_reco.h5", "remote_reco.h5"]
    )


def test_the_command_line_takes_a_scheduler(scheduler, card, tmp_path):
    out = tmp_path / "cli.h5"
    cmd = [sys.executable, "-m", "analysis.cli", "generate", card.path, "-o", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [*cmd, "--scheduler", scheduler, "--events", "2000"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    generate_sample(card, tmp_path / "ref.h5", events=2000)
    _assert_identical(out, tmp_path / "ref.h5")


def test_a_failing_chunk_is_retried(scheduler, tmp_path):
    """A task that fails on its first attempts succeeds on a retry (counted in a file)."""
    marker = tmp_path / "attempts"  # the worker runs on this machine: the test may share files

    def flaky(shared, task):
        n = int(marker.read_text()) if marker.exists() else 0
        marker.write_text(str(n + 1))
        if n < RETRIES:
            raise RuntimeError("transient failure")
        return shared + task

    with runner(scheduler=scheduler) as run:
        assert list(run.map_unordered(flaky, 10, [5])) == [(0, 15)]
    assert int(marker.read_text()) == RETRIES + 1


def test_a_non_finite_momentum_on_a_worker_names_process_seed_and_chunk(scheduler):
    """EventChunk.check raises on the worker; the client gets the one-line message."""

    def bad_chunk(shared, task):
        from gen.events import EventChunk

        chunk = EventChunk.fixed_multiplicity(3, 2)
        chunk.particles["pz"][4] = np.inf
        chunk.check("mumu", seed=shared, chunk=task, block=7)

    with (
        runner(scheduler=scheduler) as run,
        pytest.raises(
            FloatingPointError,
            match=r"process 'mumu' .* non-finite pz \(inf\) at event 2 .*seed 42, chunk 3, block 7",
        ),
    ):
        list(run.map_unordered(bad_chunk, 42, [3]))


def test_an_unreachable_scheduler_is_one_line_error():
    port = _free_port()
    with pytest.raises(ClusterError, match=f"127.0.0.1:{port}"), runner(
        scheduler=f"tcp://127.0.0.1:{port}", connect_timeout_s=2.0
    ):
        pass


def test_chunk_function_is_what_workers_run(card):
    """generate_chunk (the task) returns the same blocks as the in-process path."""
    proc = prepare(card)
    parts, stats = generate_chunk(proc, (card.seed, 0, 1, [BLOCK_EVENTS, 1000]))
    blocks = list(iter_blocks(proc, card.seed, EVENTS))
    np.testing.assert_array_equal(parts[0]["particles/px"], blocks[1][0].particles["px"])
    np.testing.assert_array_equal(parts[0]["events/offset"], blocks[1][0].offset)
    assert stats[0, 0] == blocks[1][1].n_trials
    assert stats[0, 1] == blocks[1][1].sum_w
    assert parts[1]["events/weight"].shape == (1000,)


def test_a_process_that_makes_nan_is_named_with_seed_chunk_and_block(card):
    """Whether the process checks its own chunk or the driver does, the error says where."""
    proc = prepare(card)
    good = proc.generate

    def nan_inside(rng, n):
        chunk, stats = good(rng, n)
        chunk.particles["e"][0] = np.nan
        chunk.check(proc.name)  # as the processes do, without seed or block
        return chunk, stats

    def nan_returned(rng, n):
        chunk, stats = good(rng, n)
        chunk.weight[1] = np.inf
        return chunk, stats

    proc.generate = nan_inside
    with pytest.raises(FloatingPointError, match=r"'mumu_zprime'.* e .*seed 11, chunk 4, block 9"):
        generate_chunk(proc, (11, 4, 9, [100]))
    proc.generate = nan_returned
    with pytest.raises(FloatingPointError, match=r"weight .*seed 11, chunk 4, block 9"):
        generate_chunk(proc, (11, 4, 9, [100]))
