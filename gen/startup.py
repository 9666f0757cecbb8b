"""Warm start-up of b2dark processes: load only the numba extensions that b2dark uses.

numba runs every ``numba_extensions`` entry point of the environment when its CPU target first
loads or compiles a kernel (``numba.core.entrypoints.init_all``). ``vector`` registers one that
imports ``vector`` and with it ``sympy``: ~0.6-1.0 s of a 2 s warm start measured here
(``python -X importtime``, numba 0.68, vector 1.9, sympy 1.14). b2dark never passes ``vector``
objects into a kernel (shared/STYLE.md, item 4: vector stays at the Python boundary), so the
command line and its Dask workers load the other extensions and leave ``vector`` out. Library users
keep numba's default; ``vector.register_numba()`` restores vector's types at any time.
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
