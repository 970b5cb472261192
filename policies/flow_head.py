"""`flow`: conditional flow matching over the action chunk (the pi0 / SmolVLA scheme). Training
mixes each normalised chunk with Gaussian noise at a random time t and regresses the velocity
from noise towards the chunk; acting starts from seeded noise and integrates that velocity with
Euler steps. The prefix (text, images, state) runs through the backbone once per call and stays
cached; only the H action tokens run again at each integration step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vla.policies.action_head import ActionHead
from vla.tokenizers.action import ContinuousTokenizer
from vla.tokenizers.robot_rows import read_out

# pi0's time sampling: Beta(1.5, 1) leans towards t = 1 (mostly noise), the hard end
BETA_A, BETA_B = 1.5, 1.0
T_MIN = 1e-3


def time_embedding(t: torch.Tensor, width: int) -> torch.Tensor:
    """(B,) times in [0, 1] -> (B, width) sines and cosines over periods from 4e-3 to 4."""
    half = width // 2
    periods = 4e-3 * (4.0 / 4e-3) ** torch.linspace(0, 1, half, device=t.device)
    angles = 2 * math.pi * t[:, None].float() / periods
    return torch.cat([angles.sin(), angles.cos()], -1)


@dataclass
class FlowOptions:
    steps: int = 10  # Euler steps from noise to the chunk when acting
    seed: int = 0  # the seed of the starting noise (same inputs, same actions)

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(
                f"policy.heads.flow.steps must be >= 1 (Euler steps), got {self.steps}"
            )


class FlowHead(ActionHead):
    options = FlowOptions

    def __init__(
        self, config, width: int, action_dims: dict[str, int], vocab_size: int, inputs=None
    ):
        super().__init__()
        self.horizon = config.horizon
        self.max_dim = max(action_dims.values())
        self.dims = dict(action_dims)
        self.steps = config.options.steps
        self.seed = config.options.seed
        self.width = width
        self.queries = nn.Parameter(torch.randn(config.horizon, width) * 0.02)
        self.action_in = nn.Linear(self.max_dim, width)
        # action and time meet in a small MLP, as in pi0's action expert input
        self.mix = nn.Sequential(nn.Linear(2 * width, width), nn.SiLU(), nn.Linear(width, width))
        self.out = nn.ModuleDict({r: nn.Linear(width, d) for r, d in sorted(action_dims.items())})
        self.tokenizer = ContinuousTokenizer()

    def _dim_mask(self, robots, device) -> torch.Tensor:
        """(B, 1, D): 1 on each robot's own action dimensions; the rest stays zero throughout."""
        m = torch.zeros(len(robots), 1, self.max_dim, device=device)
        for i, r in enumerate(robots):
            m[i, :, : self.dims[r]] = 1
        return m

    def _tokens(self, x: torch.Tensor, t: torch.Tensor, dtype) -> torch.Tensor:
        """(B, H, D) noisy chunk at (B,) times -> (B, H, W) action tokens."""
        a = self.action_in(x.to(self.action_in.weight.dtype))
        te = time_embedding(t, self.width).to(a.dtype)[:, None].expand(-1, self.horizon, -1)
        return (self.mix(torch.cat([a, te], -1)) + self.queries.to(a.dtype)).to(dtype)

    def _velocity(self, hidden, robots) -> torch.Tensor:
        return read_out(self.out, self.dims, self.max_dim, hidden, robots)

    def loss(self, run, prefix, mask, targets, valid, robots):
        b = prefix.shape[0]
        dims = self._dim_mask(robots, prefix.device)
        actions = self.tokenizer.encode(targets.float()) * dims
        noise = torch.randn_like(actions) * dims
        beta = torch.distributions.Beta(BETA_A, BETA_B)
        t = (beta.sample((b,)) * (1 - T_MIN) + T_MIN).to(prefix.device)
        x_t = t[:, None, None] * noise + (1 - t[:, None, None]) * actions
        embeds = torch.cat([prefix, self._tokens(x_t, t, prefix.dtype)], 1)
        full_mask = torch.cat([mask, mask.new_ones(b, self.horizon)], 1)
        v = self._velocity(run(embeds, full_mask)[:, -self.horizon :], robots)
        err = (v - (noise - actions)).pow(2) * valid
        loss = err.sum() / valid.sum().clamp_min(1)
        per_sample = err.sum((1, 2)).detach() / valid.sum((1, 2)).clamp_min(1)  # (B,)
        return loss, {"flow_mse": float(loss.detach()), "per_sample": per_sample}

    @torch.no_grad()
    def predict(self, run, prefix, mask, robots):
        """Euler from seeded noise (t = 1) to the chunk (t = 0): the same inputs give the same
        actions on every call and machine (the noise is drawn on the CPU)."""
        b, length = prefix.shape[0], prefix.shape[1]
        dims = self._dim_mask(robots, prefix.device)
        g = torch.Generator().manual_seed(self.seed)
        x = torch.randn(b, self.horizon, self.max_dim, generator=g).to(prefix.device) * dims
        _, cache = run.start(prefix, mask)
        full_mask = torch.cat([mask, mask.new_ones(b, self.horizon)], 1)
        positions = run.positions(full_mask)[:, length:]
        dt = 1.0 / self.steps
        for i in range(self.steps):
            t = torch.full((b,), 1.0 - i * dt, device=prefix.device)
            hidden, cache = run.step(self._tokens(x, t, prefix.dtype), full_mask, positions, cache)
            run.truncate(cache, length)  # drop this step's action tokens: the next brings its own
            x = x - dt * self._velocity(hidden, robots) * dims
        return self.tokenizer.decode(x)
