"""gen/startup.py: numba's registries loaded without scipy.linalg / cffi, which still import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from gen.startup import load_numba_registries
first = load_numba_registries()
again = load_numba_registries()
from gen.kinematics import kallen
value = kallen(3.0, 1.0, 1.0)
state = {m: m in sys.modules for m in ("vector", "scipy.linalg", "cffi", "pycparser")}
try:  # cffi is optional (numba uses it only if present): once unblocked it must import
    import cffi
    cffi_int = cffi.FFI().sizeof("int")
except ModuleNotFoundError:
    cffi_int = None
import numba
import numpy as np
import scipy.linalg

@numba.njit
def dot(a, b):
    return np.dot(a, b)

a = np.arange(4.0)
print(json.dumps({"first": first, "again": again, "kallen": value, "before": state,
                  "dot": dot(a, a), "scipy_dot": float(scipy.linalg.blas.ddot(a, a)),
                  "cffi": cffi_int}))
"""


def test_registries_load_without_scipy_linalg_and_cffi_which_still_work():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                    "")])}
    res = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["first"] is True
    assert out["again"] is False  # once per process
    assert out["kallen"] == 9.0 + 1.0 + 1.0 - 6.0 - 6.0 - 2.0  # a^2+b^2+c^2-2ab-2ac-2bc
    assert out["before"] == {"vector": False, "scipy.linalg": False, "cffi": False,
                             "pycparser": False}
    assert out["dot"] == 14.0  # np.dot in a kernel: numba finds scipy's BLAS when compiling
    assert out["scipy_dot"] == 14.0
    assert out["cffi"] in (4, None)  # None: cffi not installed


KERNELS = '''
import numpy as np
from gen.jit import kernel


@kernel
def draws(rng, n):
    out = np.empty(n)  # allocated through numba's runtime (NRT)
    for i in range(n):
        out[i] = rng.standard_normal()
    return out, np.cumsum(out)  # cumsum: its environment imports numba.np.arraymath on load
'''

DEFERRED_CHILD = """
import json, sys
import numpy as np
from gen.startup import _registries_loaded, defer_numba_registries
first = defer_numba_registries()
again = defer_numba_registries()
from kern import draws
values, sums = (a.tolist() for a in draws(np.random.default_rng(7), 5))
loaded = _registries_loaded()
held_back = [m for m in ("vector", "scipy.linalg", "cffi", "pycparser") if m in sys.modules]
import numba

@numba.njit
def dot(a, b):
    return np.dot(a, b)

a = np.arange(4.0)
print(json.dumps({"first": first, "again": again, "values": values, "sums": sums,
                  "loaded_after_kernel": loaded, "dot": dot(a, a),
                  "loaded_after_compile": _registries_loaded(),
                  "held_back": held_back,
                  "late": defer_numba_registries()}))
"""


def test_deferred_registries_load_only_when_a_kernel_is_compiled(tmp_path):
    """1st child: the kernel is not cached -> registries loaded, then compiled; 2nd child: the
    kernel comes from the cache without numba's registries, same numbers; a new njit function
    still compiles (registries loaded on that first compile)."""
    (tmp_path / "kern.py").write_text(KERNELS)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path),
                                          os.environ.get("PYTHONPATH", "")])}
    runs = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", DEFERRED_CHILD], capture_output=True,
                             text=True, env=env, cwd=tmp_path, timeout=300, check=True)
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert list((tmp_path / "cache").rglob("*.nbi"))  # the kernel went to the on-disk cache
    for out in runs:
        assert (out["first"], out["again"], out["late"]) == (True, False, False)
        assert out["dot"] == 14.0
        assert out["loaded_after_compile"] is True
        assert out["held_back"] == []  # also when the cold run loaded the registries
    assert cold["loaded_after_kernel"] is True  # cache miss: numba compiled `draws`
    assert warm["loaded_after_kernel"] is False  # cache hit: no registries
    expected = np.random.default_rng(7).standard_normal(5)  # numba reproduces numpy's stream
    np.testing.assert_array_equal(cold["values"], expected)
    np.testing.assert_allclose(cold["sums"], np.cumsum(expected), rtol=1e-15)
    assert (warm["values"], warm["sums"]) == (cold["values"], cold["sums"])
