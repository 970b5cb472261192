"""Where is the cube the instruction names, and where should it go? A small network that
answers from one camera.

Imitation gives an image encoder a weak, indirect signal about where things are, and on the
demo cells the policy never learnt it (docs/results.md: the same policy goes from 10% to 50%
when handed the true position). Simulation knows where the named cube appears in each fixed
camera, so this module learns that directly, as a dense label:

  image (+ pixel coordinates) -> conv stem -> FiLM by the instruction -> one heatmap ->
  cross-entropy against a small Gaussian around the true pixel (the label) ->
  spatial soft-argmax (u, v) -> a per-robot MLP (each robot's camera sees the table its own
  way) -> the cube's table position (x, y).

A heatmap trained on the pixel learns in a few hundred steps; the same network regressing
(x, y) through the soft-argmax alone did not learn at all in as many (an offline check,
docs/results.md). The labels are for training only: acting reads pixels and words.

One heatmap per thing the sentence names: "target" (the cube) and, for place and push, "goal"
(the bowl, the plate or the mark it should end on). They share the network up to the last
layer, and one table map per robot (a point on the table is a point on the table).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla.policies.table_plane import apply_plane
from vla.tokenizers.image import MEAN, STD
from vla.tokenizers.robot_rows import robot_rows

UNIT = 10.0  # metres -> decimetres: positions of order 1 for the loss
LABEL_SIGMA_CELLS = 1.5  # the label Gaussian's width, in heatmap cells
HEATMAP_SIDE = 32  # cells across the heatmap at 64 px and above (2 px per cell at 64 px)


def cell_centres(n: int, device=None) -> torch.Tensor:
    """(n,) centres of n cells spanning [-1, 1] (the same convention as the pixel labels)."""
    return (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n * 2 - 1


class TargetLocalizer(nn.Module):
    def __init__(
        self,
        robots: list[str],
        text_width: int,
        image_size: int,
        channels: int = 48,
        things: tuple[str, ...] = ("target",),
        planes: dict | None = None,
    ):
        """`planes` ({robot: {thing: 9 numbers}}, policies/table_plane.py): map pixels to the
        table through each fixed camera's homography; None: learn a small MLP per robot."""
        super().__init__()
        self.things = tuple(things)
        first_stride = max(1, image_size // (2 * HEATMAP_SIDE))  # 1 up to 64 px, 2 at 128 px
        if image_size % (2 * first_stride):
            raise ValueError(
                f"the target localizer needs an image size that is a multiple of "
                f"{2 * first_stride}, got {image_size}"
            )
        self.early = nn.Sequential(
            nn.Conv2d(5, 24, 3, stride=first_stride, padding=1),
            nn.GroupNorm(8, 24),
            nn.GELU(),
            nn.Conv2d(24, channels, 3, stride=2, padding=1),
            nn.GroupNorm(8, channels),
            nn.GELU(),
        )
        self.film = nn.Sequential(nn.LayerNorm(text_width), nn.Linear(text_width, 2 * channels))
        self.late = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(8, channels),
            nn.GELU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(channels, len(self.things), 1),
        )
        self.to_table = None
        if planes is None:
            self.to_table = nn.ModuleDict(
                {
                    r: nn.Sequential(
                        nn.Linear(2, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 2)
                    )
                    for r in sorted(robots)
                }
            )
        else:
            missing = [(r, t) for r in robots for t in self.things if t not in planes.get(r, {})]
            if missing:
                raise ValueError(
                    f"policy.table_planes has no map for {missing}: vla train fits them from "
                    "the dataset's labelled points (leave table_planes empty there)"
                )
            # robot -> (thing, 3, 3), from the config, so not saved with the weights; plain
            # float64 tensors, not buffers, so that casting the policy to bf16 leaves them exact
            self.planes = {
                r: torch.tensor([planes[r][t] for t in self.things], dtype=torch.float64).view(
                    -1, 3, 3
                )
                for r in robots
            }
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def heatmap(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, H, W) image and (B, text_width) instruction -> (B, K, h, w) logits, a map
        per thing."""
        dtype = self.film[1].weight.dtype
        image = (image.to(dtype) / 255.0 - self.mean.to(dtype)) / self.std.to(dtype)
        b, _, h, w = image.shape
        ys, xs = cell_centres(h, image.device), cell_centres(w, image.device)
        coords = torch.stack(torch.meshgrid(xs, ys, indexing="xy")).expand(b, 2, h, w)
        x = self.early(torch.cat([image, coords.to(image.dtype)], dim=1))
        gamma, beta = self.film(text.to(x.dtype))[:, :, None, None].chunk(2, dim=1)
        return self.late(x * (1 + gamma) + beta)

    @staticmethod
    def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
        """(..., h, w) logits -> (..., 2) expected (u, v) in [-1, 1]."""
        h, w = logits.shape[-2:]
        p = logits.flatten(-2).softmax(-1).view_as(logits)
        u = (p.sum(-2) * cell_centres(w, logits.device)).sum(-1)
        v = (p.sum(-1) * cell_centres(h, logits.device)).sum(-1)
        return torch.stack([u, v], dim=-1)

    def table_position(self, uv: torch.Tensor, robots: list[str], thing: int | None = None):
        """(B, K, 2) image positions in the uncropped image, one per thing, or (B, 2) of thing
        number `thing` -> table (x, y), metres. Always in float32, also under bf16 autocast:
        a bf16 step near the table's edge is over half a centimetre."""
        out = uv.new_zeros(uv.shape, dtype=torch.float32)
        for r, rows in robot_rows(robots, uv.device).items():
            if self.to_table is not None:
                with torch.autocast(uv.device.type, enabled=False):
                    out[rows] = self.to_table[r](uv[rows].float()) / UNIT
                continue
            h = self.planes[r].to(uv.device)  # (K, 3, 3)
            h = h if thing is None else h[thing]
            out[rows] = apply_plane(h, uv[rows].double()).float()
        return out

    def forward(self, image, text, robots, crop_box=None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> the (B, K, 2) table position estimates and the (B, K, h, w) heatmap logits.
        `crop_box` (B, 4): (top, left, height, width) fractions of the original image the
        loader cropped (augmentation); the estimate maps back to the whole image first."""
        logits = self.heatmap(image, text)
        uv = self.soft_argmax(logits)
        if crop_box is not None:
            uv = uncrop(uv, crop_box.to(uv.device)[:, None])
        return self.table_position(uv, robots), logits

    def loss(self, logits, estimate, robots, uv, xy, crop_box=None) -> tuple:
        """The sum over things of `thing_loss`: logits (B, K, h, w), estimate, uv and xy
        (B, K, 2). -> (loss, logs)."""
        total, logs = logits.sum() * 0.0, {}
        for k, thing in enumerate(self.things):
            loss, cm = self.thing_loss(
                logits[:, k], estimate[:, k], robots, uv[:, k], xy[:, k], crop_box, k
            )
            total = total + loss
            if cm is not None:
                logs[f"{thing}_cm"] = cm
        return total, logs

    def thing_loss(self, logits, estimate, robots, target_uv, target_xy, crop_box=None, thing=0):
        """One map's heatmap cross-entropy against the labelled pixel, plus (with the MLP) the
        table map fitted on the labels themselves; samples without labels (NaN: a reach has no goal) are left
        out. -> (loss, mean error in cm or None)."""
        target_uv = target_uv.to(logits.device).float()
        target_xy = target_xy.to(logits.device).float()
        known = torch.isfinite(target_uv).all(-1) & torch.isfinite(target_xy).all(-1)
        if not known.any():
            return logits.sum() * 0.0, None
        # keep the labelled rows before any arithmetic: a NaN label times a zero gradient is
        # still NaN, and would reach every weight
        rows = known.nonzero()[:, 0]
        kept = [robots[i] for i in rows.tolist()]
        logits, target_uv, target_xy = logits[rows], target_uv[rows], target_xy[rows]
        uv = target_uv if crop_box is None else crop(target_uv, crop_box[rows].to(logits.device))
        _, h, w = logits.shape
        du = cell_centres(w, logits.device)[None, None, :] - uv[:, 0, None, None]
        dv = cell_centres(h, logits.device)[None, :, None] - uv[:, 1, None, None]
        sigma = LABEL_SIGMA_CELLS * 2 / w
        label = (-(du**2 + dv**2) / (2 * sigma**2)).flatten(1).softmax(-1)
        heat = -(label * logits.flatten(1).float().log_softmax(-1)).sum(-1)
        table = 0.0
        if self.to_table is not None:
            fitted = self.table_position(target_uv, kept, thing)
            table = F.smooth_l1_loss(fitted * UNIT, target_xy * UNIT)
        cm = float((estimate[rows].detach().float() - target_xy).norm(dim=-1).mean()) * 100
        return heat.mean() + table, cm


def crop(uv: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """(B, [K,] 2) positions in the whole image -> the same points in the crop `box` (B, [1,] 4)."""
    top, left, height, width = box.unbind(-1)
    u = ((uv[..., 0] + 1) / 2 - left) / width * 2 - 1
    v = ((uv[..., 1] + 1) / 2 - top) / height * 2 - 1
    return torch.stack([u, v], dim=-1)


def uncrop(uv: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """The inverse of `crop`."""
    top, left, height, width = box.unbind(-1)
    u = ((uv[..., 0] + 1) / 2 * width + left) * 2 - 1
    v = ((uv[..., 1] + 1) / 2 * height + top) * 2 - 1
    return torch.stack([u, v], dim=-1)
