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
