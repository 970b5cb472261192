"""State and embodiment tokens: one projection per robot (their joint counts differ), and a
learned token that says which robot this is."""

from __future__ import annotations

import torch
from torch import nn

from vla.tokenizers.robot_rows import robot_rows


class StateTokenizer(nn.Module):
    def __init__(self, width: int, state_dims: dict[str, int]):
        super().__init__()
        self.robots = sorted(state_dims)
        self.dims = dict(state_dims)
        self.project = nn.ModuleDict({r: nn.Linear(state_dims[r], width) for r in self.robots})
        self.embodiment = nn.Embedding(len(self.robots), width)

    def forward(self, state: torch.Tensor, robots: list[str]) -> torch.Tensor:
        """normalised, padded state (B, D) -> (B, 2, width): [state token, embodiment token]."""
        out = state.new_empty(
            state.shape[0], 2, self.embodiment.embedding_dim, dtype=self.embodiment.weight.dtype
        )
        for r, rows in robot_rows(robots, state.device).items():
            out[rows, 0] = self.project[r](state[rows, : self.dims[r]].to(out.dtype)).to(out.dtype)
            out[rows, 1] = self.embodiment.weight[self.robots.index(r)]
        return out
