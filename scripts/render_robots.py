"""Render every registered robot in the shared scene (front and wrist cameras) into one grid PNG.

python scripts/render_robots.py --out docs/robots.png
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import imageio.v3 as iio
import numpy as np

from vla.envs.robots.registry import ROBOTS
from vla.envs.tabletop_env import TabletopEnv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/robots.png")
    parser.add_argument("--task", default="place")
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for name in ROBOTS:
        env = TabletopEnv(robot=name, task=args.task, image_size=args.size, render_mode=None)
        obs, _ = env.reset(seed=args.seed)
        rows.append(np.concatenate([obs["images"]["front"], obs["images"]["wrist"]], axis=1))
        env.close()
    grid = np.concatenate(
        [np.concatenate(rows[i : i + 2], axis=1) for i in range(0, len(rows), 2)], axis=0
    )
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    iio.imwrite(args.out, grid)
    print(f"wrote {args.out} ({grid.shape[1]}x{grid.shape[0]}): " + ", ".join(ROBOTS))


if __name__ == "__main__":
    main()
