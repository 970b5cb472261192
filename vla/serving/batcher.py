"""Requests that arrive together, answered in one forward pass.

Each request is checked on its own first (`Observation.of`: a bad one is answered with its own
error and never spoils a batch); the checked ones wait at most `window_ms` for company, up to
`max_batch`, and one `infer_batch` call in a worker thread answers them all (with one client connected
nothing waits), so the event loop
keeps accepting connections and messages while the policy computes.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field


@dataclass
class BatchStats:
    requests: int = 0
    batches: int = 0
    largest: int = 0
    sizes: dict = field(default_factory=dict)  # batch size -> count

    def add(self, size: int) -> None:
        self.requests += size
        self.batches += 1
        self.largest = max(self.largest, size)
        self.sizes[size] = self.sizes.get(size, 0) + 1


class Batcher:
    def __init__(self, policy, max_batch: int = 8, window_ms: float = 2.0):
        if max_batch < 1 or window_ms < 0:
            raise ValueError("serve: max_batch must be >= 1 and batch_window_ms >= 0")
        self.policy, self.max_batch, self.window = policy, max_batch, window_ms / 1000
        self.queue: asyncio.Queue | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vla-infer")
        self.stats = BatchStats()
        self.peers = 0  # open connections: with one, a request never waits for company
        self._task = None

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.executor.shutdown(wait=True)

    async def infer(self, observation) -> tuple[dict, dict]:
        """A checked `Observation` -> ({"actions": (H, D)}, timing) once its batch is done."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((observation, future, time.perf_counter()))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + (self.window if self.peers > 1 else 0.0)
            while len(batch) < self.max_batch:
                left = deadline - loop.time()
                if left <= 0 and self.queue.empty():
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), max(left, 0)))
                except TimeoutError:
                    break
            started = time.perf_counter()
            observations = [b[0] for b in batch]
            try:
                results = await loop.run_in_executor(self.executor, self._forward, observations)
            except Exception as err:  # the policy failed on a checked batch: tell each waiter
                for _, future, _ in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            infer_ms = 1000 * (time.perf_counter() - started)
            self.stats.add(len(batch))
            for (_, future, queued), result in zip(batch, results, strict=True):
                if not future.done():
                    timing = {"infer_ms": infer_ms, "queue_ms": 1000 * (started - queued),
                              "batch_size": len(batch)}  # fmt: skip
                    future.set_result((result, timing))

    def _forward(self, observations) -> list[dict]:
        import torch

        with torch.inference_mode():
            return self.policy.infer_batch(observations)
