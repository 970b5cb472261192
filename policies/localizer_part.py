"""`localizer`: where the named object is, and where it should go, as tokens.

A small network (policies/target_localizer.py) finds the named cube in the first camera (a
world-fixed one) from its pixels and the pooled prompt ("text"), as a heatmap trained on the
pixel simulation labels it with, and maps that pixel to a table position. That position
becomes one token (`token=predicted`: trained on the true position plus TEACHER_NOISE_M of
noise, acting on the estimate, so acting needs pixels and words only), or the true position does
(`token=privileged`, a diagnosis: acting needs obs["target_xy"], which only a simulator has).
With `goal=true` a second heatmap finds where the cube should go (bowl, plate, mark) and its
estimate is one more token. `table_map=plane` maps pixels to the table through each fixed
camera's exact homography, fitted from the training set (`fit`) and saved with the checkpoint;
`mlp` learns a small map per robot. Scene geometry: not part of the general recipe.

Provides "target" and "goal" (B, 2), the positions its tokens hold, in metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vla.policies.part import Part, PolicyContext, Seen
from vla.policies.table_plane import fit_checked, plane_points
from vla.policies.target_localizer import TargetLocalizer
from vla.suggest import unknown

TOKENS = ("none", "privileged", "predicted")
TABLE_MAPS = ("mlp", "plane")
TARGET_SCALE_M = 0.25  # table positions are within about +-0.5 m: bring them near unit scale
# token=predicted trains the token on the true position plus this much noise (the localizer's
# own error on new scenes is 0.5-1.6 cm, docs/results.md), so that acting on the estimate is
# acting on what training looked like
TEACHER_NOISE_M = 0.01


@dataclass
class LocalizerOptions:
    weight: float = 1.0  # of the heatmap loss; 0: no network (token=privileged only)
    token: str = "predicted"  # none | privileged | predicted: what the target token holds
    goal: bool = False  # a second map and token: where the named cube should go
    table_map: str = "mlp"  # mlp | plane: pixel -> table position

    def __post_init__(self):
        if self.weight < 0:
            raise ValueError(f"policy.parts.localizer.weight must be >= 0, got {self.weight}")
        if self.token not in TOKENS:
            raise ValueError(unknown("policy.parts.localizer.token", self.token, TOKENS))
        if self.table_map not in TABLE_MAPS:
            raise ValueError(
                unknown("policy.parts.localizer.table_map", self.table_map, TABLE_MAPS)
            )
        if self.weight == 0 and (self.token == "predicted" or self.table_map == "plane"):
            raise ValueError(
                f"policy.parts.localizer.token={self.token} / table_map={self.table_map} read the "
                "localizer network: set policy.parts.localizer.weight > 0 (e.g. 1.0)"
            )
        if self.goal and self.token != "predicted":
            raise ValueError(
                "policy.parts.localizer.goal=true is a second map of the localizer: set "
                "policy.parts.localizer.token=predicted"
            )
        if self.weight == 0 and self.token == "none":
            raise ValueError(
                "policy.parts.localizer with weight 0 and no token does nothing: set it to null"
            )

    @property
    def things(self) -> tuple[str, ...]:
        return ("target", "goal") if self.goal else ("target",)


class LocalizerPart(Part):
    options = LocalizerOptions

    def __init__(self, options: LocalizerOptions, context: PolicyContext):
        super().__init__(options, context)
        planes = context.fitted.get("planes") if options.table_map == "plane" else None
        if options.table_map == "plane" and not planes:
            raise ValueError(
                "policy.parts.localizer.table_map=plane needs each camera's table map: fit it on a "
                "dataset first (vla train does)"
            )
        self.net = None
        if options.weight > 0:
            self.net = TargetLocalizer(
                context.robots,
                context.width,
                context.image_size,
                things=options.things,
                planes=planes,
            )
        self.target_token = position_token(context.width) if options.token != "none" else None
        self.goal_token = position_token(context.width) if options.goal else None
        self.camera = context.cameras[0]
        self.needs = ("images", "robots") + (("text",) if self.net is not None else ())
        self.provides = {t: 2 for t in options.things} if options.token != "none" else {}
        self.observes = ("target_xy",) if options.token == "privileged" else ()
        self.hears = options.token == "predicted"  # it finds the object the sentence names

    def forward(self, seen: Seen):
        if self.net is not None:  # from the first camera (a world-fixed one)
            estimates, heatmap = self.net(
                seen["images"][:, 0], seen["text"], seen["robots"], seen.get("crop_box")
            )
            seen["localizer.estimates"], seen["localizer.heatmap"] = estimates, heatmap
        tokens = []
        if self.target_token is not None:
            xy = self.target_xy(seen)
            seen["target"] = xy.float()
            tokens.append(self.position(self.target_token, xy))
        if self.goal_token is not None:
            xy = self.goal_xy(seen)
            seen["goal"] = xy.float()
            tokens.append(self.position(self.goal_token, xy))
        if not tokens:
            return seen["images"].new_zeros(len(seen["robots"]), 0, 0).float(), None
        return torch.cat(tokens, 1), None

    def target_xy(self, seen: Seen) -> torch.Tensor:
        """What the target token holds: the true position (privileged), the teacher's while
        training (true plus noise), or the estimate (acting: pixels and words only)."""
        if self.opts.token == "privileged":
            return checked_target(seen.get("target_xy"))
        labels = seen.get("labels")
        if self.training and labels and labels.get("target_xy") is not None:
            xy = checked_target(self.teacher_target(labels, seen["robots"])).float()
            xy = xy.to(seen["state"].device)
            return xy + torch.randn_like(xy) * TEACHER_NOISE_M
        return seen["localizer.estimates"][:, 0].detach()

    def goal_xy(self, seen: Seen) -> torch.Tensor:
        """The goal's estimate; while training, the true goal plus noise where there is one."""
        xy = seen["localizer.estimates"][:, 1].detach().float()
        labels = seen.get("labels")
        if self.training and labels and labels.get("goal_xy") is not None:
            true = torch.as_tensor(labels["goal_xy"], device=xy.device).float()
            known = torch.isfinite(true).all(-1, keepdim=True)
            noisy = true.nan_to_num() + torch.randn_like(xy) * TEACHER_NOISE_M
            xy = torch.where(known, noisy, xy)
        return xy

    def teacher_target(self, labels: dict, robots: list[str]):
        """The true position, or with the plane map what the map makes of the true pixel. The
        two agree while the cube is on the table; once it is lifted the map reads it further
        along the camera's ray, and that is what the token will hold when acting."""
        xy, uv = labels.get("target_xy"), labels.get("target_uv")
        if self.opts.table_map != "plane" or xy is None or uv is None:
            return xy
        uv = torch.as_tensor(uv)[:, 0].to(self.target_token[0].weight.device)
        mapped = self.net.table_position(uv.nan_to_num(), robots, 0)
        known = torch.isfinite(uv).all(-1, keepdim=True)
        return torch.where(known, mapped, torch.as_tensor(xy).to(mapped.device).float())

    def position(self, token: nn.Module, xy: torch.Tensor) -> torch.Tensor:
        """(B, 2) table position, metres -> (B, 1, W) token."""
        xy = xy.to(token[0].weight.device, token[0].weight.dtype)
        return token(xy / TARGET_SCALE_M)[:, None]

    def loss(self, seen: Seen, labels: dict):
        if self.net is None:
            return None
        uv = labels.get("target_uv")
        if uv is None or labels.get("target_xy") is None or not torch.isfinite(uv[:, 0]).any():
            raise KeyError(
                "policy.parts.localizer trains on where the named cube appears in the first camera "
                f"({self.camera!r}), which this batch does not hold: recollect the data with vla "
                "collect (it records the cubes' pixels in world-fixed cameras) and put a fixed "
                "camera first in policy.cameras"
            )
        pairs = [(uv[:, 0], labels["target_xy"])]
        if self.opts.goal:
            if labels.get("goal_uv") is None:
                raise KeyError(
                    "policy.parts.localizer.goal=true trains on where the goal (bowl, plate, mark) "
                    "appears: recollect the data with vla collect, which records it"
                )
            pairs.append((labels["goal_uv"][:, 0], labels["goal_xy"]))
        loss, logs = self.net.loss(
            seen["localizer.heatmap"],
            seen["localizer.estimates"],
            seen["robots"],
            torch.stack([u.to(uv.device) for u, _ in pairs], 1),
            torch.stack([torch.as_tensor(x).to(uv.device) for _, x in pairs], 1),
            seen.get("crop_box"),
        )
        return self.opts.weight * loss, logs

    @classmethod
    def fit(cls, options: LocalizerOptions, episodes: list[dict], context: dict) -> dict:
        """With table_map=plane: {"planes": {robot: {thing: 9 numbers}}}, each robot's
        first-camera pixel-to-table maps from the episodes' labelled starting places."""
        if options.table_map != "plane":
            return {}
        camera = context["cameras"][0]
        points = plane_points(episodes, camera)
        planes = {}
        for robot in sorted({e["robot"] for e in episodes}):
            found = points.get(robot, {})
            missing = [t for t in options.things if t not in found]
            if missing:
                raise ValueError(
                    f"policy.parts.localizer.table_map=plane: no labelled {missing} points for {robot} "
                    f"in camera {camera!r}; recollect with vla collect (it records them) or use "
                    "policy.parts.localizer.table_map=mlp"
                )
            planes[robot] = {t: fit_checked(*found[t], f"{robot} {t}") for t in options.things}
        return {"planes": planes}


def position_token(width: int) -> nn.Module:
    """A table position (x, y) -> one token of the sequence."""
    return nn.Sequential(nn.Linear(2, 64), nn.GELU(), nn.Linear(64, width))


def checked_target(target_xy) -> torch.Tensor:
    if target_xy is None:
        raise ValueError(
            "policy.parts.localizer.token=privileged needs 'target_xy' (the named cube's position): "
            "train on a dataset collected with it (vla collect records it) and act in simulation"
        )
    target_xy = torch.as_tensor(target_xy)
    if not torch.isfinite(target_xy).all():
        raise ValueError(
            "target_xy holds NaN: some episodes did not record their target's position; "
            "recollect them with vla collect"
        )
    return target_xy
