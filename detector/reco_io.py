"""Events file -> reco file: runs ``detector.simulate.simulate_chunk`` block by block.

Block k of the events file (``gen.streams.BLOCK_EVENTS`` events) is simulated with the stream
``stream(seed, DETECTOR, k)``: the detector's randomness never touches the generator's streams,
and the reco file does not depend on how the work is split. Chunks of ``CHUNK_BLOCKS`` blocks are
the unit of work, as for generation (gen/distributed.py, gen/shards.py): chunks that finish in
order go straight into the head file (the output under construction; every event written once),
chunks that finish early (Dask) wait in a shard. An interrupted simulation, restarted, redoes only
the missing chunks. Layout: shared/DESIGN.md, "Reco file".
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gen import interrupt
from gen.distributed import runner
from gen.generate import progress_bar
from gen.io import (
    FileFormatError,
    _check_lengths,
    open_checked,
    open_events,
    package_version,
    read_event_range,
)
from gen.shards import HeadFile, ShardStore, chunk_plan, code_digest, digest
from gen.streams import BLOCK_EVENTS, CHUNK_BLOCKS, DETECTOR, stream

log = logging.getLogger("b2dark")

RECO_FORMAT = "b2dark.reco/1"
_OFFSETS = {"events/track_offset": "tracks/px", "events/cluster_offset": "clusters/e"}


def load_detector_card(path: str | Path | None):
    """The detector configuration: defaults, overridden by a detector card if given."""
    from detector.config import DetectorConfig

    if path is None:
        return DetectorConfig()
    from gen.cards import read_toml

    table, _ = read_toml(path)
    return DetectorConfig.from_toml(table, str(path))


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def _rename(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """simulate_chunk keys -> dataset paths of the reco file."""
    renamed = {}
    for key, value in out.items():
        if "/" in key:
            renamed[key] = value
        else:
            renamed[f"events/{key}"] = value
    return renamed


def simulate_blocks(config, task: tuple[int, int, int, list]) -> list[dict[str, np.ndarray]]:
    """The unit of (distributed) work: task = (seed, chunk, first block, the blocks' EventChunks).

    Block k is simulated with ``stream(seed, DETECTOR, k)``; returns each block's reco datasets.
    """
    from detector.simulate import simulate_chunk

    seed, _, first, blocks = task
    parts = []
    for j, chunk in enumerate(blocks):
        interrupt.check()
        rng = stream(seed, DETECTOR, first + j)
        out = _rename(simulate_chunk(chunk.particles, chunk.offset, rng, config))
        out["events/weight"] = chunk.weight
        for name, value in chunk.truth.items():
            out[f"truth/{name}"] = value
        parts.append(out)
    return parts


def _read_blocks(f: h5py.File, first: int, sizes: list[int]) -> list:
    start = first * BLOCK_EVENTS
    blocks = []
    for n in sizes:
        blocks.append(read_event_range(f, start, start + n))
        start += n
    return blocks


def simulate_file(
    events_path: str | Path,
    reco_path: str | Path,
    config=None,
    seed: int | None = None,
    extra_attrs: dict[str, Any] | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_blocks: int = CHUNK_BLOCKS,
) -> dict[str, Any]:
    """Simulate the detector on an events file; returns the reco file's root attributes.

    Chunks of ``chunk_blocks`` blocks run here, on a local Dask cluster or on ``scheduler``
    (gen/distributed.py; the client reads the events and sends them). A chunk that finishes in
    order is appended to the head file (gen/shards.py, ``HeadFile``), one that finishes early
    waits in a shard; the file is the same bytes either way. A restarted run keeps the head's
    chunks and the shards made from the same events file (sha256), detector configuration and
    seed, and redoes the rest. Measured (benchmarks/bench_io.py --reco, 1e6 signal events, one
    worker): bytes written / file size 0.96, was 3.43 with every chunk through a shard.
    """
    from detector.config import DetectorConfig

    config = config or DetectorConfig()
    events_path = Path(events_path)
    with open_events(events_path) as f:
        attrs = {k: v for k, v in f.attrs.items() if k not in ("format", "complete")}
        seed = int(attrs["seed"]) if seed is None else seed
        attrs.update(
            {
                "detector": config.to_toml(),
                "detector_seed": seed,
                "events_file": str(events_path),
                "events_sha256": _file_digest(events_path),
                "b2dark_version": package_version(),
                **(extra_attrs or {}),
            }
        )
        n_events = int(attrs["n_events"])
        plan = chunk_plan(n_events, chunk_blocks)
        base = {
            "kind": "reco",
            "version": package_version(),
            "code": code_digest("detector"),
            "events_sha256": attrs["events_sha256"],
            "detector": attrs["detector"],
            "seed": seed,
        }
        keys = [
            digest({**base, "chunk": c, "first_block": first, "sizes": sizes})
            for c, (first, sizes) in enumerate(plan)
        ]
        with ShardStore(reco_path, _OFFSETS) as store:
            head = HeadFile(store, keys)
            try:
                _simulate_chunks(f, store, head, plan, keys, seed, config, attrs,
                                 workers, scheduler)
                interrupt.check()
                if not plan:  # no events: the offsets still hold their leading 0
                    head.writer.append({name: np.zeros(1, np.int64) for name in _OFFSETS})
                head.commit({"format": RECO_FORMAT, **attrs})
            finally:
                head.close()
            store.remove()
    return attrs


def _simulate_chunks(f: h5py.File, store: ShardStore, head: HeadFile, plan, keys, seed: int,
                     config, attrs: dict[str, Any], workers: int,
                     scheduler: str | None) -> None:
    """Every chunk not in the head yet: straight into the head when it finishes in order (each
    event written once), else into a shard until its turn (gen/shards.py)."""
    n_events = int(attrs["n_events"])
    done = set(range(head.n_chunks))
    for c in done:
        log.info("chunk %d: reused", c)
    todo = []
    for c in range(head.n_chunks, len(plan)):
        if store.verified(c, keys[c], sum(plan[c][1])) is None:
            todo.append(c)
        else:
            done.add(c)
            log.info("chunk %d: reused", c)
    log.info("%s: %d events in %d chunks, %d to do", store.output, n_events, len(plan), len(todo))
    journal: dict[int, dict[str, Any]] = {c: {} for c in range(len(plan))}
    head.drain(journal)
    with (
        runner(workers, scheduler) as run,
        progress_bar(n_events, f"detector {attrs.get('process', '')}") as bar,
    ):
        bar.update(sum(sum(plan[c][1]) for c in done))
        # events are read lazily, as the runner asks for the next task
        tasks = ((seed, c, plan[c][0], _read_blocks(f, plan[c][0], plan[c][1])) for c in todo)
        for i, parts in run.map_unordered(simulate_blocks, config, tasks):
            c = todo[i]
            n = sum(plan[c][1])
            if c == head.n_chunks:  # in order: straight into the output
                head.append(c, parts, journal[c])
            else:  # finished early (Dask): a shard until its turn
                store.write(c, parts, {"shard_key": keys[c], "n_events": n})
            log.info("chunk %d: simulated", c)
            bar.update(n)
            head.drain(journal)


def open_reco(path: str | Path) -> h5py.File:
    """Open and verify a reco file."""
    f = open_checked(path, RECO_FORMAT)
    try:
        _check_lengths(f, Path(path), "events/weight", "events/track_offset", "tracks")
    except FileFormatError:
        f.close()
        raise
    return f


def iter_reco_chunks(
    f: h5py.File, chunk_events: int = BLOCK_EVENTS, with_start: bool = False
) -> Iterator:
    """Yield dicts of reco arrays (local offsets starting at 0) over an open reco file.

    With ``with_start`` yield (index of the chunk's first event, dict).
    """
    n = int(f.attrs["n_events"])
    ev_names = [k for k in f["events"] if k not in ("track_offset", "cluster_offset")]
    truth_names = list(f["truth"]) if "truth" in f else []
    for start in range(0, n, chunk_events):
        stop = min(n, start + chunk_events)
        out: dict[str, np.ndarray] = {}
        for off_name, group in (("track_offset", "tracks"), ("cluster_offset", "clusters")):
            off = f[f"events/{off_name}"][start : stop + 1]
            a, b = int(off[0]), int(off[-1])
            out[off_name] = off - a
            for k in f[group]:
                out[f"{group}/{k}"] = f[f"{group}/{k}"][a:b]
        for k in ev_names:
            out[k] = f[f"events/{k}"][start:stop]
        for k in truth_names:
            out[f"truth/{k}"] = f[f"truth/{k}"][start:stop]
        yield (start, out) if with_start else out
