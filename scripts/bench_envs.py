"""Expert success per task x robot, env steps/s and render frames/s: prints a markdown report.

    python scripts/bench_envs.py --episodes 50 --workers 2 --out docs/envs.md

Success uses seeds 0..N-1 with state-only observations (the expert reads privileged state);
speed figures are measured on one core each, one robot at a time, at 128x128.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np


def expert_success(job):
    robot, task, episodes = job
    from vla.envs.tabletop_env import TabletopEnv

    env = TabletopEnv(robot=robot, task=task, image_obs=False)
    expert = env.expert()
    wins, steps = 0, 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(expert(obs))
            steps += 1
            done = term or trunc
        wins += bool(info["is_success"])
    return robot, task, wins, episodes, steps / episodes


def speed(robot, steps=300, size=128):
    from vla.envs.tabletop_env import TabletopEnv

    out = {}
    for label, image_obs in (("state", False), ("images", True)):
        env = TabletopEnv(robot=robot, task="place", image_obs=image_obs, image_size=size)
        env.reset(seed=0)
        env.action_space.seed(0)
        expert = env.expert()
        obs = None
        start = time.perf_counter()
        for _ in range(steps):
            obs, _, term, trunc, _ = env.step(expert(obs))
            if term or trunc:
                env.reset()
        out[label] = steps / (time.perf_counter() - start)
        if image_obs:
            start = time.perf_counter()
            for _ in range(steps):
                env.render_camera("front", (size, size))
            out["frames"] = steps / (time.perf_counter() - start)
        env.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--robots", nargs="*", default=None)
    parser.add_argument("--tasks", nargs="*", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    from vla.envs.robots.registry import ROBOTS
    from vla.envs.tasks.registry import TASKS

    robots = args.robots or list(ROBOTS)
    tasks = args.tasks or list(TASKS)
    jobs = [(r, t, args.episodes) for r in robots for t in tasks]
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        results = pool.map(expert_success, jobs)
    took = time.perf_counter() - start
    rate = {(r, t): (w, n, length) for r, t, w, n, length in results}

    lines = [
        f"## Scripted-expert success ({args.episodes} seeded episodes per cell, seeds 0..{args.episodes - 1})",
        "",
        "| robot | " + " | ".join(tasks) + " |",
        "| --- | " + " | ".join("---" for _ in tasks) + " |",
    ]
    for r in robots:
        cells = [
            f"{rate[r, t][0]}/{rate[r, t][1]} ({100 * rate[r, t][0] / rate[r, t][1]:.0f}%)"
            for t in tasks
        ]
        lines.append(f"| {r} | " + " | ".join(cells) + " |")
    lines += ["", "Mean episode length (steps at 10 Hz):", ""]
    lines += [
        "| robot | " + " | ".join(tasks) + " |",
        "| --- | " + " | ".join("---" for _ in tasks) + " |",
    ]
    for r in robots:
        lines.append(f"| {r} | " + " | ".join(f"{rate[r, t][2]:.0f}" for t in tasks) + " |")
    lines += ["", f"({len(jobs)} cells on {args.workers} processes took {took:.0f} s.)", ""]
    lines += [
        "## Speed, one process, expert actions, 128x128",
        "",
        "| robot | env steps/s (state only) | env steps/s (front + wrist images) | render frames/s (one camera) |",
        "| --- | --- | --- | --- |",
    ]
    for r in robots:
        s = speed(r)
        lines.append(f"| {r} | {s['state']:.0f} | {s['images']:.0f} | {s['frames']:.0f} |")
    lines += [
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"MUJOCO_GL={os.environ.get('MUJOCO_GL')}, {time.strftime('%Y-%m-%d')}.",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
