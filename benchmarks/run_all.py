"""The b2dark benchmark suite in one run: one table, ratios where a peer exists.

    python benchmarks/run_all.py [--quick] [--only SECTION,...] [--json FILE]

Sections: rng (PCG64 draws/s), generator (every registered process, unweighted events/s per
core, draws per event and the RNG limit), prototype (production signal vs a hand-written
minimal generator), decays (vs the ``phasespace`` package, optional), disk (events/s to disk,
HDF5 bandwidth vs plain h5py), scaling (workers 1 and 2), startup (cold / warm JIT, peak RSS).
Rates are per CPU second of one thread unless the unit says wall; see docs/benchmarks.md for
the conditions and the latest numbers. Never part of the test suite. ``--quick``: ~4 min here.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import traceback
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, markdown_table, print_table  # noqa: E402

SECTIONS = ("rng", "generator", "prototype", "decays", "disk", "scaling", "startup")


def _section(name: str, quick: bool) -> list[Row]:
    if name == "rng":
        import bench_rng

        return bench_rng.run(quick)
    if name == "generator":
        import bench_generators

        return bench_generators.run(quick)
    if name == "prototype":
        import prototype_mumu_zprime

        return prototype_mumu_zprime.run(quick)
    if name == "decays":
        import bench_decays

        return bench_decays.run(quick)
    if name == "disk":
        import bench_io

        return bench_io.run(quick)
    if name == "scaling":
        import bench_scaling

        return bench_scaling.run(quick)
    if name == "startup":
        import bench_startup

        return bench_startup.run(quick)
    raise ValueError(f"unknown section {name!r}; sections: {', '.join(SECTIONS)}")


def _add_rng_limit(rows: list[Row]) -> None:
    """Generator rows get the RNG limit (numba draws/s / draws per event) as their peer."""
    rate = next((r.value for r in rows if r.item == "PCG64 numba kernel uniform"), None)
    if not rate:
        return
    for r in rows:
        dpe = r.extra.get("draws_per_event")
        if r.section == "generator" and dpe:
            r.peer, r.peer_name = rate / dpe, "RNG limit"


def _write_json(path: Path, head: str, rows: list[Row]) -> None:
    path.write_text(json.dumps(
        {"header": head, "rows": [{**r.__dict__, "ratio": r.ratio} for r in rows]},
        indent=1, default=str,
    ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (~4 min)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table too")
    args = parser.parse_args()
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    for s in chosen:
        if s not in SECTIONS:
            parser.error(f"unknown section {s!r}; sections: {', '.join(SECTIONS)}")
    start = datetime.datetime.now(datetime.timezone.utc)
    load0 = os.getloadavg()
    rows: list[Row] = []
    cpu = platform.processor() or platform.machine()

    def header() -> str:
        return (f"b2dark benchmarks {start:%Y-%m-%d %H:%M} UTC, {cpu}"
                f", {os.cpu_count()} cores, load average {load0[0]:.1f} -> "
                f"{os.getloadavg()[0]:.1f}, python {platform.python_version()}, "
                f"{'quick' if args.quick else 'full'} run")

    for s in chosen:
        print(f"== {s}", file=sys.stderr, flush=True)
        try:
            rows.extend(_section(s, args.quick))
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            rows.append(Row(s, "section failed", None, "", note=f"{type(exc).__name__}: {exc}"))
        _add_rng_limit(rows)
        if args.json:  # after every section: a killed run keeps what it measured
            _write_json(args.json, header(), rows)
    head = header()
    print(head)
    print_table(rows)
    if args.markdown:
        print()
        print(markdown_table(rows))


if __name__ == "__main__":
    main()
