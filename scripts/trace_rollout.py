"""Trace one policy episode, one line per chunk: where the tool is, where the named cube is, how
far off the localizer's estimates of the cube and the goal are (when the policy has them), how
far the chunk plans to move and whether it closes the gripper. For diagnosing *how* a policy
fails, not just whether.

    python scripts/trace_rollout.py CHECKPOINT --robot ur5e --task place --seed 1000 [--n-action-steps 4]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--robot", default="ur5e")
    ap.add_argument("--task", default="reach")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--n-action-steps", type=int, default=None)
    args = ap.parse_args()

    from vla.embodiment import control_of
    from vla.envs.tabletop_env import TabletopEnv
    from vla.policies.processor import Observation
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(args.checkpoint).eval()
    n = args.n_action_steps or policy.config.n_action_steps
    control = control_of(policy.schemas[args.robot].to_dict())
    env = TabletopEnv(
        robot=args.robot, task=args.task, image_size=policy.config.image_size, control=control
    )
    obs, _ = env.reset(seed=args.seed)
    episode = env.unwrapped.episode
    goal_name = env.unwrapped.goal  # the fixture the cube should end on, if any
    goal = env.unwrapped.fixture_pos(goal_name)[:2] if goal_name else None
    print(f"{obs['instruction']!r} ({control} control), goal {goal_name}")
    done, t = False, 0
    while not done:
        batch = policy.pre.observations([Observation.of(obs, args.robot)], policy.device)
        with torch.no_grad():
            _, _, seen = policy.embed_prefix(batch)
        chunk = policy.predict_action_chunk(obs, args.robot)
        cube = env.unwrapped.cube_pos(episode.target)
        tcp = env.unwrapped.tcp()
        line = f"{t:3d} tcp {np.round(tcp, 3)} cube {np.round(cube, 3)}"
        if "target" in seen:
            line += f"  estimate off {np.linalg.norm(seen['target'][0].numpy() - cube[:2]) * 100:5.1f} cm"
        if "goal" in seen and goal is not None:
            line += f"  goal estimate off {np.linalg.norm(seen['goal'][0].numpy() - goal) * 100:4.1f} cm"
        if "world" in seen:  # the general recipe's estimate: object x, y, z, goal x, y, z
            world = seen["world"][0].float().numpy()
            line += f"  world object off {np.linalg.norm(world[:2] - cube[:2]) * 100:5.1f} cm"
            if goal is not None:
                line += f", goal off {np.linalg.norm(world[3:5] - goal) * 100:4.1f} cm"
        if goal is not None:
            line += f"  tool to goal {np.linalg.norm(tcp[:2] - goal) * 100:4.1f} cm"
        if control == "ee_pose":
            line += f"  plans {np.linalg.norm(chunk[n - 1, :2] - tcp[:2]) * 100:4.1f} cm sideways"
            line += f", {(chunk[n - 1, 2] - tcp[2]) * 100:+5.1f} cm up"
        else:
            line += (
                f"  largest command change {np.abs(chunk[0, :-1] - obs['state'][:-1]).max():.3f}"
            )
        print(line + f"  grip command {chunk[0, -1]:.2f}")
        for action in chunk[:n]:
            obs, _, terminated, truncated, info = env.step(action)
            t += 1
            done = terminated or truncated
            if done:
                break
    print("success" if info["is_success"] else "failure", f"after {t} steps")


if __name__ == "__main__":
    main()
