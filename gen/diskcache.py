"""An on-disk cache of slow, deterministic start-up results (JSON), keyed by everything they use.

Measured on this machine (numba 0.68, particle 0.26, decaylanguage 0.18): parsing
DECAY_BELLE2.DEC with ``decaylanguage.DecFileParser`` takes ~2.3 s of CPU, loading the PDG table
of ``particle`` for six masses ~0.1 s: paid by every process that needs them, on every start.
``cached_json(name, key, compute)`` returns ``compute()`` the first time and the stored value
afterwards, as long as ``key`` (e.g. the package version and the input file's size and mtime) is
the same. The value must survive a JSON round trip (floats do, exactly: ``repr``; tuples come back
as lists). Folder: ``$B2DARK_CACHE_DIR``, else ``$XDG_CACHE_HOME/b2dark``, else
``~/.cache/b2dark``. A cache that cannot be read or written is ignored (the value is computed).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FORMAT = "b2dark.cache/1"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get("B2DARK_CACHE_DIR"):
        return Path(os.environ["B2DARK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "b2dark"


def file_key(path: str | Path) -> dict[str, Any]:
    """A cheap identity of an input file for ``key``: path, size and modification time."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cached_json(name: str, key: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """``compute()``, stored under ``name`` and ``key`` (JSON-able) for the next process."""
    key_text = json.dumps(key, sort_keys=True)
    digest = hashlib.sha256(f"{name}\n{key_text}".encode()).hexdigest()[:24]
    path = cache_dir() / f"{name}-{digest}.json"
    try:
        stored = json.loads(path.read_text())
        if stored.get("format") == FORMAT and stored.get("key") == json.loads(key_text):
            return stored["value"]
    except (OSError, ValueError, AttributeError, KeyError):
        pass  # absent, unreadable or foreign: compute
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps({"format": FORMAT, "key": key, "value": value}))
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except (OSError, TypeError, ValueError):
        pass  # read-only home, full disk or a value JSON cannot hold: no cache, same result
    return value
