"""Text tokenizer: the backbone's own HF tokenizer and chat template around the instruction."""

from __future__ import annotations

import torch

PROMPT = "What action should the robot take to {instruction}?"
# A short system turn: without one, SmolLM2's template inserts its own 17-token introduction,
# which costs training time in every sample and says nothing about the task.
SYSTEM = "You control a robot arm."


class TextTokenizer:
    def __init__(self, hf_tokenizer, max_tokens: int = 64):
        self.tok = hf_tokenizer
        self.max_tokens = max_tokens
        self.pad_id = (
            hf_tokenizer.pad_token_id
            if hf_tokenizer.pad_token_id is not None
            else hf_tokenizer.eos_token_id
        )
        # how many template tokens come before and after any instruction (instruction_span)
        a, b = self.full_ids("x"), self.full_ids("y z")
        before = next(i for i, (p, q) in enumerate(zip(a, b, strict=False)) if p != q)
        after = next(i for i, (p, q) in enumerate(zip(a[::-1], b[::-1], strict=False)) if p != q)
        self._around = (before, after)

    def ids(self, instruction: str) -> list[int]:
        # keep the end: the instruction and the assistant turn
        return self.full_ids(instruction)[-self.max_tokens :]

    def full_ids(self, instruction: str) -> list[int]:
        if not isinstance(instruction, str) or not instruction.strip():
            raise ValueError("every observation needs a non-empty 'instruction' string")
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPT.format(instruction=instruction.strip())},
        ]
        ids = self.tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)

    def instruction_span(self, instruction: str) -> tuple[list[int], int, int]:
        """(ids, start, end): the prompt as `ids` gives it and where the instruction's own tokens
        lie in it (ids[start:end]). The template's tokens before and after an instruction are
        the same for every sentence (found once from two probe sentences); words never merge
        across the space before them, so the instruction's tokens are what lies between."""
        before, after = self._around
        full = self.full_ids(instruction)
        kept = full[-self.max_tokens :]
        cut = len(full) - len(kept)
        return kept, max(before - cut, 0), len(kept) - after

    def __call__(self, instructions: list[str], device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded (ids, mask), each (B, T) with T the longest prompt in the batch. Left
        padding keeps every sequence's last prefix position a real token, which is what the
        first action token is predicted from."""
        rows = [self.ids(s) for s in instructions]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        return ids.to(device), mask.to(device)
