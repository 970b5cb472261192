"""Batch-1 latency per action chunk and actions/s of every registered head, side by side in one run.

    python scripts/bench_policy.py --layers 30 --image-size 128 --horizon 8 --repeats 10

All heads (bins, chunk, flow, ...) sit on the same backbone (same weights, same number of
layers) and see the same observation; only the head differs. Weights are as initialised (speed
does not depend on them).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--layers", type=int, default=None, help="backbone layers kept (default: all 30)"
    )
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument(
        "--bins-horizon", type=int, default=None, help="bins chunk length (default: same)"
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--robot", default="panda")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--flow-steps", type=int, default=10)
    args = parser.parse_args()

    from vla import backbone as backbone_lib
    from vla.datasets.statistics import array_stats
    from vla.envs.tabletop_env import TabletopEnv
    from vla.policies.configuration import PolicyConfig
    from vla.policies.heads import HEADS
    from vla.policies.vla_policy import VLAPolicy
    from vla.rollout import run_episode

    env = TabletopEnv(robot=args.robot, task="lift", image_size=args.image_size)
    rec = run_episode(env, env.expert(), seed=0, record=True)
    stats = {
        args.robot: {
            "observation.state": array_stats(rec["frames"]["state"]),
            "action": array_stats(rec["frames"]["action"]),
        }
    }
    obs = {
        "images": {c: rec["frames"]["images"][c][5] for c in ("front", "wrist")},
        "state": rec["frames"]["state"][5],
        "instruction": rec["instruction"],
    }
    bb = backbone_lib.load(backbone_lib.BackboneConfig(num_layers=args.layers, dtype=args.dtype))
    results = {}
    for head in sorted(HEADS):
        horizon = (args.bins_horizon or args.horizon) if head == "bins" else args.horizon
        cfg = PolicyConfig(
            head=head,
            heads={"flow": {"steps": args.flow_steps}},
            horizon=horizon,
            n_action_steps=horizon,
            num_layers=args.layers,
            image_size=args.image_size,
            dtype=args.dtype,
            mode="frozen",
        )
        policy = (
            VLAPolicy(cfg, {args.robot: env.embodiment}, stats, backbone=bb).to(args.device).eval()
        )
        for _ in range(2):
            policy.predict_action_chunk(obs, args.robot)  # warm-up
        times = []
        for _ in range(args.repeats):
            if args.device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            chunk = policy.predict_action_chunk(obs, args.robot)
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        ms = float(np.median(times)) * 1000
        results[head] = (ms, len(chunk) / (ms / 1000), len(chunk))
        del policy
    layers = args.layers or bb.model.config.num_hidden_layers
    device = (
        torch.cuda.get_device_name(0)
        if args.device == "cuda"
        else f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    )
    print(
        f"SmolLM2-135M, {layers} layers, {args.dtype}, {args.image_size}px front+wrist, robot {args.robot}, "
        f"batch 1, median of {args.repeats}, flow {args.flow_steps} Euler steps, {device}"
    )
    print("| head | actions per call | ms per chunk | actions/s |")
    print("| --- | --- | --- | --- |")
    for head, (ms, rate, n) in results.items():
        print(f"| {head} | {n} | {ms:.1f} | {rate:.1f} |")
    for head in results:
        if head != "chunk":
            print(f"chunk / {head} actions/s: {results['chunk'][1] / results[head][1]:.1f}x")


if __name__ == "__main__":
    main()
