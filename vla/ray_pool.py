"""A pool of Ray actors that runs jobs and replaces any actor that dies: collection and evaluation
both run their episodes through it.

A job whose actor died is handed back (`lost`), so the caller can run it again; the results
already returned were handled the moment they arrived and are never lost.
"""

from __future__ import annotations

from collections.abc import Callable


class ActorPool:
    def __init__(self, make_actor: Callable[[], object], size: int):
        self.make_actor = make_actor
        self.actors = [make_actor() for _ in range(size)]
        self.restarts = 0

    def run(
        self,
        next_job: Callable[[], object | None],
        call: Callable[[object, object], object],
        handle: Callable[[object, object], None],
        lost: Callable[[object], None],
        in_flight: int = 1,
    ) -> None:
        """Until `next_job()` has nothing left and every job is back: `call(actor, job)` starts a
        job (an ObjectRef), `handle(job, result)` takes its result, `lost(job)` hears of a job
        whose actor died (that actor is replaced once, however many of its jobs were lost).
        `in_flight` jobs per actor keep each busy while the driver handles results."""
        import ray

        pending: dict = {}  # ObjectRef -> (slot, actor, job)

        def submit(slot: int) -> None:
            job = next_job()
            if job is not None:
                actor = self.actors[slot]
                pending[call(actor, job)] = (slot, actor, job)

        for slot in range(len(self.actors)):
            for _ in range(in_flight):
                submit(slot)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            slot, actor, job = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
                if self.actors[slot] is actor:  # not yet replaced for an earlier lost job
                    self.restarts += 1
                    self.actors[slot] = self.make_actor()
                lost(job)
                submit(slot)
                continue
            handle(job, result)
            submit(slot)
