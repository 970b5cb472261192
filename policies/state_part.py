"""`state`: the robot's normalised state as one token, and a learnt token naming the robot
(vla.tokenizers.state). Every policy has it: acting needs the robot's own state.

`history=k` adds one token for how the state moved: the differences between the current state
and each of the k states before it (one control step apart, newest first; at an episode's
start the first state stands in for those not seen yet), normalised like the state. Acting
then needs obs["past_states"] (k, state_dim) in the robot's units, newest first, which
`vla.serving.chunking.ChunkExecutor` keeps from the states it sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vla.policies.part import Part, PolicyContext, Seen
from vla.tokenizers.robot_rows import robot_rows
from vla.tokenizers.state import StateTokenizer

PAST_KEY = "past_states"  # the observation key acting reads when history > 0


@dataclass
class StateOptions:
    history: int = 0  # earlier states read as one motion token (0: the current state only)

    def __post_init__(self):
        if not 0 <= self.history <= 32:
            raise ValueError(
                f"policy.parts.state.history must be between 0 and 32 steps, got {self.history}"
            )


class StatePart(Part):
    options = StateOptions

    def __init__(self, options, context: PolicyContext):
        super().__init__(options, context)
        dims = {r: s.state_dim for r, s in context.schemas.items()}
        self.tokens = StateTokenizer(context.width, dims)
        self.needs = ("state", "robots")
        self.motion = None
        if options.history:
            self.dims, self.normalizer = dims, context.normalizer
            self.motion = nn.ModuleDict(
                {r: nn.Linear(options.history * d, context.width) for r, d in sorted(dims.items())}
            )
            self.needs = ("state", "robots", PAST_KEY)
            self.observes = (PAST_KEY,)

    def forward(self, seen: Seen):
        tokens = self.tokens(seen["state"], seen["robots"])  # (B, 2, W)
        if self.motion is None:
            return tokens, None
        past = seen.get(PAST_KEY)
        k = self.opts.history
        if past is None or past.shape[1] != k:
            raise ValueError(
                f"this policy reads the last {k} states (policy.parts.state.history={k}): give "
                f"obs['{PAST_KEY}'] ({k}, state_dim), newest first, in the robot's units"
            )
        robots = seen["robots"]
        b, _, s = past.shape
        flat = self.normalizer.state(
            past.reshape(b * k, s).float(), [r for r in robots for _ in range(k)]
        )
        moved = seen["state"].float()[:, None] - flat.reshape(b, k, s)  # (B, k, S)
        out = tokens.new_zeros(b, 1, tokens.shape[2])
        for r, rows in robot_rows(robots, past.device).items():
            x = moved[rows, :, : self.dims[r]].reshape(len(rows), -1)
            out[rows, 0] = self.motion[r](x.to(self.motion[r].weight.dtype)).to(out.dtype)
        return torch.cat([tokens, out], 1), None
