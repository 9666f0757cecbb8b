"""One compile policy for every numba kernel of b2dark.

``cache=True`` keeps warm start-up fast; ``nogil=True`` lets threads overlap kernels;
``error_model="numpy"`` makes 1/0 give inf and sqrt(-1) give NaN instead of raising, which the
"kinematically forbidden -> NaN" conventions rely on. ``fastmath`` stays off: with it numba 0.68
folds ``np.isnan(np.sqrt(-1.0))`` to False (shared/STYLE.md, item 1).
"""

from __future__ import annotations

from numba import njit

_POLICY = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel(fn=None, **overrides):
    """Decorate ``fn`` with the project-wide ``njit`` policy (usable bare or with overrides)."""
    options = {**_POLICY, **overrides}
    if fn is None:
        return lambda f: njit(**options)(f)
    return njit(**options)(fn)
