"""Where a trained policy's target localizer goes wrong: its error on validation frames, split
into the heatmap's part (the pixel it found, mapped to the table, against the true pixel mapped
the same way) and the table map's part (the true pixel, mapped, against the true position), per
robot and per task.

    python scripts/localizer_error.py CHECKPOINT DATASET [--frames 800]
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("dataset")
    ap.add_argument("--frames", type=int, default=800)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    args = ap.parse_args()

    from vla.datasets.loader import EpisodeDataset
    from vla.policies.vla_policy import VLAPolicy

    policy = VLAPolicy.from_pretrained(args.checkpoint).eval()
    loc = policy.parts["localizer"].net if "localizer" in policy.parts else None
    if loc is None:
        raise SystemExit(f"{args.checkpoint} has no localizer network (policy.parts.localizer)")
    data = EpisodeDataset(
        args.dataset,
        horizon=policy.config.horizon,
        split="val",
        val_fraction=args.val_fraction,
        cameras=list(policy.config.cameras),
    )
    picked = np.random.default_rng(0).choice(len(data), min(args.frames, len(data)), replace=False)
    rows = defaultdict(list)
    for start in range(0, len(picked), 32):
        items = [data[int(i)] for i in picked[start : start + 32]]
        batch = torch.utils.data.default_collate(items)
        robots = list(batch["robot"])
        with torch.no_grad():
            _, _, seen = policy.embed_prefix(
                policy.pre.tensors(
                    batch["images"], batch["state"], list(batch["instruction"]), robots
                )
            )
            found = loc.soft_argmax(seen["localizer.heatmap"])[:, 0]
            true_uv = batch["target_uv"][:, 0].float()
            mapped_found = loc.table_position(found, robots, 0)
            mapped_true = loc.table_position(true_uv, robots, 0)
        xy = batch["target_xy"].float()
        parts = (
            torch.stack(
                [
                    (mapped_found - xy).norm(dim=-1),
                    (mapped_found - mapped_true).norm(dim=-1),
                    (mapped_true - xy).norm(dim=-1),
                ],
                -1,
            )
            * 100
        )  # cm
        pixels = (found - true_uv).norm(dim=-1) * policy.config.image_size / 2
        for j, item in enumerate(items):
            for key in ("all", item["robot"], item["task"]):
                rows[key].append([*parts[j].tolist(), float(pixels[j])])
    print("frames   total   heatmap part   table-map part   pixel error   (cm, pixels)")
    for key in sorted(rows, key=lambda k: (k != "all", k)):
        a = np.array(rows[key])
        print(
            f"{key:8s} {len(a):4d}  {a[:, 0].mean():5.2f}   {a[:, 1].mean():5.2f}          "
            f"{a[:, 2].mean():5.2f}            {a[:, 3].mean():5.2f}"
        )


if __name__ == "__main__":
    main()
