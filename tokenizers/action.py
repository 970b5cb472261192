"""Action (de)tokenizers behind one Protocol: `encode(actions) -> targets`, `decode(outputs) -> actions`.

Both work on normalised actions in [-1, 1] (see `vla.tokenizers.normalize`).
"""

from __future__ import annotations

from typing import Protocol

import torch


class ActionTokenizer(Protocol):
    def encode(self, actions: torch.Tensor) -> torch.Tensor: ...

    def decode(self, outputs: torch.Tensor) -> torch.Tensor: ...


class BinTokenizer:
    """`num_bins` uniform bins per dimension over [-1, 1] (the 1st..99th percentile range after
    normalisation; the bins head's option, 256 by default), mapped onto the last `num_bins` ids
    of the backbone's vocabulary: the RT-2 / OpenVLA scheme. Decoding returns bin centres, so
    error is at most half a bin."""

    def __init__(self, vocab_size: int, num_bins: int):
        self.num_bins = num_bins
        self.first_id = vocab_size - num_bins
        self.edges = torch.linspace(-1, 1, num_bins + 1)
        self.centres = (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def bin_width(self) -> float:
        return 2.0 / self.num_bins

    def encode(self, actions: torch.Tensor) -> torch.Tensor:
        """[-1, 1] actions (any shape) -> vocabulary ids (same shape)."""
        bins = torch.bucketize(
            actions.clamp(-1, 1).contiguous(), self.edges.to(actions.device)[1:-1]
        )
        return bins + self.first_id

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        bins = (ids - self.first_id).clamp(0, self.num_bins - 1)
        return self.centres.to(ids.device)[bins]


class ContinuousTokenizer:
    """The `chunk` head's identity mapping: targets are the normalised actions themselves."""

    def encode(self, actions: torch.Tensor) -> torch.Tensor:
        return actions.clamp(-1, 1)

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.clamp(-1, 1)
