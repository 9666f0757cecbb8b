"""Shards and the head file: chunks of work written once, verified on restart, in chunk order.

A stage (generation, detector simulation) splits its output into chunks of
``gen.streams.CHUNK_BLOCKS`` reproducibility blocks. Everything lives in ``.<output name>.shards/``
beside the output, under a lock (our pid):

- the head file ``head.h5`` is the output under construction: chunks 0..k-1, appended in order,
  each followed by a flush and one line in ``head.jsonl`` (chunk, key, dataset lengths, stage
  data such as the block statistics). A chunk that finishes in order goes straight there, so with
  one worker every event is written once. When all chunks are in, the final attributes are set,
  ``complete`` last, and the head is renamed to the output (shared/DESIGN.md: no partial output).
- a chunk that finishes out of order (Dask workers) is written, complete or not at all (temporary
  name, rename, ``complete`` mark), to a shard ``chunk-<c>.h5`` and appended to the head (then
  removed) when its turn comes.

Each chunk carries a key (a digest of everything that determines its content: card text, seed,
chunk index, block sizes, ...). A restarted run keeps the head's journalled prefix whose keys
match (datasets cut back to the journalled lengths: a killed writer's partial append is dropped),
reuses the shards whose key matches and redoes the rest. So an interrupted run never leaves a file
that readers accept at the output path, and the final file does not depend on the order in which
chunks finished or on who computed them. (A process kill leaves the head as of its last flush;
an operating-system crash is not covered, as the shards before it were not fsynced either.)
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gen.io import H5Writer, _pid_alive, remove_stale_temps
from gen.streams import BLOCK_EVENTS

if TYPE_CHECKING:  # h5py costs ~0.03 s to import: only where a file is opened
    import h5py

SHARD_FORMAT = "b2dark.shard/1"
#: format attribute of a head file until it is committed (readers refuse it)
HEAD_FORMAT = "b2dark.head/1"
log = logging.getLogger("b2dark")


class ShardsBusyError(RuntimeError):
    """Another live process is writing the same output (one-line message)."""


def chunk_plan(n_events: int, chunk_blocks: int) -> list[tuple[int, list[int]]]:
    """(first block, events of each block) of every chunk; blocks hold ``BLOCK_EVENTS`` events."""
    if chunk_blocks < 1:
        raise ValueError(f"chunk_blocks must be >= 1, got {chunk_blocks}")
    sizes = [
        min(BLOCK_EVENTS, n_events - k * BLOCK_EVENTS)
        for k in range(math.ceil(n_events / BLOCK_EVENTS))
    ]
    return [
        (first, sizes[first : first + chunk_blocks])
        for first in range(0, len(sizes), chunk_blocks)
    ]


def digest(payload: Mapping[str, Any]) -> str:
    """A stable hex digest of a JSON-able description."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@functools.cache
