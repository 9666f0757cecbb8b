"""An on-disk cache of slow, deterministic start-up results (JSON), keyed by everything they use.

Measured on this machine (numba 0.68, particle 0.26, decaylanguage 0.18): parsing
DECAY_BELLE2.DEC with ``decaylanguage.DecFileParser`` takes ~2.3 s of CPU, loading the PDG table
of ``particle`` for six masses ~0.1 s: paid by every process that needs them, on every start.
``cached_json(name, key, compute)`` returns ``compute()`` the first time and the stored value
afterwards, as long as ``key`` (e.g. the package version and the input file's size and mtime) is
the same. The value must survive a JSON round trip (floats do, exactly: ``repr``; tuples come back
as lists). Folder: ``$B2DARK_CACHE_DIR``, else ``$XDG_CACHE_HOME/b2dark``, else
``~/.cache/b2dark``. A cache that cannot be read or written is ignored (the value is computed).

``cached_arrays(name, key, compute)`` does the same for numpy arrays plus JSON metadata (one
``.npz`` file, exact dtypes and bits), e.g. the compiled generic decay tables
(``gen.decays.generic``): parse + build + pilot ~5 s of CPU, load ~0.05 s. Keys built from
``content_key`` (a file's sha256) and ``source_key`` (the sha256 of the Python sources that compute
the value) change whenever the input or the code does. Writers use a unique temporary name and an
atomic ``os.replace``, so concurrent writers of one key leave one whole file; a truncated or
corrupted file is recomputed and overwritten. Only the ``KEEP_ENTRIES`` newest array entries of
a name are kept (their files are MBs; every code change makes a new key). ``load_arrays`` /
``store_arrays`` are its two halves, for callers whose computation has side effects (the pilot
run, ``gen.pilotcache``); ``runtime_key`` names what makes the same code give other bits
(numpy / numba / Python versions, CPU features), for keys of floating-point results.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "b2dark.cache/1"
#: format of the metadata stored inside a ``cached_arrays`` file
ARRAYS_FORMAT = "b2dark.cache-arrays/1"
#: newest ``cached_arrays`` entries kept per name
KEEP_ENTRIES = 4
_META = "__meta__"


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


def content_key(path: str | Path) -> str:
    """The sha256 of a file's content (a key that survives copies and touches)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def source_key(*modules: Any) -> str:
    """The sha256 of the source files of ``modules`` (module objects): a code version that
    changes with every edit, unlike the package version during development."""
    h = hashlib.sha256()
    for module in modules:
        h.update(module.__name__.encode())
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()


def _entry(name: str, key_text: str, suffix: str) -> Path:
    digest = hashlib.sha256(f"{name}\n{key_text}".encode()).hexdigest()[:24]
    return cache_dir() / f"{name}-{digest}{suffix}"


def _replace_atomically(path: Path, write: Callable[[Any], None]) -> None:
    """``write(file object)`` into a unique temporary file beside ``path``, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_arrays(name: str, key: Mapping[str, Any]) -> tuple[dict[str, np.ndarray], Any] | None:
    """The (arrays, metadata) stored under ``name`` and ``key``, or None: absent, truncated,
    corrupted, foreign or stored under another key."""
    key_text = json.dumps(key, sort_keys=True)
    path = _entry(name, key_text, ".npz")
    try:
        # our own handle: np.load leaks its file when the zip is corrupted
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            meta = json.loads(z[_META].tobytes().decode())
            if meta.get("format") == ARRAYS_FORMAT and meta.get("key") == json.loads(key_text):
                arrays = {k: z[k] for k in z.files if k != _META}
                if sorted(arrays) == meta.get("arrays"):
                    return arrays, meta["value"]
    except Exception:  # noqa: BLE001 - absent, truncated, corrupted or foreign: compute
        pass
    return None


def store_arrays(name: str, key: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                 value: Any, keep: int = KEEP_ENTRIES) -> bool:
    """Store (arrays, JSON-able ``value``) under ``name`` and ``key``, keeping the ``keep``
    newest entries of ``name``; False if it could not be written (read-only home, full disk,
    metadata JSON cannot hold): the caller computes again."""
    path = _entry(name, json.dumps(key, sort_keys=True), ".npz")
    try:
        meta = {"format": ARRAYS_FORMAT, "key": key, "arrays": sorted(arrays), "value": value}
        blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        _replace_atomically(path, lambda f: np.savez(f, **arrays, **{_META: blob}))
        _prune(name, path, keep)
    except (OSError, TypeError, ValueError):
        return False
    return True


def cached_arrays(
    name: str,
    key: Mapping[str, Any],
    compute: Callable[[], tuple[Mapping[str, np.ndarray], Any]],
) -> tuple[dict[str, np.ndarray], Any]:
    """``compute()`` -> (arrays by name, JSON-able metadata), stored under ``name`` and ``key``
    (JSON-able) as one ``.npz``; returns the stored copy while the key is the same."""
    found = load_arrays(name, key)
    if found is not None:
        return found
    arrays, value = compute()
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    store_arrays(name, key, arrays, value)
    return arrays, value


@functools.cache
def runtime_key() -> dict[str, Any]:
    """What makes the same code give other floating-point bits: numpy / numba / Python versions,
    the machine and numpy's enabled CPU features (its SIMD loops and glibc's libm dispatch on
    them, e.g. AVX512F vs AVX2 + FMA3 give other last bits of exp/log)."""
    import platform
    import sys

    import numba

    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        features = {}
    return {
        "numpy": np.__version__,
        "numba": numba.__version__,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu": sorted(k for k, v in features.items() if v),
    }


def _prune(name: str, newest: Path, keep: int = KEEP_ENTRIES) -> None:
    """Remove all but the ``keep`` newest array entries of ``name`` (``newest`` among them)."""
    entries = sorted(cache_dir().glob(f"{name}-*.npz"), key=lambda p: p.stat().st_mtime_ns,
                     reverse=True)
    for old in [p for p in entries if p != newest][keep - 1:]:
        old.unlink(missing_ok=True)


def cached_json(name: str, key: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """``compute()``, stored under ``name`` and ``key`` (JSON-able) for the next process."""
    key_text = json.dumps(key, sort_keys=True)
    path = _entry(name, key_text, ".json")
    try:
        stored = json.loads(path.read_text())
        if stored.get("format") == FORMAT and stored.get("key") == json.loads(key_text):
            return stored["value"]
    except (OSError, ValueError, AttributeError, KeyError):
        pass  # absent, unreadable or foreign: compute
    value = compute()
    try:
        text = json.dumps({"format": FORMAT, "key": key, "value": value}).encode()
        _replace_atomically(path, lambda f: f.write(text))
    except (OSError, TypeError, ValueError):
        pass  # read-only home, full disk or a value JSON cannot hold: no cache, same result
    return value
