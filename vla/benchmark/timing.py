"""Wall-clock timing with warm-up and a median over repeats, synchronised on CUDA."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def synchronizer(device) -> Callable[[], None]:
    import torch

    if torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    sync()
    return (time.perf_counter() - start) * 1000


def measure(
    fn: Callable[[], object], warmup: int, repeats: int, device="cpu", settle: int = 0
) -> dict:
    """Call fn `warmup` times untimed, then `repeats` times timed -> median/min/max in ms.

    `settle`: up to this many more untimed calls, until two in a row agree within 10% (a
    compiled function keeps getting faster for a few calls after its first)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    sync = synchronizer(device)
    for _ in range(warmup):
        fn()
    sync()
    last = None
    for _ in range(settle):
        now = timed(fn, sync)
        if last is not None and abs(now - last) <= 0.1 * last:
            break
        last = now
    times = []
    for _ in range(repeats):
        times.append(timed(fn, sync))
    return {
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "repeats": repeats,
    }


def failure(error: Exception) -> str:
    """A mode this machine cannot run is reported in the table (its first line), not fatal."""
    return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
