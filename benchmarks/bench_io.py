"""Events/s to disk (generate_sample), HDF5 bandwidth against plain h5py, detector simulation.

    python benchmarks/bench_io.py [--quick]

Generation into a temporary file, one worker; then the same datasets written again through the
project's writer (gen.io.events_writer: chunked, resizable, ~1 MiB chunks) and with plain h5py
(contiguous datasets, one write each: the practical limit of h5py on this disk). The bytes this
process hands to write() during generation (``wchar`` of /proc/self/io) divided by the file size
say how often every event was written: 1 when chunks go straight into the output (gen/shards.py,
head file), 2 when they went through shards first.

``--reco``: the detector simulation of a 1e6-event signal file in a child process (1 worker):
bytes written / reco file size (``wchar``) and the child's peak RSS (VmHWM). Measured: 3.43 with
reco chunks written to shards and then copied into the output; 1.55 through the head file; 0.96
with the writer's chunk cache and fill values off (gen/io.py; < 1: the unwritten end of each
dataset's last chunk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(_HERE), str(_HERE.parent)]  # scripts: the repo and this folder

from common import Row, best_of, print_table, sample_card, timed  # noqa: E402

PROCESS = ("mumu_zprime", {"mass_gev": 1.0})


def _read_all(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)

        def grab(name, obj):
            if isinstance(obj, h5py.Dataset):
                arrays[name] = obj[...]

        f.visititems(grab)
    return arrays, attrs


def _write_plain(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with h5py.File(path, "w") as f:
        for name, a in arrays.items():
            f.create_dataset(name, data=a)


def _write_project(path: Path, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    from gen.io import events_writer

    with events_writer(path, {k: v for k, v in attrs.items() if k != "format"}) as w:
        w.append(arrays)


def _written_bytes() -> int | None:
    """Bytes this process passed to write()/pwrite() so far (Linux /proc/self/io), else None."""
    try:
        with open("/proc/self/io") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("wchar:"))
    except (OSError, StopIteration, ValueError):
        return None


def _detector(events: Path, tmp: Path, n: int) -> Row:
    """Events/s of the detector simulation (detector.reco_io.simulate_file) on that file."""
    try:
        from detector.reco_io import simulate_file

        simulate_file(events, tmp / "warm_reco.h5")  # JIT / cache load
        attrs, cpu, wall = timed(lambda: simulate_file(events, tmp / "reco.h5"))
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        return Row("disk", "detector simulation", None, "ev/s/core", note=f"FAILED {exc}")
    return Row("disk", f"detector simulation of those {PROCESS[0]} events", n / cpu, "ev/s/core",
               note=f"file to file, 1 worker; wall {n / wall:.3g} ev/s; {n} ev")


#: detector simulation of an events file in a child: wchar, file size, VmHWM, times
RECO_CHILD = """
import json, os, sys, time
from detector.reco_io import simulate_file
from gen.startup import load_numba_registries
load_numba_registries()
def wchar():
    with open("/proc/self/io") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("wchar:"))
w0, t0, c0 = wchar(), time.perf_counter(), time.process_time()
simulate_file(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]))
w1, t1, c1 = wchar(), time.perf_counter(), time.process_time()
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")]
print(json.dumps({"written": w1 - w0, "size": os.path.getsize(sys.argv[2]), "wall": t1 - t0,
                  "cpu": c1 - c0, "rss_mib": int(hwm[0].split()[1]) / 1024}))
"""


def reco_rows(quick: bool = False, out: Path | None = None) -> list[Row]:
    """Bytes written and peak RSS of ``simulate_file`` (child process, 1 worker)."""
    import json
    import os
    import subprocess

    from gen.generate import generate_sample

    n = 100_000 if quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp = Path(tmp)
        generate_sample(sample_card(*PROCESS, events=n), tmp / "ev.h5")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_HERE.parent),
                                                            os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-c", RECO_CHILD, str(tmp / "ev.h5"), str(tmp / "reco.h5"), "1"]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        rows.append(Row(
            "disk", f"detector simulation, bytes written / reco file size ({n} ev)",
            r["written"] / r["size"], "x", note=f"{r['size'] / 1e6:.0f} MB file; wall "
            f"{r['wall']:.1f} s, CPU {r['cpu']:.1f} s; peak RSS {r['rss_mib']:.0f} MiB; "
            f"load average {os.getloadavg()[0]:.1f}",
        ))
    return rows


def run(quick: bool = False, out: Path | None = None) -> list[Row]:
    from gen.generate import generate_sample

    n = 100_000 if quick else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp = Path(tmp)
        card = sample_card(*PROCESS, events=n)
        generate_sample(card, tmp / "warm.h5", events=2000)  # JIT / cache load
        w0 = _written_bytes()
        attrs, cpu, wall = timed(lambda: generate_sample(card, tmp / "disk.h5"))
        w1 = _written_bytes()
        size = (tmp / "disk.h5").stat().st_size
        times = f"{(w1 - w0) / size:.2f}" if w0 is not None and w1 is not None else "n/a"
        # in-memory generation of the same events, for the cost of I/O and bookkeeping
        from gen.streams import GENERATION, PILOT, stream

        proc = card.build()
        proc.prepare(stream(1, PILOT, 0))
        _, mcpu, mwall = timed(lambda: proc.generate(stream(1, GENERATION, 0), n))
        rows.append(Row(
            "disk", f"{PROCESS[0]} M=1 to disk (1 worker)", attrs["n_events"] / cpu, "ev/s/core",
            peer=n / mcpu, peer_name="in memory",
            note=f"wall {attrs['n_events'] / wall:.3g} ev/s; {size / 1e6:.0f} MB, "
            f"{size / wall / 1e6:.0f} MB/s of wall time; bytes written / file size {times}; "
            f"{n} ev",
        ))
        rows.append(_detector(tmp / "disk.h5", tmp, n))
        arrays, fattrs = _read_all(tmp / "disk.h5")
        nbytes = sum(a.nbytes for a in arrays.values())
        rep = 2 if quick else 3
        _, _, w_plain = best_of(lambda: _write_plain(tmp / "plain.h5", arrays), rep)
        _, _, w_proj = best_of(lambda: _write_project(tmp / "proj.h5", arrays, fattrs), rep)
        rows.append(Row(
            "disk", "HDF5 write, gen.io.events_writer", nbytes / w_proj / 1e6, "MB/s",
            peer=nbytes / w_plain / 1e6, peer_name="plain h5py",
            note=f"{nbytes / 1e6:.0f} MB in {len(arrays)} datasets, wall time, page cache",
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="folder for the temporary files")
    parser.add_argument("--reco", action="store_true",
                        help="only the reco file: bytes written / size and peak RSS")
    args = parser.parse_args()
    print_table((reco_rows if args.reco else run)(args.quick, args.out))


if __name__ == "__main__":
    main()
