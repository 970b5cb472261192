"""Statistics of relative action chunks: what a policy with `action_mode=relative` predicts.

For every frame t and chunk step k < horizon, the arm's joint targets a[t+k] minus the joint
positions s[t] measured at t (openpi's delta actions). Their 1st..99th percentiles set the
normalisation range, which is far narrower than the absolute targets' range, so the same
normalised error is a much smaller error in radians. The gripper keeps its absolute stats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from vla.datasets.source import Source
from vla.datasets.statistics import array_stats

KEY = "action.relative"


def chunk_deltas(state: np.ndarray, action: np.ndarray, horizon: int) -> np.ndarray:
    """(T, D) states and actions -> (T * horizon', D) arm deltas a[t+k] - s[t], gripper absolute;
    chunk steps past the episode's end are left out (they carry no loss)."""
    out = []
    for k in range(min(horizon, len(action))):
        d = action[k:] - state[: len(action) - k]
        d[:, -1] = action[k:, -1]
        out.append(d)
    return np.concatenate(out)


def with_relative_stats(
    stats: dict, sources: list[Source], horizon: int, robots: Iterable[str] | None = None
) -> dict:
    """A copy of the dataset's per-robot stats with `action.relative` added for `horizon`, for
    `robots` (default: every robot; the others' stats are copied as they are)."""
    robots = set(stats if robots is None else robots)
    per_robot = defaultdict(list)
    for source in sources:
        if source.robot not in robots:
            continue
        for _, state, action in source.state_action():
            per_robot[source.robot].append(chunk_deltas(state, action, horizon))
    out = {}
    for robot, s in stats.items():
        if robot not in robots:
            out[robot] = s
            continue
        if robot not in per_robot:
            raise ValueError(f"the dataset has stats for {robot} but no episodes of it")
        rel = array_stats(np.concatenate(per_robot[robot]))
        rel["horizon"] = horizon
        out[robot] = {**s, KEY: rel}
    return out
