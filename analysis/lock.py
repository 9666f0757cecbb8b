"""An output-directory lock: two runs writing into the same folder at once would mix samples."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


class LockedError(RuntimeError):
    """Another b2dark process holds the output directory (one-line message)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(outdir: Path) -> Iterator[None]:
    """Hold ``outdir/.b2dark.lock`` (our pid inside); a dead process's stale lock is taken over."""
    outdir.mkdir(parents=True, exist_ok=True)
    lock = outdir / ".b2dark.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise LockedError(
                    f"{outdir}: in use by another b2dark process (pid {pid}); wait for it or "
                    "choose another output folder"
                ) from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
