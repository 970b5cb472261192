"""Env steps/s with and without rendering in one process, and scripted-expert episodes/s over
1..N Ray actors (each renders its cameras, as a policy's rollout does), with parallel
efficiency: episodes/s with N actors over N times the rate with one."""

from __future__ import annotations

import os
import time

from vla import suites
from vla.benchmark.timing import measure


def env_steps_per_s(suite, robot: str, task: str, image_obs: bool, size: int, steps: int) -> float:
    env = suite.make(robot, task, image_size=size, image_obs=image_obs)
    expert = env.unwrapped.expert()
    obs, _ = env.reset(seed=0)
    state = {"obs": obs}

    def step():
        obs, _, term, trunc, _ = env.step(expert(state["obs"]))
        state["obs"] = env.reset()[0] if term or trunc else obs

    timing = measure(step, 5, steps)
    env.close()
    return 1000 / timing["median_ms"]


class RolloutActor:
    """Runs seeded scripted-expert episodes of one cell, rendering every step."""

    def __init__(self, suite: str, robot: str, task: str, size: int):
        os.environ.setdefault("MUJOCO_GL", "egl")
        self.env = suites.get(suite).make(robot, task, image_size=size, image_obs=True)
        self.expert = self.env.unwrapped.expert()

    def episode(self, seed: int) -> int:
        from vla.rollout import run_episode

        return run_episode(self.env, self.expert, seed=seed)["length"]


def ray_episodes_per_s(suite: str, robot: str, task: str, size: int, actors: int, episodes: int):
    import ray

    from vla.ray_pool import ActorPool

    ray.init(num_cpus=actors, include_dashboard=False, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(RolloutActor)
        pool = ActorPool(lambda: remote.remote(suite, robot, task, size), actors)
        ray.get([a.episode.remote(0) for a in pool.actors])  # start-up is not throughput
        seeds = iter(range(1, episodes + 1))
        steps = []
        start = time.perf_counter()
        pool.run(
            lambda: next(seeds, None),
            lambda actor, seed: actor.episode.remote(seed),
            lambda seed, n: steps.append(n),
            lambda seed: None,
        )
        seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    return len(steps) / seconds, sum(steps) / seconds


def worker_counts(wanted) -> list[int]:
    return list(wanted or range(1, (os.cpu_count() or 1) + 1))


def run(cfg) -> dict:
    suite = suites.get(cfg.get("suite", "tabletop"))
    robots, tasks = suite.cells(cfg.get("robots"), cfg.get("tasks"))
    size, steps = int(cfg.get("image_size", 128)), int(cfg.get("steps", 200))
    single = []
    for robot in robots:
        for task in tasks:
            row = {"robot": robot, "task": task, "image_size": size}
            row["state_steps_per_s"] = env_steps_per_s(suite, robot, task, False, size, steps)
            row["render_steps_per_s"] = env_steps_per_s(suite, robot, task, True, size, steps)
            single.append(row)
            print(
                f"  {suite.name} {robot} {task}: {row['state_steps_per_s']:.0f} steps/s state only, "
                f"{row['render_steps_per_s']:.0f} rendering",
                flush=True,
            )
    parallel = []
    robot, task = robots[0], tasks[0]
    for n in worker_counts(cfg.get("workers")):
        episodes = int(cfg.get("episodes_per_worker", 4)) * n
        eps, sps = ray_episodes_per_s(suite.name, robot, task, size, n, episodes)
        parallel.append(
            {"workers": n, "episodes": episodes, "episodes_per_s": eps, "steps_per_s": sps}
        )
        print(f"  ray {n} actor(s): {eps:.2f} episodes/s, {sps:.0f} steps/s", flush=True)
    add_efficiency(parallel, "episodes_per_s")
    return {"suite": suite.name, "single_process": single, "ray": parallel, "cell": [robot, task]}


def add_efficiency(rows: list[dict], key: str) -> None:
    """Parallel efficiency: the rate with N workers over N times the rate with one."""
    base = next((r[key] for r in rows if r["workers"] == 1), None)
    for r in rows:
        r["parallel_efficiency"] = r[key] / (r["workers"] * base) if base else None
