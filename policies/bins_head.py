"""`bins`: every action dimension of every step becomes one of 256 bin tokens on the backbone's
own vocabulary, decoded autoregressively with a KV cache and constrained to those tokens
(the RT-2 / OpenVLA scheme)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from vla.policies.action_head import ActionHead
from vla.tokenizers.action import BinTokenizer


@dataclass
class BinsOptions:
    num_bins: int = 256  # bins per action dimension (the vocabulary's last ids)

    def __post_init__(self):
        if self.num_bins < 2:
            raise ValueError(f"policy.heads.bins.num_bins must be >= 2, got {self.num_bins}")


class BinsHead(ActionHead):
    options = BinsOptions

    def __init__(
        self, config, width: int, action_dims: dict[str, int], vocab_size: int, inputs=None
    ):
        super().__init__()
        self.horizon = config.horizon
        self.max_dim = max(action_dims.values())
        self.dims = dict(action_dims)
        self.tokenizer = BinTokenizer(vocab_size, config.options.num_bins)

    def _action_logits(self, run, hidden):
        """Logits over the bin tokens only (B, n, num_bins): the constraint and the speed-up."""
        weight = run.lm_head.weight[self.tokenizer.first_id :]  # (num_bins, W)
        return hidden.to(weight.dtype) @ weight.T

    def _flatten(self, ids, robots):
        """(B, H, D) ids -> (B, n) step-major token rows, each robot using its own D; pad = -1."""
        rows = [ids[i, :, : self.dims[r]].reshape(-1) for i, r in enumerate(robots)]
        n = max(len(r) for r in rows)
        out = ids.new_full((len(rows), n), -1)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out

    def loss(self, run, prefix, mask, targets, valid, robots):
        ids = self._flatten(self.tokenizer.encode(targets), robots)  # (B, n)
        keep = self._flatten(valid.long(), robots) == 1  # padded chunk steps carry no loss
        present = ids >= 0
        token_embeds = run.embed(ids.clamp_min(0))  # teacher forcing with the true tokens
        embeds = torch.cat([prefix, token_embeds[:, :-1]], dim=1)
        full_mask = torch.cat([mask, present[:, :-1].long()], dim=1)
        hidden = run(embeds, full_mask)[:, prefix.shape[1] - 1 :]  # (B, n, W): predicts token k
        logits = self._action_logits(run, hidden).float()
        target = torch.where(
            keep & present, ids - self.tokenizer.first_id, torch.full_like(ids, -100)
        )
        per_token = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            target.reshape(-1),
            ignore_index=-100,
            reduction="none",
        ).view(target.shape)  # (B, n), 0 where ignored
        counted = (target >= 0).float()
        loss = per_token.sum() / counted.sum().clamp_min(1)
        per_sample = per_token.detach().sum(1) / counted.sum(1).clamp_min(1)  # (B,)
        accuracy = (logits.argmax(-1) == target)[target >= 0].float().mean()
        return loss, {
            "ce": float(loss.detach()),
            "token_accuracy": float(accuracy),
            "per_sample": per_sample,
        }

    @torch.no_grad()
    def predict_ids(self, run, prefix, mask, robots) -> torch.Tensor:
        """Greedy decoding with a KV cache: (B, n) bin token ids, n = H x widest robot's D."""
        n = self.horizon * max(self.dims[r] for r in robots)
        hidden, cache = run.start(prefix, mask)
        ids = []
        positions = mask.sum(-1, keepdim=True)  # next position for each row (left-padded prefix)
        for step in range(n):
            token = (
                self._action_logits(run, hidden[:, -1:]).argmax(-1) + self.tokenizer.first_id
            )  # (B, 1)
            ids.append(token)
            if step == n - 1:
                break
            mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
            hidden, cache = run.step(run.embed(token), mask, positions + step, cache)
        return torch.cat(ids, dim=1)

    def predict(self, run, prefix, mask, robots):
        ids = self.predict_ids(run, prefix, mask, robots)
        out = torch.zeros(ids.shape[0], self.horizon, self.max_dim, device=ids.device)
        for i, r in enumerate(robots):
            d = self.dims[r]
            out[i, :, :d] = self.tokenizer.decode(
                ids[i, : self.horizon * d].reshape(self.horizon, d)
            )
        return out
