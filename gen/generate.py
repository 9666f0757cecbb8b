"""Generation driver: sample card -> unweighted events, streamed block by block to HDF5.

Block k (``gen.streams.BLOCK_EVENTS`` events) always draws from ``stream(seed, GENERATION, k)``,
so the events do not depend on the number of workers; workers are threads running nogil numba
kernels, results are written in block order with a bounded number of blocks in flight (memory
stays flat in the number of events).
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gen.events import EventChunk, SamplingStats
from gen.io import chunk_arrays, events_writer, package_version
from gen.processes.base import Process
from gen.runcard import SampleCard
from gen.streams import BLOCK_EVENTS, GENERATION, PILOT, stream


def progress_bar(total: int, desc: str, unit: str = "ev"):
    """A tqdm bar on a terminal, a silent stand-in otherwise."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        unit_scale=True,
        disable=not sys.stderr.isatty(),
        leave=False,
    )


def prepare(card: SampleCard) -> Process:
    proc = card.build()
    proc.prepare(stream(card.seed, PILOT, 0))
    return proc


def planned_events(card: SampleCard, proc: Process) -> int:
    """Events to generate: the card's count, or sigma(pilot) x lumi (1 pb x 1/fb = 1000 events)."""
    if card.events > 0:
        return card.events
    return max(1, round(proc.pilot_cross_section_pb * 1000.0 * card.lumi_fb))


def _block(proc: Process, seed: int, k: int, n: int) -> tuple[EventChunk, SamplingStats]:
    chunk, stats = proc.generate(stream(seed, GENERATION, k), n)
    chunk.check(proc.name)
    return chunk, stats


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
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        next_k = 0
        while next_k < len(sizes) or pending:
            while next_k < len(sizes) and len(pending) < 2 * workers:
                pending.append(pool.submit(_block, proc, seed, next_k, sizes[next_k]))
                next_k += 1
            yield pending.pop(0).result()


def generate_sample(
    card: SampleCard,
    output: str | Path,
    *,
    events: int | None = None,
    seed: int | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate the card's sample into ``output``; returns the file's root attributes."""
    if seed is not None:
        card = card.replace(seed=seed)
    if events is not None:
        card = card.replace(events=events, lumi_fb=0.0)
    proc = prepare(card)
    n_events = planned_events(card, proc)
    attrs = {
        "process": card.process,
        "card": card.text,
        "seed": card.seed,
        "n_events": n_events,
        "sqrt_s_gev": card.beams.sqrt_s_gev,
        "weighted": False,
        "b2dark_version": package_version(),
        "lumi_fb": card.lumi_fb,
    }
    total = SamplingStats()
    with events_writer(output, attrs) as writer, progress_bar(n_events, card.process) as bar:
        for chunk, stats in iter_blocks(proc, card.seed, n_events, workers):
            writer.append(chunk_arrays(chunk))
            total += stats
            bar.update(chunk.n_events)
        result = {
            "cross_section_pb": total.cross_section_pb,
            "cross_section_err_pb": total.cross_section_err_pb,
            "n_trials": total.n_trials,
            "n_overweight": total.n_overweight,
            "w_max_pb": proc.w_max,
        }
        writer.set_attrs(result)
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
