"""A batch mixes robots; per-robot layers (state projections, action readouts) each take their
own rows. One helper says which rows those are."""

from __future__ import annotations

import torch


def robot_rows(robots: list[str], device) -> dict[str, torch.Tensor]:
    """robot -> indices of its samples in the batch, robots in sorted order."""
    return {
        r: torch.tensor([i for i, x in enumerate(robots) if x == r], device=device)
        for r in sorted(set(robots))
    }


def read_out(
    layers, dims: dict[str, int], max_dim: int, hidden: torch.Tensor, robots
) -> torch.Tensor:
    """(B, H, W) hidden states -> (B, H, max_dim) float32 through each robot's own linear
    readout (`layers[robot]`, `dims[robot]` outputs); zero past each robot's dimensions."""
    out = hidden.new_zeros(*hidden.shape[:2], max_dim, dtype=torch.float32)
    for r, rows in robot_rows(robots, hidden.device).items():
        out[rows, :, : dims[r]] = layers[r](hidden[rows].to(layers[r].weight.dtype)).float()
    return out
