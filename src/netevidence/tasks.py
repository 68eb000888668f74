"""Running independent tasks on Dask: the local threaded scheduler or any dask.distributed cluster.

Used by the simulation studies (:mod:`netevidence.simulate`), GOSH and the permutation tests. Every
task is a pure function of its arguments (random numbers are drawn from streams fixed before the tasks
are made), and the results come back in the order of the arguments, so the numbers never depend on the
scheduler or on the number of workers.
"""

from __future__ import annotations

import sys
from typing import Callable, Sequence

__all__ = ["LOCAL_SCHEDULERS", "run_tasks"]

LOCAL_SCHEDULERS = ("threads", "sync", "synchronous", "processes")


def run_tasks(fn: Callable, args: Sequence[tuple], scheduler=None, progress: bool = False) -> list:
    """Evaluate ``fn(*a)`` for every ``a`` of ``args`` on Dask; the results in the order of ``args``.

    ``scheduler``: None or ``"threads"`` (Dask's local threaded scheduler), ``"sync"``, ``"processes"``,
    the address of a ``dask.distributed`` scheduler (``"tcp://host:8786"``) or a ``distributed.Client``.
    ``progress`` shows a progress bar on standard error.
    """
    import dask

    if scheduler is None or (isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS):
        tasks = [dask.delayed(fn, pure=True)(*a) for a in args]
        name = scheduler or "threads"
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=sys.stderr):
                return list(dask.compute(*tasks, scheduler=name))
        return list(dask.compute(*tasks, scheduler=name))
    from distributed import Client, as_completed

    client, own = (scheduler, False) if isinstance(scheduler, Client) else (Client(scheduler), True)
    try:
        futures = [client.submit(fn, *a, pure=False) for a in args]
        if progress:
            from tqdm import tqdm

            for _ in tqdm(as_completed(futures), total=len(futures), desc="tasks", unit="task", file=sys.stderr):
                pass
        return client.gather(futures)
    finally:
        if own:
            client.close()
