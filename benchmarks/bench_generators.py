"""Events/s per core of every registered generator after JIT, and its random draws per event.

    python benchmarks/bench_generators.py [--quick] [--only NAME] [--labels "A,B (card cuts)"]

Iterates over gen.processes.REGISTRY (a process added there appears automatically; one that
fails to build is reported, not fatal). Processes with required parameters get them from
``BENCH_PARAMS``; extra variants (masses, ISR off) are in ``VARIANTS``. Unweighted events
(``Process.generate``), one thread. Draws per event: the PCG64 state advance of the generate
call divided by the events (``common.pcg64_draws``); the physics limit of a generator on this
machine is (RNG draws/s in a numba kernel) / (draws per event).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, lcg_distance, print_table, sample_card, timed  # noqa: E402

#: parameters for processes whose card has required keys
BENCH_PARAMS: dict[str, dict] = {"mumu_zprime": {"mass_gev": 1.0}}
#: extra variants: label -> (process, params)
VARIANTS: dict[str, tuple[str, dict]] = {
    "mumu_zprime M=0.1": ("mumu_zprime", {"mass_gev": 0.1}),
    "mumu_zprime M=5": ("mumu_zprime", {"mass_gev": 5.0}),
    "mumu_zprime M=1 isr=false": ("mumu_zprime", {"mass_gev": 1.0, "isr": False}),
    "mumu isr=fsr=false (Born)": ("mumu", {"isr": False, "fsr": False}),
}


CARDS = _HERE.parent / "cards" / "samples"


def cases() -> dict[str, tuple[str, dict, dict]]:
    """label -> (process, params, cuts): the registry, the variants, the sample cards."""
    from gen.processes import REGISTRY
    from gen.runcard import load_sample

    out = {name: (name, BENCH_PARAMS.get(name, {}), {}) for name in REGISTRY}
    out.update({label: (proc, params, {}) for label, (proc, params) in VARIANTS.items()})
    for path in sorted(CARDS.glob("*.toml")):
        try:
            card = load_sample(path)
            out[f"{path.stem} (card cuts)"] = (card.process, card.params, card.cuts)
        except Exception as exc:  # noqa: BLE001 - a broken card is reported, not fatal
            out[f"{path.stem} (card cuts)"] = ("?", {"error": str(exc)}, {})
    return out


def bench_one(label: str, process: str, params: dict, cuts: dict, seconds: float) -> Row:
    """Unweighted events/s per CPU second after JIT, unweighting efficiency, draws per event."""
    from gen.streams import GENERATION, PILOT, stream

    card = sample_card(process, params, cuts)
    proc = card.build()
    proc.prepare(stream(1, PILOT, 0))
    proc.generate(stream(1, GENERATION, 99), 200)  # JIT (or cache load) outside the timing
    (_, stats), cpu, _ = timed(lambda: proc.generate(stream(1, GENERATION, 98), 500))
    n = int(min(max(500, 500 * seconds / max(cpu, 1e-6)), 2_000_000))
    rng = stream(1, GENERATION, 0)
    st0 = rng.bit_generator.state["state"]
    (chunk, stats), cpu, wall = timed(lambda: proc.generate(rng, n))
    draws = lcg_distance(st0["state"], rng.bit_generator.state["state"]["state"], inc=st0["inc"])
    eff = n / stats.n_trials if stats.n_trials else float("nan")
    return Row(
        "generator", label, n / cpu, "ev/s/core",
        note=f"unweighting eff {eff:.3f}; {draws / n:.1f} draws/ev ({draws / stats.n_trials:.1f}"
        f"/trial); {stats.n_trials / cpu:.3g} trials/s; wall {n / wall:.3g} ev/s; "
        f"sigma {stats.cross_section_pb:.4g} pb; {n} ev",
        extra={"draws_per_event": draws / n, "efficiency": eff, "n": n},
    )


def run(quick: bool = False, only: str = "", labels: tuple[str, ...] = ()) -> list[Row]:
    """Rows of every case whose label contains ``only`` (and is one of ``labels`` if given)."""
    rows = []
    seconds = 0.5 if quick else 2.0
    for label, (process, params, cuts) in cases().items():
        if (only and only not in label) or (labels and label not in labels):
            continue
        try:
            rows.append(bench_one(label, process, params, cuts, seconds))
        except Exception as exc:  # noqa: BLE001 - a broken process is reported, not fatal
            msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:110]
            rows.append(Row("generator", label, None, "ev/s/core", note=f"FAILED {msg}"))
            if not quick:
                traceback.print_exc(limit=2)
        print(f"  {rows[-1].item}: {rows[-1].value} {rows[-1].note}", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="", help="substring of the labels to run")
    parser.add_argument("--labels", default="", help="comma-separated exact labels to run")
    args = parser.parse_args()
    labels = tuple(x.strip() for x in args.labels.split(",") if x.strip())
    print_table(run(args.quick, args.only, labels))


if __name__ == "__main__":
    main()
