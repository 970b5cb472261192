"""`world`: where the task's object and its goal are in the world, read from the image tokens.

The general recipe's auxiliary target, the same on every suite: each episode records the world
x, y, z of the object the task is about and of its goal in every frame ("world_track", from the
envs' `world_now`), and this part learns to say them from what the image part saw (a learnt
query attends over the image tokens, then a small MLP). The loss shapes the image features
towards the things a task is about; with `token=true` the estimate also enters the sequence as
one token. Acting reads only the images: the labels are never an input, and nothing about a
scene's geometry (cameras, table) is fitted, only the labels' mean and spread for scaling.

Provides "world" (B, 6): the estimate (object x, y, z, goal x, y, z) in metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from vla.datasets.loader import xyz_points
from vla.policies.part import Part, PolicyContext, Seen

THINGS = ("object", "goal")
MIN_SPREAD_M = 0.02  # a coordinate that barely moves is scaled as if it moved 2 cm


@dataclass
class WorldOptions:
    weight: float = 1.0  # of the position loss (smooth L1 on the scaled positions)
    token: bool = True  # the estimate enters the sequence as one token

    def __post_init__(self):
        if self.weight <= 0:
            raise ValueError(
                f"policy.parts.world.weight must be > 0 (it is what trains the part), got "
                f"{self.weight}; to leave the part out set policy.parts.world=null"
            )


class WorldPart(Part):
    options = WorldOptions

    def __init__(self, options: WorldOptions, context: PolicyContext):
        super().__init__(options, context)
        scale = context.fitted.get("scale")
        if not scale:
            raise ValueError(
                "policy.parts.world needs the positions' scale fitted on a dataset first "
                "(vla train fits it from the episodes' world_track)"
            )
        width = context.width
        self.register_buffer("mean", torch.tensor(scale["mean"], dtype=torch.float32))
        self.register_buffer("spread", torch.tensor(scale["spread"], dtype=torch.float32))
        self.query = nn.Parameter(torch.randn(1, 1, width) / math.sqrt(width))
        self.attend = nn.MultiheadAttention(width, 4, batch_first=True)
        self.estimate = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 256), nn.GELU(),
                                      nn.Linear(256, 3 * len(THINGS)))  # fmt: skip
        self.to_token = nn.Linear(3 * len(THINGS), width) if options.token else None
        self.needs = ("image_tokens",)
        self.provides = {"world": 3 * len(THINGS)}

    def forward(self, seen: Seen):
        tokens = seen.need("image_tokens", "world")
        query = self.query.expand(len(tokens), -1, -1).to(tokens.dtype)
        pooled, _ = self.attend(query, tokens, tokens, need_weights=False)  # (B, 1, W)
        scaled = self.estimate(pooled[:, 0]).float()  # (B, 6), in units of the spread
        seen["world.scaled"] = scaled
        seen["world"] = scaled * self.spread + self.mean
        if self.to_token is None:
            return tokens.new_zeros(len(tokens), 0, tokens.shape[-1]), None
        weight = self.to_token.weight
        return self.to_token(scaled.to(weight.dtype))[:, None], None

    def loss(self, seen: Seen, labels: dict):
        truth = [labels.get(f"{t}_xyz") for t in THINGS]
        if any(t is None for t in truth) or not torch.isfinite(truth[0]).any():
            raise KeyError(
                "policy.parts.world trains on where the task's object and goal were in each frame "
                "(the episodes' world_track), which this dataset does not hold: recollect it with "
                "vla collect (it records them on every suite) or set policy.parts.world=null"
            )
        scaled = seen["world.scaled"]
        target = torch.cat([torch.as_tensor(t) for t in truth], -1).to(scaled.device).float()
        target = (target - self.mean) / self.spread
        known = torch.isfinite(target)
        errors = F.smooth_l1_loss(scaled, target.nan_to_num(), reduction="none", beta=0.1)
        loss = (errors * known).sum() / known.sum().clamp(min=1)
        with torch.no_grad():  # the estimate's error in centimetres, for the logs
            metres = (seen["world"] - (target * self.spread + self.mean)).abs()
            per_thing = metres.view(len(metres), len(THINGS), 3).norm(dim=-1)
            seen_thing = known.view(len(metres), len(THINGS), 3).all(-1)
            logs = {
                f"world/{t}_error_cm": float(100 * per_thing[:, i][seen_thing[:, i]].mean())
                for i, t in enumerate(THINGS)
                if seen_thing[:, i].any()
            }
        return self.opts.weight * loss, {"world/loss": float(loss.detach()), **logs}

    @classmethod
    def fit(cls, options: WorldOptions, episodes: list[dict], context: dict) -> dict:
        """{"scale": {"mean": 6 numbers, "spread": 6 numbers}} of the recorded positions."""
        columns = []
        for thing in THINGS:
            points = [
                xyz_points(e["world_track"][thing])
                for e in episodes
                if (e.get("world_track") or {}).get(thing)
            ]
            if not points:
                raise ValueError(
                    f"policy.parts.world: no episode records where its {thing} was "
                    "(world_track); recollect the data with vla collect, which records it"
                )
            columns.append(np.concatenate(points))
        mean, spread = [], []
        for values in columns:
            values = values[np.isfinite(values).all(1)]
            if not len(values):  # a suite whose tasks name no goal: a scale that does nothing
                mean += [0.0] * 3
                spread += [1.0] * 3
                continue
            mean += values.mean(0).tolist()
            spread += np.maximum(values.std(0), MIN_SPREAD_M).tolist()
        return {"scale": {"mean": mean, "spread": spread}}
