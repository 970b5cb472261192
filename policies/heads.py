"""Action heads, picked by `policy.head`. A head turns the backbone's view of the prefix
(text, images, state, embodiment) into an action chunk; a new head (e.g. flow matching)
is one module plus one line here, and nothing else changes."""

from __future__ import annotations

from vla.policies.bins_head import BinsHead
from vla.policies.chunk_head import ChunkHead

# Each head: __init__(config, width, action_dims, vocab_size); loss(run, prefix, mask, targets,
# valid, robots) -> (loss, logs); predict(run, prefix, mask, robots) -> normalised (B, H, D).
HEADS = {"bins": BinsHead, "chunk": ChunkHead}
