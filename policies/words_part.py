"""`words`: the prompt's word embeddings as tokens, and one pooled vector of them ("text").

The pooled vector conditions whoever reads "text" (the conv image encoder's FiLM, the target
localizer): `mean` averages the words, `attention` learns which words matter (policies/
text_pooling.py). With `noise_words=N`, while training 0..N random vocabulary words (N drawn
per batch) join every prompt before pooling: a held-out paraphrase brings words no
demonstration used, and the pooled vector learns not to move for them (docs/results.md: with
attention pooling and N=6, held-out lifts are found within 0.7 cm, as the training phrasings
are, against 1.6-2.1 cm with the plain mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vla.policies.part import Part, PolicyContext, Seen
from vla.policies.text_pooling import POOLINGS, TextPool
from vla.suggest import unknown


@dataclass
class WordsOptions:
    # the words as tokens of the sequence; false leaves the verb to another part (the sentence)
    tokens: bool = True
    pooling: str = "mean"  # mean | attention: how the words become the one "text" vector
    noise_words: int = 0  # while training, 0..N random vocabulary words join before pooling

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(unknown("policy.parts.words.pooling", self.pooling, POOLINGS))
        if self.noise_words < 0:
            raise ValueError(f"policy.parts.words.noise_words must be >= 0, got {self.noise_words}")


class WordsPart(Part):
    options = WordsOptions

    def __init__(self, options: WordsOptions, context: PolicyContext):
        super().__init__(options, context)
        self.pool = TextPool(context.width, options.pooling)
        self.embeddings = [context.embeddings]  # a list: the backbone's, not this part's weights
        self.needs = ("words", "word_mask")
        self.provides = {"text": context.width}
        self.hears = options.tokens

    def forward(self, seen: Seen):
        words, mask = seen["words"], seen["word_mask"]  # (B, T, W), (B, T)
        seen["text"] = self.pool(*self.with_noise_words(words, mask))  # (B, W)
        if not self.opts.tokens:
            return words[:, :0], None
        return words, mask

    def with_noise_words(self, words: torch.Tensor, mask: torch.Tensor) -> tuple:
        """While training with noise_words=N: 0..N random vocabulary embeddings appended to
        every prompt's (B, T, W) words (real, in the mask); unchanged when acting."""
        n = self.opts.noise_words
        k = int(torch.randint(0, n + 1, ())) if self.training and n else 0
        if not k:
            return words, mask
        table = self.embeddings[0].weight
        extra = table[torch.randint(0, table.shape[0], (words.shape[0], k), device=words.device)]
        return torch.cat([words, extra.to(words.dtype)], 1), torch.cat(
            [mask, mask.new_ones(mask.shape[0], k)], 1
        )
