"""How far the world part's estimate of the object and its goal is from the truth at the first
frame of tabletop scenes: tells a policy that cannot find its cube from one that finds it and
still fails (docs/results.md, "Why place and push fail").

    python scripts/world_estimate_probe.py CHECKPOINT [--robots panda ur5e] [--seeds 1000 1010]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--robots", nargs="+", default=["panda", "ur5e"])
    ap.add_argument("--tasks", nargs="+", default=["reach", "lift", "place", "push"])
    ap.add_argument("--seeds", nargs=2, type=int, default=[1000, 1010], help="first, last + 1")
    args = ap.parse_args()

    from vla.embodiment import control_of
    from vla.envs.tabletop_env import TabletopEnv
    from vla.policies.processor import Observation
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(args.checkpoint).eval()
    if policy.config.parts.get("world") is None:
        raise SystemExit(
            f"{args.checkpoint} has no world part (policy.parts.world): nothing to probe"
        )
    for robot in args.robots:
        control = control_of(policy.schemas[robot].to_dict())
        for task in args.tasks:
            env = TabletopEnv(
                robot=robot, task=task, image_size=policy.config.image_size, control=control
            )
            object_cm, goal_cm = [], []
            for seed in range(*args.seeds):
                obs, _ = env.reset(seed=seed)
                scene = env.unwrapped
                batch = policy.pre.observations([Observation.of(obs, robot)], policy.device)
                with torch.no_grad():
                    _, _, seen = policy.embed_prefix(batch)
                world = seen["world"][0].float().numpy()  # object x, y, z, goal x, y, z
                cube = scene.cube_pos(scene.episode.target)
                object_cm.append(100 * np.linalg.norm(world[:2] - cube[:2]))
                if scene.goal:
                    goal = scene.fixture_pos(scene.goal)
                    goal_cm.append(100 * np.linalg.norm(world[3:5] - goal[:2]))
            env.close()
            line = f"{robot:7s} {task:6s} object off {np.mean(object_cm):4.1f} cm"
            line += f" ({min(object_cm):.1f}-{max(object_cm):.1f})"
            if goal_cm:
                line += (
                    f", goal off {np.mean(goal_cm):4.1f} cm ({min(goal_cm):.1f}-{max(goal_cm):.1f})"
                )
            print(line, flush=True)


if __name__ == "__main__":
    main()
