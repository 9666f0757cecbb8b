"""gen/startup.py: numba's registries loaded without scipy.linalg / cffi, which still import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