def code_digest(*packages: str) -> str:
    """A digest of the Python sources of ``packages``: shards made by other code are redone.

    (The version string alone does not change while the code is being developed.)
    """
    h = hashlib.sha256()
    for package in packages:
        root = Path(importlib.import_module(package).__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def shard_dir(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(f".{output.name}.shards")


class ShardStore:
    """The shard folder of one output; ``with`` holds a lock file (our pid) against a second writer.

    ``offsets`` maps offset datasets to the dataset they index, as in ``gen.io.H5Writer``.
    """

    def __init__(self, output: str | Path, offsets: Mapping[str, str]):
        self.output = Path(output)
        if not self.output.parent.is_dir():
            raise FileNotFoundError(
                f"{self.output.parent}: output folder does not exist; create it"
            )
        self.dir = shard_dir(self.output)
        self.offsets = dict(offsets)
        self._lock = self.dir / "lock"
        self._locked = False

    # -- lock -------------------------------------------------------------------------------
    def __enter__(self) -> ShardStore:
        self.dir.mkdir(exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self._lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self._lock.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _pid_alive(pid):
                    raise ShardsBusyError(
                        f"{self.output}: being written by another b2dark process (pid {pid}); "
                        "wait for it or choose another output"
                    ) from None
                self._lock.unlink(missing_ok=True)  # a killed run's lock
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self._locked = True
            break
        # temporary files of killed writers (shards, final file) are garbage now
        for tmp in self.dir.glob("*.tmp-*"):
            tmp.unlink(missing_ok=True)
        remove_stale_temps(self.output)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._locked and self.dir.exists():
            self._lock.unlink(missing_ok=True)
        self._locked = False

    # -- shards -----------------------------------------------------------------------------
    def path(self, chunk: int) -> Path:
        return self.dir / f"chunk-{chunk:06d}.h5"

    def verified(self, chunk: int, key: str, n_events: int) -> dict[str, Any] | None:
        """The attributes of chunk's shard if it is complete, consistent and has ``key``; else
        None (an unusable shard is removed)."""
        import h5py

        path = self.path(chunk)
        if not path.exists():
            return None
        reason = None
        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
                if attrs.get("format") != SHARD_FORMAT or not attrs.get("complete", False):
                    reason = "incomplete or foreign"
                elif attrs.get("shard_key") != key or int(attrs.get("chunk", -1)) != chunk:
                    reason = "made with other settings"
                elif int(attrs.get("n_events", -1)) != n_events:
                    reason = "wrong number of events"
                else:
                    reason = self._length_problem(f, n_events)
        except (OSError, ValueError) as exc:
            reason = f"unreadable ({exc})"
        if reason is None:
            return attrs
        log.info("shard %s: %s; redoing it", path.name, reason)
        path.unlink(missing_ok=True)
        return None

    def _length_problem(self, f: h5py.File, n_events: int) -> str | None:
        owners = {}
        for off_name, owner in self.offsets.items():
            if off_name not in f or f[off_name].shape[0] != n_events + 1:
                return f"{off_name} does not hold n_events+1 entries"
            owners[owner.partition("/")[0]] = int(f[off_name][-1])
        for group in f:
            for name, ds in f[group].items():
                full = f"{group}/{name}"
                if full in self.offsets:
                    continue
                expected = owners.get(group, n_events)
                if ds.shape[0] != expected:
                    return f"{full} has {ds.shape[0]} entries, expected {expected}"
        return None

    def write(
        self, chunk: int, parts: Sequence[Mapping[str, np.ndarray]], attrs: Mapping[str, Any]
    ) -> None:
        """Write chunk's shard from its blocks' arrays (local offsets starting at 0)."""
        shard_attrs = {"format": SHARD_FORMAT, "chunk": chunk, **attrs}
        with H5Writer(self.path(chunk), shard_attrs, self.offsets) as writer:
            for part in parts:
                writer.append(part)

    def read(self, chunk: int) -> dict[str, np.ndarray]:
        """Every dataset of chunk's shard (offsets local, starting at 0)."""
        import h5py

        out: dict[str, np.ndarray] = {}
        with h5py.File(self.path(chunk), "r") as f:
            f.visititems(
                lambda name, obj: (
                    out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
                )
            )
        return out

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def concat_parts(
    parts: Sequence[Mapping[str, np.ndarray]], offsets: Mapping[str, str]
) -> dict[str, np.ndarray]:
    """Blocks' arrays (local offsets from 0) as one chunk: the HDF5 chunk shapes of the output
    then follow the size of a work chunk, as when whole shards were copied into it. Names come
    sorted, as a shard reads back: the head's datasets are created and grown in the same order
    whether a chunk arrives from a worker or from a shard, so the files are the same bytes."""
    if len(parts) == 1:
        return {name: parts[0][name] for name in sorted(parts[0])}
    out: dict[str, np.ndarray] = {}
    for name in parts[0]:
        if name in offsets:
            owner = offsets[name]
            shift = np.cumsum([0] + [len(p[owner]) for p in parts[:-1]])
            pieces = [np.asarray(parts[0][name], dtype=np.int64)] + [
                np.asarray(p[name][1:], dtype=np.int64) + s
                for p, s in zip(parts[1:], shift[1:], strict=True)
            ]
            out[name] = np.concatenate(pieces)
        else:
            out[name] = np.concatenate([p[name] for p in parts])
    return {name: out[name] for name in sorted(out)}


class HeadFile:
    """The output under construction in a ``ShardStore``: chunks 0..k-1, in order (module doc).

    ``records`` are the journal lines of the chunks already in (resumed from an interrupted
    run if their keys match ``keys``); ``append`` adds the next chunk, ``drain`` the shards
    that are next in line, ``commit`` renames the finished file to the output.
    """

    def __init__(self, store: ShardStore, keys: Sequence[str]):
        self.store = store
        self.keys = list(keys)
        self.path = store.dir / "head.h5"
        self.journal = store.dir / "head.jsonl"
        self.records = self._verified_records()
        if self.records:
            self._rewrite_journal()
            self.writer = H5Writer(
                store.output, {}, store.offsets, work=self.path,
                lengths=self.records[-1]["lengths"],
            )
        else:
            self.journal.unlink(missing_ok=True)
            self.writer = H5Writer(
                store.output, {"format": HEAD_FORMAT}, store.offsets, work=self.path
            )
        for c in range(self.n_chunks):  # shards of chunks already in the head are leftovers
            store.path(c).unlink(missing_ok=True)

    @property
    def n_chunks(self) -> int:
        return len(self.records)

    def _verified_records(self) -> list[dict[str, Any]]:
        if not (self.path.exists() and self.journal.exists()):
            return []
        records: list[dict[str, Any]] = []
        for line in self.journal.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:  # a line torn by a kill
                break
            c = len(records)
            if not isinstance(rec, dict) or rec.get("chunk") != c or c >= len(self.keys):
                break
            if rec.get("key") != self.keys[c]:
                log.info("head: chunk %d made with other settings; redoing from there", c)
                break
            records.append(rec)
        if not records:
            return []
        import h5py

        reason = None
        try:
            with h5py.File(self.path, "r") as f:
                lengths = records[-1]["lengths"]
                if f.attrs.get("format") != HEAD_FORMAT:
                    reason = "foreign"
                elif any(name not in f or f[name].shape[0] < n for name, n in lengths.items()):
                    reason = "shorter than its journal"
                else:  # offsets end where their owner datasets end
                    for off, owner in self.store.offsets.items():
                        n = lengths.get(off, 0)
                        if n and int(f[off][n - 1]) != lengths.get(owner, -1):
                            reason = f"{off} inconsistent with {owner}"
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"unreadable ({exc})"
        if reason is not None:
            log.info("head: %s; redoing every chunk", reason)
            return []
        return records

    def _rewrite_journal(self) -> None:
        tmp = self.journal.with_name(f"{self.journal.name}.tmp-{os.getpid()}")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self.records))
        os.replace(tmp, self.journal)

    def append(
        self, chunk: int, parts: Sequence[Mapping[str, np.ndarray]], data: Mapping[str, Any]
    ) -> None:
        """Append chunk (the next one) from its blocks' arrays; ``data`` (JSON-able) is kept in
        its journal line, e.g. the block statistics."""
        if chunk != self.n_chunks:
            raise ValueError(f"chunk {chunk} is not next in the head (next: {self.n_chunks})")
        self.writer.append(concat_parts(parts, self.store.offsets))
        self.writer.flush()
        rec = {"chunk": chunk, "key": self.keys[chunk], "lengths": self.writer.lengths(),
               **data}
        line = json.dumps(rec) + "\n"
        with open(self.journal, "a") as f:
            f.write(line)
        self.records.append(rec)

    def drain(self, data: Mapping[int, Mapping[str, Any]]) -> list[int]:
        """Append the shards that are next in line (``data[c]`` for chunk c's journal line),
        removing each; returns the chunks appended."""
        done = []
        while self.n_chunks < len(self.keys) and self.store.path(self.n_chunks).exists():
            c = self.n_chunks
            self.append(c, [self.store.read(c)], data[c])
            self.store.path(c).unlink()
            done.append(c)
        return done

    def commit(self, attrs: Mapping[str, Any]) -> None:
        """Set the final attributes (``complete`` last) and rename the head to the output."""
        if self.n_chunks != len(self.keys):
            raise RuntimeError(f"head holds {self.n_chunks} of {len(self.keys)} chunks")
        for key in list(self.writer.file.attrs):
            del self.writer.file.attrs[key]
        self.writer.set_attrs(attrs)
        self.writer.commit()

    def close(self) -> None:
        """Close, keeping the head for a restart (interrupts, errors)."""
        if self.writer.file.id.valid:
            self.writer.close()


def chunks_on_disk(output: str | Path) -> set[int]:
    """Chunks of ``output`` that a restart can reuse: in the head's journal or as shards."""
    d = shard_dir(output)
    done = {int(p.stem.split("-")[1]) for p in d.glob("chunk-*.h5")}
    journal = d / "head.jsonl"
    if journal.exists() and (d / "head.h5").exists():
        for line in journal.read_text().splitlines():
            try:
                done.add(int(json.loads(line)["chunk"]))
            except (ValueError, KeyError, TypeError):
                break
    return done
