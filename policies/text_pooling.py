"""One vector for the whole instruction, which conditions the conv image encoder (FiLM).

`mean` averages the prompt's word embeddings: the colour that names the target is one word of
about 33 (most of them the fixed chat template), so its signal is diluted. `attention` learns
which words matter: a single learned query scores every word; it starts at zero, so an
untrained pool is exactly the mean and training can only sharpen it onto the words that
change what the robot should do."""

from __future__ import annotations

import torch
from torch import nn

POOLINGS = ("mean", "attention")


class TextPool(nn.Module):
    def __init__(self, width: int, kind: str = "mean"):
        super().__init__()
        if kind not in POOLINGS:
            raise ValueError(f"text pooling must be one of {POOLINGS}, got {kind!r}")
        self.kind = kind
        if kind == "attention":
            self.keys = nn.Linear(width, width, bias=False)
            self.query = nn.Parameter(torch.zeros(width))

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, W) word embeddings, (B, T) mask of real tokens -> (B, W)."""
        real = mask.bool()
        if self.kind == "mean":
            m = real[..., None].to(words.dtype)
            return (words * m).sum(1) / m.sum(1).clamp_min(1)
        x = words.to(self.query.dtype)
        scores = self.keys(x) @ self.query / x.shape[-1] ** 0.5  # (B, T)
        weights = scores.masked_fill(~real, float("-inf")).softmax(-1)
        return (weights[..., None] * x).sum(1).to(words.dtype)
