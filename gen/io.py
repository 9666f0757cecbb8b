"""HDF5 files of b2dark: the appendable writer shared by every stage, and the events reader.

Layout: shared/DESIGN.md, "Events file" (``format = "b2dark.events/1"``). Every file is written
under a temporary name in the destination folder and renamed only when complete; the root attribute
``complete = True`` is set last, and readers refuse a file without it. Datasets are chunked at about
1 MiB, uncompressed by default (DESIGN.md: h5py writes ~1 GB/s uncompressed, ~30x slower with
gzip). Compression is an option: ``B2DARK_COMPRESSION`` (or the command line's ``--compression``,
which sets it) = ``lzf`` or ``gzip[:level]`` (level 0-9, default 4), both with the byte-shuffle
filter; it applies to datasets created afterwards in this process (the client writes every file,
gen/shards.py) and never changes the data read back.

Writers append without HDF5's chunk cache (``rdcc_nbytes=0``) and never write fill values
(``fill_time="never"``): an append then goes straight to its place in the file. With the cache,
the partly filled last chunk of every dataset was written at each flush (the head file flushes
after every work chunk, gen/shards.py) and again, whole, when the next append filled it; with fill
values, every new chunk was written once with zeros first. Measured on the detector simulation of
1e6 signal events (benchmarks/bench_io.py --reco): bytes written / file size 1.55 -> 0.96, same
time. Unwritten slack exists only past the end of a dataset (the last chunk), where readers never
look.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gen.events import PARTICLE_FIELDS, EventChunk

if TYPE_CHECKING:  # h5py costs ~0.03 s to import: only where a file is opened
    import h5py

EVENTS_FORMAT = "b2dark.events/1"
_CHUNK_BYTES = 1 << 20
COMPRESSION_ENV = "B2DARK_COMPRESSION"
COMPRESSION_CHOICES = "none, lzf, gzip or gzip:LEVEL (LEVEL 0-9)"


class FileFormatError(ValueError):
    """A file that is missing, truncated, incomplete or not of the expected format (one line)."""


def compression_filter(spec: str | None = None) -> dict[str, Any]:
    """``h5py.create_dataset`` keywords for a compression spec (default: ``$B2DARK_COMPRESSION``,
    else none). Raises ValueError naming the allowed values."""
    if spec is None:
        spec = os.environ.get(COMPRESSION_ENV, "none")
    name, _, level = spec.strip().lower().partition(":")
    if name in ("", "none") and not level:
        return {}
    if name == "lzf" and not level:
        return {"compression": "lzf", "shuffle": True}
    if name == "gzip" and (not level or (level.isdigit() and int(level) <= 9)):
        return {"compression": "gzip", "compression_opts": int(level or 4), "shuffle": True}
    raise ValueError(f"compression {spec!r} is not one of: {COMPRESSION_CHOICES}")


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("b2dark")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "0+unknown"


class H5Writer:
    """Append-only writer of 1-D datasets; ``with`` commits on success and removes on failure.

    ``offsets`` names datasets holding n+1 offsets: appended chunks carry local offsets starting
    at 0 and are shifted by the running total of their ``owner`` dataset (e.g. particles).
    The file is written at ``work`` (default: a temporary name beside ``path``) and renamed to
    ``path`` by ``commit``. With ``lengths`` an existing ``work`` file is reopened to append more:
    its datasets are cut back to those lengths (data a killed writer added after them is dropped)
    and datasets not listed are removed (gen/shards.py, ``HeadFile``).
    """

    def __init__(
        self,
        path: str | Path,
        attrs: Mapping[str, Any],
        offsets: Mapping[str, str],
        *,
        work: str | Path | None = None,
        lengths: Mapping[str, int] | None = None,
    ):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise FileNotFoundError(f"{self.path.parent}: output folder does not exist; create it")
        self.tmp = (
            Path(work) if work is not None
            else self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        )
        self.offsets = dict(offsets)
        self.totals: dict[str, int] = {}
        import h5py

        if lengths is None:
            self.file = h5py.File(self.tmp, "w", rdcc_nbytes=0)
        else:
            self.file = h5py.File(self.tmp, "r+", rdcc_nbytes=0)
            for name in self.dataset_names():
                if name not in lengths:
                    del self.file[name]
                    continue
                self.file[name].resize((int(lengths[name]),))
                if name not in self.offsets:
                    self.totals[name] = int(lengths[name])
        for key, value in attrs.items():
            self.file.attrs[key] = value

    def dataset_names(self) -> list[str]:
        import h5py

        names: list[str] = []
        self.file.visititems(
            lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
        )
        return names

    def lengths(self) -> dict[str, int]:
        """The current length of every dataset (what ``lengths=`` takes to resume here)."""
        return {name: int(self.file[name].shape[0]) for name in self.dataset_names()}

    def flush(self) -> None:
        """Write everything appended so far to the file (a later kill leaves this state)."""
        self.file.flush()

    def close(self) -> None:
        """Close without committing or removing (the work file stays for a resume)."""
        self.file.close()

    def _dataset(self, name: str, dtype: np.dtype, first_length: int) -> h5py.Dataset:
        if name in self.file:
            return self.file[name]
        # ~1 MiB chunks, smaller for small files (a chunk is allocated whole); powers of two
        full = _CHUNK_BYTES // np.dtype(dtype).itemsize
        chunk = int(min(full, max(8192, 1 << int(np.ceil(np.log2(max(first_length, 1)))))))
        return self.file.create_dataset(
            name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(chunk,), fill_time="never",
            **compression_filter(),
        )

    def append(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name, array in arrays.items():
            array = np.asarray(array)
            if name in self.offsets:
                owner = self.offsets[name]
                if name not in self.file:
                    array = array.astype(np.int64)
                else:
                    array = array[1:].astype(np.int64)
                array = array + self.totals.get(owner, 0)
            ds = self._dataset(name, array.dtype, array.shape[0])
            n0 = ds.shape[0]
            ds.resize((n0 + array.shape[0],))
            ds[n0:] = array
        for name, array in arrays.items():
            if name not in self.offsets:
                self.totals[name] = self.totals.get(name, 0) + len(array)

    def set_attrs(self, attrs: Mapping[str, Any]) -> None:
        for key, value in attrs.items():
            self.file.attrs[key] = value

    def commit(self) -> None:
        self.file.attrs["complete"] = True
        self.file.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> H5Writer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(path: str | Path) -> int:
    """Remove temporary files of ``path`` left by killed writers (their pid is gone)."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        pid = tmp.name.rpartition("-")[2]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


