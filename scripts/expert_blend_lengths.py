"""The tabletop expert with and without rounded corners: success and mean length per cell
(docs/envs.md, "The expert with its corners rounded").

    python scripts/expert_blend_lengths.py --blends 0 0.03 --episodes 10 --first-seed 2000
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blends", nargs="+", type=float, default=[0.0, 0.03])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=2000)
    parser.add_argument("--control", default="ee_pose")
    args = parser.parse_args()

    from vla.envs.robots.registry import ROBOTS
    from vla.envs.tabletop_env import TabletopEnv
    from vla.envs.tasks.registry import TASKS
    from vla.rollout import run_episode

    seeds = range(args.first_seed, args.first_seed + args.episodes)
    for robot in ROBOTS:
        for task in TASKS:
            env = TabletopEnv(robot=robot, task=task, image_obs=False, control=args.control)
            cells = []
            for blend in args.blends:
                runs = [run_episode(env, env.expert(blend=blend), seed=s) for s in seeds]
                won = [r["length"] for r in runs if r["success"]]
                mean = f"{np.mean(won):.1f}" if won else "-"
                cells.append(f"blend {blend:g}: {len(won)}/{len(runs)}, {mean} steps")
            print(f"{robot:<7} {task:<6} " + " | ".join(cells), flush=True)
            env.close()


if __name__ == "__main__":
    main()
