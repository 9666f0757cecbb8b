"""gen/distributed.py + gen/startup.py: Dask workers start lean (no vector / sympy numba hook)."""

from __future__ import annotations

import pytest

from gen import distributed, startup


@pytest.mark.slow
def test_local_workers_skip_the_vector_hook():
    """Two local worker processes (LocalCluster, ~10 s): preloaded with gen.startup, so numba's
    extension loader and registries ran before the first task without vector (sympy),
    scipy.linalg or cffi (pycparser)."""
    # the task lives in an installed module: workers cannot import this test module
    with distributed.runner(2) as run:
        assert isinstance(run, distributed.DaskRunner)
        states = [s for _, s in run.map_unordered(startup.start_up_state, None, range(4))]
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
