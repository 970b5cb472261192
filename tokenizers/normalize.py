"""Per-robot normalisation as explicit, invertible steps (a missing robot is an error).

State: (x - mean) / std. Actions: the 1st..99th percentile range mapped onto [-1, 1] (values
beyond it are clipped when normalising), and back. Stats come from the dataset's
meta/stats.json and travel inside the checkpoint.

With `relative=True` the arm's joint targets are first taken relative to the joint positions
measured when the chunk starts (and added back after un-normalising), with the ranges of
`action.relative` (see `vla.datasets.relative_stats`); the gripper command stays absolute.
"""

from __future__ import annotations

import torch

from vla.suggest import unknown

EPS = 1e-6
RELATIVE_KEY = "action.relative"


class Normalizer:
    def __init__(
        self, stats: dict, max_dim: int, relative: bool = False, max_state_dim: int | None = None
    ):
        """stats: {robot: {"observation.state": {...}, "action": {...}}}; actions are padded to
        `max_dim` entries, states to `max_state_dim` (default: the same)."""
        self.stats = stats
        self.max_dim = max_dim
        self.max_state_dim = max_state_dim or max_dim
        self.relative = relative
        self._t = {}
        for robot, s in stats.items():
            if relative and RELATIVE_KEY not in s:
                raise ValueError(
                    f"no '{RELATIVE_KEY}' stats for {robot}: relative actions need them "
                    "(vla train adds them from the dataset)"
                )
            st, ac = s["observation.state"], s[RELATIVE_KEY if relative else "action"]
            arm = len(ac["q01"]) - 1  # every entry but the gripper's is relative
            self._t[robot] = {
                "state_mean": self._pad(st["mean"], 0.0, self.max_state_dim),
                "state_std": self._pad(st["std"], 1.0, self.max_state_dim).clamp_min(EPS),
                "action_low": self._pad(ac["q01"], -1.0),
                "action_high": self._pad(ac["q99"], 1.0),
            }
            if relative:
                self._t[robot]["relative"] = self._pad([1.0] * arm, 0.0)
            # A dimension that never moved in the data (q01 == q99) gets a unit-wide range
            # centred on its value, so normalising stays finite and un-normalising returns it.
            t = self._t[robot]
            flat = (t["action_high"] - t["action_low"]) < EPS
            t["action_low"] = torch.where(flat, t["action_low"] - 0.5, t["action_low"])
            t["action_high"] = torch.where(flat, t["action_high"] + 0.5, t["action_high"])

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
        """What relative actions are measured from: (B, [1,] D) joint positions, 0 elsewhere."""
        if not self.relative:
            return torch.zeros((), device=like.device)
        if state is None:
            raise ValueError("relative actions need the measured state (B, D)")
        off = state.float() * self._stack(robots, "relative", like.device)
        return off[:, None] if like.dim() == 3 else off

    def action(self, x: torch.Tensor, robots: list[str], state=None) -> torch.Tensor:
        """(B, [H,] D) robot units -> [-1, 1]; `state` (B, D) raw, for relative actions."""
        lo, hi = (
            self._stack(robots, "action_low", x.device),
            self._stack(robots, "action_high", x.device),
        )
        if x.dim() == 3:
            lo, hi = lo[:, None], hi[:, None]
        x = x - self._offset(robots, state, x)
        return (2 * (x - lo) / (hi - lo) - 1).clamp(-1, 1)

    def unaction(self, y: torch.Tensor, robots: list[str], state=None) -> torch.Tensor:
        """Inverse of `action`: [-1, 1] -> robot units."""
        lo, hi = (
            self._stack(robots, "action_low", y.device),
            self._stack(robots, "action_high", y.device),
        )
        if y.dim() == 3:
            lo, hi = lo[:, None], hi[:, None]
        return (y.clamp(-1, 1) + 1) / 2 * (hi - lo) + lo + self._offset(robots, state, y)
