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

Dask workers: ``gen.distributed`` starts its local workers with this module as a preload
(``dask_setup`` runs in each worker process before its first task) and runs
``load_numba_extensions`` on the workers of an existing scheduler when it connects; workers
started by hand can take it from the start with ``dask worker --preload gen.startup ADDRESS``.
"""

from __future__ import annotations

import logging

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


def load_numba_registries(held_back: tuple[str, ...] = HELD_BACK) -> bool:
    """The extensions (``load_numba_extensions``), then numba's typing and lowering registries
    with the ``held_back`` modules unimportable meanwhile (module docstring).

    Call it before the first kernel of a process that will run kernels (what the first kernel
    would pay anyway). Returns False if numba had loaded its registries already (nothing done).
    """
    import sys

    load_numba_extensions()
    try:
        from numba.core.registry import cpu_target
    except ImportError:  # numba's internals moved: keep its default behaviour
        return False
    if "numba.np.arraymath" in sys.modules:  # registries loaded already
        return False
    blocked = [name for name in held_back if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # ``import name`` raises ImportError
    try:
        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return True


def dask_setup(worker: object = None) -> None:
    """Dask preload hook (``--preload gen.startup``): the extensions minus ``vector`` and the
    registries without scipy.linalg / cffi in the worker process, before it runs a task."""
    load_numba_registries()


def start_up_state(shared: object = None, task: object = None) -> dict[str, bool]:
    """Which of the imports b2dark's kernels never need are loaded in this process, and whether
    numba's extension entry points ran: a task (``gen.distributed`` signature) to check workers."""
    import sys

    from numba.core import entrypoints

    state = {name: name in sys.modules for name in ("vector", "sympy", "scipy.linalg", "pycparser")}
    state["extensions_initialised"] = bool(entrypoints._already_initialized)
    return state
