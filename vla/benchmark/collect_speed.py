"""`vla collect` episodes/s over 1..N Ray workers, writing a real dataset each time (actor
start-up, scene compilation and packing included, as a user sees them), with parallel
efficiency."""

from __future__ import annotations

import shutil
import tempfile
import time

from vla.benchmark.rollout_speed import add_efficiency, worker_counts


def run(cfg) -> dict:
    import ray

    from vla.datasets.collect import CollectConfig, collect

    rows = []
    for n in worker_counts(cfg.get("workers")):
        out = tempfile.mkdtemp(prefix=f"vla_bench_collect_{n}_")
        try:
            config = CollectConfig(
                suite=cfg.get("suite", "tabletop"),
                robots=list(cfg.get("robots") or []) or None,
                tasks=list(cfg.get("tasks")),
                episodes=int(cfg.get("episodes", 2)) * n,
                output=out,
                workers=n,
                image_size=int(cfg.get("image_size", 128)),
                progress=False,
            )
            ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False)
            start = time.perf_counter()
            summary = collect(config)
            seconds = time.perf_counter() - start
        finally:
            ray.shutdown()
            shutil.rmtree(out, ignore_errors=True)
        rows.append(
            {
                "workers": n,
                "episodes": summary.written,
                "seconds": seconds,
                "episodes_per_s": summary.written / seconds,
            }
        )
        print(f"  collect, {n} worker(s): {rows[-1]['episodes_per_s']:.2f} episodes/s", flush=True)
    add_efficiency(rows, "episodes_per_s")
    return {"rows": rows}
