"""Start-up of a whole process: cold JIT (empty numba cache) against the warm cache; peak RSS.

    python benchmarks/bench_startup.py [--quick]

Each measurement is a fresh ``python -c`` that imports the signal process, builds it from a card,
runs a small pilot and generates one event, with ``NUMBA_CACHE_DIR`` pointing at a new folder
(cold: every kernel compiled) and then at the same folder again (warm: kernels loaded from the
cache). The pilot is shortened to 2000 trials: the start-up, not the pilot, is measured here.
Then the command line itself, warm: ``b2dark --help``, ``b2dark generate`` of the signal card
with 1000 events (``analysis.cli.main``, full pilot of 2e5 trials, file written) and ``b2dark
xsec`` of it with 1000 points; generate and xsec run interleaved with a peer, the same command
with numba's registries loaded before the first kernel (``gen.startup.load_numba_registries``,
the command line before ``defer_numba_registries``). Medians of 5 runs (``--quick``: 1). Target:
warm ``b2dark generate`` < 1 s. Peak RSS is the child's own VmHWM (/proc/self/status); the
``resource.getrusage(RUSAGE_CHILDREN)`` maximum is listed too, but on Linux it can include the
parent's RSS at fork time. CPU times are the child's (user + system).

``--decay-tables``: build + pilot of the bbbar and qqbar cards (generic DECAY_BELLE2.DEC decays)
with an empty and with a filled b2dark disk cache (``B2DARK_CACHE_DIR``), numba kernels warm.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, print_table  # noqa: E402

CHILD = """
import json, resource, time
t0 = time.perf_counter()
from gen.processes.mumu_zprime import MuMuZPrime
from gen.beams import Beams
from gen.cards import parse_table
from gen.streams import stream, GENERATION, PILOT
t1 = time.perf_counter()
proc = MuMuZPrime(parse_table({"mass_gev": 1.0}, MuMuZPrime.params, "p"), {}, Beams())
proc.prepare(stream(1, PILOT), 2000)
chunk, stats = proc.generate(stream(1, GENERATION), 1)
t2 = time.perf_counter()
# VmHWM: this process's peak RSS (ru_maxrss can carry the parent's RSS at fork over the exec)
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rss = int(hwm[0].split()[1]) / 1024 if hwm else self_rss
print(json.dumps({"import": t1 - t0, "first_event": t2 - t1, "rss_mib": rss}))
"""


#: the command line in a child: analysis.cli.main (what `b2dark` runs), then the child's VmHWM;
#: EAGER=1: numba's registries loaded before the first kernel, as before defer_numba_registries
CLI_CHILD = """
import json, os, sys, time
t0 = time.perf_counter()
if os.environ.get("EAGER") == "1":
    import gen.startup
    gen.startup.defer_numba_registries = gen.startup.load_numba_registries
from analysis.cli import main
code = 0
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help
    code = exc.code
t1 = time.perf_counter()
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
print(json.dumps({"import": 0.0, "first_event": t1 - t0, "code": code,
                  "rss_mib": int(hwm[0].split()[1]) / 1024}))
"""
SIGNAL_CARD = _HERE.parent / "cards" / "samples" / "zprime_invisible_signal.toml"

#: a sample card's process: imports, card (process built), pilot, 100 events (decays included)
BUILD_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from gen.startup import defer_numba_registries
defer_numba_registries()  # as the command line does
from gen.generate import prepare
from gen.runcard import load_sample
from gen.streams import GENERATION, stream
t1 = time.perf_counter()
card = load_sample(sys.argv[1])
proc = prepare(card)
t2 = time.perf_counter()
proc.generate(stream(card.seed, GENERATION, 0), 100)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_event": t2 - t1, "generate": t3 - t2}))
"""
DECAY_CARDS = ("bbbar", "qqbar")


def _child(cache: Path | None, code: str = CHILD, args: tuple[str, ...] = (),
           env_extra: dict[str, str] | None = None) -> dict:
    env = {**os.environ, **(env_extra or {})}
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(_HERE.parent), env.get("PYTHONPATH", "")])
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, cwd=_HERE.parent, timeout=900, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["total"] = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return out


