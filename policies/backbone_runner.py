"""A thin, explicit view of the HF causal LM the heads drive: embed tokens, run the decoder on
embeddings (positions follow the attention mask, so left padding is fine), step with a cache."""

from __future__ import annotations

import inspect

import torch


class BackboneRunner:
    def __init__(self, causal_lm):
        self.lm = causal_lm
        self.decoder = causal_lm.get_decoder()
        self.lm_head = causal_lm.get_output_embeddings()
        # transformers renamed `past_key_values` to `cache` (5.2x); speak whichever this one has.
        self._cache_arg = (
            "cache"
            if "cache" in inspect.signature(self.decoder.forward).parameters
            else "past_key_values"
        )

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm.get_input_embeddings()(ids)

    @staticmethod
    def positions(mask: torch.Tensor) -> torch.Tensor:
        return (mask.cumsum(-1) - 1).clamp_min(0)

    def __call__(self, embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L, W) embeddings, (B, L) mask -> last hidden states (B, L, W)."""
        out = self.decoder(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=self.positions(mask),
            use_cache=False,
        )
        return out.last_hidden_state

    def start(self, embeds, mask):
        out = self.decoder(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=self.positions(mask),
            use_cache=True,
        )
        return out.last_hidden_state, getattr(out, self._cache_arg)

    def step(self, embeds, mask, positions, cache):
        out = self.decoder(
            inputs_embeds=embeds,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self._cache_arg: cache},
        )
        return out.last_hidden_state, getattr(out, self._cache_arg)

    @staticmethod
    def truncate(cache, length: int) -> None:
        """Drops what was cached after the first `length` positions, in place. A negative
        count means "remove that many" in every transformers version (a positive one meant
        the length to keep before 5.2x and is refused after)."""
        extra = cache.get_seq_length() - length
        if extra > 0:
            cache.crop(-extra)
