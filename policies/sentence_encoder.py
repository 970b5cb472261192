"""What the instruction asks for, read by the deep pretrained backbone: one vector per sentence.

The policy keeps only the first few backbone layers (speed on a CPU), and two layers do not know
that "hoist the cube into the air" means "lift it": trained on four phrasings per task, such a
policy did the reach motion for held-out lift paraphrases (docs/results.md). The pretrained
model's own deep layers do know. This encoder runs the prompt once through the first `layers`
decoder layers of the pretrained backbone, frozen, and returns the last token's hidden state:
the position that would start the answer to "What action should the robot take to ...?".
Measured on SmolLM2-135M with that prompt (scripts/probe_instruction_layers.py): a linear probe
fitted on the training phrasings of all four tasks names the task of every held-out paraphrase
(32/32) from layers 22 to 29, against 20/32 from layer 2.

It is not a module of the policy: its weights are the pretrained ones, never trained and never
saved in a checkpoint. An instruction is encoded once and cached (an episode keeps its sentence,
and a dataset holds few), so training and acting pay for it once per distinct sentence.
"""

from __future__ import annotations

import torch

from vla import backbone as backbone_lib
from vla.tokenizers.text import TextTokenizer

MAX_CACHED = 65536  # distinct sentences kept; a dataset holds tens to hundreds


class SentenceEncoder:
    def __init__(
        self,
        name: str,
        layers: int,
        dtype: str = "float32",
        max_text_tokens: int = 64,
        span: int = 1,
        init: str = "pretrained",
        words_layer: int = 0,
    ):
        """`span`: how many layers, ending at layer `layers`, each give their vector (side by
        side): no single layer names every held-out paraphrase's task (docs/results.md).
        `init=random`: the layers drawn afresh from a fixed seed (vla.backbone), an ablation.
        `words_layer` (0: off): one more part, first, the mean of the instruction's own tokens'
        states after that layer: what its words say (the colour, the object, the verb), where
        the last token's deep state is what the prompt as a whole asks; layer 2's words beside
        layer 28 name the task of far more Meta-World paraphrases and keep the tabletop's
        colour (docs/results.md, "What the sentence vector knows")."""
        if not 1 <= span <= layers:
            raise ValueError(f"the sentence span must be between 1 and {layers} layers, got {span}")
        if not 0 <= words_layer <= layers:
            raise ValueError(
                f"the sentence's words layer must be between 0 (off) and {layers}, "
                f"got {words_layer}"
            )
        self.span = span
        self.words_layer = words_layer
        self.parts = span + (1 if words_layer else 0)  # unit vectors side by side, width each
        loaded = backbone_lib.load(
            backbone_lib.BackboneConfig(name=name, num_layers=layers, dtype=dtype, init=init)
        )
        self.decoder = loaded.model.get_decoder()
        self.decoder.requires_grad_(False)
        self.text = TextTokenizer(loaded.tokenizer, max_text_tokens)
        self.width = loaded.model.config.hidden_size  # per layer: a vector is span x width
        self._cache: dict[str, torch.Tensor] = {}
        self._token_cache: dict[str, torch.Tensor] = {}

    @torch.no_grad()
    def encode_one(self, sentence: str) -> torch.Tensor:
        ids, start, end = self.text.instruction_span(sentence)
        ids = torch.tensor([ids], device=next(self.decoder.parameters()).device)
        out = self.decoder(input_ids=ids, output_hidden_states=self.parts > 1)
        below = out.hidden_states[len(out.hidden_states) - self.span : -1] if self.span > 1 else ()
        read = [h[0, -1] for h in (*below, out.last_hidden_state)]
        if self.words_layer:  # hidden_states[k] is the state after layer k (0: the embeddings)
            read.insert(0, out.hidden_states[self.words_layer][0, start:end].mean(0))
        return torch.cat(read).float().cpu()

    @torch.no_grad()
    def encode_tokens_one(self, sentence: str) -> torch.Tensor:
        """(T, W): the top layer's state at every token of the prompt (not only the last)."""
        ids = torch.tensor([self.text.ids(sentence)], device=next(self.decoder.parameters()).device)
        return self.decoder(input_ids=ids).last_hidden_state[0].float().cpu()

    def tokens(self, instructions: list[str], device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) sentences -> (B, T, W) per-token states, right-padded, and their (B, T) mask."""
        for s in instructions:
            if s not in self._token_cache:
                if len(self._token_cache) >= MAX_CACHED:
                    self._token_cache.clear()
                self._token_cache[s] = self.encode_tokens_one(s)
        states = [self._token_cache[s] for s in instructions]
        longest = max(len(x) for x in states)
        out = torch.zeros(len(states), longest, self.width)
        mask = torch.zeros(len(states), longest, dtype=torch.long)
        for i, x in enumerate(states):
            out[i, : len(x)], mask[i, : len(x)] = x, 1
        return out.to(device), mask.to(device)

    def __call__(self, instructions: list[str], device=None) -> torch.Tensor:
        """(B,) sentences -> (B, parts x W) float vectors on `device`: the words' mean first
        (when `words_layer`), the top layer's last-token state last."""
        for s in instructions:
            if s not in self._cache:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[s] = self.encode_one(s)
        return torch.stack([self._cache[s] for s in instructions]).to(device)
