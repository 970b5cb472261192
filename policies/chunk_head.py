"""`chunk`: learned action-query tokens decoded in one parallel pass into a continuous action
chunk, trained with an L1 loss (the OpenVLA-OFT scheme)."""

from __future__ import annotations

import torch
from torch import nn

from vla.tokenizers.action import ContinuousTokenizer
from vla.tokenizers.robot_rows import robot_rows


class ChunkHead(nn.Module):
    def __init__(self, config, width: int, action_dims: dict[str, int], vocab_size: int):
        super().__init__()
        self.horizon = config.horizon
        self.max_dim = max(action_dims.values())
        self.dims = dict(action_dims)
        self.queries = nn.Parameter(torch.randn(config.horizon, width) * 0.02)
        self.out = nn.ModuleDict({r: nn.Linear(width, d) for r, d in sorted(action_dims.items())})
        self.tokenizer = ContinuousTokenizer()

    def _hidden(self, run, prefix, mask):
        b = prefix.shape[0]
        queries = self.queries.to(prefix.dtype).unsqueeze(0).expand(b, -1, -1)  # (B, H, W)
        embeds = torch.cat([prefix, queries], dim=1)
        full_mask = torch.cat([mask, mask.new_ones(b, self.horizon)], dim=1)
        return run(embeds, full_mask)[:, -self.horizon :]  # (B, H, W)

    def _actions(self, hidden, robots):
        out = hidden.new_zeros(hidden.shape[0], self.horizon, self.max_dim, dtype=torch.float32)
        for r, rows in robot_rows(robots, hidden.device).items():
            out[rows, :, : self.dims[r]] = self.out[r](
                hidden[rows].to(self.out[r].weight.dtype)
            ).float()
        return out  # (B, H, D)

    def loss(self, run, prefix, mask, targets, valid, robots):
        pred = self._actions(self._hidden(run, prefix, mask), robots)
        err = (pred - self.tokenizer.encode(targets)).abs() * valid
        loss = err.sum() / valid.sum().clamp_min(1)
        per_sample = err.sum((1, 2)).detach() / valid.sum((1, 2)).clamp_min(1)  # (B,)
        return loss, {"l1": float(loss.detach()), "per_sample": per_sample}

    def predict(self, run, prefix, mask, robots):
        return self.tokenizer.decode(self._actions(self._hidden(run, prefix, mask), robots))
