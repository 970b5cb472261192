"""How a trained policy reads each phrasing of a task, offline: the same validation frames with
the instruction swapped for every training and held-out phrasing of the task (and one phrasing
of each other task), and for each the acted chunk's L1 to the expert's chunk (normalised action
units) and the localizer's median errors to the true cube and goal. Tells a language failure
(the chunk moves, the localizer holds) from a vision one (the localizer moves).

    python scripts/heldout_probe.py checkpoints/4x4 DATASET --task push
"""

from __future__ import annotations

import argparse
import re

import numpy as np
import torch

from vla.datasets.loader import EpisodeDataset
from vla.envs.language import TEMPLATES
from vla.policies import checkpoint

MARK = "orange mark"  # the tabletop's push target, as its instructions name it


def rephrase(template: str, instruction: str) -> str:
    """The episode's cube (and receptacle) in another phrasing."""
    colour = re.search(r"(red|green|blue) cube", instruction).group(1)
    place = re.search(r"(in the bowl|on the plate)", instruction)
    return template.format(
        obj=f"{colour} cube", place=place.group(1) if place else "in the bowl", mark=MARK
    )


@torch.no_grad()
def probe(policy, items, instructions) -> dict[str, float]:
    images = torch.stack([it["images"] for it in items])
    state = torch.stack([it["state"] for it in items])
    robots = [it["robot"] for it in items]
    batch = policy.pre.tensors(images, state, instructions, robots)
    _, _, seen = policy.embed_prefix(batch)
    acted = policy.sample_actions(batch)
    expert = policy.normalizer.action(torch.stack([it["actions"] for it in items]), robots)
    dims = torch.stack([it["dim_mask"] for it in items])[:, None].float()
    out = {"l1": float(((acted - expert).abs() * dims).sum() / (dims.sum() * acted.shape[1]))}
    for thing, key in (("target", "target_xy"), ("goal", "goal_xy")):
        if thing in seen:
            true = torch.stack([torch.as_tensor(it[key]) for it in items]).float()
            known = torch.isfinite(true).all(-1)
            if known.any():
                err = (seen[thing].float() - true).norm(dim=-1)[known]
                out[f"{thing}_cm"] = float(err.median() * 100)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("dataset")
    ap.add_argument("--task", required=True, choices=sorted(TEMPLATES))
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    policy = checkpoint.load(args.checkpoint).eval()
    frames = EpisodeDataset(
        args.dataset,
        horizon=policy.config.horizon,
        split="val",
        tasks=[args.task],
        cameras=list(policy.config.cameras),
    )
    pick = np.random.default_rng(args.seed).choice(
        len(frames), min(args.frames, len(frames)), False
    )
    items = [frames[int(i)] for i in pick]
    rows = [(kind, t) for kind in ("train", "heldout") for t in TEMPLATES[args.task][kind]]
    rows += [("other", TEMPLATES[t]["train"][0]) for t in TEMPLATES if t != args.task]
    print(f"{len(items)} validation frames of {args.task}, {args.checkpoint}")
    for kind, template in rows:
        r = probe(policy, items, [rephrase(template, it["instruction"]) for it in items])
        where = "  ".join(f"{k[:-3]} {v:.1f} cm" for k, v in r.items() if k.endswith("_cm"))
        print(f"{kind:8s} {template:52s} L1 {r['l1']:.4f}  {where}")


if __name__ == "__main__":
    main()
