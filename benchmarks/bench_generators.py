"""Benchmark: events/s per core of every generator (after JIT), to disk, detector, peak memory.

    python benchmarks/bench_generators.py [--events 200000] [--out /tmp/bench]

Figures go into issue notes, never into timed tests. One thread per measurement (per core).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from gen.beams import Beams
from gen.generate import generate_sample
from gen.processes import get_process
from gen.runcard import load_sample, parse_sample
from gen.streams import GENERATION, PILOT, stream

CASES = {
    "mumu_zprime M=0.1": ("mumu_zprime", {"mass_gev": 0.1}, {}),
    "mumu_zprime M=1": ("mumu_zprime", {"mass_gev": 1.0}, {}),
    "mumu_zprime M=5": ("mumu_zprime", {"mass_gev": 5.0}, {}),
    "mumu (Born)": ("mumu", {"isr": False, "fsr": False}, {}),
    "mumu (ISR+FSR)": ("mumu", {}, {}),
    "tautau": ("tautau", {}, {}),
    "eemumu": ("eemumu", {}, {}),
}
#: the search's background cards (generator-level cuts of cards/zprime_invisible.toml)
SEARCH_CARDS = ("mumu", "tautau", "eemumu")
CARDS = Path(__file__).resolve().parents[1] / "cards" / "samples"


def _card(process: str, params: dict, cuts: dict, events: int):
    table = {
        "sample": {"process": process, "events": events, "seed": 1},
        "process": params,
        "cuts": cuts,
    }
    return parse_sample(table, repr(table), f"bench:{process}")


def bench_process(label, process, params, cuts, n):
    card = _card(process, params, cuts, n)
    proc = card.build()
    proc.prepare(stream(1, PILOT, 0))
    proc.generate(stream(1, GENERATION, 99), 1000)  # JIT warm-up
    t0 = time.perf_counter()
    chunk, stats = proc.generate(stream(1, GENERATION, 0), n)
    dt = time.perf_counter() - t0
    eff = n / stats.n_trials
    t0 = time.perf_counter()
    proc.trial_weights(stream(1, GENERATION, 1), n)
    dtw = time.perf_counter() - t0
    print(
        f"{label:32s} {n / dt:12.3g} ev/s  unweighting eff {eff:7.3f}  "
        f"trials/s {n / dtw:10.3g}  sigma {stats.cross_section_pb:10.4g} pb"
    )


def bench_disk(out: Path, n: int):
    card = _card("mumu", {}, {}, n)
    generate_sample(card, out / "warm.h5", events=1000)
    t0 = time.perf_counter()
    attrs = generate_sample(card, out / "disk.h5")
    dt = time.perf_counter() - t0
    size = (out / "disk.h5").stat().st_size
    print(
        f"{'mumu to disk (1 worker)':32s} {attrs['n_events'] / dt:12.3g} ev/s  "
        f"{size / dt / 1e6:8.1f} MB/s"
    )
    t0 = time.perf_counter()
    generate_sample(card, out / "disk2.h5", workers=2)
    dt2 = time.perf_counter() - t0
    print(f"{'mumu to disk (2 workers)':32s} {attrs['n_events'] / dt2:12.3g} ev/s")
    return out / "disk.h5"


def bench_detector(events: Path, out: Path):
    from detector.reco_io import simulate_file

    simulate_file(events, out / "warm_reco.h5")
    t0 = time.perf_counter()
    attrs = simulate_file(events, out / "reco.h5")
    dt = time.perf_counter() - t0
    print(f"{'detector (mumu events)':32s} {attrs['n_events'] / dt:12.3g} ev/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default="", help="substring of the cases to run")
    args = parser.parse_args()
    raw = np.random.Generator(np.random.PCG64(1))
    t0 = time.perf_counter()
    raw.random(20_000_000)
    print(f"{'PCG64 raw draws':32s} {20e6 / (time.perf_counter() - t0):12.3g} /s")
    for label, (process, params, cuts) in CASES.items():
        if args.only in label:
            try:
                get_process(process)
            except Exception as exc:  # noqa: BLE001 - a missing process is reported, not fatal
                print(f"{label:32s} unavailable: {exc}")
                continue
            bench_process(label, process, params, cuts, args.events)
    for name in SEARCH_CARDS:
        if args.only in name:
            card = load_sample(CARDS / f"{name}.toml")
            bench_process(
                f"{name} (search-card cuts)", card.process, card.params, card.cuts, args.events // 4
            )
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        events = bench_disk(out, args.events)
        bench_detector(events, out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB  (beams: {Beams().sqrt_s_gev:.4f} GeV)")


if __name__ == "__main__":
    main()