def decay_table_rows(quick: bool = False) -> list[Row]:
    """Build + pilot of the bbbar / qqbar processes with an empty and with a filled b2dark disk
    cache (``B2DARK_CACHE_DIR``: parsed and compiled DECAY_BELLE2.DEC tables); numba's own cache
    is the project's (kernels warm: run once before)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in DECAY_CARDS:
            card = str(_HERE.parent / "cards" / "samples" / f"{name}.toml")
            _child(None, BUILD_CHILD, (card,))  # kernels compiled / loaded once
            folder = {"B2DARK_CACHE_DIR": str(Path(tmp) / name)}
            cold = _child(None, BUILD_CHILD, (card,), folder)
            warm = sorted((_child(None, BUILD_CHILD, (card,), folder)
                           for _ in range(1 if quick else 3)), key=lambda r: r["cpu"])
            median = warm[len(warm) // 2]
            for label, r in (("empty disk cache", cold), ("filled disk cache", median)):
                rows.append(Row(
                    "startup", f"{name}: start to 100 events, {label}", r["cpu"], "s (CPU)",
                    note=f"wall {r['total']:.2f} s: imports {r['import']:.2f} s, card + process + "
                    f"pilot {r['first_event']:.2f} s, 100 events {r['generate']:.2f} s; "
                    f"load average {os.getloadavg()[0]:.1f}",
                ))
    return rows


def _median(runs: list[dict]) -> dict:
    """The run of median CPU time (its wall time and RSS with it)."""
    return sorted(runs, key=lambda r: r["cpu"])[len(runs) // 2]


def run(quick: bool = False) -> list[Row]:
    rows = []
    repeats = 1 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba_cache"
        cold = _child(cache)
        warm = _median([_child(cache) for _ in range(repeats)])
        out = Path(tmp) / "ev.h5"
        gen_args = ("generate", str(SIGNAL_CARD), "-o", str(out), "--events", "1000")
        xsec_args = ("xsec", str(SIGNAL_CARD), "--points", "1000")
        for args in (gen_args, xsec_args):  # the kernels of the full signal generator
            _child(cache, CLI_CHILD, args)
        cli = {
            "b2dark --help": ("--help",),
            "b2dark generate signal card, 1000 events": gen_args,
            "b2dark xsec signal card, 1000 points": xsec_args,
        }
        runs: dict[tuple[str, bool], list[dict]] = {}
        for _ in range(repeats):  # interleaved: the machine's load hits both alike
            for name, args in cli.items():
                for eager in (False, True) if name != "b2dark --help" else (False,):
                    r = _child(cache, CLI_CHILD, args, {"EAGER": "1" if eager else "0"})
                    r["load"] = os.getloadavg()[0]
                    runs.setdefault((name, eager), []).append(r)
        cli_runs = {key: _median(r) for key, r in runs.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for name, r in (("cold (empty numba cache)", cold), ("warm (cached kernels)", warm)):
        rows.append(Row(
            "startup", f"mumu_zprime 1 event, {name}", r["cpu"], "s (CPU)",
            note=f"wall {r['total']:.2f} s; in the child (wall): import {r['import']:.2f} s, "
            f"build+pilot+1 event {r['first_event']:.2f} s, "
            f"peak RSS {r['rss_mib']:.0f} MiB",
        ))
    for (name, eager), r in cli_runs.items():
        if eager:
            continue
        peer = cli_runs.get((name, True))
        rows.append(Row(
            "startup", f"{name}, warm", r["cpu"], "s (CPU)",
            peer=peer["cpu"] if peer else None,
            peer_name="numba registries loaded eagerly" if peer else "",
            note=f"median of {repeats}: wall {r['total']:.2f} s; exit {r['code']}; peak RSS "
            f"{r['rss_mib']:.0f} MiB; load average {r['load']:.1f}"
            + (f"; peer: numba's registries loaded before the first kernel, wall "
               f"{peer['total']:.2f} s, {peer['rss_mib']:.0f} MiB" if peer else ""),
        ))
    rows.append(Row("startup", "max RSS of any child process so far", children, "MiB",
                    note="resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: includes the TF peer "
                    "and Dask workers if run before, and on Linux a child's RSS inherited at fork"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decay-tables", action="store_true",
                        help="only the bbbar / qqbar build times, empty vs filled disk cache")
    args = parser.parse_args()
    print_table(decay_table_rows(args.quick) if args.decay_tables else run(args.quick))


if __name__ == "__main__":
    main()
