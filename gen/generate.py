"""Generation driver: sample card -> unweighted events, chunk by chunk, into the HDF5 file.

Block k (``gen.streams.BLOCK_EVENTS`` events) always draws from ``stream(seed, GENERATION, k)``,
so the events do not depend on the number of workers or where they ran. A chunk of
``CHUNK_BLOCKS`` blocks is the unit of work (gen/distributed.py) and of resuming (gen/shards.py):
chunks that finish in order are appended once to the output under construction, others wait in
a shard; an interrupted run, restarted, redoes only the missing chunks. At most 2 x workers chunks
are in flight, so memory stays flat in the number of events.
"""

from __future__ import annotations

import logging
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from gen import interrupt
from gen.cards import CardError
from gen.distributed import runner
from gen.events import SamplingStats
from gen.io import EVENTS_FORMAT, EVENTS_OFFSETS, chunk_arrays, package_version
from gen.pilotcache import prepare_cached
from gen.processes.base import PILOT_POINTS, Process
from gen.runcard import MAX_EVENTS, SampleCard
from gen.shards import HeadFile, ShardStore, chunk_plan, code_digest, digest
from gen.streams import BLOCK_EVENTS, CHUNK_BLOCKS, GENERATION, stream

log = logging.getLogger("b2dark")


class _NoBar:
    """The part of tqdm's interface the drivers use, doing nothing (output not a terminal)."""

    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int, desc: str, unit: str = "ev"):
    """A tqdm bar on a terminal, a silent stand-in otherwise (tqdm not even imported: start-up)."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False)


def prepare(card: SampleCard, points: int = PILOT_POINTS) -> Process:
    """The card's process after its pilot run (stream ``PILOT``, 0), or with the pilot's stored
    result when the same pilot ran before (``gen.pilotcache``: the same events, bit for bit)."""
    proc = card.build()
    prepare_cached(proc, card.seed, points)
    return proc


def planned_events(card: SampleCard, proc: Process) -> int:
    """Events to generate: the card's count, or sigma(pilot) x lumi (1 pb x 1/fb = 1000 events)."""
    if card.events > 0:
        return card.events
    n = max(1, round(proc.pilot_cross_section_pb * 1000.0 * card.lumi_fb))
    if n > MAX_EVENTS:
        raise CardError(
            f"{card.path}: sample.lumi_fb = {card.lumi_fb} fb^-1 means {n:.3g} events "
            f"(sigma = {proc.pilot_cross_section_pb:.4g} pb), above the limit {MAX_EVENTS:.0e}; "
            "lower lumi_fb or tighten the generator cuts"
        )
    return n


def _block(proc: Process, seed: int, k: int, n: int, chunk: int | None = None):
    try:
        chunk_events, stats = proc.generate(stream(seed, GENERATION, k), n)
    except FloatingPointError as exc:  # a process's own EventChunk.check: add where it happened
        raise FloatingPointError(f"{exc} (seed {seed}, chunk {chunk}, block {k})") from None
    chunk_events.check(proc.name, seed=seed, chunk=chunk, block=k)
    return chunk_events, stats


def iter_blocks(proc: Process, seed: int, n_events: int, workers: int = 1):
    """Yield (chunk, stats) of every block in order, computing up to 2*workers blocks ahead."""
    sizes = [
        min(BLOCK_EVENTS, n_events - k * BLOCK_EVENTS)
        for k in range(math.ceil(n_events / BLOCK_EVENTS))
    ]
    if workers <= 1:
        for k, n in enumerate(sizes):
            yield _block(proc, seed, k, n)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        next_k = 0
        while next_k < len(sizes) or pending:
            while next_k < len(sizes) and len(pending) < 2 * workers:
                pending.append(pool.submit(_block, proc, seed, next_k, sizes[next_k]))
                next_k += 1
            yield pending.pop(0).result()


def generate_chunk(
    proc: Process, task: tuple[int, int, int, list[int]]
) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """The unit of (distributed) work: task = (seed, chunk, first block, events per block).

    Returns each block's datasets and a (blocks, 4) array of its SamplingStats sums.
    """
    seed, chunk, first, sizes = task
    parts, stats = [], np.zeros((len(sizes), 4))
    for j, n in enumerate(sizes):
        interrupt.check()
        events, st = _block(proc, seed, first + j, n, chunk)
        parts.append(chunk_arrays(events))
        stats[j] = (st.n_trials, st.sum_w, st.sum_w2, st.n_overweight)
    return parts, stats


def _shard_key(card: SampleCard, proc: Process, chunk: int, first: int, sizes: list[int]) -> str:
    """Everything that fixes a chunk's events (the pilot's w_max too, in case the code changed)."""
    return digest(
        {
            "kind": "events",
            "version": package_version(),
            "code": code_digest("gen"),
            "process": card.process,
            "card": card.text,
            "params": {k: repr(v) for k, v in sorted(card.params.items())},
            "cuts": {k: repr(v) for k, v in sorted(card.cuts.items())},
            "beams": repr(card.beams),
            "seed": card.seed,
            "w_max": repr(proc.w_max),
            "chunk": chunk,
            "first_block": first,
            "sizes": sizes,
        }
    )


