"""Shared helpers of the benchmark suite: timing, result rows, cards, RNG-draw counting.

Rates are given per CPU second of this process (``time.process_time``: all its threads), which
is what "per core" means and stays meaningful on a machine shared with other jobs; the wall-clock
rate is kept next to it. Never imported by the package or the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: PCG64's 128-bit LCG multiplier (O'Neill, "PCG: A Family of Simple Fast Space-Efficient
#: Statistically Good Algorithms for Random Number Generation", HMC-CS-2014-0905, sec. 4.3;
#: numpy/random/src/pcg64/pcg64.h PCG_DEFAULT_MULTIPLIER_128)
PCG64_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MASK128 = (1 << 128) - 1


@dataclass
class Row:
    """One line of the result table."""

    section: str
    item: str
    value: float | None
    unit: str
    peer: float | None = None  # the same quantity for the peer / reference (ratio = value/peer)
    peer_name: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.peer:
            return None
        return self.value / self.peer


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, CPU seconds, wall seconds) of ``fn()``."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """``timed`` repeated; the smallest CPU time (least disturbed by other jobs) and its wall."""
    best = None
    for _ in range(max(1, repeat)):
        r = timed(fn)
        if best is None or r[1] < best[1]:
            best = r
    return best


def lcg_distance(cur: int, new: int, mult: int = PCG64_MULT, inc: int = 1) -> int:
    """Number of LCG steps from state ``cur`` to state ``new`` (mod 2^128).

    Bit-by-bit: step k decides bit k of the distance by comparing bit k of the states, then
    squares the step (the same algorithm as pcg-cpp's ``distance``, O'Neill's PCG reference
    implementation). ``inc`` must be odd (full period), as PCG64's is.
    """
    the_bit, dist = 1, 0
    while cur != new:
        if (cur & the_bit) != (new & the_bit):
            cur = (cur * mult + inc) & _MASK128
            dist |= the_bit
        inc = ((mult + 1) * inc) & _MASK128
        mult = (mult * mult) & _MASK128
        the_bit <<= 1
        if the_bit > _MASK128:
            raise ValueError("states are not on one LCG orbit")
    return dist


def pcg64_draws(rng: np.random.Generator, fn: Callable[[np.random.Generator], Any]) -> int:
    """64-bit draws that ``fn(rng)`` takes from a PCG64 generator (state advance)."""
    st0 = rng.bit_generator.state
    fn(rng)
    st1 = rng.bit_generator.state
    return lcg_distance(st0["state"]["state"], st1["state"]["state"], inc=st0["state"]["inc"])


def sample_card(process: str, params: dict, cuts: dict | None = None, events: int = 1000,
                beams: dict | None = None, seed: int = 1):
    """A validated in-memory sample card (gen.runcard.parse_sample)."""
    from gen.runcard import parse_sample

    table: dict[str, Any] = {
        "sample": {"process": process, "events": events, "seed": seed},
        "process": dict(params),
        "cuts": dict(cuts or {}),
    }
    if beams:
        table["beams"] = dict(beams)
    return parse_sample(table, repr(table), f"bench:{process}")


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0 or 1e-2 <= abs(x) < 1e5:
        return f"{x:.3g}"
    return f"{x:.3g}"


def print_table(rows: list[Row]) -> None:
    """The result table (plain text, one line per row)."""
    head = (f"{'section':10s} {'item':44s} {'value':>10s} {'unit':10s} {'peer':>10s} "
            f"{'ratio':>7s}  note")
    print(head)
    print("-" * len(head))
    for r in rows:
        peer = f"{fmt(r.peer)}" if r.peer is not None else "-"
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        note = (f"[{r.peer_name}] " if r.peer_name else "") + r.note
        print(f"{r.section:10s} {r.item:44s} {fmt(r.value):>10s} {r.unit:10s} {peer:>10s} "
              f"{ratio:>7s}  {note}")


def markdown_table(rows: list[Row]) -> str:
    lines = ["| section | item | value | unit | peer | ratio | note |",
             "| --- | --- | ---: | --- | ---: | ---: | --- |"]
    for r in rows:
        peer = fmt(r.peer) if r.peer is not None else "-"
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        note = (f"[{r.peer_name}] " if r.peer_name else "") + r.note
        lines.append(f"| {r.section} | {r.item} | {fmt(r.value)} | {r.unit} | {peer} | {ratio} "
                     f"| {note} |")
    return "\n".join(lines)
