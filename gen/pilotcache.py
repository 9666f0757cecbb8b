"""The pilot run's results kept in the on-disk cache (``gen.diskcache``), for every process.

A pilot (``Process.prepare`` with the ``PILOT`` stream) is deterministic: the same process,
parameters, cuts, beams, seed, trial count, code and floating-point runtime give the same
``w_max``, adapted grids, channel shares and pilot cross section, bit for bit. It costs ~0.1 s
for the signal (2e5 trials) and seconds for adaptive samplers, on every start. ``prepare_cached``
runs it once and stores what it changed on the process object; later starts set those attributes
instead, so the events stay bit-identical (tests/gen/test_pilot_cache.py).

Generic, not per process: the instance's attributes (``vars(proc)``) are fingerprinted before
and after the pilot (arrays by their bytes, containers and dataclasses recursively); the ones
that changed or appeared are stored (arrays in the ``.npz``, the rest as a JSON tree). If any
attribute is an object that can be neither fingerprinted nor stored exactly (e.g. a kept
random generator, a numba jitclass), the pilot is not cached: its effect cannot be checked.
An absent, unreadable, corrupted or stale entry (another key) means the pilot runs again.
The key holds everything the pilot depends on: process class, card parameters and cuts, beams,
seed, stream (``PILOT``, 0), trial count, the digest of the ``gen`` sources, the versions of
particle / decaylanguage (masses, decay tables) and ``diskcache.runtime_key`` (numpy / numba
versions, CPU features). ``B2DARK_PILOT_CACHE=0`` turns the cache off.

Every pilot logs (INFO, ``b2dark -v``) whether it came from the cache or ran, and why it was not
stored, so a run's log shows where its pilot time went. The first run of a card (of a new code,
numpy / numba, particle / decaylanguage or CPU) fills the cache; nothing else in the key differs
between runs, processes or an installed copy and a checkout of the same sources
(tests/gen/test_pilot_cache.py starts a second interpreter on a copy of ``gen``). Measured
(issue 3): a README run (cards/zprime_invisible.toml) on an empty cache spends ~18 s of CPU in
pilots (eemumu 10.2, mumu 1.8, tautau 0.7, each signal mass ~0.25; numba warm), ~5 % of the
run's ~370 s; a second run takes them all from the cache (a tiny search card: 5 of 5).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import logging
import os
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from gen.diskcache import load_arrays, runtime_key, store_arrays
from gen.processes.base import PILOT_POINTS, Process
from gen.streams import PILOT, stream

log = logging.getLogger("b2dark")

#: name of the cache entries
CACHE_NAME = "pilot"
#: format of the stored state (bump when the encoding changes)
STATE_FORMAT = "b2dark.pilot-state/1"
#: newest pilot entries kept (a few kB each, ~60 kB for the four-lepton grids): the samples of
#: several searches, while every code change makes new keys
KEEP_PILOTS = 256


class _Unsupported(Exception):
    """A value that cannot be fingerprinted or stored exactly."""


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _gen_class(path: str) -> type:
    """A class of the ``gen`` package from its ``module:qualname`` (nothing else is imported)."""
    module, _, qualname = path.partition(":")
    if module != "gen" and not module.startswith("gen."):
        raise _Unsupported(path)
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _is_namedtuple(v: Any) -> bool:
    return isinstance(v, tuple) and hasattr(type(v), "_fields")


def _fingerprint(v: Any) -> Any:
    """A hashable digest of ``v`` that changes with any value inside it (raises _Unsupported)."""
    if v is None or isinstance(v, (bool, int, float, str)):
        return (type(v).__name__, repr(v))
    if isinstance(v, np.generic):
        return ("np", v.dtype.str, v.tobytes())
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise _Unsupported("object array")
        h = hashlib.blake2b(np.ascontiguousarray(v).view(np.uint8).ravel().data, digest_size=16)
        return ("a", v.dtype.str, v.shape, v.flags.writeable, h.digest())
    if isinstance(v, (list, tuple)):
        return (_class_path(type(v)), tuple(_fingerprint(x) for x in v))
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise _Unsupported("dict with non-str keys")
        return ("d", tuple((k, _fingerprint(x)) for k, x in v.items()))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return (_class_path(type(v)), tuple((f.name, _fingerprint(getattr(v, f.name)))
                                            for f in dataclasses.fields(v)))
    raise _Unsupported(type(v).__name__)


def _encode(v: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON tree of ``v``; its arrays (and numpy scalars, as 0-d arrays) go into ``arrays``."""
    if v is None or isinstance(v, (bool, str)):
        return {"t": "raw", "v": v}
    if type(v) is int:
        return {"t": "int", "v": v}
    if type(v) is float:
        return {"t": "float", "v": v}  # json writes repr: exact, also inf / nan
    if isinstance(v, (np.generic, np.ndarray)):
        if v.dtype.hasobject:
            raise _Unsupported("object array")
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(v)
        node = {"t": "np" if isinstance(v, np.generic) else "array", "a": name}
        if isinstance(v, np.ndarray):
            node["writeable"] = bool(v.flags.writeable)
            node["fortran"] = bool(v.flags.f_contiguous and not v.flags.c_contiguous)
        return node
    if type(v) in (list, tuple):
        return {"t": type(v).__name__, "items": [_encode(x, arrays) for x in v]}
    if _is_namedtuple(v):
        _gen_class(_class_path(type(v)))  # only classes that can be imported back
        return {"t": "namedtuple", "cls": _class_path(type(v)),
                "items": [_encode(x, arrays) for x in v]}
    if type(v) is dict and all(isinstance(k, str) for k in v):
        return {"t": "dict", "items": {k: _encode(x, arrays) for k, x in v.items()}}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        fields = dataclasses.fields(v)
        if not all(f.init for f in fields):
            raise _Unsupported(f"dataclass {type(v).__name__} with init=False fields")
        _gen_class(_class_path(type(v)))
        return {"t": "dataclass", "cls": _class_path(type(v)),
                "fields": {f.name: _encode(getattr(v, f.name), arrays) for f in fields}}
    raise _Unsupported(type(v).__name__)


