"""Trace one policy episode step by step: where the tool is, how far from the named cube, how
big the commanded joint move is. For diagnosing *how* a policy fails, not just whether.

    python scripts/trace_rollout.py CHECKPOINT --robot ur5e --task reach --seed 1001 [--n-action-steps 4]
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--robot", default="ur5e")
    ap.add_argument("--task", default="reach")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--n-action-steps", type=int, default=None)
    args = ap.parse_args()

    from vla.envs.tabletop_env import TabletopEnv
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(args.checkpoint)
    n = args.n_action_steps or policy.config.n_action_steps
    env = TabletopEnv(robot=args.robot, task=args.task, image_size=policy.config.image_size)
    obs, _ = env.reset(seed=args.seed)
    target = env.unwrapped.episode.target
    print(f"{obs['instruction']!r}: target {target} cube at {np.round(env.cube_pos(target), 3)}")
    chunk, k, done, t = None, n, False, 0
    while not done:
        if k >= n:
            chunk, k = policy.predict_action_chunk(obs, args.robot), 0
        action = chunk[k]
        k += 1
        move = np.abs(action[:-1] - obs["state"][:-1]).max()
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        tcp = env.tcp()
        print(
            f"{t:3d} tcp {np.round(tcp, 3)}  to cube {np.linalg.norm(tcp - env.cube_pos(target)):.3f} m"
            f"  max joint move {move:.3f} rad  grip {action[-1]:.2f}"
        )
        t += 1
    print("success" if info["is_success"] else "failure", f"after {t} steps")


if __name__ == "__main__":
    main()
