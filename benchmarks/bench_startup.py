"""Start-up of a whole process: cold JIT (empty numba cache) against the warm cache; peak RSS.

    python benchmarks/bench_startup.py [--quick]

Each measurement is a fresh ``python -c`` that imports the signal process, builds it from a card,
runs a small pilot and generates one event, with ``NUMBA_CACHE_DIR`` pointing at a new folder
(cold: every kernel compiled) and then at the same folder again (warm: kernels loaded from the
cache). Target: warm < 1 s. Peak RSS is the child's own VmHWM (/proc/self/status); the
``resource.getrusage(RUSAGE_CHILDREN)`` maximum is listed too, but on Linux it can include the
parent's RSS at fork time. The pilot is shortened to 2000 trials: the start-up,
not the pilot, is measured here.
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


def _child(cache: Path) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join([str(_HERE.parent), env.get("PYTHONPATH", "")])
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                         cwd=_HERE.parent, timeout=900, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["total"] = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    return out


def run(quick: bool = False) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba_cache"
        cold = _child(cache)
        warm = min((_child(cache) for _ in range(1 if quick else 3)), key=lambda r: r["cpu"])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for name, r in (("cold (empty numba cache)", cold), ("warm (cached kernels)", warm)):
        rows.append(Row(
            "startup", f"mumu_zprime 1 event, {name}", r["cpu"], "s (CPU)",
            note=f"wall {r['total']:.2f} s; in the child (wall): import {r['import']:.2f} s, "
            f"build+pilot+1 event {r['first_event']:.2f} s, "
            f"peak RSS {r['rss_mib']:.0f} MiB",
        ))
    rows.append(Row("startup", "max RSS of any child process so far", children, "MiB",
                    note="resource.getrusage(RUSAGE_CHILDREN).ru_maxrss: includes the TF peer "
                    "and Dask workers if run before, and on Linux a child's RSS inherited at fork"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print_table(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
