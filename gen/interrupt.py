"""Ctrl-C and SIGTERM taken at safe points, between blocks and chunks.

Python's default SIGINT handler raises KeyboardInterrupt wherever the interpreter happens to be;
arriving while a numba kernel returns its result, it surfaces as ``SystemError: CPUDispatcher(...)
returned a result with an exception set`` instead (seen here with numba 0.6x). The command line
therefore installs ``install()``: a signal only sets a flag, and the drivers call ``check()``
between blocks and chunks, which raises KeyboardInterrupt there. A second signal interrupts at
once. Library users who do not call ``install()`` keep Python's default behaviour.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

_requested: int | None = None


def _handler(signum: int, frame) -> None:
    global _requested
    if _requested is not None:  # asked twice: do not wait for the next safe point
        raise KeyboardInterrupt
    _requested = signum


def install() -> Callable[[], None]:
    """Defer SIGINT and SIGTERM to the next ``check()`` (main thread only; else a no-op).

    Returns the function that restores the previous handlers.
    """
    global _requested
    _requested = None
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.signal(sig, _handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        global _requested
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested = None

    return restore


def check() -> None:
    """Raise KeyboardInterrupt if a deferred signal arrived."""
    if _requested is not None:
        raise KeyboardInterrupt
