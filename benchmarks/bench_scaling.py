"""Scaling of gen.generate.generate_sample with the number of workers (1 and 2).

    python benchmarks/bench_scaling.py [--quick]

Wall-clock events/s of the whole call (pilot, generation, writing) for the signal card, with
``workers=1`` and ``workers=2`` (threads or a local Dask cluster, whatever generate_sample does
today; only its public signature ``generate_sample(card, output, workers=N)`` is used). On a
machine shared with other jobs the 2-worker number depends on their load: read it with
``uptime``'s load average, which is printed.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, print_table, sample_card, timed  # noqa: E402

PROCESS = ("mumu_zprime", {"mass_gev": 1.0})


def run(quick: bool = False) -> list[Row]:
    from gen.generate import generate_sample

    n = 200_000 if quick else 2_000_000
    card = sample_card(*PROCESS, events=n)
    rows = []
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        generate_sample(card, Path(tmp) / "warm.h5", events=2000)
        for workers in (1, 2):
            load = os.getloadavg()[0]
            attrs, cpu, wall = timed(
                lambda w=workers: generate_sample(card, Path(tmp) / f"w{w}.h5", workers=w)
            )
            rates[workers] = attrs["n_events"] / wall
            rows.append(Row(
                "scaling", f"{PROCESS[0]} M=1 to disk, workers={workers}", rates[workers],
                "ev/s (wall)", peer=rates[1] if workers > 1 else None,
                peer_name="workers=1" if workers > 1 else "",
                note=f"load average {load:.1f} on {os.cpu_count()} cores; "
                f"CPU of this process {cpu:.1f} s; {n} ev",
            ))
    params = ", ".join(inspect.signature(generate_sample).parameters)
    rows[-1].note += f"; generate_sample({params})"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_table(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
