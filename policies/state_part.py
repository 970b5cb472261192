"""`state`: the robot's normalised state as one token, and a learnt token naming the robot
(vla.tokenizers.state). Every policy has it: acting needs the robot's own state."""

from __future__ import annotations

from vla.policies.part import Part, PolicyContext, Seen
from vla.tokenizers.state import StateTokenizer


class StatePart(Part):
    def __init__(self, options, context: PolicyContext):
        super().__init__(options, context)
        dims = {r: s.state_dim for r, s in context.schemas.items()}
        self.tokens = StateTokenizer(context.width, dims)
        self.needs = ("state", "robots")

    def forward(self, seen: Seen):
        return self.tokens(seen["state"], seen["robots"]), None  # (B, 2, W)
