"""`chunk`: learned action-query tokens decoded in one parallel pass into a continuous action
chunk, trained with an L1 loss (the OpenVLA-OFT scheme)."""

from __future__ import annotations

import torch
from torch import nn

from vla.policies.action_head import ActionHead
from vla.tokenizers.action import ContinuousTokenizer
from vla.tokenizers.robot_rows import read_out


class ChunkHead(ActionHead):
    conditioning = ("anchors", "frame")

    def __init__(self, config, width, action_dims: dict[str, int], vocab_size, inputs=None):
        """`inputs`: what the parts provide of `conditioning`, {name: size}: with "anchors"
        (K positions) the TCP x, y blend them; with "frame" they are corrected in it too."""
        super().__init__()
        inputs = inputs or {}
        self.horizon = config.horizon
        self.max_dim = max(action_dims.values())
        self.dims = dict(action_dims)
        self.queries = nn.Parameter(torch.randn(config.horizon, width) * 0.02)
        self.out = nn.ModuleDict({r: nn.Linear(width, d) for r, d in sorted(action_dims.items())})
        self.tokenizer = ContinuousTokenizer()
        # with no backbone layers (backbone.num_layers=0, an ablation) nothing would carry the
        # prefix to the queries: one attention read-out does, and is all the mixing there is
        self.read_prefix = (
            nn.MultiheadAttention(width, 4, batch_first=True) if config.num_layers == 0 else None
        )
        self.anchor_weights = None
        if "anchors" in inputs:  # e.g. target, goal, the TCP itself; zero init: an even blend
            self.anchor_weights = nn.Linear(width, inputs["anchors"])
            nn.init.zeros_(self.anchor_weights.weight)
            nn.init.zeros_(self.anchor_weights.bias)
        self.frame_offset = None
        if "frame" in inputs:  # (along, across) the target-to-goal frame; zero init: none
            self.frame_offset = nn.Linear(width, 2)
            nn.init.zeros_(self.frame_offset.weight)
            nn.init.zeros_(self.frame_offset.bias)

    def _hidden(self, run, prefix, mask):
        b = prefix.shape[0]
        queries = self.queries.to(prefix.dtype).unsqueeze(0).expand(b, -1, -1)  # (B, H, W)
        if self.read_prefix is not None:
            read, _ = self.read_prefix(
                queries, prefix, prefix, key_padding_mask=mask == 0, need_weights=False
            )
            queries = queries + read
        embeds = torch.cat([prefix, queries], dim=1)
        full_mask = torch.cat([mask, mask.new_ones(b, self.horizon)], dim=1)
        return run(embeds, full_mask)[:, -self.horizon :]  # (B, H, W)

    def _actions(self, hidden, robots, anchors=None, frame=None):
        """`anchors` (B, K, 2): positions in normalised action units that the first two action
        dimensions (TCP x, y) blend, per chunk step, before their own correction. `frame`
        (B, 2, 2): the target-to-goal frame's two axes, in the same units, that the frame
        offset's (along, across) are measured in. In float32 also under bf16 autocast: the
        read-out is the action itself, and bf16 rounds it to ~0.4% of its range."""
        with torch.autocast(hidden.device.type, enabled=False):
            return self._read_actions(hidden.float(), robots, anchors, frame)

    def _read_actions(self, hidden, robots, anchors, frame):
        out = read_out(self.out, self.dims, self.max_dim, hidden, robots)
        if self.anchor_weights is not None:
            if anchors is None:
                raise ValueError("the chunk head was built to blend anchors: none were provided")
            w = self.anchor_weights(hidden.to(self.anchor_weights.weight.dtype)).float()
            blend = w.softmax(-1) @ anchors.float()  # (B, H, K) @ (B, K, 2)
            if self.frame_offset is not None:
                if frame is None:
                    raise ValueError("the chunk head was built to use the frame: none was provided")
                off = self.frame_offset(hidden.to(self.frame_offset.weight.dtype)).float()
                blend = blend + off @ frame.float()  # (B, H, 2) @ (B, 2, 2)
            out = torch.cat([out[..., :2] + blend, out[..., 2:]], -1)
        return out  # (B, H, D)

    def loss(self, run, prefix, mask, targets, valid, robots, anchors=None, frame=None):
        pred = self._actions(self._hidden(run, prefix, mask), robots, anchors, frame)
        err = (pred - self.tokenizer.encode(targets)).abs() * valid
        loss = err.sum() / valid.sum().clamp_min(1)
        per_sample = err.sum((1, 2)).detach() / valid.sum((1, 2)).clamp_min(1)  # (B,)
        return loss, {"l1": float(loss.detach()), "per_sample": per_sample}

    def predict(self, run, prefix, mask, robots, anchors=None, frame=None):
        return self.tokenizer.decode(
            self._actions(self._hidden(run, prefix, mask), robots, anchors, frame)
        )
