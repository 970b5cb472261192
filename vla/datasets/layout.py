"""What `vla collect` writes (docs/dataset.md): a mixture of LeRobotDataset v3 datasets, one per
robot, with a manifest that lists them.

    DIR/manifest.json                      {"format": "vla-mixture", "datasets": [{path, robot, ...}]}
    DIR/<robot>/meta/info.json ...         one LeRobotDataset v3 (vla/datasets/lerobot_v3.py)
    DIR/.staging/<robot>/<task>-<seed>.parquet   finished episodes not yet packed into <robot>/

Every finished episode is staged atomically the moment it arrives; `meta.finalize` packs the
staged episodes into their robot's dataset (vla/datasets/v3_writer.py), so an interrupted
collection loses nothing and a rerun skips what is already there.
"""

from __future__ import annotations

import json
from pathlib import Path

IMAGE_PREFIX = "observation.images."
STATE = "observation.state"
ACTION = "action"
MANIFEST = "manifest.json"
STAGING = ".staging"
# The layout before LeRobot v3 datasets: one parquet file per episode under DIR/data/.
LEGACY_EPISODES = "data/chunk-*/episode_*.parquet"


def staged_path(root: Path, robot: str, task: str, seed: int) -> Path:
    return Path(root) / STAGING / robot / f"{task}-{seed:06d}.parquet"


def staged_files(root: Path, robot: str | None = None) -> list[Path]:
    return sorted((Path(root) / STAGING).glob(f"{robot or '*'}/*.parquet"))


def is_legacy(root: Path) -> bool:
    """A dataset in the one-file-per-episode layout that earlier versions of `vla collect` wrote."""
    root = Path(root)
    info = root / "meta" / "info.json"
    return (info.is_file() and "robots" in json.loads(info.read_text())) or any(
        root.glob(LEGACY_EPISODES)
    )


def legacy_message(root: Path) -> str:
    return (
        f"{root} is a dataset in vla's old one-file-per-episode layout; convert it to LeRobot v3 "
        f"datasets (one per robot) with `vla dataset convert {root} NEW_DIR` and use NEW_DIR"
    )