def _total_stats(block_stats: list[np.ndarray]) -> SamplingStats:
    """Block statistics summed in block order (the same float sums for any split of the work)."""
    total = SamplingStats()
    for rows in block_stats:
        for n, sw, sw2, nover in rows:
            total += SamplingStats(int(n), float(sw), float(sw2), int(nover))
    return total


def generate_sample(
    card: SampleCard,
    output: str | Path,
    *,
    events: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_blocks: int = CHUNK_BLOCKS,
    extra_attrs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Generate the card's sample into ``output``; returns the file's root attributes.

    Chunks of ``chunk_blocks`` blocks run in this process (workers=1), on a local Dask cluster
    (workers>1) or on ``scheduler`` (gen/distributed.py), each into a shard (gen/shards.py);
    shards of an interrupted run that match card, seed and chunk are reused, the rest redone.
    """
    if seed is not None:
        card = card.replace(seed=seed)
    if events is not None:
        card = card.replace(events=events, lumi_fb=0.0)
    output = Path(output)
    proc = prepare(card)
    interrupt.check()
    n_events = planned_events(card, proc)
    attrs = {
        "process": card.process,
        "card": card.text,
        "seed": card.seed,
        "n_events": n_events,
        "sqrt_s_gev": card.beams.sqrt_s_gev,
        "weighted": bool(proc.weighted),
        "b2dark_version": package_version(),
        "lumi_fb": card.lumi_fb,
        **(extra_attrs or {}),
    }
    plan = chunk_plan(n_events, chunk_blocks)
    keys = [_shard_key(card, proc, c, first, sizes) for c, (first, sizes) in enumerate(plan)]
    stats: dict[int, np.ndarray] = {}
    with ShardStore(output, EVENTS_OFFSETS) as store:
        head = HeadFile(store, keys)
        try:
            for c, rec in enumerate(head.records):
                stats[c] = np.asarray(rec["block_stats"], dtype=np.float64)
                log.info("chunk %d: reused", c)
            todo = []
            for c in range(head.n_chunks, len(plan)):
                found = store.verified(c, keys[c], sum(plan[c][1]))
                if found is None:
                    todo.append(c)
                else:
                    stats[c] = np.asarray(found["block_stats"])
                    log.info("chunk %d: reused", c)
            log.info(
                "%s: %d events in %d chunks, %d to do", output, n_events, len(plan), len(todo)
            )
            journal = {c: {"block_stats": st.tolist()} for c, st in stats.items()}
            head.drain(journal)
            with (
                runner(workers, scheduler) as run,
                progress_bar(n_events, card.process) as bar,
            ):
                bar.update(sum(sum(plan[c][1]) for c in stats))
                tasks = ((card.seed, c, plan[c][0], plan[c][1]) for c in todo)
                for i, (parts, block_stats) in run.map_unordered(generate_chunk, proc, tasks):
                    c = todo[i]
                    n = sum(plan[c][1])
                    journal[c] = {"block_stats": block_stats.tolist()}
                    if c == head.n_chunks:  # in order: straight into the output, written once
                        head.append(c, parts, journal[c])
                    else:  # finished early (Dask): a shard until its turn
                        store.write(
                            c, parts, {"shard_key": keys[c], "n_events": n,
                                       "block_stats": block_stats}
                        )
                    stats[c] = block_stats
                    log.info("chunk %d: generated", c)
                    bar.update(n)
                    head.drain(journal)
            interrupt.check()
            total = _total_stats([stats[c] for c in range(len(plan))])
            result = {
                "cross_section_pb": total.cross_section_pb,
                "cross_section_err_pb": total.cross_section_err_pb,
                "n_trials": total.n_trials,
                "n_overweight": total.n_overweight,
                "w_max_pb": proc.w_max,
            }
            head.commit({"format": EVENTS_FORMAT, **attrs, **result})
        finally:
            head.close()
        store.remove()
    return {**attrs, **result}


def cross_section(card: SampleCard, points: int = 1_000_000) -> tuple[float, float]:
    """The card's cross section (pb) and MC error from ``points`` weighted trial points."""
    proc = card.build()
    rng = stream(card.seed, GENERATION, 0)
    stats = SamplingStats()
    remaining = points
    while remaining > 0:
        n = min(remaining, 1 << 18)
        w = proc.trial_weights(rng, n)
        stats += SamplingStats(n, float(w.sum()), float((w * w).sum()), 0)
        remaining -= n
    return stats.cross_section_pb, stats.cross_section_err_pb
