"""Raw random-number rates: PCG64 uniforms and normals, numpy bulk and inside a numba kernel.

    python benchmarks/bench_rng.py [--quick]

The kernel rate is the ceiling of any generator here: events/s <= (kernel draws/s) / (draws per
event), the draws per event being measured by bench_generators.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, best_of, print_table  # noqa: E402

from gen.jit import kernel  # noqa: E402


@kernel
def _sum_uniform(rng, n):
    s = 0.0
    for _ in range(n):
        s += rng.random()
    return s


@kernel
def _sum_normal(rng, n):
    s = 0.0
    for _ in range(n):
        s += rng.standard_normal()
    return s


def rates(quick: bool = False) -> dict[str, float]:
    """Draws per CPU second: numpy bulk and numba scalar, uniform and normal."""
    n = 5_000_000 if quick else 20_000_000
    rep = 3 if quick else 5
    rng = np.random.Generator(np.random.PCG64(1))
    buf = np.empty(n)  # preallocated: page faults of a fresh array are not RNG time
    _sum_uniform(rng, 10)
    _sum_normal(rng, 10)
    out = {}
    for name, fn in (
        ("numpy bulk uniform", lambda: rng.random(out=buf)),
        ("numpy bulk normal", lambda: rng.standard_normal(out=buf)),
        ("numba kernel uniform", lambda: _sum_uniform(rng, n)),
        ("numba kernel normal", lambda: _sum_normal(rng, n)),
    ):
        _, cpu, _ = best_of(fn, rep)
        out[name] = n / cpu
    return out


def run(quick: bool = False) -> list[Row]:
    r = rates(quick)
    return [
        Row("rng", f"PCG64 {name}", rate, "draws/s", note=f"{1e9 / rate:.2f} ns/draw")
        for name, rate in r.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_table(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
