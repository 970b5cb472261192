"""Labelled table points of a dataset: where each cube and fixture starts, on the table and in a
world-fixed camera (the episode record's "initial_state": "layout" and "pixels"). They fit the
localizer's pixel-to-table maps (policies/table_plane.py)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

CUBE_PREFIX = "cube_"


def plane_points(records: list[dict], camera: str) -> dict[str, dict[str, tuple]]:
    """-> {robot: {"target": (uv (N, 2), xy (N, 2)), "goal": (uv, xy)}}: every cube's start for
    "target" (a cube's centre: one height), every fixture's for "goal". Records without pixels
    for `camera` (older collections, moving cameras) add nothing."""
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
