"""Where chunks run: in this process, on a local Dask cluster, or on an existing Dask scheduler.

``runner(workers, scheduler)`` gives an object whose ``map_unordered(fn, shared, tasks)`` yields
``(task index, fn(shared, task))`` as chunks finish:

- ``workers == 1`` and no scheduler: in this process, no Dask start-up cost;
- ``workers > 1``: a ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes;
- ``scheduler="tcp://host:port"``: the cluster of that scheduler, e.g. started by hand
  (``dask scheduler`` + ``dask worker``) or on SLURM/HTCondor with dask-jobqueue
  (``SLURMCluster(...).scheduler_address``). Workers need b2dark importable (the same version);
  they do not need the client's file system: tasks receive their inputs from the client and
  return arrays, which the client writes.

At most ``2 x threads`` tasks are in flight and every finished result is released once the client
has written it, so the client's memory does not grow with the number of events. A failing task is
retried ``RETRIES`` times (``Client.submit(retries=...)``), on any worker; a lost worker's tasks are
rescheduled by the scheduler. Results do not depend on where a task ran: each chunk draws only from
its own blocks' streams (gen/streams.py).

Workers start lean: local ones with ``gen.startup`` as a Dask preload, a scheduler's through
``client.run`` when b2dark connects (no vector / sympy, scipy.linalg or cffi numba hooks; see
gen/startup.py). Workers started by hand can take ``--preload gen.startup``.

Nested use (``b2dark run`` generating and simulating many samples) shares one cluster: an open
runner is reused by inner ``runner()`` calls.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from gen import interrupt

log = logging.getLogger("b2dark")

#: extra attempts of a failed chunk on the Dask path
RETRIES = 2


class ClusterError(RuntimeError):
    """The Dask scheduler cannot be reached or started (one-line message)."""


class InProcess:
    """Runs tasks one after the other in this process."""

    threads = 1

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        for i, task in enumerate(tasks):
            interrupt.check()
            result = fn(shared, task)
            interrupt.check()
            yield i, result


class DaskRunner:
    """Runs tasks on a ``distributed.Client``'s cluster, a bounded number at a time."""

    def __init__(self, client):
        self.client = client

    @property
    def threads(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def map_unordered(
        self, fn: Callable[[Any, Any], Any], shared: Any, tasks: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        client = self.client
        # the shared object (a prepared process, a detector configuration) goes once to every
        # worker; task inputs are scattered too, so no large object travels inside a task graph
        shared_f = client.scatter(shared, broadcast=True, hash=False)
        todo = iter(enumerate(tasks))
        index = {}
        pending = as_completed()

        def submit_next() -> bool:
            try:
                i, task = next(todo)
            except StopIteration:
                return False
            task_f = client.scatter([task], hash=False)[0]
            fut = client.submit(fn, shared_f, task_f, retries=RETRIES, pure=False)
            index[fut.key] = (i, fut, task_f)
            pending.add(fut)
            return True

        try:
            for _ in range(2 * self.threads):
                if not submit_next():
                    break
            for fut in pending:
                i, _, task_f = index.pop(fut.key)
                result = fut.result()  # re-raises the task's exception after the retries
                fut.release()
                task_f.release()
                interrupt.check()
                submit_next()
                yield i, result
        finally:
            left = [f for _, f, _ in index.values()] + [t for _, _, t in index.values()]
            if left:
                client.cancel(left)
            shared_f.release()


_current: DaskRunner | None = None


def _local_cluster(workers: int):
    """A LocalCluster of single-threaded worker processes, quiet on b2dark's stderr."""
    import os

    from distributed import LocalCluster

    # the scheduler lives in this process: keep its INFO lines out of b2dark's -v log; worker
    # processes read the level from the environment (dask config), e.g. their shutdown chatter
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    previous = os.environ.get("DASK_LOGGING__DISTRIBUTED")
    os.environ["DASK_LOGGING__DISTRIBUTED"] = "critical"
    try:
        # processes (not threads): a crashing or killed worker does not take the client down
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # no dashboard; its HTTP server still starts: a free port, not a busy 8787 (warning)
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            silence_logs=logging.CRITICAL,
            # numba's extensions minus vector's (sympy) and its registries without scipy.linalg /
            # cffi, before the first task (gen.startup): worker CPU to the first task 2.2 -> 1.3 s
            preload=["gen.startup"],
        )
    finally:
        if previous is None:
            os.environ.pop("DASK_LOGGING__DISTRIBUTED", None)
        else:
            os.environ["DASK_LOGGING__DISTRIBUTED"] = previous


def _lean_workers(client) -> None:
    """gen.startup's lean numba start on the scheduler's workers that have not loaded numba's
    registries yet (workers started with ``--preload gen.startup`` already have)."""
    from gen.startup import load_numba_registries

    try:
        client.run(load_numba_registries)
    except Exception as exc:  # noqa: BLE001 - an optimisation only: the tasks still run
        log.info("workers keep numba's default extensions: %s", exc)


@contextlib.contextmanager
def runner(
    workers: int = 1, scheduler: str | None = None, connect_timeout_s: float = 20.0
) -> Iterator[InProcess | DaskRunner]:
    """The runner for ``workers`` local processes or a scheduler address (see module doc)."""
    global _current
    if _current is not None:
        yield _current
        return
    if scheduler is None and workers <= 1:
        yield InProcess()
        return
    import time

    from distributed import Client

    t0 = time.perf_counter()
    cluster = None
    try:
        if scheduler is not None:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s")
        else:
            # processes (not threads): a crashing or killed worker does not take the client down
            cluster = _local_cluster(workers)
            client = Client(cluster)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        where = scheduler or "a local cluster"
        raise ClusterError(f"cannot use Dask scheduler {where}: {exc}") from None
    if scheduler is not None:
        _lean_workers(client)
    log.info("dask cluster ready in %.1f s", time.perf_counter() - t0)
    _current = DaskRunner(client)
    try:
        yield _current
    finally:
        _current = None
        client.close()
        if cluster is not None:
            cluster.close()
