"""`anchors`: table positions the action head may blend its TCP x, y from.

Going exactly to the cube is picking an anchor, not regressing its coordinates back out of a
token: with this part the chunk head's TCP x, y are a learnt blend of the positions earlier parts
provide ("target", and "goal" where there is one, from the localizer) and the TCP's own, plus a
learnt correction (policies/chunk_head.py). With `frame=true` a second correction is measured
along and across the line from the target to the goal, where "behind the cube, seen from the
mark" is one fixed offset. Scene-specific scaffolding (task-space robots, a fixed order of
sub-goals in its use): never part of the general recipe.

Provides "anchors" (B, K, 2) and, with the frame, "frame" (B, 2, 2), in normalised TCP x, y
action units, for the head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vla.policies.part import Part, PolicyContext, Seen

TCP_XY = ("tcp_x", "tcp_y")  # task-space robots name their first two action dimensions so
FRAME_UNIT_M = 0.1  # one unit of the frame's offset: offsets are a few cm, outputs ~0.3


@dataclass
class AnchorsOptions:
    frame: bool = False  # a correction in the target-to-goal frame (needs a "goal" provided)


class AnchorsPart(Part):
    options = AnchorsOptions
    for_head = True  # what it provides is for the action head alone

    def __init__(self, options: AnchorsOptions, context: PolicyContext):
        super().__init__(options, context)
        not_tcp = [r for r, s in context.schemas.items() if tuple(s.joint_names[:2]) != TCP_XY]
        if not_tcp:
            raise ValueError(
                f"policy.parts.anchors blends table positions into the TCP's x, y, but {not_tcp} act "
                "in joints: collect with control=ee_pose"
            )
        if context.action_mode != "absolute":
            raise ValueError(
                "policy.parts.anchors blends absolute TCP positions: set policy.action_mode=absolute"
            )
        self.points = tuple(p for p in ("target", "goal") if p in context.provided)
        if "target" not in self.points:
            raise ValueError(
                "policy.parts.anchors blends the target's position: it needs a part that provides "
                "'target' (policy.parts.localizer with a token)"
            )
        if options.frame and "goal" not in self.points:
            raise ValueError(
                "policy.parts.anchors.frame=true measures from the target to the goal: it needs a part "
                "that provides 'goal' (policy.parts.localizer.goal=true)"
            )
        self.normalizer = context.normalizer
        self.max_dim = context.normalizer.max_dim
        self.needs = (*self.points, "raw_state", "robots")
        self.provides = {"anchors": len(self.points) + 1} | ({"frame": 2} if options.frame else {})

    def forward(self, seen: Seen):
        robots = seen["robots"]
        points = [seen[p] for p in self.points]
        tcp = seen["raw_state"][:, :2].float().to(points[0].device)  # the TCP's x, y, metres
        seen["anchors"] = self.normalised_xy(torch.stack([*points, tcp], 1), robots)
        if self.opts.frame:
            seen["frame"] = self.frame(seen["target"], seen["goal"], robots)
        return tcp.new_zeros(len(robots), 0, 0), None

    def normalised_xy(self, xy: torch.Tensor, robots: list[str]) -> torch.Tensor:
        """(B, K, 2) table positions, metres -> the same in the TCP x, y action units [-1, 1]."""
        full = xy.new_zeros(*xy.shape[:2], self.max_dim)
        full[..., :2] = xy
        return self.normalizer.action(full, robots)[..., :2]

    def frame(self, target: torch.Tensor, goal: torch.Tensor, robots: list[str]) -> torch.Tensor:
        """(B, 2, 2): the unit direction from target to goal and its left normal, both
        FRAME_UNIT_M long, in TCP x, y action units (the normalisation is affine: axes are
        differences of normalised points)."""
        along = nn.functional.normalize(goal - target, dim=-1, eps=1e-6)
        across = torch.stack([-along[:, 1], along[:, 0]], -1)
        axes = torch.stack([along, across], 1) * FRAME_UNIT_M  # (B, 2, 2) metres
        origin = self.normalised_xy(torch.zeros_like(axes), robots)
        return self.normalised_xy(axes, robots) - origin
