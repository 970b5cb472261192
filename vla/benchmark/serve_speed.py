"""`vla serve` on the loopback: what a request costs beyond in-process inference, and what
batching buys when several clients ask at once (a bounded load test: N clients, a few seconds).
"""

from __future__ import annotations

import threading
import time

import numpy as np


def observation(policy, robot: str, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    size = policy.config.image_size
    return {
        "images": {c: rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                   for c in policy.config.cameras},
        "state": np.zeros(policy.schemas[robot].state_dim, np.float32),
        "instruction": "touch the red cube",
        "robot": robot,
    }  # fmt: skip


def percentiles(seconds: list[float]) -> dict:
    ms = 1000 * np.asarray(seconds)
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def load(policy, clients: int, seconds: float, max_batch: int, window_ms: float) -> dict:
    """`clients` threads, each with its own connection, asking back to back for `seconds`."""
    from vla.serving.client import PolicyClient
    from vla.serving.server import ServeOptions, ServerThread

    robot = policy.robots[0]
    options = ServeOptions(port=0, max_batch=max_batch, batch_window_ms=window_ms)
    with ServerThread(policy, options) as server:
        conns = [PolicyClient(server.url) for _ in range(clients)]
        for c in conns:  # warm-up
            c.infer(observation(policy, robot, 0))
        latencies: list[list[float]] = [[] for _ in range(clients)]
        stop = time.perf_counter() + seconds

        def client(i: int) -> None:
            obs = observation(policy, robot, i)
            while time.perf_counter() < stop:
                t = time.perf_counter()
                conns[i].infer(obs)
                latencies[i].append(time.perf_counter() - t)

        start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        for c in conns:
            c.close()
        stats = server.server.batcher.stats
    done = [x for lat in latencies for x in lat]
    return {
        "clients": clients, "max_batch": max_batch, "requests": len(done),
        "requests_per_s": len(done) / elapsed, **percentiles(done),
        "mean_batch": stats.requests / max(stats.batches, 1),
    }  # fmt: skip


def median_s(call, obs: dict, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        call(obs)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        call(obs)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def overhead(policy, repeats: int) -> dict:
    """Median in-process `infer` and median round trip through the server, one client."""
    from vla.serving.client import PolicyClient
    from vla.serving.server import ServeOptions, ServerThread

    obs = observation(policy, policy.robots[0], 0)
    local = median_s(policy.infer, obs, repeats)
    with ServerThread(policy, ServeOptions(port=0)) as server, PolicyClient(server.url) as c:
        remote = median_s(c.infer, obs, repeats)
    return {
        "in_process_ms": 1000 * local,
        "served_ms": 1000 * remote,
        "overhead_ms": 1000 * (remote - local),
    }


def run(cfg: dict) -> dict:
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(cfg["checkpoint"])
    policy.eval()
    out = {"checkpoint": cfg["checkpoint"], **overhead(policy, int(cfg["round_trips"]))}
    print(
        f"  one client: in-process {out['in_process_ms']:.1f} ms, served {out['served_ms']:.1f} ms "
        f"(+{out['overhead_ms']:.2f} ms)",
        flush=True,
    )
    rows = []
    for clients in cfg["clients"]:
        for max_batch in sorted({1, int(cfg["max_batch"])}):
            row = load(policy, clients, float(cfg["seconds"]), max_batch, cfg["window_ms"])
            rows.append(row)
            print(
                f"  {clients} clients, max_batch {max_batch}: {row['requests_per_s']:.1f} req/s, "
                f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
                f"mean batch {row['mean_batch']:.2f}",
                flush=True,
            )
    out["rows"] = rows
    return out
