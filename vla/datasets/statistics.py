"""Per-dimension statistics of (N, D) data, in the form LeRobot's stats.json keeps them."""

from __future__ import annotations

import numpy as np

STAT_QUANTILES = (0.01, 0.99)


def array_stats(x: np.ndarray, quantiles: tuple[float, ...] = STAT_QUANTILES) -> dict:
    """mean/std/min/max, the given quantiles (q01, q99 by default: "q" and the percent) and the
    count, per dimension of (N, D) data."""
    x = np.asarray(x, np.float64)
    stats = {
        "mean": x.mean(0).tolist(),
        "std": x.std(0).tolist(),
        "min": x.min(0).tolist(),
        "max": x.max(0).tolist(),
    }
    for q, v in zip(quantiles, np.quantile(x, quantiles, axis=0), strict=True):
        stats[f"q{round(q * 100):02d}"] = v.tolist()
    stats["count"] = [int(len(x))]
    return stats
