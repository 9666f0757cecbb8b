"""Shards: one HDF5 file per chunk of work, verified on restart and merged into the final file.

A stage (generation, detector simulation) splits its output into chunks of
``gen.streams.CHUNK_BLOCKS`` reproducibility blocks. Chunk c is written, complete or not at all
(temporary name, rename, ``complete`` mark), to ``.<output name>.shards/chunk-<c>.h5`` beside the
output. Each shard carries a key (a digest of everything that determines its content: card text,
seed, chunk index, block sizes, ...); a restarted run reuses the shards whose key matches and redoes
the others. When every chunk is there the shards are appended, in chunk order, to the final file
(itself written under a temporary name and renamed), and the shard folder is removed. So an
interrupted run never leaves a file that readers accept at the output path, and the final file does
not depend on the order in which chunks finished or on who computed them.
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
from typing import Any

import h5py
import numpy as np

from gen.io import H5Writer, _pid_alive, remove_stale_temps
from gen.streams import BLOCK_EVENTS

SHARD_FORMAT = "b2dark.shard/1"
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
