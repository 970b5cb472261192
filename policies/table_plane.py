"""From a fixed camera's pixel to a point on the table: a plane-to-plane homography.

A pinhole camera that does not move sees the table plane through a 3x3 projective map, so
eight numbers per robot and thing turn the localizer's (u, v) into (x, y) exactly. They are
fitted once, in closed form, from labelled points of the training set (the cubes' and the
fixtures' starting places and pixels that `vla collect` records): nothing to learn, nothing
for the optimiser to drift. The learnt alternative, a small MLP per robot, was 1-3.6 cm off on
the 4x4 validation frames while the heatmap under it was 0.3 cm off (docs/results.md).

A cube's centre and a fixture's reference point sit at different heights, so each thing has its
own plane: "target" from the cubes, "goal" from the bowl, plate and mark.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

CUBE_PREFIX = "cube_"
MAX_FIT_ERROR_M = 0.002  # a worse fit means the camera moved or is not a pinhole: say so


def fit_plane(uv: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, 2) image points in [-1, 1] and their (N, 2) table points (metres) -> the (3, 3) map
    H with (x, y, 1) ~ H (u, v, 1), by the normalised direct linear transform."""
    uv, xy = np.asarray(uv, float), np.asarray(xy, float)
    if len(uv) < 4 or np.linalg.matrix_rank(uv - uv.mean(0)) < 2:
        raise ValueError(
            f"a table map needs at least 4 labelled points not on one line, got {len(uv)}"
        )
    (tu, su), (tx, sx) = _similarity(uv), _similarity(xy)
    a = (uv - tu) * su
    b = (xy - tx) * sx
    rows = []
    for (u, v), (x, y) in zip(a, b, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -x * u, -x * v, -x])
        rows.append([0, 0, 0, u, v, 1, -y * u, -y * v, -y])
    h = np.linalg.svd(np.asarray(rows))[2][-1].reshape(3, 3)
    # undo the normalisations: H = Tx^-1 h Tu
    t_u = np.array([[su, 0, -su * tu[0]], [0, su, -su * tu[1]], [0, 0, 1]])
    t_x_inv = np.array([[1 / sx, 0, tx[0]], [0, 1 / sx, tx[1]], [0, 0, 1]])
    full = t_x_inv @ h @ t_u
    return full / full[2, 2]


def _similarity(p: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and scale that put the points around the origin at mean distance sqrt(2)."""
    centre = p.mean(0)
    spread = np.linalg.norm(p - centre, axis=1).mean()
    return centre, float(np.sqrt(2) / max(spread, 1e-12))


def apply_plane(h: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) maps applied to (..., 2) image points -> (..., 2) table points."""
    ones = torch.ones_like(uv[..., :1])
    p = (h.to(uv.dtype) @ torch.cat([uv, ones], -1)[..., None])[..., 0]
    return p[..., :2] / p[..., 2:]


def fit_checked(uv: np.ndarray, xy: np.ndarray, what: str) -> list[float]:
    """`fit_plane`, refused when the points do not lie on one plane seen by a fixed pinhole
    camera (the largest error over the points themselves is above 2 mm). -> 9 floats."""
    h = fit_plane(uv, xy)
    err = np.linalg.norm(
        apply_plane(torch.from_numpy(h), torch.from_numpy(np.asarray(uv, float))).numpy() - xy,
        axis=1,
    )
    if err.max() > MAX_FIT_ERROR_M:
        raise ValueError(
            f"{what}: the labelled points do not fit one table plane (worst {err.max() * 100:.1f} cm "
            "off): the camera moves or is not a pinhole; train with policy.table_map=mlp"
        )
    return [float(v) for v in h.reshape(-1)]


def plane_points(records: list[dict], camera: str) -> dict[str, dict[str, tuple]]:
    """Labelled table points of a dataset's episode records (their "initial_state": "layout"
    and "pixels") -> {robot: {"target": (uv (N, 2), xy (N, 2)), "goal": (uv, xy)}}: every cube's
    start for "target" (a cube's centre: one height), every fixture's for "goal". Records
    without pixels for `camera` (older collections, moving cameras) add nothing."""
    points = defaultdict(lambda: defaultdict(list))
    for record in records:
        initial = record.get("initial_state") or {}
        pixels = (initial.get("pixels") or {}).get(camera) or {}
        for name, place in (initial.get("layout") or {}).items():
            if name in pixels:
                thing = "target" if name.startswith(CUBE_PREFIX) else "goal"
                points[record["robot"]][thing].append((pixels[name], place[:2]))
    return {
        robot: {
            thing: (np.array([p for p, _ in pairs], float), np.array([q for _, q in pairs], float))
            for thing, pairs in things.items()
        }
        for robot, things in points.items()
    }
