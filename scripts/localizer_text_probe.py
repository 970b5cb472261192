"""Does the localizer find the named cube whatever the wording? Offline and in minutes: a fresh
instruction pool and target localizer, shaped as a trained policy's, learn from a dataset's
frames (training phrasings only, the localizer's heatmap loss alone), then report their median
error to the true cube and goal on validation frames under every phrasing of lift, place and
push, training and held-out. Compares pooling choices without training a whole policy.

    python -m scripts.localizer_text_probe checkpoints/4x4 DATASET --pooling attention --noise-words 6
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from scripts.heldout_probe import rephrase
from vla.datasets.loader import EpisodeDataset
from vla.envs.language import TEMPLATES
from vla.policies import checkpoint
from vla.policies.target_localizer import TargetLocalizer
from vla.policies.text_pooling import POOLINGS, TextPool


def as_batch(items):
    """Loader items -> the first camera's images and the (B, 2, 2) target and goal labels."""

    def first(key):
        return torch.stack([torch.as_tensor(it[key]).reshape(-1, 2)[0] for it in items]).float()

    return {
        "images": torch.stack([it["images"][0] for it in items]),
        "robots": [it["robot"] for it in items],
        "instructions": [it["instruction"] for it in items],
        "uv": torch.stack([first("target_uv"), first("goal_uv")], 1),
        "xy": torch.stack([first("target_xy"), first("goal_xy")], 1),
        "crop": torch.stack([it["crop_box"] for it in items]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="a trained policy: its backbone, robots and table planes")
    ap.add_argument("dataset")
    ap.add_argument("--pooling", choices=POOLINGS, default="mean")
    ap.add_argument("--noise-words", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--frames", type=int, default=4000, help="training frames, loaded once")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    policy = checkpoint.load(args.checkpoint).eval()
    # the policy's own noise-word path, at this probe's setting
    words = policy.parts["words"]
    words.opts = dataclasses.replace(words.opts, noise_words=args.noise_words)
    cfg, width = policy.config, policy.lm.get_input_embeddings().weight.shape[1]
    pool = TextPool(width, args.pooling)
    localizer = TargetLocalizer(
        policy.robots,
        width,
        cfg.image_size,
        things=policy.parts["localizer"].opts.things,
        planes=policy.fitted.get("localizer", {}).get("planes"),
    )
    opt = torch.optim.AdamW([*pool.parameters(), *localizer.parameters()], lr=1e-3)
    cams = list(cfg.cameras)
    train = EpisodeDataset(args.dataset, horizon=cfg.horizon, cameras=cams, augment=True)
    rng = np.random.default_rng(args.seed)
    frames = [train[int(i)] for i in rng.integers(0, len(train), args.frames)]

    def pooled(instructions, training):
        with torch.no_grad():
            ids, mask = policy.pre.text(instructions, device="cpu")
            embedded = policy.run.embed(ids)
        words.train(training)
        return pool(*words.with_noise_words(embedded, mask))

    start = time.perf_counter()
    for _ in range(args.steps):
        b = as_batch([frames[int(i)] for i in rng.integers(0, len(frames), args.batch_size)])
        est, logits = localizer(
            b["images"], pooled(b["instructions"], True), b["robots"], b["crop"]
        )
        loss, _ = localizer.loss(logits, est, b["robots"], b["uv"], b["xy"], b["crop"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    minutes = (time.perf_counter() - start) / 60
    print(
        f"{args.pooling} pooling, {args.noise_words} noise words, {args.steps} steps ({minutes:.1f} min)"
    )
    with torch.no_grad():
        for task in ("lift", "place", "push"):
            val = EpisodeDataset(
                args.dataset, horizon=cfg.horizon, split="val", tasks=[task], cameras=cams
            )
            pick = np.random.default_rng(args.seed).choice(len(val), min(96, len(val)), False)
            items = [val[int(i)] for i in pick]
            b = as_batch(items)
            for kind in ("train", "heldout"):
                for template in TEMPLATES[task][kind]:
                    text = pooled([rephrase(template, it["instruction"]) for it in items], False)
                    est, _ = localizer(b["images"], text, b["robots"])
                    err = (est - b["xy"]).norm(dim=-1) * 100
                    goal = err[:, 1][torch.isfinite(err[:, 1])]
                    where = f"target {float(err[:, 0].median()):.1f} cm"
                    where += f"  goal {float(goal.median()):.1f} cm" if len(goal) else ""
                    print(f"{task:6s} {kind:8s} {template:50s} {where}", flush=True)


if __name__ == "__main__":
    main()
