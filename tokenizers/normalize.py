"""Per-robot normalisation as explicit, invertible steps (a missing robot is an error).

State: (x - mean) / std. Actions, one of two ways (`action_norm`):
- `quantile`: the 1st..99th percentile range mapped onto [-1, 1] (values beyond it clipped);
- `meanstd`: (x - mean) / std, clipped to where the data's min and max land; unlike the range,
  it weighs each dimension's loss by how much that dimension usually moves (a gripper that
  is mostly open or closed counts less than an arm that moves all the time).
Un-normalising inverts either. Stats come from the dataset's meta/stats.json and travel inside
the checkpoint.

With `relative=True` the arm's targets (joints or the TCP pose) are first taken relative to the
state measured when the chunk starts (and added back after un-normalising), with the ranges of
`action.relative` (see `vla.datasets.relative_stats`); the gripper command stays absolute.
`relative` may instead name the robots it applies to: the others' actions are already changes.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from vla.suggest import unknown

EPS = 1e-6
RELATIVE_KEY = "action.relative"
ACTION_NORMS = ("quantile", "meanstd")


class Normalizer:
    def __init__(
        self,
        stats: dict,
        max_dim: int,
        relative: bool | Iterable[str] = False,
        max_state_dim: int | None = None,
        action_norm: str = "quantile",
    ):
        """stats: {robot: {"observation.state": {...}, "action": {...}}}; actions are padded to
        `max_dim` entries, states to `max_state_dim` (default: the same)."""
        if action_norm not in ACTION_NORMS:
            raise ValueError(unknown("policy.action_norm", action_norm, ACTION_NORMS))
        self.stats = stats
        self.max_dim = max_dim
        self.max_state_dim = max_state_dim or max_dim
        self.relative = set(stats) if relative is True else set(relative or ())
        self.action_norm = action_norm
        self._t = {}
        for robot, s in stats.items():
            is_relative = robot in self.relative
            if is_relative and RELATIVE_KEY not in s:
                raise ValueError(
                    f"no '{RELATIVE_KEY}' stats for {robot}: relative actions need them "
                    "(vla train adds them from the dataset)"
                )
            st, ac = s["observation.state"], s[RELATIVE_KEY if is_relative else "action"]
            arm = len(ac["q01"]) - 1  # every entry but the gripper's is relative
            self._t[robot] = {
                "state_mean": self._pad(st["mean"], 0.0, self.max_state_dim),
                "state_std": self._pad(st["std"], 1.0, self.max_state_dim).clamp_min(EPS),
                **self._action_terms(ac),
            }
            self._t[robot]["relative"] = self._pad([1.0 if is_relative else 0.0] * arm, 0.0)

    def _action_terms(self, ac: dict) -> dict[str, torch.Tensor]:
        """normalised = (x - centre) / scale, clipped to [bound_low, bound_high], per entry."""
        if self.action_norm == "quantile":
            low, high = self._pad(ac["q01"], -1.0), self._pad(ac["q99"], 1.0)
            # A dimension that never moved in the data (q01 == q99) gets a unit-wide range
            # centred on its value, so normalising stays finite and un-normalising returns it.
            flat = (high - low) < EPS
            low, high = torch.where(flat, low - 0.5, low), torch.where(flat, high + 0.5, high)
            ones = torch.ones(self.max_dim)
            return {
                "centre": (high + low) / 2,
                "scale": (high - low) / 2,
                "bound_low": -ones,
                "bound_high": ones,
            }
        for key in ("mean", "std", "min", "max"):
            if key not in ac:
                raise ValueError(f"policy.action_norm=meanstd needs the actions' {key!r}")
        centre, std = self._pad(ac["mean"], 0.0), self._pad(ac["std"], 1.0)
        scale = torch.where(std < EPS, torch.full_like(std, 0.5), std)
        low = (self._pad(ac["min"], -1.0) - centre) / scale
        high = (self._pad(ac["max"], 1.0) - centre) / scale
        # padding dimensions past a robot's own: the same [-1, 1] as the quantile way
        pad = torch.arange(self.max_dim) >= len(ac["mean"])
        return {
            "centre": centre,
            "scale": scale,
            "bound_low": torch.where(pad, -1.0, low.clamp(max=-EPS)),
            "bound_high": torch.where(pad, 1.0, high.clamp(min=EPS)),
        }

    def _pad(self, values, fill: float, width: int | None = None) -> torch.Tensor:
        out = torch.full((width or self.max_dim,), fill, dtype=torch.float32)
        out[: len(values)] = torch.tensor(values, dtype=torch.float32)
        return out

    def _stack(self, robots: list[str], key: str, device) -> torch.Tensor:
        for r in robots:
            if r not in self._t:
                raise KeyError(unknown("robot (no normalisation stats for it)", r, self._t))
        return torch.stack([self._t[r][key] for r in robots]).to(device)  # (B, D)

    def state(self, x: torch.Tensor, robots: list[str]) -> torch.Tensor:
        return (x - self._stack(robots, "state_mean", x.device)) / self._stack(
            robots, "state_std", x.device
        )

    def _offset(self, robots, state, like: torch.Tensor) -> torch.Tensor:
        """What relative actions are measured from: (B, [1,] D) the measured arm state of the
        robots whose actions are relative, 0 elsewhere."""
        if not self.relative:
            return torch.zeros((), device=like.device)
        if state is None:
            raise ValueError("relative actions need the measured state (B, D)")
        off = state.float() * self._stack(robots, "relative", like.device)
        return off[:, None] if like.dim() == 3 else off

    def _affine(self, robots: list[str], like: torch.Tensor):
        """(centre, scale, bound_low, bound_high), each (B, [1,] D) to broadcast with `like`."""
        keys = ("centre", "scale", "bound_low", "bound_high")
        out = [self._stack(robots, k, like.device) for k in keys]
        return [v[:, None] for v in out] if like.dim() == 3 else out

    def action(self, x: torch.Tensor, robots: list[str], state=None) -> torch.Tensor:
        """(B, [H,] D) robot units -> normalised (quantile: [-1, 1]); `state` (B, D) raw, for
        relative actions."""
        centre, scale, low, high = self._affine(robots, x)
        x = x - self._offset(robots, state, x)
        return torch.minimum(torch.maximum((x - centre) / scale, low), high)

    def unaction(self, y: torch.Tensor, robots: list[str], state=None) -> torch.Tensor:
        """Inverse of `action`: normalised -> robot units."""
        centre, scale, low, high = self._affine(robots, y)
        y = torch.minimum(torch.maximum(y, low), high)
        return y * scale + centre + self._offset(robots, state, y)
