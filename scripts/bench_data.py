"""Collection episodes/min vs Ray workers, and loader samples/s vs DataLoader workers.

    python scripts/bench_data.py --episodes 6 --workers 1 2 --loader-workers 0 1 2

Each collection run starts from an empty directory in one fresh Ray instance (actor start-up
and scene compilation included, as a user would see them).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time

os.environ.setdefault("MUJOCO_GL", "egl")


def bench_collect(
    workers: int, episodes: int, robots, tasks, image_size: int
) -> tuple[float, float]:
    import ray

    from vla.datasets.collect import CollectConfig, collect

    out = tempfile.mkdtemp(prefix=f"bench_collect_{workers}_")
    cfg = CollectConfig(
        robots=robots,
        tasks=tasks,
        episodes=episodes,
        output=out,
        workers=workers,
        image_size=image_size,
        progress=False,
    )
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter()
    summary = collect(cfg)
    seconds = time.perf_counter() - start
    ray.shutdown()
    return summary.written / seconds * 60, seconds, out


def bench_loader(root: str, workers: int, batch_size: int, batches: int) -> float:
    from vla.datasets.loader import EpisodeDataset, make_loader

    ds = EpisodeDataset(root, horizon=8, split="all", augment=True)
    loader = make_loader(
        ds, batch_size=batch_size, workers=workers, num_samples=(batches + 1) * batch_size
    )
    it = iter(loader)
    next(it)  # worker start-up is not throughput
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6, help="per robot x task")
    parser.add_argument("--robots", nargs="*", default=["panda", "so101"])
    parser.add_argument("--tasks", nargs="*", default=["lift", "place"])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--loader-workers", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=30)
    args = parser.parse_args()
    lines = [
        f"Collection: {len(args.robots)} robots x {len(args.tasks)} tasks x {args.episodes} episodes, "
        f"{args.image_size}x{args.image_size} front + wrist images, PNG-encoded in the actors.",
        "",
        "| Ray workers | episodes/min | wall s |",
        "| --- | --- | --- |",
    ]
    root = None
    for w in args.workers:
        rate, seconds, out = bench_collect(
            w, args.episodes, args.robots, args.tasks, args.image_size
        )
        lines.append(f"| {w} | {rate:.1f} | {seconds:.0f} |")
        print(lines[-1], flush=True)
        if root:
            shutil.rmtree(out)
        else:
            root = out
    lines += [
        "",
        f"Loader: batch {args.batch_size}, horizon 8, augmentation on, balanced sampling, "
        f"{args.batches} batches after the first.",
        "",
        "| DataLoader workers | samples/s |",
        "| --- | --- |",
    ]
    for w in args.loader_workers:
        lines.append(f"| {w} | {bench_loader(root, w, args.batch_size, args.batches):.0f} |")
        print(lines[-1], flush=True)
    shutil.rmtree(root)
    lines += [
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}.",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
