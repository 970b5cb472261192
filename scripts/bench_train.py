"""CPU training speed of the policy: samples/s per backbone depth and image encoder, float32
eager vs. bf16 autocast, and per action head (`--heads bins chunk flow`), measured side by side
in one process.

    python -m scripts.bench_train --batch 16 --image-size 64 --layers 4 2 1   (from the repo root)

Synthetic batches of the demo shape (two robots, front + wrist cameras, relative actions); one
step is forward + backward + AdamW on the trained tensors (LoRA, tokenizers, head). Prints the
median of `--repeats` steps after one warm-up step.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch

from tests.golden_policy import schema  # a plain N-joint schema
from vla.policies.configuration import PolicyConfig
from vla.policies.vla_policy import VLAPolicy


def stats(dim: int) -> dict:
    s = {"mean": [0.0] * dim, "std": [1.0] * dim, "q01": [-1.0] * dim, "q99": [1.0] * dim}
    return {"observation.state": s, "action": s, "action.relative": s}


def step_seconds(policy, batch, amp: bool, repeats: int) -> float:
    params = [p for p in policy.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            loss, _ = policy(batch)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--layers", type=int, nargs="+", default=[4, 2, 1])
    ap.add_argument("--encoders", nargs="+", default=["conv", "patch"])
    ap.add_argument("--heads", nargs="+", default=["chunk"], help="registered heads to time")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--bf16", action="store_true", help="also time bf16 autocast")
    args = ap.parse_args()

    b = args.batch
    schemas = {"ur5e": schema("ur5e", 6), "sawyer": schema("sawyer", 7)}
    batch = {
        "images": torch.randint(
            0, 256, (b, 2, 3, args.image_size, args.image_size), dtype=torch.uint8
        ),
        "state": torch.zeros(b, 8),
        "instruction": ["pick up the green cube"] * b,
        "robot": ["ur5e", "sawyer"] * (b // 2),
        "actions": torch.zeros(b, 8, 8),
        "action_is_pad": torch.zeros(b, 8, dtype=torch.bool),
        "dim_mask": torch.ones(b, 8, dtype=torch.bool),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {b}, {args.image_size} px"
    )
    print("| head | layers | encoder | autocast | ms/step | samples/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for head, layers, encoder in itertools.product(args.heads, args.layers, args.encoders):
        cfg = PolicyConfig(
            head=head,
            num_layers=layers,
            image_size=args.image_size,
            image_encoder=encoder,
            action_mode="relative",
            n_action_steps=4,
        )
        policy = VLAPolicy(cfg, schemas, {"ur5e": stats(7), "sawyer": stats(8)})
        for amp in (False, True) if args.bf16 else (False,):
            s = step_seconds(policy, batch, amp, args.repeats)
            print(
                f"| {head} | {layers} | {encoder} | {'bf16' if amp else 'fp32'} | {1000 * s:.0f} | {b / s:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
