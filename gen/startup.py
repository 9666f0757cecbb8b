"""Warm start-up of b2dark processes: load only the numba extensions that b2dark uses.

numba runs every ``numba_extensions`` entry point of the environment when its CPU target first
loads or compiles a kernel (``numba.core.entrypoints.init_all``). ``vector`` registers one that
imports ``vector`` and with it ``sympy``: ~0.6-1.0 s of a 2 s warm start measured here
(``python -X importtime``, numba 0.68, vector 1.9, sympy 1.14). b2dark never passes ``vector``
objects into a kernel (shared/STYLE.md, item 4: vector stays at the Python boundary), so the
command line and its Dask workers load the other extensions and leave ``vector`` out. Library users
keep numba's default; ``vector.register_numba()`` restores vector's types at any time.

numba also imports, when it loads its registries (the first kernel a process compiles or loads
from the cache), ``scipy.linalg.cython_blas`` (``numba.np.arraymath``: "is a BLAS there?"; with it
all of ``scipy.linalg``, ``numpy.f2py`` and ``charset_normalizer``) and ``cffi`` with its C parser
``pycparser`` (``numba.core.typing.cffi_utils``): ~0.15-0.2 s of CPU per start measured here.
b2dark kernels call no cffi functions and no ``np.convolve`` / ``np.correlate`` (the only users of
numba's ``_HAVE_BLAS`` flag; ``np.dot`` and ``np.linalg`` look scipy up again when compiled), so
``load_numba_registries`` loads the registries with those two imports held back, then lets them
import normally again (scipy.linalg, cffi work as usual afterwards in the process).

A process whose kernels are all in numba's on-disk cache needs none of those registries:
``numba.core.caching.Cache.load_overload`` refreshes the target context (imports ~70 modules of
typing and lowering rules and installs them) before it reads a cached kernel, but linking the
cached object code needs only the runtime (NRT) symbols; the registries serve the compiler, which
refreshes them itself (``numba.core.compiler.CompilerBase``). ``defer_numba_registries`` (the
command line) lets cached kernels load without them and loads them, as ``load_numba_registries``
does, on the first cache miss, before numba compiles. Kernels still import the numba modules
their environments live in (e.g. ``numba.np.arraymath``), with the same modules held back. Warm
``b2dark generate`` of 1000 signal events: 1.11-1.13 -> 0.91-0.95 s CPU, ``b2dark simulate`` of
them 1.07 -> 0.87 s (medians of 5-7 interleaved runs at load 7-10, numba 0.68.1;
benchmarks/bench_startup.py). The machine code run is the same cached code either way: same
events bit for bit.

Dask workers: ``gen.distributed`` starts its local workers with this module as a preload
(``dask_setup`` runs in each worker process before its first task) and runs
``load_numba_registries`` on the workers of an existing scheduler when it connects; workers
started by hand can take it from the start with ``dask worker --preload gen.startup ADDRESS``.
Workers load the registries before their first task (not deferred): they run many tasks.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

log = logging.getLogger("b2dark")

#: entry-point modules b2dark does not need inside kernels
SKIPPED_EXTENSIONS = frozenset({"vector"})


def load_numba_extensions(skip: frozenset[str] = SKIPPED_EXTENSIONS) -> list[str]:
    """Run numba's extension entry points now, except those of the ``skip`` packages.

    Must run before the first kernel call of the process to have an effect; later it does nothing.
    Returns the names of the entry points that were loaded. An extension that fails to load
    warns, as numba's own loader does.
    """
    import warnings
    from importlib.metadata import entry_points

    try:
        from numba.core import entrypoints
    except ImportError:  # numba's internals moved: keep its default behaviour
        return []
    if getattr(entrypoints, "_already_initialized", True):
        return []
    entrypoints._already_initialized = True  # what init_all sets before loading them
    loaded = []
    for ep in entry_points(group="numba_extensions", name="init"):
        if ep.value.partition(":")[0].partition(".")[0] in skip:
            log.debug("numba extension %s skipped", ep.value)
            continue
        try:
            ep.load()()
            loaded.append(ep.value)
        except Exception as exc:  # noqa: BLE001 - numba's loader warns and goes on, too
            warnings.warn(
                f"Numba extension module {ep.module!r} failed to load due to "
                f"'{type(exc).__name__}({exc})'.",
                stacklevel=2,
            )
    return loaded


#: modules numba imports while loading its registries that b2dark kernels do not use (docstring)
HELD_BACK = ("scipy.linalg.cython_blas", "cffi")


@contextlib.contextmanager
def _holding_back(names: tuple[str, ...]) -> Iterator[None]:
    """``import name`` raises ImportError meanwhile for those of ``names`` not imported yet."""
    blocked = [name for name in names if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def _registries_loaded() -> bool:
    """Whether numba's CPU target has loaded its registries (its first ``refresh()``, which
    installs the builtin registry last). Importing ``numba.np.arraymath`` alone does not tell:
    cached kernels import numba modules their environments belong to."""
    from numba.core.imputils import builtin_registry
    from numba.core.registry import cpu_target

    registries = getattr(cpu_target.target_context, "_registries", None)
    return registries is None or builtin_registry in registries  # None: internals moved


def load_numba_registries(held_back: tuple[str, ...] = HELD_BACK) -> bool:
    """The extensions (``load_numba_extensions``), then numba's typing and lowering registries
    with the ``held_back`` modules unimportable meanwhile (module docstring).

    Call it before the first kernel of a process that will run kernels (what the first kernel
    would pay anyway). Returns False if numba had loaded its registries already (nothing done).
    """
    load_numba_extensions()
    try:
        from numba.core.registry import cpu_target

        if _registries_loaded():
            return False
    except ImportError:  # numba's internals moved: keep its default behaviour
        return False
    with _holding_back(held_back):
        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()
    return True


def defer_numba_registries(held_back: tuple[str, ...] = HELD_BACK) -> bool:
    """The extensions now (``load_numba_extensions``); numba's registries only when a kernel has
    to be compiled, i.e. at the first kernel missing from the on-disk cache (module docstring).
    The ``held_back`` modules stay unimportable while a kernel loads, as in
    ``load_numba_registries``.

    Call it before the first kernel of the process. Returns False if nothing was changed: the
    registries are loaded already, the deferral is in place, or numba's internals moved (then
    numba keeps its default behaviour).
    """
    load_numba_extensions()
    try:
        from numba.core import caching
        from numba.core.cpu import CPUContext
        from numba.core.runtime import nrt

        original = caching.Cache.load_overload
        if getattr(original, "b2dark_deferred", False) or _registries_loaded():
            return False
    except ImportError:
        return False
    internals = ("_load_overload", "_guard_against_spurious_io_errors")
    if not all(hasattr(caching.Cache, name) for name in internals) or not hasattr(nrt, "rtsys"):
        return False  # numba's internals moved: keep its default behaviour

    def load_overload(self, sig, target_context):  # numba.core.caching.Cache.load_overload
        if not isinstance(target_context, CPUContext) or _registries_loaded():
            return original(self, sig, target_context)  # numba's own path (also other targets)
        # the first step of target_context.refresh(): the NRT symbols the cached code links to
        nrt.rtsys.initialize(target_context)
        data = None
        try:
            with _holding_back(held_back), self._guard_against_spurious_io_errors():
                data = self._load_overload(sig, target_context)
        except ImportError:  # a held-back module needed after all: numba's own path
            return original(self, sig, target_context)
        if data is None:  # not cached (or stale): numba compiles next, with the registries
            load_numba_registries(held_back)
        return data

    load_overload.b2dark_deferred = True
    caching.Cache.load_overload = load_overload
    return True


def dask_setup(worker: object = None) -> None:
    """Dask preload hook (``--preload gen.startup``): the extensions minus ``vector`` and the
    registries without scipy.linalg / cffi in the worker process, before it runs a task."""
    load_numba_registries()


def start_up_state(shared: object = None, task: object = None) -> dict[str, bool]:
    """Which of the imports b2dark's kernels never need are loaded in this process, and whether
    numba's extension entry points ran: a task (``gen.distributed`` signature) to check workers."""
    from numba.core import entrypoints

    state = {name: name in sys.modules for name in ("vector", "sympy", "scipy.linalg", "pycparser")}
    state["extensions_initialised"] = bool(entrypoints._already_initialized)
    return state