#: offset datasets of an events file and the dataset whose length they index
EVENTS_OFFSETS = {"events/offset": "particles/pdg"}


def events_writer(path: str | Path, attrs: Mapping[str, Any]) -> H5Writer:
    """A writer for an events file; ``attrs`` are the root attributes of the contract."""
    return H5Writer(path, {"format": EVENTS_FORMAT, **attrs}, offsets=EVENTS_OFFSETS)


def chunk_arrays(chunk: EventChunk) -> dict[str, np.ndarray]:
    """The datasets of one chunk, named as in the events file."""
    out = {"events/weight": chunk.weight, "events/offset": chunk.offset}
    for name, dtype in PARTICLE_FIELDS.items():
        out[f"particles/{name}"] = chunk.particles[name].astype(dtype, copy=False)
    for name, array in chunk.truth.items():
        out[f"truth/{name}"] = array
    return out


def open_checked(path: str | Path, expected_format: str) -> h5py.File:
    """Open a complete b2dark file of ``expected_format`` or raise a one-line FileFormatError."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileFormatError(
            f"{path}: no such file; check the path or run the stage that makes it"
        )
    if not h5py.is_hdf5(path):
        raise FileFormatError(f"{path}: not an HDF5 file (truncated or foreign); regenerate it")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FileFormatError(f"{path}: cannot open as HDF5 ({exc}); regenerate it") from None
    fmt = f.attrs.get("format", None)
    if fmt != expected_format:
        f.close()
        family, _, version = str(expected_format).partition("/")
        if isinstance(fmt, str) and fmt.startswith(family + "/"):
            raise FileFormatError(
                f"{path}: format {fmt!r} is not supported by this b2dark "
                f"(reads {expected_format!r}); "
                "upgrade b2dark or regenerate the file"
            )
        raise FileFormatError(f"{path}: not a {expected_format!r} file (format={fmt!r})")
    if not bool(f.attrs.get("complete", False)):
        f.close()
        raise FileFormatError(f"{path}: incomplete file (no completion mark); regenerate it")
    return f


def _check_lengths(
    f: h5py.File, path: Path, n_key: str, offset_key: str, owner_prefix: str
) -> None:
    n = int(f.attrs["n_events"])
    if offset_key not in f or f[offset_key].shape[0] != n + 1:
        raise FileFormatError(
            f"{path}: {offset_key} does not hold n_events+1 entries; regenerate it"
        )
    n_items = int(f[offset_key][-1])
    for name, ds in f[owner_prefix].items():
        if ds.shape[0] != n_items:
            raise FileFormatError(
                f"{path}: {owner_prefix}/{name} has {ds.shape[0]} entries, "
                f"expected {n_items}; regenerate it"
            )
    if f[n_key].shape[0] != n:
        raise FileFormatError(f"{path}: {n_key} does not hold n_events entries; regenerate it")


def open_events(path: str | Path) -> h5py.File:
    """Open and verify an events file (format, completion mark, dataset lengths)."""
    f = open_checked(path, EVENTS_FORMAT)
    try:
        _check_lengths(f, Path(path), "events/weight", "events/offset", "particles")
    except FileFormatError:
        f.close()
        raise
    return f


def read_event_range(f: h5py.File, start: int, stop: int) -> EventChunk:
    """Events ``start:stop`` of an open events file, as a chunk with local offsets."""
    off = f["events/offset"][start : stop + 1]
    a, b = int(off[0]), int(off[-1])
    truth_names = list(f["truth"]) if "truth" in f else []
    return EventChunk(
        weight=f["events/weight"][start:stop],
        offset=off - a,
        particles={k: f[f"particles/{k}"][a:b] for k in PARTICLE_FIELDS},
        truth={k: f[f"truth/{k}"][start:stop] for k in truth_names},
    )


def iter_event_chunks(f: h5py.File, chunk_events: int) -> Iterator[tuple[int, EventChunk]]:
    """Yield (first event index, EventChunk with local offsets) over an open events file."""
    n = int(f.attrs["n_events"])
    for start in range(0, n, chunk_events):
        yield start, read_event_range(f, start, min(n, start + chunk_events))


def read_events(path: str | Path) -> tuple[dict[str, Any], EventChunk]:
    """The whole events file in memory (for tests and small samples): (attributes, chunk)."""
    with open_events(path) as f:
        attrs = dict(f.attrs)
        chunks = [c for _, c in iter_event_chunks(f, max(1, int(attrs["n_events"])))]
    if not chunks:
        return attrs, EventChunk.fixed_multiplicity(0, 0)
    return attrs, chunks[0]