def _decode(node: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    t = node["t"]
    if t in ("raw", "int", "float"):
        value = node["v"]
        return {"int": int, "float": float}.get(t, lambda x: x)(value)
    if t == "np":
        return arrays[node["a"]][()]
    if t == "array":
        a = arrays[node["a"]]
        if node["fortran"]:
            a = np.asfortranarray(a)
        a.flags.writeable = node["writeable"]
        return a
    if t in ("list", "tuple"):
        items = [_decode(x, arrays) for x in node["items"]]
        return items if t == "list" else tuple(items)
    if t == "namedtuple":
        return _gen_class(node["cls"])(*[_decode(x, arrays) for x in node["items"]])
    if t == "dict":
        return {k: _decode(x, arrays) for k, x in node["items"].items()}
    if t == "dataclass":
        return _gen_class(node["cls"])(**{k: _decode(x, arrays)
                                          for k, x in node["fields"].items()})
    raise _Unsupported(t)


@functools.cache
def _versions() -> dict[str, str]:
    out = {}
    for package in ("particle", "decaylanguage"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = ""
    return out


def pilot_key(proc: Process, seed: int, points: int) -> dict[str, Any]:
    """Everything the pilot of ``proc`` depends on (JSON-able)."""
    from gen.shards import code_digest

    return {
        "format": STATE_FORMAT,
        "process": proc.name,
        "class": _class_path(type(proc)),
        "params": {k: repr(v) for k, v in sorted(proc.p.items())},
        "cuts": {k: repr(v) for k, v in sorted(proc.c.items())},
        "beams": repr(proc.beams),
        "seed": seed,
        "stream": [PILOT, 0],
        "points": points,
        "code": code_digest("gen"),
        **_versions(),
        **runtime_key(),
    }


def _state(proc: Process) -> dict[str, Any]:
    return {k: _fingerprint(v) for k, v in vars(proc).items()}


def prepare_cached(proc: Process, seed: int, points: int = PILOT_POINTS) -> bool:
    """``proc.prepare(stream(seed, PILOT, 0), points)``, or its stored result; True on a hit."""
    if os.environ.get("B2DARK_PILOT_CACHE", "1") == "0":
        t0 = time.perf_counter()
        proc.prepare(stream(seed, PILOT, 0), points)
        _log_ran(proc, t0, "cache off (B2DARK_PILOT_CACHE=0)")
        return False
    key = pilot_key(proc, seed, points)
    found = load_arrays(CACHE_NAME, key)
    if found is not None:
        try:
            arrays, meta = found
            values = {k: _decode(node, arrays) for k, node in meta["set"].items()}
            removed = [k for k in meta["removed"] if k in vars(proc)]
        except Exception:  # noqa: BLE001 - a damaged or foreign entry: run the pilot
            log.debug("pilot cache entry of %s unreadable: running the pilot", proc.name)
        else:
            for k in removed:
                delattr(proc, k)
            for k, v in values.items():
                setattr(proc, k, v)
            log.info("pilot of %s: from the cache", proc.name)
            return True
    t0 = time.perf_counter()
    try:
        before = _state(proc)  # (only on a miss: hashes every array of the process)
    except _Unsupported as exc:
        proc.prepare(stream(seed, PILOT, 0), points)
        _log_ran(proc, t0, f"not cached: state {exc} cannot be stored")
        return False
    proc.prepare(stream(seed, PILOT, 0), points)
    try:
        after = _state(proc)
        arrays: dict[str, np.ndarray] = {}
        changed = {k: _encode(v, arrays) for k, v in vars(proc).items()
                   if before.get(k) != after[k]}
    except _Unsupported as exc:
        _log_ran(proc, t0, f"not cached: state {exc} cannot be stored")
        return False
    stored = store_arrays(CACHE_NAME, key, arrays,
                          {"set": changed, "removed": sorted(set(before) - set(after))},
                          KEEP_PILOTS)
    _log_ran(proc, t0, "stored in the cache" if stored else "cache not writable")
    return False


def _log_ran(proc: Process, t0: float, outcome: str) -> None:
    log.info("pilot of %s: ran (%.1f s), %s", proc.name, time.perf_counter() - t0, outcome)
