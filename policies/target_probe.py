"""An auxiliary training signal: where is the cube the instruction names?

Imitation alone gives the image encoder a weak, indirect signal about object positions: a few
hundred episodes of joint targets. Simulation knows the named cube's position, so training can
also ask the conv encoder's keypoints to tell it (privileged information used as a training
target only; acting never needs it). The probe is a small MLP with a readout per robot, because
each robot's scene has its own camera placement.

With `context` (the instruction's pooled vector, for policy.target_token=predicted) the probe
also reads which cube the sentence names, so it can pick that cube's keypoints itself rather
than rely on FiLM alone to have made the keypoints follow it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vla.tokenizers.robot_rows import robot_rows

UNIT = 10.0  # metres -> decimetres: positions of order 1 for the loss


class TargetProbe(nn.Module):
    def __init__(self, in_features: int, robots: list[str], hidden: int = 128, context: int = 0):
        super().__init__()
        self.context = context
        self.shared = nn.Sequential(nn.Linear(in_features + context, hidden), nn.GELU())
        if context:
            self.context_norm = nn.LayerNorm(context)
        self.out = nn.ModuleDict({r: nn.Linear(hidden, 2) for r in sorted(robots)})

    def forward(self, keypoints: torch.Tensor, robots: list[str], context=None) -> torch.Tensor:
        """(B, F) keypoints [and (B, context) instruction] -> (B, 2) table position of the
        named cube, in metres."""
        x = keypoints.float()
        if self.context:
            if context is None:
                raise ValueError("this target probe reads the instruction too: pass its context")
            x = torch.cat([x, self.context_norm(context.float())], dim=-1)
        h = self.shared(x)
        out = h.new_zeros(h.shape[0], 2)
        for r, rows in robot_rows(robots, h.device).items():
            out[rows] = self.out[r](h[rows])
        return out / UNIT

    def loss(self, keypoints, target_xy, robots, context=None) -> tuple[torch.Tensor, float]:
        """The probe's prediction from `keypoints`, scored by `error`."""
        return self.error(self.forward(keypoints, robots, context), target_xy)

    @staticmethod
    def error(pred: torch.Tensor, target_xy: torch.Tensor) -> tuple[torch.Tensor, float]:
        """(B, 2) predicted positions (metres) against the true ones: smooth L1 in decimetres
        over the samples whose target is known (NaN where not), and the mean error in
        centimetres, for the logs."""
        target_xy = target_xy.to(pred.device).float()
        known = torch.isfinite(target_xy).all(-1)
        if not known.any():
            return pred.sum() * 0.0, float("nan")
        pred = pred[known]
        want = target_xy[known]
        loss = F.smooth_l1_loss(pred * UNIT, want * UNIT)
        cm = float((pred - want).detach().norm(dim=-1).mean()) * 100
        return loss, cm
