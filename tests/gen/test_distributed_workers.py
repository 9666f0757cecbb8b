"""gen/distributed.py + gen/startup.py: Dask workers start lean (no vector / sympy numba hook)."""

from __future__ import annotations

import sys

import pytest

from gen import distributed, startup


def _worker_state(shared, task):
    """On a worker, after a kernel ran: which of the heavy modules are loaded."""
    from gen.kinematics import kallen

    assert kallen(1.0, 0.0, 0.0) == 1.0  # a cached kernel loaded in the worker process
    from numba.core import entrypoints

    return {"vector": "vector" in sys.modules, "sympy": "sympy" in sys.modules,
            "scipy.linalg": "scipy.linalg" in sys.modules, "pycparser": "pycparser" in sys.modules,
            "extensions_initialised": bool(entrypoints._already_initialized)}


@pytest.mark.slow
def test_local_workers_skip_the_vector_hook():
    """Two local worker processes (LocalCluster, ~10 s): preloaded with gen.startup, so numba's
    extension loader and registries ran before the first task without vector (sympy),
    scipy.linalg or cffi (pycparser)."""
    import cloudpickle

    # workers of an installed b2dark cannot import this test module: send the function by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with distributed.runner(2) as run:
            assert isinstance(run, distributed.DaskRunner)
            states = [s for _, s in run.map_unordered(_worker_state, None, range(4))]
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert states == [{"vector": False, "sympy": False, "scipy.linalg": False, "pycparser": False,
                       "extensions_initialised": True}] * 4


def test_dask_setup_is_the_preload_hook(monkeypatch):
    calls = []
    monkeypatch.setattr(startup, "load_numba_registries", lambda: calls.append(1) or True)
    startup.dask_setup(object())
    assert calls == [1]


def test_scheduler_workers_are_asked_to_load_lean_and_failures_are_harmless(caplog):
    class FakeClient:
        def __init__(self, fail):
            self.fail, self.ran = fail, []

        def run(self, fn):
            if self.fail:
                raise OSError("worker gone")
            self.ran.append(fn)
            return {"tcp://w": []}

    ok = FakeClient(False)
    distributed._lean_workers(ok)
    assert ok.ran == [startup.load_numba_registries]
    with caplog.at_level("INFO", logger="b2dark"):
        distributed._lean_workers(FakeClient(True))
    assert "worker gone" in caplog.text
