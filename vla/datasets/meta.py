"""A dataset as a whole: its sources (the mixture's v3 datasets), their records, each robot's
schema and normalisation statistics, and `finalize`, which packs a collection's staged episodes
into its robots' datasets and lists them in the manifest."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from vla.datasets import layout, mixture, v3_writer
from vla.datasets import lerobot_v3 as v3
from vla.datasets.source import Source
from vla.datasets.statistics import array_stats
from vla.embodiment import Embodiment


def open_sources(path: str | Path) -> list[Source]:
    return [Source(entry) for entry in mixture.resolve(path)]


def load_records(path: str | Path) -> list[dict]:
    """Every episode's record, source by source."""
    return [r for source in open_sources(path) for r in source.records]


def robot_schemas(sources: list[Source]) -> dict[str, Embodiment]:
    """Each robot's schema; datasets of the same robot must agree on it."""
    schemas: dict[str, Embodiment] = {}
    for s in sources:
        known = schemas.setdefault(s.robot, s.embodiment)
        if known != s.embodiment:
            raise ValueError(
                f"{s.root}: its {s.robot} schema differs from another dataset's "
                f'({known.mismatch(s.embodiment)}); give the entries one "embodiment"'
            )
    return schemas


def robot_stats(sources: list[Source]) -> dict[str, dict]:
    """{robot: {observation.state: stats, action: stats}} over all of each robot's frames (a
    robot in several datasets gets the statistics of their union)."""
    arrays = defaultdict(lambda: ([], []))
    for s in sources:
        for _, state, action in s.state_action():
            arrays[s.robot][0].append(state)
            arrays[s.robot][1].append(action)
    return {
        robot: {
            layout.STATE: array_stats(np.concatenate(states)),
            layout.ACTION: array_stats(np.concatenate(actions)),
        }
        for robot, (states, actions) in sorted(arrays.items())
    }


def finalize(root: str | Path, file_mb: float = v3.FILE_MB, rebuild_meta: bool = False) -> dict:
    """Pack every staged episode under `root` into its robot's v3 dataset (a new data file past
    `file_mb`), remove the staged files, and (re)write the manifest; returns it. Safe to run
    again after any interruption. `rebuild_meta` rewrites every robot's derived meta files
    (tasks, stats, info) even where they are current."""
    root = Path(root)
    robots = sorted({p.parent.name for p in layout.staged_files(root)})
    for robot in robots:
        staged = layout.staged_files(root, robot)
        v3_writer.append(root / robot, staged, file_mb, rebuild_meta)
        for path in staged:
            path.unlink()
    for tmp in (root / layout.STAGING).glob("*/.*.tmp"):
        tmp.unlink()  # an interrupted staging write: never a finished episode
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (sub / "meta" / "episodes").is_dir() and sub.name not in robots:
            # a stop after a commit: rebuild the derived meta files
            v3_writer.append(sub, [], rebuild_meta=rebuild_meta)
    manifest = mixture.write_manifest(root)
    if not manifest["datasets"]:
        raise ValueError(f"{root} holds no episodes; nothing to describe")
    return manifest
